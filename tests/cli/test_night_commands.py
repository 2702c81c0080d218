"""CLI commands over a real (tiny) warehouse: a failed night, decisions, review."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number, upn_for
from e2e.test_scenarios import NIGHT, _police, _registers

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("HEARTH_REPORTS_DIR", str(tmp_path / "reports"))
    _registers(tmp_path / "landing")
    _police(tmp_path / "landing")
    result = runner.invoke(app, ["run", "--date", NIGHT.isoformat(), "--create"])
    assert result.exit_code == 0, result.output
    return tmp_path


def _marts(path: Path) -> dict[str, pl.DataFrame]:
    with warehouse.open_reader(path / "wh" / "warehouse.duckdb") as wh:
        return {t: wh.frame(f"SELECT * FROM marts.{t} ORDER BY ALL") for t in
                ("child_flags", "mash_list", "school_notifications", "child_index")}


def test_a_night_failing_data_quality_exits_1_and_leaves_the_lists_as_they_were(env: Path) -> None:
    before = _marts(env)
    nxt = NIGHT + timedelta(days=1)
    folder = env / "landing" / nxt.isoformat()
    folder.mkdir(parents=True)
    # The health register shrinks from 3 children to 1: more than the 10% allowed.
    lines = (env / "landing" / NIGHT.isoformat() / "health_register.csv").read_text().splitlines()
    (folder / "health_register.csv").write_text("\n".join(lines[:2]) + "\n")
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 1, result.output
    assert "fewer than the previous snapshot" in result.output
    assert "yesterday's lists stand" in result.output
    after = _marts(env)
    for name, frame in before.items():
        assert after[name].equals(frame), name
    with warehouse.open_reader(env / "wh" / "warehouse.duckdb") as wh:
        runs = wh.frame("SELECT logical_date, status, message FROM audit.runs ORDER BY logical_date")
        staged = wh.fetch("SELECT count(*) FROM staging.health_register_snapshots WHERE snapshot_date = ?", [nxt])
    assert runs["status"].to_list() == ["succeeded", "failed"]
    assert "validate" in runs["message"][1]
    assert staged == [(0,)]


def test_a_broken_file_exits_2_naming_file_and_column(env: Path) -> None:
    nxt = NIGHT + timedelta(days=1)
    folder = env / "landing" / nxt.isoformat()
    folder.mkdir(parents=True)
    (folder / "police_incidents.csv").write_text("incident_id,reported_at\nX1,2026-10-05T10:00:00Z\n")
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 2, result.output
    assert "police_incidents.csv" in result.output and "updated_at" in result.output


def test_decisions_from_csv_are_recorded_with_who_and_why_and_bad_rows_all_reported(env: Path) -> None:
    with warehouse.open_reader(env / "wh" / "warehouse.duckdb") as wh:
        listed = wh.frame("SELECT household_id, priority, risk_level FROM marts.mash_list ORDER BY priority")
    last = listed["household_id"][-1]
    batch = env / "decisions.csv"
    batch.write_text(f"household_id,priority,level,reason\n{last},1,high,\"seen by social worker; 'urgent'\"\n")
    result = runner.invoke(app, ["decide", "--csv", str(batch), "--as", "coordinator-a"])
    assert result.exit_code == 0, result.output
    bad = env / "bad.csv"
    bad.write_text("household_id,priority,level,reason\nH1,first,high,x\nH2,2,extreme,y\n")
    result = runner.invoke(app, ["decide", "--csv", str(bad)])
    assert result.exit_code == 2
    assert "bad.csv row 1, column priority" in result.output and "row 2" in result.output
    with warehouse.open_reader(env / "wh" / "warehouse.duckdb") as wh:
        decisions = wh.frame("SELECT * FROM audit.coordinator_decisions")
    assert decisions["decided_by"].to_list() == ["coordinator-a"]
    assert decisions["reason"].to_list() == ["seen by social worker; 'urgent'"]


def test_review_accept_is_recorded_and_shown_no_more(env: Path) -> None:
    left, right = f"health_register:{nhs_number(3)}", f"school_census:{upn_for(3)}"
    result = runner.invoke(app, ["review", "--accept", f"{left}={right}", "--as", "rev"])
    assert result.exit_code == 0, result.output
    with warehouse.open_reader(env / "wh" / "warehouse.duckdb") as wh:
        rows = wh.fetch("SELECT decided_by, left_id, right_id, decision FROM audit.review_decisions")
    assert rows == [("rev", left, right, "match")]


def test_explain_names_the_rules_that_fired(env: Path) -> None:
    with warehouse.open_reader(env / "wh" / "warehouse.duckdb") as wh:
        child = wh.fetch("SELECT child_id FROM marts.child_flags WHERE forename = 'Ivy'")[0][0]
        other = wh.fetch("SELECT child_id FROM marts.child_index WHERE forename = 'Ada'")[0][0]
    result = runner.invoke(app, ["explain", child, "--as", "auditor"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("FLAGGED HIGH") and "(rule UNDER_ONE)" in result.output and "INC-R" in result.output
    result = runner.invoke(app, ["explain", other, "--date", NIGHT.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("NOT FLAGGED")
