"""Every `hearth sql` query the README tells a newcomer to try runs, through the real CLI,
on a real warehouse (the README's other commands are make targets that CI runs)."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import PROJECT_ROOT
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent / "publish"))
from world import build_two_nights

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = [shlex.split(line)[1:] for line in re.findall(r"^\.venv/bin/hearth sql .+$", README, flags=re.M)]
runner = CliRunner()


def test_the_readme_shows_queries() -> None:
    assert len(COMMANDS) >= 4
    assert "duckdb -" not in README, "no DuckDB command-line tool is installed with hearth"


@pytest.mark.parametrize("args", COMMANDS, ids=[a[1][:40] for a in COMMANDS])
def test_each_readme_query_runs(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wh" / "warehouse.duckdb"
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(path))
    with warehouse.open_writer(path) as wh:
        build_two_nights(wh)
        warehouse.refresh_published(wh)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "row(s)" in result.output
