"""Register snapshots re-validated incrementally: a row delivered again with the same text
runs only the date-dependent expectations; the outcome must equal a full validation."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipeline import schemas
from pipeline.ingest.delivery import read_delivery
from pipeline.validate.checks import (
    ValidationContext,
    ValidationOutcome,
    staged_whole,
    validate_delivery,
)

DAY = date(2026, 11, 20)
HEADER = "nhs_number,forename,surname,dob,address_line1,postcode,gp_practice_code,gender"
# Born 2007-11-20: 18 on the day before DAY's snapshot, 19 on DAY (a register holds children
# aged at most 18 by default), so the row becomes too old without changing.
AGEING = "401 023 2137,Ada,Turing,2007-11-20,3 Mill Lane,NR1 1AA,D82001,f"
STEADY = "943 476 5919,Zoë,Smith,2015-01-02,1 High St,nr13qh,D82001,F"
BAD_BEFORE = "9434765918,Bad,Checksum,2016-03-04,2 High St,NR1 3QH,D82001,m"


def _read(tmp_path: Path, day: date, rows: list[str]) -> pl.DataFrame:
    folder = tmp_path / "landing" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "health_register.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return read_delivery(tmp_path / "landing", day)


def _previous(tmp_path: Path, day: date, rows: list[str]) -> tuple[date, pl.DataFrame]:
    """What the warehouse would return: yesterday's delivered text of the rows it staged whole."""
    delivery = _read(tmp_path, day, rows)
    outcome = validate_delivery(delivery, ValidationContext(run_date=day))
    staged_rows = staged_whole(outcome, "health_register")
    frame = delivery.files["health_register"].frame.filter(pl.col("_row").is_in(staged_rows.implode()))
    return day, frame


def _validate(tmp_path: Path, rows: list[str], previous: tuple[date, pl.DataFrame] | None) -> ValidationOutcome:
    delivery = _read(tmp_path, DAY, rows)
    context = ValidationContext(run_date=DAY, previously_staged={"health_register": previous} if previous else {})
    return validate_delivery(delivery, context)


def _reasons(outcome: ValidationOutcome) -> dict[int, list[str]]:
    return {r["_row"]: sorted(r["reasons"]) for r in outcome.quarantine.iter_rows(named=True)}


def _withheld(outcome: ValidationOutcome) -> dict[int, list[str]]:
    grouped = outcome.field_defects.group_by("_row").agg(pl.concat_str("column_name", pl.lit(": "), "reason").sort())
    return {row: list(reasons) for row, reasons in grouped.iter_rows()}


def test_unchanged_row_still_gets_the_date_checks(tmp_path: Path) -> None:
    yesterday = DAY - timedelta(days=1)
    previous = _previous(tmp_path / "y", yesterday, [AGEING, STEADY, BAD_BEFORE])
    assert previous[1].height == 2  # the bad checksum row was staged without its NHS number

    changed = "401 023 2145,Ben,Turing,2016-05-06,3 Mill Lane,NR1 1AA,D82001,m"
    rows = [AGEING, STEADY, BAD_BEFORE, changed, "4010232153,Cy,Stale,2099-01-01,1 A St,NR1 1AA,D82001,m"]
    incremental = _validate(tmp_path / "i", rows, previous)
    full = _validate(tmp_path / "f", rows, None)

    assert _reasons(incremental) == _reasons(full) == {}
    assert _withheld(incremental) == _withheld(full)
    assert incremental.staged["health_register"].equals(full.staged["health_register"])
    assert incremental.counts == full.counts
    withheld = _withheld(incremental)
    assert any("older than" in r for r in withheld[1])      # unchanged, now too old: dob withheld
    assert withheld[3] == ["nhs_number: fails the Modulus 11 check"]  # withheld again, checked in full
    assert any("future" in r for r in withheld[5])
    assert 2 not in withheld and 4 not in withheld

    by_rule = {json.loads(r["details"])["rule"]: r for r in incremental.dq_results.iter_rows(named=True)
               if r["suite"] == "health_register"}
    nhs = next(r for rule, r in by_rule.items() if rule and "nhs" in rule and r["expectation"].endswith("nhs_number"))
    details = json.loads(nhs["details"])
    assert details["unchanged_rows"] == 2 and details["unchanged_rechecked"] is False
    assert details["unchanged_since"] == yesterday.isoformat()
    assert nhs["element_count"] == 3  # the unchanged rows were not checked again
    dob = next(r for r in by_rule.values() if r["expectation"] == "expect_column_values_to_be_landing_dates_between")
    assert json.loads(dob["details"])["unchanged_rechecked"] is True
    assert dob["element_count"] == 5 and dob["unexpected_count"] == 2
    assert not dob["success"]


