"""Column contracts between stages (polars schemas).

Each stage's public entry point takes and returns frames with exactly these columns (extra
columns are allowed only where noted). Tests build small frames from these, and the
warehouse creates its tables to match. Keep this file the single source of truth.
"""

from __future__ import annotations

import polars as pl

from pipeline.sources import LINEAGE as LINEAGE
from pipeline.sources import POLICE_SOURCES as POLICE_SOURCES
from pipeline.sources import REGISTER_SOURCES as REGISTER_SOURCES
from pipeline.sources import REGISTRY
from pipeline.sources import SOURCES as SOURCES
from pipeline.sources import Schema as Schema

# Landing contract v1, per source (pipeline/sources.py is where a source is declared): the
# columns each source must (req) or may (opt) carry, and the allowed values of its enums.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {s.name: s.required for s in REGISTRY}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {s.name: s.optional for s in REGISTRY}
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {s.name: s.contract_columns for s in REGISTRY}
ENUMS: dict[str, dict[str, tuple[str, ...]]] = {s.name: s.enums for s in REGISTRY}
MISSING_LITERALS = ("", "NULL", "N/A", "-")

# ---- validate → (warehouse staging) → link/flag: typed, valid rows --------------------
# Text is trimmed; enums are lower-case; missing literals are null. Datetimes are UTC.
# Postcodes/names are NOT normalised here (that is standardise's job); nhs_number has its
# spaces removed, upn is upper-case. Lineage (`_file`, `_row`) comes last.
STAGED: dict[str, Schema] = {s.name: s.staged for s in REGISTRY}
# A register row whose identifier (nhs_number / upn) was unusable is still staged when its
# name and date of birth identify a child: the identifier is null (never linked or guarded
# on) and ``substitute_id`` ("withheld-<12 hex>", from the delivered identifier text, or from
# name and date of birth when none was delivered) stands in for it in the record id. Null
# whenever the identifier is valid.

# ---- validate → audit.quarantine ---------------------------------------------------------
QUARANTINE: Schema = {
    "source": pl.String,
    "_file": pl.String,
    "_row": pl.Int64,
    "reasons": pl.List(pl.String),       # every reason as written, quoting the delivered text
    "problems": pl.List(pl.String),      # the same without the text ("nhs_number: fails Modulus 11"): audit keeps these
    "record": pl.String,                 # JSON object: original text of every column, verbatim
}

# ---- validate → audit.field_defects ------------------------------------------------------
# One row per value withheld from a staged row and reason: the row was staged with that
# column null. Reasons never quote the value (it stays in raw, under raw's retention).
FIELD_DEFECTS: Schema = {
    "source": pl.String,
    "_file": pl.String,
    "_row": pl.Int64,
    "record_id": pl.String,              # the staged record, as linkage names it
    "column_name": pl.String,
    "rule": pl.String,                   # meta.rule of the expectation, e.g. dob.date
    "reason": pl.String,                 # e.g. "is not a date (YYYY-MM-DD or DD/MM/YYYY)"
}

# ---- validate → audit.dq_results ---------------------------------------------------------
DQ_RESULTS: Schema = {
    "source": pl.String,
    "suite": pl.String,
    "expectation": pl.String,            # expectation type, e.g. expect_column_values_to_not_be_null
    "column_name": pl.String,            # null for table-level expectations
    "success": pl.Boolean,
    "element_count": pl.Int64,
    "unexpected_count": pl.Int64,
    "details": pl.String,                # JSON: kwargs and observed value (never row values)
}

