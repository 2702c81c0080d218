"""The golden must-link / must-not-link cases (tests/link/golden_pairs.toml) through link_people."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from link_frames import SETTINGS, inputs

from pipeline.link.linkage import LinkResult, link_people

CASES: list[dict[str, Any]] = tomllib.loads((Path(__file__).parent / "golden_pairs.toml").read_text())["case"]


def entity_of(result: LinkResult) -> dict[str, str]:
    """record id → child_id for children, person_id for police adults."""
    out = dict(result.child_xref.iter_rows())
    adults = result.person_links.filter(pl.col("child_id").is_null()).select(
        pl.concat_str(pl.lit("police_persons:"), "incident_id", pl.lit(":"), "person_ref"), "person_id"
    )
    out.update(dict(adults.iter_rows()))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_case(case: dict[str, Any]) -> None:
    result = link_people(inputs(case.get("health"), case.get("school"), case.get("persons")), SETTINGS)
    entity = entity_of(result)
    for left, right in case.get("must_link", []):
        assert entity[left] == entity[right], f"{left} and {right} must be one person"
    for left, right in case.get("must_not_link", []):
        assert entity[left] != entity[right], f"{left} and {right} must stay two people"
    if case.get("same_household"):
        home = dict(result.child_xref.join(result.children, on="child_id").select("record_id", "household_id").iter_rows())
        for left, right in case["same_household"]:
            assert home[left] is not None and home[left] == home[right]
