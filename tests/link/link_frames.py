"""Tiny STAGED-shaped frames for linkage tests (synthetic people only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipeline import schemas
from pipeline.config import LinkageSettings
from pipeline.link.linkage import LinkInputs


def frame(source_schema: dict[str, Any], rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows with missing columns as null, cast to the schema (dates may be ISO strings)."""
    filled = []
    for i, row in enumerate(rows, start=1):
        full = {c: row.get(c) for c in source_schema}
        for c, t in source_schema.items():
            if t == pl.Date and isinstance(full[c], str):
                full[c] = dt.date.fromisoformat(full[c])
        full["_row"] = i if "_row" in source_schema else None
        full["_file"] = "test.csv" if "_file" in source_schema else None
        filled.append({c: full[c] for c in source_schema})
    return pl.DataFrame(filled, schema=source_schema, orient="row")


def inputs(
    health: list[dict[str, Any]] | None = None,
    school: list[dict[str, Any]] | None = None,
    persons: list[dict[str, Any]] | None = None,
    incidents: list[dict[str, Any]] | None = None,
    xref: pl.DataFrame | None = None,
    reviews: list[dict[str, Any]] | None = None,
) -> LinkInputs:
    inc_rows = list(incidents or [])
    known = {r["incident_id"] for r in inc_rows}
    for p in persons or []:
        if p["incident_id"] not in known:
            inc_rows.append({"incident_id": p["incident_id"], "address_line1": p.get("address_line1") or "1 Unknown Road",
                             "postcode": p.get("postcode")})
            known.add(p["incident_id"])
    for r in inc_rows:
        r.setdefault("reported_at", dt.datetime(2026, 11, 1, 22, tzinfo=dt.UTC))
        r.setdefault("updated_at", dt.datetime(2026, 11, 1, 22, tzinfo=dt.UTC))
        r.setdefault("dash_risk", "standard")
        r.setdefault("children_present", "yes")
    return LinkInputs(
        health=frame(schemas.STAGED["health_register"], health or []),
        school=frame(schemas.STAGED["school_census"], school or []),
        persons=frame(schemas.STAGED["police_persons"], persons or []),
        incidents=frame(schemas.CURRENT_INCIDENTS, inc_rows),
        child_xref=xref if xref is not None else schemas.empty(schemas.CHILD_XREF),
        reviews=frame(schemas.REVIEW_DECISIONS, reviews or []),
    )


SETTINGS = LinkageSettings(em_sample_pairs=20_000)
