"""How time grows with the county: register linkage (hearth and Splink) and a full initial
night at 1×, 2× and 4× a base size; draws ``docs/scaling.png``.

    uv run python bench/scaling.py [--base 87500]

The base is 87 500 households (a quarter of the benchmark county), so 4× is the full
county (reused from ``bench/out/county`` when it is there). Each measurement runs in its
own process. Target: time at 2× ≤ 2.2 × time at 1×.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import COUNTY, COUNTY_DAYS, COUNTY_HOUSEHOLDS, OUT, ROOT, python, record, run_measured
from county import generate
from linkage_vs_splink import prepare_inputs
from nights import deliveries, reset, run_one, stage_seconds

FACTORS = (1, 2, 4)
DAYS = 2  # the initial night is all that is timed; two deliveries keep generation short


def county_for(households: int, folder: Path) -> Path:
    if households == COUNTY_HOUSEHOLDS and (COUNTY / "landing").is_dir():
        return COUNTY
    if not (folder / "landing").is_dir():
        generate(folder, households=households, days=min(DAYS, COUNTY_DAYS))
    return folder


def measure(households: int, work: Path) -> dict[str, float | int]:
    county = county_for(households, work / "county")
    inputs = work / "linkage"
    prepared = prepare_inputs(county, inputs)
    row: dict[str, float | int] = {"households": households, "health": int(prepared["health"]),  # type: ignore[call-overload]
                                   "school": int(prepared["school"])}  # type: ignore[call-overload]
    for engine in ("hearth", "splink"):
        _, peak, stdout = run_measured([python(), str(ROOT / "bench" / "linkage_vs_splink.py"),
                                        "--engine", engine, "--inputs", str(inputs)])
        figures = json.loads(stdout.strip().splitlines()[-1])
        row[f"{engine}_link_s"] = float(figures["seconds"])
        row[f"{engine}_peak_mb"] = round(peak)
        if engine == "hearth":
            row["candidate_pairs"] = int(figures["candidate_pairs"])
    landing = county / "landing"
    first = deliveries(landing)[0]
    warehouse_file = reset(work / "night")
    wall, peak = run_one(first, landing, warehouse_file)
    row["initial_night_s"] = round(wall, 2)
    row["initial_night_link_s"] = stage_seconds(warehouse_file)[first.isoformat()].get("link", 0.0)
    row["initial_night_peak_mb"] = round(peak)
    return row


def draw(rows: list[dict[str, float | int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [float(r["households"]) / 1000 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for key, label, style in (("initial_night_s", "hearth: whole initial night (hearth run)", "o-"),
                              ("hearth_link_s", "hearth: register linkage", "s-"),
                              ("splink_link_s", "Splink 5 (DuckDB): register linkage", "^--")):
        y = [float(r[key]) for r in rows]
        ax.plot(x, y, style, label=label)
        ax.plot(x, [y[0] * v / x[0] for v in x], ":", color=ax.lines[-1].get_color(), alpha=0.5, linewidth=1)
    ax.set_xlabel("households (thousands); children ≈ half the households")
    ax.set_ylabel("seconds")
    ax.set_title("hearth scaling on the synthetic county (dotted: linear from 1×)")
    ax.set_xticks(x)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=COUNTY_HOUSEHOLDS // 4, help="households at 1×")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "scaling.png")
    args = parser.parse_args()
    rows = []
    print(f"{'size':<5}{'households':>11}{'pairs':>10}{'hearth link s':>15}{'Splink s':>10}{'initial night s':>17}{'night peak MB':>15}")
    for factor in FACTORS:
        work = OUT / "scaling" / f"{factor}x"
        row = measure(args.base * factor, work)
        row["factor"] = factor
        rows.append(row)
        print(f"{factor}×{row['households']:>14,}{row['candidate_pairs']:>10,}{row['hearth_link_s']:>15.2f}"
              f"{row['splink_link_s']:>10.2f}{row['initial_night_s']:>17.1f}{row['initial_night_peak_mb']:>15,}", flush=True)
        shutil.rmtree(work / "night", ignore_errors=True)
    ratios = {key: round(float(rows[1][key]) / float(rows[0][key]), 2)
              for key in ("hearth_link_s", "splink_link_s", "initial_night_s")}
    ratios4 = {key: round(float(rows[2][key]) / float(rows[0][key]), 2)
               for key in ("hearth_link_s", "splink_link_s", "initial_night_s")}
    print(f"time at 2× / time at 1× (target ≤ 2.2): hearth linkage {ratios['hearth_link_s']}, "
          f"initial night {ratios['initial_night_s']}, Splink {ratios['splink_link_s']}")
    print(f"time at 4× / time at 1×: hearth linkage {ratios4['hearth_link_s']}, initial night "
          f"{ratios4['initial_night_s']}, Splink {ratios4['splink_link_s']}")
    draw(rows, args.plot)
    print(f"plot: {args.plot}")
    record("scaling", {"rows": rows, "ratio_2x": ratios, "ratio_4x": ratios4})


if __name__ == "__main__":
    main()