def test_identical_snapshot_checks_only_dates(tmp_path: Path) -> None:
    yesterday = DAY - timedelta(days=1)
    previous = _previous(tmp_path / "y", yesterday, [STEADY])
    outcome = _validate(tmp_path / "i", [STEADY], previous)
    assert outcome.quarantine.height == 0
    assert outcome.staged["health_register"].height == 1
    assert outcome.dq_results.filter(pl.col("suite") == "health_register")["success"].all()


@pytest.mark.slow
def test_county_snapshot_incremental_equals_full(tmp_path: Path) -> None:
    """Two consecutive register snapshots of the synthetic county: same staged rows, same
    quarantine reasons, same dq_results counts, with and without the previous snapshot."""
    from pipeline.synth.county import write_synthetic_county

    write_synthetic_county(tmp_path / "synth", households=1_500, days=4, seed=5, start_date=date(2026, 10, 1))
    landing = tmp_path / "synth" / "landing"
    days = sorted(date.fromisoformat(p.name) for p in landing.iterdir()
                  if any(p.glob("health_register.*")) and any(p.glob("school_census.*")))
    first, second = days[0], days[1]
    prev_delivery = read_delivery(landing, first)
    prev = validate_delivery(prev_delivery, ValidationContext(run_date=first))
    previously = {}
    # The registers delivered on both nights (the early-years return is monthly).
    delivered = [s for s in schemas.REGISTER_SOURCES
                 if s in prev_delivery.files and s in read_delivery(landing, second).files]
    for source in delivered:
        rows = staged_whole(prev, source).implode()
        previously[source] = (first, prev_delivery.files[source].frame.filter(pl.col("_row").is_in(rows)))
    delivery = read_delivery(landing, second)
    full = validate_delivery(delivery, ValidationContext(run_date=second))
    incremental = validate_delivery(delivery, ValidationContext(run_date=second, previously_staged=previously))
    assert incremental.counts == full.counts
    for source in delivered:
        assert incremental.staged[source].equals(full.staged[source]), source
    assert _reasons(incremental) == _reasons(full)
    assert _withheld(incremental) == _withheld(full)
    assert incremental.field_defects.equals(full.field_defects)
    counts = ["source", "expectation", "column_name", "success", "unexpected_count"]
    registers = pl.col("source").is_in(list(schemas.REGISTER_SOURCES))
    assert incremental.dq_results.filter(registers).select(counts).equals(full.dq_results.filter(registers).select(counts))


def test_a_row_staged_with_a_value_withheld_is_checked_in_full_again(tmp_path: Path) -> None:
    """Delivered unchanged, a row whose date of birth was empty yesterday must have it
    withheld (and recorded) again: the not-null check does not depend on the run date."""
    yesterday = DAY - timedelta(days=1)
    empty_dob = "401 023 2145,Ben,Turing,,3 Mill Lane,NR1 1AA,D82001,m"
    previous = _previous(tmp_path / "y", yesterday, [STEADY, empty_dob])
    assert previous[1]["_row"].to_list() == [1]
    incremental = _validate(tmp_path / "i", [STEADY, empty_dob], previous)
    full = _validate(tmp_path / "f", [STEADY, empty_dob], None)
    assert _withheld(incremental) == _withheld(full) == {2: ["dob: required value is missing"]}
    assert incremental.staged["health_register"].equals(full.staged["health_register"])
    assert incremental.staged["health_register"]["dob"].to_list() == [date(2015, 1, 2), None]
