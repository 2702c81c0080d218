"""The coordinator's report: one printable, self-contained HTML page and a CSV of the same rows.

The HTML has no scripts and no external assets (a Content-Security-Policy forbids both), so it
opens offline, prints cleanly and cannot be made to run code by a hostile name in the data:
jinja2 autoescaping turns ``<script>`` into text, and names sit in ``<bdi>`` so a right-to-left
mark in one name cannot reorder the text around it.

It is read at the start of the day by a coordinator triaging tens of households, on a desk
screen, a phone or paper, so every fact the warehouse holds is said in words beside the row it
belongs to: why the row is listed today, its history, who the suspect is to the family, why
each child has its level, names instead of codes, and which other rows share an incident.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import polars as pl

from pipeline.errors import ConfigError
from pipeline.flag.calendar import LONDON
from pipeline.flag.rules import Rules, load_rules
from pipeline.outputs.files import write_files
from pipeline.paths import shipped
from pipeline.sources import REGISTRY

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.publish.warehouse import Warehouse

log = logging.getLogger(__name__)

TEMPLATES = shipped("templates")
GP_PRACTICES_FILE = shipped("config") / "gp_practices.csv"
CSV_COLUMNS = (
    "priority", "risk_level", "new_since_previous", "household_id", "address", "postcode",
    "children", "child_ids", "schools", "agencies", "reasons", "incident_ids", "due_by", "follow_ups",
    # Added columns go after the original ones, so spreadsheets built on the old order still work.
    "badge", "why_listed", "history", "suspect", "also_see", "child_levels", "school_notices",
    # Landing contract v2 (Case S): contacts with the MASH, social care, the discussion frame.
    "contacts", "social_care", "worries", "next_steps", "curiosity_prompts",
)
# A cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BADGES = {"new": "NEW", "escalated": "ESCALATED", "updated": "UPDATED"}
NO_SCHOOL_ROLL = "not on any school roll: check elective home education or children missing education"
LATE_NOTICE = "late: police delivery arrived after the school day started"
# How an incident reaches a listed row (pipeline.flag.flags.REACH_BASES), as the coordinator says it.
REACH_WORDS = {
    "victim_home": "the victim's home",
    "suspect_home": "the suspect's home",
    "incident_address": "where the incident happened",
    "linked_child_home": "home of a child police recorded at the incident",
    "known_home": "the home police recorded for that person on another incident",
    "named": "a child police named at the incident",
    "incident_dwelling": "where the incident happened, a home with children registered",
    "address_conflict": "one of two addresses police and the incident give for the same person",
}


@dataclass(frozen=True)
class _Child:
    name: str
    age: str
    risk_level: str
    status: str
    school: str | None
    level_reason: str = ""
    # Said on its own line when a child's level differs from its household's.
    level_note: str | None = None
    # (kind, sentence): kind is "no_school_roll", "notice" or "late" (styled apart).
    facts: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def age_on(dob: date | None, day: date) -> str:
    """Age in plain words: months under two, years from two ('4 months', '1 month', '3 years')."""
    if dob is None:
        return "age unknown"
    months = _months(dob, day)
    if months < 0:
        return "not yet born"
    if months < 24:
        return f"{months} month{'' if months == 1 else 's'}"
    years = months // 12
    return f"{years} years"


def _months(dob: date, day: date) -> int:
    return (day.year - dob.year) * 12 + (day.month - dob.month) - (day.day < dob.day)


def of_school_age(dob: date | None, day: date) -> bool:
    """From the fifth birthday until the sixteenth: a child who should be on a school roll.
    (The legal start is the term after the fifth birthday; the list errs towards asking.)"""
    return dob is not None and 5 * 12 <= _months(dob, day) < 16 * 12


def load_gp_practices(path: Path = GP_PRACTICES_FILE) -> dict[str, str]:
    """GP practice code → name from a two-column CSV (``gp_practice_code,name``). A code not in
    the file is shown as the code."""
    if not path.exists():
        log.warning("%s not found: GP practices are shown by code", path)
        return {}
    names: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"gp_practice_code", "name"} - set(reader.fieldnames or [])
        if missing:
            raise ConfigError(f"{path.name} lacks column(s) {sorted(missing)}: it needs gp_practice_code,name")
        for n, rec in enumerate(reader, start=1):
            code, name = (rec["gp_practice_code"] or "").strip().upper(), (rec["name"] or "").strip()
            if not code or not name:
                column = "gp_practice_code" if not code else "name"
                raise ConfigError(f"{path.name} row {n}, column {column}: empty; give both a code and a name")
            names[code] = name
    return names


def _agency_label(agency: str, *, schools: Mapping[str, str] | None = None, gps: Mapping[str, str] | None = None) -> str:
    kind, _, value = agency.partition(":")
    if kind == "school" and value:
        name = (schools or {}).get(value)
        return f"School: {name} (URN {value})" if name else f"School URN {value}"
    if kind == "gp" and value:
        name = (gps or {}).get(value.upper())
        return f"GP: {name} ({value})" if name else f"GP practice {value}"
    if kind == "health_visiting":
        return f"Health visiting ({value})" if value else "Health visiting (team not recorded)"
    labels = {s.agency.tag: s.agency.label for s in REGISTRY if s.agency}
    return f"{labels.get(kind, kind)} {value}".strip()


def _when(ts: datetime | None) -> str:
    if ts is None:
        return ""
    if ts.tzinfo is None:  # the pipeline's naive times are UTC
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(LONDON).strftime("%a %d %b %Y %H:%M")


def _iso_london(ts: datetime | None) -> str:
    """ISO 8601 in Europe/London with its offset ('2026-10-05T13:00:00+01:00'), as the HTML shows."""
    if ts is None:
        return ""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(LONDON).isoformat()


def _wall_clock(ts: datetime | None) -> str:
    """A naive Europe/London wall-clock time (school notifications) in words."""
    return "" if ts is None else ts.strftime("%a %d %b %H:%M")


def _spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _environment() -> jinja2.Environment:
    # autoescape=True regardless of the file extension: select_autoescape() would not treat
    # ".j2" as HTML and would leave names unescaped.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )


def _address(address: str | None, postcode: str | None) -> str:
    return ", ".join(part for part in (address, postcode) if part) or "(address not known)"


def follow_up_sentence(follow_up: str, conflict: Mapping[str, Any] | None = None) -> str:
    """Plain English for a ``mash_list.follow_ups`` entry, ``<KIND>:<incident_id>/<person_ref>``.
    A kind this version does not know is still said in words from its name. ``conflict`` is
    an ``ADDRESS_CONFLICT``'s row of the ``address_conflicts_on`` query (both addresses)."""
    kind, _, where = follow_up.partition(":")
    incident, _, person = where.partition("/")
    about = f"incident {incident}" + (f", person {person}" if person else "")
    if kind == "SUSPECT_HOME_UNKNOWN":
        return (
            f"Police to establish where the suspect ({person}, incident {incident}) lives and whether "
            "children live there: no address, or no fixed abode, is recorded on any incident."
        )
    if kind == "ADDRESS_CONFLICT" and conflict is not None:
        keyed = _address(conflict.get("keyed_address"), conflict.get("keyed_postcode"))
        scene = _address(conflict.get("incident_address"), conflict.get("incident_postcode"))
        return (
            f"Address conflict: police keyed {keyed} for the {conflict.get('role') or 'person'} ({person}, "
            f"incident {incident}), incident at {scene}. Children registered at both are listed; establish "
            "which is home."
        )
    if kind == "ADDRESS_CONFLICT":
        return f"Records disagree about where someone lives ({about}): establish the current address."
    words = kind.replace("_", " ").strip().capitalize() or "Follow-up"
    return f"{words} ({about}): to establish." if where else f"{words}: to establish."


