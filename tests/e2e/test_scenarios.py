"""The two seed scenarios of the flag issue, through the real pipeline (files → marts)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.config import Settings
from pipeline.night import run_night

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number, upn_for, write_delivery

NIGHT = date(2026, 10, 5)  # a Monday

HOME_R = {"address_line1": "14 Mill Lane", "town": "Norwich", "postcode": "NR3 1AB", "uprn": "100090001401"}
HOME_S = {"address_line1": "Flat 2, 10 High Street", "town": "Norwich", "postcode": "NR2 4XY"}
OTHER = {"address_line1": "7 Orchard Close", "town": "Dereham", "postcode": "NR19 1DD", "uprn": "100090007701"}


def _registers(landing: Path) -> None:
    write_delivery(landing, NIGHT, "health_register", [
        {"nhs_number": nhs_number(1), "forename": "Ivy", "surname": "Marsh", "dob": "2026-03-14",
         "gender": "f", **HOME_R, "gp_practice_code": "D82001", "health_visitor_team": "Norwich North"},
        {"nhs_number": nhs_number(2), "forename": "Milo", "surname": "Hale", "dob": "2023-06-02",
         "gender": "m", **HOME_S, "gp_practice_code": "D82002", "health_visitor_team": "Norwich South"},
        {"nhs_number": nhs_number(3), "forename": "Ada", "surname": "Finch", "dob": "2015-01-09",
         "gender": "f", **OTHER, "gp_practice_code": "D82003"},
    ])
    write_delivery(landing, NIGHT, "school_census", [
        {"upn": upn_for(3), "forename": "Ada", "surname": "Finch", "dob": "2015-01-09", "gender": "f",
         **OTHER, "school_urn": "121212", "school_name": "Dereham Juniors", "year_group": "6"},
    ])


def _police(landing: Path) -> None:
    write_delivery(landing, NIGHT, "police_incidents", [
        {"incident_id": "INC-R", "reported_at": "2026-10-04T21:40:00+01:00", "updated_at": "2026-10-04T23:10:00+01:00",
         "dash_risk": "standard", "children_present": "no", "offence": "assault", **HOME_R},
        {"incident_id": "INC-S", "reported_at": "2026-10-03T19:05:00+01:00", "updated_at": "2026-10-03T20:00:00+01:00",
         "dash_risk": "standard", "children_present": "unknown", "offence": "harassment", **HOME_S},
    ])
    write_delivery(landing, NIGHT, "police_persons", [
        {"incident_id": "INC-R", "person_ref": "P1", "role": "victim", "forename": "Rosa", "surname": "Marsh",
         "dob": "1996-02-11", "gender": "f", "relationship_to_victim": "self", **HOME_R},
        {"incident_id": "INC-R", "person_ref": "P2", "role": "suspect", "forename": "Dan", "surname": "Marsh",
         "dob": "1993-08-30", "gender": "m", "relationship_to_victim": "partner", **HOME_R},
        {"incident_id": "INC-S", "person_ref": "P3", "role": "victim", "forename": "Jess", "surname": "Hale",
         "dob": "1998-05-05", "gender": "f", "relationship_to_victim": "self", **HOME_S},
        # The stepfather: a different surname from the child's, same flat written another way.
        {"incident_id": "INC-S", "person_ref": "P4", "role": "suspect", "forename": "Carl", "surname": "Brook",
         "dob": "1990-12-01", "gender": "m", "relationship_to_victim": "partner",
         "address_line1": "2/10 High St", "town": "Norwich", "postcode": "nr24xy"},
    ])


@pytest.fixture
def night(settings: Settings) -> Settings:
    _registers(settings.landing_dir)
    _police(settings.landing_dir)
    run_night(NIGHT, settings, trigger="test")
    return settings


def _flag(settings: Settings, forename: str) -> dict:
    with warehouse.open_reader(settings.warehouse) as wh:
        rows = wh.frame("SELECT * FROM marts.child_flags WHERE forename = $f", {"f": forename})
    assert rows.height == 1, f"{forename} should be flagged exactly once, got {rows.height}"
    return rows.row(0, named=True)


def _listing(settings: Settings, household_id: str) -> dict:
    with warehouse.open_reader(settings.warehouse) as wh:
        rows = wh.frame("SELECT * FROM marts.mash_list WHERE household_id = $h", {"h": household_id})
    assert rows.height == 1
    return rows.row(0, named=True)


def test_scenario_r_baby_on_health_register_only_is_flagged_high(night: Settings) -> None:
    baby = _flag(night, "Ivy")
    assert baby["risk_level"] == "high"
    assert "UNDER_ONE" in baby["reasons"] and "DA_IN_HOUSEHOLD" in baby["reasons"]
    assert baby["incident_ids"] == ["INC-R"]
    assert baby["status"] == "new"
    listing = _listing(night, baby["household_id"])
    assert any(a.startswith("health_visiting") for a in listing["agencies"])
    assert "police" in listing["agencies"] and "gp:D82001" in listing["agencies"]
    assert listing["new_since_previous"] is True


def test_scenario_s_stepfather_and_toddler_without_school_is_flagged(night: Settings) -> None:
    toddler = _flag(night, "Milo")
    assert toddler["surname"] == "Hale"
    # Three years old, one incident of standard DASH risk, children present "unknown": only
    # "an incident in the household" fires, so the level is standard, and nothing else.
    assert toddler["risk_level"] == "standard"
    assert toddler["reasons"] == ["DA_IN_HOUSEHOLD"]
    assert toddler["incident_ids"] == ["INC-S"]
    assert toddler["school_urn"] is None
    listing = _listing(night, toddler["household_id"])
    assert toddler["child_id"] in listing["child_ids"]


def test_a_child_with_no_incident_in_the_household_is_not_flagged(night: Settings) -> None:
    with warehouse.open_reader(night.warehouse) as wh:
        assert wh.fetch("SELECT count(*) FROM marts.child_flags WHERE forename = 'Ada'")[0][0] == 0
        # … but she is in the child index, linked across both registers into one child.
        ada = wh.frame("SELECT * FROM marts.child_index WHERE forename = 'Ada'")
    assert ada.height == 1
    assert sorted(ada["sources"][0]) == ["health_register", "school_census"]


def test_the_night_is_recorded_and_the_report_written(night: Settings) -> None:
    with warehouse.open_reader(night.warehouse) as wh:
        runs = wh.frame("SELECT * FROM audit.runs")
    assert runs["status"].to_list() == ["succeeded"]
    assert (night.reports_dir / NIGHT.isoformat() / f"mash-list-{NIGHT}.html").exists()
