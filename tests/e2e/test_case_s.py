"""Case S end to end on the real pipeline (files → marts → report): a childminder's anonymous
consultation that nothing followed, and the incident six weeks later.

Night 1: the childminder rings the MASH about a three-year-old without naming the family
(stated level 3, recorded level 2, advice given); it is a consultation to revisit that night.
Night 2, six weeks on: police deliver an incident at the child's home, the suspect the
mother's partner (the child's stepfather, another surname). The child is flagged, the
household listed with the earlier consultation matched through the setting and the child's
age, the childminder's setting is told by the next working day, and health visiting and the
setting are among the agencies. The variant: the child also has an open child-in-need plan,
and an unborn sibling is known to social care at the same address.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.night import run_night
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number, read_sql, upn_for, write_delivery

CONSULTED = date(2026, 9, 7)       # a Monday
INCIDENT_NIGHT = date(2026, 10, 19)  # six weeks later, a Monday
HOME = {"address_line1": "Flat 2, 10 High Street", "town": "Norwich", "postcode": "NR2 4XY"}
ELSEWHERE = {"address_line1": "3 Brook Road", "town": "Norwich", "postcode": "NR5 8QP"}
SETTING = {"provider_urn": "EY 512345", "provider_name": "Little Acorns Childminding", "provider_type": "childminder"}


def _registers(landing: Path, day: date) -> None:
    write_delivery(landing, day, "health_register", [
        {"nhs_number": nhs_number(11), "forename": "Milo", "surname": "Hale", "dob": "2023-06-02", "gender": "m",
         **HOME, "gp_practice_code": "D82002", "health_visitor_team": "Norwich South"},
        {"nhs_number": nhs_number(12), "forename": "Leo", "surname": "Gray", "dob": "2023-02-11", "gender": "m",
         **ELSEWHERE, "gp_practice_code": "D82002", "health_visitor_team": "Norwich West"},
        {"nhs_number": nhs_number(13), "forename": "Ruby", "surname": "Cole", "dob": "2024-04-20", "gender": "f",
         **ELSEWHERE, "address_line1": "5 Brook Road", "gp_practice_code": "D82002"},
    ])
    write_delivery(landing, day, "school_census", [
        {"upn": upn_for(21), "forename": "Ada", "surname": "Finch", "dob": "2015-01-09", "gender": "f",
         "address_line1": "7 Orchard Close", "town": "Dereham", "postcode": "NR19 1DD",
         "school_urn": "121212", "school_name": "Dereham Juniors", "year_group": "6"},
    ])


def _early_years(landing: Path, day: date) -> None:
    # The childminder's return: the URN with a stray space, three children of whom two are three.
    write_delivery(landing, day, "early_years", [
        {**SETTING, "forename": "Milo", "surname": "Hale", "dob": "2023-06-02", "gender": "m", **HOME},
        {**SETTING, "forename": "Leo", "surname": "Gray", "dob": "2023-02-11", "gender": "m", **ELSEWHERE},
        {**SETTING, "forename": "Ruby", "surname": "Cole", "dob": "2024-04-20", "gender": "f", **ELSEWHERE,
         "address_line1": "5 Brook Road"},
    ])


def _consultation(landing: Path) -> None:
    write_delivery(landing, CONSULTED, "mash_contacts", [
        {"contact_id": "MC-1", "received_at": "2026-09-07T10:15:00+01:00", "updated_at": "2026-09-07T11:00:00+01:00",
         "contact_type": "consultation", "anonymous": "yes", "caller_role": "childminder", "caller_org": "EY512345",
         "child_age_years": "3", "concern_category": "physical_injury", "level_stated": "3", "level_recorded": "2",
         "outcome": "advice_given", "summary": "Bruise on the arm; the child said something about a man at home."},
    ])


def _incident(landing: Path) -> None:
    write_delivery(landing, INCIDENT_NIGHT, "police_incidents", [
        {"incident_id": "INC-S", "reported_at": "2026-10-18T20:05:00+01:00", "updated_at": "2026-10-18T22:00:00+01:00",
         "dash_risk": "standard", "children_present": "unknown", "offence": "assault", **HOME},
    ])
    write_delivery(landing, INCIDENT_NIGHT, "police_persons", [
        {"incident_id": "INC-S", "person_ref": "P1", "role": "victim", "forename": "Jess", "surname": "Hale",
         "dob": "1998-05-05", "gender": "f", "relationship_to_victim": "self", **HOME},
        # The stepfather: another surname, the child's home.
        {"incident_id": "INC-S", "person_ref": "P2", "role": "suspect", "forename": "Carl", "surname": "Brook",
         "dob": "1990-12-01", "gender": "m", "relationship_to_victim": "partner", **HOME},
    ])


def _social_care(landing: Path, day: date) -> None:
    write_delivery(landing, day, "social_care", [
        {"case_ref": "SC-77", "forename": "Milo", "surname": "Hale", "dob": "2023-06-02", "gender": "m",
         "nhs_number": nhs_number(11), **HOME, "status": "child_in_need", "status_since": "2026-03-03",
         "team": "Norwich CIN Team 2"},
        # An unborn sibling, recorded with no date of birth at the address of the incident.
        {"case_ref": "SC-78", "forename": "Baby", "surname": "Hale", **HOME, "status": "pre_birth",
         "status_since": "2026-08-14", "team": "Norwich CIN Team 2"},
    ])


def _run(settings: Settings, *, social_care: bool) -> None:
    landing = settings.landing_dir
    _registers(landing, CONSULTED)
    _early_years(landing, CONSULTED)
    _consultation(landing)
    run_night(CONSULTED, settings, trigger="test")
    _registers(landing, INCIDENT_NIGHT)
    _incident(landing)
    if social_care:
        _social_care(landing, INCIDENT_NIGHT)
    run_night(INCIDENT_NIGHT, settings, trigger="test")


def _one(settings: Settings, query: str, params: dict[str, object]) -> dict:
    with warehouse.open_reader(settings.warehouse) as wh:
        rows = read_sql(wh, query, params)
    assert rows.height == 1, f"expected one row, got {rows.height}: {rows}"
    return rows.row(0, named=True)


@pytest.fixture
def case_s(settings: Settings) -> Settings:
    _run(settings, social_care=False)
    return settings


@pytest.fixture
def case_s_known(settings: Settings) -> Settings:
    _run(settings, social_care=True)
    return settings


def test_the_consultation_is_to_revisit_the_night_it_arrives(case_s: Settings) -> None:
    row = _one(case_s, "SELECT * FROM marts.consultations_to_revisit WHERE list_date = $d", {"d": CONSULTED})
    assert row["contact_id"] == "MC-1"
    assert row["why"] == ["the caller stated level 3; the MASH recorded level 2"]
    report = (case_s.reports_dir / CONSULTED.isoformat() / f"mash-list-{CONSULTED}.html").read_text()
    assert "Consultations to revisit" in report and 'data-contact-id="MC-1"' in report
    # The caller's free text never leaves the restricted layer.
    assert "Bruise" not in report
    with warehouse.open_reader(case_s.warehouse) as wh:
        assert wh.literal_rows("SELECT count(*) FROM marts.consultations_to_revisit WHERE list_date = ?",
                        [INCIDENT_NIGHT])[0][0] == 0
        # Nothing flagged the child on night 1: a consultation alone does not list a household.
        assert wh.literal_rows("SELECT count(*) FROM marts.mash_list WHERE list_date = ?", [CONSULTED])[0][0] == 0


def test_the_anonymous_consultation_is_a_candidate_set_never_a_merge(case_s: Settings) -> None:
    with warehouse.open_reader(case_s.warehouse) as wh:
        candidates = read_sql(wh,
            "SELECT c.*, i.forename FROM marts.contact_candidates AS c JOIN marts.child_index AS i USING (child_id) "
            "WHERE list_date = $d ORDER BY forename", {"d": INCIDENT_NIGHT},
        )
        milo = read_sql(wh, "SELECT * FROM marts.child_index WHERE forename = 'Milo'")
    # Both three-year-olds at the setting may be the child; the two-year-old may not.
    assert candidates["forename"].to_list() == ["Leo", "Milo"]
    assert set(candidates["matched_through"]) == {"early_years:EY512345"}
    assert all("age 3 fits" in f for f in candidates["fit"])
    assert milo.height == 1
    assert sorted(milo["sources"][0]) == ["early_years", "health_register"]
    assert milo["provider_urn"][0] == "EY512345"


def test_six_weeks_later_the_child_is_flagged_and_listed_with_the_consultation(case_s: Settings) -> None:
    child = _one(case_s, "SELECT * FROM marts.child_flags WHERE list_date = $d AND forename = 'Milo'",
                 {"d": INCIDENT_NIGHT})
    assert "DA_IN_HOUSEHOLD" in child["reasons"] and "PROFESSIONAL_CONCERN" in child["reasons"]
    assert child["contact_ids"] == ["MC-1"]
    listing = _one(case_s, "SELECT * FROM marts.mash_list WHERE list_date = $d AND household_id = $h",
                   {"d": INCIDENT_NIGHT, "h": child["household_id"]})
    assert listing["contact_ids"] == ["MC-1"]
    line = listing["contacts"][0]
    assert line.startswith("7 Sep 2026: childminder EY512345, anonymous consultation on physical injury")
    assert "stated level 3, recorded level 2; advice given" in line and "age 3 fits" in line
    assert "health_visiting:Norwich South" in listing["agencies"]
    assert "early_years:EY512345" in listing["agencies"]
    assert any(p.startswith("Who else lives here or stays over?") for p in listing["curiosity_prompts"])
    assert any("whether contact MC-1 was about this child" in s for s in listing["next_steps"])
    # The childminder's setting is told by the start of the next working day, like a school.
    notice = _one(case_s, "SELECT * FROM marts.school_notifications WHERE list_date = $d AND child_id = $c",
                  {"d": INCIDENT_NIGHT, "c": child["child_id"]})
    assert notice["setting_type"] == "early_years" and notice["school_urn"] == "EY512345"
    assert notice["notify_by"] == datetime(2026, 10, 19, 8, 30)
    assert notice["upn"] is None
    report = (case_s.reports_dir / INCIDENT_NIGHT.isoformat() / f"mash-list-{INCIDENT_NIGHT}.html").read_text()
    for heading in ("What are we worried about?", "What is working well?", "What needs to happen?"):
        assert heading in report


def test_variant_known_to_social_care_with_an_open_plan(case_s_known: Settings) -> None:
    child = _one(case_s_known, "SELECT * FROM marts.child_flags WHERE list_date = $d AND forename = 'Milo'",
                 {"d": INCIDENT_NIGHT})
    assert child["risk_level"] == "high"
    assert "OPEN_PLAN" in child["reasons"] and "KNOWN_TO_SOCIAL_CARE" in child["reasons"]
    assert child["social_care"] == "open child-in-need plan since 3 Mar 2026 (Norwich CIN Team 2)"
    listing = _one(case_s_known, "SELECT * FROM marts.mash_list WHERE list_date = $d AND household_id = $h",
                   {"d": INCIDENT_NIGHT, "h": child["household_id"]})
    assert "Milo: open child-in-need plan since 3 Mar 2026 (Norwich CIN Team 2)" in listing["social_care"]
    assert "social_care:Norwich CIN Team 2" in listing["agencies"]
    assert any(s.startswith("Inform the allocated worker today (Norwich CIN Team 2)") for s in listing["next_steps"])
    # The unborn sibling (pre_birth, no date of birth) is listed with the expectant mother's household.
    unborn = _one(case_s_known, "SELECT * FROM marts.child_flags WHERE list_date = $d AND forename = 'Baby'",
                  {"d": INCIDENT_NIGHT})
    assert unborn["household_id"] == child["household_id"] and unborn["dob"] is None
    assert unborn["child_id"] in listing["child_ids"]
