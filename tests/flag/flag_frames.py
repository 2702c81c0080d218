"""Hand-built frames for the flag stage tests (synthetic people only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl

from pipeline import schemas
from pipeline.flag.flags import EVER_LISTED_HOUSEHOLDS, PERSON_RELATIONSHIPS, FlagInputs
from pipeline.flag.rules import Rules, load_rules

LIST_DATE = date(2026, 11, 4)  # a Wednesday in term
PREVIOUS = LIST_DATE - timedelta(days=1)
RULES = load_rules()


def rules(**changes: Any) -> Rules:
    return replace(RULES, **changes)


def noon(day: date) -> datetime:
    """Mid-day UTC, so the Europe/London date is the same day in any season."""
    return datetime.combine(day, time(12), UTC)


def incident(
    incident_id: str,
    reported: date | datetime,
    *,
    dash: str = "standard",
    present: str = "no",
    first_seen: date | None = None,
    last_changed: date | None = None,
    offence: str = "Assault occasioning ABH",
) -> dict[str, Any]:
    reported_at = noon(reported) if not isinstance(reported, datetime) else reported
    seen = first_seen or reported_at.date()
    return {
        "incident_id": incident_id, "reported_at": reported_at, "updated_at": reported_at,
        "dash_risk": dash, "children_present": present, "offence": offence,
        "address_line1": "1 Test Street", "address_line2": None, "town": "Norwich",
        "postcode": "NR1 1AA", "uprn": None,
        "first_seen_on": seen, "last_changed_on": last_changed or seen,
    }


def child(
    child_id: str,
    household_id: str | None,
    dob: date,
    *,
    forename: str = "Sam",
    surname: str = "Example",
    school_urn: str | None = None,
    gp: str | None = None,
    hv_team: str | None = None,
    nhs: str | None = None,
    upn: str | None = None,
) -> dict[str, Any]:
    sources = [s for s, v in (("health_register", nhs), ("school_census", upn)) if v]
    return {
        "child_id": child_id, "household_id": household_id, "forename": forename,
        "surname": surname, "dob": dob, "nhs_number": nhs, "upn": upn, "postcode": "NR1 1AA",
        "address": f"address of {household_id}", "sources": sources, "school_urn": school_urn,
        "school_name": None, "year_group": None, "gp_practice_code": gp,
        "health_visitor_team": hv_team,
    }


def link(incident_id: str, household_id: str, role: str = "victim", basis: str = "victim_home") -> dict[str, Any]:
    return {"incident_id": incident_id, "household_id": household_id, "role": role,
            "person_ref": f"{incident_id}-{role}", "basis": basis}


def nominal(incident_id: str, person_ref: str, child_id: str | None, *, role: str = "child",
            household_id: str | None = None) -> dict[str, Any]:
    return {"incident_id": incident_id, "person_ref": person_ref, "person_id": f"P-{person_ref}",
            "role": role, "household_id": household_id, "child_id": child_id,
            "link_probability": 0.99 if child_id else None}


def previous_flag(child_id: str, household_id: str, level: str, *, on: date = PREVIOUS) -> dict[str, Any]:
    return {"list_date": on, "child_id": child_id, "household_id": household_id, "forename": "Sam",
            "surname": "Example", "dob": date(2020, 1, 1), "nhs_number": None, "upn": None,
            "school_urn": None, "gp_practice_code": None, "risk_level": level,
            "reasons": ["DA_IN_HOUSEHOLD"], "incident_ids": ["OLD"], "status": "new",
            "rules_version": RULES.version}


def decision(household_id: str, decided_at: datetime, *, priority: int | None = None,
             risk_level: str | None = None) -> dict[str, Any]:
    return {"household_id": household_id, "decided_at": decided_at, "decided_by": "coordinator.a",
            "priority": priority, "risk_level": risk_level, "reason": "discussed at MASH"}


def frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema) if rows else schemas.empty(schema)


def make_inputs(
    *,
    incidents: Sequence[dict[str, Any]] = (),
    links: Sequence[dict[str, Any]] = (),
    children: Sequence[dict[str, Any]] = (),
    nominals: Sequence[dict[str, Any]] = (),
    previous_flags: Sequence[dict[str, Any]] = (),
    ever_listed: Sequence[dict[str, Any]] = (),
    decisions: Sequence[dict[str, Any]] = (),
    list_date: date = LIST_DATE,
    previous_list_date: date | None = PREVIOUS,
    previous_incidents: Sequence[dict[str, Any]] = (),
    persons: Sequence[dict[str, Any]] = (),
) -> FlagInputs:
    hh_ids = sorted({c["household_id"] for c in children if c["household_id"]}
                    | {lk["household_id"] for lk in links})
    households = [{"household_id": h, "household_key": f"addr:{h}", "address": f"{h} Test Street, Norwich",
                   "postcode": "NR1 1AA", "uprn": None} for h in hh_ids]
    return FlagInputs(
        list_date=list_date,
        incidents=frame(list(incidents), schemas.CURRENT_INCIDENTS),
        incident_households=frame(list(links), schemas.INCIDENT_HOUSEHOLDS),
        person_links=frame(list(nominals), schemas.PERSON_LINKS),
        children=frame(list(children), schemas.CHILD_INDEX),
        households=frame(households, schemas.HOUSEHOLDS),
        previous_list_date=previous_list_date,
        previous_flags=frame(list(previous_flags), schemas.CHILD_FLAGS),
        ever_listed_households=frame(list(ever_listed), EVER_LISTED_HOUSEHOLDS),
        decisions=frame(list(decisions), schemas.COORDINATOR_DECISIONS),
        previous_incidents=frame(list(previous_incidents), schemas.CURRENT_INCIDENTS),
        persons=frame(list(persons), PERSON_RELATIONSHIPS),
    )


def years_ago(years: int, *, on: date = LIST_DATE) -> date:
    return on.replace(year=on.year - years)
