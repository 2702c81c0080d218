"""Every benchmark in order (what ``make bench`` runs); see docs/performance.md.

    uv run python bench/run_all.py [--quick]

0. ratios.py — the acceptance ratios side by side in one run: incremental/initial night,
   initial night/Splink linkage, time(2n)/time(n), peak memory;
1. county.py — generate the 350 000-household county (30 nights);
2. nights.py — every night through ``hearth run``: initial and incremental timings, memory;
3. accuracy.py — linkage and flag accuracy from the warehouse nights.py built;
4. linkage_vs_splink.py — register linkage, hearth against Splink 5;
5. scaling.py — 1×, 2×, 4× and docs/scaling.png;
6. febrl.py — FEBRL4 recast as registers (public data hearth did not generate), hearth against Splink 5.

``--quick`` runs 5 nights and one initial night (a smoke run, about 7 minutes). Figures are
appended to bench/out/results.jsonl.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, child_env, machine, python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 nights, one initial run")
    args = parser.parse_args()
    nights = ["--nights", "5", "--initial-repeats", "1"] if args.quick else []
    ratios = ["--households", "20000", "--incremental", "2"] if args.quick else []
    steps = [("ratios", ratios), ("county", []), ("nights", nights), ("accuracy", []), ("linkage_vs_splink", []), ("scaling", []),
             ("febrl", [])]
    print(f"machine: {machine()}")
    for name, extra in steps:
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        subprocess.run([python(), str(ROOT / "bench" / f"{name}.py"), *extra], cwd=ROOT, env=child_env(), check=True)
        print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
