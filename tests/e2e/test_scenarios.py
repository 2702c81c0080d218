"""The two seed scenarios of the flag issue, through the real pipeline (files → marts)."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.night import run_night
from pipeline.publish import warehouse

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


# ---- two nights: what changed, said in words ---------------------------------------------------

NIGHT_2 = NIGHT + timedelta(days=1)
NOWHERE = {"address_line1": "No fixed abode", "town": "Norwich", "postcode": "ZZ99 3VZ"}
INC_S = {"incident_id": "INC-S", "reported_at": "2026-10-03T19:05:00+01:00", "children_present": "unknown",
         "offence": "harassment", **HOME_S}
S_PEOPLE = [
    {"incident_id": "INC-S", "person_ref": "P3", "role": "victim", "forename": "Jess", "surname": "Hale",
     "dob": "1998-05-05", "gender": "f", "relationship_to_victim": "self", **HOME_S},
    {"incident_id": "INC-S", "person_ref": "P4", "role": "suspect", "forename": "Carl", "surname": "Brook",
     "dob": "1990-12-01", "gender": "m", "relationship_to_victim": "partner",
     "address_line1": "2/10 High St", "town": "Norwich", "postcode": "nr24xy"},
]


def _police_with_a_child_of_no_known_home(landing: Path) -> None:
    """Night 1's police delivery plus an incident naming a child no register holds, with no address."""
    _police(landing)
    incidents = landing / NIGHT.isoformat() / "police_incidents.csv"
    persons = landing / NIGHT.isoformat() / "police_persons.csv"
    with incidents.open("a", encoding="utf-8", newline="") as fh:
        fh.write(_csv_line("police_incidents", {
            "incident_id": "INC-P", "reported_at": "2026-10-04T02:10:00+01:00",
            "updated_at": "2026-10-04T03:00:00+01:00", "dash_risk": "medium", "children_present": "yes",
            "offence": "Common assault", **NOWHERE}))
    with persons.open("a", encoding="utf-8", newline="") as fh:
        for row in (
            {"incident_id": "INC-P", "person_ref": "P7", "role": "victim", "forename": "Lena", "surname": "Vale",
             "dob": "1994-07-07", "gender": "f", "relationship_to_victim": "self"},
            {"incident_id": "INC-P", "person_ref": "P8", "role": "suspect", "forename": "Rob", "surname": "Kerr",
             "dob": "1989-03-03", "gender": "m", "relationship_to_victim": "partner"},
            {"incident_id": "INC-P", "person_ref": "P9", "role": "child", "forename": "Zed", "surname": "Vale",
             "dob": "2019-04-04", "gender": "m", "relationship_to_victim": "child"},
        ):
            fh.write(_csv_line("police_persons", row))


def _csv_line(source: str, row: dict[str, str]) -> str:
    import csv
    import io

    from pipeline.schemas import CONTRACT_COLUMNS

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([row.get(c, "") for c in CONTRACT_COLUMNS[source]])
    return out.getvalue()


@pytest.fixture
def two_nights(settings: Settings) -> Settings:
    """Night 1: scenarios R and S and a child of no known home. Night 2: police raise INC-S's DASH
    from standard to high; nothing else is new."""
    _registers(settings.landing_dir)
    _police_with_a_child_of_no_known_home(settings.landing_dir)
    run_night(NIGHT, settings, trigger="test")
    write_delivery(settings.landing_dir, NIGHT_2, "police_incidents", [
        {**INC_S, "updated_at": "2026-10-06T01:30:00+01:00", "dash_risk": "high"},
    ])
    write_delivery(settings.landing_dir, NIGHT_2, "police_persons", S_PEOPLE)
    run_night(NIGHT_2, settings, trigger="test")
    return settings


def _list_on(settings: Settings, day: date) -> list[dict]:
    with warehouse.open_reader(settings.warehouse) as wh:
        return wh.frame("SELECT * FROM marts.mash_list WHERE list_date = $d ORDER BY priority", {"d": day}).to_dicts()


