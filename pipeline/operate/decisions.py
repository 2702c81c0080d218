"""Coordinator decisions: a person's override of a household's priority or level.

Recorded append-only in ``audit.coordinator_decisions``; the flag stage reads the latest
decision per household and never lets an automatic level fall below a person's level.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from pipeline import schemas
from pipeline.config import Settings
from pipeline.errors import InputError, Problem, UsageError
from pipeline.flag.calendar import LONDON
from pipeline.publish import warehouse

LEVELS = ("high", "medium", "standard")


@dataclass(frozen=True)
class Decision:
    household_id: str
    priority: int | None
    risk_level: str | None
    reason: str


def check(decision: Decision) -> list[str]:
    problems = []
    if not decision.household_id.strip():
        problems.append("household_id is empty")
    if decision.priority is not None and decision.priority < 1:
        problems.append(f"priority must be 1 or more, got {decision.priority}")
    if decision.risk_level is not None and decision.risk_level not in LEVELS:
        problems.append(f"level must be one of {', '.join(LEVELS)}, got {decision.risk_level!r}")
    if not decision.reason.strip():
        problems.append("a reason is required")
    if decision.priority is None and decision.risk_level is None:
        problems.append("give a priority, a level, or both")
    return problems


def read_decisions_csv(path: Path) -> list[Decision]:
    """Read a batch of decisions (columns household_id, priority, level, reason)."""
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    rows: list[Decision] = []
    problems: list[Problem] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"household_id", "reason"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path.name} lacks column(s) {sorted(missing)}")
        for n, rec in enumerate(reader, start=1):
            prio = (rec.get("priority") or "").strip()
            level = (rec.get("level") or "").strip().lower() or None
            try:
                d = Decision(rec["household_id"].strip(), int(prio) if prio else None, level,
                             (rec.get("reason") or "").strip())
            except ValueError:
                problems.append(Problem(path.name, n, "priority", f"{prio!r} is not a whole number"))
                continue
            problems += [Problem(path.name, n, None, p) for p in check(d)]
            rows.append(d)
    if problems:
        raise InputError(f"{path.name}: no decisions recorded; fix these and retry", problems)
    return rows


def record(settings: Settings, decisions: list[Decision], *, who: str, at: datetime, os_user: str | None = None) -> int:
    """Append decisions to the audit trail; return how many were recorded.

    Every household id must be one hearth has formed: a decision on a mistyped id would
    sit in the audit trail as if it had been made on a household. Nothing is recorded
    unless every decision is valid. ``os_user`` is the account the command ran under,
    kept beside ``who`` (the name given with ``--as``).
    """
    for d in decisions:
        if problems := check(d):
            raise UsageError(f"decision for {d.household_id!r} not recorded: " + "; ".join(problems))
    frame = pl.DataFrame(
        {
            "household_id": [d.household_id for d in decisions],
            "decided_at": [at] * len(decisions),
            "decided_by": [who] * len(decisions),
            "priority": [d.priority for d in decisions],
            "risk_level": [d.risk_level for d in decisions],
            "reason": [d.reason for d in decisions],
        },
        schema=schemas.COORDINATOR_DECISIONS,
    )
    with warehouse.open_writer(settings.warehouse, key=settings.encryption_key, create=False) as wh:
        asked = sorted({d.household_id for d in decisions})
        known = set(wh.query("known_household_ids", ids=asked)["household_id"].to_list())
        if unknown := [h for h in asked if h not in known]:
            raise UsageError(
                f"no decision recorded: hearth has never formed household(s) {', '.join(map(repr, unknown))}. "
                "Copy the household_id from the MASH list or `hearth explain`, and retry."
            )
        n = wh.insert("audit.coordinator_decisions", frame, os_user=os_user)
        warehouse.refresh_published(wh)
    return n


def takes_effect_on(at: datetime, published_at: time) -> date:
    """The first list a decision made at ``at`` changes: the flag stage reads the decisions made
    before a list's publication time (Europe/London), so one made after today's list was
    published first shows on tomorrow's."""
    local = at.astimezone(LONDON)
    return local.date() if local.time() <= published_at else local.date() + timedelta(days=1)


def read_back(decisions: list[Decision], *, who: str, at: datetime, published_at: time) -> list[str]:
    """What was recorded, in words, one line per decision, and from which list it counts."""
    effective = takes_effect_on(at, published_at)
    when = at.astimezone(LONDON).strftime("%a %d %b %Y %H:%M")
    lines = []
    for d in decisions:
        what = []
        if d.risk_level:
            what.append(f"level {d.risk_level} (a floor: automatic levels never go below it)")
        if d.priority is not None:
            what.append(f"discuss at priority {d.priority}")
        lines.append(
            f"Recorded for household {d.household_id} by {who} at {when}: {' and '.join(what)}; "
            f"reason: {d.reason}"
        )
    lines.append(
        f"Takes effect from the list of {effective:%a %d %b %Y} (published {published_at:%H:%M}), "
        "and on every list after it until a later decision replaces it."
    )
    return lines
