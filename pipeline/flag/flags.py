"""Flag children in domestic-abuse households, build the MASH list and school notifications.

Explainable line by line: there is no score. A child is flagged when a named rule in
``config/rules.toml`` fires, and every flag carries the rule ids, the incidents behind them
and (in ``evidence``) one plain-English sentence per rule. See docs/rules.md.

The night's steps, each a small function named after what it makes:

1. ``incidents_in_window``     police incidents reported within the lookback window
2. ``child_incident_pairs``    which children each incident reaches (household or named)
3. ``child_rule_facts``        per child: incidents, DASH levels, counts, age → rules fired
4. ``apply_level_floors``      levels only rise, a coordinator's level is a floor
5. ``mash_rows``               one row per household with something new, prioritised
6. ``school_notification_rows`` next-school-day notices for new incidents
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import polars as pl

from pipeline import schemas, sources
from pipeline.flag.calendar import (
    LONDON,
    TIMEZONE,
    SchoolTerms,
    add_working_hours,
    school_day_starts_after,
)
from pipeline.flag.rules import LEVEL_RANK, LEVELS, OPEN_PLAN_STATUSES, RULE_ORDER, Rules
from pipeline.link.contacts import (
    child_contact_facts,
    consultations_to_revisit,
    contact_candidates,
    contacts_in_window,
)
from pipeline.outputs.discussion import discussion_frame
from pipeline.sources import REGISTRY

# (source, identifier) of each register, in the order linkage prefers their values: a
# child's register records in flag evidence.
_REGISTER_IDS: list[tuple[str, str]] = [
    (s.name, s.identifier) for s in sorted(REGISTRY, key=lambda s: s.link_priority or 0)
    if s.is_register and s.identifier
]
log = logging.getLogger(__name__)

# Rows listed on earlier list dates (strictly before this one), by their stable ``list_key``
# ("household:<id>", or "child:<id>" for a child with no known home), with the highest level
# each was listed at and the last date it was listed; drives ``mash_list.new_since_previous``,
# the badge and the history line. A frame with ``household_id`` only is keyed on it.
EVER_LISTED_HOUSEHOLDS = {
    "list_key": pl.String, "household_id": pl.String, "max_risk_level": pl.String, "last_listed_on": pl.Date,
}
# The police people of the night's incidents, as far as the list needs them: who the suspect
# is, in police's words (``relationship_to_victim`` of landing contract v1).
PERSON_RELATIONSHIPS = {
    "incident_id": pl.String, "person_ref": pl.String, "role": pl.String, "relationship_to_victim": pl.String,
    # A suspect whose surname no child of the household shares prompts "who else lives here?".
    "surname": pl.String,
}

_RANK_TO_LEVEL = {rank: level for level, rank in LEVEL_RANK.items()}


# schemas.py's dicts mix dtype instances and classes, which mypy infers as dict[str, object];
# these two wrappers keep that one cast in one place.
_Schema = dict[str, pl.DataType | type[pl.DataType]]


def _empty_default(schema: Mapping[str, Any]) -> pl.DataFrame:
    return schemas.empty(cast(_Schema, schema))


def _conform(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    return schemas.conform(frame, cast(_Schema, schema))


@dataclass(frozen=True)
class FlagInputs:
    """Everything the flag stage reads for one list date (see pipeline/schemas.py)."""

    list_date: date
    incidents: pl.DataFrame                 # CURRENT_INCIDENTS
    incident_households: pl.DataFrame       # INCIDENT_HOUSEHOLDS
    person_links: pl.DataFrame              # PERSON_LINKS
    children: pl.DataFrame                  # CHILD_INDEX
    households: pl.DataFrame                # HOUSEHOLDS
    previous_list_date: date | None = None
    previous_flags: pl.DataFrame = field(default_factory=lambda: _empty_default(schemas.CHILD_FLAGS))
    ever_listed_households: pl.DataFrame = field(
        default_factory=lambda: _empty_default(EVER_LISTED_HOUSEHOLDS)
    )
    decisions: pl.DataFrame = field(
        default_factory=lambda: _empty_default(schemas.COORDINATOR_DECISIONS)
    )
    # CURRENT_INCIDENTS as of the previous list date: what an updated incident said before.
    previous_incidents: pl.DataFrame = field(default_factory=lambda: _empty_default(schemas.CURRENT_INCIDENTS))
    persons: pl.DataFrame = field(default_factory=lambda: _empty_default(PERSON_RELATIONSHIPS))
    # The MASH's contacts as of the list date (CURRENT_CONTACTS): landing contract v2.
    contacts: pl.DataFrame = field(default_factory=lambda: _empty_default(schemas.CURRENT_CONTACTS))


@dataclass(frozen=True)
class FlagResult:
    child_flags: pl.DataFrame               # CHILD_FLAGS
    mash_list: pl.DataFrame                 # MASH_LIST
    school_notifications: pl.DataFrame      # SCHOOL_NOTIFICATIONS
    evidence: pl.DataFrame                  # FLAG_EVIDENCE
    unlocated_suspects: pl.DataFrame = field(default_factory=lambda: _empty_default(schemas.UNLOCATED_SUSPECTS))
    contact_candidates: pl.DataFrame = field(default_factory=lambda: _empty_default(schemas.CONTACT_CANDIDATES))
    consultations_to_revisit: pl.DataFrame = field(
        default_factory=lambda: _empty_default(schemas.CONSULTATIONS_TO_REVISIT)
    )


# ---- small expressions ---------------------------------------------------------------------

def _rank(level: pl.Expr) -> pl.Expr:
    return level.replace_strict(dict(LEVEL_RANK), default=None, return_dtype=pl.Int8)


def _level(rank: pl.Expr) -> pl.Expr:
    return rank.replace_strict(_RANK_TO_LEVEL, default=None, return_dtype=pl.String)


def nth_birthday(dob: pl.Expr, years: int) -> pl.Expr:
    """The date of the ``years``-th birthday. A 29 February child's birthday in a common year is
    1 March (as English law counts it), not 28 February."""
    shifted = dob.dt.offset_by(f"{years}y")
    leapling = (dob.dt.month() == 2) & (dob.dt.day() == 29) & (shifted.dt.day() == 28)
    return pl.when(leapling).then(shifted + pl.duration(days=1)).otherwise(shifted)


def _ids(column: str) -> pl.Expr:
    return pl.col(column).list.join(", ")


def _latest_decisions(decisions: pl.DataFrame, publication: datetime) -> pl.DataFrame:
    """The latest decision per household made before the list was published (so a rerun of a
    past date sees exactly the decisions that existed then)."""
    cutoff = publication.astimezone(LONDON)
    return (
        decisions.filter(pl.col("decided_at") <= pl.lit(cutoff).dt.convert_time_zone("UTC"))
        .sort("decided_at")
        .unique("household_id", keep="last")
    )


# ---- 1. incidents in the window --------------------------------------------------------------

def incidents_in_window(incidents: pl.DataFrame, *, list_date: date, lookback_days: int) -> pl.DataFrame:
    """Incidents reported (Europe/London date) from ``lookback_days`` before the list date to the
    list date, both inclusive, with ``reported_on`` and ``days_before_list`` added."""
    return (
        incidents.with_columns(
            reported_on=pl.col("reported_at").dt.convert_time_zone(TIMEZONE).dt.date(),
        )
        .with_columns(
            days_before_list=(pl.lit(list_date) - pl.col("reported_on")).dt.total_days(),
        )
        .filter(pl.col("days_before_list").is_between(0, lookback_days))
        .unique("incident_id", keep="last")
    )


# ---- 2. which children each incident reaches -------------------------------------------------

def child_incident_pairs(
    window: pl.DataFrame,
    *,
    incident_households: pl.DataFrame,
    person_links: pl.DataFrame,
    children: pl.DataFrame,
) -> pl.DataFrame:
    """One row per (child, incident): every child living in any household the incident touches
    (victim's, suspect's, the incident address, a named child's), plus children linked directly
    from a nominal on the incident. ``named`` is true when the child was a nominal on it."""
    in_window = window.select("incident_id")
    via_household = (
        incident_households.filter(pl.col("household_id").is_not_null())
        .join(in_window, on="incident_id", how="semi")
        .select("incident_id", "household_id")
        .unique()
        .join(children.select("child_id", "household_id"), on="household_id", how="inner")
        .select(
            "child_id", "incident_id",
            named=pl.lit(False),
            nominal_record=pl.lit(None, dtype=pl.String),
        )
    )
    via_nominal = (
        person_links.filter(pl.col("child_id").is_not_null())
        .join(in_window, on="incident_id", how="semi")
        .select(
            "child_id", "incident_id",
            named=pl.lit(True),
            nominal_record=sources.record_id("police_persons"),
        )
    )
    unknown = via_nominal.join(children, on="child_id", how="anti")
    if unknown.height:
        log.warning(
            "%d police nominal link(s) point at child ids missing from the child index; "
            "those children cannot be flagged until linkage is consistent", unknown.height,
        )
    return (
        pl.concat([via_household, via_nominal.join(children.select("child_id"), on="child_id", how="semi")])
        .group_by("child_id", "incident_id")
        .agg(pl.col("named").any(), pl.col("nominal_record").drop_nulls().unique().sort())
    )


# ---- 3. rules per child ------------------------------------------------------------------------

def _rule_conditions(rules: Rules, list_date: date) -> dict[str, pl.Expr]:
    n = pl.col("n_incidents")
    return {
        "DA_IN_HOUSEHOLD": n >= 1,
        "DASH_HIGH": pl.col("dash_high_ids").list.len() > 0,
        "REPEAT_INCIDENTS": n >= rules.repeat_incidents_min,
        "UNDER_ONE": pl.col("dob").is_not_null() & (pl.lit(list_date) < nth_birthday(pl.col("dob"), 1)),
        "DASH_MEDIUM": pl.col("dash_medium_ids").list.len() > 0,
        "TWO_INCIDENTS": (n >= rules.two_incidents_min) & (n < rules.repeat_incidents_min),
        "CHILDREN_PRESENT": pl.col("present_ids").list.len() > 0,
        "OPEN_PLAN": pl.col("social_care_status").is_in(list(OPEN_PLAN_STATUSES)),
        "KNOWN_TO_SOCIAL_CARE": pl.col("social_care_status").is_not_null()
        & ((pl.col("social_care_status") != "closed")
           | (pl.col("social_care_since") >= pl.lit(list_date - timedelta(days=rules.social_care_closed_days)))),
        "REPEATED_CONCERN": pl.col("repeated_ids").list.len() > 0,
        "PROFESSIONAL_CONCERN": pl.col("contact_ids").list.len() > 0,
    }


_NO_CONTACTS = {
    "contact_ids": pl.List(pl.String), "new_contact_ids": pl.List(pl.String),
    "contact_lines": pl.List(pl.String), "repeated_ids": pl.List(pl.String),
}


def child_rule_facts(
    pairs: pl.DataFrame, *, window: pl.DataFrame, children: pl.DataFrame, rules: Rules, list_date: date,
    contact_facts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per flagged child: the incidents behind the flag, the facts the rules test, a boolean
    column per data rule (``fired_<RULE>``) and ``rules_rank`` (the level the rules alone give).

    A child is flagged when an incident reaches it, or when contacts from different callers
    about it (``contact_facts.repeated_ids``) put it there by themselves; its contacts in the
    window (``contact_facts``, :func:`pipeline.link.contacts.child_contact_facts`) come with it."""
    per_pair = pairs.join(
        window.select("incident_id", "reported_at", "dash_risk", "children_present", "last_changed_on"),
        on="incident_id",
    )
    facts = (
        per_pair.group_by("child_id")
        .agg(
            incident_ids=pl.col("incident_id").unique().sort(),
            n_incidents=pl.col("incident_id").n_unique(),
            dash_high_ids=pl.col("incident_id").filter(pl.col("dash_risk") == "high").unique().sort(),
            dash_medium_ids=pl.col("incident_id").filter(pl.col("dash_risk") == "medium").unique().sort(),
            # Present: the police recorded children present, or named this child on the incident.
            present_ids=pl.col("incident_id")
            .filter((pl.col("children_present") == "yes") | pl.col("named"))
            .unique()
            .sort(),
            named_ids=pl.col("incident_id").filter(pl.col("named")).unique().sort(),
            nominal_records=pl.col("nominal_record").explode().drop_nulls().unique().sort(),
            latest_reported_at=pl.col("reported_at").max(),
        )
    )
    contact_facts = contact_facts if contact_facts is not None else _empty_default({"child_id": pl.String, **_NO_CONTACTS})
    by_contacts = contact_facts.filter(pl.col("repeated_ids").list.len() > 0).join(facts, on="child_id", how="anti")
    empty_ids = pl.lit([], dtype=pl.List(pl.String))
    facts = pl.concat([
        facts,
        by_contacts.select("child_id").with_columns(
            *[empty_ids.alias(c) for c in ("incident_ids", "dash_high_ids", "dash_medium_ids", "present_ids",
                                           "named_ids", "nominal_records")],
            n_incidents=pl.lit(0, pl.UInt32),
            latest_reported_at=pl.lit(None, pl.Datetime("us", "UTC")),
        ),
    ], how="diagonal_relaxed")
    facts = (
        facts.join(contact_facts, on="child_id", how="left")
        .with_columns(*[pl.col(c).fill_null(empty_ids) for c in _NO_CONTACTS])
        .join(children, on="child_id", how="left")
    )
    for column, dtype in (("social_care_status", pl.String), ("social_care_since", pl.Date)):
        if column not in facts.columns:
            facts = facts.with_columns(pl.lit(None, dtype).alias(column))
    conditions = _rule_conditions(rules, list_date)
    facts = facts.with_columns(
        [cond.fill_null(False).alias(f"fired_{rule}") for rule, cond in conditions.items()]
    )
    ranks = [
        pl.when(pl.col(f"fired_{rule}")).then(LEVEL_RANK[rules.level_of(rule)]).otherwise(0)
        for rule in conditions
    ]
    return facts.with_columns(rules_rank=pl.max_horizontal(ranks).cast(pl.Int8))


# ---- 4. levels only rise; coordinators set floors ----------------------------------------------

def apply_level_floors(
    facts: pl.DataFrame,
    *,
    previous_flags: pl.DataFrame,
    decisions: pl.DataFrame,
    previous_publication: datetime | None,
) -> pl.DataFrame:
    """Add ``previous_rank``, ``decision_rank``, ``final_rank``, ``status`` and the process
    reasons. The previous level is carried (levels only rise automatically) unless a coordinator
    decided a level for the household after the previous list was published: that decision
    replaces the carried level, which is how a level comes down. A decision's level is also a
    floor every night after."""
    previous = previous_flags.select(
        "child_id", previous_rank=_rank(pl.col("risk_level"))
    ).group_by("child_id").agg(pl.col("previous_rank").max())
    decided = decisions.filter(pl.col("risk_level").is_not_null()).select(
        "household_id",
        decision_rank=_rank(pl.col("risk_level")),
        decision_by=pl.col("decided_by"),
        decision_at=pl.col("decided_at"),
        decision_reason=pl.col("reason"),
    )
    if previous_publication is None:
        after_previous = pl.lit(True)
    else:
        after_previous = pl.col("decision_at") > pl.lit(previous_publication).dt.convert_time_zone("UTC")
    out = (
        facts.join(previous, on="child_id", how="left")
        .join(decided, on="household_id", how="left")
        .with_columns(
            carried_rank=pl.when(pl.col("decision_rank").is_not_null() & after_previous)
            .then(None)
            .otherwise(pl.col("previous_rank"))
            .cast(pl.Int8),
        )
        .with_columns(
            final_rank=pl.max_horizontal("rules_rank", "decision_rank", "carried_rank").cast(pl.Int8),
        )
    )
    coordinator = pl.col("decision_rank").fill_null(0)
    carried = pl.col("carried_rank").fill_null(0)
    return out.with_columns(
        fired_COORDINATOR_LEVEL=(coordinator > pl.col("rules_rank")) & (coordinator == pl.col("final_rank")),
        fired_LEVEL_KEPT=(carried > pl.col("rules_rank"))
        & (carried == pl.col("final_rank"))
        & ~((coordinator > pl.col("rules_rank")) & (coordinator == pl.col("final_rank"))),
        status=pl.when(pl.col("previous_rank").is_null())
        .then(pl.lit("new"))
        .when(pl.col("final_rank") > pl.col("previous_rank"))
        .then(pl.lit("escalated"))
        .otherwise(pl.lit("continuing")),
    )


# ---- words for the list ------------------------------------------------------------------------
# The list is read at 08:30 by a coordinator, not an analyst: rule ids, enum codes and
# free-text offence types become the few words a person would say.

# Police send the offence as free text; the list shows its category. The first entry whose
# words occur in the (lower-cased) text wins, so the specific ones come first. Text matching
# none is shown as police wrote it.
OFFENCE_CATEGORIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("no crime", "no offence"), "no crime recorded"),
    (("strangulation", "suffocation"), "non-fatal strangulation"),
    (("sexual", "rape"), "sexual offence"),
    (("assault", "abh", "gbh", "bodily harm", "wounding", "battery"), "assault"),
    (("criminal damage", "damage"), "criminal damage"),
    (("stalking",), "stalking"),
    (("harass", "malicious comm"), "harassment"),
    (("coercive", "controlling"), "controlling or coercive behaviour"),
    (("threat",), "threats"),
    (("breach",), "breach of a court order"),
    (("theft", "burglary"), "theft"),
)
RELATIONSHIP_WORDS = {
    "self": "the victim", "partner": "the victim's partner", "ex_partner": "the victim's ex-partner",
    "parent": "the victim's parent", "step_parent": "the victim's step-parent", "child": "the victim's child",
    "step_child": "the victim's stepchild", "sibling": "the victim's sibling",
    "other_family": "another family member of the victim", "other": "known to the victim, not family",
    "unknown": "not recorded by police",
}
# How an incident reaches a listed row (``INCIDENT_HOUSEHOLDS.basis``, or a child named on it).
REACH_BASES = ("victim_home", "suspect_home", "incident_address", "linked_child_home", "known_home", "named")
_DASH_WORDS = {"not_assessed": "not assessed"}
_DASH_RANK = {"not_assessed": 0, "standard": 1, "medium": 2, "high": 3}