def _child_rows(
    h: Mapping[str, Any], children: Mapping[str, Mapping[str, Any]], notices: Mapping[str, list[tuple[str, str]]],
    list_date: date,
) -> list[_Child]:
    kids = []
    for child_id in h["child_ids"]:
        c = children.get(child_id)
        if c is None:
            log.warning("list row %s lists child %s with no child_flags row", h["household_id"], child_id)
            continue
        name = " ".join(part for part in (c["forename"], c["surname"]) if part) or "(name not recorded)"
        school_name = c.get("school_name")
        school = (f"{school_name} (URN {c['school_urn']})" if school_name else f"school URN {c['school_urn']}") \
            if c["school_urn"] else None
        reason = c.get("level_reason") or ""
        note = None
        if c["risk_level"] != h["risk_level"]:
            note = (f"{c['risk_level'].capitalize()}, not {h['risk_level']} like the household"
                    + (f": {reason}." if reason else "."))
        facts = list(notices.get(child_id, []))
        if c.get("social_care"):
            facts.insert(0, ("social_care", f"social care: {c['social_care']}"))
        if not c["school_urn"] and of_school_age(c["dob"], list_date):
            facts.insert(0, ("no_school_roll", NO_SCHOOL_ROLL))
        kids.append(_Child(name, age_on(c["dob"], list_date), c["risk_level"], c["status"], school,
                           reason, note, tuple(facts)))
    return kids


