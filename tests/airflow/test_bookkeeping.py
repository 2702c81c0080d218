"""Between the DAG's tasks, delivered = staged + quarantined: a file that vanishes or changes
after ingest landed it fails the night instead of giving a night that looks complete."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline import airflow_support as support
from pipeline.errors import DataQualityError
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
from e2e.test_scenarios import NIGHT, _police, _registers


def _context(tmp_path: Path) -> dict[str, Any]:
    """What the DAG's task bodies read from Airflow's context: the logical date and params.
    The warehouse is made first, as `hearth init` would: the DAG never creates one."""
    with warehouse.open_writer(tmp_path / "wh" / "warehouse.duckdb", create=True) as wh:
        warehouse.refresh_published(wh)
    return {
        "logical_date": datetime(NIGHT.year, NIGHT.month, NIGHT.day, 2, 0, tzinfo=support.LONDON),
        "params": {"landing_dir": str(tmp_path / "landing"), "warehouse": str(tmp_path / "wh" / "warehouse.duckdb"),
                   "reports_dir": str(tmp_path / "reports")},
    }


@pytest.mark.parametrize("change", ["vanished", "grew"])
def test_a_file_changed_between_ingest_and_validate_fails_the_night(tmp_path: Path, change: str) -> None:
    _registers(tmp_path / "landing")
    _police(tmp_path / "landing")
    context = _context(tmp_path)
    landed = support.run_stage_task("ingest", context)
    persons = tmp_path / "landing" / NIGHT.isoformat() / "police_persons.csv"
    if change == "vanished":
        persons.unlink()
    else:
        persons.write_text(persons.read_text() + persons.read_text().splitlines()[-1] + "\n")
    with pytest.raises(DataQualityError, match=r"does not add up") as failed:
        support.run_stage_task("validate", context, run_id=landed["run_id"])
    assert "police_persons: ingest landed 4 rows but validate read" in str(failed.value)
    with warehouse.open_writer(tmp_path / "wh" / "warehouse.duckdb") as wh:
        status = wh.fetch("SELECT status, message FROM audit.runs")
        staged = wh.fetch("SELECT count(*) FROM staging.police_incident_versions")[0][0]
    assert status[0][0] == "failed" and "validate" in status[0][1]
    assert staged == 0  # nothing from the night is staged


def test_rows_neither_staged_nor_quarantined_fail_the_night(tmp_path: Path) -> None:
    """The same check compares row keys: a row ingest landed that validation lost is named."""
    _registers(tmp_path / "landing")
    _police(tmp_path / "landing")
    context = _context(tmp_path)
    landed = support.run_stage_task("ingest", context)
    with warehouse.open_writer(tmp_path / "wh" / "warehouse.duckdb") as wh:
        # A raw row validation never saw (as if a record went missing on the way).
        wh.fetch("UPDATE raw.police_incidents SET _row = 99 WHERE _row = 2")
    with pytest.raises(DataQualityError, match=r"police_incidents: 1 of 2 delivered rows were neither"):
        support.run_stage_task("validate", context, run_id=landed["run_id"])
