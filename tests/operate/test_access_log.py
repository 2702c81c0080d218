"""Every CLI command that shows a named child's data leaves a row in audit.access_log
saying who (``--as``) looked at what."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent / "publish"))
from world import D2, build_two_nights

runner = CliRunner()
HOSTILE = "x'; DROP TABLE audit.access_log; --\u202e\x07" + "é" * 300


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "wh" / "warehouse.duckdb"
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(path))
    monkeypatch.setenv("HEARTH_REPORTS_DIR", str(tmp_path / "reports"))
    with warehouse.open_writer(path) as wh:
        build_two_nights(wh)
        warehouse.refresh_published(wh)
    return path


def _log(path: Path) -> list[tuple[str, str, str | None]]:
    # The access log is written to the working file at once; the published copy gets it at
    # the next publish.
    with warehouse.open_writer(path) as wh:
        return [tuple(r) for r in wh.literal_rows("SELECT who, command, subject FROM audit.access_log ORDER BY accessed_at")]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["explain", "C1", "--as", "auditor.ann"], ("auditor.ann", "explain", "C1")),
        (["explain", "C1", "--date", D2.isoformat(), "--as", "auditor.ann"], ("auditor.ann", "explain", "C1")),
        (["review", "--as", "reviewer.bob"], ("reviewer.bob", "review", "review_queue")),
        (["report", "--date", D2.isoformat(), "--as", "coord.cat"], ("coord.cat", "report", D2.isoformat())),
        (["explain", "C1", "--as", HOSTILE], (HOSTILE, "explain", "C1")),
    ],
)
def test_each_viewing_command_appends_who_and_what(published: Path, args: list[str], expected: tuple) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _log(published) == [expected]


def test_the_log_grows_and_earlier_rows_stay(published: Path) -> None:
    for who in ("a", "b", "c"):
        assert runner.invoke(app, ["explain", "C3", "--as", who]).exit_code == 0
    assert _log(published) == [("a", "explain", "C3"), ("b", "explain", "C3"), ("c", "explain", "C3")]


def test_without_as_the_os_user_is_recorded(published: Path) -> None:
    assert runner.invoke(app, ["explain", "C1"]).exit_code == 0
    (who, _, _), = _log(published)
    assert who


def test_a_failed_lookup_shows_nothing_and_logs_nothing(published: Path) -> None:
    result = runner.invoke(app, ["explain", "C-does-not-exist", "--as", "auditor.ann"])
    assert result.exit_code == 2, result.output
    assert _log(published) == []


def test_the_log_reaches_the_published_copy_at_the_next_publish(published: Path) -> None:
    assert runner.invoke(app, ["explain", "C1", "--as", "auditor.ann"]).exit_code == 0
    # Any recorded decision publishes the working file, the access log with it.
    decided = runner.invoke(app, ["decide", "H2", "--priority", "1", "--reason", "seen", "--as", "coord.cat"])
    assert decided.exit_code == 0, decided.output
    with warehouse.open_reader(published) as wh:
        rows = wh.literal_rows("SELECT who, command, subject FROM audit.access_log")
    assert rows == [("auditor.ann", "explain", "C1")]
