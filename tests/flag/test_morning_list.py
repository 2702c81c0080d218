"""What the MASH list says about each row: why today, history, badge, suspect, levels, late notices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from flag_frames import (
    LIST_DATE,
    PREVIOUS,
    RULES,
    child,
    incident,
    link,
    make_inputs,
    nominal,
    previous_flag,
    years_ago,
)

from pipeline.flag.flags import build_flags, offence_category

FIVE = years_ago(5)


def _no_home_child_inputs(*, previous: bool, changed: bool = False) -> object:
    seen = LIST_DATE - timedelta(days=3)
    return make_inputs(
        incidents=[incident("INC-P", seen, first_seen=seen, last_changed=LIST_DATE if changed else seen)],
        children=[child("CP", None, years_ago(3))],
        nominals=[nominal("INC-P", "N1", "CP")],
        previous_flags=[previous_flag("CP", None, "medium")] if previous else [],  # type: ignore[arg-type]
        ever_listed=[{"list_key": "child:CP", "household_id": None, "max_risk_level": "medium",
                      "last_listed_on": seen}] if previous else [],
        previous_list_date=PREVIOUS,
    )


def test_a_child_with_no_known_home_is_listed_once_not_every_night() -> None:
    first = build_flags(_no_home_child_inputs(previous=False), RULES)  # type: ignore[arg-type]
    row = first.mash_list.row(0, named=True)
    assert row["household_id"] is None and row["list_key"] == "child:CP" and row["badge"] == "new"
    # The next night nothing about the child is new: its flag continues, and it is not re-listed.
    second = build_flags(_no_home_child_inputs(previous=True), RULES)  # type: ignore[arg-type]
    assert second.child_flags["status"].to_list() == ["continuing"]
    assert second.mash_list.is_empty()
    # Something new (the incident updated) lists it again, as an update, not as new.
    third = build_flags(_no_home_child_inputs(previous=True, changed=True), RULES)  # type: ignore[arg-type]
    again = third.mash_list.row(0, named=True)
    assert again["list_key"] == "child:CP" and again["badge"] == "updated" and again["new_since_previous"] is False


def test_an_updated_incident_says_what_changed_and_when_and_the_history_line() -> None:
    reported = LIST_DATE - timedelta(days=20)
    earlier = LIST_DATE - timedelta(days=60)
    updated = incident("INC-U", reported, dash="high", first_seen=reported, last_changed=LIST_DATE,
                       offence="Criminal damage to a car")
    updated["updated_at"] = datetime(2026, 11, 3, 22, 0, tzinfo=UTC)
    before = {**incident("INC-U", reported, dash="medium", first_seen=reported, offence="Criminal damage to a car")}
    inputs = make_inputs(
        incidents=[updated, incident("INC-E", earlier, dash="standard", first_seen=earlier)],
        previous_incidents=[before, incident("INC-E", earlier, dash="standard", first_seen=earlier)],
        links=[link("INC-U", "H1"), link("INC-E", "H1")],
        children=[child("C1", "H1", FIVE)],
        previous_flags=[previous_flag("C1", "H1", "standard")],
        ever_listed=[{"household_id": "H1", "max_risk_level": "standard", "last_listed_on": date(2026, 10, 15)}],
        persons=[{"incident_id": "INC-U", "person_ref": "S1", "role": "suspect", "relationship_to_victim": "ex_partner"},
                 {"incident_id": "INC-U", "person_ref": "V1", "role": "victim", "relationship_to_victim": "self"}],
    )
    row = build_flags(inputs, RULES).mash_list.row(0, named=True)
    assert row["badge"] == "escalated"
    assert row["why_listed"] == [
        "Level rose from standard to high.",
        f"Incident INC-U (reported {reported.day} Oct, criminal damage) updated: DASH raised from medium to high "
        "on 3 Nov.",
    ]
    assert row["history"] == (f"Earlier incidents: {earlier.day} Sep (DASH standard). "
                              "Last discussed on the list of 15 Oct 2026.")
    assert row["last_listed_on"] == date(2026, 10, 15)
    assert row["suspect_relationships"] == ["INC-U: the suspect is the victim's ex-partner"]
    assert row["incident_reach"] == ["INC-U:victim_home"]


def test_a_new_incident_is_described_and_a_first_listing_is_new() -> None:
    inputs = make_inputs(
        incidents=[incident("INC-N", LIST_DATE - timedelta(days=1), first_seen=LIST_DATE, present="yes",
                            offence="Harassment (s.2 PHA)")],
        links=[link("INC-N", "H2"), link("INC-N", "H3", role="suspect", basis="suspect_home")],
        children=[child("C2", "H2", FIVE), child("C3", "H3", FIVE)],
    )
    mash = build_flags(inputs, RULES).mash_list
    rows = {r["household_id"]: r for r in mash.iter_rows(named=True)}
    assert rows["H2"]["why_listed"] == ["New incident INC-N, reported 3 Nov: harassment, DASH standard, "
                                        "children present."]
    assert rows["H2"]["badge"] == "new" and rows["H2"]["history"].endswith("Not on any earlier list.")
    assert rows["H3"]["incident_reach"] == ["INC-N:suspect_home"]


def test_each_child_says_why_it_has_its_level() -> None:
    baby, older = LIST_DATE - timedelta(days=100), FIVE
    inputs = make_inputs(
        incidents=[incident("INC-B", LIST_DATE - timedelta(days=1), first_seen=LIST_DATE, present="no")],
        links=[link("INC-B", "H4")],
        children=[child("BABY", "H4", baby), child("OLDER", "H4", older), child("NAMED", "H5", older)],
        nominals=[nominal("INC-B", "K1", "NAMED")],
    )
    flags = {r["child_id"]: r for r in build_flags(inputs, RULES).child_flags.iter_rows(named=True)}
    assert flags["BABY"]["risk_level"] == "high" and flags["BABY"]["level_reason"] == "under one"
    assert flags["OLDER"]["level_reason"] == "domestic abuse in the household"
    assert "named at the incident" in flags["NAMED"]["level_reason"]


def test_a_school_notice_due_before_the_list_was_published_is_late() -> None:
    # Reported Thursday night, delivered only on Monday's list: due Friday 08:30, so late.
    monday = date(2026, 11, 9)
    inputs = make_inputs(
        incidents=[incident("LATE", datetime(2026, 11, 5, 21, 0, tzinfo=UTC), first_seen=monday),
                   incident("ONTIME", datetime(2026, 11, 8, 21, 0, tzinfo=UTC), first_seen=monday)],
        links=[link("LATE", "H6"), link("ONTIME", "H7")],
        children=[child("S1", "H6", years_ago(8), school_urn="121212"), child("S2", "H7", years_ago(8),
                                                                              school_urn="121212")],
        list_date=monday, previous_list_date=date(2026, 11, 6),
    )
    notes = build_flags(inputs, RULES).school_notifications
    late = dict(zip(notes["incident_id"], notes["late"], strict=True))
    assert late == {"LATE": True, "ONTIME": False}


def test_offence_text_becomes_its_category() -> None:
    text = ["Common assault", "Assault occasioning actual bodily harm", "Criminal damage", "Harassment",
            "Domestic incident - no crime", None, "Something else"]
    got = pl.DataFrame({"o": text}).select(c=offence_category(pl.col("o")))["c"].to_list()
    assert got == ["assault", "assault", "criminal damage", "harassment", "no crime recorded",
                   "offence not recorded", "something else"]


def test_a_decision_takes_effect_from_the_next_list_published_after_it() -> None:
    from datetime import time

    from pipeline.operate.decisions import Decision, read_back, takes_effect_on

    seven = time(7, 0)
    assert takes_effect_on(datetime(2026, 10, 5, 5, 59, tzinfo=UTC), seven) == date(2026, 10, 5)  # 06:59 BST
    assert takes_effect_on(datetime(2026, 10, 5, 6, 1, tzinfo=UTC), seven) == date(2026, 10, 6)   # 07:01 BST
    lines = read_back([Decision("H1", None, "high", "school concerns")], who="c.a",
                      at=datetime(2026, 10, 5, 9, 0, tzinfo=UTC), published_at=seven)
    assert lines == [
        "Recorded for household H1 by c.a at Mon 05 Oct 2026 10:00: level high (a floor: automatic levels never "
        "go below it); reason: school concerns",
        "Takes effect from the list of Tue 06 Oct 2026 (published 07:00), and on every list after it until a "
        "later decision replaces it.",
    ]


def test_link_scores_are_said_in_words() -> None:
    from pipeline.operate.explain import scores_in_words

    assert scores_in_words({"forename": 4, "surname": 4, "dob": 3, "location": 3, "gender": 1,
                            "forename_sim": 1.0}) == "same name, same date of birth, same address, same sex"
    assert scores_in_words({"forename": 3, "surname": 0, "dob": 2, "location": -1}) == (
        "first name a known variant or sounding the same, different surname, "
        "date of birth with day and month swapped, address missing")
    # Scores written since the one-digit date level and the crossed names (they carry
    # names_transposed): dob 4 is exact, 2 one digit apart.
    assert scores_in_words({"forename": 3, "surname": 3, "names_transposed": 1, "dob": 2, "location": 3}) == (
        "first name a known variant or sounding the same, surname a known variant or sounding the same, "
        "forename and surname written in each other's place, date of birth one digit apart, same address")
    assert scores_in_words({"forename": 4, "surname": 4, "names_transposed": 0, "dob": 4, "location": 3}) == (
        "same name, same date of birth, same address")
