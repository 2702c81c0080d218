"""Case tables for the standardisers: (input, expected)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.link.standardise import (
    address_columns,
    canonical_forename,
    fold_name,
    household_key,
    is_pseudo_postcode,
    nickname_pair_keys,
    normalise_postcode,
    phonetic_key,
    postcode_sector,
    standardise_people,
    swapped_dob,
)


def _one(expr: pl.Expr, values: list[object], dtype: pl.DataType | type[pl.DataType] = pl.String) -> list[object]:
    return pl.DataFrame({"v": pl.Series(values, dtype=dtype)}).select(expr).to_series().to_list()


@pytest.mark.parametrize(("raw", "expected"), [
    ("  alfie ", "ALFIE"),
    ("Zoë", "ZOE"),
    ("Siân", "SIAN"),
    ("O'Brien", "OBRIEN"),
    ("Smith - Jones", "SMITH-JONES"),
    ("de  la Cruz", "DE LA CRUZ"),
    ("Mary-Jane.", "MARY-JANE"),
    ("", None),
    (None, None),
])
def test_fold_name(raw: str | None, expected: str | None) -> None:
    assert _one(fold_name(pl.col("v")), [raw]) == [expected]


@pytest.mark.parametrize(("name", "canonical"), [
    ("ALFIE", "ALFRED"), ("OLLIE", "OLIVER"), ("FREDDIE", "FREDERICK"), ("ARCHIE", "ARCHIBALD"),
    ("BELLA", "ISABELLA"), ("ALFRED", "ALFRED"), ("OLIVER", "OLIVER"), ("ZEPHYRINE", "ZEPHYRINE"),
    ("BILL", "WILLIAM"), ("MARY JANE", "MARY"),
])
def test_canonical_forename(name: str, canonical: str) -> None:
    out = canonical_forename(pl.DataFrame({"f": [name]}), "f", "c")
    assert out["c"].to_list() == [canonical]


def test_nickname_pairs_are_symmetric_keys() -> None:
    keys = nickname_pair_keys()
    assert "ALFIE|ALFRED" in keys
    assert "BILL|WILLIAM" in keys
    assert "ALFRED|OLIVER" not in keys


@pytest.mark.parametrize(("raw", "expected"), [
    ("nr13qh", "NR1 3QH"), ("NR1  3QH", "NR1 3QH"), (" nr1 3qh ", "NR1 3QH"), ("SW1A1AA", "SW1A 1AA"),
    ("M11AE", "M1 1AE"), ("ZZ99 3VZ", "ZZ99 3VZ"), ("NR1", None), ("not a postcode", None), (None, None),
])
def test_normalise_postcode(raw: str | None, expected: str | None) -> None:
    assert _one(normalise_postcode(pl.col("v")), [raw]) == [expected]


@pytest.mark.parametrize(("raw", "expected"), [("ZZ99 3VZ", True), ("zz993cz", True), ("NR1 3QH", False), (None, False)])
def test_is_pseudo_postcode(raw: str | None, expected: bool) -> None:
    assert _one(is_pseudo_postcode(pl.col("v")), [raw]) == [expected]


def test_postcode_sector() -> None:
    assert _one(postcode_sector(pl.col("v")), ["NR1 3QH", "SW1A 1AA"]) == ["NR1 3", "SW1A 1"]


@pytest.mark.parametrize(("dob", "expected"), [
    (dt.date(2015, 3, 4), dt.date(2015, 4, 3)),
    (dt.date(2015, 4, 4), None),          # swapping changes nothing
    (dt.date(2020, 10, 18), None),        # day 18 is no month
    (dt.date(2020, 1, 31), None),
    (None, None),
])
def test_swapped_dob(dob: dt.date | None, expected: dt.date | None) -> None:
    assert _one(swapped_dob(pl.col("v")), [dob], pl.Date) == [expected]


@pytest.mark.parametrize(("line1", "line2", "key", "display"), [
    ("Flat 2, 10 High Street", None, "2/10 HIGH STREET", "Flat 2, 10 High Street"),
    ("2/10 High St", None, "2/10 HIGH STREET", "Flat 2, 10 High Street"),
    ("10 High Street Flat 2", None, "2/10 HIGH STREET", "Flat 2, 10 High Street"),
    ("Flat 2", "10 High St.", "2/10 HIGH STREET", "Flat 2, 10 High Street"),
    ("10 High St", "Thorpe St Andrew", "10 HIGH STREET", "10 High Street"),
    ("14 St Andrews Rd", None, "14 ST ANDREWS ROAD", "14 St Andrews Road"),
    ("3a Mill Lane", None, "3A MILL LANE", "3A Mill Lane"),
    ("Rose Cottage", "Church Lane", "ROSE COTTAGE", "Rose Cottage"),
    ("27 Queens Ave", None, "27 QUEENS AVENUE", "27 Queens Avenue"),
    (None, None, None, None),
])
def test_address_key(line1: str | None, line2: str | None, key: str | None, display: str | None) -> None:
    out = pl.DataFrame({"a": [line1], "b": [line2]}, schema={"a": pl.String, "b": pl.String}).select(
        address_columns(pl.col("a"), pl.col("b"))
    )
    assert out["address_key"].to_list() == [key]
    assert out["address_display"].to_list() == [display]


@pytest.mark.parametrize(("postcode", "key", "uprn", "pseudo", "expected"), [
    ("NR1 3QH", "2/10 HIGH STREET", None, False, "addr:NR1 3QH|2/10 HIGH STREET"),
    ("NR1 3QH", "2/10 HIGH STREET", "100012345678", False, "uprn:100012345678"),
    (None, "2/10 HIGH STREET", None, False, None),
    (None, "2/10 HIGH STREET", "100012345678", True, None),   # ZZ99 never forms a household
])
def test_household_key(postcode: str | None, key: str | None, uprn: str | None, pseudo: bool, expected: str | None) -> None:
    frame = pl.DataFrame({"p": [postcode], "k": [key], "u": [uprn], "z": [pseudo]},
                         schema={"p": pl.String, "k": pl.String, "u": pl.String, "z": pl.Boolean})
    assert frame.select(household_key(pl.col("p"), pl.col("k"), pl.col("u"), pl.col("z"))).item() == expected


def test_phonetic_key_groups_spellings() -> None:
    keys = _one(phonetic_key(pl.col("v")), ["SMITH", "SMYTH", "JONES", None])
    assert keys[0] == keys[1] != keys[2]
    assert keys[3] is None


def test_standardise_people_register_row() -> None:
    frame = pl.DataFrame({
        "nhs_number": ["943 476 5919"], "forename": ["Alfie"], "surname": ["Smith-Jones"],
        "dob": [dt.date(2015, 3, 4)], "gender": ["M"], "address_line1": ["Flat 2, 10 High St"],
        "address_line2": [None], "postcode": ["ZZ99 3VZ"], "uprn": ["100"],
    }, schema_overrides={"address_line2": pl.String})
    row = standardise_people(frame, source="health_register").row(0, named=True)
    assert row["record_id"] == "health_register:9434765919"
    assert row["nhs_number"] == "9434765919"
    assert row["forename"] == "Alfie"          # display value kept
    assert row["forename_canon"] == "ALFRED"
    assert row["surname_parts"] == ["SMITH", "JONES"]
    assert len(row["surname_part_metas"]) == 2
    assert row["dob_swapped"] == dt.date(2015, 4, 3)
    assert row["postcode_pseudo"] is True
    assert row["postcode"] is None and row["uprn"] is None and row["household_key"] is None
    assert row["address_key"] == "2/10 HIGH STREET"


def test_standardise_people_empty() -> None:
    from pipeline import schemas

    out = standardise_people(schemas.empty(schemas.STAGED["school_census"]), source="school_census")
    assert out.height == 0 and "household_key" in out.columns
