"""Link: one child across the health register, school census and police records; police
adults across incidents; households from addresses.

``link_people`` is the stage's one entry point. The flow:

1. standardise every source (``pipeline.link.standardise``);
2. for each link type, block (several polars joins), compare (recordlinkage ``Compare`` with
   rapidfuzz features), fit a Fellegi–Sunter model (u from random pairs, m by EM) and decide
   each pair against the configured thresholds;
3. decide which of the model's matches stand (``apply_guards``): one-to-one assignment
   between sources, the twin check, and the outright-disagreement rule within police
   records; reviewers' decisions then override the model;
4. cluster accepted pairs into people with connected components, cutting the weakest links
   where a cluster would hold two NHS numbers, two UPNs or two nominals of one incident;
5. give every child a stable id (yesterday's id of any member record, else minted from the
   members), and place everyone in a household (``pipeline.link.households``).

The guards exist because Fellegi–Sunter's independence assumption fails exactly where harm
is greatest: household members share surname, address and, for twins, date of birth. They
are narrow on purpose: a blanket "forenames disagree, so a person decides" rule also held
back every re-keyed or badly typed forename, which on data hearth did not generate left most
true pairs waiting for a review nobody does (see ``apply_guards`` and docs/linkage.md).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline import schemas, sources
from pipeline.config import LinkageSettings
from pipeline.errors import LinkageError
from pipeline.link import households as placement
from pipeline.link.compare import (
    BlockingPass,
    CodedSides,
    candidate_pairs,
    code_sides,
    compare_with_recordlinkage,
    dob_levels,
)
from pipeline.link.model import (
    DEFAULT_SPECS,
    PERSON_REF_SPEC,
    SAME_HOME_COMPARISONS,
    ComparisonSpec,
    FellegiSunter,
    estimate_u,
    estimate_u_same_home,
    fit_m_by_sessions,
)
from pipeline.link.standardise import stable_id, standardise_address, standardise_people
from pipeline.sources import REGISTRY

logger = logging.getLogger(__name__)

# Which source's spelling of a child wins (0 first), and its label in child_index.sources:
# from the registry (pipeline/sources.py).
SOURCE_PRIORITY = {s.name: s.link_priority for s in REGISTRY if s.link_priority is not None}
CHILD_SOURCE_LABEL = {s.name: s.child_label for s in REGISTRY if s.child_label is not None}
RANDOM_SEED = 20_241_105  # u-sampling is seeded so that a rerun reproduces every probability

# Forename and surname exchanged (a form filled in surname first): the one pass that
# joins one side's forename to the other side's surname.
TRANSPOSED_DOB_PASS = BlockingPass("dob+names_transposed", ("dob", "forename_meta"), ("dob", "surname_meta"))
TRANSPOSED_PASS = BlockingPass("names_transposed", ("forename_meta", "surname_meta"), ("surname_meta", "forename_meta"))

# Blocking passes. Each pair of passes differs in at least one field, so one typo in any
# single field (postcode, date of birth, surname, forename) leaves the pair in another pass.
REGISTER_PASSES = (
    BlockingPass("uprn", ("uprn",)),
    BlockingPass("postcode+dob", ("postcode", "dob")),
    BlockingPass("dob+surname_part", ("dob", "surname_part_metas")),
    BlockingPass("dob_swapped+surname", ("dob_swapped", "surname_meta"), ("dob", "surname_meta")),
    BlockingPass("dob+forename", ("dob", "forename_meta")),
    BlockingPass("postcode+surname_part", ("postcode", "surname_part_metas")),
    BlockingPass("sector+address", ("postcode_sector", "address_key")),
    # A mistyped postcode together with a second defect (a re-keyed name, a date typo) is
    # common on data hearth did not write: the same address anywhere in the county, or the
    # same whole name in the same postal district, still proposes the pair. (The whole name
    # county-wide proposed ten times the pairs of every other pass together on a
    # 350 000-household county: common names are common.)
    BlockingPass("dob+address", ("dob", "address_key")),
    BlockingPass("surname_part+address", ("surname_part_metas", "address_key")),
    BlockingPass("forename+surname+district", ("forename_canon", "surname_meta", "postcode_district")),
    # A record whose date of birth was withheld as unusable has only names and address:
    # a surname typo at the same postcode, or names exchanged in the same sector, must
    # still meet its counterpart.
    BlockingPass("postcode+forename", ("postcode", "forename_meta")),
    BlockingPass("sector+names_transposed", ("postcode_sector", "forename_meta"), ("postcode_sector", "surname_meta")),
    TRANSPOSED_DOB_PASS,
    TRANSPOSED_PASS,
    # Two defects at once, each common on its own: a postcode typo that moves the sector
    # together with a re-keyed or exchanged name, a street typo or a missing date of birth.
    # Each pass keys on what such a pair still shares: names exchanged the other way within
    # the sector; the date of birth within the district or with the house number; both names
    # with the house number, or the forename with the whole address, anywhere. (One name with
    # the house number within the district found a few more on FEBRL4 but proposed more pairs
    # than these five together on a synthetic county.)
    BlockingPass("sector+names_transposed_back", ("postcode_sector", "surname_meta"), ("postcode_sector", "forename_meta")),
    BlockingPass("dob+district", ("dob", "postcode_district")),
    BlockingPass("dob+house_number", ("dob", "house_number")),
    BlockingPass("forename+address", ("forename_meta", "address_key")),
    BlockingPass("forename+surname+house_number", ("forename_meta", "surname_meta", "house_number")),
)
# Police children often have no date of birth and may live at a newer address than the
# register holds, so names without address are a pass of their own.
POLICE_CHILD_PASSES = (
    BlockingPass("uprn+initial", ("uprn", "forename_initial")),
    BlockingPass("postcode+surname_part", ("postcode", "surname_part_metas")),
    BlockingPass("sector+address", ("postcode_sector", "address_key")),
    BlockingPass("dob+surname_part", ("dob", "surname_part_metas")),
    BlockingPass("dob_swapped+surname", ("dob_swapped", "surname_meta"), ("dob", "surname_meta")),
    BlockingPass("dob+forename", ("dob", "forename_meta")),
    BlockingPass("forename+surname", ("forename_canon", "surname_meta")),
    TRANSPOSED_DOB_PASS,
    TRANSPOSED_PASS,
)
POLICE_DEDUP_PASSES = (
    BlockingPass("person_ref", ("person_ref",)),
    BlockingPass("dob+surname_part", ("dob", "surname_part_metas")),
    BlockingPass("dob+forename", ("dob", "forename_meta")),
    BlockingPass("forename+surname", ("forename_canon", "surname_meta")),
    BlockingPass("postcode+surname_part", ("postcode", "surname_part_metas")),
    TRANSPOSED_DOB_PASS,
)

# A partner register's record against the registers: the register passes. Its children are
# under-fives and children known to social care, whose home on the partner's file is often a
# parent's other home, so the passes that do not need the address carry most of them.
PARTNER_PASSES = REGISTER_PASSES
# A partner's columns named as the child index names them (a social-care "status" is the
# child's social-care status, not a register's).
PARTNER_COLUMNS = {
    "social_care": {"status": "social_care_status", "status_since": "social_care_since", "team": "social_care_team"},
}

# Decisions as the stage carries them: a pair's comparison levels stay with the model that
# scored it (``Scored.levels``; ``_model``, ``_lvl`` say where) and become the JSON ``scores``
# of LINK_DECISIONS only once the decisions are final (``with_scores``). As text from the
# start they were the largest part of the stage's memory on a dense county.
DECISION_SCHEMA = {
    **{c: t for c, t in schemas.LINK_DECISIONS.items() if c != "scores"},
    "forename_level": pl.Int8, "dob_level": pl.Int8, "_model": pl.UInt8, "_lvl": pl.UInt32,
}
# A stored fit given to ``link_people`` that was not kept tonight, and why (``kept_model``).
REFITTED: schemas.Schema = {"model": pl.String, "reason": pl.String}

# How candidate pairs get their comparison levels: ``(left, right, pairs, dedupe, sides) ->
# levels`` in pair order, ``sides`` the two frames' coding when the caller made one for its
# random pairs (else None). The default compares every pair; ``pipeline.link.incremental``
# reuses the levels of pairs whose two records are unchanged since they were last compared.
Comparer = Callable[[pl.DataFrame, pl.DataFrame, pl.DataFrame, bool, CodedSides | None], pl.DataFrame]



@dataclass(frozen=True)
class LinkInputs:
    health: pl.DataFrame       # schemas.STAGED["health_register"]
    school: pl.DataFrame       # schemas.STAGED["school_census"]
    persons: pl.DataFrame      # schemas.STAGED["police_persons"], current set
    incidents: pl.DataFrame    # schemas.CURRENT_INCIDENTS
    child_xref: pl.DataFrame   # schemas.CHILD_XREF from the previous run (may be empty)
    reviews: pl.DataFrame      # schemas.REVIEW_DECISIONS
    # The night being linked and the latest model of each kind fitted on or before it
    # (schemas.LINK_MODELS rows, from audit.link_models). Without a date u is always estimated.
    as_of: date | None = None
    models: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.LINK_MODELS))
    person_xref: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.PERSON_XREF))  # from the previous run
    # The other registers whose children join the index (landing contract v2: early_years,
    # social_care), each as staged, by source name. Each is compared with the health register,
    # the school census and the partners before it (``PARTNER_PASSES``).
    partners: dict[str, pl.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkResult:
    children: pl.DataFrame             # CHILD_INDEX
    households: pl.DataFrame           # HOUSEHOLDS
    person_links: pl.DataFrame         # PERSON_LINKS
    incident_households: pl.DataFrame  # INCIDENT_HOUSEHOLDS
    # Every pair a decision can come from: those scoring at or above the review threshold or
    # the audit floor, and the reviewed (``score_pairs``); the automatic non-matches under both
    # are counted in ``pairs_scored``, not kept.
    decisions: pl.DataFrame            # LINK_DECISIONS
    review_queue: pl.DataFrame         # REVIEW_QUEUE
    child_xref: pl.DataFrame           # CHILD_XREF
    models: pl.DataFrame               # LINK_MODELS, the models tonight's pairs were scored with
    # The decisions kept in audit.link_decisions: every pair but the automatic non-matches
    # below settings.audit_min_probability, the bulk of candidates, which say nothing an
    # auditor needs beyond "scored and rejected" (counted, not stored).
    audited: pl.DataFrame              # LINK_DECISIONS
    person_xref: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.PERSON_XREF))
    pairs_scored: int = 0              # every candidate pair of every model, kept or not
    # The stored fits given to ``link_people`` that were not kept tonight, and why (REFITTED).
    refitted: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REFITTED))


# ---- scoring -------------------------------------------------------------------------------


def _specs(*, dedupe: bool) -> tuple[ComparisonSpec, ...]:
    """The comparisons of a link type: police dedupe also compares the force's person_ref."""
    return DEFAULT_SPECS + ((PERSON_REF_SPEC,) if dedupe else ())


