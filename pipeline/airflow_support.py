"""What the Airflow DAGs need, kept out of the DAG files so that those stay thin doors.

The DAG files (``dags/hearth_nightly.py``, ``dags/hearth_school_exports.py``) only wire
tasks; everything they decide is here, where it can be read and tested without a scheduler:

* :func:`night_date` — which calendar date a night processes (the one place it is derived);
* :func:`settings_from_params` — run configuration from Airflow params over ``HEARTH_*``;
* :func:`run_stage_task` — one pipeline stage as one task, passing only the run id and
  small counts through XCom (never personal data);
* :func:`hearth_retry_policy`, :data:`DEFAULT_ARGS` — exponential back-off for transient
  failures, an immediate failure for data-quality and input errors;
* :func:`night_missed_deadline` — the callback of the 07:00 deadline alert.

Importing this module must stay cheap (the DAG processor imports it when it parses the
DAG files): polars, DuckDB, Great Expectations and the stage modules are imported inside
the functions that run in tasks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

# AsyncCallback, DeadlineAlert and DeadlineReference are exported by airflow.sdk at run
# time but missing from its 3.3.2 type stub (__init__.pyi), hence the ignore.
from airflow.sdk import (  # type: ignore[attr-defined]
    Asset,
    AsyncCallback,
    CronTriggerTimetable,
    DeadlineAlert,
    DeadlineReference,
    ExceptionRetryPolicy,
    Param,
    RetryAction,
    RetryRule,
)

if TYPE_CHECKING:
    import polars as pl

    from pipeline.config import Settings

log = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
NIGHT_CRON = "0 2 * * *"  # 02:00 Europe/London, every night
# Nights before this are never scheduled. Unpausing the DAG catches up from here, one night
# at a time; override it (parse-time setting, no secret) to backfill a longer history.
DEFAULT_START_DATE = "2026-10-01"
START_DATE_ENV = "HEARTH_AIRFLOW_START_DATE"
# 02:00 + 5 h = 07:00 Europe/London on every night of the year: the clocks change at 01:00
# UTC, before either end of the window, so the interval is always five real hours.
PUBLISH_DEADLINE_AFTER_LOGICAL_DATE = timedelta(hours=5)

OWNER = "hearth-data-engineering"
TAGS = ["hearth", "safeguarding"]

# The day's published lists. Its events carry {"list_date", "run_id"} in their extra.
DAILY_LISTS = Asset(name="hearth_daily_lists", uri="hearth://marts/daily-lists", group="hearth")

# Errors that retrying cannot fix: the data (or the configuration) must change first.
NOT_RETRYABLE = (
    "pipeline.errors.DataQualityError",  # includes StaleRegisterError
    "pipeline.errors.InputError",
    "pipeline.errors.UsageError",  # includes ConfigError
    # The damaged working file was replaced by a copy of the published one, which lacks
    # tonight's earlier stages: a retried later task would build on yesterday's data. The
    # night must be rerun from ingest.
    "pipeline.errors.WorkingFileCorruptError",
)


def night_schedule() -> CronTriggerTimetable:
    """02:00 Europe/London nightly. A trigger timetable: the run's logical date is that
    02:00 and its data interval is empty; :func:`night_date` turns it into the night's date."""
    return CronTriggerTimetable(NIGHT_CRON, timezone="Europe/London")


def start_date(environ: Mapping[str, str] = os.environ) -> datetime:
    """The first night the scheduler may run: 02:00 Europe/London on the configured date."""
    import pendulum  # Airflow's own datetime type; its zones serialise into the DAG cleanly

    day = date.fromisoformat(environ.get(START_DATE_ENV, DEFAULT_START_DATE))
    return pendulum.datetime(day.year, day.month, day.day, 2, 0, tz="Europe/London")


def night_date(logical_date: datetime | None, run_after: datetime | None = None) -> date:
    """The delivery date a DAG run processes: the Europe/London calendar date of its logical date.

    The 02:00 run stamped 2026-10-05T01:00Z (02:00 BST) processes ``landing/2026-10-05/``,
    the files partners delivered overnight for that date; a backfill or rerun of a logical
    date processes the same folder again. A run triggered without a logical date (Airflow 3
    allows it) falls back to when it was asked to run.
    """
    moment = logical_date if logical_date is not None else run_after
    if moment is None:
        raise ValueError("a DAG run has neither a logical date nor a run-after time")
    if moment.tzinfo is None or moment.utcoffset() is None:
        # Airflow always hands out aware datetimes; a naive one is a caller's bug, and
        # guessing its zone could process the wrong night.
        raise ValueError(f"naive datetime {moment!r}: cannot tell which night it is")
    return moment.astimezone(LONDON).date()


