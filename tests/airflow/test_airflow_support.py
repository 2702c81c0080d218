"""The decisions behind the DAGs, tested without a scheduler."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import airflow_support as support
from pipeline.errors import (
    ConfigError,
    DataQualityError,
    ExpectationSuiteError,
    InputError,
    LinkageError,
    StaleRegisterError,
    WarehouseBusyError,
    WorkingFileCorruptError,
)

LONDON = support.LONDON


@pytest.mark.parametrize(
    ("logical_date", "expected"),
    [
        # The scheduled 02:00 run, in summer (BST, UTC+1) and winter (GMT).
        (datetime(2026, 10, 5, 1, 0, tzinfo=UTC), date(2026, 10, 5)),
        (datetime(2026, 1, 15, 2, 0, tzinfo=UTC), date(2026, 1, 15)),
        # The nights the clocks change (01:00 UTC both times), 02:00 local each.
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), date(2026, 3, 29)),
        (datetime(2026, 10, 25, 2, 0, tzinfo=UTC), date(2026, 10, 25)),
        # A manual trigger late in the UTC evening is already the next London day in summer.
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), date(2026, 7, 2)),
        (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), date(2026, 12, 1)),
        # An aware local time is taken at face value.
        (datetime(2026, 10, 5, 2, 0, tzinfo=LONDON), date(2026, 10, 5)),
    ],
)
def test_night_date_is_the_london_calendar_date_of_the_logical_date(logical_date: datetime, expected: date) -> None:
    assert support.night_date(logical_date) == expected


def test_night_date_falls_back_to_run_after_and_refuses_naive_or_missing() -> None:
    assert support.night_date(None, datetime(2026, 10, 5, 9, 0, tzinfo=UTC)) == date(2026, 10, 5)
    with pytest.raises(ValueError, match="naive"):
        support.night_date(datetime(2026, 10, 5, 2, 0))
    with pytest.raises(ValueError, match="neither"):
        support.night_date(None, None)


@pytest.mark.parametrize("first_night", [date(2026, 10, 1), date(2026, 3, 28), date(2026, 10, 24)])
def test_scheduled_runs_process_consecutive_nights(first_night: date) -> None:
    """The real timetable's logical dates map to one night each, in order, across clock changes."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = coerce_to_core_timetable(support.night_schedule())
    start = support.start_date({support.START_DATE_ENV: first_night.isoformat()})
    restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
    nights, last = [], None
    for _ in range(4):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        assert info is not None
        assert info.logical_date.astimezone(LONDON).hour == 2
        nights.append(support.night_date(info.logical_date))
        last = info.data_interval
    assert nights == [first_night + timedelta(days=i) for i in range(4)]


def test_start_date_is_aware_and_configurable() -> None:
    default = support.start_date({})
    assert default.utcoffset() is not None
    assert support.night_date(default) == date.fromisoformat(support.DEFAULT_START_DATE)
    assert support.night_date(support.start_date({support.START_DATE_ENV: "2025-06-30"})) == date(2025, 6, 30)


@pytest.mark.parametrize(
    ("exc", "action"),
    [
        (DataQualityError("checks failed"), "fail"),
        (StaleRegisterError("register too old"), "fail"),
        (InputError("unreadable file"), "fail"),
        (ConfigError("bad setting"), "fail"),
        (WarehouseBusyError("held by another process"), "default"),
        (WorkingFileCorruptError("set aside; rerun the night"), "fail"),
        (ExpectationSuiteError("expectation dob.date of suite health_register crashed"), "fail"),
        (LinkageError("inconsistent"), "default"),
        (OSError("disk full"), "default"),
    ],
)
def test_retry_policy_fails_fast_only_on_errors_a_retry_cannot_fix(exc: Exception, action: str) -> None:
    decision = support.hearth_retry_policy().evaluate(exc, try_number=1, max_tries=4)
    assert decision.action.value == action


def test_retry_policy_survives_dag_serialisation() -> None:
    from airflow.sdk import ExceptionRetryPolicy

    policy = ExceptionRetryPolicy.deserialize(support.hearth_retry_policy().serialize())
    assert policy.evaluate(StaleRegisterError("x"), 1, 4).action.value == "fail"
    assert policy.evaluate(RuntimeError("x"), 1, 4).action.value == "default"


def test_default_args_back_off_exponentially() -> None:
    args = support.DEFAULT_ARGS
    assert args["retries"] >= 2 and args["retry_exponential_backoff"] > 1
    assert args["retry_delay"] < args["max_retry_delay"]


