"""``hearth explain``: why a child is, or is not, on the list — in plain English.

Reads only the published warehouse (the auditor's copy). It leads with the verdict (flagged or
not, at which level, on which list), then the reasons, then each incident once with how it
reaches the child, then who the child is and which records were accepted as the same child,
their comparisons said in words ("same name, same date of birth, same address"). Rejected
candidate records are left out unless asked for (``show_all``): a coordinator reads this, and a
page of near-misses hides the answer. Values of the child's records that were withheld as
unusable when delivered are listed too.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from pipeline.errors import UsageError
from pipeline.flag.calendar import LONDON
from pipeline.outputs.report import REACH_WORDS
from pipeline.publish.warehouse import Warehouse
from pipeline.sources import REGISTRY

ACCEPTED = ("auto_match", "reviewed_match")
DECISION_WORDS = {
    "auto_match": "accepted automatically",
    "reviewed_match": "accepted by a reviewer",
    "review": "waiting for a reviewer",
    "auto_nonmatch": "rejected automatically",
    "reviewed_nonmatch": "rejected by a reviewer",
    "blocked_by_guard": "held back: it would give one child two NHS numbers or UPNs, or make two people of one incident one",
}
# Comparison levels (pipeline.link.compare) in words; -1 means a value is missing.
_NAME = {4: "same {}", 3: "{} a known variant or sounding the same", 2: "{} nearly the same", 1: "{} similar",
         0: "different {}", -1: "{} missing"}
_LEVEL_WORDS: dict[str, dict[int, str]] = {
    "forename": {k: v.format("first name") for k, v in _NAME.items()},
    "surname": {k: v.format("surname") for k, v in _NAME.items()},
    "names_transposed": {1: "forename and surname written in each other's place"},
    "dob": {4: "same date of birth", 3: "date of birth with day and month swapped",
            2: "date of birth one digit apart", 1: "date of birth sharing two of day, month and year",
            0: "different date of birth", -1: "date of birth missing"},
    "location": {3: "same address", 2: "same postcode or nearly the same street", 1: "same postcode area",
                 0: "different address", -1: "address missing"},
    "gender": {1: "same sex", 0: "different sex", -1: "sex not recorded"},
    "person_ref": {1: "same police person reference", 0: "different police person reference"},
}
# A source in words, by its label in child_index.sources (pipeline/sources.py).
_SOURCE_WORDS = {s.child_label: s.words for s in REGISTRY if s.child_label}

# How a withheld column is named to a reader of ``hearth explain``.
FIELD_NAMES = {
    "dob": "date of birth", "nhs_number": "NHS number", "upn": "UPN", "forename": "forename",
    "surname": "surname", "postcode": "postcode", "address_line1": "address",
    "gp_practice_code": "GP practice", "school_urn": "school URN", "year_group": "year group",
}



def scores_in_words(scores: dict[str, Any]) -> str:
    """"same first name, same surname, same date of birth, same address" from a pair's levels."""
    words = []
    if "names_transposed" not in scores and isinstance(scores.get("dob"), int | float) and scores["dob"] >= 1:
        # Pairs scored before the one-digit level existed (their scores carry no
        # names_transposed): dob 3 was exact, 2 swapped, 1 close.
        scores = {**scores, "dob": {3: 4, 2: 3, 1: 1}[int(scores["dob"])]}
    for field, levels in _LEVEL_WORDS.items():
        level = scores.get(field)
        if isinstance(level, int | float) and int(level) in levels:
            words.append(levels[int(level)])
    if words[:2] == ["same first name", "same surname"]:
        words[:2] = ["same name"]
    return ", ".join(words) or "no comparison recorded"


def _record(record_id: str) -> str:
    source, _, key = record_id.partition(":")
    if source == "police_persons":
        incident, _, person = key.partition(":")
        return f"police record {person} on incident {incident}"
    return f"{_SOURCE_WORDS.get(source, source)} record {key}"


def _when(ts: datetime) -> str:
    """Europe/London wall clock, as the report shows it (stored times are UTC)."""
    return f"{(ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(LONDON):%d %b %Y %H:%M}"


def _incidents_once(rows: pl.DataFrame) -> list[str]:
    """One line per incident, however many ways it reaches the household."""
    lines = []
    for (incident_id,), group in rows.group_by("incident_id", maintain_order=True):
        first = group.row(0, named=True)
        how = " and ".join(dict.fromkeys(REACH_WORDS.get(b, b.replace("_", " ")) for b in group["basis"]))
        lines.append(
            f"  - {incident_id}: reported {_when(first['reported_at'])}, DASH {first['dash_risk'].replace('_', ' ')}, "
            f"children present: {first['children_present']}; reaches the child's home as {how}"
        )
    return lines


