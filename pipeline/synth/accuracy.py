"""How accurate a warehouse is against the synthetic county's truth (``docs/synthetic-county.md``).

One evaluation, used by the accuracy benchmark (``bench/accuracy.py``) and by the accuracy
floors of the test suite (``tests/e2e/test_accuracy.py``), so the two cannot drift apart.
Entry points: :func:`read_warehouse_view` (what hearth published for one list date D) and
:func:`evaluate` (that view against ``truth/``). Everything else here is pure polars.

Measures, for list date D:

- **register pairs**: (health record, school record) pairs that share a ``child_id`` in
  ``linked.child_xref`` against the pairs of one person among the records the registers
  delivered in their latest snapshot on or before D (truth, so a record hearth rejected is a
  pair missed, not a pair forgotten);
- **twins merged**: twin groups whose members ended up in one child;
- **police children**: police child nominals whose person a register holds, linked to that
  person's register ``child_id``;
- **flags**: a child is *at risk* on D when it lives in the household of the victim or the
  suspect of an incident reported in the 365 days up to D (Europe/London date) and delivered
  by D. It is *register-held* when a register's latest snapshot holds it at that address (the
  register address is not stale), and *revealable* when, besides, the police data places that
  household: the incident happened there, or the victim's or suspect's own row (on this
  incident or another delivered one) carries that home address. Recall is reported over all
  at-risk children, the register-held and the revealable ones; precision is the share of
  flagged children whose person is at risk.

Misses are explained from truth: every defect (``noise`` kinds) carried by the child's
register records and by the police rows that place its household, and for a child the data
cannot reveal, why not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.errors import UsageError

log = logging.getLogger(__name__)

LOOKBACK_DAYS = 365
# The defect classes that make a record hard to link or place (noise kinds); cosmetic noise
# (case, spacing, date format, address wording) is left out of the miss explanations.
CONSEQUENTIAL_DEFECTS = (
    "name_transposed", "name_multi_typo", "name_typo", "nickname", "dob_digit", "dob_invalid", "dob_swap",
    "register_bad_field", "home_address_wrong", "home_address_blank", "police_postcode_typo", "postcode_typo",
    "uprn_missing", "second_person_ref",
)
# The name under which the test suite records the figures, to show them after the run.
ACCURACY_PROPERTY = "accuracy"
TRUTH_FILES = ("people", "households", "register_records", "police_persons", "incidents", "invalid_rows")


@dataclass(frozen=True)
class WarehouseView:
    """What hearth published for one list date, as the evaluation needs it."""

    list_date: date
    xref: pl.DataFrame          # record_id, child_id
    person_links: pl.DataFrame  # incident_id, person_ref, role, child_id
    flagged: pl.DataFrame       # child_id
    follow_ups: pl.DataFrame    # follow_up (every MASH list up to the date)
    unlocated: pl.DataFrame     # incident_id, person_ref (every list up to the date)


def read_warehouse_view(published: Path, list_date: date | None = None, *, key: str | None = None) -> WarehouseView:
    """Read the view of ``list_date`` (default: the last list published) from a warehouse file."""
    from pipeline.publish import warehouse

    with warehouse.open_reader(published, key=key) as wh:
        day = list_date or wh.query("latest_list_date")["list_date"][0]
        if day is None:
            raise UsageError(f"{published} holds no published list yet: run at least one night first")
        return WarehouseView(
            list_date=day,
            xref=wh.query("accuracy_child_xref", as_of=day),
            person_links=wh.query("linked_person_links", as_of=day).select("incident_id", "person_ref", "role", "child_id"),
            flagged=wh.query("accuracy_flagged_children", list_date=day),
            follow_ups=wh.query("accuracy_follow_ups_until", list_date=day),
            unlocated=wh.query("accuracy_unlocated_until", list_date=day),
        )


def read_truth(truth_dir: Path) -> dict[str, pl.DataFrame]:
    """The truth files the evaluation reads, by name."""
    missing = [name for name in TRUTH_FILES if not (truth_dir / f"{name}.parquet").exists()]
    if missing:
        raise UsageError(f"{truth_dir} lacks {', '.join(missing)}.parquet: point at the truth/ folder hearth synth wrote")
    return {name: pl.read_parquet(truth_dir / f"{name}.parquet") for name in TRUTH_FILES}


# ---- records and people ------------------------------------------------------------------


def _record_id() -> pl.Expr:
    """hearth's record id of a truth register record: ``health_register:<nhs digits>``,
    ``school_census:<UPN>``."""
    ident = pl.col("record_key").cast(pl.String)
    return (
        pl.when(pl.col("source") == "health_register")
        .then(pl.concat_str(pl.lit("health_register:"), ident.str.replace_all(r"\D", "")))
        .otherwise(pl.concat_str(pl.lit("school_census:"), ident.str.to_uppercase().str.replace_all(r"\s", "")))
    )


def record_people(register_records: pl.DataFrame) -> pl.DataFrame:
    """``(record_id, person_uid)`` for every register record the generator wrote."""
    return register_records.select(record_id=_record_id(), person_uid=pl.col("person_uid")).unique()


def held_on(register_records: pl.DataFrame, day: date) -> pl.DataFrame:
    """The records each register's latest snapshot on or before ``day`` delivered:
    ``record_id``, ``person_uid``, ``source``, ``defects``."""
    delivered = register_records.filter(pl.col("first_delivery") <= day)
    latest = delivered.filter(pl.col("last_delivery") <= day).group_by("source").agg(pl.col("last_delivery").max().alias("_snap"))
    current = delivered.join(latest, on="source").filter(pl.col("last_delivery") >= pl.col("_snap"))
    defects = pl.col("defects") if "defects" in current.columns else pl.lit([], dtype=pl.List(pl.String))
    return current.select(record_id=_record_id(), person_uid="person_uid", source="source", defects=defects)


def pair_quality(found: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float | int]:
    """Precision, recall and F1 of ``found`` (left_id = health, right_id = school) vs truth."""
    found = found.select("left_id", "right_id").unique()
    tp = found.join(truth, on=["left_id", "right_id"]).height
    precision = tp / found.height if found.height else 1.0
    recall = tp / truth.height if truth.height else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs_found": found.height, "true_pairs": truth.height, "true_positives": tp,
            "precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def _health_school_pairs(frame: pl.DataFrame, on: str) -> pl.DataFrame:
    health = frame.filter(pl.col("record_id").str.starts_with("health_register:"))
    school = frame.filter(pl.col("record_id").str.starts_with("school_census:"))
    return health.join(school, on=on, suffix="_s").select(left_id="record_id", right_id="record_id_s").unique()


def register_pairs(view: WarehouseView, held: pl.DataFrame) -> dict[str, Any]:
    """Health × school pairs of one child in ``child_xref`` against truth, over the records
    held; the missed pairs counted by the defects their two records carry."""
    truth = _health_school_pairs(held, "person_uid")
    found = _health_school_pairs(view.xref.join(held.select("record_id"), on="record_id", how="semi"), "child_id")
    defects = held.select("record_id", "defects")
    missed = truth.join(found, on=["left_id", "right_id"], how="anti").join(
        defects, left_on="left_id", right_on="record_id").join(defects, left_on="right_id", right_on="record_id", suffix="_s",
    ).select(defects=pl.concat_list("defects", "defects_s").list.unique())
    return {**pair_quality(found, truth), "missed_by_defect": _count_defects(missed, CONSEQUENTIAL_DEFECTS)}


def twins_merged(view: WarehouseView, held: pl.DataFrame, people: pl.DataFrame) -> dict[str, int]:
    twins = people.filter(pl.col("twin_group").is_not_null()).select("person_uid", "twin_group")
    of_twin = view.xref.join(held.select("record_id", "person_uid"), on="record_id").join(twins, on="person_uid")
    merged = of_twin.group_by("twin_group", "child_id").agg(pl.col("person_uid").n_unique().alias("n")).filter(pl.col("n") > 1)
    return {"twin_groups": twins["twin_group"].n_unique(), "twin_groups_merged": merged["twin_group"].n_unique()}


def police_children(view: WarehouseView, held: pl.DataFrame, nominals: pl.DataFrame) -> dict[str, Any]:
    """Police child nominals whose person the registers hold: linked to that person's child?
    The others counted by the defects of their police row."""
    register_child = view.xref.join(held.select("record_id", "person_uid"), on="record_id").select(
        "person_uid", register_child_id="child_id").unique()
    eligible = (
        view.person_links.filter(pl.col("role") == "child")
        .join(nominals.filter(pl.col("role") == "child").select("incident_id", "person_ref", "person_uid"),
              on=["incident_id", "person_ref"])
        .join(register_child, on="person_uid")
    )
    right = eligible.group_by("incident_id", "person_ref").agg(
        (pl.col("child_id") == pl.col("register_child_id")).fill_null(False).any().alias("ok"))
    linked = int(right["ok"].sum())
    wrong = right.filter(~pl.col("ok")).join(nominals.select("incident_id", "person_ref", "defects"), on=["incident_id", "person_ref"])
    return {"police_children_on_register": right.height, "linked_to_right_child": linked,
            "police_child_linked": round(linked / right.height, 5) if right.height else 1.0,
            "police_children_missed_by_defect": _count_defects(wrong, CONSEQUENTIAL_DEFECTS)}


# ---- flags ---------------------------------------------------------------------------------


def live_incidents(incidents: pl.DataFrame, day: date) -> pl.DataFrame:
    """Incidents delivered by ``day`` and reported (London date) within the look-back."""
    reported = pl.col("reported_at").dt.convert_time_zone("Europe/London").dt.date()
    return incidents.filter(
        (pl.col("first_delivery") <= day) & (reported <= day) & (reported >= day - timedelta(days=LOOKBACK_DAYS))
    )


def _home_links(live: pl.DataFrame) -> pl.DataFrame:
    """``(incident_id, uid, household_uid, role)``: whose home each live incident puts at risk."""
    return pl.concat([
        live.select("incident_id", "location_household_uid", uid="victim_uid", household_uid="victim_household_uid", role=pl.lit("victim")),
        live.select("incident_id", "location_household_uid", uid="suspect_uid", household_uid="suspect_household_uid", role=pl.lit("suspect")),
    ]).filter(pl.col("household_uid").is_not_null())


def placements(truth: dict[str, pl.DataFrame], day: date) -> pl.DataFrame:
    """Per at-risk household: ``placed`` (the delivered police data places it), ``cause`` when
    not (``no_fixed_abode`` or ``address_not_recorded``), and ``defects``: every defect of the
    police rows (and incident addresses) that place it or should have."""
    incidents = truth["incidents"]
    live = live_incidents(incidents, day)
    links = _home_links(live)
    delivered = truth["police_persons"].join(
        incidents.filter(pl.col("first_delivery") <= day).select("incident_id"), on="incident_id", how="semi")
    rows = delivered.select("incident_id", "person_ref", uid="person_uid", written="address_written",
                            written_hh="address_household_uid", row_defects="defects")
    invalid = truth["invalid_rows"].filter((pl.col("source") == "police_persons") & (pl.col("delivery_date") <= day)).select(
        incident_id=pl.col("record_key").str.split("/").list.first(),
        person_ref=pl.col("record_key").str.split("/").list.last(), invalid_copy=pl.lit(True)).unique()
    rows = rows.join(invalid, on=["incident_id", "person_ref"], how="left").with_columns(
        pl.when(pl.col("invalid_copy").fill_null(False)).then(pl.col("row_defects").list.concat(pl.lit(["invalid_row_copy"])))
        .otherwise(pl.col("row_defects")).alias("row_defects"))
    # a person whose own row on any delivered incident gives this home (hearth's known_home)
    known_home = rows.filter(pl.col("written") == "home").select("uid", household_uid="written_hh").unique().with_columns(
        known=pl.lit(True))
    own = links.join(rows, on=["incident_id", "uid"], how="left").join(known_home, on=["uid", "household_uid"], how="left")
    loc_defects = live.select("incident_id", loc_defects="defects")
    own = own.join(loc_defects, on="incident_id", how="left").with_columns(
        at_location=(pl.col("location_household_uid") == pl.col("household_uid")).fill_null(False),
        own_home=(pl.col("written") == "home").fill_null(False) & (pl.col("written_hh") == pl.col("household_uid")).fill_null(False),
        known=pl.col("known").fill_null(False),
    ).with_columns(
        defects=pl.concat_list(
            pl.col("row_defects").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.when(pl.col("at_location")).then(pl.col("loc_defects")).otherwise(pl.lit([], dtype=pl.List(pl.String))),
        ),
    )
    return own.group_by("household_uid").agg(
        placed=(pl.col("at_location") | pl.col("own_home") | pl.col("known")).any(),
        nfa=(pl.col("written") == "no_fixed_abode").fill_null(False).any(),
        defects=pl.col("defects").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
    ).with_columns(
        cause=pl.when(pl.col("placed")).then(None).when(pl.col("nfa")).then(pl.lit("suspect_no_fixed_abode"))
        .otherwise(pl.lit("address_not_recorded")),
    ).drop("nfa")


def at_risk_children(truth: dict[str, pl.DataFrame], day: date, held: pl.DataFrame) -> pl.DataFrame:
    """Every at-risk child on ``day``: ``person_uid``, ``household_uid``, ``held`` (a register's
    latest snapshot holds it at that address), ``revealable``, ``cause`` (why not revealable)
    and ``defects`` (of its register records and of the police rows placing its home)."""
    live = live_incidents(truth["incidents"], day)
    homes = _home_links(live).select("household_uid").unique()
    children = truth["people"].filter(pl.col("is_child")).join(homes, on="household_uid").select("person_uid", "household_uid")
    stale = truth["households"].select(
        "household_uid",
        stale=pl.col("register_address_stale").fill_null(False)
        & (pl.col("register_address_fixed_on").is_null() | (pl.col("register_address_fixed_on") > day)),
    )
    on_register = held.group_by("person_uid").agg(reg_defects=pl.col("defects").list.explode(keep_nulls=False, empty_as_null=False))
    placed = placements(truth, day)
    return (
        children.join(stale, on="household_uid", how="left").join(on_register, on="person_uid", how="left")
        .join(placed, on="household_uid", how="left")
        .with_columns(
            held=pl.col("reg_defects").is_not_null() & ~pl.col("stale").fill_null(False),
            placed=pl.col("placed").fill_null(False),
        ).with_columns(
            revealable=pl.col("held") & pl.col("placed"),
            cause=pl.when(pl.col("reg_defects").is_null()).then(pl.lit("not_on_a_register"))
            .when(pl.col("stale").fill_null(False)).then(pl.lit("register_address_stale"))
            .otherwise(pl.col("cause")),
            defects=pl.concat_list(pl.col("reg_defects").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                                   pl.col("defects").fill_null(pl.lit([], dtype=pl.List(pl.String))))
            .list.unique().list.sort(),
        ).select("person_uid", "household_uid", "held", "revealable", "cause", "defects")
    )


def _count_defects(frame: pl.DataFrame, kinds: Iterable[str]) -> dict[str, int]:
    """How many rows of ``frame`` carry each defect of ``kinds`` (a row may count under several),
    plus ``none`` for rows carrying none of them."""
    wanted = list(kinds)
    tagged = frame.select(pl.col("defects").list.set_intersection(pl.lit(wanted, dtype=pl.List(pl.String))).alias("d"))
    counts = tagged.explode("d").drop_nulls("d").group_by("d").len().sort("len", "d", descending=[True, False])
    out = dict(counts.iter_rows())
    out["none"] = int((tagged["d"].list.len() == 0).sum())
    return {str(k): int(v) for k, v in out.items()}


def flag_quality(view: WarehouseView, truth: dict[str, pl.DataFrame], held: pl.DataFrame) -> dict[str, Any]:
    day = view.list_date
    children = at_risk_children(truth, day, held)
    on_register = view.xref.join(held.select("record_id", "person_uid"), on="record_id").select("child_id", "person_uid")
    nominals = truth["police_persons"].select("incident_id", "person_ref", "person_uid")
    police_of = view.person_links.filter(pl.col("child_id").is_not_null()).join(
        nominals, on=["incident_id", "person_ref"]).select("child_id", "person_uid")
    child_person = pl.concat([on_register, police_of]).unique()
    flagged = view.flagged.select("child_id").unique()
    flagged_people = flagged.join(child_person, on="child_id").select("person_uid").unique()
    children = children.with_columns(hit=pl.col("person_uid").is_in(flagged_people["person_uid"].implode()))
    flag_ok = flagged.join(child_person, on="child_id", how="left").group_by("child_id").agg(
        ok=pl.col("person_uid").is_in(children["person_uid"].implode()).any(), person_uid=pl.col("person_uid").drop_nulls().first())

    def share(frame: pl.DataFrame, column: str) -> float:
        return round(float(frame.select(pl.col(column).cast(pl.Float64).mean()).item()), 5) if frame.height else 1.0

    def recall(frame: pl.DataFrame) -> float:
        return share(frame, "hit")

    held_children = children.filter("held")
    revealable = children.filter("revealable")
    missed_revealable = revealable.filter(~pl.col("hit"))
    missed_unrevealable = children.filter(~pl.col("revealable") & ~pl.col("hit"))
    wrong = flag_ok.filter(~pl.col("ok"))
    return {
        "at_risk_children": children.height, "at_risk_register_held": held_children.height,
        "at_risk_revealable": revealable.height, "flagged": flagged.height,
        "flag_recall_all": recall(children), "flag_recall": recall(held_children),
        "flag_recall_revealable": recall(revealable),
        "flag_precision": share(flag_ok, "ok"),
        "missed_revealable": missed_revealable.height,
        "missed_revealable_by_defect": _count_defects(missed_revealable, CONSEQUENTIAL_DEFECTS),
        "missed_unrevealable_by_cause": dict(
            (str(k), int(v)) for k, v in missed_unrevealable.group_by("cause").len().sort("cause").iter_rows()),
        "wrongly_flagged_by_cause": _wrong_flag_causes(wrong, truth, day),
        "missed_with_suspect_follow_up": followed_up(children.filter(~pl.col("hit")), truth, view.follow_ups),
        "missed_with_suspect_unlocated": followed_up(children.filter(~pl.col("hit")), truth, view.follow_ups, view.unlocated),
    }


def _wrong_flag_causes(wrong: pl.DataFrame, truth: dict[str, pl.DataFrame], day: date) -> dict[str, int]:
    """Flagged children not at risk: living at an address a victim's or suspect's row was
    wrongly keyed with (``home_address_wrong``), with no person we can name (``unknown_child``),
    or ``other``."""
    if wrong.is_empty():
        return {}
    live = live_incidents(truth["incidents"], day).select("incident_id")
    keyed = truth["police_persons"].join(live, on="incident_id", how="semi").filter(
        pl.col("address_written") == "wrong").select(household_uid="address_household_uid").unique()
    homes = truth["people"].select("person_uid", "household_uid")
    why = wrong.join(homes, on="person_uid", how="left").with_columns(
        cause=pl.when(pl.col("person_uid").is_null()).then(pl.lit("unknown_child"))
        .when(pl.col("household_uid").is_in(keyed["household_uid"].implode())).then(pl.lit("home_address_wrong"))
        .otherwise(pl.lit("other")))
    return {str(k): int(v) for k, v in why.group_by("cause").len().sort("cause").iter_rows()}


def followed_up(
    missed: pl.DataFrame, truth: dict[str, pl.DataFrame], follow_ups: pl.DataFrame, unlocated: pl.DataFrame | None = None
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
    incidents = truth["incidents"].select("incident_id", uid="suspect_uid", household_uid="suspect_household_uid")
    nominals = truth["police_persons"].select("incident_id", "person_ref", uid="person_uid")
    asked = incidents.join(nominals, on=["incident_id", "uid"]).join(named, on=["incident_id", "person_ref"], how="semi")
    return missed.join(asked.select("household_uid").unique(), on="household_uid", how="semi")["person_uid"].n_unique()


# ---- the whole evaluation ------------------------------------------------------------------


def evaluate(view: WarehouseView, truth: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """Every accuracy figure of ``view`` against ``truth`` (see the module docstring)."""
    held = held_on(truth["register_records"], view.list_date)
    pairs = register_pairs(view, held)
    figures: dict[str, Any] = {
        "list_date": view.list_date.isoformat(),
        "register_pair_precision": pairs["precision"], "register_pair_recall": pairs["recall"],
        "register_pairs_found": pairs["pairs_found"], "register_pairs_true": pairs["true_pairs"],
        "register_pairs_right": pairs["true_positives"], "register_pairs_missed_by_defect": pairs["missed_by_defect"],
    }
    figures |= twins_merged(view, held, truth["people"])
    figures |= police_children(view, held, truth["police_persons"])
    figures |= flag_quality(view, truth, held)
    log.info("accuracy on %s: %s", view.list_date, summary(figures))
    return figures


def summary(figures: dict[str, Any]) -> str:
    """The headline figures on one line (for logs and the benchmark's output)."""
    return (
        f"flag recall {figures['flag_recall_all']:.4f} of {figures['at_risk_children']} at-risk children, "
        f"{figures['flag_recall']:.4f} of {figures['at_risk_register_held']} register-held, "
        f"{figures['flag_recall_revealable']:.4f} of {figures['at_risk_revealable']} revealable; "
        f"precision {figures['flag_precision']:.4f} of {figures['flagged']} flagged; "
        f"register pairs precision {figures['register_pair_precision']:.4f} recall {figures['register_pair_recall']:.4f} "
        f"({figures['register_pairs_true']} true pairs; missed by defect {figures['register_pairs_missed_by_defect']}); twins merged {figures['twin_groups_merged']} of {figures['twin_groups']}; "
        f"police children linked right {figures['police_child_linked']:.4f} of {figures['police_children_on_register']} "
        f"(the others by defect {figures['police_children_missed_by_defect']}); "
        f"missed revealable by defect {figures['missed_revealable_by_defect']}; "
        f"missed unrevealable by cause {figures['missed_unrevealable_by_cause']}; "
        f"wrong flags by cause {figures['wrongly_flagged_by_cause']}"
    )