def _notices(notifications: pl.DataFrame | None, list_date: date) -> dict[str, list[tuple[str, str]]]:
    """Per child: the school notifications of the day, in words, late ones said so."""
    out: dict[str, list[tuple[str, str]]] = {}
    if notifications is None or notifications.is_empty():
        return out
    for n in notifications.filter(pl.col("list_date") == list_date).iter_rows(named=True):
        due = _wall_clock(n["notify_by"])
        setting = "early-years setting" if n.get("setting_type") == "early_years" else "school"
        fact = (("late", f"{setting} notice for incident {n['incident_id']}: {LATE_NOTICE} (was due {due})")
                if n.get("late") else ("notice", f"{setting} to be told of incident {n['incident_id']} by {due}"))
        out.setdefault(n["child_id"], []).append(fact)
    return out


def _cross_references(rows: list[dict[str, Any]]) -> None:
    """Rows that share an incident point at each other: "also see #2: same incident I1, the
    suspect's home" (how that incident reaches the other row)."""
    by_incident: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        for incident in r["incident_ids"]:
            by_incident.setdefault(incident, []).append(r)
    for r in rows:
        seen = []
        for incident in r["incident_ids"]:
            for other in by_incident[incident]:
                if other is r:
                    continue
                how = ", ".join(REACH_WORDS.get(b, b.replace("_", " ")) for b in other["reach"].get(incident, []))
                seen.append(f"also see #{other['priority']}: same incident {incident}" + (f", {how}" if how else ""))
        r["also_see"] = seen


