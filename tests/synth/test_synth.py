"""The synthetic county: deterministic, contract-shaped, and its truth tells the truth."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from rapidfuzz.distance import DamerauLevenshtein
from stdnum.gb import nhs, upn

from pipeline import schemas
from pipeline.errors import UsageError
from pipeline.link.standardise import normalise_postcode
from pipeline.sources import REGISTRY
from pipeline.synth.county import DEFECT_CLASSES, NoiseRates, SynthSummary, write_synthetic_county

START = date(2026, 10, 1)  # a Thursday: nights 3 and 4 are Saturday and Sunday
# Every defect class raised well above its default, so a 2 500-household county shows enough
# of each to check its rate.
NOISY = NoiseRates(
    invalid_row=0.02, duplicate_row=0.01, stale_register_address=0.3, parquet_file=0.3,
    name_transposed_register=0.04, name_transposed_police=0.1, name_multi_typo=0.04, dob_digit=0.05, dob_invalid=0.03,
    register_bad_field=0.1, home_address_wrong=0.12, home_address_blank=0.12, police_postcode_typo=0.1,
)


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
    # The daily snapshots; the early-years return is monthly (its own max_age_days).
    daily = {s.name for s in REGISTRY if s.is_register and s.max_age_days is None}
    for day in county.deliveries:
        names = {p.name.split(".")[0] for p in (county.landing_dir / day.isoformat()).iterdir()}
        has_registers = daily <= names
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


# ---- the defect classes --------------------------------------------------------------------


def _near(observed: int, trials: int, rate: float) -> bool:
    """``observed`` of ``trials`` is within four standard deviations of ``rate`` (and not zero)."""
    expected = trials * rate
    spread = 4 * (trials * rate * (1 - rate)) ** 0.5 + 1
    return observed > 0 and abs(observed - expected) <= spread


def _delivered(county: SynthSummary, source: str, *, first_only: bool) -> pl.DataFrame:
    """The valid rows of ``source`` as delivered (first night, or every night, deduplicated)."""
    invalid = _truth(county, "invalid_rows").select("delivery_date", "file", "_row")
    frames = []
    for path in _files(county, source)[:1] if first_only else _files(county, source):
        day = date.fromisoformat(path.parent.name)
        frame = _read(path).with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
        frames.append(frame.join(invalid.filter(pl.col("delivery_date") == day, pl.col("file") == path.name), on="_row", how="anti").drop("_row"))
    return pl.concat(frames, how="vertical_relaxed").unique(maintain_order=True)


def _health_rows(county: SynthSummary) -> pl.DataFrame:
    """First night's health records with their truth record (``defects``) and person."""
    rows = _delivered(county, "health_register", first_only=True).with_columns(
        pl.col("nhs_number").str.replace_all(" ", "").alias("record_key"))
    records = _truth(county, "register_records").filter(pl.col("source") == "health_register")
    people = _truth(county, "people").select("person_uid", true_forename="forename", true_surname="surname", true_dob="dob")
    return rows.join(records.select("record_key", "person_uid", "defects"), on="record_key").join(people, on="person_uid")


def _police_rows(county: SynthSummary) -> pl.DataFrame:
    """Every delivered police person row with its truth row and person."""
    rows = _delivered(county, "police_persons", first_only=False).unique(["incident_id", "person_ref"])
    truth = _truth(county, "police_persons")
    people = _truth(county, "people").select("person_uid", true_forename="forename", true_surname="surname", true_dob="dob")
    return rows.join(truth.drop("role"), on=["incident_id", "person_ref"]).join(people, on="person_uid")


def _has(kind: str) -> pl.Expr:
    return pl.col("defects").list.contains(kind)


def _parse_dob(column: str) -> pl.Expr:
    text = pl.col(column)
    return pl.coalesce(text.str.to_date("%Y-%m-%d", strict=False), text.str.to_date("%d/%m/%Y", strict=False))


def test_defect_classes_default_on_and_off_together(tmp_path: Path) -> None:
    assert all(getattr(NoiseRates(), name) > 0 for name in DEFECT_CLASSES)
    off = NoiseRates().without_defects()
    assert all(getattr(off, name) == 0 for name in DEFECT_CLASSES)
    write_synthetic_county(tmp_path / "off", households=400, days=3, seed=2, start_date=START, noise=off)
    kinds = set(pl.read_parquet(tmp_path / "off" / "truth" / "noise.parquet")["kind"])
    new_kinds = {"name_transposed", "name_multi_typo", "dob_digit", "dob_invalid", "register_bad_field",
                 "home_address_wrong", "home_address_blank", "police_postcode_typo"}
    assert not kinds & new_kinds


