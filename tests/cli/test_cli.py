from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()
COMMANDS = ["synth", "run", "demo", "report", "explain", "review", "decide"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--date", "2026-13-01"], 2),          # not a date
        (["run", "--date", "yesterday"], 2),
        (["run"], 2),                                  # missing required option
        (["synth", "--out", "x", "--households", "0"], 2),
        (["synth", "--out", "x", "--start-date", "01/10/2026"], 2),
        (["no-such-command"], 2),
        (["decide", "H1"], 2),                         # no --reason
        (["decide", "H1", "--reason", "x", "--level", "extreme"], 2),
        (["review", "--accept", "no-equals-sign"], 2),
    ],
)
def test_usage_errors_exit_2(args: list[str], expected: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    result = runner.invoke(app, args)
    assert result.exit_code == expected, result.output


def test_a_night_with_no_register_ever_delivered_fails_with_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("HEARTH_REPORTS_DIR", str(tmp_path / "reports"))
    (tmp_path / "landing" / "2026-10-01").mkdir(parents=True)
    result = runner.invoke(app, ["run", "--date", "2026-10-01"])
    assert result.exit_code == 1, result.output
    assert "snapshot" in result.output


def test_explain_before_any_run_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    result = runner.invoke(app, ["explain", "C123"])
    assert result.exit_code == 2, result.output
    assert "run a night first" in result.output
    assert not (tmp_path / "wh.duckdb").exists()