@dataclass(frozen=True)
class Scored:
    """One model's candidate pairs with their decisions, and the model that scored them."""

    decisions: pl.DataFrame   # DECISION_SCHEMA, the pairs at or above the floor (``score_pairs``)
    model: FellegiSunter
    candidate_pairs: int      # every pair blocking proposed and the model scored
    u_pairs: int              # random pairs compared for u tonight (0: u was reused)
    below_floor: int = 0      # automatic non-matches under the audit floor: scored, counted, not kept
    # The kept pairs' comparison levels (similarities rounded), row ``_lvl`` for decision ``_lvl``.
    levels: pl.DataFrame = field(default_factory=pl.DataFrame)


def score_pairs(
    link_type: str,
    left: pl.DataFrame,
    right: pl.DataFrame,
    passes: tuple[BlockingPass, ...],
    settings: LinkageSettings,
    *,
    dedupe: bool = False,
    u: dict[str, np.ndarray] | None = None,
    compare: Comparer | None = None,
    fitted: FellegiSunter | None = None,
    reviewed: pl.DataFrame | None = None,
) -> Scored:
    """The candidate pairs of one link type a decision can come from, with their weight,
    probability and the model's decision (``auto_match`` / ``review`` / ``auto_nonmatch``),
    and their comparison levels (``Scored.levels``); the rest are counted (``below_floor``).

    ``u`` reuses u-probabilities estimated on an earlier night; without it they are
    estimated from ``settings.em_sample_pairs`` seeded random pairs. ``fitted`` scores with
    a model fitted on an earlier night as it stands (no u estimate, no EM). ``reviewed``
    (``left_id``, ``right_id``) are pairs kept whatever they score, for the reviewers'
    decisions to override."""
    started = time.perf_counter()
    specs = _specs(dedupe=dedupe)
    pairs = candidate_pairs(left, right, passes, dedupe=dedupe)
    if dedupe and pairs.height:
        # Two nominals on one incident are two people by definition.
        inc = left["incident_id"]
        pairs = pairs.filter(inc.gather(pairs["l"]) != inc.gather(pairs["r"]))
    if fitted is not None:
        u = fitted.u
    u_given = u is not None
    if pairs.height == 0:
        if fitted is not None:
            return Scored(pl.DataFrame(schema=DECISION_SCHEMA), fitted, 0, 0)
        prior = FellegiSunter(specs, m={s.name: np.asarray(s.m_prior) for s in specs},
                              u=u or {s.name: np.asarray(s.u_prior) for s in specs})
        return Scored(pl.DataFrame(schema=DECISION_SCHEMA), prior, 0, 0)
    random_pairs = (
        _random_pairs(left.height, right.height, settings, dedupe=dedupe) if u is None
        else pl.DataFrame(schema={"l": pl.UInt32, "r": pl.UInt32})
    )
    # The candidates and the random pairs are compared over one coding of the two frames.
    sides = code_sides(left, right, with_person_ref=dedupe) if compare is None or random_pairs.height else None
    levels = compare(left, right, pairs, dedupe, sides) if compare else compare_in_slices(left, right, pairs, dedupe, sides=sides)
    random_levels = compare_in_slices(left, right, random_pairs, dedupe, sides=sides)
    compared = time.perf_counter()
    if fitted is not None:
        model = fitted
    else:
        if u is None:
            # u from the random pairs, then again without the true matches the model says are
            # among them (``estimate_u``); m and λ are fitted on each.
            first = _fit(left, right, levels, estimate_u(random_levels, specs), specs, settings)
            u = estimate_u(random_levels, specs, matches=(first.lam, first.m))
        model = _fit(left, right, levels, u, specs, settings)
        if not dedupe:
            model.u_same_home = estimate_u_same_home(same_home_levels([left, right]), model.u)
    weight = model.match_weight(levels)
    probability = model.probability(weight)
    # Only the pairs a decision can come from, or an auditor is shown, go on: those at or
    # above the review threshold or the audit floor, and those a reviewer has decided. The
    # rest, most candidates where children are dense, are automatic non-matches that no
    # guard, assignment or cluster reads; carried through every later step they were most
    # of a dense county's memory. They are counted (``Scored.below_floor``), as the audit
    # counts them.
    keep = probability >= min(settings.audit_min_probability, settings.review_threshold)
    if reviewed is not None and reviewed.height:
        keep[_reviewed_positions(left, right, pairs, reviewed)] = True
    below_floor = int(pairs.height - keep.sum())
    if below_floor:
        mask = pl.Series(keep)
        pairs, levels = pairs.filter(mask), levels.filter(mask)
        weight, probability = weight[keep], probability[keep]
    sims = [c for c in levels.columns if c.endswith("_sim")]
    kept_levels = levels.with_columns([pl.col(c).fill_nan(None).round(4) for c in sims])
    out = pl.DataFrame({
        "link_type": pl.repeat(link_type, pairs.height, dtype=pl.String, eager=True),
        "left_id": left["record_id"].gather(pairs["l"]),
        "right_id": right["record_id"].gather(pairs["r"]),
        "_model": pl.repeat(None, pairs.height, dtype=pl.UInt8, eager=True),
        "_lvl": pl.int_range(pairs.height, dtype=pl.UInt32, eager=True),
        "match_weight": np.round(weight, 4),
        "probability": probability,
        "forename_level": levels["forename"],
        "dob_level": levels["dob"],
    })
    # The model's decision alone; the guards and the one-to-one assignment (``apply_guards``)
    # then decide which of the model's matches stand.
    out = out.with_columns(
        decision=pl.when(pl.col("probability") >= settings.match_threshold)
        .then(pl.lit("auto_match"))
        .when(pl.col("probability") >= settings.review_threshold)
        .then(pl.lit("review"))
        .otherwise(pl.lit("auto_nonmatch")),
        reason=pl.lit(None, pl.String),
    )
    # Keep left/right in a canonical order so reviews match whichever way they were written.
    swap = pl.col("left_id") > pl.col("right_id")
    out = out.with_columns(
        left_id=pl.when(swap).then(pl.col("right_id")).otherwise(pl.col("left_id")),
        right_id=pl.when(swap).then(pl.col("left_id")).otherwise(pl.col("right_id")),
    )
    elapsed = time.perf_counter() - started
    logger.info(
        "%s: %d candidate pairs (%d under the audit floor), %d matched, %d to review; compared (with %d "
        "random pairs%s) at %.0f pairs/s, %.2f s in all; model %s",
        link_type, pairs.height + below_floor, below_floor, int((out["decision"] == "auto_match").sum()),
        int((out["decision"] == "review").sum()), random_pairs.height,
        ", model kept" if fitted is not None else ", u reused" if u_given else "",
        (pairs.height + below_floor + random_pairs.height) / max(compared - started, 1e-9), elapsed,
        json.dumps(model.summary()),
    )
    decisions = out.select(DECISION_SCHEMA.keys()).cast(DECISION_SCHEMA)  # type: ignore[arg-type]
    return Scored(decisions, model, pairs.height + below_floor, random_pairs.height, below_floor, kept_levels)


