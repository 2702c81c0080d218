"""The acceptance ratios, each measured side by side in one run on one machine.

    uv run python bench/ratios.py [--households 175000] [--incremental 3]

These shared machines differ 2–3× in speed from one to the next, so absolute times say
little; ratios of two measurements taken minutes apart on the same machine do. One run:

1. generates a county of n households (``--households``, default 175 000) and one of 2n
   (350 000 by default: the memory budget's county), each with a few deliveries;
2. at n: the initial night, then ``--incremental`` incremental nights (each ``hearth run``
   in its own process under ``/usr/bin/time -v``), and Splink 5's register linkage alone on
   the same registers (``linkage_vs_splink.py --engine splink``);
3. at 2n: the initial night.

It prints, with the machine's load before and after:

- incremental / initial night at n (target ≤ 0.25);
- hearth's initial night (all stages) / Splink's register linkage alone, at n (target ≤ 1.0);
- time(2n) / time(n) of the initial night (target ≤ 2.2);
- peak memory of every night (target ≤ 3 GB at 350 000 households).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, machine, median, python, record, run_measured
from county import generate
from linkage_vs_splink import prepare_inputs
from nights import deliveries, fmt_stages, reset, run_one, stage_seconds

TARGETS = {"incremental_over_initial": 0.25, "initial_over_splink": 1.0, "time_2n_over_n": 2.2, "peak_mb": 3 * 1024}


def county(households: int, days: int, folder: Path) -> tuple[Path, dict[str, object] | None]:
    """The county's folder (generated unless an earlier run left it) and its figures."""
    if (folder / "landing").is_dir() and len(deliveries(folder / "landing")) >= days:
        return folder, None
    return folder, generate(folder, households=households, days=days)


def nights(folder: Path, work: Path, count: int) -> list[dict[str, object]]:
    """The first ``count`` nights of a county on a fresh warehouse: wall, peak, stages."""
    landing = folder / "landing"
    warehouse_file = reset(work)
    rows = []
    for day in deliveries(landing)[:count]:
        wall, peak = run_one(day, landing, warehouse_file)
        stages = stage_seconds(warehouse_file)[day.isoformat()]
        rows.append({"night": day.isoformat(), "wall_s": round(wall, 2), "peak_mb": round(peak), "stages": stages})
        print(f"  {day.isoformat()}  {wall:6.1f} s  {peak:7,.0f} MB   {fmt_stages(stages)}", flush=True)
    return rows


def splink_seconds(folder: Path, work: Path) -> tuple[float, float]:
    """Splink 5's register linkage alone on the county's registers: (seconds, peak MB)."""
    prepare_inputs(folder, work)
    _, peak, stdout = run_measured([python(), str(ROOT / "bench" / "linkage_vs_splink.py"),
                                    "--engine", "splink", "--inputs", str(work)])
    return float(json.loads(stdout.strip().splitlines()[-1])["seconds"]), peak


def warm_up() -> None:
    """Compile the bytecode cache once, untimed: otherwise the first measured process alone
    compiles Great Expectations, polars, DuckDB … (many seconds on a loaded machine) and the
    ratios compare a cold process with warm ones."""
    run_measured([python(), "-c", "import great_expectations, recordlinkage, splink, pipeline.night, "
                  "pipeline.link.linkage, pipeline.link.incremental, pipeline.validate.checks, pipeline.flag.flags"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=175_000, help="n (the 2n county has twice as many)")
    parser.add_argument("--incremental", type=int, default=3, help="incremental nights at n")
    parser.add_argument("--out", type=Path, default=OUT / "ratios")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses (the counties are always kept)")
    args = parser.parse_args()
    n, out = args.households, args.out
    before = machine()
    print(f"machine before: {before}")

    print(f"county n = {n:,} households and 2n = {2 * n:,}")
    small, small_figures = county(n, args.incremental + 1, out / "county-n")
    large, large_figures = county(2 * n, 1, out / "county-2n")
    warm_up()
    print(f"night by night at n = {n:,}:")
    at_n = nights(small, out / "nights-n", args.incremental + 1)
    print("Splink 5's register linkage alone at n:")
    splink_s, splink_peak = splink_seconds(small, out / "splink-n")
    print(f"  {splink_s:.1f} s, peak {splink_peak:,.0f} MB")
    print(f"the initial night at 2n = {2 * n:,}:")
    at_2n = nights(large, out / "nights-2n", 1)
    after = machine()

    initial = float(at_n[0]["wall_s"])  # type: ignore[arg-type]
    incremental = median([float(r["wall_s"]) for r in at_n[1:]]) if at_n[1:] else None  # type: ignore[arg-type]
    ratios = {
        "incremental_over_initial": round(incremental / initial, 3) if incremental else None,
        "initial_over_splink": round(initial / splink_s, 3),
        "time_2n_over_n": round(float(at_2n[0]["wall_s"]) / initial, 3),  # type: ignore[arg-type]
        "peak_mb": max(int(r["peak_mb"]) for r in [*at_n, *at_2n]),  # type: ignore[call-overload]
        "peak_mb_2n": int(at_2n[0]["peak_mb"]),  # type: ignore[call-overload]
    }
    print(f"\nmachine after: {after}")
    print("ratios (one run, one machine):")
    print(f"  incremental / initial night at n:      {ratios['incremental_over_initial']}  (target ≤ "
          f"{TARGETS['incremental_over_initial']}; median of {len(at_n) - 1} incremental nights)")
    print(f"  initial night / Splink linkage at n:   {ratios['initial_over_splink']}  (target ≤ {TARGETS['initial_over_splink']})")
    print(f"  time(2n) / time(n), initial night:     {ratios['time_2n_over_n']}  (target ≤ {TARGETS['time_2n_over_n']})")
    print(f"  peak memory, any night:                {ratios['peak_mb']:,} MB  (target ≤ {TARGETS['peak_mb']:,}; "
          f"{ratios['peak_mb_2n']:,} MB at 2n)")
    record("ratios", {
        "households": n, "ratios": ratios, "targets": TARGETS, "machine_before": before, "machine_after": after,
        "county_n": small_figures, "county_2n": large_figures, "nights_n": at_n, "nights_2n": at_2n,
        "splink_s": splink_s, "splink_peak_mb": round(splink_peak),
    })
    if not args.keep:
        for work in ("nights-n", "nights-2n", "splink-n"):
            shutil.rmtree(out / work, ignore_errors=True)


if __name__ == "__main__":
    main()
