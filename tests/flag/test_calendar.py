"""Working hours and school days (Europe/London, England bank holidays, term closures)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl
import pytest

from pipeline.flag.calendar import (
    LONDON,
    SchoolTerms,
    add_working_hours,
    next_school_day_start,
    school_day_starts_after,
)
from pipeline.flag.rules import Closure

TERMS = SchoolTerms(
    day_start=time(8, 30),
    closures=(Closure(date(2026, 10, 26), date(2026, 10, 30), "October half term"),),
)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


# (reported, Europe/London wall clock) → expected notify_by
NOTIFY_CASES = [
    ("Tuesday 02:00 in term → same morning", london(2026, 11, 3, 2, 0), london(2026, 11, 3, 8, 30)),
    ("Tuesday 08:29 → same morning", london(2026, 11, 3, 8, 29), london(2026, 11, 3, 8, 30)),
    ("Tuesday 08:30 exactly → next day", london(2026, 11, 3, 8, 30), london(2026, 11, 4, 8, 30)),
    ("Tuesday 10:00 → Wednesday", london(2026, 11, 3, 10, 0), london(2026, 11, 4, 8, 30)),
    ("Friday 16:00 → Monday", london(2026, 11, 6, 16, 0), london(2026, 11, 9, 8, 30)),
    ("Friday 23:00 → Monday", london(2026, 11, 6, 23, 0), london(2026, 11, 9, 8, 30)),
    ("Saturday → Monday", london(2026, 11, 7, 14, 0), london(2026, 11, 9, 8, 30)),
    ("Sunday → Monday", london(2026, 11, 8, 21, 0), london(2026, 11, 9, 8, 30)),
    ("Sunday 07:00 before May Day → Tuesday", london(2026, 5, 3, 7, 0), london(2026, 5, 5, 8, 30)),
    ("Friday before Easter Monday → Tuesday", london(2026, 4, 3, 20, 0), london(2026, 4, 7, 8, 30)),
    ("Christmas Eve → after Boxing Day (observed)", london(2026, 12, 24, 20, 0), london(2026, 12, 29, 8, 30)),
    ("Friday before half term → after half term", london(2026, 10, 23, 20, 0), london(2026, 11, 2, 8, 30)),
    ("inside half term → after half term", london(2026, 10, 27, 1, 0), london(2026, 11, 2, 8, 30)),
    ("summer time: 07:30 BST (06:30 UTC) → same morning", london(2026, 6, 16, 7, 30), london(2026, 6, 16, 8, 30)),
]


@pytest.mark.parametrize(("case", "reported", "expected"), NOTIFY_CASES, ids=[c[0] for c in NOTIFY_CASES])
def test_next_school_day_start(case: str, reported: datetime, expected: datetime) -> None:
    assert next_school_day_start(reported, TERMS) == expected


def test_vectorised_school_day_starts_match_the_scalar_rule() -> None:
    reported = pl.Series("reported_at", [r.astimezone(UTC) for _, r, _ in NOTIFY_CASES] + [None],
                         dtype=pl.Datetime("us", "UTC"))
    got = school_day_starts_after(reported, TERMS).to_list()
    assert got == [e.replace(tzinfo=None) for _, _, e in NOTIFY_CASES] + [None]


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        next_school_day_start(datetime(2026, 11, 3, 2, 0), TERMS)


# (start, working hours) → due; 09:00–17:00 Mon–Fri, England bank holidays skipped
DUE_CASES = [
    ("Wednesday 07:00 + 4h", london(2026, 11, 4, 7, 0), 4, london(2026, 11, 4, 13, 0)),
    ("Wednesday 07:00 + 8h ends at close", london(2026, 11, 4, 7, 0), 8, london(2026, 11, 4, 17, 0)),
    ("Wednesday 07:00 + 24h", london(2026, 11, 4, 7, 0), 24, london(2026, 11, 6, 17, 0)),
    ("Friday 07:00 + 4h", london(2026, 11, 6, 7, 0), 4, london(2026, 11, 6, 13, 0)),
    ("Friday 07:00 + 24h over the weekend", london(2026, 11, 6, 7, 0), 24, london(2026, 11, 10, 17, 0)),
    ("Friday 15:00 + 4h over the weekend", london(2026, 11, 6, 15, 0), 4, london(2026, 11, 9, 11, 0)),
    ("Saturday 07:00 + 4h", london(2026, 11, 7, 7, 0), 4, london(2026, 11, 9, 13, 0)),
    ("Sunday 07:00 + 72h", london(2026, 11, 8, 7, 0), 72, london(2026, 11, 19, 17, 0)),
    ("Saturday before May Day + 4h", london(2026, 5, 2, 7, 0), 4, london(2026, 5, 5, 13, 0)),
    ("Wednesday 18:00 + 4h", london(2026, 11, 4, 18, 0), 4, london(2026, 11, 5, 13, 0)),
    ("Friday 07:00 before the clocks go back + 24h", london(2026, 10, 23, 7, 0), 24, london(2026, 10, 27, 17, 0)),
]


@pytest.mark.parametrize(("case", "start", "hours", "expected"), DUE_CASES, ids=[c[0] for c in DUE_CASES])
def test_add_working_hours(case: str, start: datetime, hours: float, expected: datetime) -> None:
    assert add_working_hours(start, hours) == expected


def test_working_hours_accept_utc_input() -> None:
    # 07:00 BST is 06:00 UTC; the answer is the same London wall clock.
    start = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
    assert add_working_hours(start, 4) == london(2026, 6, 17, 13, 0)
