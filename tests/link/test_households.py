"""pipeline.link.households rules on small hand-built frames (the golden cases cover whole worlds)."""

from __future__ import annotations

import polars as pl

from pipeline.link.households import resolve_household_keys
from pipeline.link.standardise import standardise_address


def _records(rows: list[tuple[str, str | None, str | None]]) -> pl.DataFrame:
    """(address line, postcode, uprn) rows as a standardised address frame."""
    frame = pl.DataFrame(rows, schema={"address_line1": pl.String, "postcode": pl.String, "uprn": pl.String}, orient="row")
    return standardise_address(frame)


def _keys(rows: list[tuple[str, str | None, str | None]]) -> list[str]:
    return resolve_household_keys([_records(rows)])[0]["household_key"].to_list()


def test_a_postcode_typo_joins_the_home_with_a_uprn() -> None:
    assert _keys([("11 Chapel Street", "NR24 1DW", "300000000051"), ("11 Chapel St", "NR24 1DU", None)]) == [
        "uprn:300000000051", "uprn:300000000051",
    ]


def test_without_a_uprn_the_postcode_most_records_use_wins_even_along_a_chain() -> None:
    keys = _keys([
        ("4 Mill Lane", "NR25 7AB", None), ("4 Mill Lane", "NR25 7AB", None), ("4 Mill Lane", "NR25 7AB", None),
        ("4 Mill Ln", "NR25 7AD", None), ("4 Mill Lane", "NR25 7AD", None),
        ("4 Mill Lane", "NR25 7ED", None),  # two characters from 7AB, one from 7AD
    ])
    assert set(keys) == {"addr:NR25 7AB|4 MILL LANE"}


def test_what_a_postcode_typo_never_joins() -> None:
    keys = _keys([
        ("11 Chapel Street", "NR24 1DW", None),
        ("13 Chapel Street", "NR24 1DU", None),      # another number
        ("11 Church Street", "NR24 1DX", None),      # another street
        ("11 Chapel Street", "NR24 2DW", None),      # another sector
        ("11 Chapel Street", "NR24 1EX", None),      # two characters apart
        ("Rose Cottage", "NR24 1DA", None),          # no number: a name is too weak
        ("Rose Cottage", "NR24 1DB", None),
    ])
    assert len(set(keys)) == len(keys)


def test_between_two_uprns_a_typed_postcode_is_ambiguous_and_left_alone() -> None:
    keys = _keys([
        ("4 Mill Lane", "NR25 7AB", "300000000061"),
        ("4 Mill Lane", "NR25 7AD", "300000000062"),
        ("4 Mill Lane", "NR25 7AE", None),  # one character from each
    ])
    assert keys == ["uprn:300000000061", "uprn:300000000062", "addr:NR25 7AE|4 MILL LANE"]
