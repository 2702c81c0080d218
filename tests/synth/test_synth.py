"""The synthetic county: deterministic, contract-shaped, and its truth tells the truth."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from stdnum.gb import nhs, upn

from pipeline import schemas
from pipeline.errors import UsageError
from pipeline.synth import NoiseRates, SynthSummary, write_synthetic_county

START = date(2026, 10, 1)  # a Thursday: nights 3 and 4 are Saturday and Sunday
NOISY = NoiseRates(invalid_row=0.02, duplicate_row=0.01, stale_register_address=0.3, parquet_file=0.3)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> SynthSummary:
    return write_synthetic_county(
        tmp_path_factory.mktemp("county"), households=2500, days=10, seed=7, start_date=START, noise=NOISY
    )


def _truth(county: SynthSummary, name: str) -> pl.DataFrame:
    return pl.read_parquet(county.truth_dir / f"{name}.parquet")


def _files(county: SynthSummary, source: str) -> list[Path]:
    return sorted(county.landing_dir.glob(f"*/{source}.*"))


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    args = {"households": 300, "days": 5, "start_date": START}
    write_synthetic_county(tmp_path / "a", seed=3, **args)
    write_synthetic_county(tmp_path / "b", seed=3, **args)
    write_synthetic_county(tmp_path / "c", seed=4, **args)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_rerun_into_same_folder_replaces_it_but_foreign_folder_is_refused(tmp_path: Path) -> None:
    write_synthetic_county(tmp_path / "x", households=50, days=2, seed=1, start_date=START)
    write_synthetic_county(tmp_path / "x", households=50, days=2, seed=1, start_date=START)
    (tmp_path / "y" / "landing").mkdir(parents=True)
    (tmp_path / "y" / "landing" / "keep.txt").write_text("not ours")
    with pytest.raises(UsageError):
        write_synthetic_county(tmp_path / "y", households=50, days=2, seed=1, start_date=START)


@pytest.mark.parametrize(("households", "days"), [(0, 3), (10, 0)])
def test_bad_sizes_are_usage_errors(tmp_path: Path, households: int, days: int) -> None:
    with pytest.raises(UsageError):
        write_synthetic_county(tmp_path, households=households, days=days, seed=1, start_date=START)


def test_noise_rates_must_be_shares() -> None:
    with pytest.raises(UsageError):
        NoiseRates(name_typo=1.5)


def test_files_carry_exactly_the_contract_columns(county: SynthSummary) -> None:
    seen = set()
    for path in sorted(county.landing_dir.glob("*/*")):
        source = path.name.split(".")[0]
        assert source in schemas.SOURCES
        assert _read(path).columns == list(schemas.CONTRACT_COLUMNS[source])
        seen.add(path.suffix)
    assert seen == {".csv", ".parquet"}


def test_registers_absent_at_weekends_and_police_updates_later(county: SynthSummary) -> None:
    for day in county.deliveries:
        names = {p.name.split(".")[0] for p in (county.landing_dir / day.isoformat()).iterdir()}
        has_registers = set(schemas.REGISTER_SOURCES) <= names
        assert has_registers == (day == START or day.weekday() < 5), day
    incidents = _truth(county, "incidents")
    assert incidents.filter(pl.col("first_delivery") > START).height > 0  # the nightly trickle
    assert incidents.filter(pl.col("last_delivery") > pl.col("first_delivery")).height > 0  # updates


def test_persons_reference_incidents_delivered_that_night_or_earlier(county: SynthSummary) -> None:
    seen: set[str] = set()
    for day in county.deliveries:
        folder = county.landing_dir / day.isoformat()
        for path in sorted(folder.glob("police_incidents.*")):
            seen |= set(_read(path)["incident_id"].to_list())
        for path in sorted(folder.glob("police_persons.*")):
            assert set(_read(path)["incident_id"].to_list()) <= seen


def test_day_one_holds_a_year_of_history(county: SynthSummary) -> None:
    first = _truth(county, "incidents").filter(pl.col("first_delivery") == START)
    reported = first["reported_at"].dt.date()
    assert reported.min() >= date(2025, 10, 1)
    assert reported.max() < START


def test_twins_share_address_and_dob_with_different_forenames(county: SynthSummary) -> None:
    twins = _truth(county, "people").filter(pl.col("twin_group").is_not_null())
    assert twins.height >= 2
    groups = twins.group_by("twin_group").agg(
        pl.len(), pl.col("household_uid").n_unique().alias("homes"), pl.col("dob").n_unique().alias("dobs"),
        pl.col("surname").n_unique().alias("surnames"), pl.col("forename").n_unique().alias("forenames"),
    )
    assert groups["len"].to_list() == [2] * groups.height
    assert groups.select((pl.col("homes") == 1) & (pl.col("dobs") == 1) & (pl.col("surnames") == 1) & (pl.col("forenames") == 2)).to_series().all()


def test_identifiers_in_truth_are_valid(county: SynthSummary) -> None:
    people = _truth(county, "people")
    numbers = people["nhs_number"].drop_nulls().to_list()
    upns = people["upn"].drop_nulls().to_list()
    assert numbers and upns
    assert all(nhs.is_valid(n) and not n.startswith("999") for n in numbers)
    assert all(upn.is_valid(u) for u in upns)
    assert len(set(numbers)) == len(numbers)


def test_invalid_rows_in_truth_are_really_invalid(county: SynthSummary) -> None:
    invalid = _truth(county, "invalid_rows")
    assert invalid.height > 0
    for (source, day, file), rows in invalid.group_by("source", "delivery_date", "file", maintain_order=True):
        frame = _read(county.landing_dir / day.isoformat() / file).with_row_index("_row", offset=1)
        got = frame.join(rows.select(pl.col("_row").cast(pl.UInt32), "kind", "reason"), on="_row")
        assert got.height == rows.height
        for row in got.iter_rows(named=True):
            kind = row["kind"]
            if kind == "bad_nhs_number":
                assert not nhs.is_valid(row["nhs_number"].replace(" ", ""))
            elif kind == "bad_upn":
                assert not upn.is_valid(row["upn"])
            elif kind == "missing_required":
                column = row["reason"].split(":")[0]
                assert row[column] in (None, "")
            elif kind == "bad_enum":
                column = row["reason"].split(":")[0]
                assert row[column].lower() not in schemas.ENUMS[str(source)][column]
            elif kind == "future_dob":
                assert date.fromisoformat(row["dob"]) > day


def test_valid_register_rows_carry_valid_identifiers(county: SynthSummary) -> None:
    invalid = _truth(county, "invalid_rows").select("file", "delivery_date", "_row")
    for source, column, check in (("health_register", "nhs_number", nhs.is_valid), ("school_census", "upn", upn.is_valid)):
        path = _files(county, source)[0]
        day = date.fromisoformat(path.parent.name)
        frame = _read(path).with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
        frame = frame.join(invalid.filter(pl.col("delivery_date") == day, pl.col("file") == path.name), on="_row", how="anti")
        assert all(check(v.replace(" ", "")) for v in frame[column].to_list())


def test_register_records_match_people(county: SynthSummary) -> None:
    records = _truth(county, "register_records")
    people = _truth(county, "people")
    health = records.filter(pl.col("source") == "health_register")
    joined = health.join(people, on="person_uid")
    assert joined.height == health.height
    assert (joined["record_key"] == joined["nhs_number"]).all()
    # nearly all children are on the health register; only school-age children on the census
    children = people.filter(pl.col("is_child"))
    assert children["nhs_number"].is_not_null().mean() > 0.9  # type: ignore[operator]
    school = records.filter(pl.col("source") == "school_census").join(people, on="person_uid")
    ages = (START - school["dob"]).dt.total_days() / 365.25  # type: ignore[operator]
    assert ages.min() > 3.9 and ages.max() < 18.1


def test_stale_register_addresses_differ_from_police_addresses(county: SynthSummary) -> None:
    households = _truth(county, "households").filter(pl.col("n_children") > 0)
    stale = households.filter("register_address_stale")
    share = stale.height / households.height
    assert 0.15 < share < 0.45  # configured 0.3
    assert (stale["register_postcode"] != stale["postcode"]).all() or (stale["register_address_line1"] != stale["address_line1"]).all()
    fresh = households.filter(~pl.col("register_address_stale"))
    assert (fresh["register_address_line1"] == fresh["address_line1"]).all()


def test_police_people_are_known_people_with_realistic_roles(county: SynthSummary) -> None:
    persons = _truth(county, "police_persons")
    people = _truth(county, "people")
    assert persons.join(people, on="person_uid", how="anti").height == 0
    roles = set(persons["role"].to_list())
    assert {"victim", "suspect", "child"} <= roles
    incidents = _truth(county, "incidents")
    assert set(incidents["dash_risk"].to_list()) <= set(schemas.ENUMS["police_incidents"]["dash_risk"])
    # some suspects live elsewhere, and some of those homes have children of their own
    elsewhere = incidents.filter(pl.col("suspect_household_uid") != pl.col("victim_household_uid"))
    assert elsewhere.height > 0


def test_noise_log_names_injected_kinds(county: SynthSummary) -> None:
    kinds = set(_truth(county, "noise")["kind"].to_list())
    assert {"nickname", "name_case", "dob_dmy", "nhs_number_spaces", "address_variant", "duplicate_row"} <= kinds


def test_duplicates_in_truth_are_exact_copies(county: SynthSummary) -> None:
    dups = _truth(county, "noise").filter(pl.col("kind") == "duplicate_row")
    assert dups.height > 0
    for row in dups.head(10).iter_rows(named=True):
        frame = _read(county.landing_dir / row["delivery_date"].isoformat() / row["file"])
        copy = frame.row(row["_row"] - 1)
        assert copy in [frame.row(i) for i in range(frame.height) if i != row["_row"] - 1]