# ---- link stage inputs/outputs ------------------------------------------------------------
# One row per child after linkage (a child on both registers is one row); police-only children
# (recorded at an incident, on no register) have sources ["police"].
# record_id is "health_register:<nhs_number>" / "school_census:<upn>".
CHILD_INDEX: Schema = {
    "child_id": pl.String,
    "household_id": pl.String,           # null when the address cannot form a household (ZZ99)
    "forename": pl.String,
    "surname": pl.String,
    "dob": pl.Date,
    "nhs_number": pl.String,
    "upn": pl.String,
    "postcode": pl.String,               # normalised, "NR1 3QH"
    "address": pl.String,                # one display line
    "sources": pl.List(pl.String),       # subset of ["health_register", "school_census", "police"]
    "school_urn": pl.String,
    "school_name": pl.String,
    "year_group": pl.String,
    "gp_practice_code": pl.String,
    "health_visitor_team": pl.String,
    # Landing contract v2 (migration 025): the child's early-years setting and social-care
    # involvement, from the latest early-years return and social-care snapshot.
    "provider_urn": pl.String,
    "provider_name": pl.String,
    "case_ref": pl.String,
    "social_care_status": pl.String,     # social_care.status: child_in_need, pre_birth, closed, …
    "social_care_since": pl.Date,
    "social_care_team": pl.String,
    # Every forename and date of birth the child's records give (linked.children only).
    "known_forenames": pl.List(pl.String),
    "known_dobs": pl.List(pl.Date),
}
# Linkage keeps every spelling and date of birth a child's records give (for resolving a
# caller's "Noah, three" to candidates); the published index does not repeat them.
CHILD_INDEX_LINKED_ONLY = ("known_forenames", "known_dobs")

HOUSEHOLDS: Schema = {
    "household_id": pl.String,
    "household_key": pl.String,          # "uprn:100012345678" or "addr:NR1 3QH|2/10 HIGH STREET"
    "address": pl.String,                # display line
    "postcode": pl.String,               # normalised
    "uprn": pl.String,
}

# One row per police nominal on a current incident: where he/she lives and, for children,
# which register child (if any) the record was linked to.
PERSON_LINKS: Schema = {
    "incident_id": pl.String,
    "person_ref": pl.String,
    "person_id": pl.String,              # deduplicated police person (adults and children)
    "role": pl.String,
    "household_id": pl.String,           # where this person lives (null if unknown / ZZ99)
    "child_id": pl.String,               # register child linked to this nominal (children only)
    "link_probability": pl.Float64,      # posterior of the chosen link, null if none
}

# Every scored candidate pair, for audit. left/right are record ids as above, or
# "police_persons:<incident_id>:<person_ref>".
LINK_DECISIONS: Schema = {
    "link_type": pl.String,              # register_child | police_child | police_adult
    "left_id": pl.String,
    "right_id": pl.String,
    "scores": pl.String,                 # JSON: per-comparison level and similarity
    "match_weight": pl.Float64,          # log2 Bayes factor (Fellegi–Sunter)
    "probability": pl.Float64,
    "decision": pl.String,               # auto_match | auto_nonmatch | review | reviewed_match | reviewed_nonmatch | blocked_by_guard
    # Why a pair the model scored as a match is not one, or waits for review (link.REASONS);
    # null where the model's decision stands as it is.
    "reason": pl.String,
}

# The Fellegi–Sunter model each kind of comparison was scored with on a night (one row per
# model and night in audit.link_models). ``parameters`` is JSON {"lambda": λ, "m": {comparison:
# [p per level]}, "u": {…}} at full precision, so a stored u can be reused exactly.
LINK_MODELS: Schema = {
    "model": pl.String,                  # register_child | police_child_register | police_child_dedup | police_adult_dedup
    "n_left": pl.Int64,                  # records on each side when the model was fitted
    "n_right": pl.Int64,
    "candidate_pairs": pl.Int64,
    "u_estimated_on": pl.Date,           # the night u was estimated from random pairs
    "u_pairs": pl.Int64,                 # random pairs compared for u this night (0: reused)
    "parameters": pl.String,
}

REVIEW_QUEUE: Schema = {
    "link_type": pl.String,
    "left_id": pl.String,
    "right_id": pl.String,
    "probability": pl.Float64,
    "scores": pl.String,
    "reason": pl.String,                 # why a person must decide (link.REASONS)
}

# Reviewer decisions (audit.review_decisions) fed back into linkage.
REVIEW_DECISIONS: Schema = {
    "left_id": pl.String,
    "right_id": pl.String,
    "decision": pl.String,               # match | nonmatch
}

# Stable ids carried from night to night (linked.child_xref): which child_id each source
# record had last time.
CHILD_XREF: Schema = {"record_id": pl.String, "child_id": pl.String}
# Likewise for police nominals (linked.person_xref): which person_id each record had.
PERSON_XREF: Schema = {"record_id": pl.String, "person_id": pl.String}

