"""Run one night and kill this process with SIGKILL at a chosen point (used by
test_crash_recovery.py in a child process; the patches never touch the test process).

usage: python crash_driver.py POINT YYYY-MM-DD   (settings from HEARTH_* environment)
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.config import load_settings
from pipeline.night import run_night
from pipeline.publish import warehouse


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    if point == "mid_ingest":  # raw rows written in an open transaction
        original = warehouse.Warehouse.replace_for_date

        def replace_then_die(self: Any, table: str, *a: Any, **k: Any) -> int:
            n = original(self, table, *a, **k)
            if table == "raw.police_persons":
                die()
            return n
        warehouse.Warehouse.replace_for_date = replace_then_die  # type: ignore[method-assign]
    elif point == "mid_publish":  # marts replaced inside publish_list's transaction, not committed
        original_sql = warehouse.sql

        def sql_then_die(name: str) -> str:
            if name == "flag_evidence_to_publish":
                die()
            return original_sql(name)
        warehouse.sql = sql_then_die  # type: ignore[assignment]
    elif point in ("before_swap", "after_swap"):  # the night's handover of its working file
        real = os.replace

        def replace_and_die(src: Any, dst: Any) -> None:
            handing_over = Path(src) == warehouse.work_path(Path(dst))
            if handing_over and point == "before_swap":
                die()
            real(src, dst)
            if handing_over:
                die()
        os.replace = replace_and_die  # type: ignore[assignment]
    elif point == "mid_working_copy":  # the night succeeds; the next working copy is cut short
        def copy_half_then_die(published: Path) -> None:
            def half_copy(src: Any, dst: Any, *a: Any, **k: Any) -> None:
                data = Path(src).read_bytes()
                Path(dst).write_bytes(data[: len(data) // 2])
                die()
            shutil.copyfile = half_copy  # type: ignore[assignment]
            warehouse.prepare_working_copy(published)
        warehouse._spawn_working_copy = copy_half_then_die  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown crash point {point}")


if __name__ == "__main__":
    install(sys.argv[1])
    run_night(date.fromisoformat(sys.argv[2]), load_settings(), trigger="test")
    _ = shutil  # the real module stays imported for the other points
    raise SystemExit("the crash point was never reached")