def test_two_nights_the_second_list_says_what_changed_in_words(two_nights: Settings) -> None:
    first, second = _list_on(two_nights, NIGHT), _list_on(two_nights, NIGHT_2)
    assert {r["badge"] for r in first} == {"new"}
    # Night 2 lists only the household whose incident changed: escalated, and why in words.
    assert len(second) == 1
    row = second[0]
    assert row["badge"] == "escalated" and row["risk_level"] == "high"
    assert row["why_listed"] == [
        "Level rose from standard to high.",
        "Incident INC-S (reported 3 Oct, harassment) updated: DASH raised from standard to high on 6 Oct.",
    ]
    assert row["history"] == (
        "No earlier incident in the last 365 days. Last discussed on the list of 5 Oct 2026."
    )
    assert row["suspect_relationships"] == ["INC-S: the suspect is the victim's partner"]
    html = (two_nights.reports_dir / NIGHT_2.isoformat() / f"mash-list-{NIGHT_2}.html").read_text(encoding="utf-8")
    assert "DASH raised from standard to high on 6 Oct." in html and ">ESCALATED<" in html
    assert "Last discussed on the list of 5 Oct 2026." in html


def test_two_nights_a_child_with_no_known_home_is_listed_once(two_nights: Settings) -> None:
    first = [r for r in _list_on(two_nights, NIGHT) if r["household_id"] is None]
    assert len(first) == 1
    zed = first[0]
    assert zed["list_key"].startswith("child:") and zed["badge"] == "new"
    html = (two_nights.reports_dir / NIGHT.isoformat() / f"mash-list-{NIGHT}.html").read_text(encoding="utf-8")
    section = html[html.index("Children police named whom no register holds: establish where they live"):]
    assert "Zed Vale" in section
    # The next night its flag continues and nothing about it is new: not listed again.
    with warehouse.open_reader(two_nights.warehouse) as wh:
        status = wh.fetch("SELECT status FROM marts.child_flags WHERE list_date = $d AND forename = 'Zed'",
                          {"d": NIGHT_2})
    assert status == [("continuing",)]
    assert all(r["household_id"] is not None for r in _list_on(two_nights, NIGHT_2))


# ---- explain and decide, as a coordinator reads them ----------------------------------------------

def _child_id(settings: Settings, forename: str) -> str:
    with warehouse.open_reader(settings.warehouse) as wh:
        return str(wh.fetch("SELECT child_id FROM marts.child_index WHERE forename = $f", {"f": forename})[0][0])


def test_explain_leads_with_the_verdict_in_plain_words(night: Settings) -> None:
    from pipeline.operate.explain import explain_child

    with warehouse.open_reader(night.warehouse) as wh:
        ivy = explain_child(wh, _child_id(night, "Ivy"), NIGHT)
        ada = explain_child(wh, _child_id(night, "Ada"), NIGHT)
    assert ivy.startswith("FLAGGED HIGH on the list of 2026-10-05 (new)")
    assert ivy.count("INC-R:") == 1  # each incident once, however many ways it reaches the home
    assert "INC-R: reported 04 Oct 2026 21:40" in ivy  # London time, as police reported it
    assert "the victim's home" in ivy and "_home" not in ivy and "linked_child_home" not in ivy
    assert ada.startswith("NOT FLAGGED on the list of 2026-10-05")
    assert "same name, same date of birth, same address, same sex (accepted automatically" in ada
    assert "scores {" not in ada and "p(match)" not in ada


def test_decide_reads_back_what_it_recorded_and_from_which_list(night: Settings) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    with warehouse.open_reader(night.warehouse) as wh:
        household = wh.fetch("SELECT household_id FROM marts.mash_list WHERE priority = 1")[0][0]
    reason = "discussed at MASH with school and health visiting, who both report concerns about the baby"
    result = CliRunner().invoke(app, ["decide", household, "--level", "high", "--priority", "1", "--reason", reason,
                                      "--warehouse", str(night.warehouse), "--as", "coordinator.a"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # One unwrapped line per decision, though far wider than 80 columns (output is not a terminal).
    said = next(line for line in lines if line.startswith(f"Recorded for household {household}"))
    assert "by coordinator.a" in said and "level high" in said and "priority 1" in said and said.endswith(reason)
    assert any(line.startswith("Takes effect from the list of ") for line in lines)
