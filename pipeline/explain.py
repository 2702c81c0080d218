"""``hearth explain``: why a child is, or is not, on the list — in plain English.

Reads only the published warehouse (the auditor's copy) and says: who the child is and
which source records were linked into it (with link scores), which household it was
placed in and which incidents touch that household, which rules fired, and which values
of its records were withheld because they were unusable as delivered.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from pipeline.errors import UsageError
from pipeline.warehouse import Warehouse

# How a withheld column is named to a reader of ``hearth explain``.
FIELD_NAMES = {
    "dob": "date of birth", "nhs_number": "NHS number", "upn": "UPN", "forename": "forename",
    "surname": "surname", "postcode": "postcode", "address_line1": "address",
    "gp_practice_code": "GP practice", "school_urn": "school URN", "year_group": "year group",
}


def explain_child(wh: Warehouse, child_id: str, list_date: date | None) -> str:
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
    lines = [
        f"Child {child_id}: {c['forename']} {c['surname']}, born {c['dob']}",
        f"  known to: {', '.join(c['sources'] or [])}; NHS number {c['nhs_number'] or '—'}, "
        f"UPN {c['upn'] or '—'}",
        f"  lives at: {c['address'] or 'unknown'} {c['postcode'] or ''} (household {c['household_id'] or 'none'})",
    ]
    lines.extend(withheld_lines(wh.query("explain_withheld_fields", as_of=day, child_id=child_id)))
    links = wh.query("explain_links", as_of=day, child_id=child_id)
    if links.height:
        lines.append("  Linked records (why the pipeline believes these are the same child):")
        for r in links.iter_rows(named=True):
            scores = json.loads(r["scores"]) if r["scores"] else {}
            prob = "—" if r["probability"] is None else f"{r['probability']:.3f}"
            lines.append(
                f"    {r['left_id']} ↔ {r['right_id']}: {r['decision']}, p(match) {prob}, "
                f"scores {json.dumps(scores, default=str)}"
            )
    flag = wh.query("explain_flag", list_date=day, child_id=child_id)
    if flag.height == 0:
        lines.append(f"On {day} this child is NOT flagged.")
        if c["household_id"]:
            incidents = wh.query("explain_household_incidents", as_of=day, household_id=c["household_id"])
            if incidents.height:
                lines.append("  Incidents touch the household but no rule fired (outside the look-back?):")
                for i in incidents.iter_rows(named=True):
                    lines.append(f"    incident {i['incident_id']} reported {i['reported_at']:%Y-%m-%d}")
            else:
                lines.append("  No police incident involves anyone living in the child's household.")
        else:
            lines.append("  The child's address forms no household (e.g. ZZ99 or no address), so no "
                         "incident can reach it through the household.")
        return "\n".join(lines)
    f = flag.row(0, named=True)
    lines.append(
        f"On {day} this child IS flagged {f['risk_level'].upper()} ({f['status']}), rules version "
        f"{f['rules_version']}, because:"
    )
    for e in wh.query("explain_evidence", list_date=day, child_id=child_id).iter_rows(named=True):
        lines.append(f"  - {e['rule_id']}: {e['detail']}")
    incidents = wh.query("explain_household_incidents", as_of=day, household_id=f["household_id"])
    for i in incidents.filter(incidents["incident_id"].is_in(f["incident_ids"])).iter_rows(named=True):
        lines.append(
            f"  incident {i['incident_id']}: reported {i['reported_at']:%Y-%m-%d %H:%M}, DASH "
            f"{i['dash_risk']}, children present {i['children_present']}; reaches the household as "
            f"{i['role']} ({i['basis']})"
        )
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
