"""Linkage and flag accuracy on the synthetic county, against the generator's truth.

    uv run python bench/accuracy.py [--county bench/out/county] [--warehouse bench/out/nights/warehouse.duckdb]

Reads the warehouse that ``bench/nights.py`` built (every night run in order) and, for the
last night it holds (list date D), compares with ``<county>/truth``:

- register-to-register child links: the (health record, school record) pairs that share a
  ``child_id`` in ``linked.child_xref`` vs the pairs of one person in the D snapshots;
  precision and recall (target ≥ 99.5 % each);
- twins merged: twin groups whose members ended up in one child (target 0);
- police child nominals on current incidents whose person the registers hold, linked to
  that child's register ``child_id`` in ``linked.person_links`` (target ≥ 98 %);
- flags: truly at-risk children = every child living in the household of a victim or
  suspect of an incident reported in the 365 days up to D (Europe/London date) and
  delivered by D, where a register holds the child at that address (the register address
  is not stale on D). Recall = those flagged in ``marts.child_flags`` on D (target
  ≥ 99.5 %); precision = flagged children whose person is at risk (register-held or not) /
  flagged children (target ≥ 98 %).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import COUNTY, OUT, record
from linkage_vs_splink import pair_quality, record_people

TARGETS = {"link_precision": 0.995, "link_recall": 0.995, "twins_merged": 0, "police_child_linked": 0.98,
           "flag_recall": 0.995, "flag_precision": 0.98}
LOOKBACK_DAYS = 365


def read_warehouse(path: Path) -> tuple[date, dict[str, pl.DataFrame]]:
    from pipeline import warehouse

    with warehouse.open_reader(path) as wh:
        day = wh.fetch("SELECT max(list_date) FROM marts.child_flags")[0][0]
        frames = {
            "xref": wh.frame("SELECT record_id, child_id FROM linked.child_xref WHERE as_of = $d", {"d": day}),
            "person_links": wh.frame(
                "SELECT incident_id, person_ref, role, child_id FROM linked.person_links WHERE as_of = $d", {"d": day}),
            "flags": wh.frame("SELECT child_id FROM marts.child_flags WHERE list_date = $d", {"d": day}),
            # Every suspect put to the MASH discussion as "home unknown", on any list so far.
            "follow_ups": wh.frame(
                "SELECT DISTINCT f AS follow_up FROM marts.mash_list, unnest(follow_ups) AS t(f) "
                "WHERE list_date <= $d", {"d": day}),
            # … and every suspect with no known home, listed household or not (for police).
            "unlocated": wh.frame(
                "SELECT DISTINCT incident_id, person_ref FROM marts.unlocated_suspects WHERE list_date <= $d",
                {"d": day}),
            "addressless": wh.frame(
                "SELECT DISTINCT incident_id, person_ref, true AS addressless FROM staging.police_person_versions "
                "WHERE postcode IS NULL AND address_line1 IS NULL AND uprn IS NULL"),
            "staged": wh.frame(
                "SELECT 'health_register:' || regexp_replace(nhs_number, '\\D', '', 'g') AS record_id "
                "FROM staging.health_register_snapshots WHERE snapshot_date = "
                "(SELECT max(snapshot_date) FROM staging.health_register_snapshots WHERE snapshot_date <= $d) "
                "UNION ALL SELECT 'school_census:' || upper(replace(upn, ' ', '')) FROM staging.school_census_snapshots "
                "WHERE snapshot_date = (SELECT max(snapshot_date) FROM staging.school_census_snapshots "
                "WHERE snapshot_date <= $d)", {"d": day}),
        }
    return day, frames


def register_links(frames: dict[str, pl.DataFrame], people: pl.DataFrame) -> dict[str, float | int]:
    """Precision/recall of health × school pairs sharing a child, over the D snapshots."""
    staged = frames["staged"].join(people, on="record_id")
    truth = (
        staged.filter(pl.col("record_id").str.starts_with("health"))
        .join(staged.filter(pl.col("record_id").str.starts_with("school")), on="person_uid", suffix="_s")
        .select(left_id="record_id", right_id="record_id_s")
    )
    xref = frames["xref"]
    found = (
        xref.filter(pl.col("record_id").str.starts_with("health"))
        .join(xref.filter(pl.col("record_id").str.starts_with("school")), on="child_id", suffix="_s")
        .select(left_id="record_id", right_id="record_id_s")
    )
    return pair_quality(found, truth)


def twins_merged(frames: dict[str, pl.DataFrame], people: pl.DataFrame, truth_people: pl.DataFrame) -> dict[str, int]:
    twins = truth_people.filter(pl.col("twin_group").is_not_null()).select("person_uid", "twin_group")
    of_twin = frames["xref"].join(people, on="record_id").join(twins, on="person_uid")
    merged = of_twin.group_by("twin_group", "child_id").agg(pl.col("person_uid").n_unique().alias("n")).filter(pl.col("n") > 1)
    return {"twin_groups": twins["twin_group"].n_unique(), "twin_groups_merged": merged["twin_group"].n_unique()}


def police_children(frames: dict[str, pl.DataFrame], people: pl.DataFrame, truth_dir: Path) -> dict[str, float | int]:
    """Police child nominals whose person the registers hold: linked to that person's child?"""
    nominals = pl.read_parquet(truth_dir / "police_persons.parquet").filter(pl.col("role") == "child")
    register_child = frames["xref"].join(frames["staged"], on="record_id").join(people, on="record_id").select(
        "person_uid", register_child_id="child_id").unique()
    eligible = (
        frames["person_links"].filter(pl.col("role") == "child")
        .join(nominals.select("incident_id", "person_ref", "person_uid"), on=["incident_id", "person_ref"])
        .join(register_child, on="person_uid")
    )
    right = eligible.group_by("incident_id", "person_ref").agg(
        (pl.col("child_id") == pl.col("register_child_id")).fill_null(False).any().alias("ok"))
    linked = int(right["ok"].sum())
    return {"police_children_on_register": right.height, "linked_to_right_child": linked,
            "police_child_linked": round(linked / max(right.height, 1), 5)}


