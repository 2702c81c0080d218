"""Register-child linkage: hearth against Splink 5 (DuckDB) on the same standardised records.

    uv run python bench/linkage_vs_splink.py [--county bench/out/county]

1. Reads the first delivery holding both register snapshots from the county's landing
   folder, validates it as a night would, and standardises both registers with
   ``pipeline.link.standardise`` (the same records go to both engines).
2. Runs each engine in its own process, so each peak RSS is its own:
   - hearth: ``score_pairs("register_child", …)`` (blocking, comparisons, u sampling, EM,
     decisions) and ``cluster_records`` (guards) — what ``link_people`` does for registers;
   - Splink 5 with the DuckDB backend, the same blocking passes, comparison levels, prior,
     2 M u-sampling pairs and two EM sessions (blocked on date of birth; on forename + surname).
3. Scores each engine's health × school pairs against the generator's truth
   (``truth/register_records.parquet``: record → person).

Splink's pairs are its predictions at match probability ≥ 0.95 (hearth's match threshold).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import COUNTY, OUT, peak_rss_mb_self, python, record, run_measured

MATCH_THRESHOLD = 0.95
U_SAMPLE_PAIRS = 2_000_000
SPLINK_COLUMNS = (
    "record_id", "forename_std", "forename_canon", "forename_meta", "surname_std", "surname_meta",
    "surname_parts", "surname_part_metas", "dob", "dob_swapped", "gender", "postcode",
    "postcode_sector", "uprn", "address_key", "house_number", "street",
)


# ---- inputs --------------------------------------------------------------------------------


def register_delivery(landing: Path) -> date:
    """The first delivery date carrying both register snapshots."""
    for day_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        names = {f.stem for f in day_dir.iterdir()}
        if {"health_register", "school_census"} <= names:
            return date.fromisoformat(day_dir.name)
    raise SystemExit(f"no delivery in {landing} holds both register snapshots")


def prepare_inputs(county: Path, out: Path) -> dict[str, object]:
    """Validate and standardise both registers of one delivery; write them and the truth pairs."""
    from pipeline.config import load_settings
    from pipeline.ingest.delivery import Delivery, read_delivery
    from pipeline.link.standardise import standardise_people
    from pipeline.validate.checks import ValidationContext, validate_delivery

    landing = county / "landing"
    day = register_delivery(landing)
    delivery = read_delivery(landing, day)
    registers = {s: f for s, f in delivery.files.items() if s in ("health_register", "school_census")}
    settings = load_settings(landing_dir=landing)
    vctx = ValidationContext.from_settings(settings.ingest, run_date=day, expectations_dir=settings.expectations_dir)
    staged = validate_delivery(Delivery(day, registers, []), vctx).staged
    out.mkdir(parents=True, exist_ok=True)
    frames = {}
    for source, name in (("health_register", "health"), ("school_census", "school")):
        std = standardise_people(staged[source], source=source).unique("record_id", keep="first", maintain_order=True)
        std.write_parquet(out / f"{name}.parquet")
        frames[name] = std
    truth = true_pairs(county / "truth", frames["health"], frames["school"])
    truth.write_parquet(out / "truth_pairs.parquet")
    return {"delivery": day.isoformat(), "health": frames["health"].height, "school": frames["school"].height,
            "true_pairs": truth.height}


def true_pairs(truth_dir: Path, health: pl.DataFrame, school: pl.DataFrame) -> pl.DataFrame:
    """Every (health record, school record) pair of one child, among the records staged."""
    from pipeline.synth.accuracy import record_people

    people = record_people(pl.read_parquet(truth_dir / "register_records.parquet"))
    h = health.select("record_id").join(people, on="record_id")
    s = school.select("record_id").join(people, on="record_id")
    return h.join(s, on="person_uid", suffix="_s").select(left_id="record_id", right_id="record_id_s").unique()


# ---- the engines (each runs in its own process) --------------------------------------------


def run_hearth(inputs: Path) -> dict[str, object]:
    from pipeline.config import LinkageSettings
    from pipeline.link.linkage import REGISTER_PASSES, cluster_records, score_pairs

    health = pl.read_parquet(inputs / "health.parquet")
    school = pl.read_parquet(inputs / "school.parquet")
    settings = LinkageSettings()  # type: ignore[call-arg]
    started = time.perf_counter()
    decisions = score_pairs("register_child", health, school, REGISTER_PASSES, settings).decisions
    nodes = pl.concat([
        health.select("record_id", "source", "nhs_number", upn=pl.lit(None, pl.String)),
        school.select("record_id", "source", nhs_number=pl.lit(None, pl.String), upn="upn"),
    ]).with_columns(incident_id=pl.lit(None, pl.String), kind=pl.lit("register"))
    nodes, decisions = cluster_records(nodes, decisions)
    seconds = time.perf_counter() - started
    comp = nodes.select("record_id", "source", "component")
    found = (
        comp.filter(pl.col("source") == "health_register")
        .join(comp.filter(pl.col("source") == "school_census"), on="component", suffix="_s")
        .select(left_id="record_id", right_id="record_id_s")
    )
    found.write_parquet(inputs / "found_hearth.parquet")
    return {"engine": "hearth", "seconds": round(seconds, 2), "candidate_pairs": decisions.height,
            "review_pairs": int((decisions["decision"] == "review").sum())}


def splink_settings(n_left: int, n_right: int):  # type: ignore[no-untyped-def]
    """Splink settings mirroring hearth's register passes and comparison levels."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def name(col: str, key: str, *, forename: bool) -> object:
        second = cll.ExactMatchLevel(key) if forename else cll.ArrayIntersectLevel("surname_parts", 1)
        fuzzy = (cll.JaroWinklerLevel(col, 0.80) if forename
                 else cll.Or(cll.JaroWinklerLevel(col, 0.80), cll.ExactMatchLevel(key)))
        return cl.CustomComparison(
            output_column_name="forename" if forename else "surname",
            comparison_levels=[cll.NullLevel(col), cll.ExactMatchLevel(col), second,
                               cll.JaroWinklerLevel(col, 0.92), fuzzy, cll.ElseLevel()],
        )

    same = "(year(dob_l) = year(dob_r))::int + (month(dob_l) = month(dob_r))::int + (day(dob_l) = day(dob_r))::int"
    dob = cl.CustomComparison(output_column_name="dob", comparison_levels=[
        cll.NullLevel("dob"), cll.ExactMatchLevel("dob"),
        cll.CustomLevel("dob_swapped_l = dob_r", "day and month swapped"),
        cll.CustomLevel(f"{same} >= 2", "one of day/month/year differs"), cll.ElseLevel(),
    ])
    sector = "postcode_sector_l = postcode_sector_r"
    location = cl.CustomComparison(output_column_name="location", comparison_levels=[
        cll.CustomLevel("(postcode_l IS NULL AND uprn_l IS NULL) OR (postcode_r IS NULL AND uprn_r IS NULL)")
        .configure(is_null_level=True),
        cll.CustomLevel(f"uprn_l = uprn_r OR (address_key_l = address_key_r AND {sector})", "same uprn/address"),
        cll.CustomLevel(
            f"postcode_l = postcode_r OR (house_number_l = house_number_r AND {sector} "
            "AND jaro_winkler_similarity(street_l, street_r) >= 0.85)", "same postcode / near address"),
        cll.CustomLevel(sector, "same sector"), cll.ElseLevel(),
    ])
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="record_id",
        probability_two_random_records_match=1 / max(n_left, n_right, 1),
        comparisons=[name("forename_std", "forename_canon", forename=True),
                     name("surname_std", "surname_meta", forename=False), dob, location, cl.ExactMatch("gender")],
        blocking_rules_to_generate_predictions=[
            block_on("uprn"),
            block_on("postcode", "dob"),
            block_on("dob", "surname_part_metas", arrays_to_explode=["surname_part_metas"]),
            "l.dob_swapped = r.dob AND l.surname_meta = r.surname_meta",
            block_on("dob", "forename_meta"),
            block_on("postcode", "surname_part_metas", arrays_to_explode=["surname_part_metas"]),
            block_on("postcode_sector", "address_key"),
            block_on("forename_canon", "surname_meta", "postcode_sector"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def splink_predict(health: pl.DataFrame, school: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    """Splink's scored pairs at match probability ≥ 0.5, as ``(left_id, right_id,
    match_probability)`` with the health record on the left, and the seconds Splink took
    (training and prediction). Inputs are standardised register frames."""
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    health = health.select(SPLINK_COLUMNS)
    school = school.select(SPLINK_COLUMNS)
    started = time.perf_counter()
    db_api = DuckDBAPI()
    left = db_api.register(health.to_arrow(), dataset_display_name="health")
    right = db_api.register(school.to_arrow(), dataset_display_name="school")
    linker = Linker([left, right], splink_settings(health.height, school.height), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=20_241_105)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    # Splink's usual second session: blocked on names, so dob and location are estimated
    # among pairs where siblings (same surname and address, other forename) are absent.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("forename_canon", "surname_meta"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    rel = predictions.as_duckdbpyrelation()
    scored = pl.from_arrow(rel.select("record_id_l", "record_id_r", "match_probability").arrow())
    seconds = time.perf_counter() - started
    assert isinstance(scored, pl.DataFrame)
    health_left = pl.col("record_id_l").str.starts_with("health")
    return scored.select(
        left_id=pl.when(health_left).then("record_id_l").otherwise("record_id_r"),
        right_id=pl.when(health_left).then("record_id_r").otherwise("record_id_l"),
        match_probability="match_probability",
    ), seconds


def run_splink(inputs: Path) -> dict[str, object]:
    health = pl.read_parquet(inputs / "health.parquet")
    school = pl.read_parquet(inputs / "school.parquet")
    scored, seconds = splink_predict(health, school)
    found = scored.filter(pl.col("match_probability") >= MATCH_THRESHOLD).select("left_id", "right_id")
    found.write_parquet(inputs / "found_splink.parquet")
    return {"engine": "splink", "seconds": round(seconds, 2), "pairs_over_half": scored.height}


# ---- the driver ----------------------------------------------------------------------------


def compare(county: Path, out: Path) -> dict[str, object]:
    from pipeline.synth.accuracy import pair_quality

    t0 = time.perf_counter()
    prepared = prepare_inputs(county, out)
    print(f"inputs: delivery {prepared['delivery']}: {prepared['health']:,} health × {prepared['school']:,} school "
          f"records, {prepared['true_pairs']:,} true pairs (prepared in {time.perf_counter() - t0:.1f} s)")
    truth = pl.read_parquet(out / "truth_pairs.parquet")
    results: dict[str, dict[str, object]] = {}
    for engine in ("hearth", "splink"):
        wall, peak, stdout = run_measured([python(), __file__, "--engine", engine, "--inputs", str(out)])
        figures = json.loads(stdout.strip().splitlines()[-1])
        found = pl.read_parquet(out / f"found_{engine}.parquet")
        figures |= pair_quality(found, truth) | {"process_seconds": round(wall, 1), "peak_rss_mb": round(peak)}
        results[engine] = figures
        extra = (f", {figures['candidate_pairs']:,} candidate pairs = "
                 f"{int(figures['candidate_pairs']) / float(figures['seconds']):,.0f} pairs/s") if engine == "hearth" else ""
        print(f"{engine:>7}: linkage {figures['seconds']} s (process {wall:.1f} s), peak RSS {peak:,.0f} MB; "
              f"precision {figures['precision']:.4f}, recall {figures['recall']:.4f}, F1 {figures['f1']:.4f}{extra}")
    ratio = float(results["hearth"]["seconds"]) / float(results["splink"]["seconds"])  # type: ignore[arg-type]
    print(f"hearth/Splink time ratio: {ratio:.2f} (target ≤ 1.0); F1 hearth {results['hearth']['f1']} vs "
          f"Splink {results['splink']['f1']} (target hearth ≥ Splink)")
    summary = {"inputs": prepared, **results, "time_ratio": round(ratio, 3)}
    record("linkage_vs_splink", summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--county", type=Path, default=COUNTY)
    parser.add_argument("--out", type=Path, default=OUT / "linkage")
    parser.add_argument("--engine", choices=("hearth", "splink"), help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.engine:
        figures = run_hearth(args.inputs) if args.engine == "hearth" else run_splink(args.inputs)
        figures["peak_rss_mb_self"] = round(peak_rss_mb_self())
        print(json.dumps(figures))
        return
    if not (args.county / "landing").is_dir():
        raise SystemExit(f"{args.county}/landing not found: run bench/county.py first")
    compare(args.county, args.out)


if __name__ == "__main__":
    main()
