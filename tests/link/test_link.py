"""link_people behaviour beyond single pairs: stable ids, reviews, households, empty input."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from link_frames import SETTINGS, inputs

from pipeline import schemas
from pipeline.config import LinkageSettings
from pipeline.errors import LinkageError
from pipeline.link.linkage import link_people

ALFRED_H = {"nhs_number": "4000000101", "forename": "Alfred", "surname": "Dunn", "dob": "2017-08-15", "gender": "m",
            "address_line1": "5 Old Street", "postcode": "NR7 0AA", "uprn": "200000000001"}
ALFRED_S = {"upn": "A10000000101", "forename": "Alfred", "surname": "Dunn", "dob": "2017-08-15", "gender": "m",
            "address_line1": "5 Old St", "postcode": "nr70aa", "school_urn": "121212", "school_name": "Old Street Primary"}
MAY_H = {"nhs_number": "4000000102", "forename": "May", "surname": "Dunn", "dob": "2020-01-30", "gender": "f",
         "address_line1": "5 Old Street", "postcode": "NR7 0AA"}
H, S = "health_register:4000000101", "school_census:A10000000101"


def test_outputs_follow_the_schemas() -> None:
    result = link_people(inputs([ALFRED_H, MAY_H], [ALFRED_S]), SETTINGS)
    for frame, schema in [
        (result.children, schemas.CHILD_INDEX), (result.households, schemas.HOUSEHOLDS),
        (result.person_links, schemas.PERSON_LINKS), (result.incident_households, schemas.INCIDENT_HOUSEHOLDS),
        (result.decisions, schemas.LINK_DECISIONS), (result.review_queue, schemas.REVIEW_QUEUE),
        (result.child_xref, schemas.CHILD_XREF),
    ]:
        assert frame.schema == pl.Schema(schema)
    assert result.children.height == 2
    alfred = result.children.filter(pl.col("nhs_number") == "4000000101").row(0, named=True)
    assert alfred["upn"] == "A10000000101" and alfred["school_urn"] == "121212"
    assert sorted(alfred["sources"]) == ["health_register", "school_census"]
    assert alfred["postcode"] == "NR7 0AA"


def test_every_scored_pair_is_recorded_with_scores() -> None:
    result = link_people(inputs([ALFRED_H, MAY_H], [ALFRED_S]), SETTINGS)
    row = result.decisions.filter((pl.col("left_id") == H) & (pl.col("right_id") == S)).row(0, named=True)
    assert row["decision"] == "auto_match" and row["probability"] >= SETTINGS.match_threshold
    assert '"dob":4' in row["scores"] and row["match_weight"] > 0


def test_the_audit_keeps_every_pair_but_the_non_matches_below_the_floor() -> None:
    floor = 0.5  # above May's pair with Alfred's school record, a non-match
    result = link_people(inputs([ALFRED_H, MAY_H], [ALFRED_S]), SETTINGS.model_copy(update={"audit_min_probability": floor}))
    below = (pl.col("decision") == "auto_nonmatch") & (pl.col("probability") < floor)
    # The pair under the floor is scored and counted, but carried no further than scoring.
    assert result.pairs_scored == 2
    assert result.decisions.filter(below).height == 0 and result.audited.filter(below).height == 0
    assert result.audited.height == result.decisions.height == 1
    everything = link_people(inputs([ALFRED_H, MAY_H], [ALFRED_S]), SETTINGS.model_copy(update={"audit_min_probability": 0.0}))
    assert everything.audited.height == everything.decisions.height == everything.pairs_scored == 2
    may = pl.col("left_id") == "health_register:4000000102"
    assert everything.decisions.filter(may)["probability"][0] < floor


def test_a_reviewed_pair_under_the_audit_floor_keeps_its_scores() -> None:
    """A reviewer's word on a pair the model scored under the floor still stands with the
    model's scores beside it, as on any other reviewed pair."""
    floor = 0.5
    may = "health_register:4000000102"
    result = link_people(
        inputs([ALFRED_H, MAY_H], [ALFRED_S], reviews=[{"left_id": S, "right_id": may, "decision": "nonmatch"}]),
        SETTINGS.model_copy(update={"audit_min_probability": floor}),
    )
    row = result.audited.filter(pl.col("left_id") == may).row(0, named=True)
    assert row["decision"] == "reviewed_nonmatch"
    assert row["probability"] is not None and row["probability"] < floor and '"dob":' in row["scores"]
    assert result.pairs_scored == 2


