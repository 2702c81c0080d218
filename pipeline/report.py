"""The coordinator's report: one printable, self-contained HTML page and a CSV of the same rows.

The HTML has no scripts and no external assets (a Content-Security-Policy forbids both), so it
opens offline, prints cleanly and cannot be made to run code by a hostile name in the data:
jinja2 autoescaping turns ``<script>`` into text, and names sit in ``<bdi>`` so a right-to-left
mark in one name cannot reorder the text around it.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from pipeline.calendar import LONDON
from pipeline.rules import Rules, load_rules

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSV_COLUMNS = (
    "priority", "risk_level", "new_since_previous", "household_id", "address", "postcode",
    "children", "child_ids", "schools", "agencies", "reasons", "incident_ids", "due_by", "follow_ups",
)
# A cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class _Child:
    name: str
    age: str
    risk_level: str
    status: str
    school: str | None


def age_on(dob: date | None, day: date) -> str:
    """Age in plain words: months under two, years from two ('4 months', '1 month', '3 years')."""
    if dob is None:
        return "age unknown"
    months = (day.year - dob.year) * 12 + (day.month - dob.month) - (day.day < dob.day)
    if months < 0:
        return "not yet born"
    if months < 24:
        return f"{months} month{'' if months == 1 else 's'}"
    years = months // 12
    return f"{years} years"


def _agency_label(agency: str) -> str:
    kind, _, value = agency.partition(":")
    labels = {"police": "Police", "school": "School URN", "gp": "GP practice", "health_visiting": "Health visiting"}
    label = labels.get(kind, kind)
    return f"{label} {value}".strip() if kind != "health_visiting" else (
        f"{label} ({value})" if value else f"{label} (team not recorded)"
    )


def _when(ts: datetime | None) -> str:
    if ts is None:
        return ""
    if ts.tzinfo is None:  # the pipeline's naive times are UTC
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(LONDON).strftime("%a %d %b %Y %H:%M")


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


def report_rows(
    list_date: date, mash_list: pl.DataFrame, child_flags: pl.DataFrame, *, rules: Rules,
    address_conflicts: pl.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The list's households in priority order, with their children, ready to display.
    ``address_conflicts`` (query ``address_conflicts_on``) gives both addresses of each
    ``ADDRESS_CONFLICT`` follow-up."""
    conflicts = {
        r["follow_up"]: r for r in (address_conflicts if address_conflicts is not None else pl.DataFrame()).iter_rows(named=True)
    }
    day_flags = child_flags.filter(pl.col("list_date") == list_date)
    children = {row["child_id"]: row for row in day_flags.iter_rows(named=True)}
    rows = []
    # One row per listed household: tens a day, so a plain loop reads best here.
    for h in mash_list.filter(pl.col("list_date") == list_date).sort("priority").iter_rows(named=True):
        kids = []
        for child_id in h["child_ids"]:
            c = children.get(child_id)
            if c is None:
                log.warning("household %s lists child %s with no child_flags row", h["household_id"], child_id)
                continue
            name = " ".join(part for part in (c["forename"], c["surname"]) if part) or "(name not recorded)"
            kids.append(_Child(name, age_on(c["dob"], list_date), c["risk_level"], c["status"], c["school_urn"]))
        rows.append({
            "priority": h["priority"],
            "household_id": h["household_id"] or "(no fixed address)",
            "risk_level": h["risk_level"],
            "new_since_previous": bool(h["new_since_previous"]),
            "address": h["address"] or "(address not known)",
            "postcode": h["postcode"] or "",
            "children": kids,
            "reasons": [rules.sentence(r) for r in h["reasons"]],
            "follow_ups": [_follow_up_sentence(f, conflicts.get(f)) for f in (h.get("follow_ups") or [])],
            "incident_ids": list(h["incident_ids"]),
            "agencies": [_agency_label(a) for a in h["agencies"]],
            "due_by": _when(h["due_by"]),
            "due_by_iso": h["due_by"].isoformat() if h["due_by"] else "",
            "child_ids": list(h["child_ids"]),
        })
    return rows


