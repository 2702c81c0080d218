"""The 7-day stale-register stop, through `hearth run`: a register snapshot 7 days old is
still used; 8 days old stops the night with exit 1, says what to do, records the run as
failed and leaves the published lists exactly as they were."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
from e2e.test_scenarios import NIGHT, _police, _registers

runner = CliRunner()


def _published(path: Path) -> tuple[list, list]:
    with warehouse.open_reader(path) as wh:
        marts = wh.fetch("SELECT list_date, child_id, risk_level FROM marts.child_flags ORDER BY ALL")
        runs = wh.fetch("SELECT logical_date, status, message FROM audit.runs ORDER BY started_at")
    return marts, runs


@pytest.mark.slow
def test_registers_older_than_seven_days_stop_the_night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    published = tmp_path / "wh" / "warehouse.duckdb"
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(published))
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("HEARTH_REPORTS_DIR", str(tmp_path / "reports"))
    _registers(tmp_path / "landing")  # both registers delivered on NIGHT only
    _police(tmp_path / "landing")
    assert runner.invoke(app, ["run", "--date", NIGHT.isoformat(), "--create"]).exit_code == 0
    marts_before, _ = _published(published)

    eight = NIGHT + timedelta(days=8)
    (tmp_path / "landing" / eight.isoformat()).mkdir()
    result = runner.invoke(app, ["run", "--date", eight.isoformat()])
    assert result.exit_code == 1, result.output
    for words in ("health_register snapshot is from 2026-10-05 (8 days old, limit 7)",
                  "school_census snapshot is from 2026-10-05 (8 days old, limit 7)",
                  "Ask the register owner for a fresh snapshot"):
        assert words in result.output, result.output
    marts_after, runs = _published(published)
    assert marts_after == marts_before
    assert [(d, s) for d, s, _ in runs] == [(NIGHT, "succeeded"), (eight, "failed")]
    assert "validate: Register data too old" in runs[-1][2]

    seven = NIGHT + timedelta(days=7)
    (tmp_path / "landing" / seven.isoformat()).mkdir()
    result = runner.invoke(app, ["run", "--date", seven.isoformat()])
    assert result.exit_code == 0, result.output
    _, runs = _published(published)
    assert (seven, "succeeded") in [(d, s) for d, s, _ in runs]