def _links(wh: Warehouse, day: date, child_id: str, show_all: bool) -> list[str]:
    links = wh.query("explain_links", as_of=day, child_id=child_id)
    accepted = links.filter(pl.col("decision").is_in(ACCEPTED))
    shown = links if show_all else accepted
    lines = []
    if shown.height:
        lines.append("Records accepted as this child" + (" (and every candidate considered):" if show_all else ":"))
    for r in shown.iter_rows(named=True):
        scores = json.loads(r["scores"]) if r["scores"] else {}
        sure = "" if r["probability"] is None else f", {r['probability']:.1%} sure"
        lines.append(
            f"  - {_record(r['left_id'])} and {_record(r['right_id'])}: {scores_in_words(scores)} "
            f"({DECISION_WORDS.get(r['decision'], r['decision'])}{sure})"
        )
    hidden = links.height - shown.height
    if hidden:
        lines.append(f"  {hidden} other candidate record(s) were considered and not accepted: add --all to see them.")
    return lines


def explain_child(wh: Warehouse, child_id: str, list_date: date | None, *, show_all: bool = False) -> str:
    """Return the explanation as text (the CLI prints it)."""
    day = list_date or wh.query("latest_list_date")["list_date"][0]
    if day is None:
        raise UsageError("no list has been published yet: run a night first")
    child = wh.query("explain_child", as_of=day, child_id=child_id)
    if child.height == 0:
        raise UsageError(
            f"no child {child_id!r} was known on {day}. Look the id up in marts.child_index "
            "(ids are stable from night to night)."
        )
    c = child.row(0, named=True)
    who = f"{c['forename']} {c['surname']}, born {c['dob']}"
    flag = wh.query("explain_flag", list_date=day, child_id=child_id)
    lines: list[str] = []
    if flag.height == 0:
        lines.append(f"NOT FLAGGED on the list of {day}: child {child_id} ({who}).")
        if c["household_id"]:
            incidents = wh.query("explain_household_incidents", as_of=day, household_id=c["household_id"])
            if incidents.height:
                lines.append("Incidents reach the child's home, but none within the look-back window made a rule fire:")
                lines += _incidents_once(incidents)
            else:
                lines.append("No police incident involves anyone living in the child's home.")
        else:
            lines.append("No home is known for the child (no address, or no fixed abode), so an incident can "
                         "reach the child only if police name the child on it.")
    else:
        f = flag.row(0, named=True)
        lines.append(f"FLAGGED {f['risk_level'].upper()} on the list of {day} ({f['status']}): "
                     f"child {child_id} ({who}).")
        lines.append(f"Why (rules version {f['rules_version']}):")
        for e in wh.query("explain_evidence", list_date=day, child_id=child_id).iter_rows(named=True):
            # The rule id is the name the signed-off rules file gives it: what an auditor looks up.
            lines.append(f"  - {e['detail']} (rule {e['rule_id']})")
        lines.append("Incidents behind the flag:")
        reached = pl.DataFrame()
        if f["household_id"]:
            incidents = wh.query("explain_household_incidents", as_of=day, household_id=f["household_id"])
            reached = incidents.filter(pl.col("incident_id").is_in(f["incident_ids"]))
            lines += _incidents_once(reached)
        named = [i for i in f["incident_ids"] if reached.is_empty() or i not in reached["incident_id"].to_list()]
        lines += [f"  - {i}: police named the child on it" for i in named]
    lines.append(f"Known to: {', '.join(_SOURCE_WORDS.get(s, s) for s in c['sources'] or [])}; "
                 f"NHS number {c['nhs_number'] or 'none'}, UPN {c['upn'] or 'none'}.")
    lines.append(f"Lives at: {c['address'] or 'unknown'} {c['postcode'] or ''}".rstrip()
                 + (f" (household {c['household_id']})." if c["household_id"] else " (no household)."))
    lines += withheld_lines(wh.query("explain_withheld_fields", as_of=day, child_id=child_id))
    lines += _links(wh, day, child_id, show_all)
    return "\n".join(lines)


def withheld_lines(withheld: pl.DataFrame) -> list[str]:
    """"date of birth withheld: delivered value is not a date … on 2026-11-20 (file row 2, …)"."""
    if withheld.height == 0:
        return []
    lines = ["  Withheld (unusable as delivered; the rest of the record was used):"]
    for r in withheld.iter_rows(named=True):
        name = FIELD_NAMES.get(r["column_name"], r["column_name"])
        why = "no value delivered" if r["rule"] and r["rule"].endswith(".present") else f"delivered value {r['reason']}"
        lines.append(
            f"    {name} withheld: {why}, delivery of {r['delivery_date']} "
            f"({r['_file']} row {r['_row']}; record {r['record_id']})"
        )
    return lines