def test_child_id_is_stable_across_runs() -> None:
    first = link_people(inputs([ALFRED_H, MAY_H], [ALFRED_S]), SETTINGS)
    second = link_people(inputs([ALFRED_H, MAY_H], [ALFRED_S], xref=first.child_xref), SETTINGS)
    fresh = link_people(inputs([ALFRED_H, MAY_H], [ALFRED_S]), SETTINGS)
    assert first.child_xref.equals(second.child_xref)
    assert first.child_xref.equals(fresh.child_xref)  # deterministic even without yesterday's xref


def test_school_record_arriving_a_night_later_joins_the_existing_child() -> None:
    night1 = link_people(inputs([ALFRED_H], []), SETTINGS)
    night2 = link_people(inputs([ALFRED_H], [ALFRED_S], xref=night1.child_xref), SETTINGS)
    before = dict(night1.child_xref.iter_rows())[H]
    after = dict(night2.child_xref.iter_rows())
    assert after[H] == after[S] == before


def test_school_first_then_health_keeps_the_school_minted_id() -> None:
    night1 = link_people(inputs([], [ALFRED_S]), SETTINGS)
    night2 = link_people(inputs([ALFRED_H], [ALFRED_S], xref=night1.child_xref), SETTINGS)
    assert dict(night2.child_xref.iter_rows())[H] == dict(night1.child_xref.iter_rows())[S]


def test_review_decisions_override_the_model() -> None:
    nonmatch = link_people(inputs([ALFRED_H], [ALFRED_S], reviews=[{"left_id": S, "right_id": H, "decision": "nonmatch"}]), SETTINGS)
    assert nonmatch.decisions.filter(pl.col("left_id") == H)["decision"].to_list() == ["reviewed_nonmatch"]
    assert nonmatch.children.height == 2
    # A reviewer's match holds even for a pair the model would never propose.
    other = {**ALFRED_S, "upn": "A10000000199", "forename": "Zed", "surname": "Quill", "dob": "2009-01-01", "postcode": "NR9 9ZZ",
             "address_line1": "1 Far Away"}
    match = link_people(inputs([ALFRED_H], [other], reviews=[{"left_id": H, "right_id": "school_census:A10000000199", "decision": "match"}]), SETTINGS)
    assert match.decisions["decision"].to_list() == ["reviewed_match"]
    assert match.children.height == 1


def test_uncertain_pairs_go_to_review() -> None:
    # Same name and date of birth, different address and a different forename spelling far apart.
    s = {**ALFRED_S, "forename": "Alf", "address_line1": "9 Other Road", "postcode": "NR12 8QQ"}
    h = {**ALFRED_H, "forename": "Alfredo"}
    result = link_people(inputs([h], [s]), LinkageSettings(match_threshold=0.999999, review_threshold=0.01, em_sample_pairs=1000))
    assert result.review_queue.height == 1
    assert result.children.height == 2


def test_thresholds_are_checked() -> None:
    with pytest.raises(LinkageError):
        link_people(inputs([ALFRED_H], [ALFRED_S]), LinkageSettings(match_threshold=0.4, review_threshold=0.6))


def test_zz99_never_forms_a_household() -> None:
    nfa = {**MAY_H, "postcode": "ZZ99 3VZ", "uprn": "300000000001"}
    result = link_people(inputs([nfa], []), SETTINGS)
    assert result.children["household_id"].to_list() == [None]
    assert result.households.height == 0


def test_addresses_with_and_without_uprn_share_a_household() -> None:
    sibling = {**MAY_H, "address_line1": "5 Old St", "uprn": None}
    result = link_people(inputs([ALFRED_H, sibling], []), SETTINGS)
    assert result.children["household_id"].n_unique() == 1
    assert result.households["household_key"].to_list() == ["uprn:200000000001"]