def with_scores(decisions: pl.DataFrame, levels: list[pl.DataFrame]) -> pl.DataFrame:
    """``decisions`` (DECISION_SCHEMA) with each pair's comparison levels as the JSON ``scores``
    of LINK_DECISIONS: decision ``_lvl`` of model ``_model`` is row ``_lvl`` of ``levels[_model]``.
    A reviewed pair that no model proposed tonight has none (``{}``)."""
    scores = pl.Series("scores", [], dtype=pl.String).extend_constant(None, decisions.height)
    at = decisions.select("_model", "_lvl", _p=pl.int_range(pl.len(), dtype=pl.UInt32))
    for i, frame in enumerate(levels):
        rows = at.filter(pl.col("_model") == i)
        if rows.height:
            chosen = frame[rows["_lvl"]]
            scores = scores.scatter(
                rows["_p"], chosen.select(pl.struct(chosen.columns).struct.json_encode())[:, 0]
            )
    return decisions.with_columns(scores.fill_null("{}")).drop("_model", "_lvl")


def _reviewed_positions(left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, reviewed: pl.DataFrame) -> np.ndarray:
    """Indices into ``pairs`` of the pairs a reviewer decided (``reviewed``: ``left_id``,
    ``right_id`` in either order)."""
    lpos = left.select(_lid=pl.col("record_id"), l=pl.int_range(pl.len(), dtype=pl.UInt32))
    rpos = right.select(_rid=pl.col("record_id"), r=pl.int_range(pl.len(), dtype=pl.UInt32))
    both = pl.concat([
        reviewed.select(_lid="left_id", _rid="right_id"), reviewed.select(_lid="right_id", _rid="left_id"),
    ])
    wanted = both.join(lpos, on="_lid").join(rpos, on="_rid").select("l", "r").unique()
    found = pairs.with_row_index("_p").join(wanted, on=["l", "r"], how="semi")
    return found["_p"].to_numpy()


# Pairs compared per call. Comparing the two million random pairs for u in one call was the
# initial night's memory peak (the comparison's intermediates: +380 MB over the link stage's
# start on a 50 000-household county, +220 MB in slices of this size, and no slower).
COMPARE_SLICE = 500_000


def compare_in_slices(
    left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, dedupe: bool, *, sides: CodedSides | None = None
) -> pl.DataFrame:
    """Every pair compared, ``COMPARE_SLICE`` pairs at a time over one coding of the two frames
    (``sides``, or coded here)."""
    return compare_with_recordlinkage(left, right, pairs, with_person_ref=dedupe, slice_size=COMPARE_SLICE, sides=sides)


