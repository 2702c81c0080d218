"""Time whole nights end to end through the CLI (``hearth run``), stage by stage.

    uv run python bench/nights.py [--county bench/out/county] [--nights 30] [--initial-repeats 3]

Each night runs as its own ``hearth run --date D --landing … --warehouse …`` process under
``/usr/bin/time -v`` (wall time and that process's peak RSS); per-stage seconds come from
``audit.run_stages``. The first delivery (a year of police history and both register
snapshots into an empty warehouse) is the *initial* night; every later one is an
*incremental* night. The initial night is repeated on fresh warehouses for a median.

The warehouse of the full sequence is left at ``bench/out/nights/warehouse.duckdb`` for
``bench/accuracy.py``. Targets: initial ≤ 60 s, incremental ≤ 15 s, peak ≤ 3 GB, and the
published file growing ≤ 5 MB per incremental night at 350 000 households: printed per night
as ``+bytes``, the change in the bytes the file's used blocks hold (DuckDB reuses freed
blocks, so the file's own size steps unevenly), and at the end the bytes held by linkage
results and link decisions, the part that used to be copied every night.
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
TARGETS = {"initial_s": 60.0, "incremental_s": 15.0, "peak_mb": 3 * 1024.0, "growth_mb": 5.0}


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
        rows = wh.literal_rows(
            "SELECT l.logical_date, s.stage, s.seconds FROM audit.run_stages s "
            "JOIN audit.run_log l ON l.run_id = s.run_id AND l.event = 'started'"
        )
    out: dict[str, dict[str, float]] = {}
    for day, stage, seconds in rows:
        out.setdefault(day.isoformat(), {})[stage] = round(float(seconds), 2)
    return out


# Where linkage results and link decisions are stored: per-night copies before the
# histories, the histories after (whichever the warehouse has).
LINKAGE_STORAGE = (
    "linked.child_xref", "linked.children", "linked.households", "linked.person_links",
    "linked.incident_households", "linked.review_queue", "audit.link_decisions",
    "linked.child_xref_history", "linked.children_history", "linked.households_history",
    "linked.person_links_history", "linked.incident_households_history", "linked.review_queue_history",
    "linked.link_nights", "audit.link_decision_changes", "audit.link_decision_nights",
)


def used_bytes(warehouse_file: Path) -> int:
    """Bytes in the published file's used blocks."""
    from pipeline.publish import warehouse

    with warehouse.open_reader(warehouse_file) as wh:
        return int(wh.literal_rows("SELECT used_blocks * block_size FROM pragma_database_size() WHERE database_name = 'wh'")[0][0])


def linkage_storage(warehouse_file: Path) -> dict[str, int]:
    """Bytes and rows of the tables that hold linkage results and link decisions (blocks
    counted once per table)."""
    from pipeline.publish import warehouse

    with warehouse.open_reader(warehouse_file) as wh:
        tables = {f"{s}.{n}" for s, n in wh.literal_rows(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'wh'")}
        block = int(wh.literal_rows("SELECT block_size FROM pragma_database_size() WHERE database_name = 'wh'")[0][0])
        out = {"bytes": 0, "rows": 0}
        for table in (t for t in LINKAGE_STORAGE if t in tables):
            out["bytes"] += block * int(wh.literal_rows(
                "SELECT count(DISTINCT block_id) FROM pragma_storage_info(?) WHERE persistent", [table])[0][0])
            out["rows"] += int(wh.literal_rows(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608 - fixed list
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

    print(f"{'night':<12}{'wall s':>8}{'peak MB':>9}{'file MB':>9}{'+bytes':>13}{'linkage MB':>11}   stages (s)")
    warehouse_file = reset(args.out)
    walls: dict[str, float] = {}
    peaks: dict[str, float] = {}
    sizes: dict[str, int] = {}  # bytes in the published file's used blocks after each night
    linkage: dict[str, dict[str, int]] = {}  # linkage results and decisions after each night
    started = time.perf_counter()
    for day in days:
        wall, peak = run_one(day, landing, warehouse_file)
        walls[day.isoformat()], peaks[day.isoformat()] = round(wall, 2), round(peak)
        previous = sizes[max(sizes)] if sizes else 0
        sizes[day.isoformat()] = used_bytes(warehouse_file)
        linkage[day.isoformat()] = linkage_storage(warehouse_file)
        stages = stage_seconds(warehouse_file)[day.isoformat()]
        print(f"{day.isoformat():<12}{wall:8.1f}{peak:9,.0f}{warehouse_file.stat().st_size / 1024**2:9,.0f}"
              f"{sizes[day.isoformat()] - previous:+13,}{linkage[day.isoformat()]['bytes'] / 1024**2:11,.1f}"
              f"   {fmt_stages(stages)}", flush=True)
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
    # Bytes each incremental night added to the published file: over the run, since DuckDB
    # grows its file by whole blocks, so one night's step is coarse.
    growth = (sizes[incremental[-1]] - sizes[days[0].isoformat()]) / len(incremental) if incremental else None
    linkage_growth = ((linkage[incremental[-1]]["bytes"] - linkage[days[0].isoformat()]["bytes"]) / len(incremental)
                      if incremental else None)
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
        "per_night": {d: {"wall_s": walls[d], "peak_mb": peaks[d], "used_bytes": sizes[d],
                          "linkage_bytes": linkage[d]["bytes"], "linkage_rows": linkage[d]["rows"], **per_stage[d]}
                      for d in walls},
        "growth_bytes_per_incremental_night": round(growth) if growth is not None else None,
        "linkage_growth_bytes_per_incremental_night": round(linkage_growth) if linkage_growth is not None else None,
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
    if growth is not None and linkage_growth is not None:
        print(f"growth per incremental night: {growth:,.0f} bytes ({growth / 1024**2:.2f} MB; "
              f"target ≤ {TARGETS['growth_mb']:.0f} MB at 350 000 households), of which linkage results and "
              f"link decisions {linkage_growth:,.0f} bytes")
    record("nights", figures)


if __name__ == "__main__":
    main()