def offence_category(offence: pl.Expr) -> pl.Expr:
    """The offence's category in plain words ("assault", "criminal damage", "harassment")."""
    text = offence.str.to_lowercase()
    out: Any = pl.when(offence.is_null() | (offence.str.strip_chars() == "")).then(pl.lit("offence not recorded"))
    for words, category in OFFENCE_CATEGORIES:
        out = out.when(pl.any_horizontal([text.str.contains(w, literal=True) for w in words])).then(pl.lit(category))
    return out.otherwise(text)


def _dash_words(dash: pl.Expr) -> pl.Expr:
    return dash.replace(_DASH_WORDS)


def _day(ts: pl.Expr) -> pl.Expr:
    """'10 Oct' for a UTC timestamp, on the Europe/London date."""
    return ts.dt.convert_time_zone(TIMEZONE).dt.strftime("%-d %b")


def level_reason(rules: Rules) -> pl.Expr:
    """Why a child has its level, in a few words: the fired rules that give that level, and
    whether police named the child at an incident ("under one; named at the incident")."""
    n = pl.col("n_incidents").cast(pl.String)
    words: dict[str, pl.Expr] = {
        "DA_IN_HOUSEHOLD": pl.lit("domestic abuse in the household"),
        "DASH_HIGH": pl.lit("DASH high"),
        "REPEAT_INCIDENTS": pl.concat_str([n, pl.lit(f" incidents in {rules.lookback_days} days")]),
        "UNDER_ONE": pl.lit("under one"),
        "DASH_MEDIUM": pl.lit("DASH medium"),
        "TWO_INCIDENTS": pl.concat_str([n, pl.lit(f" incidents in {rules.lookback_days} days")]),
        # A named child is said so below; "present" then adds nothing.
        "CHILDREN_PRESENT": pl.when(pl.col("named_ids").list.len() == 0)
        .then(pl.lit("children present at the incident")).otherwise(None),
        "OPEN_PLAN": pl.lit("open social-care plan: inform the allocated worker today"),
        "KNOWN_TO_SOCIAL_CARE": pl.lit("known to social care"),
        "REPEATED_CONCERN": pl.lit("contacts from different callers"),
        "PROFESSIONAL_CONCERN": pl.lit("earlier contact with the MASH"),
    }
    at_level = [
        pl.when(pl.col(f"fired_{rule}") & (pl.col("final_rank") == LEVEL_RANK[rules.level_of(rule)]))
        .then(text).otherwise(None)
        for rule, text in words.items()
    ]
    process = [
        pl.when(pl.col("fired_LEVEL_KEPT")).then(pl.lit("level kept from the previous list")).otherwise(None),
        pl.when(pl.col("fired_COORDINATOR_LEVEL")).then(pl.lit("level set by a coordinator")).otherwise(None),
        pl.when(pl.col("named_ids").list.len() > 0).then(pl.lit("named at the incident")).otherwise(None),
    ]
    return pl.concat_list([*at_level, *process]).list.drop_nulls().list.unique(maintain_order=True).list.join("; ")