def _address(address: str | None, postcode: str | None) -> str:
    return ", ".join(part for part in (address, postcode) if part) or "(address not known)"


def _follow_up_sentence(follow_up: str, conflict: dict[str, Any] | None = None) -> str:
    """Plain English for a ``mash_list.follow_ups`` entry (pipeline.flag.unlocated_suspects,
    pipeline.flag.address_conflicts; ``conflict`` is its ``address_conflicts_on`` row)."""
    code, _, where = follow_up.partition(":")
    incident, _, person = where.partition("/")
    if code == "SUSPECT_HOME_UNKNOWN":
        return (
            f"Police to establish where the suspect ({person}, incident {incident}) lives and whether "
            "children live there: no address, or no fixed abode, is recorded on any incident."
        )
    if code == "ADDRESS_CONFLICT":
        role = (conflict or {}).get("role") or "person"
        keyed = _address((conflict or {}).get("keyed_address"), (conflict or {}).get("keyed_postcode"))
        scene = _address((conflict or {}).get("incident_address"), (conflict or {}).get("incident_postcode"))
        return (
            f"Address conflict: police keyed {keyed} for the {role} ({person}, incident {incident}), "
            f"incident at {scene}. Children registered at both are listed; establish which is home."
        )
    return follow_up


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        record = {
            **r,
            "children": "; ".join(f"{c.name} ({c.age}, {c.risk_level})" for c in r["children"]),
            "child_ids": "; ".join(r["child_ids"]),
            "schools": "; ".join(sorted({c.school for c in r["children"] if c.school})),
            "agencies": "; ".join(r["agencies"]),
            "reasons": " | ".join(r["reasons"]),
            "follow_ups": " | ".join(r["follow_ups"]),
            "incident_ids": "; ".join(r["incident_ids"]),
            "due_by": r["due_by_iso"],
            "new_since_previous": "yes" if r["new_since_previous"] else "no",
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
    address_conflicts: pl.DataFrame | None = None,
) -> tuple[str, str]:
    """Render the day's MASH list as (html, csv). ``rules`` supplies the plain-English reason
    sentences (default: the project's ``config/rules.toml``); ``rules_version`` defaults to the
    version the list rows record, else the rules'. ``unlocated`` (``marts.unlocated_suspects``
    rows) adds the suspects new since the previous list whose home is unknown;
    ``address_conflicts`` (query ``address_conflicts_on``) names both addresses of each
    address conflict."""
    rules = rules or load_rules()
    if rules_version is None:
        recorded = mash_list["rules_version"].drop_nulls().unique().to_list() if "rules_version" in mash_list.columns else []
        rules_version = recorded[0] if len(recorded) == 1 else rules.version
    if rules.version != rules_version:
        log.warning("report for rules %s rendered with sentences from rules %s", rules_version, rules.version)
    rows = report_rows(list_date, mash_list, child_flags, rules=rules, address_conflicts=address_conflicts)
    priorities = {r["household_id"]: r["priority"] for r in rows}
    suspects = [
        {
            "reported": _when(u["reported_at"]), "incident_id": u["incident_id"], "person_ref": u["person_ref"],
            "dash_risk": u["dash_risk"].replace("_", " "),
            "on_list": ", ".join(f"priority {priorities[h]}" for h in u["listed_households"] if h in priorities),
        }
        for u in (unlocated if unlocated is not None else pl.DataFrame()).iter_rows(named=True)
        if u["list_date"] == list_date and u["new_since_previous"]
    ]
    html = _environment().get_template("report.html.j2").render(
        households=rows,
        unlocated_suspects=suspects,
        list_date_long=list_date.strftime("%A %d %B %Y"),
        list_date_short=list_date.strftime("%d %b %Y"),
        generated_at=_when(generated_at),
        rules_version=rules_version,
        working_hours=f"{rules.working_day_start:%H:%M}–{rules.working_day_end:%H:%M}",
        published_at=f"{rules.published_at:%H:%M}",
    )
    return html, _csv(rows)
