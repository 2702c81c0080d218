"""Working hours and school days in Europe/London.

Two clocks matter to a MASH: the response clock (working hours, Monday to Friday, not on
England bank holidays) that sets each household's ``due_by``, and the school clock (the start
of the next school day, skipping weekends, bank holidays and the local authority's school
holidays) by which a school must hear of an incident (Operation Encompass).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import polars as pl

from pipeline.flag.rules import Closure

LONDON = ZoneInfo("Europe/London")
TIMEZONE = "Europe/London"

# England's bank holidays; the object fills in years on demand when a date is looked up.
_ENGLAND_BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")


@dataclass(frozen=True)
class SchoolTerms:
    """When school days start and which dates schools are closed beyond weekends/bank holidays."""

    day_start: time = time(8, 30)
    closures: tuple[Closure, ...] = ()


def is_bank_holiday(day: date) -> bool:
    return day in _ENGLAND_BANK_HOLIDAYS


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an England bank holiday."""
    return day.weekday() < 5 and not is_bank_holiday(day)


def is_school_day(day: date, terms: SchoolTerms) -> bool:
    """A working day that is not inside any configured school closure."""
    return is_working_day(day) and not any(c.start <= day <= c.end for c in terms.closures)


def _require_aware(ts: datetime) -> datetime:
    # A naive timestamp here is ambiguous (UTC from staging, or a London wall clock?) and an
    # hour's error across a clock change could move a deadline; refuse rather than guess.
    if ts.tzinfo is None:
        raise ValueError(f"{ts!r} has no time zone; pass an aware datetime (staging times are UTC)")
    return ts


def next_school_day_start(ts: datetime, terms: SchoolTerms) -> datetime:
    """The first school-day start strictly after ``ts``, as an aware Europe/London datetime.

    An incident at 02:00 on a Tuesday in term is due that Tuesday at the start of school; one
    at 23:00 on a Friday (or any time at the weekend) is due on Monday, or later if Monday is
    a bank holiday or a school holiday.
    """
    local = _require_aware(ts).astimezone(LONDON)
    day = local.date()
    if is_school_day(day, terms) and local.time() < terms.day_start:
        return datetime.combine(day, terms.day_start, LONDON)
    day += timedelta(days=1)
    while not is_school_day(day, terms):
        day += timedelta(days=1)
    return datetime.combine(day, terms.day_start, LONDON)


def school_days(start: date, end: date, terms: SchoolTerms) -> list[date]:
    """Every school day from ``start`` to ``end`` inclusive."""
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return [d for d in days if is_school_day(d, terms)]


def school_day_starts_after(reported_at: pl.Series, terms: SchoolTerms) -> pl.Series:
    """Vectorised :func:`next_school_day_start` for a UTC datetime series.

    Returns naive Europe/London wall-clock datetimes (the contract's TIMESTAMP) in input order.
    Built as one as-of join against the calendar's school-day starts, so a first load of
    years of incidents costs one calendar, not one walk per incident.
    """
    local = reported_at.dt.convert_time_zone(TIMEZONE).dt.replace_time_zone(None)
    frame = pl.DataFrame({"local": local}).with_row_index("_i")
    valid = frame.drop_nulls("local")
    if valid.is_empty():
        return pl.Series(reported_at.name, [None] * len(reported_at), dtype=pl.Datetime("us"))
    first = valid["local"].min().date()  # type: ignore[union-attr]
    last = valid["local"].max().date()  # type: ignore[union-attr]
    # School holidays are at most a few weeks long; a year beyond the last incident is ample.
    starts = pl.DataFrame(
        {"start": [datetime.combine(d, terms.day_start) for d in school_days(first, last + timedelta(days=366), terms)]},
        schema={"start": pl.Datetime("us")},
    )
    joined = (
        valid.with_columns(pl.col("local").cast(pl.Datetime("us")))
        .sort("local")
        .join_asof(starts, left_on="local", right_on="start", strategy="forward",
                   allow_exact_matches=False)
    )
    out = frame.select("_i").join(joined.select("_i", "start"), on="_i", how="left").sort("_i")
    return out["start"].alias(reported_at.name)


def add_working_hours(
    ts: datetime,
    hours: float,
    *,
    day_start: time = time(9, 0),
    day_end: time = time(17, 0),
) -> datetime:
    """``ts`` plus ``hours`` of working time (Mon–Fri, ``day_start``–``day_end``, not on England
    bank holidays), as an aware Europe/London datetime.

    Time outside working hours does not count: 4 working hours from 07:00 on a Friday end at
    13:00 that Friday; from 07:00 on a Saturday they end at 13:00 on Monday. A deadline that
    falls exactly at the end of a working day stays there rather than moving to the next
    morning.
    """
    cursor = _require_aware(ts).astimezone(LONDON)
    remaining = timedelta(hours=hours)
    day = cursor.date()
    while True:
        if is_working_day(day):
            start = datetime.combine(day, day_start, LONDON)
            end = datetime.combine(day, day_end, LONDON)
            begin = max(cursor, start)
            if begin <= end:
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), LONDON)