def report_rows(
    list_date: date, mash_list: pl.DataFrame, child_flags: pl.DataFrame, *, rules: Rules,
    notifications: pl.DataFrame | None = None, gp_names: Mapping[str, str] | None = None,
    address_conflicts: pl.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The list's rows in priority order, with their children, ready to display. A row with no
    household (a child with no known home) has ``no_home`` set. ``address_conflicts`` (query
    ``address_conflicts_on``) gives both addresses of each ``ADDRESS_CONFLICT`` follow-up."""
    conflicts = {} if address_conflicts is None else {
        r["follow_up"]: r for r in address_conflicts.iter_rows(named=True)
    }
    day_flags = child_flags.filter(pl.col("list_date") == list_date)
    children = {row["child_id"]: row for row in day_flags.iter_rows(named=True)}
    schools = {c["school_urn"]: c["school_name"] for c in children.values()
               if c["school_urn"] and c.get("school_name")}
    notices = _notices(notifications, list_date)
    rows = []
    # One row per listed household: tens a day, so a plain loop reads best here.
    for h in mash_list.filter(pl.col("list_date") == list_date).sort("priority").iter_rows(named=True):
        badge = h.get("badge") or ("new" if h["new_since_previous"] else None)
        reach: dict[str, list[str]] = {}
        for entry in h.get("incident_reach") or []:
            incident, _, basis = entry.rpartition(":")
            reach.setdefault(incident, []).append(basis)
        kids = _child_rows(h, children, notices, list_date)
        rows.append({
            "priority": h["priority"],
            "household_id": h["household_id"] or "(no known home)",
            "no_home": h["household_id"] is None,
            "list_key": h.get("list_key") or "",
            "risk_level": h["risk_level"],
            "new_since_previous": bool(h["new_since_previous"]),
            "badge": BADGES.get(badge or "", ""),
            "address": h["address"] or "(address not known)",
            "postcode": h["postcode"] or "",
            "children": kids,
            "why_listed": list(h.get("why_listed") or []),
            "history": h.get("history") or "",
            "suspect": list(h.get("suspect_relationships") or []),
            "reach": reach,
            "reasons": [rules.sentence(r) for r in h["reasons"]],
            "follow_ups": [follow_up_sentence(f, conflicts.get(f)) for f in (h.get("follow_ups") or [])],
            "incident_ids": list(h["incident_ids"]),
            "agencies": [_agency_label(a, schools=schools, gps=gp_names) for a in h["agencies"]],
            "due_by": _when(h["due_by"]),
            "due_by_iso": _iso_london(h["due_by"]),
            "child_ids": list(h["child_ids"]),
            "contacts": list(h.get("contacts") or []),
            "social_care": list(h.get("social_care") or []),
            "worries": list(h.get("worries") or []),
            "working_well": h.get("working_well") or "",
            "next_steps": list(h.get("next_steps") or []),
            "curiosity_prompts": list(h.get("curiosity_prompts") or []),
        })
    _cross_references(rows)
    return rows


def _priorities_by_child(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {child_id: r["priority"] for r in rows for child_id in r["child_ids"]}


def revisit_rows(revisit: pl.DataFrame | None, list_date: date, *, priorities: Mapping[str, int]) -> list[dict[str, Any]]:
    """The day's consultations to revisit, in words, each with the list rows of its candidate
    children (if any is listed today)."""
    from pipeline.link.contacts import CALLER_WORDS, CONCERN_WORDS, OUTCOME_WORDS

    if revisit is None or revisit.is_empty():
        return []
    out = []
    for r in revisit.filter(pl.col("list_date") == list_date).sort("received_at", "contact_id").iter_rows(named=True):
        listed = sorted({priorities[c] for c in r["candidate_child_ids"] if c in priorities})
        out.append({
            "contact_id": r["contact_id"],
            "received": _when(r["received_at"]),
            "caller": CALLER_WORDS.get(r["caller_role"], r["caller_role"]) + (f" {r['caller_org']}" if r["caller_org"] else ""),
            "kind": ("anonymous " if r["anonymous"] == "yes" else "") + r["contact_type"],
            "concern": CONCERN_WORDS.get(r["concern_category"], r["concern_category"]),
            "levels": (f"stated level {r['level_stated']}, " if r["level_stated"] else "")
            + f"recorded level {r['level_recorded']}",
            "outcome": OUTCOME_WORDS.get(r["outcome"], r["outcome"]),
            "why": list(r["why"]),
            "candidates": len(r["candidate_child_ids"]),
            "on_list": ", ".join(f"#{p}" for p in listed),
        })
    return out


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        record = {
            **r,
            "household_id": "" if r["no_home"] else r["household_id"],
            "children": "; ".join(f"{c.name} ({c.age}, {c.risk_level})" for c in r["children"]),
            "child_ids": "; ".join(r["child_ids"]),
            "schools": "; ".join(sorted({c.school for c in r["children"] if c.school})),
            "agencies": "; ".join(r["agencies"]),
            "reasons": " | ".join(r["reasons"]),
            "follow_ups": " | ".join(r["follow_ups"]),
            "incident_ids": "; ".join(r["incident_ids"]),
            "due_by": r["due_by_iso"],
            "new_since_previous": "yes" if r["new_since_previous"] else "no",
            "why_listed": " | ".join(r["why_listed"]),
            "suspect": " | ".join(r["suspect"]),
            "also_see": " | ".join(r["also_see"]),
            "child_levels": " | ".join(
                f"{c.name}: {c.risk_level}" + (f" ({c.level_reason})" if c.level_reason else "") for c in r["children"]
            ),
            "school_notices": " | ".join(f"{c.name}: {text}" for c in r["children"] for _, text in c.facts),
            **{k: " | ".join(r[k]) for k in ("contacts", "social_care", "worries", "next_steps", "curiosity_prompts")},
        }
        writer.writerow([_spreadsheet_safe(record[col]) for col in CSV_COLUMNS])
    return out.getvalue()


def render_report(
    list_date: date,
    mash_list: pl.DataFrame,
    child_flags: pl.DataFrame,
    *,
    generated_at: datetime,
    rules_version: str | None = None,
    rules: Rules | None = None,
    unlocated: pl.DataFrame | None = None,
    notifications: pl.DataFrame | None = None,
    gp_names: Mapping[str, str] | None = None,
    notices: list[str] | None = None,
    address_conflicts: pl.DataFrame | None = None,
    revisit: pl.DataFrame | None = None,
    absent_sources: list[str] | None = None,
) -> tuple[str, str]:
    """Render the day's MASH list as (html, csv). ``rules`` supplies the plain-English reason
    sentences (default: the project's ``config/rules.toml``); ``rules_version`` defaults to the
    version the list rows record, else the rules'. ``unlocated`` (``marts.unlocated_suspects``
    rows) adds the suspects new since the previous list whose home is unknown;
    ``notifications`` (``marts.school_notifications``) says per child when its school is to be
    told, and which notices are late; ``gp_names`` (default ``config/gp_practices.csv``) names
    GP practices. ``notices`` go at the top of the page: what the night processed but the
    coordinator must know (a delivery cut short to be resent). ``address_conflicts`` (query
    ``address_conflicts_on``) names both addresses of each address conflict. ``revisit``
    (``marts.consultations_to_revisit``) is the day's "consultations to revisit";
    ``absent_sources`` names the partner sources never delivered (not on this list)."""
    rules = rules or load_rules()
    gp_names = load_gp_practices() if gp_names is None else gp_names
    if rules_version is None:
        recorded = mash_list["rules_version"].drop_nulls().unique().to_list() if "rules_version" in mash_list.columns else []
        rules_version = recorded[0] if len(recorded) == 1 else rules.version
    if rules.version != rules_version:
        log.warning("report for rules %s rendered with sentences from rules %s", rules_version, rules.version)
    rows = report_rows(list_date, mash_list, child_flags, rules=rules, notifications=notifications, gp_names=gp_names,
                       address_conflicts=address_conflicts)
    priorities = {r["household_id"]: r["priority"] for r in rows}
    suspects = [
        {
            "reported": _when(u["reported_at"]), "incident_id": u["incident_id"], "person_ref": u["person_ref"],
            "dash_risk": u["dash_risk"].replace("_", " "),
            "on_list": ", ".join(f"#{priorities[h]}" for h in u["listed_households"] if h in priorities),
        }
        for u in (unlocated if unlocated is not None else pl.DataFrame()).iter_rows(named=True)
        if u["list_date"] == list_date and u["new_since_previous"]
    ]
    to_revisit = revisit_rows(revisit, list_date, priorities=_priorities_by_child(rows))
    households = [r for r in rows if not r["no_home"]]
    no_home = [r for r in rows if r["no_home"]]
    counts = {label: sum(1 for r in rows if r["badge"] == label) for label in BADGES.values()}
    html = _environment().get_template("report.html.j2").render(
        households=households,
        no_home=no_home,
        counts=counts,
        unlocated_suspects=suspects,
        revisit=to_revisit,
        absent_sources=absent_sources or [],
        notices=notices or [],
        list_date_long=list_date.strftime("%A %d %B %Y"),
        list_date_short=list_date.strftime("%d %b %Y"),
        generated_at=_when(generated_at),
        rules_version=rules_version,
        working_hours=f"{rules.working_day_start:%H:%M}–{rules.working_day_end:%H:%M}",
        published_at=f"{rules.published_at:%H:%M}",
    )
    return html, _csv(rows)


# Warnings a coordinator must see at the top of the night's report (the others are for
# the data engineers: run summary, log and audit.runs).
REPORT_WARNING_KINDS = ("truncated_file", "ambiguous_update_order")


def shared_incident_notices(wh: Warehouse, list_date: date, mash: pl.DataFrame) -> list[str]:
    """One line per incident on the list that another authority's MASH has too (a force-wide
    deployment records them in ``marts.shared_incidents``)."""
    shared = wh.query("shared_incidents_on", list_date=list_date)
    if shared.height == 0:
        return []
    on_list = set(mash["incident_ids"].explode().drop_nulls().to_list()) if mash.height else set()
    return [
        f"Cross-border incident {incident}: the MASH of {others} received it too; agree with them "
        "who leads before acting."
        for incident, others in shared.iter_rows() if incident in on_list
    ]


def write_report(
    wh: Warehouse, list_date: date, settings: Settings, *, warnings: list[dict[str, Any]] | None = None
) -> list[Path]:
    """Render the coordinator's report for a published list date into the reports folder.

    ``warnings`` are the night's (default: those recorded for the run that published the date)."""
    rules = load_rules(settings.rules_file)
    mash = wh.query("mash_list_on", list_date=list_date)
    flags = wh.query("flags_on", list_date=list_date)
    unlocated = wh.query("unlocated_suspects_on", list_date=list_date)
    notifications = wh.query("school_notifications_on", list_date=list_date)
    conflicts = wh.query("address_conflicts_on", as_of=list_date)
    revisit = wh.query("consultations_to_revisit_on", list_date=list_date)
    if warnings is None:
        recorded = wh.query("run_warnings_on", list_date=list_date)["warnings"].to_list()
        warnings = json.loads(recorded[0]) if recorded and recorded[0] else []
    notices = [w["message"] for w in warnings if w.get("kind") in REPORT_WARNING_KINDS]
    notices += shared_incident_notices(wh, list_date, mash)
    absent = [
        spec.words for spec in REGISTRY
        if not spec.always_delivered
        and not wh.query("source_delivered", raw_table=spec.raw_table, as_of=list_date)["delivered"][0]
    ]
    html_text, csv_text = render_report(
        list_date, mash, flags, generated_at=datetime.now(UTC), rules=rules, unlocated=unlocated,
        notifications=notifications, notices=notices, address_conflicts=conflicts,
        revisit=revisit, absent_sources=absent,
    )
    out = settings.reports_dir / list_date.isoformat()
    return write_files({out / f"mash-list-{list_date}.html": html_text, out / f"mash-list-{list_date}.csv": csv_text},
                       what="the MASH list report")
