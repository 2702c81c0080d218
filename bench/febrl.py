"""FEBRL4, public data hearth did not generate: hearth against Splink 5 on the same files.

    uv run python bench/febrl.py [--out bench/out/febrl]

1. Recasts FEBRL4 (``pipeline.synth.febrl``) as one night's health register (set A) and school
   census (set B), writes the CSV delivery, and reads and validates it with hearth's real
   reader and validate stage. Rows lacking a required field, or with a date of birth that is
   not a real date or not a child's, are quarantined as a night would quarantine them.
2. Runs each engine in its own process on the staged rows, so each peak RSS is its own:
   - hearth: ``link_people`` in full (standardise, blocking, comparisons, u sampling, EM,
     decisions, ambiguity and guards, review queue);
   - Splink 5 with the DuckDB backend and the settings of ``linkage_vs_splink.py``.
3. Scores both against FEBRL's truth (rec-N-org ↔ rec-N-dup-0) over every true pair, over
   the pairs whose records carry every required field, and over the pairs whose records
   were both staged ("eligible"), and breaks hearth's missed eligible pairs down by why.

A pair is linked by Splink at match probability ≥ 0.95 and queued for review at 0.50–0.95,
hearth's two thresholds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, peak_rss_mb_self, python, record, run_measured
from linkage_vs_splink import MATCH_THRESHOLD, splink_predict

from pipeline.synth.accuracy import pair_quality

LEVELS = ("forename", "surname", "dob", "location")
REVIEW_THRESHOLD = 0.50


# ---- inputs --------------------------------------------------------------------------------


def prepare_inputs(out: Path) -> dict[str, object]:
    """Recast, deliver, read and validate FEBRL4; write staged, standardised and truth frames."""
    from pipeline.link.standardise import standardise_people
    from pipeline.synth import febrl

    recast = febrl.recast_febrl4()
    febrl.write_febrl4_delivery(recast, out / "landing")
    staged = febrl.stage_febrl4(out / "landing", recast.delivery_date)
    staged.health.write_parquet(out / "staged_health.parquet")
    staged.school.write_parquet(out / "staged_school.parquet")
    for name, frame, source in (("health", staged.health, "health_register"), ("school", staged.school, "school_census")):
        std = standardise_people(frame, source=source).unique("record_id", keep="first", maintain_order=True)  # type: ignore[arg-type]
        std.write_parquet(out / f"{name}.parquet")
    recast.truth.write_parquet(out / "truth.parquet")
    eligible = febrl.eligible_pairs(recast.truth, staged)
    eligible.write_parquet(out / "eligible.parquet")
    return {
        "delivery": recast.delivery_date.isoformat(),
        "records": {"health": recast.health.height, "school": recast.school.height},
        "lacking_required_field": recast.incomplete_records(),
        "staged": {"health": staged.health.height, "school": staged.school.height},
        "quarantine_reasons": quarantine_reasons(staged.quarantine),
        "true_pairs": recast.truth.height,
        "complete_pairs": int(recast.truth["complete"].sum()),
        "eligible_pairs": eligible.height,
    }


def quarantine_reasons(quarantine: pl.DataFrame) -> dict[str, int]:
    """Quarantined rows per source and first reason's kind (column and rule, no values)."""
    kinds = quarantine.select(
        "source",
        kind=pl.col("reasons").list.first().str.replace(r"'[^']*'", "…").str.replace(r"\(run date.*$|before \S+: ", ""),
    )
    counted = kinds.group_by("source", "kind").len().sort("source", "len", descending=[False, True])
    return {f"{s}: {k.strip()}": n for s, k, n in counted.iter_rows()}


# ---- the engines (each runs in its own process) --------------------------------------------


