"""Case tables for the value parsers that validation and staging share."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from pipeline.synth import county as synth
from pipeline.validate.landing_values import (
    ambiguous_local_time,
    is_valid_nhs_number,
    is_valid_upn,
    landing_date,
    landing_datetime_utc,
    valid_nhs_numbers,
    valid_upns,
)


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


# ---- identifiers: the column checks must agree with python-stdnum value for value -----------------


def _mutations(valid: list[str], rng: np.random.Generator, alphabet: str) -> list[str]:
    """Each valid identifier with one character changed, two swapped, one dropped, one added."""
    out = []
    for value in valid:
        i, j = sorted(rng.choice(len(value), 2, replace=False))
        out.append(value[:i] + alphabet[rng.integers(len(alphabet))] + value[i + 1:])
        out.append(value[:i] + value[j] + value[i + 1:j] + value[i] + value[j + 1:])
        out.append(value[:i] + value[i + 1:])
        out.append(value + alphabet[rng.integers(len(alphabet))])
    return out


ODD_NHS = [
    "943 476 5919", "943-476-5919", "943–476–5919", " 9434765919", "9434765919\t", "٩434765919",
    "9990000018", "0000000000", "", "NULL", "94347659190", "abcdefghij", "9434765919 ", "943476591",
]
ODD_UPN = [
    "B801200005001", "b801200005001", "B8012 00005001", "B80120000500A", "B80120000500I", "X80120000A001",
    "E000200005001", "B801200005001 ", "ßB01200005001", "", "B8012000050011", "1801200005001",
]


def test_nhs_numbers_agree_with_stdnum() -> None:
    rng = np.random.default_rng(7)
    valid = [str(v) for v in synth._nhs_numbers(rng, 2_000)]
    values = valid + _mutations(valid, rng, "0123456789 -x") + ODD_NHS + [None]
    got = valid_nhs_numbers(pl.Series(values, dtype=pl.String)).to_list()
    expected = [None if v is None else is_valid_nhs_number(v) for v in values]
    assert got == expected
    assert sum(got[:2_000]) == 2_000 and 0 < sum(g for g in got if g) < len(values)


def test_upns_agree_with_stdnum() -> None:
    rng = np.random.default_rng(11)
    valid = synth._upns(rng, 2_000).to_list()
    values = valid + _mutations(valid, rng, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ") + ODD_UPN + [None]
    got = valid_upns(pl.Series(values, dtype=pl.String)).to_list()
    expected = [None if v is None else is_valid_upn(v) for v in values]
    assert got == expected
    assert sum(got[:2_000]) == 2_000 and 0 < sum(g for g in got if g) < len(values)


@pytest.mark.parametrize(
    ("text", "ambiguous"),
    [
        ("2026-10-25T01:40:00", True),         # happened twice: 00:40 and 01:40 UTC
        ("2026-10-25 01:00", True),
        ("2026-10-25T00:59:59", False),        # before the repeated hour
        ("2026-10-25T02:00:00", False),        # after it
        ("2026-10-25T01:40:00+00:00", False),  # an offset says which
        ("2026-10-25T01:40:00Z", False),
        ("2026-03-29T01:30:00", False),        # skipped in spring: invalid, not ambiguous
        ("not a time", False),
    ],
)
def test_ambiguous_local_time(text: str, ambiguous: bool) -> None:
    assert pl.select(ambiguous_local_time(pl.lit(text))).item() is ambiguous
