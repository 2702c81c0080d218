"""hearth's nightly run: one task per pipeline stage, the same stages the CLI runs.

Scheduled at 02:00 Europe/London; each run processes the delivery of its logical date's
Europe/London calendar date (``pipeline.airflow_support.night_date``). Safe to rerun and to
backfill: every stage replaces that date's outputs, one run is active at a time (DuckDB has
one writer), and a night's ingest waits for the previous night's. Everything the tasks do
lives in ``pipeline/``; see docs/airflow.md.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from pipeline.airflow_support import (
    DAILY_LISTS,
    DEFAULT_ARGS,
    TAGS,
    dag_params,
    night_schedule,
    scheduler_deadline,
    start_date,
)


@dag(
    dag_id="hearth_nightly",
    schedule=night_schedule(),
    start_date=start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=dag_params(),
    deadline=scheduler_deadline(),
    tags=TAGS,
    doc_md=__doc__,
)
def hearth_nightly() -> None:
    # Nights run in order: a night starts only once the previous night's ingest succeeded.
    @task(depends_on_past=True)
    def ingest(**context: Any) -> dict[str, Any]:
        from pipeline.airflow_support import run_stage_task

        return run_stage_task("ingest", context)

    @task
    def validate(previous: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.airflow_support import run_stage_task

        return run_stage_task("validate", context, run_id=previous["run_id"])

    @task
    def link(previous: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.airflow_support import run_stage_task

        return run_stage_task("link", context, run_id=previous["run_id"])

    @task
    def flag(previous: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.airflow_support import run_stage_task

        return run_stage_task("flag", context, run_id=previous["run_id"])

    @task(outlets=[DAILY_LISTS])
    def publish(previous: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.airflow_support import record_published_lists, run_stage_task

        summary = run_stage_task("publish", context, run_id=previous["run_id"])
        record_published_lists(context, summary)
        return summary

    @task
    def report(previous: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.airflow_support import run_stage_task

        return run_stage_task("report", context, run_id=previous["run_id"])

    report(publish(flag(link(validate(ingest())))))


hearth_nightly()