# ---- configuration ----------------------------------------------------------------------
SETTINGS_PARAMS = ("landing_dir", "warehouse", "reports_dir")


def dag_params() -> dict[str, Param]:
    """Params a person may set when triggering a run; empty means ``HEARTH_*`` / TOML / default."""
    return {
        "landing_dir": Param(None, type=["null", "string"],
                             description="Landing folder (default: HEARTH_LANDING_DIR)"),
        "warehouse": Param(None, type=["null", "string"],
                           description="Published warehouse file (default: HEARTH_WAREHOUSE)"),
        "reports_dir": Param(None, type=["null", "string"],
                             description="Reports folder (default: HEARTH_REPORTS_DIR)"),
    }


def settings_from_params(params: Mapping[str, Any] | None) -> Settings:
    """Settings for a task: non-empty Airflow params win over ``HEARTH_*`` and the TOML file.

    The encryption key is never a param (params are stored in the metadata DB and shown in
    the UI); it comes only from ``HEARTH_ENCRYPTION_KEY`` in the worker's environment.
    """
    from pipeline.config import load_settings

    params = params or {}
    overrides = {k: Path(str(params[k])) for k in SETTINGS_PARAMS if params.get(k) not in (None, "")}
    return load_settings(**overrides)


# ---- retries and deadline --------------------------------------------------------------
def hearth_retry_policy() -> ExceptionRetryPolicy:
    """Fail at once on errors a retry cannot fix; everything else retries with back-off."""
    return ExceptionRetryPolicy(
        rules=[
            RetryRule(
                exception=list(NOT_RETRYABLE),
                action=RetryAction.FAIL,
                reason="data-quality, input or configuration error: fix the data or settings, then rerun the night",
            ),
        ],
        default=RetryAction.DEFAULT,
    )


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 3,
    # Transient failures (the warehouse file busy, a full disk being cleared, a worker
    # restart) clear within minutes: 2, 4, 8 minutes, never more than 30.
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "retry_policy": hearth_retry_policy(),
}


def deadline_missed_message(context: Mapping[str, Any]) -> tuple[int, str]:
    """The log level and text of a missed-deadline alert, from the callback's context.

    A night that was *created* after its own deadline (catch-up or backfill of past nights)
    is late by design: it is reported at WARNING, not as an incident.
    """
    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    run_id = run.get("run_id", "?")
    logical = run.get("logical_date")
    created = run.get("queued_at") or run.get("run_after")
    late_by_design = run.get("run_type") == "backfill" or (
        created is not None and deadline is not None and _as_datetime(created) >= _as_datetime(deadline)
    )
    if late_by_design:
        return logging.WARNING, (
            f"hearth night {run_id} (logical date {logical}) started after its 07:00 deadline "
            f"{deadline}: a catch-up or backfill run, late by design."
        )
    return logging.ERROR, (
        f"hearth night {run_id} (logical date {logical}) has not published by its deadline "
        f"{deadline} (07:00 Europe/London). MASH coordinators have no list for today yet: check "
        "the run in the Airflow UI; yesterday's lists stand until this night publishes."
    )


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def night_missed_deadline(context: dict[str, Any], **kwargs: Any) -> None:
    """Deadline-alert callback, run by the triggerer. Logs; wire a notifier here for paging."""
    level, message = deadline_missed_message(context)
    log.log(level, "%s", message)


def publish_deadline() -> DeadlineAlert:
    """Alert when a night has not finished (published and reported) by 07:00 Europe/London."""
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=PUBLISH_DEADLINE_AFTER_LOGICAL_DATE,
        callback=AsyncCallback(night_missed_deadline),
        name="published by 07:00 Europe/London",
    )