def test_transposed_names_exchange_forename_and_surname(county: SynthSummary) -> None:
    for rows, rate in ((_health_rows(county), NOISY.name_transposed_register), (_police_rows(county), NOISY.name_transposed_police)):
        marked = rows.filter(_has("name_transposed"))
        assert _near(marked.height, rows.height, rate), (marked.height, rows.height)
        swapped = marked.filter(pl.col("forename").str.to_lowercase() == pl.col("true_surname").str.to_lowercase())
        assert swapped.height >= 0.8 * marked.height  # the rest also carry a typo in that name
        clean = rows.filter(~_has("name_transposed") & (pl.col("true_forename") != pl.col("true_surname")))
        assert clean.filter(pl.col("forename").str.to_lowercase() == pl.col("true_surname").str.to_lowercase()).height == 0


def test_multi_typo_names_are_two_or_three_edits_away(county: SynthSummary) -> None:
    rows = _health_rows(county)
    noise = _truth(county, "noise").filter(pl.col("source") == "health_register")
    typoed = noise.filter(pl.col("kind") == "name_multi_typo").select("record_key", "column")
    assert _near(typoed.height, 2 * rows.height, NOISY.name_multi_typo), (typoed.height, rows.height)
    other = noise.filter(pl.col("kind").is_in(["name_typo", "name_transposed"])).select("record_key", "column")
    only = typoed.join(other, on=["record_key", "column"], how="anti").join(rows, on="record_key")
    assert only.height > 0
    for row in only.iter_rows(named=True):
        written, truth = row[row["column"]].lower(), row[f"true_{row['column']}"].lower()
        assert 2 <= DamerauLevenshtein.distance(written, truth) <= 3, (written, truth)
        assert written[0] == truth[0]
    untouched = rows.join(noise.filter(pl.col("kind").is_in(["name_multi_typo", "name_typo", "name_transposed"])),
                          on="record_key", how="anti")
    assert (untouched["forename"].str.to_lowercase() == untouched["true_forename"].str.to_lowercase()).all()


def test_dob_typos_move_one_digit_or_make_the_date_impossible(county: SynthSummary) -> None:
    rows = pl.concat([
        _health_rows(county).select("dob", "true_dob", "defects"),
        _police_rows(county).filter(pl.col("dob").is_not_null()).select("dob", "true_dob", "defects"),
    ]).with_columns(_parse_dob("dob").alias("read"))
    digit = rows.filter(_has("dob_digit"))
    invalid = rows.filter(_has("dob_invalid"))
    assert _near(digit.height, rows.height, NOISY.dob_digit)
    assert _near(invalid.height, rows.height, NOISY.dob_invalid)
    assert invalid["read"].null_count() == invalid.height
    assert digit["read"].null_count() == 0
    for written, truth in zip(digit["read"].dt.strftime("%Y%m%d"), digit["true_dob"].dt.strftime("%Y%m%d"), strict=True):
        assert sum(a != b for a, b in zip(written, truth, strict=True)) == 1, (written, truth)
    clean = rows.filter(~_has("dob_digit") & ~_has("dob_invalid") & ~_has("dob_swap") & ~_has("register_bad_field"))
    assert (clean["read"] == clean["true_dob"]).all()


def test_bad_field_sits_on_the_only_record_of_a_child(county: SynthSummary) -> None:
    records = _truth(county, "register_records")
    per_child = records.group_by("person_uid").agg(pl.len().alias("n"), pl.col("defects").list.explode(keep_nulls=False, empty_as_null=False).alias("kinds"))
    sole = per_child.filter(pl.col("n") == 1)
    marked = per_child.filter(pl.col("kinds").list.contains("register_bad_field"))
    assert marked.join(sole, on="person_uid", how="anti").is_empty(), "a bad field on a child some other record holds"
    assert _near(marked.height, sole.height, NOISY.register_bad_field), (marked.height, sole.height)
    noise = _truth(county, "noise").filter(pl.col("kind") == "register_bad_field")
    assert set(noise.filter(pl.col("source") == "health_register")["column"]) == {"dob", "postcode", "gender", "gp_practice_code"}
    rows = _health_rows(county).join(noise.select("record_key", "column"), on="record_key")
    assert rows.height > 0
    for row in rows.iter_rows(named=True):
        value = row[row["column"]]
        if row["column"] == "dob":
            assert _parse_dob_text(value) is None, value
        elif row["column"] == "postcode":
            assert value is None or pl.select(normalise_postcode(pl.lit(value))).item() is None, value
        elif row["column"] == "gender":
            assert value.lower() not in schemas.ENUMS["health_register"]["gender"]
        else:
            assert value in (None, "")
    # the defective row is the record itself, not an extra copy beside a clean one
    first = _delivered(county, "health_register", first_only=True).with_columns(pl.col("nhs_number").str.replace_all(" ", "").alias("record_key"))
    assert first.join(rows.select("record_key"), on="record_key", how="semi").height == rows["record_key"].n_unique()


