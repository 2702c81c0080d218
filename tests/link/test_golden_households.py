"""The golden must-reach / must-not-reach household cases (tests/link/golden_households.toml)
through link_people and the flag stage's child_incident_pairs."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from link_frames import SETTINGS, inputs
from test_golden import entity_of

from pipeline.flag.flags import child_incident_pairs
from pipeline.link.linkage import LinkResult, link_people

CASES: list[dict[str, Any]] = tomllib.loads((Path(__file__).parent / "golden_households.toml").read_text())["case"]


def reached(result: LinkResult) -> set[tuple[str, str]]:
    """(incident_id, record_id) of every register record whose child the incident reaches."""
    window = result.incident_households.select("incident_id").vstack(result.person_links.select("incident_id")).unique()
    pairs = child_incident_pairs(
        window, incident_households=result.incident_households, person_links=result.person_links, children=result.children,
    )
    return set(pairs.join(result.child_xref, on="child_id").select("incident_id", "record_id").iter_rows())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_household_case(case: dict[str, Any]) -> None:
    result = link_people(
        inputs(case.get("health"), case.get("school"), case.get("persons"), incidents=case.get("incidents")), SETTINGS
    )
    got = reached(result)
    for incident, record in case.get("must_reach", []):
        assert (incident, record) in got, f"incident {incident} must reach {record}"
    for incident, record in case.get("must_not_reach", []):
        assert (incident, record) not in got, f"incident {incident} must not reach {record}"
    entity = entity_of(result)
    for left, right in case.get("must_link", []):
        assert entity[left] == entity[right], f"{left} and {right} must be one child"
    if "address_conflicts" in case:
        conflicts = result.incident_households.filter(pl.col("basis") == "address_conflict").select(
            pl.concat_str("incident_id", pl.lit("/"), "person_ref")
        ).to_series().to_list()
        assert sorted(set(conflicts)) == sorted(case["address_conflicts"])