# ---- task bodies -----------------------------------------------------------------------
def _run_times(context: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    dag_run = context.get("dag_run")
    logical = getattr(dag_run, "logical_date", None) or context.get("logical_date")
    return logical, getattr(dag_run, "run_after", None)


def _prepare_logging() -> None:
    from pipeline.logs import quiet_third_party

    quiet_third_party()
    # Airflow routes stdlib logging into the task log; hearth's INFO lines (counts per
    # stage, files read) belong there, so let them through without touching the root.
    logging.getLogger("pipeline").setLevel(os.environ.get("HEARTH_LOG_LEVEL", "INFO"))


def run_stage_task(stage: str, context: Mapping[str, Any], *, run_id: str | None = None) -> dict[str, Any]:
    """Run one pipeline stage for the DAG run in ``context``; return what goes to XCom.

    ``ingest`` starts the run and returns its run id; each later stage gets it from the
    previous task. The return value holds only the run id, the date and row counts.
    """
    from pipeline.errors import HearthError
    from pipeline.night import run_stage

    _prepare_logging()
    day = night_date(*_run_times(context))
    settings = settings_from_params(context.get("params"))
    log.info("stage %s for night %s (run %s), warehouse %s", stage, day, run_id or "new", settings.warehouse)
    try:
        # Never create the warehouse here: a mistyped path or an unmounted volume would
        # otherwise start an empty warehouse and publish lists without any history.
        # `hearth init` creates it once, on purpose (docs/airflow.md).
        run_id, result = run_stage(stage, day, settings, run_id=run_id, trigger="airflow", create=False)
    except HearthError as exc:
        # The message is the summary a data engineer needs (every problem found, where the
        # details are); put it in the task log plainly before Airflow's traceback.
        log.error("%s failed for night %s:\n%s", stage, day, exc)
        raise
    return {"run_id": run_id, "night": day.isoformat(), "stage": stage,
            "rows_in": result.rows_in, "rows_out": result.rows_out}


def record_published_lists(context: Mapping[str, Any], summary: Mapping[str, Any]) -> None:
    """Attach the list date and run id to the publish task's asset event."""
    outlet_events = context.get("outlet_events")
    if outlet_events is not None:
        outlet_events[DAILY_LISTS].extra = {"list_date": summary["night"], "run_id": summary["run_id"]}


# ---- school exports ----------------------------------------------------------------------
def export_list_dates(
    params: Mapping[str, Any] | None, triggering_events: Iterable[Mapping[str, Any]]
) -> list[date]:
    """Which list dates a school-export run writes, earliest first.

    An explicit ``list_date`` param wins; otherwise every list date published since the last
    export run (one asset-triggered run may carry several events, e.g. after a backfill).
    """
    explicit = (params or {}).get("list_date")
    if explicit:
        return [date.fromisoformat(str(explicit))]
    days = {date.fromisoformat(str(e["list_date"])) for e in triggering_events if e.get("list_date")}
    return sorted(days)


def _asset_event_extras(context: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    events = context.get("triggering_asset_events") or {}
    extras: list[Mapping[str, Any]] = []
    for asset_events in events.values():
        extras.extend(getattr(e, "extra", None) or {} for e in asset_events)
    return extras


def export_school_notifications_task(context: Mapping[str, Any]) -> dict[str, int]:
    """Write per-school notification files for the list dates this run is about.

    Reads the *published* warehouse read-only, so it never blocks the nightly writer.
    Returns {list_date: files written} for XCom.
    """
    from pipeline.outputs.school_exports import write_school_notification_files
    from pipeline.publish.warehouse import open_reader

    _prepare_logging()
    params = context.get("params") or {}
    settings = settings_from_params(params)
    days = export_list_dates(params, _asset_event_extras(context))
    out_root = Path(str(params["exports_dir"])) if params.get("exports_dir") else settings.reports_dir
    written: dict[str, int] = {}
    with open_reader(settings.warehouse, key=settings.encryption_key) as wh:
        if not days:
            latest = wh.fetch("SELECT max(list_date) FROM marts.school_notifications")[0][0]
            days = [latest] if latest is not None else []
        frames: dict[date, pl.DataFrame] = {
            day: wh.query("school_notifications_on", list_date=day) for day in days
        }
    for day, frame in frames.items():
        files = write_school_notification_files(frame, out_root / day.isoformat() / "school-notifications",
                                                list_date=day)
        written[day.isoformat()] = len(files)
        log.info("school notifications for %s: %d school files", day, len(files))
    return written
