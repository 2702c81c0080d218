"""Nights in order: which earlier nights are missing or failed, which later lists a rerun
leaves stale, and no nights in the future.

Each night's list builds on every delivery staged up to its date. A night that failed or
never ran leaves its delivery unstaged, so the next list silently lacks those incidents;
a rerun of an old date changes what every later list was built from. Neither stops a
night (the newest list is still the best one available), but both are said out loud with
the dates to rerun, in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from pipeline.config import Settings
from pipeline.errors import UsageError
from pipeline.flag.calendar import LONDON
from pipeline.publish import warehouse

log = logging.getLogger(__name__)
SHOWN = 10


@dataclass(frozen=True)
class History:
    """Every logical date a run was made for (with whether one succeeded or failed) and
    every published list date."""

    nights: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"logical_date": pl.Date, "succeeded": pl.Boolean, "failed": pl.Boolean}))
    published: list[date] = field(default_factory=list)


def london_today() -> date:
    return datetime.now(LONDON).date()


def check_not_future(day: date, *, allow_future: bool, today: date | None = None) -> None:
    """Refuse a night after today (Europe/London): it would publish the "latest" list."""
    today = today or london_today()
    if day > today and not allow_future:
        raise UsageError(
            f"--date {day} is after today ({today}, Europe/London). A night processes what has been "
            "delivered, and a future list would become the latest one and hide the real lists. "
            "Check the date; only tests pass --allow-future."
        )


def read_history(settings: Settings) -> History:
    """The run history from the published file (empty when there is none yet)."""
    if not settings.warehouse.exists():
        return History()
    with warehouse.open_reader(settings.warehouse, key=settings.encryption_key) as wh:
        return History(
            nights=wh.query("night_statuses"),
            published=wh.query("published_list_dates")["list_date"].to_list(),
        )


def _dates(days: list[date]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:SHOWN])
    return shown + (f" and {len(days) - SHOWN} more" if len(days) > SHOWN else "")


def gap_before(history: History, day: date) -> str | None:
    """What to say when the nights before ``day`` are not all succeeded (None: nothing)."""
    earlier = history.nights.filter(pl.col("logical_date") < day)
    if earlier.height == 0:
        return None  # the first night of this warehouse
    ok: list[date] = earlier.filter(pl.col("succeeded"))["logical_date"].to_list()
    start = max(ok) + timedelta(days=1) if ok else min(earlier["logical_date"].to_list())
    failed_dates = set(earlier.filter(pl.col("failed") & ~pl.col("succeeded"))["logical_date"].to_list())
    gaps = [start + timedelta(days=i) for i in range((day - start).days)]
    if not gaps:
        return None
    failed = [d for d in gaps if d in failed_dates]
    missing = [d for d in gaps if d not in failed_dates]
    parts = ([f"failed on {_dates(failed)}"] if failed else []) + (
        [f"never ran for {_dates(missing)}"] if missing else [])
    message = (
        f"before {day} the nightly run {' and '.join(parts)}, so those deliveries are not in tonight's list. "
        f"Run those nights in date order (first: hearth run --date {gaps[0]}), then this date again."
    )
    log.warning("%s", message)
    return message


def stale_after(history: History, day: date) -> str | None:
    """What to say after a rerun of ``day`` when later lists were built before it."""
    later = [d for d in history.published if d > day]
    if not later:
        return None
    message = (
        f"the lists of {_dates(later)} were built before this rerun of {day} and may now be stale. "
        f"Rerun them in date order (first: hearth run --date {later[0]}); see docs/airflow.md."
    )
    log.warning("%s", message)
    return message
