"""The force-wide DAG's shape, and the deadline attached only where the scheduler runs."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline import airflow_support as af


def test_force_dag_routes_then_maps_the_authorities_then_summarises(dagbag) -> None:
    from airflow.sdk import CronTriggerTimetable

    dag = dagbag.dags["hearth_force_nightly"]
    assert isinstance(dag.timetable, CronTriggerTimetable) and dag.catchup is True
    assert [t.task_id for t in dag.topological_sort()] == ["route", "authority_night", "summarise"]
    route, night, summary = (dag.get_task(t) for t in ("route", "authority_night", "summarise"))
    assert route.depends_on_past is True
    # One mapped instance per authority, bounded by the pool; the summary runs whatever
    # happened to them, so one failed authority is reported, not hidden.
    assert type(night).__name__.endswith("MappedOperator")  # DecoratedMappedOperator for @task
    assert night.pool == af.FORCE_POOL
    assert summary.trigger_rule == "all_done"
    assert dag.deadline is not None  # parsed here as the DAG processor parses it


def test_the_deadline_is_left_off_only_for_airflow_dags_test() -> None:
    assert af.running_dags_test(["/venv/bin/airflow", "dags", "test", "hearth_nightly", "2026-10-05"])
    assert not af.running_dags_test(["/venv/bin/airflow", "dag-processor"])
    assert not af.running_dags_test(["/venv/bin/airflow", "dags", "list"])
    assert af.scheduler_deadline(["airflow", "dags", "test", "x"], environ={}) is None
    assert af.scheduler_deadline(["airflow", "dag-processor"], environ={}) is not None
    assert af.scheduler_deadline(["airflow", "dag-processor"], environ={af.DEADLINE_ENV: "off"}) is None


def test_end_date_is_unset_unless_configured() -> None:
    assert af.end_date({}) is None
    end = af.end_date({af.END_DATE_ENV: "2026-10-07"})
    assert end is not None and end.date() == date(2026, 10, 7) and end.hour == 2


def test_a_force_night_with_missing_authorities_fails_without_retrying() -> None:
    assert "pipeline.errors.AuthoritiesMissingError" in af.NOT_RETRYABLE


@pytest.mark.parametrize("argv", [["pytest"], ["airflow", "scheduler"]])
def test_parsing_outside_dags_test_keeps_the_deadline(argv: list[str]) -> None:
    assert not af.running_dags_test(argv)