def test_deadline_is_07_00_london_for_a_02_00_night() -> None:
    alert = support.publish_deadline()
    for logical in (datetime(2026, 7, 1, 1, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
                    datetime(2026, 10, 25, 2, 0, tzinfo=UTC), datetime(2026, 12, 1, 2, 0, tzinfo=UTC)):
        assert logical.astimezone(LONDON).hour == 2
        assert (logical + alert.interval).astimezone(LONDON).hour == 7


_DEADLINE = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dag_run", "level", "words"),
    [
        ({"run_id": "scheduled__2026-10-05", "run_type": "scheduled", "logical_date": "2026-10-05T01:00:00Z",
          "queued_at": "2026-10-05T01:00:05+00:00"}, logging.ERROR, "has not published"),
        ({"run_id": "scheduled__2026-10-05", "run_type": "scheduled", "logical_date": "2026-10-05T01:00:00Z",
          "queued_at": "2026-11-01T09:00:00+00:00"}, logging.WARNING, "late by design"),
        ({"run_id": "backfill__2026-10-05", "run_type": "backfill", "logical_date": "2026-10-05T01:00:00Z"},
         logging.WARNING, "late by design"),
    ],
)
def test_deadline_message(dag_run: dict, level: int, words: str) -> None:
    got_level, message = support.deadline_missed_message({"dag_run": dag_run, "deadline": {"deadline_time": _DEADLINE}})
    assert got_level == level
    assert words in message and dag_run["run_id"] in message


def test_deadline_callback_logs(caplog: pytest.LogCaptureFixture) -> None:
    context = {"dag_run": {"run_id": "r1", "run_type": "scheduled", "queued_at": "2026-10-05T01:00:00+00:00"},
               "deadline": {"deadline_time": _DEADLINE.isoformat()}}
    with caplog.at_level(logging.WARNING, logger="pipeline.airflow_support"):
        asyncio.run(support.night_missed_deadline(context))
    assert any(r.levelno == logging.ERROR and "r1" in r.getMessage() for r in caplog.records)


def test_settings_from_params_win_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(tmp_path / "env-landing"))
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "env.duckdb"))
    settings = support.settings_from_params(
        {"landing_dir": str(tmp_path / "param-landing"), "warehouse": None, "reports_dir": ""}
    )
    assert settings.landing_dir == tmp_path / "param-landing"
    assert settings.warehouse == tmp_path / "env.duckdb"
    assert support.settings_from_params(None).landing_dir == tmp_path / "env-landing"


def test_params_never_carry_the_encryption_key() -> None:
    assert "encryption_key" not in support.dag_params()
    assert set(support.dag_params()) == set(support.SETTINGS_PARAMS)


@pytest.mark.parametrize(
    ("params", "events", "expected"),
    [
        ({"list_date": "2026-10-06"}, [{"list_date": "2026-10-05"}], [date(2026, 10, 6)]),
        ({}, [{"list_date": "2026-10-06", "run_id": "b"}, {"list_date": "2026-10-05", "run_id": "a"},
              {"list_date": "2026-10-06", "run_id": "c"}], [date(2026, 10, 5), date(2026, 10, 6)]),
        ({"list_date": None}, [{}], []),
        (None, [], []),
    ],
)
def test_export_list_dates(params: dict | None, events: list[dict], expected: list[date]) -> None:
    assert support.export_list_dates(params, events) == expected


def test_run_stage_task_needs_a_run_id_after_ingest(tmp_path: Path) -> None:
    from pipeline.errors import HearthError

    context = {"logical_date": datetime(2026, 10, 5, 1, 0, tzinfo=UTC),
               "params": {"warehouse": str(tmp_path / "wh.duckdb"), "landing_dir": str(tmp_path)}}
    with pytest.raises(HearthError, match="run id"):
        support.run_stage_task("validate", context)


def test_the_dag_never_creates_a_missing_warehouse(tmp_path: Path) -> None:
    from pipeline.errors import WarehouseMissingError

    missing = tmp_path / "unmounted" / "warehouse.duckdb"
    context = {"logical_date": datetime(2026, 10, 5, 1, 0, tzinfo=UTC),
               "params": {"warehouse": str(missing), "landing_dir": str(tmp_path)}}
    with pytest.raises(WarehouseMissingError, match="hearth init"):
        support.run_stage_task("ingest", context)
    assert not missing.parent.exists()


def test_publish_records_list_date_and_run_id_on_the_asset_event() -> None:
    class Event:
        extra: dict = {}

    outlet_events = {support.DAILY_LISTS: Event()}
    support.record_published_lists({"outlet_events": outlet_events},
                                   {"night": "2026-10-05", "run_id": "2026-10-05-abc", "rows_out": 3})
    assert outlet_events[support.DAILY_LISTS].extra == {"list_date": "2026-10-05", "run_id": "2026-10-05-abc"}


def test_export_reads_list_dates_from_triggering_asset_events() -> None:
    from types import SimpleNamespace

    events = {support.DAILY_LISTS: [SimpleNamespace(extra={"list_date": "2026-10-06"}),
                                    SimpleNamespace(extra=None)]}
    extras = support._asset_event_extras({"triggering_asset_events": events})
    assert support.export_list_dates({}, extras) == [date(2026, 10, 6)]