def test_incident_households() -> None:
    persons = [
        {"incident_id": "I1", "person_ref": "V", "role": "victim", "forename": "Kelly", "surname": "Dunn", "dob": "1989-04-04"},
        {"incident_id": "I1", "person_ref": "S", "role": "suspect", "forename": "Mark", "surname": "Ray", "dob": "1985-02-02",
         "address_line1": "40 Kings Road", "postcode": "NR1 2CD"},
        {"incident_id": "I1", "person_ref": "C", "role": "child", "forename": "Alfie", "surname": "Dunn", "dob": "2017-08-15"},
        {"incident_id": "I2", "person_ref": "V", "role": "victim", "forename": "Ann", "surname": "Lee", "dob": "1970-04-04",
         "address_line1": "1 Ash Grove", "postcode": "ZZ99 3VZ"},
    ]
    incidents = [{"incident_id": "I1", "address_line1": "22 New Road", "postcode": "NR9 5BB"},
                 {"incident_id": "I2", "address_line1": "3 Mill Lane", "postcode": "NR3 3AA"}]
    result = link_people(inputs([ALFRED_H], [ALFRED_S], persons=persons, incidents=incidents), SETTINGS)
    homes = {h: k for h, k in result.households.select("household_id", "household_key").iter_rows()}
    ih = result.incident_households.with_columns(key=pl.col("household_id").replace_strict(homes))
    got = set(ih.select("incident_id", "basis", "key").iter_rows())
    assert ("I1", "incident_address", "addr:NR9 5BB|22 NEW ROAD") in got
    assert ("I1", "suspect_home", "addr:NR1 2CD|40 KINGS ROAD") in got
    assert ("I1", "linked_child_home", "uprn:200000000001") in got
    # A victim with no fixed abode (ZZ99) has no home of her own: the incident address stands.
    assert ("I2", "incident_address", "addr:NR3 3AA|3 MILL LANE") in got
    child = result.person_links.filter(pl.col("person_ref") == "C").row(0, named=True)
    assert child["child_id"] == result.children["child_id"].item()
    assert child["link_probability"] is not None


def test_an_address_given_on_another_incident_finds_the_suspects_home() -> None:
    mark = {"role": "suspect", "forename": "Mark", "surname": "Ray", "dob": "1985-02-02"}
    persons = [
        {"incident_id": "I1", "person_ref": "S1", **mark, "address_line1": "40 Kings Road", "postcode": "NR1 2CD"},
        # Weeks later, the same man (same force reference) with no address, then no fixed abode.
        {"incident_id": "I2", "person_ref": "S1", **mark},
        {"incident_id": "I3", "person_ref": "S1", **mark, "address_line1": "No fixed abode", "postcode": "ZZ99 3VZ"},
        # Someone else with no address is not given Mark's home.
        {"incident_id": "I4", "person_ref": "S9", "role": "suspect", "forename": "Dean", "surname": "Holt",
         "dob": "1979-09-09"},
    ]
    incidents = [
        {"incident_id": "I1", "address_line1": "7 Low Road", "postcode": "NR4 4AA",
         "reported_at": dt.datetime(2026, 6, 1, 22, tzinfo=dt.UTC)},
        {"incident_id": "I2", "address_line1": "8 Low Road", "postcode": "NR4 4AA"},
        {"incident_id": "I3", "address_line1": "9 Low Road", "postcode": "NR4 4AA"},
        {"incident_id": "I4", "address_line1": "10 Low Road", "postcode": "NR4 4AA"},
    ]
    result = link_people(inputs(persons=persons, incidents=incidents), SETTINGS)
    homes = dict(result.households.select("household_id", "household_key").iter_rows())
    ih = result.incident_households.with_columns(key=pl.col("household_id").replace_strict(homes))
    got = set(ih.filter(pl.col("role") == "suspect").select("incident_id", "basis", "key").iter_rows())
    assert got == {
        ("I1", "suspect_home", "addr:NR1 2CD|40 KINGS ROAD"),
        ("I2", "known_home", "addr:NR1 2CD|40 KINGS ROAD"),
        ("I3", "known_home", "addr:NR1 2CD|40 KINGS ROAD"),
    }