def run_hearth(inputs: Path) -> dict[str, object]:
    from pipeline import schemas
    from pipeline.config import LinkageSettings
    from pipeline.synth import febrl

    staged = febrl.StagedFebrl(
        delivery_date=febrl.DELIVERY_DATE,
        health=pl.read_parquet(inputs / "staged_health.parquet"),
        school=pl.read_parquet(inputs / "staged_school.parquet"),
        quarantine=schemas.empty(schemas.QUARANTINE),
        counts={},
        field_defects=schemas.empty(schemas.FIELD_DEFECTS),
    )
    started = time.perf_counter()
    result = febrl.link_febrl4(staged, LinkageSettings())  # type: ignore[call-arg]
    seconds = time.perf_counter() - started
    febrl.linked_pairs(result.children).write_parquet(inputs / "found_hearth.parquet")
    decisions = result.decisions.filter(pl.col("link_type") == "register_child")
    decisions.write_parquet(inputs / "decisions_hearth.parquet")
    return {"engine": "hearth", "seconds": round(seconds, 2), "candidate_pairs": decisions.height,
            "review_pairs": int((decisions["decision"] == "review").sum())}


def run_splink(inputs: Path) -> dict[str, object]:
    scored, seconds = splink_predict(pl.read_parquet(inputs / "health.parquet"), pl.read_parquet(inputs / "school.parquet"))
    found = scored.filter(pl.col("match_probability") >= MATCH_THRESHOLD).select("left_id", "right_id")
    found.write_parquet(inputs / "found_splink.parquet")
    review = scored.filter(pl.col("match_probability").is_between(REVIEW_THRESHOLD, MATCH_THRESHOLD, closed="left"))
    return {"engine": "splink", "seconds": round(seconds, 2), "pairs_over_half": scored.height, "review_pairs": review.height}


# ---- why hearth missed a pair --------------------------------------------------------------


def missed_breakdown(
    found: pl.DataFrame, decisions: pl.DataFrame, eligible: pl.DataFrame, health: pl.DataFrame, school: pl.DataFrame,
) -> dict[str, object]:
    """Eligible true pairs hearth did not link: by final decision (or never a candidate);
    for those waiting in review, the comparison levels that kept them there and how many the
    model alone would have matched; and how many have forename and surname transposed."""
    missed = eligible.select("left_id", "right_id").join(found, on=["left_id", "right_id"], how="anti")
    why = missed.join(decisions, on=["left_id", "right_id"], how="left").with_columns(
        # Blocking never proposed it, or the model scored it under the audit floor (such
        # pairs are counted, not kept: docs/linkage.md).
        decision=pl.col("decision").fill_null("not_a_candidate_or_under_the_audit_floor")
    )
    by_decision = dict(why.group_by("decision").len().sort("len", descending=True).iter_rows())
    review = why.filter(pl.col("decision") == "review").with_columns(
        pl.col("scores").str.json_decode(pl.Struct({c: pl.Int8 for c in LEVELS})).struct.unnest()
    )
    per_level = {
        c: {str(k): v for k, v in review.group_by(c).len().sort(c).iter_rows()} for c in LEVELS
    }
    patterns = (
        review.group_by(LEVELS).len().sort("len", descending=True).head(12)
        .select(pattern=pl.format("forename {} surname {} dob {} location {}", *LEVELS), n=pl.col("len"))
    )
    names = ["record_id", "forename_std", "surname_std"]
    transposed = (
        why.join(health.select(names).rename({"record_id": "left_id"}), on="left_id")
        .join(school.select(names).rename({"record_id": "right_id"}), on="right_id", suffix="_s")
        .filter((pl.col("forename_std") == pl.col("surname_std_s")) & (pl.col("surname_std") == pl.col("forename_std_s")))
    )
    return {
        "missed": missed.height,
        "by_decision": by_decision,
        "review_over_match_threshold": int((review["probability"] >= MATCH_THRESHOLD).sum()),
        "names_transposed": dict(transposed.group_by("decision").len().sort("decision").iter_rows()),
        "review_levels": per_level,
        "review_patterns": dict(patterns.iter_rows()),
    }