def at_risk(truth_dir: Path, day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every at-risk child person_uid, those the registers hold at that address on ``day``)."""
    incidents = pl.read_parquet(truth_dir / "incidents.parquet").with_columns(
        reported=pl.col("reported_at").dt.convert_time_zone("Europe/London").dt.date())
    live = incidents.filter(
        (pl.col("first_delivery") <= day) & (pl.col("reported") <= day)
        & (pl.col("reported") >= day - timedelta(days=LOOKBACK_DAYS))
    )
    homes = pl.concat([live.select(h="victim_household_uid"), live.select(h="suspect_household_uid")]).drop_nulls().unique()
    people = pl.read_parquet(truth_dir / "people.parquet").filter(pl.col("is_child"))
    children = people.join(homes, left_on="household_uid", right_on="h").select("person_uid", "household_uid")
    households = pl.read_parquet(truth_dir / "households.parquet").select(
        "household_uid",
        stale=pl.col("register_address_stale").fill_null(False)
        & (pl.col("register_address_fixed_on").is_null() | (pl.col("register_address_fixed_on") > day)),
    )
    return children, children.join(households, on="household_uid").filter(~pl.col("stale"))


def flag_quality(frames: dict[str, pl.DataFrame], people: pl.DataFrame, truth_dir: Path, day: date) -> dict[str, float | int]:
    every, held = at_risk(truth_dir, day)
    on_register = frames["xref"].join(frames["staged"], on="record_id").join(people, on="record_id")
    held = held.join(on_register.select("person_uid").unique(), on="person_uid")
    nominals = pl.read_parquet(truth_dir / "police_persons.parquet").select("incident_id", "person_ref", "person_uid")
    police_of = frames["person_links"].filter(pl.col("child_id").is_not_null()).join(
        nominals, on=["incident_id", "person_ref"]).select("child_id", "person_uid")
    child_person = pl.concat([on_register.select("child_id", "person_uid"), police_of]).unique()
    flagged = frames["flags"].unique()
    flagged_ok = flagged.join(child_person, on="child_id", how="left").group_by("child_id").agg(
        pl.col("person_uid").is_in(every["person_uid"].implode()).any().alias("ok"))
    held_children = held.join(on_register.select("person_uid", "child_id"), on="person_uid")
    caught = held_children.group_by("person_uid").agg(pl.col("child_id").is_in(flagged["child_id"].implode()).any().alias("hit"))
    recall = float(caught["hit"].mean() or 0.0) if caught.height else 1.0
    precision = float(flagged_ok["ok"].mean() or 0.0) if flagged_ok.height else 1.0
    missed = caught.filter(~pl.col("hit")).join(held.select("person_uid", "household_uid").unique(), on="person_uid")
    causes = missed_causes(missed, truth_dir, day, frames["addressless"])
    knowable = caught.height - sum(n for cause, n in causes.items() if cause != "other")
    return {"at_risk_children": every.height, "at_risk_register_held": caught.height,
            "flagged": flagged.height, "flag_recall": round(recall, 5), "flag_precision": round(precision, 5),
            "missed_by_cause": causes,
            "missed_with_suspect_follow_up": followed_up(missed, truth_dir, frames["follow_ups"]),
            "missed_with_suspect_unlocated": followed_up(missed, truth_dir, frames["follow_ups"], frames["unlocated"]),
            "flag_recall_knowable": round((caught.height - missed.height) / max(knowable, 1), 5)}


def followed_up(
    missed: pl.DataFrame, truth_dir: Path, follow_ups: pl.DataFrame, unlocated: pl.DataFrame | None = None
) -> int:
    """Missed children living with a suspect whom a MASH list named as "home unknown"
    (``mash_list.follow_ups``), so the discussion asks police where he lives; with
    ``unlocated``, also those whose suspect is in ``marts.unlocated_suspects``."""
    named = follow_ups.select(
        pl.col("follow_up").str.extract(r"^SUSPECT_HOME_UNKNOWN:(.*)/", 1).alias("incident_id"),
        pl.col("follow_up").str.extract(r"/([^/]*)$", 1).alias("person_ref"),
    ).drop_nulls()
    if unlocated is not None:
        named = pl.concat([named, unlocated.select("incident_id", "person_ref")]).unique()
    incidents = pl.read_parquet(truth_dir / "incidents.parquet").select(
        "incident_id", uid="suspect_uid", household_uid="suspect_household_uid")
    nominals = pl.read_parquet(truth_dir / "police_persons.parquet").select("incident_id", "person_ref", uid="person_uid")
    asked = incidents.join(nominals, on=["incident_id", "uid"]).join(named, on=["incident_id", "person_ref"], how="semi")
    return missed.join(asked.select("household_uid").unique(), on="household_uid", how="semi")["person_uid"].n_unique()


def missed_causes(missed: pl.DataFrame, truth_dir: Path, day: date, addressless: pl.DataFrame) -> dict[str, int]:
    """Why at-risk children were not flagged: the victim's or suspect's person row was
    quarantined (an invalid row on purpose), the suspect has no fixed abode (ZZ99), the
    police recorded no address for the suspect or victim whose home it is (so the delivered
    data cannot reveal it), or something else (a linkage or flag miss)."""
    incidents = pl.read_parquet(truth_dir / "incidents.parquet")
    links = pl.concat([
        incidents.select("incident_id", uid="victim_uid", household_uid="victim_household_uid"),
        incidents.select("incident_id", uid="suspect_uid", household_uid="suspect_household_uid"),
    ])
    nominals = pl.read_parquet(truth_dir / "police_persons.parquet").select(
        "incident_id", "person_ref", uid="person_uid", nfa=pl.col("no_fixed_abode") & (pl.col("role") == "suspect")
    ).join(addressless, on=["incident_id", "person_ref"], how="left")
    invalid = pl.read_parquet(truth_dir / "invalid_rows.parquet").filter(
        (pl.col("source") == "police_persons") & (pl.col("delivery_date") <= day)
    ).select(incident_id=pl.col("record_key").str.split("/").list.first(), uid="person_uid", quarantined=pl.lit(True))
    why = (
        missed.join(links, on="household_uid").join(nominals, on=["incident_id", "uid"], how="left")
        .join(invalid.unique(), on=["incident_id", "uid"], how="left")
        .group_by("person_uid").agg(q=pl.col("quarantined").fill_null(False).any(), nfa=pl.col("nfa").fill_null(False).any(),
                                    na=pl.col("addressless").fill_null(False).any())
        .select(cause=pl.when("q").then(pl.lit("row_quarantined")).when("nfa").then(pl.lit("suspect_no_fixed_abode"))
                .when("na").then(pl.lit("address_not_recorded")).otherwise(pl.lit("other")))
    )
    return dict(why.group_by("cause").len().iter_rows())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--county", type=Path, default=COUNTY)
    parser.add_argument("--warehouse", type=Path, default=OUT / "nights" / "warehouse.duckdb")
    args = parser.parse_args()
    if not args.warehouse.exists():
        raise SystemExit(f"{args.warehouse} not found: run bench/nights.py first")
    truth_dir = args.county / "truth"
    day, frames = read_warehouse(args.warehouse)
    people = record_people(truth_dir)
    truth_people = pl.read_parquet(truth_dir / "people.parquet")
    figures: dict[str, object] = {"list_date": day.isoformat()}
    figures |= register_links(frames, people)
    figures |= twins_merged(frames, people, truth_people)
    figures |= police_children(frames, people, truth_dir)
    figures |= flag_quality(frames, people, truth_dir, day)

    def verdict(name: str, value: float, *, lower: bool = False) -> str:
        ok = value <= TARGETS[name] if lower else value >= TARGETS[name]
        return "meets" if ok else "MISSES"

    print(f"list date {day} (last night in the warehouse)")
    print(f"register child links: precision {figures['precision']:.4f}, recall {figures['recall']:.4f} "
          f"({figures['true_positives']:,} of {figures['pairs_found']:,} found pairs true) — target ≥ 0.995: "
          f"{verdict('link_precision', float(figures['precision']))}/{verdict('link_recall', float(figures['recall']))}")  # type: ignore[arg-type]
    print(f"twins merged: {figures['twin_groups_merged']} of {figures['twin_groups']:,} twin groups — target 0: "
          f"{verdict('twins_merged', float(figures['twin_groups_merged']), lower=True)}")  # type: ignore[arg-type]
    print(f"police child nominals linked to the right register child: {figures['police_child_linked']:.4f} "
          f"({figures['linked_to_right_child']:,} of {figures['police_children_on_register']:,}) — target ≥ 0.98: "
          f"{verdict('police_child_linked', float(figures['police_child_linked']))}")  # type: ignore[arg-type]
    print(f"flags: recall {figures['flag_recall']:.4f} of {figures['at_risk_register_held']:,} register-held at-risk "
          f"children, precision {figures['flag_precision']:.4f} of {figures['flagged']:,} flagged — targets ≥ 0.995 / "
          f"≥ 0.98: {verdict('flag_recall', float(figures['flag_recall']))}/"  # type: ignore[arg-type]
          f"{verdict('flag_precision', float(figures['flag_precision']))}")  # type: ignore[arg-type]
    print(f"  missed at-risk children by cause: {figures['missed_by_cause']}; recall over the children the "
          f"delivered data can reveal: {figures['flag_recall_knowable']:.4f}; missed children whose suspect a "
          f"list named as 'home unknown' (follow-up): {figures['missed_with_suspect_follow_up']}, or who is in "
          f"marts.unlocated_suspects: {figures['missed_with_suspect_unlocated']}")
    record("accuracy", figures)


if __name__ == "__main__":
    main()
