"""Shared helpers for the benchmark scripts: paths, timing, peak memory, machine load.

Every script writes under ``bench/out/`` (git-ignored) and prints its figures; each also
appends a JSON line to ``bench/out/results.jsonl`` so ``docs/performance.md`` can be
refreshed from one file.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
COUNTY = OUT / "county"                # the full county: 350 000 households, 30 nights
COUNTY_HOUSEHOLDS = 350_000
COUNTY_DAYS = 30
COUNTY_SEED = 1
COUNTY_START = date(2026, 10, 1)
RESULTS = OUT / "results.jsonl"


def peak_rss_mb_self() -> float:
    """This process's peak resident set size in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """What the figures were measured on, including how busy the machine was."""
    load1, load5, _ = os.getloadavg()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "load_1m": round(load1, 2),
        "load_5m": round(load5, 2),
    }


def record(kind: str, figures: dict[str, Any]) -> None:
    """Append one result line (with machine and load) to bench/out/results.jsonl."""
    OUT.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"bench": kind, "machine": machine(), **figures}, default=str) + "\n")


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[float, float, str]:
    """Run ``cmd`` in a child process under ``/usr/bin/time -v``: (wall seconds, peak RSS MB, stdout).

    ``/usr/bin/time`` gives the peak of that one child (``RUSAGE_CHILDREN`` would be the
    maximum over every child this script ever waited for). Falls back to RUSAGE_CHILDREN
    where /usr/bin/time is missing.
    """
    timer = Path("/usr/bin/time")
    full = [str(timer), "-v", *cmd] if timer.exists() else cmd
    started = time.perf_counter()
    proc = subprocess.run(full, cwd=cwd, env=child_env(env), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak = int(line.rsplit(":", 1)[1]) / 1024
    return wall, peak, proc.stdout


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for measured child processes, with a bytecode cache.

    Some sandboxes set ``PYTHONDONTWRITEBYTECODE``; then every process recompiles Great
    Expectations, polars, DuckDB … from source (several seconds a process) — a cost no
    installed deployment pays. The cache goes to bench/out/pycache, not into the venv.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    return {**env, **(extra or {})}


def python() -> str:
    """The virtualenv's interpreter (scripts are started with ``uv run``)."""
    return sys.executable


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
