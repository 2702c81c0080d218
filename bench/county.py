"""Generate the benchmark county with the project's generator (``pipeline/synth/county.py``).

    uv run python bench/county.py [--households 350000] [--days 30] [--out bench/out/county] [--without-defects]
                                  [--child-households 0.65]

350 000 households give about 175 000 children per register; the first delivery carries
a year of police history and the registers, then 30 nightly deliveries follow. Prints the
generation time, the rows written per source and the size on disk. ``--without-defects``
writes the kinder county earlier figures were measured on (``NoiseRates.without_defects()``:
no transposed names, multi-typo names, dob typos, bad register fields, wrongly keyed or blank
police home addresses, police postcode typos), to compare like with like.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    COUNTY,
    COUNTY_DAYS,
    COUNTY_HOUSEHOLDS,
    COUNTY_SEED,
    COUNTY_START,
    peak_rss_mb_self,
    record,
)


def generate(
    out: Path, *, households: int, days: int, seed: int = COUNTY_SEED, defects: bool = True,
    child_households: float | None = None,
) -> dict[str, object]:
    """Write a county and return its figures (seconds, children, rows per source, MB)."""
    from pipeline.synth.county import NoiseRates, write_synthetic_county

    noise = NoiseRates() if defects else NoiseRates().without_defects()
    started = time.perf_counter()
    summary = write_synthetic_county(out, households=households, days=days, seed=seed, start_date=COUNTY_START, noise=noise,
                                     child_households=child_households)
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1024**2
    return {
        "households": summary.households, "children": summary.children, "days": days, "defects": defects,
        "deliveries": [d.isoformat() for d in (summary.deliveries[0], summary.deliveries[-1])],
        "rows_written": summary.rows_written, "seconds": round(seconds, 1), "disk_mb": round(size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=COUNTY_HOUSEHOLDS)
    parser.add_argument("--days", type=int, default=COUNTY_DAYS)
    parser.add_argument("--out", type=Path, default=COUNTY)
    parser.add_argument("--without-defects", action="store_true", help="the kinder county, without the defect classes")
    parser.add_argument("--child-households", type=float, default=None,
                        help="share of households with children (default England's, about 0.26); 0.65 gives "
                        "350 000 households over 300 000 children on each register, the memory benchmark's county")
    args = parser.parse_args()
    figures = generate(args.out, households=args.households, days=args.days, defects=not args.without_defects,
                       child_households=args.child_households)
    figures["peak_rss_mb"] = round(peak_rss_mb_self())
    rows = ", ".join(f"{k} {v:,}" for k, v in figures["rows_written"].items())  # type: ignore[attr-defined]
    print(f"county: {figures['households']:,} households, {figures['children']:,} children, {args.days} deliveries "
          f"{figures['deliveries'][0]} … {figures['deliveries'][1]}")  # type: ignore[index]
    print(f"rows written: {rows}; {figures['disk_mb']:,} MB on disk")
    print(f"generation: {figures['seconds']} s, peak RSS {figures['peak_rss_mb']:,} MB")
    record("county", figures)


if __name__ == "__main__":
    main()
