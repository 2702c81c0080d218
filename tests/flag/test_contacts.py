"""MASH contacts: candidate sets for anonymous consultations, repeated concern, consultations
to revisit and social-care status in words (pipeline/link/contacts.py, pipeline/flag/flags.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from pipeline import schemas
from pipeline.flag.flags import social_care_words
from pipeline.flag.rules import load_rules
from pipeline.link.contacts import child_contact_facts, consultations_to_revisit, contact_candidates
from pipeline.outputs.school_exports import write_school_notification_files

ON = datetime(2026, 10, 1, 10, tzinfo=UTC)


def _children(*rows: dict) -> pl.DataFrame:
    base = {c: None for c in schemas.CHILD_INDEX}
    return pl.DataFrame([{**base, **r} for r in rows], schema=schemas.CHILD_INDEX)


def _contacts(*rows: dict) -> pl.DataFrame:
    base = {c: None for c in schemas.CURRENT_CONTACTS}
    defaults = {"received_at": ON, "updated_at": ON, "contact_type": "consultation", "anonymous": "yes",
                "caller_role": "childminder", "concern_category": "neglect", "level_recorded": "2",
                "outcome": "advice_given", "first_seen_on": date(2026, 10, 1), "last_changed_on": date(2026, 10, 1)}
    return pl.DataFrame([{**base, **defaults, **r} for r in rows], schema=schemas.CURRENT_CONTACTS)


KIDS = _children(
    {"child_id": "C1", "household_id": "H1", "forename": "Alfred", "surname": "Smith", "dob": date(2023, 3, 1),
     "provider_urn": "EY123456", "known_forenames": ["Alfred", "Alfie"], "known_dobs": [date(2023, 3, 1)]},
    {"child_id": "C2", "household_id": "H2", "forename": "Mia", "surname": "Jones", "dob": date(2023, 5, 1),
     "provider_urn": "EY123456"},
    {"child_id": "C3", "household_id": "H3", "forename": "Alfie", "surname": "Brown", "dob": date(2021, 1, 1),
     "provider_urn": "EY123456"},
    # A register typo in the chosen spelling; the early-years record knows the child as Noah.
    {"child_id": "C4", "household_id": "H4", "forename": "Naoh", "surname": "Gray", "dob": date(2023, 1, 9),
     "school_urn": "121212", "known_forenames": ["Naoh", "Noah"], "known_dobs": [date(2023, 1, 9)]},
)


@pytest.mark.parametrize(("said", "expected"), [
    ({"caller_org": "EY123456", "child_age_years": 3}, ["C1", "C2"]),          # age alone: both three-year-olds
    ({"caller_org": "EY123456", "child_age_years": 3, "child_forename": "Alfie"}, ["C1"]),  # the usual form
    ({"caller_org": "EY123456", "child_forename": "Alfie"}, ["C1", "C3"]),    # a name and no age: both Alfies
    ({"caller_org": "EY123456"}, ["C1", "C2", "C3"]),                          # the setting only
    ({"caller_org": "EY999999", "child_age_years": 3}, []),                    # a setting hearth does not know
    ({"caller_org": "121212", "child_forename": "Noah", "child_age_years": 3}, ["C4"]),
    ({"anonymous": "no", "child_forename": "Mia", "child_surname": "JONES", "child_dob": date(2023, 5, 1)}, ["C2"]),
    ({"anonymous": "no", "child_forename": "Mia", "child_surname": "Jones", "child_dob": date(2023, 5, 2)}, []),
])
def test_candidate_sets(said: dict, expected: list[str]) -> None:
    got = contact_candidates(_contacts({"contact_id": "K1", **said}), KIDS)
    assert sorted(got["child_id"].to_list()) == expected
    assert set(got["contact_id"]) <= {"K1"}
    assert got["fit_score"].is_between(0, 1).all()


def test_candidates_of_no_contacts_are_empty() -> None:
    assert contact_candidates(_contacts().clear(), KIDS).height == 0


def test_two_callers_within_the_window_repeat_one_caller_twice_does_not() -> None:
    contacts = _contacts(
        {"contact_id": "K1", "caller_org": "EY123456", "child_age_years": 3, "child_forename": "Alfie"},
        {"contact_id": "K2", "caller_org": "EY123456", "child_age_years": 3, "child_forename": "Alfie",
         "received_at": datetime(2026, 10, 20, 9, tzinfo=UTC)},
        {"contact_id": "K3", "caller_role": "health_visitor", "anonymous": "no", "child_forename": "Mia",
         "child_surname": "Jones", "child_dob": date(2023, 5, 1)},
        {"contact_id": "K4", "caller_org": "EY123456", "child_age_years": 3, "child_forename": "Mia",
         "received_at": datetime(2026, 6, 1, 9, tzinfo=UTC)},
    )
    facts = child_contact_facts(contacts, contact_candidates(contacts, KIDS), previous_list_date=date(2026, 9, 30),
                                repeat_days=90, min_callers=2)
    by_child = {r["child_id"]: r for r in facts.iter_rows(named=True)}
    assert by_child["C1"]["contact_ids"] == ["K1", "K2"] and by_child["C1"]["repeated_ids"] == []
    assert by_child["C1"]["new_contact_ids"] == ["K1", "K2"]
    # Mia: the childminder in June and the health visitor in October, four months apart.
    assert by_child["C2"]["repeated_ids"] == []
    near = contacts.with_columns(
        received_at=pl.when(pl.col("contact_id") == "K4").then(pl.lit(datetime(2026, 9, 1, 9, tzinfo=UTC)))
        .otherwise(pl.col("received_at"))
    )
    facts = child_contact_facts(near, contact_candidates(near, KIDS), previous_list_date=None,
                                repeat_days=90, min_callers=2)
    mia = facts.filter(pl.col("child_id") == "C2").row(0, named=True)
    assert mia["repeated_ids"] == ["K3", "K4"]
    assert mia["contact_lines"][0].startswith("1 Sep 2026: childminder EY123456, anonymous consultation on neglect")


def test_consultations_to_revisit_the_night_they_arrive() -> None:
    contacts = _contacts(
        {"contact_id": "above", "level_stated": "3", "level_recorded": "2"},
        {"contact_id": "da_advice", "concern_category": "domestic_abuse", "outcome": "advice_given"},
        {"contact_id": "clear", "level_stated": "2", "level_recorded": "2", "outcome": "referral_made"},
        {"contact_id": "da_referral", "concern_category": "domestic_abuse", "outcome": "referral_made"},
        {"contact_id": "yesterday", "level_stated": "4", "level_recorded": "1", "last_changed_on": date(2026, 9, 30)},
    )
    got = consultations_to_revisit(contacts, schemas.empty(schemas.CONTACT_CANDIDATES), list_date=date(2026, 10, 1))
    assert sorted(got["contact_id"]) == ["above", "da_advice"]
    assert got.filter(pl.col("contact_id") == "above")["why"].to_list() == [
        ["the caller stated level 3; the MASH recorded level 2"]
    ]


@pytest.mark.parametrize(("status", "since", "team", "words"), [
    ("child_protection_plan", date(2026, 3, 3), "Norwich CP Team 2",
     "open child protection plan since 3 Mar 2026 (Norwich CP Team 2)"),
    ("looked_after", date(2025, 1, 10), None, "looked after since 10 Jan 2025"),
    ("closed", date(2026, 8, 20), None, "closed 6 weeks ago"),
    ("closed", date(2026, 9, 25), "Team A", "closed 6 days ago (Team A)"),
    (None, None, None, None),
])
def test_social_care_in_words(status: str | None, since: date | None, team: str | None, words: str | None) -> None:
    frame = pl.DataFrame({"social_care_status": [status], "social_care_since": [since], "social_care_team": [team]},
                         schema={"social_care_status": pl.String, "social_care_since": pl.Date,
                                 "social_care_team": pl.String})
    assert frame.select(social_care_words(date(2026, 10, 1)).alias("w"))["w"][0] == words


def test_early_years_settings_get_their_own_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    row = {"list_date": date(2026, 10, 19), "child_id": "C1", "upn": None, "incident_id": "I1",
           "notify_by": datetime(2026, 10, 19, 8, 30), "incident_reported_at": datetime(2026, 10, 18, 20, 5),
           "child_present": "unknown", "late": False}
    notes = pl.DataFrame([
        {**row, "school_urn": "EY512345", "setting_type": "early_years"},
        {**row, "child_id": "C2", "upn": "A123", "school_urn": "121212", "setting_type": "school"},
    ])
    written = write_school_notification_files(notes, tmp_path, list_date=date(2026, 10, 19))
    assert sorted(p.name for p in written) == ["early-years-EY512345.csv", "school-121212.csv"]


def test_two_callers_list_a_household_by_themselves() -> None:
    """No incident at all: contacts from a childminder and a health visitor about one child
    within weeks put its household on the list (REPEATED_CONCERN), with both contacts."""
    from dataclasses import replace

    from flag.flag_frames import LIST_DATE, child, make_inputs

    from pipeline.flag.flags import build_flags

    kid = {**child("C1", "H1", date(2023, 3, 1), forename="Alfred", surname="Smith"), "provider_urn": "EY123456"}
    received = datetime(2026, 11, 3, 10, tzinfo=UTC)
    contacts = _contacts(
        {"contact_id": "K1", "caller_org": "EY123456", "child_age_years": 3, "received_at": received,
         "first_seen_on": LIST_DATE, "last_changed_on": LIST_DATE},
        {"contact_id": "K2", "caller_role": "health_visitor", "anonymous": "no", "child_forename": "Alfred",
         "child_surname": "Smith", "child_dob": date(2023, 3, 1), "received_at": datetime(2026, 10, 1, 9, tzinfo=UTC),
         "first_seen_on": date(2026, 10, 1), "last_changed_on": date(2026, 10, 1)},
    )
    result = build_flags(replace(make_inputs(children=[kid]), contacts=contacts), load_rules())
    flag = result.child_flags.row(0, named=True)
    assert flag["reasons"] == ["REPEATED_CONCERN", "PROFESSIONAL_CONCERN"]
    assert flag["risk_level"] == "medium" and flag["incident_ids"] == []
    row = result.mash_list.row(0, named=True)
    assert row["household_id"] == "H1" and row["incident_ids"] == []
    assert row["contact_ids"] == ["K2", "K1"]
    assert row["why_listed"] == ["New contact(s) with the MASH about a child here: K1."]
    assert sorted(result.contact_candidates["contact_id"]) == ["K1", "K2"]
