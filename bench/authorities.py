"""Four authorities' nights on one worker against two: the force-wide speed-up, measured.

    uv run python bench/authorities.py [--households 100000] [--authorities 4] [--nights 2]

A synthetic force (``pipeline.synth.force``) of N authorities is routed night by night
(``pipeline.authorities.route_police``); then every authority's night runs as its own
process, exactly what one mapped ``authority_night`` task does on an Airflow worker, first
with one worker (one process at a time), then with two at once, each time into fresh
warehouses. Prints wall times, per-authority night times and the speed-up; the per-authority
times are what docs/scaling.md extrapolates from. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, record

from pipeline.authorities import init_authority_warehouses, load_force, route_police
from pipeline.synth.force import write_synthetic_force

START = date(2026, 10, 5)
NIGHT = """
import sys
from datetime import date
from pipeline.authorities import load_force, run_authority_night
run_authority_night(load_force(sys.argv[1]), sys.argv[2], date.fromisoformat(sys.argv[3]), trigger="bench")
"""


def _one(config: Path, code: str, night: date) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", NIGHT, str(config), code, night.isoformat()], check=True,
                   capture_output=True, timeout=3600)
    return time.perf_counter() - t0


def _nights(config: Path, workers: int, nights: list[date]) -> dict[str, object]:
    force = load_force(config)
    for code in force.codes:
        shutil.rmtree(force.data_dir / code, ignore_errors=True)
    init_authority_warehouses(force)
    out: dict[str, object] = {}
    for night in nights:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            times = dict(zip(force.codes, pool.map(_one, [config] * len(force.codes), force.codes, [night] * len(force.codes)), strict=True))
        wall = time.perf_counter() - t0
        out[night.isoformat()] = {"wall_s": round(wall, 1), "per_authority_s": {c: round(t, 1) for c, t in times.items()}}
        print(f"  {workers} worker(s), night {night}: {wall:6.1f} s wall; per authority "
              + ", ".join(f"{t:.1f}" for t in times.values()) + " s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--authorities", type=int, default=4)
    parser.add_argument("--nights", type=int, default=2)
    args = parser.parse_args()
    root = OUT / "authorities"
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    synth = write_synthetic_force(root, authorities=args.authorities, households=args.households,
                                  days=args.nights, seed=7, start_date=START)
    print(f"synthetic force: {args.authorities} x {args.households:,} households, {args.nights} nights "
          f"({time.perf_counter() - t0:.0f} s)")
    force = load_force(synth.config_file)
    nights = synth.nights
    for night in nights:
        t0 = time.perf_counter()
        routed = route_police(force, night)
        print(f"  routed {night}: {routed.as_dict()['incidents']} in {time.perf_counter() - t0:.1f} s")
    results = {w: _nights(synth.config_file, w, nights) for w in (1, 2)}
    for night in nights:
        one, two = (results[w][night.isoformat()]["wall_s"] for w in (1, 2))  # type: ignore[index]
        print(f"night {night}: 1 worker {one} s, 2 workers {two} s, speed-up {one / two:.2f}x")
    record("authorities", {"households": args.households, "authorities": args.authorities,
                           "results": {str(w): r for w, r in results.items()}})


if __name__ == "__main__":
    main()