def _reasons_expr() -> pl.Expr:
    return pl.concat_list(
        [pl.when(pl.col(f"fired_{rule}")).then(pl.lit(rule)).otherwise(None) for rule in RULE_ORDER]
    ).list.drop_nulls()


_SOCIAL_CARE_WORDS = {
    "early_help": "early help", "referral": "referral open", "assessment": "assessment open",
    "child_in_need": "open child-in-need plan", "child_protection_plan": "open child protection plan",
    "looked_after": "looked after", "pre_birth": "pre-birth (unborn child)",
}


def social_care_words(list_date: date) -> pl.Expr:
    """The child's social-care involvement in a coordinator's words: "open child protection
    plan since 3 Mar 2026 (Norwich CP Team 2)", "looked after since …", "closed 6 weeks ago"."""
    days = (pl.lit(list_date) - pl.col("social_care_since")).dt.total_days()
    closed = pl.concat_str([
        pl.lit("closed "),
        pl.when(days < 14).then(pl.concat_str([days.cast(pl.String), pl.lit(" days ago")]))
        .otherwise(pl.concat_str([(days // 7).cast(pl.String), pl.lit(" weeks ago")])),
    ])
    open_words = pl.concat_str([
        pl.col("social_care_status").replace_strict(_SOCIAL_CARE_WORDS, default=pl.col("social_care_status")),
        pl.lit(" since "), pl.col("social_care_since").dt.strftime("%-d %b %Y"),
    ])
    team = pl.when(pl.col("social_care_team").is_not_null()).then(
        pl.concat_str([pl.lit(" ("), pl.col("social_care_team"), pl.lit(")")])
    ).otherwise(pl.lit(""))
    return pl.when(pl.col("social_care_status").is_null()).then(None).otherwise(pl.concat_str([
        pl.when(pl.col("social_care_status") == "closed").then(closed).otherwise(open_words), team,
    ]))


# ---- evidence ----------------------------------------------------------------------------------

def evidence_rows(flags: pl.DataFrame, *, rules: Rules, list_date: date) -> pl.DataFrame:
    """One row per child and rule fired, with the incidents and records behind it and a sentence."""
    window_start = (list_date - timedelta(days=rules.lookback_days)).isoformat()
    day = list_date.isoformat()
    n = pl.col("n_incidents").cast(pl.String)
    register_records = pl.concat_list(
        pl.concat_str([pl.lit(f"{name}:"), pl.col(identifier)]) for name, identifier in _REGISTER_IDS
    ).list.drop_nulls()
    base = flags.with_columns(
        source_records=pl.concat_list(register_records, pl.col("nominal_records")),
        _level=_level(pl.col("final_rank")),
    )
    empty_ids = pl.lit([], dtype=pl.List(pl.String))
    specs: dict[str, tuple[pl.Expr, pl.Expr]] = {
        "DA_IN_HOUSEHOLD": (
            pl.col("incident_ids"),
            pl.concat_str([
                pl.lit("Domestic-abuse incident(s) "), _ids("incident_ids"),
                pl.lit(f", reported from {window_start} to {day} (within {rules.lookback_days} days "
                       "of the list date), involve a victim or suspect living in household "),
                pl.col("household_id").fill_null("(unknown)"),
                pl.lit(" or name the child."),
            ]),
        ),
        "DASH_HIGH": (
            pl.col("dash_high_ids"),
            pl.concat_str([pl.lit("Incident(s) "), _ids("dash_high_ids"), pl.lit(" assessed DASH high.")]),
        ),
        "REPEAT_INCIDENTS": (
            pl.col("incident_ids"),
            pl.concat_str([
                n, pl.lit(f" incidents within {rules.lookback_days} days (threshold "
                          f"{rules.repeat_incidents_min}): "), _ids("incident_ids"), pl.lit("."),
            ]),
        ),
        "UNDER_ONE": (
            pl.col("incident_ids"),
            pl.concat_str([
                pl.lit("Born "), pl.col("dob").cast(pl.String),
                pl.lit(f": under one year old on {day} (first birthday "),
                nth_birthday(pl.col("dob"), 1).cast(pl.String), pl.lit(")."),
            ]),
        ),
        "DASH_MEDIUM": (
            pl.col("dash_medium_ids"),
            pl.concat_str([pl.lit("Incident(s) "), _ids("dash_medium_ids"), pl.lit(" assessed DASH medium.")]),
        ),
        "TWO_INCIDENTS": (
            pl.col("incident_ids"),
            pl.concat_str([
                n, pl.lit(f" incidents within {rules.lookback_days} days: "), _ids("incident_ids"), pl.lit("."),
            ]),
        ),
        "CHILDREN_PRESENT": (
            pl.col("present_ids"),
            pl.concat_str([
                pl.lit("Children recorded present (or this child named) at incident(s) "),
                _ids("present_ids"), pl.lit("."),
            ]),
        ),
        "OPEN_PLAN": (
            pl.col("incident_ids"),
            pl.concat_str([pl.lit("Social care: "), pl.col("social_care").fill_null(""),
                           pl.lit(". A new incident on a child with an open plan: inform the allocated worker today.")]),
        ),
        "KNOWN_TO_SOCIAL_CARE": (
            pl.col("incident_ids"),
            pl.concat_str([pl.lit("Social care: "), pl.col("social_care").fill_null(""), pl.lit(".")]),
        ),
        "REPEATED_CONCERN": (
            empty_ids,
            pl.concat_str([
                pl.lit(f"Contacts from different callers within {rules.repeat_concern_days} days: "),
                _ids("repeated_ids"), pl.lit("."),
            ]),
        ),
        "PROFESSIONAL_CONCERN": (
            empty_ids,
            pl.concat_str([
                pl.lit(f"MASH contact(s) in the last {rules.contact_window_days} days about the child, or "
                       "naming it as a candidate: "), _ids("contact_ids"), pl.lit("."),
            ]),
        ),
        "LEVEL_KEPT": (
            empty_ids,
            pl.concat_str([
                pl.lit("Level "), pl.col("_level"),
                pl.lit(" kept from the previous list; the rules alone give "),
                _level(pl.col("rules_rank")), pl.lit(". Only a coordinator's decision lowers a level."),
            ]),
        ),
        "COORDINATOR_LEVEL": (
            empty_ids,
            pl.concat_str([
                pl.lit("Coordinator "), pl.col("decision_by").fill_null("(unnamed)"),
                pl.lit(" set level "), _level(pl.col("decision_rank")), pl.lit(" on "),
                pl.col("decision_at").dt.convert_time_zone(TIMEZONE).dt.strftime("%Y-%m-%d %H:%M"),
                pl.lit(": "), pl.col("decision_reason").fill_null("(no reason recorded)"),
                pl.lit("."),
            ]),
        ),
    }
    parts = [
        base.filter(pl.col(f"fired_{rule}")).select(
            pl.lit(list_date).alias("list_date"),
            "child_id",
            pl.lit(rule).alias("rule_id"),
            pl.lit(rules.version).alias("rules_version"),
            incident_ids.alias("incident_ids"),
            "household_id",
            "source_records",
            detail.alias("detail"),
        )
        for rule, (incident_ids, detail) in specs.items()
    ]
    rule_order = {rule: i for i, rule in enumerate(RULE_ORDER)}
    return _conform(
        pl.concat([_conform(p, schemas.FLAG_EVIDENCE) for p in parts])
        .sort("child_id", pl.col("rule_id").replace_strict(rule_order, return_dtype=pl.Int32)),
        schemas.FLAG_EVIDENCE,
    )


# ---- 5. the MASH list ----------------------------------------------------------------------------

def due_by_per_level(list_date: date, rules: Rules) -> pl.DataFrame:
    """``due_by`` for each level: the list's publication time plus the level's working hours."""
    published = datetime.combine(list_date, rules.published_at, LONDON)
    return pl.DataFrame(
        {
            "risk_level": list(LEVELS),
            "due_by": [
                add_working_hours(published, rules.response_hours[lvl],
                                  day_start=rules.working_day_start, day_end=rules.working_day_end)
                for lvl in LEVELS
            ],
        },
        schema={"risk_level": pl.String, "due_by": pl.Datetime("us", TIMEZONE)},
    )


def _agencies(flags: pl.DataFrame, list_date: date) -> pl.DataFrame:
    """Per household key: police, each child's school and GP, health visiting for under-fives."""
    under_five = pl.col("dob").is_not_null() & (pl.lit(list_date) < nth_birthday(pl.col("dob"), 5))
    health_visiting = pl.when(under_five).then(
        pl.when(pl.col("health_visitor_team").is_not_null())
        .then(pl.concat_str([pl.lit("health_visiting:"), pl.col("health_visitor_team")]))
        .otherwise(pl.lit("health_visiting"))
    )
    agencies = sorted((s.agency for s in REGISTRY if s.agency), key=lambda a: a.order)
    per_child = flags.select(
        "_hh_key",
        agency=pl.concat_list(
            *(pl.lit(a.tag) if a.column is None else pl.concat_str([pl.lit(f"{a.tag}:"), pl.col(a.column)])
              for a in agencies),
            health_visiting,
        ),
    ).explode("agency").drop_nulls("agency")
    # The registry's agency order; health visiting (no source of its own) last.
    order = pl.lit(len(agencies))
    for a in reversed(agencies):
        matches = pl.col("agency") == a.tag if a.column is None else pl.col("agency").str.starts_with(f"{a.tag}:")
        order = pl.when(matches).then(a.order).otherwise(order)
    return (
        per_child.unique()
        .sort(order, "agency")
        .group_by("_hh_key", maintain_order=True)
        .agg(agencies=pl.col("agency"))
    )


def _assign_priorities(candidates: pl.DataFrame) -> pl.DataFrame:
    """Unique priorities 1..n: coordinator pins first (in pin order; a clash or a pin beyond the
    list's length takes the next free place), then high before medium before standard, most
    recent incident, youngest child, household id."""
    ordered = candidates.sort(
        ["final_rank", "latest_reported_at", "youngest_dob", "_hh_key"],
        descending=[True, True, True, False],
        nulls_last=True,
    )
    keys: list[str] = ordered.filter(pl.col("pin").is_null())["_hh_key"].to_list()
    pinned = ordered.filter(pl.col("pin").is_not_null()).with_row_index("_order").sort("pin", "_order")
    last = -1
    # A loop over pinned households only: a handful a day, never the hot path.
    for key, pin in pinned.select("_hh_key", "pin").iter_rows():
        position = min(max(int(pin) - 1, last + 1), len(keys))
        if position != int(pin) - 1:
            log.warning("household %s pinned at %d placed at %d (pin clash or beyond list)", key, pin, position + 1)
        keys.insert(position, key)
        last = position
    priorities = pl.DataFrame(
        {"_hh_key": keys, "priority": list(range(1, len(keys) + 1))},
        schema={"_hh_key": pl.String, "priority": pl.Int32},
    )
    return candidates.join(priorities, on="_hh_key")


# A follow-up is a question the data cannot settle and a person must: it flags nobody and
# is not a rule; it rides on the listed household so the discussion does not miss it.
SUSPECT_HOME_UNKNOWN = "SUSPECT_HOME_UNKNOWN"


def unlocated_suspects(window: pl.DataFrame, incident_households: pl.DataFrame, person_links: pl.DataFrame) -> pl.DataFrame:
    """Suspects of incidents in the window with no known home, each with its ``follow_up``.

    The founding rule flags the children living with a suspect; when police recorded no
    address for him (or no fixed abode) on this incident and on every other incident of
    the same person (so he has no ``incident_households`` row), those children cannot be
    found from the data. On the synthetic county that is most of the at-risk children
    hearth misses, so each such suspect becomes ``SUSPECT_HOME_UNKNOWN:<incident_id>/
    <person_ref>``, carried on the MASH list and listed in ``marts.unlocated_suspects`` for
    police to establish where he lives and whether children live there."""
    located = incident_households.filter(pl.col("role") == "suspect").select("incident_id", "person_ref").unique()
    return (
        person_links.filter(pl.col("role") == "suspect", pl.col("household_id").is_null())
        .join(window.select("incident_id"), on="incident_id", how="semi")
        .join(located, on=["incident_id", "person_ref"], how="anti")
        .unique(["incident_id", "person_ref"])
        .with_columns(
            follow_up=pl.concat_str(
                [pl.lit(SUSPECT_HOME_UNKNOWN + ":"), pl.col("incident_id"), pl.lit("/"), pl.col("person_ref")]
            )
        )
        .sort("incident_id", "person_ref")
    )


ADDRESS_CONFLICT = "ADDRESS_CONFLICT"


def address_conflicts(window: pl.DataFrame, incident_households: pl.DataFrame) -> pl.DataFrame:
    """``(incident_id, person_ref, follow_up)``: victims and suspects of incidents in the
    window whose keyed home and the incident address (a dwelling with children registered)
    could not be told apart as their home (``incident_households.basis =
    'address_conflict'``). Both households are reached; ``ADDRESS_CONFLICT:<incident_id>/
    <person_ref>`` asks the discussion to establish which is home."""
    return (
        incident_households.filter(pl.col("basis") == "address_conflict")
        .join(window.select("incident_id"), on="incident_id", how="semi")
        .select("incident_id", "person_ref")
        .unique()
        .with_columns(
            follow_up=pl.concat_str(
                [pl.lit(ADDRESS_CONFLICT + ":"), pl.col("incident_id"), pl.lit("/"), pl.col("person_ref")]
            )
        )
        .sort("incident_id", "person_ref")
    )


def unlocated_suspect_rows(
    unlocated: pl.DataFrame,
    window: pl.DataFrame,
    mash: pl.DataFrame,
    *,
    previous_list_date: date | None,
    rules: Rules,
    list_date: date,
) -> pl.DataFrame:
    """``marts.unlocated_suspects``: the :func:`unlocated_suspects` of the night with the MASH
    rows that carry each as a follow-up. An incident that reached no child has no MASH row,
    so this list is the only place its suspect is asked about (for police)."""
    carried = (
        mash.select("household_id", follow_up=pl.col("follow_ups")).explode("follow_up").drop_nulls("follow_up")
        .filter(pl.col("household_id").is_not_null())
        .sort("household_id").group_by("follow_up", maintain_order=True)
        .agg(listed_households=pl.col("household_id").unique(maintain_order=True))
    )
    changed = (
        pl.lit(True) if previous_list_date is None else pl.col("last_changed_on") > pl.lit(previous_list_date)
    )
    out = (
        unlocated
        .join(window.select("incident_id", "reported_at", "dash_risk", "last_changed_on"), on="incident_id")
        .join(carried, on="follow_up", how="left")
        .select(
            pl.lit(list_date).alias("list_date"),
            "incident_id", "person_ref", "person_id", "reported_at", "dash_risk",
            pl.col("listed_households").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            changed.alias("new_since_previous"),
            pl.lit(rules.version).alias("rules_version"),
        )
        .sort("reported_at", "incident_id", "person_ref", descending=[True, False, False])
    )
    return _conform(out, schemas.UNLOCATED_SUSPECTS)


def incident_news(
    incidents: pl.DataFrame, *, window: pl.DataFrame, previous_incidents: pl.DataFrame,
    previous_list_date: date | None,
) -> pl.DataFrame:
    """Per row key (``_hh_key``, ``incident_id`` pairs in ``incidents``): ``why_incidents``, a
    sentence for each incident new or updated since the previous list (what it is, or what
    changed and when), and ``earlier``, the other incidents as "12 Sep (DASH standard)", both
    oldest first."""
    before = previous_incidents.select(
        "incident_id", prev_dash=pl.col("dash_risk"), prev_present=pl.col("children_present"),
        prev_category=offence_category(pl.col("offence")),
    )
    if previous_list_date is None:
        is_new, is_updated = pl.lit(True), pl.lit(False)
    else:
        is_new = pl.col("first_seen_on") > pl.lit(previous_list_date)
        is_updated = ~is_new & (pl.col("last_changed_on") > pl.lit(previous_list_date))
    dash_rise = pl.col("dash_risk").replace_strict(_DASH_RANK, default=0) > pl.col("prev_dash").replace_strict(
        _DASH_RANK, default=0
    )
    changes = pl.concat_list(
        pl.when(pl.col("prev_dash") != pl.col("dash_risk")).then(pl.concat_str([
            pl.lit("DASH "), pl.when(dash_rise).then(pl.lit("raised")).otherwise(pl.lit("changed")),
            pl.lit(" from "), _dash_words(pl.col("prev_dash")), pl.lit(" to "), _dash_words(pl.col("dash_risk")),
        ])),
        pl.when(pl.col("prev_present") != pl.col("children_present")).then(pl.concat_str([
            pl.lit("children present changed from "), pl.col("prev_present"), pl.lit(" to "),
            pl.col("children_present"),
        ])),
        pl.when(pl.col("prev_category") != pl.col("category")).then(pl.concat_str([
            pl.lit("offence now "), pl.col("category"), pl.lit(" (was "), pl.col("prev_category"), pl.lit(")"),
        ])),
    ).list.drop_nulls().list.join(", ")
    present = pl.when(pl.col("children_present") == "yes").then(pl.lit(", children present")).otherwise(pl.lit(""))
    described = (
        incidents.select("_hh_key", "incident_id").unique()
        .join(window.select("incident_id", "reported_at", "updated_at", "dash_risk", "children_present", "offence",
                            "first_seen_on", "last_changed_on"), on="incident_id")
        .join(before, on="incident_id", how="left")
        .with_columns(category=offence_category(pl.col("offence")), _new=is_new, _updated=is_updated)
        .with_columns(_changes=changes)
        .with_columns(
            sentence=pl.when(pl.col("_new")).then(pl.concat_str([
                pl.lit("New incident "), pl.col("incident_id"), pl.lit(", reported "), _day(pl.col("reported_at")),
                pl.lit(": "), pl.col("category"), pl.lit(", DASH "), _dash_words(pl.col("dash_risk")), present,
                pl.lit("."),
            ])).when(pl.col("_updated") & (pl.col("_changes") != "")).then(pl.concat_str([
                pl.lit("Incident "), pl.col("incident_id"), pl.lit(" (reported "), _day(pl.col("reported_at")),
                pl.lit(", "), pl.col("category"), pl.lit(") updated: "), pl.col("_changes"), pl.lit(" on "),
                _day(pl.col("updated_at")), pl.lit("."),
            ])).when(pl.col("_updated")).then(pl.concat_str([
                pl.lit("Incident "), pl.col("incident_id"), pl.lit(" (reported "), _day(pl.col("reported_at")),
                pl.lit(", "), pl.col("category"), pl.lit(") updated by police on "), _day(pl.col("updated_at")),
                pl.lit("; DASH, offence and children present unchanged."),
            ])),
            earlier=pl.concat_str([
                _day(pl.col("reported_at")), pl.lit(" (DASH "), _dash_words(pl.col("dash_risk")), pl.lit(")"),
            ]),
        )
        .sort("reported_at", "incident_id")
    )
    return described.group_by("_hh_key", maintain_order=True).agg(
        why_incidents=pl.col("sentence").drop_nulls(),
        earlier=pl.col("earlier").filter(pl.col("sentence").is_null()),
    )


def _suspect_relationships(incidents: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """Per row key: who each suspect of its listed incidents is, in police's words (never a name)."""
    words = pl.col("relationship_to_victim").replace_strict(
        RELATIONSHIP_WORDS, default=pl.col("relationship_to_victim")
    ).fill_null(RELATIONSHIP_WORDS["unknown"])
    suspects = persons.filter(pl.col("role") == "suspect").select(
        "incident_id", "person_ref", relationship=pl.concat_str([pl.col("incident_id"), pl.lit(": the suspect is "), words]),
    )
    return (
        incidents.select("_hh_key", "incident_id").unique()
        .join(suspects, on="incident_id")
        .sort("incident_id", "person_ref")
        .group_by("_hh_key", maintain_order=True)
        .agg(suspect_relationships=pl.col("relationship").unique(maintain_order=True))
    )


def _incident_reach(incidents: pl.DataFrame, incident_households: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Per row key: "<incident_id>:<basis>" for how each of its incidents reaches it."""
    via_household = incidents.join(
        incident_households.select("incident_id", "household_id", "basis"), on=["incident_id", "household_id"]
    ).select("_hh_key", "incident_id", "basis")
    via_name = incidents.join(
        pairs.filter(pl.col("named")).select("incident_id", "child_id"), on=["incident_id", "child_id"]
    ).select("_hh_key", "incident_id", basis=pl.lit("named"))
    order = {basis: i for i, basis in enumerate(REACH_BASES)}
    return (
        pl.concat([via_household, via_name]).unique()
        .sort("incident_id", pl.col("basis").replace_strict(order, default=len(order), return_dtype=pl.Int32))
        .group_by("_hh_key", maintain_order=True)
        .agg(incident_reach=pl.concat_str([pl.col("incident_id"), pl.lit(":"), pl.col("basis")]))
    )


@dataclass(frozen=True)
class ListContext:
    """What the MASH list reads besides the night's flags (see :func:`mash_rows`)."""

    window: pl.DataFrame
    households: pl.DataFrame
    previous_flags: pl.DataFrame
    previous_list_date: date | None
    ever_listed: pl.DataFrame
    decisions: pl.DataFrame
    follow_ups: pl.DataFrame
    previous_incidents: pl.DataFrame
    persons: pl.DataFrame
    incident_households: pl.DataFrame
    pairs: pl.DataFrame
    # The contacts in the window (CURRENT_CONTACTS), for the discussion frame.
    contacts: pl.DataFrame = field(default_factory=lambda: _empty_default(schemas.CURRENT_CONTACTS))


def _row_key(household: pl.Expr, child: pl.Expr) -> pl.Expr:
    """A listed row's stable key: its household, or the child when it has no known home."""
    return pl.coalesce(
        pl.concat_str([pl.lit("household:"), household]), pl.concat_str([pl.lit("child:"), child])
    )


def mash_rows(flags: pl.DataFrame, ctx: ListContext, *, rules: Rules, list_date: date) -> pl.DataFrame:
    """One row per household with something new since the previous list: an incident new or
    changed since then, or a rise in the household's level (a household not flagged before
    counts as a rise). A child with no known home is a row of its own, keyed on the child, and
    follows the same rule: listed when something is new, not every night. ``follow_ups``
    (``incident_id``, ``follow_up``; see :func:`unlocated_suspects` and
    :func:`address_conflicts`) of any of the row's incidents are carried on it, with what is
    new in words, a history line, who the suspect is and how each incident reaches the row."""
    if ctx.previous_list_date is None:
        changed = pl.lit(True)
    else:
        changed = pl.col("last_changed_on") > pl.lit(ctx.previous_list_date)
    changed_ids = ctx.window.filter(changed).select("incident_id")
    rule_order = {rule: i for i, rule in enumerate(RULE_ORDER)}

    reasons = (
        flags.select("_hh_key", reason=pl.col("reasons")).explode("reason").drop_nulls("reason").unique()
        .sort(pl.col("reason").replace_strict(rule_order, return_dtype=pl.Int32))
        .group_by("_hh_key", maintain_order=True).agg(reasons=pl.col("reason"))
    )
    per_child_incident = flags.select(
        "_hh_key", "household_id", "child_id", incident_id=pl.col("incident_ids")
    ).explode("incident_id")
    incidents = per_child_incident.select("_hh_key", "incident_id").unique()
    new_incidents = (
        incidents.join(changed_ids, on="incident_id", how="semi")
        .sort("incident_id")
        .group_by("_hh_key", maintain_order=True).agg(new_incident_ids=pl.col("incident_id"))
    )
    all_incidents = (
        incidents.sort("incident_id").group_by("_hh_key", maintain_order=True)
        .agg(all_incident_ids=pl.col("incident_id"))
    )
    open_questions = (
        incidents.join(ctx.follow_ups.select("incident_id", "follow_up"), on="incident_id")
        .select("_hh_key", "follow_up").unique().sort("follow_up")
        .group_by("_hh_key", maintain_order=True).agg(follow_ups=pl.col("follow_up"))
    )
    previous_rank = (
        ctx.previous_flags.select(_hh_key=_row_key(pl.col("household_id"), pl.col("child_id")), rank=_rank(pl.col("risk_level")))
        .group_by("_hh_key")
        .agg(previous_household_rank=pl.col("rank").max())
    )
    ever_listed = ctx.ever_listed
    if "list_key" not in ever_listed.columns:
        ever_listed = ever_listed.with_columns(list_key=pl.lit(None, dtype=pl.String))
    if "last_listed_on" not in ever_listed.columns:
        ever_listed = ever_listed.with_columns(last_listed_on=pl.lit(None, dtype=pl.Date))
    ever = ever_listed.select(
        _hh_key=pl.coalesce("list_key", pl.concat_str([pl.lit("household:"), pl.col("household_id")])),
        ever_rank=_rank(pl.col("max_risk_level")),
        last_listed_on=pl.col("last_listed_on"),
    )
    pins = ctx.decisions.filter(pl.col("priority").is_not_null()).select("household_id", pin=pl.col("priority"))

    contact_rows = (
        flags.select("_hh_key", contact_id=pl.col("contact_ids"), line=pl.col("contact_lines"))
        .explode("contact_id", "line")
        .drop_nulls("contact_id")
        .unique(["_hh_key", "contact_id"], keep="first", maintain_order=True)
        .join(ctx.contacts.select("contact_id", "received_at"), on="contact_id", how="left")
        .sort("received_at", "contact_id")
        .group_by("_hh_key", maintain_order=True)
        .agg(contact_ids=pl.col("contact_id"), contacts=pl.col("line"))
    )
    per_household = (
        flags.group_by("_hh_key")
        .agg(
            pl.col("household_id").first(),
            new_contact_ids=pl.col("new_contact_ids").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            social_care=pl.concat_str([pl.col("forename").fill_null("(unnamed)"), pl.lit(": "), pl.col("social_care")])
            .drop_nulls().unique().sort(),
            final_rank=pl.col("final_rank").max(),
            child_ids=pl.col("child_id").unique().sort(),
            any_escalated=(pl.col("status") == "escalated").any(),
            latest_reported_at=pl.col("latest_reported_at").max(),
            youngest_dob=pl.col("dob").max(),
            child_address=pl.col("address").drop_nulls().first(),
            child_postcode=pl.col("postcode").drop_nulls().first(),
        )
        .join(reasons, on="_hh_key", how="left")
        .join(new_incidents, on="_hh_key", how="left")
        .join(all_incidents, on="_hh_key", how="left")
        .join(open_questions, on="_hh_key", how="left")
        .join(previous_rank, on="_hh_key", how="left")
        .join(ever, on="_hh_key", how="left")
        .join(pins, on="household_id", how="left")
        .join(ctx.households.select("household_id", "address", "postcode"), on="household_id", how="left")
        .join(_agencies(flags, list_date), on="_hh_key", how="left")
        .join(contact_rows, on="_hh_key", how="left")
        .with_columns(
            # A household listed by contacts alone (REPEATED_CONCERN) has no incident.
            *[pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.String))) for c in ("new_incident_ids", "all_incident_ids")]
        )
    )
    rose = pl.col("previous_household_rank").is_null() | (pl.col("final_rank") > pl.col("previous_household_rank"))
    # A new contact about a flagged child (a referral, another consultation) lists the row too.
    listed = per_household.filter(
        (pl.col("new_incident_ids").list.len() > 0) | pl.col("any_escalated") | rose
        | (pl.col("new_contact_ids").list.len() > 0)
    ).with_columns(
        # A row listed only because its level rose shows the incidents behind it.
        incident_ids=pl.when(pl.col("new_incident_ids").list.len() > 0)
        .then(pl.col("new_incident_ids"))
        .otherwise(pl.col("all_incident_ids")),
    )
    listed_incidents = listed.select("_hh_key", incident_id=pl.col("incident_ids")).explode("incident_id")
    listed_pairs = per_child_incident.join(listed_incidents, on=["_hh_key", "incident_id"], how="semi")
    news = incident_news(
        per_child_incident.join(listed.select("_hh_key"), on="_hh_key", how="semi"), window=ctx.window,
        previous_incidents=ctx.previous_incidents, previous_list_date=ctx.previous_list_date,
    )
    empty_list = pl.lit([], dtype=pl.List(pl.String))
    # The level a row is compared with: yesterday's, else the highest it was ever listed at.
    before_rank = pl.coalesce("previous_household_rank", "ever_rank")
    level_rose = pl.when(before_rank.is_not_null() & (pl.col("final_rank") > before_rank)).then(pl.concat_str([
        pl.lit("Level rose from "), _level(before_rank), pl.lit(" to "), _level(pl.col("final_rank")), pl.lit("."),
    ]))
    first_time = pl.when(
        pl.col("ever_rank").is_null() & (pl.col("why_incidents").list.len() == 0)
        & (pl.col("incident_ids").list.len() > 0)
    ).then(pl.concat_str([pl.lit("First time on the list: incident(s) "), pl.col("incident_ids").list.join(", "),
                          pl.lit(" now reach a child here.")]))
    new_contacts = pl.when(pl.col("new_contact_ids").list.len() > 0).then(pl.concat_str([
        pl.lit("New contact(s) with the MASH about a child here: "), pl.col("new_contact_ids").list.join(", "),
        pl.lit("."),
    ]))
    last_listed = pl.col("last_listed_on").dt.strftime("%-d %b %Y")
    history = pl.concat_str([
        pl.when(pl.col("earlier").list.len() > 0)
        .then(pl.concat_str([pl.lit("Earlier incidents: "), pl.col("earlier").list.join(", "), pl.lit(". ")]))
        .otherwise(pl.lit(f"No earlier incident in the last {rules.lookback_days} days. ")),
        pl.when(pl.col("last_listed_on").is_not_null())
        .then(pl.concat_str([pl.lit("Last discussed on the list of "), last_listed, pl.lit(".")]))
        .otherwise(pl.lit("Not on any earlier list.")),
    ])
    escalated = pl.col("any_escalated") | (before_rank.is_not_null() & (pl.col("final_rank") > before_rank))
    risk_level = _level(pl.col("final_rank"))
    out = (
        _assign_priorities(listed)
        .join(news, on="_hh_key", how="left")
        .join(_suspect_relationships(listed_incidents, ctx.persons), on="_hh_key", how="left")
        .join(_incident_reach(listed_pairs, ctx.incident_households, ctx.pairs), on="_hh_key", how="left")
        .with_columns(
            risk_level=risk_level,
            why_incidents=pl.col("why_incidents").fill_null(empty_list),
            earlier=pl.col("earlier").fill_null(empty_list),
        )
        .join(due_by_per_level(list_date, rules), on="risk_level", how="left")
        .select(
            pl.lit(list_date).alias("list_date"),
            "household_id",
            "priority",
            "risk_level",
            pl.coalesce("address", "child_address").alias("address"),
            pl.coalesce("postcode", "child_postcode").alias("postcode"),
            "child_ids",
            "incident_ids",
            "reasons",
            "agencies",
            (pl.col("ever_rank").is_null() | (pl.col("final_rank") > pl.col("ever_rank"))).alias(
                "new_since_previous"
            ),
            "due_by",
            pl.lit(rules.version).alias("rules_version"),
            pl.col("follow_ups").fill_null(empty_list),
            pl.col("_hh_key").alias("list_key"),
            pl.when(pl.col("ever_rank").is_null()).then(pl.lit("new"))
            .when(escalated).then(pl.lit("escalated"))
            .otherwise(pl.lit("updated")).alias("badge"),
            pl.concat_list(level_rose, first_time, pl.col("why_incidents"), new_contacts)
            .list.drop_nulls().alias("why_listed"),
            history.alias("history"),
            "last_listed_on",
            pl.col("suspect_relationships").fill_null(empty_list),
            pl.col("incident_reach").fill_null(empty_list),
            pl.col("contact_ids").fill_null(empty_list),
            pl.col("contacts").fill_null(empty_list),
            pl.col("social_care").fill_null(empty_list),
        )
        .sort("priority")
    )
    return _conform(
        discussion_frame(out, flags, window=ctx.window, persons=ctx.persons, contacts=ctx.contacts),
        schemas.MASH_LIST,
    )


# ---- 6. school notifications -----------------------------------------------------------------

def school_notification_rows(
    pairs: pl.DataFrame,
    *,
    window: pl.DataFrame,
    children: pl.DataFrame,
    previous_list_date: date | None,
    rules: Rules,
    list_date: date,
) -> pl.DataFrame:
    """One row per school-age child (one with a school URN) reached by an incident first seen
    since the previous list. Carries only what a school needs: no suspect, no offence."""
    fresh = window.filter(pl.col("days_before_list") <= rules.school_max_incident_age_days)
    if previous_list_date is not None:
        fresh = fresh.filter(pl.col("first_seen_on") > pl.lit(previous_list_date))
    terms = SchoolTerms(day_start=rules.school_day_start, closures=rules.school_closures)
    # Early-years settings (childminders most of all) are open in school holidays: they are
    # told by the start of the next working day, with the same minimal data as a school.
    working_days = SchoolTerms(day_start=rules.school_day_start)
    fresh = fresh.select(
        "incident_id",
        "children_present",
        notify_by=school_day_starts_after(fresh["reported_at"], terms),
        ey_notify_by=school_day_starts_after(fresh["reported_at"], working_days),
        incident_reported_at=pl.col("reported_at").dt.convert_time_zone(TIMEZONE).dt.replace_time_zone(None),
    )
    settings = children.select("child_id", "upn", "school_urn", pl.col("provider_urn").cast(pl.String))
    reached = pairs.join(fresh, on="incident_id").join(settings, on="child_id")
    out = (
        pl.concat([
            reached.filter(pl.col("school_urn").is_not_null()).with_columns(setting_type=pl.lit("school")),
            reached.filter(pl.col("provider_urn").is_not_null()).with_columns(
                school_urn=pl.col("provider_urn"), upn=pl.lit(None, pl.String), notify_by=pl.col("ey_notify_by"),
                setting_type=pl.lit("early_years"),
            ),
        ])
        .select(
            pl.lit(list_date).alias("list_date"),
            "school_urn",
            "child_id",
            "upn",
            "incident_id",
            "notify_by",
            "incident_reported_at",
            pl.when(pl.col("named")).then(pl.lit("yes"))
            .when(pl.col("children_present") == "no").then(pl.lit("no"))
            .otherwise(pl.lit("unknown"))
            .alias("child_present"),
            # Police delivered it after the school day it was due for had started.
            (pl.col("notify_by") < pl.lit(datetime.combine(list_date, rules.published_at))).alias("late"),
            "setting_type",
        )
        .sort("notify_by", "school_urn", "child_id", "incident_id")
    )
    return _conform(out, schemas.SCHOOL_NOTIFICATIONS)


# ---- entry point -----------------------------------------------------------------------------

def build_flags(inputs: FlagInputs, rules: Rules) -> FlagResult:
    """Flag children, build the MASH list, school notifications and flag evidence for one date."""
    list_date = inputs.list_date
    publication = datetime.combine(list_date, rules.published_at, LONDON)
    previous_publication = (
        None if inputs.previous_list_date is None
        else datetime.combine(inputs.previous_list_date, rules.published_at, LONDON)
    )
    previous_flags = (
        inputs.previous_flags.filter(pl.col("list_date") == pl.lit(inputs.previous_list_date))
        if inputs.previous_list_date is not None
        else inputs.previous_flags.clear()
    )
    children = inputs.children.unique("child_id", keep="first", maintain_order=True)
    # An index written before landing contract v2 has no partner columns: they are empty.
    children = children.with_columns(
        pl.lit(None, t).alias(c) for c, t in schemas.CHILD_INDEX.items() if c not in children.columns
    )
    decisions = _latest_decisions(inputs.decisions, publication)
    contacts = contacts_in_window(inputs.contacts, list_date=list_date, window_days=rules.contact_window_days)
    candidates = contact_candidates(contacts, children)
    contact_facts = child_contact_facts(
        contacts, candidates, previous_list_date=inputs.previous_list_date,
        repeat_days=rules.repeat_concern_days, min_callers=rules.repeat_concern_min_callers,
    )

    window = incidents_in_window(inputs.incidents, list_date=list_date, lookback_days=rules.lookback_days)
    pairs = child_incident_pairs(
        window, incident_households=inputs.incident_households,
        person_links=inputs.person_links, children=children,
    )
    facts = child_rule_facts(
        pairs, window=window, children=children, rules=rules, list_date=list_date, contact_facts=contact_facts
    )
    flags = apply_level_floors(
        facts, previous_flags=previous_flags, decisions=decisions,
        previous_publication=previous_publication,
    ).with_columns(
        reasons=_reasons_expr(),
        risk_level=_level(pl.col("final_rank")),
        level_reason=level_reason(rules),
        social_care=social_care_words(list_date),
        # Children with no household (unknown address) are listed on their own, never pooled.
        _hh_key=_row_key(pl.col("household_id"), pl.col("child_id")),
    ).sort("household_id", "child_id", nulls_last=True)

    child_flags = _conform(
        flags.with_columns(list_date=pl.lit(list_date), rules_version=pl.lit(rules.version)),
        schemas.CHILD_FLAGS,
    )
    unlocated = unlocated_suspects(window, inputs.incident_households, inputs.person_links)
    mash = mash_rows(
        flags,
        ListContext(
            window=window, households=inputs.households, previous_flags=previous_flags,
            previous_list_date=inputs.previous_list_date, ever_listed=inputs.ever_listed_households,
            decisions=decisions,
            follow_ups=pl.concat([
                unlocated.select("incident_id", "follow_up"),
                address_conflicts(window, inputs.incident_households).select("incident_id", "follow_up"),
            ]),
            previous_incidents=inputs.previous_incidents,
            persons=inputs.persons, incident_households=inputs.incident_households, pairs=pairs,
            contacts=contacts,
        ),
        rules=rules, list_date=list_date,
    )
    unlocated_rows = unlocated_suspect_rows(
        unlocated, window, mash,
        previous_list_date=inputs.previous_list_date, rules=rules, list_date=list_date,
    )
    notifications = school_notification_rows(
        pairs, window=window, children=children, previous_list_date=inputs.previous_list_date,
        rules=rules, list_date=list_date,
    )
    evidence = evidence_rows(flags, rules=rules, list_date=list_date)
    log.info(
        "list %s (rules %s): %d children flagged, %d households listed, %d school notifications",
        list_date, rules.version, child_flags.height, mash.height, notifications.height,
    )
    revisit = consultations_to_revisit(inputs.contacts, candidates, list_date=list_date)
    return FlagResult(child_flags=child_flags, mash_list=mash, school_notifications=notifications,
                      evidence=evidence, unlocated_suspects=unlocated_rows,
                      contact_candidates=_conform(candidates.with_columns(list_date=pl.lit(list_date)),
                                                  schemas.CONTACT_CANDIDATES),
                      consultations_to_revisit=revisit)