def print_breakdown(breakdown: dict[str, object]) -> None:
    print(f"hearth missed {breakdown['missed']:,} eligible true pairs; final decision: "
          + ", ".join(f"{k} {v:,}" for k, v in breakdown["by_decision"].items()))  # type: ignore[attr-defined]
    print(f"  {breakdown['review_over_match_threshold']:,} of the review pairs have probability ≥ {MATCH_THRESHOLD} "
          "(held back by a guard); forename and surname transposed among the missed: "
          f"{breakdown['names_transposed']}")
    print("  review pairs by level (names 4 exact…; dob 4 exact; location 9/8 same address, 7/6 same postcode, "
          "odd levels with the locality agreeing; -1 missing):")
    for level, counts in breakdown["review_levels"].items():  # type: ignore[attr-defined]
        print(f"    {level:>8}: " + ", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    print("  commonest review patterns:")
    for pattern, n in breakdown["review_patterns"].items():  # type: ignore[attr-defined]
        print(f"    {n:>5,}  {pattern}")


# ---- the driver ----------------------------------------------------------------------------


def compare(out: Path) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    prepared = prepare_inputs(out)
    print(f"FEBRL4 recast, delivered {prepared['delivery']}: {prepared['records']} records, staged {prepared['staged']} "
          f"(prepared in {time.perf_counter() - t0:.1f} s)")
    print(f"  lacking a required field: {prepared['lacking_required_field']}; quarantined: {prepared['quarantine_reasons']}")
    print(f"  true pairs {prepared['true_pairs']:,}; both records complete {prepared['complete_pairs']:,}; "
          f"both staged (eligible) {prepared['eligible_pairs']:,}")
    truths = {"all": pl.read_parquet(out / "truth.parquet"),
              "complete": pl.read_parquet(out / "truth.parquet").filter("complete"),
              "eligible": pl.read_parquet(out / "eligible.parquet")}
    results: dict[str, dict[str, object]] = {}
    for engine in ("hearth", "splink"):
        wall, peak, stdout = run_measured([python(), __file__, "--engine", engine, "--inputs", str(out)])
        figures = json.loads(stdout.strip().splitlines()[-1])
        found = pl.read_parquet(out / f"found_{engine}.parquet")
        quality = {name: pair_quality(found, truth) for name, truth in truths.items()}
        linked = int(quality["all"]["pairs_found"])
        figures |= {"quality": quality, "review_share": round(int(figures["review_pairs"]) / max(linked, 1), 4),
                    "process_seconds": round(wall, 1), "peak_rss_mb": round(peak)}
        results[engine] = figures
        print(f"{engine:>7}: linkage {figures['seconds']} s (process {wall:.1f} s), peak RSS {peak:,.0f} MB; "
              f"{linked:,} pairs linked, review queue {figures['review_pairs']:,} ({figures['review_share']:.1%} of linked)")
        for name, q in quality.items():
            print(f"         over {name:>8} pairs: precision {q['precision']:.4f}, recall {q['recall']:.4f}, F1 {q['f1']:.4f}")
    ratio = float(results["hearth"]["seconds"]) / float(results["splink"]["seconds"])  # type: ignore[arg-type]
    print(f"hearth/Splink time ratio: {ratio:.2f}")
    breakdown = missed_breakdown(
        pl.read_parquet(out / "found_hearth.parquet"), pl.read_parquet(out / "decisions_hearth.parquet"), truths["eligible"],
        pl.read_parquet(out / "health.parquet"), pl.read_parquet(out / "school.parquet"),
    )
    print_breakdown(breakdown)
    summary = {"inputs": prepared, **results, "time_ratio": round(ratio, 3), "hearth_missed": breakdown}
    record("febrl", summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT / "febrl")
    parser.add_argument("--engine", choices=("hearth", "splink"), help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from pipeline.logs import quiet_third_party

    quiet_third_party()
    if args.engine:
        figures = run_hearth(args.inputs) if args.engine == "hearth" else run_splink(args.inputs)
        figures["peak_rss_mb_self"] = round(peak_rss_mb_self())
        print(json.dumps(figures))
        return
    compare(args.out)


if __name__ == "__main__":
    main()
