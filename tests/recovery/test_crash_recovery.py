"""A night killed at any point leaves the previous night's marts intact and readable, and
rerunning it gives the same marts as a night never interrupted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pipeline.config import Settings, load_settings
from pipeline.night import run_night
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent))
from nights import NIGHTS, marts, write_county

DRIVER = Path(__file__).parent / "crash_driver.py"
CLI = ["-c", "from pipeline.cli import app; app()"]


def _settings(root: Path, landing: Path) -> Settings:
    return load_settings(landing_dir=landing, warehouse=root / "wh" / "warehouse.duckdb", reports_dir=root / "reports")


def _env(s: Settings) -> dict[str, str]:
    return {**os.environ, "HEARTH_LANDING_DIR": str(s.landing_dir), "HEARTH_WAREHOUSE": str(s.warehouse),
            "HEARTH_REPORTS_DIR": str(s.reports_dir)}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Marts after nights 1–2 and after nights 1–3, never interrupted."""
    root = tmp_path_factory.mktemp("baseline")
    write_county(root / "landing")
    s = _settings(root, root / "landing")
    run_night(NIGHTS[0], s, trigger="test")
    run_night(NIGHTS[1], s, trigger="test")
    two = marts(s.warehouse)
    run_night(NIGHTS[2], s, trigger="test")
    return {"landing": root / "landing", "two": two, "three": marts(s.warehouse)}


def _two_nights(tmp_path: Path, landing: Path) -> Settings:
    s = _settings(tmp_path, landing)
    run_night(NIGHTS[0], s, trigger="test")
    run_night(NIGHTS[1], s, trigger="test")
    return s


def _assert_recovers(s: Settings, baseline: dict[str, object], *, allow_new: bool) -> None:
    published = marts(s.warehouse)  # opens, so the published file is a whole database
    expected = [baseline["two"], baseline["three"]] if allow_new else [baseline["two"]]
    assert published in expected, "the published marts are neither the previous night's nor the new night's"
    with warehouse.open_writer(s.warehouse) as wh:  # the working file recovers (WAL replay)
        assert wh.fetch("SELECT count(*) FROM audit.schema_migrations")[0][0] > 0
    run_night(NIGHTS[2], s, trigger="test")
    assert marts(s.warehouse) == baseline["three"]


def _runs_of(published: Path, day: object) -> list[str]:
    with warehouse.open_reader(published) as wh:
        rows = wh.fetch("SELECT status FROM audit.runs WHERE logical_date = ? ORDER BY started_at", [day])
    return [r[0] for r in rows]


# Where each kill lands: before the night's results reach readers, or after they did.
FINISHED_BEFORE_KILL = {"mid_ingest": False, "mid_publish": False, "before_swap": False,
                        "after_swap": True, "mid_working_copy": True}


@pytest.mark.slow
@pytest.mark.parametrize(("point", "allow_new"), [
    ("mid_ingest", False), ("mid_publish", False), ("before_swap", False), ("after_swap", True),
    ("mid_working_copy", True),
])
def test_a_night_killed_at_a_point_recovers(tmp_path: Path, baseline: dict, point: str, allow_new: bool) -> None:
    s = _two_nights(tmp_path, baseline["landing"])
    proc = subprocess.run([sys.executable, str(DRIVER), point, NIGHTS[2].isoformat()], env=_env(s),
                          capture_output=True, text=True, timeout=300, check=False)
    # SIGKILL comes only from the driver's crash point (a night that never reached it exits 1).
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    finished = FINISHED_BEFORE_KILL[point]
    assert _runs_of(s.warehouse, NIGHTS[2]) == (["succeeded"] if finished else []), "where the kill landed"
    _assert_recovers(s, baseline, allow_new=allow_new)
    # The killed run stays in the trail: abandoned if it died before recording its end.
    died_running = point in ("mid_ingest", "mid_publish")
    assert _runs_of(s.warehouse, NIGHTS[2]) == ["abandoned" if died_running else "succeeded", "succeeded"]


def _kill_after_stage(s: Settings, stage: str) -> subprocess.Popen[str]:
    """Start `hearth run` and SIGKILL it as soon as its log says ``stage`` has finished."""
    env = {**_env(s), "HEARTH_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen([sys.executable, *CLI, "run", "--date", NIGHTS[2].isoformat()], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if re.search(rf"pipeline\.night: {stage}: .* rows in", line):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "the night ended before the kill:\n" + "".join(seen[-20:])
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["ingest", "validate", "link"])
def test_hearth_run_killed_from_outside_recovers(tmp_path: Path, baseline: dict, stage: str) -> None:
    s = _two_nights(tmp_path, baseline["landing"])
    _kill_after_stage(s, stage)
    assert _runs_of(s.warehouse, NIGHTS[2]) == [], "killed before its lists were published"
    _assert_recovers(s, baseline, allow_new=False)
    assert _runs_of(s.warehouse, NIGHTS[2]) == ["abandoned", "succeeded"]


@pytest.mark.slow
def test_a_reader_holding_the_published_file_does_not_fail_the_night(tmp_path: Path, baseline: dict) -> None:
    s = _two_nights(tmp_path, baseline["landing"])
    with warehouse.open_reader(s.warehouse) as reader:
        seen = reader.fetch("SELECT count(*) FROM marts.child_flags")[0][0]
        proc = subprocess.run([sys.executable, *CLI, "run", "--date", NIGHTS[2].isoformat()], env=_env(s),
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # The reader keeps the snapshot it opened, mid-query or not.
        assert reader.fetch("SELECT count(*) FROM marts.child_flags")[0][0] == seen
    assert marts(s.warehouse) == baseline["three"]


@pytest.mark.slow
def test_a_rerun_gives_identical_marts(tmp_path: Path, baseline: dict) -> None:
    s = _two_nights(tmp_path, baseline["landing"])
    run_night(NIGHTS[2], s, trigger="test")
    first: dict[str, Counter[str]] = marts(s.warehouse)
    run_night(NIGHTS[2], s, trigger="test")
    assert marts(s.warehouse) == first == baseline["three"]