# ---- flag stage outputs: see sql/ddl for the marts, which follow outputs-v1 ---------------
CHILD_FLAGS: Schema = {
    "list_date": pl.Date,
    "child_id": pl.String,
    "household_id": pl.String,
    "forename": pl.String,
    "surname": pl.String,
    "dob": pl.Date,
    "nhs_number": pl.String,
    "upn": pl.String,
    "school_urn": pl.String,
    "gp_practice_code": pl.String,
    "risk_level": pl.String,
    "reasons": pl.List(pl.String),
    "incident_ids": pl.List(pl.String),
    "status": pl.String,
    "rules_version": pl.String,
    # Extensions of outputs-v1: why the child has its level in words ("under one; named at
    # the incident"), and the names a coordinator recognises beside the codes.
    "level_reason": pl.String,
    "school_name": pl.String,
    "health_visitor_team": pl.String,
    # Migration 025: the early-years setting, social-care status in words ("open child
    # protection plan since 3 Mar (Norwich CP Team 2)"), and the MASH contacts about the
    # child, or naming it as a candidate, in the contact window.
    "provider_urn": pl.String,
    "social_care": pl.String,
    "contact_ids": pl.List(pl.String),
}

MASH_LIST: Schema = {
    "list_date": pl.Date,
    "household_id": pl.String,
    "priority": pl.Int32,
    "risk_level": pl.String,
    "address": pl.String,
    "postcode": pl.String,
    "child_ids": pl.List(pl.String),
    "incident_ids": pl.List(pl.String),
    "reasons": pl.List(pl.String),
    "agencies": pl.List(pl.String),
    "new_since_previous": pl.Boolean,
    "due_by": pl.Datetime("us", "Europe/London"),
    "rules_version": pl.String,
    # Extension of outputs-v1: questions for the discussion that the data cannot settle,
    # "SUSPECT_HOME_UNKNOWN:<incident_id>/<person_ref>" (pipeline.flag.flags.unlocated_suspects).
    "follow_ups": pl.List(pl.String),
    # Extensions of outputs-v1 (migration 012), what a coordinator triages from:
    "list_key": pl.String,               # "household:<id>", or "child:<child_id>" for a child with no known home
    "badge": pl.String,                  # new (first time on any list) | escalated | updated
    "why_listed": pl.List(pl.String),    # what is new today, one sentence each
    "history": pl.String,                # earlier incidents in the window and when last listed, one line
    "last_listed_on": pl.Date,           # the last earlier list date this row's key was on, or null
    "suspect_relationships": pl.List(pl.String),  # "<incident_id>: the suspect is the victim's partner"
    "incident_reach": pl.List(pl.String),         # "<incident_id>:<basis>": how each incident reaches the row
    # Migration 025 (Case S): the MASH contacts about the row's children in the contact
    # window, one line each; social-care status of its children; the Signs of Safety frame.
    "contact_ids": pl.List(pl.String),
    "contacts": pl.List(pl.String),
    "social_care": pl.List(pl.String),
    "worries": pl.List(pl.String),               # what are we worried about
    "working_well": pl.String,                   # what is working well: a prompt for the meeting
    "next_steps": pl.List(pl.String),            # what needs to happen
    "curiosity_prompts": pl.List(pl.String),
}

# The MASH's contacts as of a date (sql/queries/current_contacts.sql): the latest version of
# each, with the night it first arrived and last changed.
CURRENT_CONTACTS: Schema = {
    **{c: t for c, t in STAGED["mash_contacts"].items() if c not in LINEAGE},
    "first_seen_on": pl.Date,
    "last_changed_on": pl.Date,
}

# Which children an anonymous (or partly named) contact may be about: never merged into a
# child. ``matched_through`` is how the candidate was found ("early_years:EY123456",
# "school:121212", "gp:D82001", or "named" for a contact that names the family).
CONTACT_CANDIDATES: Schema = {
    "list_date": pl.Date,
    "contact_id": pl.String,
    "child_id": pl.String,
    "household_id": pl.String,
    "matched_through": pl.String,
    "fit_score": pl.Float64,
    "fit": pl.String,
}

