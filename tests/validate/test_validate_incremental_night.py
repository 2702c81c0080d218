"""Through run_night: the second register snapshot is validated incrementally, and not when
the rules it would rely on changed since the previous snapshot was validated."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import Settings
from pipeline.night import run_night
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent / "recovery"))
sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number
from nights import NIGHTS, write_county


def _nhs_check_details(published: Path, run_id: str) -> dict[str, object]:
    with warehouse.open_reader(published) as wh:
        (details,) = wh.fetch(
            "SELECT details FROM audit.dq_results WHERE run_id = ? AND source = 'health_register' "
            "AND expectation = 'expect_column_values_to_be_valid_nhs_number'", [run_id])[0]
    return dict(json.loads(details))


@pytest.mark.slow
def test_second_snapshot_is_incremental_unless_the_rules_changed(settings: Settings, tmp_path: Path) -> None:
    write_county(settings.landing_dir)
    # One child delivered without a date of birth: staged with it withheld on both nights.
    health = settings.landing_dir / NIGHTS[0].isoformat() / "health_register.csv"
    rows = pl.read_csv(health, infer_schema=False)
    extra = rows.head(1).with_columns(nhs_number=pl.lit(nhs_number(9_999)), forename=pl.lit("Nodob"), dob=pl.lit(""))
    pl.concat([rows, extra]).write_csv(health)
    for source in ("health_register", "school_census"):  # the same snapshot delivered again
        shutil.copy(settings.landing_dir / NIGHTS[0].isoformat() / f"{source}.csv",
                    settings.landing_dir / NIGHTS[1].isoformat() / f"{source}.csv")
    first = run_night(NIGHTS[0], settings, trigger="test")
    assert "unchanged_rows" not in _nhs_check_details(settings.warehouse, first.run_id)

    second = run_night(NIGHTS[1], settings, trigger="test")
    details = _nhs_check_details(settings.warehouse, second.run_id)
    assert details["unchanged_rows"] == 60 and details["unchanged_rechecked"] is False
    assert details["unchanged_since"] == NIGHTS[0].isoformat()
    # The row staged with its dob withheld was not taken as unchanged: checked in full again.
    with warehouse.open_reader(settings.warehouse) as wh:
        withheld = wh.fetch("SELECT delivery_date, column_name, reason FROM audit.field_defects "
                            "WHERE source = 'health_register' ORDER BY delivery_date")
    assert withheld == [(NIGHTS[0], "dob", "required value is missing"), (NIGHTS[1], "dob", "required value is missing")]

    changed_rules = tmp_path / "expectations"
    shutil.copytree(settings.expectations_dir, changed_rules)
    suite = changed_rules / "health_register.json"
    document = json.loads(suite.read_text(encoding="utf-8"))
    document["meta"]["hearth"] += " (edited)"
    suite.write_text(json.dumps(document, indent=2), encoding="utf-8")
    edited = settings.model_copy(update={"expectations_dir": changed_rules})
    rerun = run_night(NIGHTS[1], edited, trigger="test")
    assert "unchanged_rows" not in _nhs_check_details(settings.warehouse, rerun.run_id)
