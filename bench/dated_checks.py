"""Time the date checks of unchanged register rows: GX's parameterised suite against the
polars queries that replaced it (``validate._GxRunner.validate_dated``), in one process.

    uv run python bench/dated_checks.py [--county bench/out/county10k] [--scale 1 --scale 20]

Each register of the county's first delivery is prepared as validation prepares it and,
with ``--scale k``, repeated k times (new row numbers) to stand for a larger county. Both
engines run ``--repeats`` times on the same frame; the answers are checked to be the same
(failing rows, counts) before any time is reported. Then the whole of ``validate_delivery``
for the first night that repeats a register snapshot, as the night runs it and with GX
answering everything, alternately. Prints medians and the load average.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import COUNTY, median, record

log = logging.getLogger(__name__)
REGISTERS = ("health_register", "school_census", "early_years", "social_care")


def _answers(document: dict[str, object]) -> dict[str, tuple[object, ...]]:
    out = {}
    for item in document["results"]:  # type: ignore[attr-defined]
        result = item["result"]
        out[item["expectation_config"]["meta"]["rule"]] = (
            item["success"], result["element_count"], result["unexpected_count"], result["missing_count"],
            result["unexpected_index_list"],
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--county", type=Path, default=COUNTY)
    parser.add_argument("--scale", type=int, action="append", help="repeat each register k times (default 1)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from pipeline import schemas
    from pipeline.ingest.delivery import read_delivery
    from pipeline.paths import shipped
    from pipeline.validate.checks import ValidationContext, _gx_runner, prepared_frame

    landing = args.county / "landing"
    first = min(date.fromisoformat(p.name) for p in landing.iterdir() if p.is_dir())
    delivery = read_delivery(landing, first)
    # A few weeks on, so some children have aged out and the checks have rows to report.
    context = ValidationContext(run_date=first + timedelta(days=60))
    parameters = {"run_date": context.run_date.isoformat(), "min_child_dob": context.min_child_dob.isoformat()}
    runner = _gx_runner(shipped("expectations"))
    figures: dict[str, dict[str, float]] = {}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for scale in args.scale or [1]:
        for source in (s for s in schemas.REGISTER_SOURCES if s in delivery.files):
            one = prepared_frame(delivery.files[source].frame, source)
            frame = pl.concat([one.with_columns(pl.col("_row") + i * one.height) for i in range(scale)])
            gx = runner.validate(source, frame, parameters, parameterised_only=True)
            query = runner.validate_dated(source, frame, parameters)
            if _answers(gx) != _answers(query):
                raise SystemExit(f"{source}: the query's answer differs from GX's; not timing it")
            times: dict[str, list[float]] = {"gx": [], "query": []}
            for _ in range(args.repeats):
                started = time.perf_counter()
                runner.validate(source, frame, parameters, parameterised_only=True)
                times["gx"].append(time.perf_counter() - started)
                started = time.perf_counter()
                runner.validate_dated(source, frame, parameters)
                times["query"].append(time.perf_counter() - started)
            gx_s, query_s = median(times["gx"]), median(times["query"])
            figures[f"{source}x{scale}"] = {"rows": frame.height, "gx_s": round(gx_s, 4), "query_s": round(query_s, 4)}
            print(f"{source:<16} {frame.height:>9,} rows   GX {gx_s:7.3f} s   query {query_s:7.3f} s   "
                  f"({gx_s / query_s:5.1f}x)", flush=True)
    night = night_before_and_after(landing, runner, args.repeats)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    record("dated_checks", {"county": str(args.county), "run_date": context.run_date, "registers": figures,
                            "night": night})


def night_before_and_after(landing: Path, runner: Any, repeats: int) -> dict[str, Any]:
    """``validate_delivery`` of the first night that repeats a register snapshot, as the
    night runs it and with GX answering everything (as before the queries), alternately;
    the outcomes must be the same. GX is already imported and its suites loaded."""
    from pipeline.ingest.delivery import read_delivery
    from pipeline.validate.checks import ValidationContext, staged_whole, validate_delivery

    days = sorted(date.fromisoformat(p.name) for p in landing.iterdir() if p.is_dir())
    with_registers = [d for d in days if any(p.stem in REGISTERS for p in (landing / d.isoformat()).iterdir())]
    first, second = with_registers[0], with_registers[1]
    before = read_delivery(landing, first)
    outcome = validate_delivery(before, ValidationContext(run_date=first))
    delivery = read_delivery(landing, second)
    previously = {
        s: (first, before.files[s].frame.filter(pl.col("_row").is_in(staged_whole(outcome, s).implode())))
        for s in REGISTERS if s in before.files and s in delivery.files
    }
    context = ValidationContext(run_date=second, previously_staged=previously)

    def dated_by_gx(source: str, frame: pl.DataFrame, parameters: dict[str, Any]) -> dict[str, Any]:
        document = runner.validate(source, frame, parameters, parameterised_only=True)
        rules = [r["expectation_config"]["meta"].get("rule") for r in document["results"]]
        return {**document, "evaluated_by": {"great_expectations": rules}}

    def all_by_gx() -> Any:
        runner.validate_dated = dated_by_gx
        runner.validate_changed = runner.validate
        try:
            return validate_delivery(delivery, context)
        finally:
            del runner.validate_dated, runner.validate_changed

    times: dict[str, list[float]] = {"gx": [], "query": []}
    outcomes = {}
    for _ in range(repeats):
        for name, run in (("gx", all_by_gx), ("query", lambda: validate_delivery(delivery, context))):
            started = time.perf_counter()
            outcomes[name] = run()
            times[name].append(time.perf_counter() - started)
    gx, query = outcomes["gx"], outcomes["query"]
    counts = ["source", "expectation", "column_name", "success", "element_count", "unexpected_count"]
    if not (all(gx.staged[s].equals(query.staged[s]) for s in gx.staged) and gx.quarantine.equals(query.quarantine)
            and gx.field_defects.equals(query.field_defects)
            and gx.dq_results.select(counts).sort(counts).equals(query.dq_results.select(counts).sort(counts))):
        raise SystemExit(f"validating {second}: the outcomes differ; not timing them")
    figures = {"delivery": second, "unchanged_of": first, "gx_s": median(times["gx"]), "query_s": median(times["query"])}
    print(f"validate_delivery of {second} (registers repeated from {first}): all by GX {figures['gx_s']:.2f} s, "
          f"as the night runs it {figures['query_s']:.2f} s (medians of {repeats})")
    return figures


if __name__ == "__main__":
    main()
