"""Case tables for the value parsers that validation and staging share."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from pipeline.landing_values import landing_date, landing_datetime_utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-04T21:40:05+01:00", datetime(2026, 10, 4, 20, 40, 5, tzinfo=UTC)),
        ("2026-10-04T21:40+01:00", datetime(2026, 10, 4, 20, 40, tzinfo=UTC)),   # no seconds: still ISO 8601
        ("2026-10-04T21:40+0100", datetime(2026, 10, 4, 20, 40, tzinfo=UTC)),
        ("2026-10-04 21:40:05.5Z", datetime(2026, 10, 4, 21, 40, 5, 500000, tzinfo=UTC)),
        ("2026-10-04T21:40", datetime(2026, 10, 4, 20, 40, tzinfo=UTC)),          # London wall clock, BST
        ("2026-12-04T21:40:00", datetime(2026, 12, 4, 21, 40, tzinfo=UTC)),       # London wall clock, GMT
        ("2026-03-29T01:30:00", None),                                            # skipped by the clocks
        ("2026-10-04T25:40+01:00", None),
        ("04/10/2026 21:40", None),
    ],
)
def test_landing_datetimes(text: str, expected: datetime | None) -> None:
    got = pl.select(landing_datetime_utc(pl.lit(text))).item()
    assert got == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-04-03", date(2019, 4, 3)),
        ("03/04/2019", date(2019, 4, 3)),
        (" 03/04/2019 ", date(2019, 4, 3)),
        ("2019-02-30", None),
        ("3 April 2019", None),
    ],
)
def test_landing_dates(text: str, expected: date | None) -> None:
    assert pl.select(landing_date(pl.lit(text))).item() == expected