def _parse_dob_text(value: str | None) -> date | None:
    if not value:
        return None
    return pl.select(pl.lit(value).str.to_date("%Y-%m-%d", strict=False)).item() or pl.select(
        pl.lit(value).str.to_date("%d/%m/%Y", strict=False)).item()


def test_home_address_keyed_wrongly_or_blank_where_the_incident_was_at_home(county: SynthSummary) -> None:
    rows = _police_rows(county)
    incidents = _truth(county, "incidents").select("incident_id", "location_household_uid")
    households = _truth(county, "households").select(pl.col("household_uid").alias("address_household_uid"), true_postcode="postcode")
    rows = rows.join(incidents, on="incident_id").with_columns(
        at_home=(pl.col("location_household_uid") == pl.col("household_uid")).fill_null(False))
    eligible = rows.filter(pl.col("role").is_in(["victim", "suspect"]) & pl.col("at_home") & ~pl.col("no_fixed_abode"))
    wrong = rows.filter(_has("home_address_wrong"))
    blank = rows.filter(_has("home_address_blank"))
    assert wrong.join(eligible, on=["incident_id", "person_ref"], how="anti").is_empty()
    assert blank.join(eligible, on=["incident_id", "person_ref"], how="anti").is_empty()
    assert _near(wrong.height, eligible.height, NOISY.home_address_wrong), (wrong.height, eligible.height)
    assert _near(blank.height, eligible.height, NOISY.home_address_blank * 0.97), (blank.height, eligible.height)
    assert (wrong["address_written"] == "wrong").all()
    assert (wrong["address_household_uid"] != wrong["household_uid"]).all()
    keyed = wrong.join(households, on="address_household_uid").filter(~_has("postcode_typo") & ~_has("police_postcode_typo"))
    assert keyed.height > 0
    assert (keyed.select(normalise_postcode(pl.col("postcode"))).to_series() == keyed["true_postcode"]).all()
    assert (blank["address_written"] == "none").all()
    assert blank.select(pl.col("address_line1").is_null() & pl.col("postcode").is_null() & pl.col("uprn").is_null()).to_series().all()


def test_police_postcode_typos_change_one_character_and_stay_postcode_shaped(county: SynthSummary) -> None:
    rows = _police_rows(county).filter(pl.col("address_written") == "home")
    households = _truth(county, "households").select("household_uid", true_postcode="postcode")
    rows = rows.join(households, on="household_uid").with_columns(written=normalise_postcode(pl.col("postcode")))
    with_postcode = rows.filter(pl.col("postcode").is_not_null())
    marked = with_postcode.filter(_has("police_postcode_typo"))
    assert _near(marked.height, with_postcode.height, NOISY.police_postcode_typo), (marked.height, with_postcode.height)
    assert marked["written"].null_count() == 0  # still shaped like a postcode
    assert marked["uprn"].null_count() == marked.height  # the gazetteer did not find it
    one_typo = marked.filter(~_has("postcode_typo"))
    for written, truth in zip(one_typo["written"], one_typo["true_postcode"], strict=True):
        assert len(written) == len(truth) and sum(a != b for a, b in zip(written, truth, strict=True)) == 1, (written, truth)
    clean = with_postcode.filter(~_has("police_postcode_typo") & ~_has("postcode_typo"))
    assert (clean["written"] == clean["true_postcode"]).all()
    incidents = _truth(county, "incidents")
    assert incidents.filter(_has("police_postcode_typo")).height > 0


def test_truth_marks_every_record_level_defect_on_its_record(county: SynthSummary) -> None:
    noise = _truth(county, "noise").filter(pl.col("delivery_date").is_null())
    for name, source, key in (
        ("register_records", "health_register", pl.col("record_key")),
        ("police_persons", "police_persons", pl.col("incident_id") + "/" + pl.col("person_ref")),
    ):
        marked = _truth(county, name).with_columns(key.alias("_k")).select("_k", "defects").explode("defects").drop_nulls()
        logged = noise.filter(pl.col("source") == source).select(pl.col("record_key").alias("_k"), pl.col("kind").alias("defects")).unique()
        assert logged.join(marked, on=["_k", "defects"], how="anti").filter(
            pl.col("_k").is_in(marked["_k"].implode())).is_empty()