def same_home_levels(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Comparison levels of every pair of records of one register at one home.

    Two records of one register are two children (the NHS number and UPN guards), so these
    pairs are non-matches that share a home: siblings, and twins. Police records are left
    out (one person recurs across incidents)."""
    out = [pl.DataFrame(schema={c: pl.Int8 for c in SAME_HOME_COMPARISONS})]
    for frame in frames:
        if frame.height == 0 or "household_key" not in frame.columns:
            continue
        # Only the columns read, before filtering: filtering a whole standardised register
        # first copied every column of it.
        register = frame.select("source", "household_key", "dob").filter(
            pl.col("source").is_in(["health_register", "school_census"])
        )
        pairs = candidate_pairs(register, register, (BlockingPass("same_home", ("source", "household_key")),), dedupe=True)
        if pairs.height:
            li, ri = pairs["l"].to_numpy().astype(np.int64), pairs["r"].to_numpy().astype(np.int64)
            out.append(pl.DataFrame({"dob": dob_levels(register["dob"], register["dob"], li, ri)}))
    return pl.concat(out)


def reusable_u(
    model: str, n_left: int, n_right: int, as_of: date | None, models: pl.DataFrame,
    specs: tuple[ComparisonSpec, ...], settings: LinkageSettings,
) -> tuple[dict[str, np.ndarray], date] | None:
    """The u-probabilities of ``model`` estimated on an earlier night, if still fit to reuse.

    u describes how often *unrelated* records agree, a property of the population that moves
    slowly; estimating it means comparing millions of random pairs, most of a night's linking.
    It is reused while it is at most ``u_max_age_days`` old, while both record counts are
    within ``u_max_size_change`` of the counts it was estimated on, and while its
    comparisons and levels are those of today's code. m and λ are fitted with it on a full re-link
    (an incremental night keeps the whole fit: ``kept_model``)."""
    if as_of is None or settings.u_max_age_days == 0 or models.height == 0:
        return None
    # Only rows that estimated u themselves carry the record counts it was estimated on.
    rows = models.filter(
        pl.col("model") == model, pl.col("u_estimated_on") <= as_of, pl.col("u_pairs") > 0
    ).sort("u_estimated_on", "n_left", "n_right")
    if rows.height == 0:
        return None
    row = rows.row(-1, named=True)
    if (as_of - row["u_estimated_on"]).days > settings.u_max_age_days:
        return None
    for now, then in ((n_left, row["n_left"]), (n_right, row["n_right"])):
        if not then or abs(now - then) > settings.u_max_size_change * then:
            return None
    parameters = json.loads(row["parameters"])
    if parameters.get("comparisons") != comparison_fingerprint():
        return None
    stored = parameters.get("u", {})
    if sorted(stored) != sorted(s.name for s in specs) or any(len(stored[s.name]) != s.levels for s in specs):
        return None
    return {s.name: np.asarray(stored[s.name], dtype=np.float64) for s in specs}, row["u_estimated_on"]


@dataclass(frozen=True)
class KeptModel:
    """A model fitted on an earlier night, scoring tonight's pairs as it stands."""

    model: FellegiSunter
    fitted_on: date | None          # the night m, λ (and the same-home u) were fitted
    fitted_n: tuple[int, int]       # the record counts they were fitted on
    u_estimated_on: date | None


def kept_model(
    model: str, n_left: int, n_right: int, as_of: date | None, stored: pl.DataFrame,
    specs: tuple[ComparisonSpec, ...], settings: LinkageSettings,
) -> KeptModel | str:
    """The stored fit of ``model`` (a ``schemas.LINK_MODELS`` row) if tonight may score
    with it unchanged, else why it must be fitted again.

    Between full re-links the population barely moves, and re-fitting m and λ over all
    candidates each night moved every pair's weight a little, so every scored pair was a
    changed decision in the audit. The fit is kept while both record counts are within
    ``u_max_size_change`` of those it was fitted on and its u is at most ``u_max_age_days``
    old (the limits under which u itself is reused), and while its comparisons are today's."""
    rows = stored.filter(pl.col("model") == model)
    if rows.height == 0:
        return "no fitted model stored"
    row = rows.row(-1, named=True)
    parameters = json.loads(row["parameters"])
    if parameters.get("comparisons") != comparison_fingerprint():
        return "fitted with other comparison code or levels"
    then_left, then_right = parameters.get("fitted_n") or (row["n_left"], row["n_right"])
    for side, now, then in (("left", n_left, then_left), ("right", n_right, then_right)):
        if abs(now - then) > settings.u_max_size_change * then or (then == 0 and now != 0):
            return (
                f"{side} records moved from {then} to {now} since the fit, more than "
                f"linkage.u_max_size_change ({settings.u_max_size_change:.0%})"
            )
    u_on = row["u_estimated_on"]
    if as_of is not None and u_on is not None and (as_of - u_on).days > settings.u_max_age_days:
        return f"its u was estimated on {u_on}, more than linkage.u_max_age_days ({settings.u_max_age_days}) ago"
    m, u = parameters.get("m", {}), parameters.get("u", {})
    shape = {s.name: s.levels for s in specs}
    if {k: len(v) for k, v in m.items()} != shape or {k: len(v) for k, v in u.items()} != shape:
        return "the stored fit has other comparisons or levels"
    fitted_on = parameters.get("fitted_on")
    return KeptModel(
        FellegiSunter(
            specs,
            m={s.name: np.asarray(m[s.name], dtype=np.float64) for s in specs},
            u={s.name: np.asarray(u[s.name], dtype=np.float64) for s in specs},
            lam=float(parameters["lambda"]),
            u_same_home={k: np.asarray(v, dtype=np.float64) for k, v in parameters.get("u_same_home", {}).items()},
        ),
        date.fromisoformat(fitted_on) if fitted_on else None,
        (int(then_left), int(then_right)),
        u_on,
    )


def _model_row(
    model: str, n_left: int, n_right: int, scored: Scored, u_estimated_on: date | None,
    fitted_on: date | None, fitted_n: tuple[int, int],
) -> dict[str, object]:
    fitted = scored.model
    return {
        "model": model, "n_left": n_left, "n_right": n_right, "candidate_pairs": scored.candidate_pairs,
        "u_estimated_on": u_estimated_on, "u_pairs": scored.u_pairs,
        "parameters": json.dumps({
            "comparisons": comparison_fingerprint(),
            "lambda": fitted.lam,
            "m": {s.name: fitted.m[s.name].tolist() for s in fitted.specs},
            "u": {s.name: fitted.u[s.name].tolist() for s in fitted.specs},
            "u_same_home": {name: u.tolist() for name, u in fitted.u_same_home.items()},
            # Which night's fit this is, and on how many records: an incremental night scores
            # with it unchanged while the counts stay near these (``kept_model``).
            "fitted_on": fitted_on.isoformat() if fitted_on else None,
            "fitted_n": list(fitted_n),
        }),
    }


@lru_cache(maxsize=1)
def comparison_fingerprint() -> str:
    """A digest of the comparison code and the model's levels and priors. Stored with every
    model; a u estimated under other comparisons (a level added or redefined) is never
    reused, whatever its age."""
    from pipeline.link import compare as link_compare
    from pipeline.link import model as link_model

    text = inspect.getsource(link_compare) + inspect.getsource(link_model)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _random_pairs(n_left: int, n_right: int, settings: LinkageSettings, *, dedupe: bool) -> pl.DataFrame:
    """A seeded sample of ``em_sample_pairs`` random pairs (almost all non-matches), for u."""
    rng = np.random.default_rng(RANDOM_SEED)
    n = int(min(settings.em_sample_pairs, n_left * n_right))
    random_pairs = pl.DataFrame({
        "l": rng.integers(0, n_left, n, dtype=np.uint32),
        "r": rng.integers(0, n_right, n, dtype=np.uint32),
    })
    if dedupe:
        random_pairs = random_pairs.filter(pl.col("l") != pl.col("r"))
    return random_pairs


def _fit(
    left: pl.DataFrame, right: pl.DataFrame, levels: pl.DataFrame, u: dict[str, np.ndarray], specs: tuple,
    settings: LinkageSettings,
) -> FellegiSunter:
    """m by EM sessions over the candidates, u given (from random pairs)."""
    # Prior that two random records match: each record on the smaller side has about one
    # counterpart on the larger side (for dedupe, about one other record of the same person).
    lam = min(0.5, 1.0 / max(left.height, right.height, 1))
    return fit_m_by_sessions(levels, specs, u, lam=lam, max_iterations=settings.em_max_iterations)


# Why a match the model scored is not kept, or why a pair waits for a person.
REASONS = {
    "twin": "one of the two records has a twin in its household (same date of birth) and the forenames do not agree",
    "forename_disagrees": "the forenames disagree outright (two nominals of one family?)",
    "dob_disagrees": "the dates of birth disagree outright (father and son of one name?)",
    "ambiguous": "two records fit about equally well; a person must say which, if either",
    "one_to_one": "the other record's better match was kept (a child is one record per register)",
    "conflicting_identifiers": "joining them would give one child two NHS numbers or UPNs, or two nominals of one incident",
}


def twin_records(register: pl.DataFrame, police_children: pl.DataFrame) -> pl.Series:
    """Record ids of children with a twin on their own side: two register records of one
    source in one household with one date of birth, or two child nominals of one incident
    with one date of birth. A twin's record may only be matched where the forenames agree."""
    reg = register.select("record_id", "source", "household_key", "dob").filter(
        pl.col("household_key").is_not_null() & pl.col("dob").is_not_null()
    ).filter(
        pl.len().over("source", "household_key", "dob") > 1
    )["record_id"]
    pol = police_children.filter(pl.col("dob").is_not_null()).filter(
        pl.len().over("incident_id", "dob") > 1
    )["record_id"] if police_children.height else pl.Series([], dtype=pl.String)
    return pl.concat([reg, pol]).unique()


def apply_guards(
    decisions: pl.DataFrame, nodes: pl.DataFrame, twins: pl.Series, margin: float
) -> pl.DataFrame:
    """Decide which of the model's matches stand.

    Fellegi–Sunter treats its comparisons as independent, which fails exactly where harm is
    greatest: children of one household share surname, address and, for twins, date of birth.
    hearth used to send every pair whose forenames or dates of birth disagreed to a person;
    that also sent every typo'd, swapped or re-keyed forename, and on data it did not
    generate most true pairs waited for a review nobody would do. The data itself tells
    twins apart: each twin has a better candidate, their own record, on the other side. So:

    - links between *different sources* (a register record against the other register, a
      police child nominal against a register) are assigned **one to one**: a child is one
      record per register, and one nominal per incident. Strongest pairs are kept first;
      a pair that loses to a stronger pair of one of its records is ``auto_nonmatch``
      (``one_to_one``); a record whose two best candidates are within ``margin`` bits goes
      to a person with both (``ambiguous``);
    - a record with a **twin** on its own side (one household or incident, one date of
      birth) is matched automatically only where the forenames agree (level ≥ 2), so a
      twin missing from one register is never merged into the other twin (``twin``);
    - links *within* police records (the same child or adult across incidents) have no
      one-to-one structure (a person is on many incidents), so there the old rule stays: a
      forename or date of birth that disagrees outright goes to a person
      (``forename_disagrees`` / ``dob_disagrees``: father and son of one name).

    Reviews of a record already matched one to one are retired as ``one_to_one``.
    """
    if decisions.height == 0:
        return decisions
    info = nodes.select("record_id", "source", "incident_id")
    # Only the columns the rules read, and only the pairs they can change: a guard applies to
    # an automatic match, the assignment to matches and reviews. The rest, nearly every
    # candidate pair, keep their decision; joining them here too was the night's memory peak.
    d = (
        decisions.select("left_id", "right_id", "decision", "reason", "match_weight", "forename_level", "dob_level")
        .with_row_index("_i")
        .filter(pl.col("decision").is_in(["auto_match", "review"]))
        .join(info.rename({"record_id": "left_id", "source": "_ls", "incident_id": "_linc"}), on="left_id", how="left")
        .join(info.rename({"record_id": "right_id", "source": "_rs", "incident_id": "_rinc"}), on="right_id", how="left")
        .sort("_i")
    )
    within_police = (pl.col("_ls") == "police_persons") & (pl.col("_rs") == "police_persons")
    twin = pl.col("left_id").is_in(twins.implode()) | pl.col("right_id").is_in(twins.implode())
    model_match = pl.col("decision") == "auto_match"
    guard = (
        pl.when(~model_match).then(pl.lit(None, pl.String))
        .when(within_police & (pl.col("forename_level") == 0)).then(pl.lit("forename_disagrees"))
        .when(within_police & (pl.col("dob_level") == 0)).then(pl.lit("dob_disagrees"))
        .when(~within_police & twin & (pl.col("forename_level") <= 1)).then(pl.lit("twin"))
    )
    d = d.with_columns(_guard=guard).with_columns(
        decision=pl.when(pl.col("_guard").is_not_null()).then(pl.lit("review")).otherwise(pl.col("decision")),
        reason=pl.coalesce("_guard", "reason"),
    )
    # One-to-one groups: a record of one source meets at most one record of the other; a
    # register record meets at most one nominal of each incident.
    d = d.with_columns(
        _a=pl.when(pl.col("_ls") == "police_persons").then(pl.concat_str("left_id", pl.lit("|"), "_rs"))
        .otherwise(pl.concat_str("left_id", pl.lit("|"), pl.coalesce("_rinc", "_rs"))),
        _b=pl.when(pl.col("_rs") == "police_persons").then(pl.concat_str("right_id", pl.lit("|"), "_ls"))
        .otherwise(pl.concat_str("right_id", pl.lit("|"), pl.coalesce("_linc", "_ls"))),
    )
    decided = assign_one_to_one(d.filter(~within_police), margin)
    final = d.join(decided, on="_i", how="left").select(
        "_i", decision=pl.coalesce("_decision", "decision"), reason=pl.coalesce("_reason", "reason"),
    )
    counts = decided.group_by("_reason").len()
    if counts.height:
        logger.info("guards and one-to-one: %s", dict(counts.sort("_reason").iter_rows()))
    return decisions.with_columns(
        decision=decisions["decision"].clone().scatter(final["_i"], final["decision"]),
        reason=decisions["reason"].clone().scatter(final["_i"], final["reason"]),
    )


def assign_one_to_one(pairs: pl.DataFrame, margin: float) -> pl.DataFrame:
    """``(_i, _decision, _reason)`` for the pairs whose decision the assignment changes.

    Greedy by match weight: the strongest pair is kept, its two records are taken, and so
    on down. A pair whose record has another open candidate within ``margin`` bits is not
    decided by the order of two nearly equal weights: the pair and its close rivals go to
    a person (``ambiguous``) and their records are held. Every other pair that touches a
    taken or held record is closed: an automatic match becomes ``auto_nonmatch`` and a
    review is retired (``one_to_one``). Pairs alone on both sides, nearly all of them, are
    kept without entering the loop; only contested records (twins, near-duplicates) do.
    """
    schema = {"_i": pl.UInt32, "_decision": pl.String, "_reason": pl.String}
    open_pairs = pairs.filter(pl.col("decision").is_in(["auto_match", "review"])).select(
        "_i", "_a", "_b", "decision", w=pl.col("match_weight").fill_null(0.0)
    )
    live = open_pairs.filter(pl.col("decision") == "auto_match")
    alone = (pl.len().over("_a") == 1) & (pl.len().over("_b") == 1)
    contested = live.filter(~alone).sort(["w", "_i"], descending=[True, False])
    taken: set[str] = set(live.filter(alone)["_a"].to_list()) | set(live.filter(alone)["_b"].to_list())
    by_group: dict[str, list[tuple[int, str, str, float]]] = {}
    rows = list(contested.select("_i", "_a", "_b", "w").iter_rows())
    for row in rows:
        by_group.setdefault(row[1], []).append(row)
        by_group.setdefault(row[2], []).append(row)
    held: set[str] = set()
    ambiguous: set[int] = set()
    kept: list[int] = live.filter(alone)["_i"].to_list()
    def done(g: str) -> bool:
        return g in taken or g in held

    for i, a, b, w in rows:
        if done(a) or done(b):
            continue
        rivals = [
            r for g in (a, b) for r in by_group[g]
            if r[0] != i and w - r[3] < margin and not (done(r[1]) or done(r[2]))
        ]
        if rivals:
            for r in [(i, a, b, w), *rivals]:
                ambiguous.add(r[0])
                held.update((r[1], r[2]))
            continue
        taken.update((a, b))
        kept.append(i)
    closed = pl.col("_a").is_in(list(taken | held)) | pl.col("_b").is_in(list(taken | held))
    changed = open_pairs.filter(~pl.col("_i").is_in(kept)).select(
        "_i",
        _decision=pl.when(pl.col("_i").is_in(list(ambiguous))).then(pl.lit("review"))
        .when(closed).then(pl.lit("auto_nonmatch")),
        _reason=pl.when(pl.col("_i").is_in(list(ambiguous))).then(pl.lit("ambiguous"))
        .when(closed).then(pl.lit("one_to_one")),
    )
    return changed.filter(pl.col("_decision").is_not_null()).cast(schema)  # type: ignore[arg-type]


def apply_reviews(decisions: pl.DataFrame, reviews: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """Reviewer decisions override the model on every run; a reviewed pair that blocking did
    not propose this time is added, so a reviewer's match never silently lapses."""
    if reviews.height == 0:
        return decisions
    rv = reviews.select(
        left_id=pl.min_horizontal("left_id", "right_id"),
        right_id=pl.max_horizontal("left_id", "right_id"),
        review=pl.col("decision"),
    ).unique(["left_id", "right_id"], keep="last", maintain_order=True)
    out = decisions.join(rv, on=["left_id", "right_id"], how="left").with_columns(
        decision=pl.when(pl.col("review") == "match").then(pl.lit("reviewed_match"))
        .when(pl.col("review") == "nonmatch").then(pl.lit("reviewed_nonmatch"))
        .otherwise(pl.col("decision"))
    ).drop("review")
    missing = rv.join(decisions, on=["left_id", "right_id"], how="anti")
    kinds = known.select("record_id", "kind")
    extra = (
        missing.join(kinds.rename({"record_id": "left_id", "kind": "lk"}), on="left_id")
        .join(kinds.rename({"record_id": "right_id", "kind": "rk"}), on="right_id")
        .with_columns(
            link_type=pl.when((pl.col("lk") == "register") & (pl.col("rk") == "register")).then(pl.lit("register_child"))
            .when((pl.col("lk") == "police_adult") | (pl.col("rk") == "police_adult")).then(pl.lit("police_adult"))
            .otherwise(pl.lit("police_child")),
            _model=pl.lit(None, pl.UInt8),
            _lvl=pl.lit(None, pl.UInt32),
            match_weight=pl.lit(None, pl.Float64),
            probability=pl.lit(None, pl.Float64),
            forename_level=pl.lit(None, pl.Int8),
            dob_level=pl.lit(None, pl.Int8),
            reason=pl.lit(None, pl.String),
            decision=pl.when(pl.col("review") == "match").then(pl.lit("reviewed_match")).otherwise(pl.lit("reviewed_nonmatch")),
        )
    )
    return pl.concat([out, extra.select(DECISION_SCHEMA.keys()).cast(DECISION_SCHEMA)])  # type: ignore[arg-type]


# ---- clustering ----------------------------------------------------------------------------


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cluster_records(nodes: pl.DataFrame, decisions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Connected components of accepted pairs, with guards.

    A component may hold at most one NHS number, one UPN, and one nominal per incident. Where
    one would hold more, its links are re-added strongest first (reviewers' matches first),
    skipping any link that would break a guard; the skipped links become ``blocked_by_guard``.
    Returns ``(nodes with "component", decisions with final decision)``.
    """
    idx = nodes.select("record_id").with_row_index("_n")
    accepted = pl.col("decision").is_in(["auto_match", "reviewed_match"])
    edges = (
        decisions.with_row_index("_e").filter(accepted)
        .join(idx.rename({"record_id": "left_id", "_n": "a"}), on="left_id")
        .join(idx.rename({"record_id": "right_id", "_n": "b"}), on="right_id")
    )
    comp = _components(nodes.height, edges["a"].to_numpy(), edges["b"].to_numpy())
    nodes = nodes.with_columns(component=pl.Series(comp, dtype=pl.Int64))
    violating = (
        nodes.group_by("component")
        .agg(
            (pl.col("nhs_number").drop_nulls().n_unique() > 1)
            | (pl.col("upn").drop_nulls().n_unique() > 1)
            | (pl.col("incident_id").drop_nulls().len() > pl.col("incident_id").drop_nulls().n_unique())
        )
        .filter(pl.col("nhs_number"))["component"]
    )
    if violating.len() == 0:
        return nodes, decisions
    bad_edges = edges.filter(pl.Series(comp[edges["a"].to_numpy()]).is_in(violating.implode()))
    blocked = _greedy_guarded(nodes, bad_edges)
    logger.info("guards: %d components held conflicting identifiers; %d links cut", violating.len(), len(blocked))
    decisions = decisions.with_row_index("_e").with_columns(
        _blocked=pl.col("_e").is_in(pl.Series(blocked, dtype=pl.UInt32).implode())
    ).with_columns(
        decision=pl.when("_blocked").then(pl.lit("blocked_by_guard")).otherwise(pl.col("decision")),
        reason=pl.when("_blocked").then(pl.lit("conflicting_identifiers")).otherwise(pl.col("reason")),
    ).drop("_e", "_blocked")
    kept = edges.filter(~pl.col("_e").is_in(pl.Series(blocked, dtype=pl.UInt32).implode()))
    comp = _components(nodes.height, kept["a"].to_numpy(), kept["b"].to_numpy())
    return nodes.with_columns(component=pl.Series(comp, dtype=pl.Int64)), decisions


def _greedy_guarded(nodes: pl.DataFrame, edges: pl.DataFrame) -> list[int]:
    """Kruskal-style union of the edges of conflicting components, strongest first.

    A Python loop, but only over the few components that break a guard (twins, a reused
    person_ref), never over the whole index.
    """
    ordered = edges.with_columns(
        _w=pl.when(pl.col("decision") == "reviewed_match").then(float("inf")).otherwise(pl.col("match_weight").fill_null(0.0))
    ).sort(["_w", "left_id", "right_id"], descending=[True, False, False])
    involved = np.unique(np.concatenate([ordered["a"].to_numpy(), ordered["b"].to_numpy()]))
    attrs = nodes.select("nhs_number", "upn", "incident_id")[involved.tolist()]
    parent: dict[int, int] = {int(n): int(n) for n in involved}
    ids: dict[int, tuple[set[str], set[str], set[str]]] = {}
    for n, (nhs, upn, inc) in zip(involved.tolist(), attrs.iter_rows(), strict=True):
        ids[n] = ({nhs} if nhs else set(), {upn} if upn else set(), {inc} if inc else set())

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    blocked: list[int] = []
    for e, a, b in ordered.select("_e", "a", "b").iter_rows():
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        (na, ua, ia), (nb, ub, ib) = ids[ra], ids[rb]
        if len(na | nb) > 1 or len(ua | ub) > 1 or (ia & ib):
            blocked.append(e)
            continue
        parent[rb] = ra
        ids[ra] = (na | nb, ua | ub, ia | ib)
    return blocked


def retire_impossible_reviews(nodes: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """A review pair whose two records already sit in people with different NHS numbers or
    UPNs (typically one twin against the other) cannot be a match: ``blocked_by_guard``
    instead of wasting a reviewer's time. Only the review pairs are looked at."""
    reviews = decisions.select("left_id", "right_id", "decision").with_row_index("_e").filter(
        pl.col("decision") == "review"
    )
    if reviews.height == 0:
        return decisions
    ident = nodes.group_by("component").agg(
        pl.col("nhs_number").drop_nulls().first().alias("nhs"), pl.col("upn").drop_nulls().first().alias("upn")
    )
    of = nodes.select("record_id", "component").join(ident, on="component")
    marked = (
        reviews
        .join(of.rename({"record_id": "left_id", "component": "lc", "nhs": "ln", "upn": "lu"}), on="left_id", how="left")
        .join(of.rename({"record_id": "right_id", "component": "rc", "nhs": "rn", "upn": "ru"}), on="right_id", how="left")
    )
    clash = ((pl.col("ln") != pl.col("rn")) | (pl.col("lu") != pl.col("ru"))).fill_null(False)
    retired = marked.filter(clash)["_e"].unique()
    if retired.len() == 0:
        return decisions
    def marked_as(value: str) -> pl.Series:
        return pl.repeat(value, retired.len(), dtype=pl.String, eager=True)

    return decisions.with_columns(
        decision=decisions["decision"].clone().scatter(retired, marked_as("blocked_by_guard")),
        reason=decisions["reason"].clone().scatter(retired, marked_as("conflicting_identifiers")),
    )


# ---- ids -----------------------------------------------------------------------------------


def assign_child_ids(members: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """``(component, child_id)``: yesterday's id of any member record, else a minted one.

    An old id goes to the component holding most of its old records (a split keeps the id
    with the larger part); a component holding several old ids (a merge) keeps the one with
    most members. Minted ids hash the smallest member record id, so reruns agree.
    """
    return _carried_ids(members, previous, "child_id", "C")


def assign_person_ids(members: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """``(component, person_id)`` for police nominals, carried over as child ids are
    (:func:`assign_child_ids`): an adult keeps his id when the record it was minted from
    (his earliest) is purged or delivered again."""
    return _carried_ids(members, previous, "person_id", "P")


def _carried_ids(members: pl.DataFrame, previous: pl.DataFrame, id_column: str, prefix: str) -> pl.DataFrame:
    old = (
        members.join(previous.select("record_id", id_column), on="record_id")
        .group_by("component", id_column).agg(n=pl.len(), first=pl.col("record_id").min())
    )
    owner = old.sort(["n", "first"], descending=[True, False]).unique(id_column, keep="first")
    reused = owner.sort(["n", id_column], descending=[True, False]).unique("component", keep="first").select("component", id_column)
    minted = (
        members.group_by("component").agg(seed=pl.col("record_id").min())
        .join(reused, on="component", how="left")
        .with_columns(pl.coalesce(id_column, stable_id(prefix, pl.col("seed"))).alias(id_column))
    )
    return minted.select("component", id_column)


# ---- the entry point -----------------------------------------------------------------------


def link_people(
    inputs: LinkInputs, settings: LinkageSettings, *, compare: Comparer | None = None,
    fitted: pl.DataFrame | None = None,
) -> LinkResult:
    """Link children across registers and police records, police adults across incidents,
    and place everyone in a household. See the module docstring for the steps.

    ``compare`` gives candidate pairs their comparison levels (default: compare them all).
    ``fitted`` (``schemas.LINK_MODELS`` rows, one per model) are models fitted on an earlier
    night to score with unchanged (``kept_model``); a model without one, or whose fit may not
    be kept, is fitted tonight and named in ``LinkResult.refitted``. Without it every model
    is fitted tonight."""
    started = time.perf_counter()
    if not 0 <= settings.review_threshold <= settings.match_threshold <= 1:
        raise LinkageError(
            f"linkage thresholds must satisfy 0 ≤ review ({settings.review_threshold}) ≤ "
            f"match ({settings.match_threshold}) ≤ 1; fix [linkage] in the config"
        )
    health = standardise_people(inputs.health, source="health_register").unique("record_id", keep="first", maintain_order=True)
    school = standardise_people(inputs.school, source="school_census").unique("record_id", keep="first", maintain_order=True)
    persons = standardise_people(inputs.persons, source="police_persons").unique("record_id", keep="first", maintain_order=True)
    incidents = standardise_address(inputs.incidents.with_columns(
        record_id=sources.record_id("police_incidents")
    ))
    partner_names = list(inputs.partners)
    partner_frames = [
        standardise_people(inputs.partners[name].rename(PARTNER_COLUMNS.get(name, {})), source=name)
        .unique("record_id", keep="first", maintain_order=True)
        for name in partner_names
    ]
    health, school, persons, incidents, *partner_frames = placement.resolve_household_keys(
        [health, school, persons, incidents, *partner_frames]
    )
    health = health.with_columns(upn=pl.lit(None, pl.String), incident_id=pl.lit(None, pl.String))
    school = school.with_columns(nhs_number=pl.lit(None, pl.String), incident_id=pl.lit(None, pl.String))
    persons = persons.with_columns(nhs_number=pl.lit(None, pl.String), upn=pl.lit(None, pl.String))
    partner_frames = [
        f.with_columns(
            *[pl.lit(None, pl.String).alias(c) for c in ("nhs_number", "upn") if c not in f.columns],
            incident_id=pl.lit(None, pl.String),
        )
        for f in partner_frames
    ]
    register = pl.concat([health, school, *partner_frames], how="diagonal_relaxed")
    siblings = placement.sibling_homes(persons, register)
    police_children = placement.compared_at_incident(persons.filter(pl.col("role") == "child"), persons, incidents, siblings)
    police_adults = persons.filter(pl.col("role") != "child")

    scored: list[Scored] = []
    model_rows: list[dict[str, object]] = []
    partner_models = [
        (f"register_child_{name}", "register_child", frame,
         pl.concat([health, school, *partner_frames[:i]], how="diagonal_relaxed"), PARTNER_PASSES, False)
        for i, (name, frame) in enumerate(zip(partner_names, partner_frames, strict=True))
    ]
    refitted: list[tuple[str, str]] = []
    reviewed = inputs.reviews.select("left_id", "right_id")
    for model, link_type, left, right, passes, dedupe in (
        ("register_child", "register_child", health, school, REGISTER_PASSES, False),
        *partner_models,
        ("police_child_register", "police_child", police_children, register, POLICE_CHILD_PASSES, False),
        ("police_child_dedup", "police_child", police_children, police_children, POLICE_DEDUP_PASSES, True),
        ("police_adult_dedup", "police_adult", police_adults, police_adults, POLICE_DEDUP_PASSES, True),
    ):
        specs = _specs(dedupe=dedupe)
        counts = (left.height, right.height)
        kept = kept_model(model, *counts, inputs.as_of, fitted, specs, settings) if fitted is not None else None
        if isinstance(kept, str):
            logger.info("%s: the stored fit is not kept (%s); fitting it tonight", model, kept)
            refitted.append((model, kept))
            kept = None
        if kept is not None:
            result = score_pairs(
                link_type, left, right, passes, settings, dedupe=dedupe, compare=compare, fitted=kept.model,
                reviewed=reviewed,
            )
            row = _model_row(model, *counts, result, kept.u_estimated_on, kept.fitted_on, kept.fitted_n)
        else:
            reuse = reusable_u(model, *counts, inputs.as_of, inputs.models, specs, settings)
            result = score_pairs(
                link_type, left, right, passes, settings, dedupe=dedupe, u=reuse[0] if reuse else None, compare=compare,
                reviewed=reviewed,
            )
            row = _model_row(model, *counts, result, reuse[1] if reuse else inputs.as_of, inputs.as_of, counts)
        scored.append(result)
        model_rows.append(row)
    decisions = pl.concat(
        [s.decisions.with_columns(_model=pl.lit(i, pl.UInt8)) for i, s in enumerate(scored)], rechunk=True
    )
    levels = [s.levels for s in scored]
    pairs_scored = sum(s.candidate_pairs for s in scored)
    # The concatenated copy is the one carried on; each model's own frame is let go.
    del scored, result
    models = pl.DataFrame(model_rows, schema=schemas.LINK_MODELS, orient="row")
    nodes = pl.concat([
        f.select(
            "record_id", "source", "nhs_number", "upn", "incident_id",
            kind=pl.when(pl.col("source") != "police_persons").then(pl.lit("register"))
            .when(pl.col("role") == "child").then(pl.lit("police_child")).otherwise(pl.lit("police_adult")),
        ) if "role" in f.columns else f.select(
            "record_id", "source", "nhs_number", "upn", "incident_id", kind=pl.lit("register")
        )
        for f in (register, persons)
    ], how="vertical_relaxed")
    decisions = apply_guards(decisions, nodes, twin_records(register, police_children), settings.ambiguity_margin)
    decisions = apply_reviews(decisions, inputs.reviews, nodes)
    nodes, decisions = cluster_records(nodes, decisions)
    decisions = retire_impossible_reviews(nodes, decisions)

    children, xref, members = _children(nodes, register, persons, incidents, siblings, inputs.child_xref)
    person_links = _person_links(nodes, persons, incidents, siblings, members, decisions, inputs.person_xref)
    incident_households = placement.incident_households(person_links, persons, incidents, children)
    households = placement.build_households([health, school, persons, incidents, *partner_frames])

    # The standardised records are not read again: let them go before the scores are written
    # out as text, the stage's last large allocation.
    register_records = register.height
    del health, school, register, partner_frames, police_children, police_adults, left, right
    final = schemas.conform(
        with_scores(decisions.sort("link_type", "left_id", "right_id"), levels), schemas.LINK_DECISIONS
    )
    del decisions, levels
    review_queue = final.filter(pl.col("decision") == "review").select(schemas.REVIEW_QUEUE.keys())
    # The audit floor at or under the review threshold keeps every decision scoring kept
    # (``score_pairs``): then the audited frame is the decisions frame, not a second copy.
    under_floor = (pl.col("decision") == "auto_nonmatch") & ~(
        pl.col("probability") >= settings.audit_min_probability
    ).fill_null(False)
    audited = final.filter(~under_floor) if final.select(under_floor.any()).item() else final
    logger.info(
        "linked %d register, %d police records into %d children, %d households in %.1f s",
        register_records, persons.height, children.height, households.height, time.perf_counter() - started,
    )
    return LinkResult(
        children=schemas.conform(children, schemas.CHILD_INDEX),
        households=schemas.conform(households, schemas.HOUSEHOLDS),
        person_links=schemas.conform(person_links, schemas.PERSON_LINKS),
        incident_households=schemas.conform(incident_households, schemas.INCIDENT_HOUSEHOLDS),
        decisions=final,
        audited=audited,
        review_queue=schemas.conform(review_queue, schemas.REVIEW_QUEUE),
        child_xref=schemas.conform(xref, schemas.CHILD_XREF),
        models=models,
        pairs_scored=pairs_scored,
        refitted=pl.DataFrame(refitted, schema=REFITTED, orient="row"),
        person_xref=schemas.conform(
            person_links.filter(pl.col("person_id").is_not_null()).select(
                pl.concat_str(pl.lit("police_persons:"), "incident_id", pl.lit(":"), "person_ref").alias("record_id"),
                "person_id",
            ).unique().sort("record_id"),
            schemas.PERSON_XREF,
        ),
    )


def _children(
    nodes: pl.DataFrame, register: pl.DataFrame, persons: pl.DataFrame, incidents: pl.DataFrame, siblings: pl.DataFrame,
    previous: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """CHILD_INDEX rows, the new CHILD_XREF, and member records with their child_id."""
    child_components = nodes.filter(pl.col("kind") != "police_adult")["component"].unique().implode()
    members = nodes.filter(pl.col("component").is_in(child_components)).select("record_id", "source", "component")
    ids = assign_child_ids(members, previous)
    members = members.join(ids, on="component")
    police = placement.person_household(persons, incidents, siblings).filter(pl.col("role") == "child").with_columns(household_id=pl.col("lives_at"))
    attrs = [
        "forename", "surname", "dob", "nhs_number", "upn", "postcode", "address_display", "household_id",
        "school_urn", "school_name", "year_group", "gp_practice_code", "health_visitor_team",
        "provider_urn", "provider_name", "case_ref", "social_care_status", "social_care_since", "social_care_team",
    ]
    records = pl.concat([register, police], how="diagonal_relaxed")
    # A night without a partner register still has its columns, empty.
    records = records.with_columns(
        pl.lit(None, schemas.CHILD_INDEX[c]).alias(c) for c in attrs if c not in records.columns
    ).select("record_id", "uprn", *attrs)
    full = members.join(records, on="record_id", how="left").with_columns(
        _rank=pl.col("source").replace_strict(SOURCE_PRIORITY, return_dtype=pl.Int32),
    )
    # Register spelling is preferred; the home is chosen in pipeline.link.households.child_homes.
    by_rank = full.sort(["child_id", "_rank", "record_id"])
    named = by_rank.group_by("child_id", maintain_order=True).agg(
        *[pl.col(c).drop_nulls().first() for c in attrs if c not in ("postcode", "address_display", "household_id")],
        sources=pl.col("source").replace_strict(CHILD_SOURCE_LABEL, return_dtype=pl.String).unique().sort(),
        # Every spelling and date of birth the child's records give: a caller who names the
        # child as the setting knows it must still find it (MASH contacts' candidate sets).
        known_forenames=pl.col("forename").drop_nulls().unique().sort(),
        known_dobs=pl.col("dob").drop_nulls().unique().sort(),
    )
    homes = placement.child_homes(full)
    children = named.join(homes, on="child_id").sort("child_id")
    xref = members.select("record_id", "child_id").sort("record_id")
    return children, xref, members


def _person_links(
    nodes: pl.DataFrame, persons: pl.DataFrame, incidents: pl.DataFrame, siblings: pl.DataFrame, members: pl.DataFrame,
    decisions: pl.DataFrame, previous: pl.DataFrame,
) -> pl.DataFrame:
    police_nodes = nodes.filter(pl.col("source") == "police_persons")
    person_ids = assign_person_ids(police_nodes.select("record_id", "component"), previous)
    accepted = decisions.filter(
        pl.col("decision").is_in(["auto_match", "reviewed_match"]) & (pl.col("link_type") == "police_child")
    )
    # Probability of the chosen link from a police child to the register.
    police_id = pl.when(pl.col("left_id").str.starts_with("police_persons:")).then(pl.col("left_id")).otherwise(pl.col("right_id"))
    to_register = (
        accepted.filter(~(pl.col("left_id").str.starts_with("police_persons:") & pl.col("right_id").str.starts_with("police_persons:")))
        .group_by(police_id.alias("right_id"))
        .agg(link_probability=pl.col("probability").max())
    )
    linked_to_register = members.filter(pl.col("source") != "police_persons").select("child_id").unique()
    child_of = members.filter(pl.col("source") == "police_persons").select("record_id", "child_id")
    return (
        placement.person_household(persons, incidents, siblings)
        .join(police_nodes.select("record_id", "component"), on="record_id", how="left")
        .join(person_ids.select("component", "person_id"), on="component", how="left")
        .join(child_of, on="record_id", how="left")
        .join(to_register.rename({"right_id": "record_id"}), on="record_id", how="left")
        .with_columns(
            household_id=pl.col("lives_at"),
            link_probability=pl.when(pl.col("child_id").is_in(linked_to_register["child_id"].implode()))
            .then(pl.col("link_probability")),
        )
        .sort("incident_id", "person_ref")
        .select(schemas.PERSON_LINKS.keys())
    )
