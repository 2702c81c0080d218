"""Time whole nights end to end through the CLI (``hearth run``), stage by stage.

    uv run python bench/nights.py [--county bench/out/county] [--nights 30] [--initial-repeats 3]

Each night runs as its own ``hearth run --date D --landing … --warehouse …`` process under
``/usr/bin/time -v`` (wall time and that process's peak RSS); per-stage seconds come from
``audit.run_stages``. The first delivery (a year of police history and both register
snapshots into an empty warehouse) is the *initial* night; every later one is an
*incremental* night. The initial night is repeated on fresh warehouses for a median.

The warehouse of the full sequence is left at ``bench/out/nights/warehouse.duckdb`` for
``bench/accuracy.py``. Targets: initial ≤ 60 s, incremental ≤ 15 s, peak ≤ 3 GB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import COUNTY, OUT, median, python, record, run_measured

STAGES = ("ingest", "validate", "link", "flag", "publish", "report")
TARGETS = {"initial_s": 60.0, "incremental_s": 15.0, "peak_mb": 3 * 1024.0}


def deliveries(landing: Path) -> list[date]:
    return sorted(date.fromisoformat(p.name) for p in landing.iterdir() if p.is_dir())


def reset(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder / "warehouse.duckdb"


def stage_seconds(warehouse_file: Path) -> dict[str, dict[str, float]]:
    """``{logical date: {stage: seconds}}`` of the succeeded runs in the warehouse."""
    from pipeline.publish import warehouse

    with warehouse.open_reader(warehouse_file) as wh:
        rows = wh.fetch(
            "SELECT l.logical_date, s.stage, s.seconds FROM audit.run_stages s "
            "JOIN audit.run_log l ON l.run_id = s.run_id AND l.event = 'started'"
        )
    out: dict[str, dict[str, float]] = {}
    for day, stage, seconds in rows:
        out.setdefault(day.isoformat(), {})[stage] = round(float(seconds), 2)
    return out


def run_one(day: date, landing: Path, warehouse_file: Path) -> tuple[float, float]:
    """One ``hearth run`` process: (wall seconds, peak RSS MB)."""
    env = {"HEARTH_REPORTS_DIR": str(warehouse_file.parent / "reports"), "HEARTH_PROGRESS": "false"}
    cmd = [str(Path(python()).with_name("hearth")), "run", "--date", day.isoformat(),
           "--landing", str(landing), "--warehouse", str(warehouse_file), "--create"]
    wall, peak, _ = run_measured(cmd, env=env)
    # The night ends by handing its working file over as the published one; a detached
    # process then copies it back for the next writer. Nights are 24 hours apart, so that
    # copy is off every night's path: wait for it here, outside the timing.
    from pipeline.publish import warehouse

    warehouse.prepare_working_copy(warehouse_file)
    return wall, peak


def fmt_stages(stages: dict[str, float]) -> str:
    return "  ".join(f"{s} {stages.get(s, 0.0):5.1f}" for s in STAGES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--county", type=Path, default=COUNTY)
    parser.add_argument("--out", type=Path, default=OUT / "nights")
    parser.add_argument("--nights", type=int, default=30, help="how many deliveries to run in sequence")
    parser.add_argument("--initial-repeats", type=int, default=3, help="extra initial nights on fresh warehouses")
    args = parser.parse_args()
    landing = args.county / "landing"
    if not landing.is_dir():
        raise SystemExit(f"{landing} not found: run bench/county.py first")
    days = deliveries(landing)[: args.nights]

    print(f"{'night':<12}{'wall s':>8}{'peak MB':>9}{'file MB':>9}   stages (s)")
    warehouse_file = reset(args.out)
    walls: dict[str, float] = {}
    peaks: dict[str, float] = {}
    sizes: dict[str, int] = {}  # the published file after each night (it grows with history)
    started = time.perf_counter()
    for day in days:
        wall, peak = run_one(day, landing, warehouse_file)
        walls[day.isoformat()], peaks[day.isoformat()] = round(wall, 2), round(peak)
        sizes[day.isoformat()] = round(warehouse_file.stat().st_size / 1024**2)
        stages = stage_seconds(warehouse_file)[day.isoformat()]
        print(f"{day.isoformat():<12}{wall:8.1f}{peak:9,.0f}{sizes[day.isoformat()]:9,}   {fmt_stages(stages)}", flush=True)
    per_stage = stage_seconds(warehouse_file)
    sequence_s = time.perf_counter() - started

    initial_walls = [walls[days[0].isoformat()]]
    initial_peaks = [peaks[days[0].isoformat()]]
    initial_stage_runs = [per_stage[days[0].isoformat()]]
    for i in range(args.initial_repeats - 1):
        scratch = reset(args.out / f"initial-{i + 2}")
        wall, peak = run_one(days[0], landing, scratch)
        initial_walls.append(round(wall, 2))
        initial_peaks.append(round(peak))
        initial_stage_runs.append(stage_seconds(scratch)[days[0].isoformat()])
        shutil.rmtree(scratch.parent)

    incremental = [d.isoformat() for d in days[1:]]
    figures = {
        "nights": len(days),
        "sequence_seconds": round(sequence_s, 1),
        "initial": {
            "runs": len(initial_walls), "wall_s_median": median(initial_walls), "wall_s_all": initial_walls,
            "peak_mb_max": max(initial_peaks),
            "stages_median": {s: median([r.get(s, 0.0) for r in initial_stage_runs]) for s in STAGES},
        },
        "incremental": {
            "runs": len(incremental),
            "wall_s_median": median([walls[d] for d in incremental]) if incremental else None,
            "wall_s_max": max((walls[d] for d in incremental), default=None),
            "peak_mb_max": max((peaks[d] for d in incremental), default=None),
            "stages_median": {s: median([per_stage[d].get(s, 0.0) for d in incremental]) for s in STAGES}
            if incremental else {},
        },
        "per_night": {d: {"wall_s": walls[d], "peak_mb": peaks[d], "file_mb": sizes[d], **per_stage[d]} for d in walls},
        "warehouse_mb": round(warehouse_file.stat().st_size / 1024**2),
    }
    ini, inc = figures["initial"], figures["incremental"]
    print(f"\ninitial night (median of {ini['runs']}): {ini['wall_s_median']:.1f} s (target ≤ {TARGETS['initial_s']:.0f}), "  # type: ignore[index]
          f"peak {ini['peak_mb_max']:,} MB; stages {fmt_stages(ini['stages_median'])}")  # type: ignore[index]
    if incremental:
        print(f"incremental nights (median of {inc['runs']}): {inc['wall_s_median']:.1f} s, max {inc['wall_s_max']:.1f} s "  # type: ignore[index]
              f"(target ≤ {TARGETS['incremental_s']:.0f}), peak {inc['peak_mb_max']:,} MB; "  # type: ignore[index]
              f"stages {fmt_stages(inc['stages_median'])}")  # type: ignore[index]
    print(f"peak memory target ≤ {TARGETS['peak_mb']:,.0f} MB; warehouse {figures['warehouse_mb']:,} MB after {len(days)} nights")
    record("nights", figures)


if __name__ == "__main__":
    main()