CONSULTATIONS_TO_REVISIT: Schema = {
    "list_date": pl.Date,
    "contact_id": pl.String,
    "received_at": pl.Datetime("us", "UTC"),
    "contact_type": pl.String,
    "anonymous": pl.String,
    "caller_role": pl.String,
    "caller_org": pl.String,
    "concern_category": pl.String,
    "level_stated": pl.String,
    "level_recorded": pl.String,
    "outcome": pl.String,
    "why": pl.List(pl.String),
    "candidate_child_ids": pl.List(pl.String),
}

# Extension of outputs-v1 (a new mart, for police): every suspect of an incident in the
# lookback window whose home is unknown, so the children living with him cannot be found.
UNLOCATED_SUSPECTS: Schema = {
    "list_date": pl.Date,
    "incident_id": pl.String,
    "person_ref": pl.String,
    "person_id": pl.String,
    "reported_at": pl.Datetime("us", "UTC"),
    "dash_risk": pl.String,
    "listed_households": pl.List(pl.String),  # MASH rows of this date carrying the follow-up
    "new_since_previous": pl.Boolean,         # the incident is new or changed since the previous list
    "rules_version": pl.String,
}

SCHOOL_NOTIFICATIONS: Schema = {
    "list_date": pl.Date,
    "school_urn": pl.String,
    "child_id": pl.String,
    "upn": pl.String,
    "incident_id": pl.String,
    "notify_by": pl.Datetime("us"),      # naive Europe/London wall-clock time (contract: TIMESTAMP)
    "incident_reported_at": pl.Datetime("us"),  # Europe/London wall clock
    "child_present": pl.String,          # yes | no | unknown
    "late": pl.Boolean,                  # notify_by had passed when the list was published
    # Migration 025: "school", or "early_years" (school_urn then holds the setting's URN).
    "setting_type": pl.String,
}


def empty(schema: Schema) -> pl.DataFrame:
    """An empty frame with the given schema."""
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame, schema: Schema) -> pl.DataFrame:
    """Select and cast ``frame`` to exactly ``schema``; raises if a column is missing."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; has {frame.columns}")
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])

# Which households each current incident touches, and why. One row per (incident, household,
# basis). `basis` is one of: victim_home, suspect_home, incident_address (victim's own address
# unknown, incident at home), linked_child_home (a child recorded at the scene was linked to a
# register child living here), known_home (no usable address on this incident, but the same
# person gave one on another incident: the latest is used), incident_dwelling (the incident
# address is a dwelling that the evidence says is, or may be, the home of the victim or
# suspect in person_ref, whose keyed home is elsewhere), address_conflict (the same, but the
# evidence cannot tell the keyed home and the incident dwelling apart: both are reached and
# the MASH list asks which is home). See docs/linkage.md "Households".
INCIDENT_HOUSEHOLDS: Schema = {
    "incident_id": pl.String,
    "household_id": pl.String,
    "role": pl.String,                   # victim | suspect | child
    "person_ref": pl.String,             # null for incident_address
    "basis": pl.String,
}

# Police incidents as the flag stage sees them: the winning version as of the list date.
CURRENT_INCIDENTS: Schema = {
    **{k: v for k, v in STAGED["police_incidents"].items() if k not in LINEAGE and k != "updated_at_ambiguous"},
    "first_seen_on": pl.Date,            # delivery date of the first version we received
    "last_changed_on": pl.Date,          # delivery date of the version that now wins
}

# Flag evidence (audit.flag_evidence): one row per child, list date and rule that fired.
FLAG_EVIDENCE: Schema = {
    "list_date": pl.Date,
    "child_id": pl.String,
    "rule_id": pl.String,
    "rules_version": pl.String,
    "incident_ids": pl.List(pl.String),
    "household_id": pl.String,
    "source_records": pl.List(pl.String),  # record ids behind the child (register/police)
    "detail": pl.String,                 # plain-English sentence, e.g. "incident 123 assessed DASH high"
}

# Coordinator decisions (audit.coordinator_decisions), latest per household wins.
COORDINATOR_DECISIONS: Schema = {
    "household_id": pl.String,
    "decided_at": pl.Datetime("us", "UTC"),
    "decided_by": pl.String,
    "priority": pl.Int32,                # pin this household at this priority (null = no pin)
    "risk_level": pl.String,             # a person's level; automatic levels never go below it
    "reason": pl.String,
}
