"""The discussion frame of each listed household: Signs of Safety's three questions, and a few
professional-curiosity prompts that fit the facts.

A list tells a coordinator *who* to discuss; the review behind Case S asks professionals to
show curiosity and challenge. For each MASH row hearth groups what it knows under *what are
we worried about* (incidents, DASH, contacts and their levels, social care), *what is working
well* (the data cannot say: left for the meeting, with a prompt) and *what needs to happen*
(agencies to bring, the allocated worker, callers to ask back, suspects to locate), and adds
two or three questions the facts raise. Called by ``pipeline.flag.flags.mash_rows``; pure, and a
Python loop over the listed rows only (dozens a night).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.flag.calendar import TIMEZONE
from pipeline.flag.rules import OPEN_PLAN_STATUSES
from pipeline.link.contacts import CALLER_WORDS

WORKING_WELL = (
    "For the meeting: what is working well for these children? A protective parent, a setting or "
    "school that noticed, support the family has taken up. The data cannot say; record it here."
)
MAX_PROMPTS = 3


def _by(frame: pl.DataFrame, key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(row[key], []).append(row)
    return out


def _agency_words(agency: str) -> str:
    tag, _, value = agency.partition(":")
    words = {
        "police": "police", "school": "school", "gp": "GP practice", "health_visiting": "health visiting",
        "early_years": "early-years setting", "social_care": "social care",
    }.get(tag, tag)
    return f"{words} {value}".strip()


def _prompts(row: dict[str, Any], children: list[dict[str, Any]], suspects: list[dict[str, Any]],
             contacts: list[dict[str, Any]]) -> list[str]:
    surnames = {(c.get("surname") or "").strip().upper() for c in children} - {""}
    prompts: list[str] = []
    for s in suspects:
        relationship = s.get("relationship_to_victim")
        surname = (s.get("surname") or "").strip().upper()
        if relationship in ("partner", "step_parent") and surname and surnames and surname not in surnames:
            prompts.append("Who else lives here or stays over? The suspect is not the children's father "
                           "(a different surname): what is his role in their care?")
        elif relationship == "ex_partner":
            prompts.append("Does the suspect have children elsewhere, or a new partner with children?")
    if any(c.get("anonymous") == "yes" for c in contacts):
        prompts.append("An earlier consultation named no family: ask the caller whether this is the child "
                       "they rang about, and what they saw then.")
    if any(_stated_above(c) for c in contacts):
        prompts.append("A caller put the concern higher than the MASH recorded it: what did the caller see "
                       "that the record does not say?")
    if any(c.get("social_care_status") == "pre_birth" for c in children):
        prompts.append("An unborn child is expected here: does the midwife know about the incident?")
    if any(c.get("provider_urn") and not c.get("school_urn") for c in children):
        prompts.append("Who sees the youngest child each day? The early-years setting may be the only "
                       "professional who does.")
    if any(f.startswith("SUSPECT_HOME_UNKNOWN") for f in row.get("follow_ups") or []):
        prompts.append("Where does the suspect live, and which children live with him?")
    seen: list[str] = []
    for p in prompts:
        if p not in seen:
            seen.append(p)
    return seen[:MAX_PROMPTS]


def _stated_above(contact: dict[str, Any]) -> bool:
    stated, recorded = contact.get("level_stated"), contact.get("level_recorded")
    return bool(stated and recorded and stated.isdigit() and recorded.isdigit() and int(stated) > int(recorded))


def discussion_frame(
    rows: pl.DataFrame, flags: pl.DataFrame, *, window: pl.DataFrame, persons: pl.DataFrame, contacts: pl.DataFrame,
) -> pl.DataFrame:
    """``rows`` (MASH rows being built, with ``list_key``) with ``worries``, ``working_well``,
    ``next_steps`` and ``curiosity_prompts`` added."""
    children = _by(flags.select(
        "_hh_key", "child_id", "forename", "surname",
        *[c for c in ("social_care_status", "social_care_team", "provider_urn", "school_urn") if c in flags.columns],
    ), "_hh_key")
    incidents = {r["incident_id"]: r for r in window.iter_rows(named=True)}
    person_columns = [c for c in ("incident_id", "role", "relationship_to_victim", "surname") if c in persons.columns]
    suspects = _by(persons.filter(pl.col("role") == "suspect").select(person_columns), "incident_id")
    contact_of = {r["contact_id"]: r for r in contacts.iter_rows(named=True)}
    worries: list[list[str]] = []
    steps: list[list[str]] = []
    prompts: list[list[str]] = []
    for row in rows.iter_rows(named=True):
        kids = children.get(row["list_key"], [])
        row_contacts = [contact_of[c] for c in row.get("contact_ids") or [] if c in contact_of]
        row_suspects = [s for i in row.get("incident_ids") or [] for s in suspects.get(i, [])]
        worry: list[str] = []
        for incident_id in row.get("incident_ids") or []:
            inc = incidents.get(incident_id)
            if inc is None:
                continue
            day = inc["reported_at"].astimezone(_zone()).strftime("%-d %b %Y") if inc.get("reported_at") else "?"
            worry.append(f"Incident {incident_id} on {day}: {inc.get('offence') or 'offence not recorded'}, "
                         f"DASH {str(inc.get('dash_risk') or 'not assessed').replace('_', ' ')}.")
        worry.extend(row.get("suspect_relationships") or [])
        if row_contacts:
            above = sum(_stated_above(c) for c in row_contacts)
            worry.append(
                f"{len(row_contacts)} contact(s) with the MASH in the last year"
                + (f", {above} where the caller stated a higher level than the MASH recorded" if above else "")
                + " (listed below)."
            )
        worry.extend(f"Social care: {line}." for line in row.get("social_care") or [])
        step: list[str] = []
        agencies = row.get("agencies") or []
        if agencies:
            step.append("Bring: " + ", ".join(_agency_words(a) for a in agencies) + ".")
        for kid in kids:
            if kid.get("social_care_status") in OPEN_PLAN_STATUSES:
                team = kid.get("social_care_team") or "the allocated team"
                step.append(f"Inform the allocated worker today ({team}): {kid.get('forename') or kid['child_id']} "
                            "has an open plan.")
        for c in row_contacts:
            if c.get("anonymous") == "yes":
                caller = CALLER_WORDS.get(c.get("caller_role") or "", "caller")
                step.append(f"Ask the {caller} {c.get('caller_org') or ''} whether contact {c['contact_id']} "
                            "was about this child.".replace("  ", " "))
        for follow_up in row.get("follow_ups") or []:
            kind, _, where = follow_up.partition(":")
            if kind == "SUSPECT_HOME_UNKNOWN":
                step.append(f"Police to locate the suspect of {where.split('/')[0]} (home unknown).")
        worries.append(worry)
        steps.append(list(dict.fromkeys(step)))
        prompts.append(_prompts(row, kids, row_suspects, row_contacts))
    lists = pl.List(pl.String)
    return rows.with_columns(
        pl.Series("worries", worries, dtype=lists),
        pl.lit(WORKING_WELL).alias("working_well"),
        pl.Series("next_steps", steps, dtype=lists),
        pl.Series("curiosity_prompts", prompts, dtype=lists),
    )


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(TIMEZONE)