@pytest.mark.parametrize(
    ("victim_address", "linked"),
    [
        ({"address_line1": "5 Old Street", "postcode": "NR7 0AA"}, True),   # lives with the victim
        ({}, False),                        # nothing says which May Dunn she is
    ],
)
def test_a_child_named_without_address_or_dob_is_compared_at_the_victims_home(
    victim_address: dict[str, str], linked: bool
) -> None:
    # The incident happened away from home; the officer recorded May by name only.
    persons = [
        {"incident_id": "I5", "person_ref": "V", "role": "victim", "forename": "Gemma", "surname": "Dunn",
         "dob": "1990-03-03", **victim_address},
        {"incident_id": "I5", "person_ref": "C", "role": "child", "forename": "May", "surname": "Dunn"},
    ]
    incidents = [{"incident_id": "I5", "address_line1": "Car park, 1 Market Place", "postcode": "NR2 1ND"}]
    # Another May Dunn in the county: names alone cannot tell the two apart.
    other_may = {"nhs_number": "4000000103", "forename": "May", "surname": "Dunn", "dob": "2019-06-11",
                 "gender": "f", "address_line1": "9 Far Lane", "postcode": "NR8 8ZZ"}
    result = link_people(inputs([MAY_H, other_may], persons=persons, incidents=incidents), SETTINGS)
    may = result.children.filter(pl.col("nhs_number") == "4000000102")["child_id"].item()
    nominal = result.person_links.filter(pl.col("person_ref") == "C").row(0, named=True)
    assert (nominal["child_id"] == may) is linked
    if not linked:
        # Both May Dunns fit equally: a person decides, rather than the first one winning.
        queued = result.review_queue.filter(pl.col("right_id") == "police_persons:I5:C")
        assert sorted(queued["left_id"]) == ["health_register:4000000102", "health_register:4000000103"]


def test_police_child_linked_to_nobody_is_still_a_child() -> None:
    persons = [{"incident_id": "I9", "person_ref": "C1", "role": "child", "forename": "Tia", "surname": "Shaw",
                "address_line1": "4 Beck Lane", "postcode": "NR6 6AA"}]
    result = link_people(inputs([ALFRED_H], [], persons=persons), SETTINGS)
    tia = result.children.filter(pl.col("forename") == "Tia").row(0, named=True)
    assert tia["sources"] == ["police"] and tia["household_id"] is not None
    link = result.person_links.row(0, named=True)
    assert link["child_id"] == tia["child_id"] and link["link_probability"] is None


def test_empty_inputs() -> None:
    result = link_people(inputs(), SETTINGS)
    assert result.children.height == 0 and result.decisions.height == 0 and result.child_xref.height == 0
    assert result.households.height == 0 and result.person_links.height == 0


def test_quality_on_synthetic_registers() -> None:
    from synthetic_people import synthetic_registers

    health, school, truth = synthetic_registers(3000, seed=11)
    result = link_people(inputs(xref=None).__class__(
        health, school, schemas.empty(schemas.STAGED["police_persons"]), schemas.empty(schemas.CURRENT_INCIDENTS),
        schemas.empty(schemas.CHILD_XREF), schemas.empty(schemas.REVIEW_DECISIONS),
    ), LinkageSettings(em_sample_pairs=200_000))
    found = result.children.filter(pl.col("nhs_number").is_not_null() & pl.col("upn").is_not_null()).select("nhs_number", "upn")
    true_positives = found.join(truth, on=["nhs_number", "upn"]).height
    assert true_positives / found.height >= 0.995   # precision
    assert true_positives / truth.height >= 0.98    # recall


def test_a_childs_home_is_taken_from_the_record_with_a_uprn() -> None:
    # Bug found on the county: the health record's postcode was typed (NR7 9AA for NR7 0AA)
    # and had no UPRN; ranking health first put Alfred in a household of one, so an incident
    # at his family's home (where May lives) did not reach him.
    typo_h = {**ALFRED_H, "postcode": "NR7 9AA", "uprn": None}
    sibling = {**MAY_H, "uprn": "200000000001"}
    school = {**ALFRED_S, "uprn": "200000000001"}
    result = link_people(inputs([typo_h, sibling], [school]), SETTINGS)
    homes = dict(result.children.select("nhs_number", "household_id").iter_rows())
    assert homes["4000000101"] == homes["4000000102"]
    alfred = result.children.filter(pl.col("nhs_number") == "4000000101").row(0, named=True)
    assert alfred["postcode"] == "NR7 0AA" and alfred["upn"] == "A10000000101"
