"""Which of the model's matches stand: one-to-one assignment, the twin check, reasons.

Small hand-built registers; each case fails if the rule it names is removed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from link_frames import SETTINGS, inputs

from pipeline import schemas
from pipeline.link.compare import compare_pairs, dob_levels
from pipeline.link.linkage import REASONS, assign_one_to_one, link_people
from pipeline.link.standardise import standardise_people

HOME = {"address_line1": "9 Mill Lane", "postcode": "NR3 2BB", "gender": "f"}
AMY_H = {"nhs_number": "4000000301", "forename": "Amy", "surname": "Rudd", "dob": "2015-06-01", **HOME}
AVA_H = {"nhs_number": "4000000302", "forename": "Ava", "surname": "Rudd", "dob": "2015-06-01", **HOME}
SCHOOL = {"school_urn": "100001", "school_name": "Mill Primary"}


def _decision(result, left: str, right: str) -> dict:  # type: ignore[no-untyped-def]
    row = result.decisions.filter(
        (pl.col("left_id") == min(left, right)) & (pl.col("right_id") == max(left, right))
    )
    assert row.height == 1, f"{left} × {right} was not scored"
    return row.row(0, named=True)


def test_a_twin_whose_forename_disagrees_waits_for_a_person_and_says_why() -> None:
    # Only one school record, spelled unlike either twin's health record.
    school = {"upn": "A10000000301", "forename": "Emmy", "surname": "Rudd", "dob": "2015-06-01", **HOME, **SCHOOL}
    result = link_people(inputs([AMY_H, AVA_H], [school]), SETTINGS)
    amy = _decision(result, "health_register:4000000301", "school_census:A10000000301")
    ava = _decision(result, "health_register:4000000302", "school_census:A10000000301")
    assert {amy["decision"], ava["decision"]} <= {"review", "auto_nonmatch"}
    assert "twin" in {amy["reason"], ava["reason"]}
    assert result.children.height == 3
    assert set(result.review_queue["reason"].drop_nulls()) <= set(REASONS)


def test_a_single_candidate_with_a_re_keyed_forename_links_automatically() -> None:
    # No twin on either register: the one record on each side is the same child.
    school = {"upn": "A10000000303", "forename": "Lauren", "surname": "Rudd", "dob": "2015-06-01", **HOME, **SCHOOL}
    result = link_people(inputs([AMY_H], [school]), SETTINGS)
    assert _decision(result, "health_register:4000000301", "school_census:A10000000303")["decision"] == "auto_match"
    assert result.children.height == 1


def test_the_weaker_of_two_matches_for_one_record_is_closed_one_to_one() -> None:
    # Two school records (two UPNs, so two children) at one address fit Amy; only the
    # stronger is hers.
    exact = {"upn": "A10000000304", "forename": "Amy", "surname": "Rudd", "dob": "2015-06-01", **HOME, **SCHOOL}
    sister = {"upn": "A10000000305", "forename": "Amy", "surname": "Rudd", "dob": "2015-07-01", **HOME, **SCHOOL}
    result = link_people(inputs([AMY_H], [exact, sister]), SETTINGS)
    assert _decision(result, "health_register:4000000301", "school_census:A10000000304")["decision"] == "auto_match"
    weaker = _decision(result, "health_register:4000000301", "school_census:A10000000305")
    assert weaker["decision"] in ("auto_nonmatch", "review")
    if weaker["probability"] >= SETTINGS.review_threshold:
        assert (weaker["decision"], weaker["reason"]) == ("auto_nonmatch", "one_to_one")


def _pairs(rows: list[tuple[int, str, str, float, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"_i": pl.UInt32, "_a": pl.String, "_b": pl.String, "match_weight": pl.Float64,
                                      "decision": pl.String}, orient="row")


def test_assignment_is_greedy_by_weight_and_cascades() -> None:
    # h1 prefers s2, but s2 is h2's by a wide margin: h1 falls back to s1.
    pairs = _pairs([(0, "h1", "s1", 20.0, "auto_match"), (1, "h1", "s2", 22.0, "auto_match"),
                    (2, "h2", "s2", 30.0, "auto_match"), (3, "h3", "s1", 5.0, "review")])
    changed = {r["_i"]: (r["_decision"], r["_reason"]) for r in assign_one_to_one(pairs, 3.0).iter_rows(named=True)}
    assert changed == {1: ("auto_nonmatch", "one_to_one"), 3: ("auto_nonmatch", "one_to_one")}


def test_two_nearly_equal_candidates_both_wait_as_ambiguous() -> None:
    pairs = _pairs([(0, "p1", "h1", 20.0, "auto_match"), (1, "p1", "h2", 19.0, "auto_match"),
                    (2, "p2", "h3", 25.0, "auto_match")])
    changed = {r["_i"]: (r["_decision"], r["_reason"]) for r in assign_one_to_one(pairs, 3.0).iter_rows(named=True)}
    assert changed == {0: ("review", "ambiguous"), 1: ("review", "ambiguous")}


def _people(source: str, rows: list[dict]) -> pl.DataFrame:  # type: ignore[type-arg]
    from link_frames import frame

    return standardise_people(frame(schemas.STAGED[source], rows), source=source)


def test_forename_and_surname_exchanged_are_compared_crossed() -> None:
    left = _people("health_register", [{"nhs_number": "4000000306", "forename": "Joshua", "surname": "Wiechec", "dob": "2015-01-01"}])
    right = _people("school_census", [{"upn": "A10000000306", "forename": "Wiechec", "surname": "Joshzua", "dob": "2015-01-01"},
                                      {"upn": "A10000000307", "forename": "Joshua", "surname": "Wiechec", "dob": "2015-01-01"}])
    levels = compare_pairs(left, right, pl.DataFrame({"l": [0, 0], "r": [0, 1]}, schema={"l": pl.UInt32, "r": pl.UInt32}))
    crossed, straight = levels.row(0, named=True), levels.row(1, named=True)
    assert crossed["names_transposed"] == 1 and crossed["forename"] >= 2 and crossed["surname"] >= 2
    assert max(crossed["forename"], crossed["surname"]) <= 3  # never as strong as the names agreeing in place
    assert straight["names_transposed"] == 0 and straight["forename"] == straight["surname"] == 4


def test_date_of_birth_levels_tell_a_mistyped_digit_from_a_shared_birthday() -> None:
    born = dt.date(2015, 3, 8)
    cases = {
        dt.date(2015, 3, 8): 4,    # exact
        dt.date(2015, 8, 3): 3,    # day and month swapped
        dt.date(2015, 3, 9): 2,    # one digit mistyped (day)
        dt.date(2016, 3, 8): 2,    # one digit mistyped (year)
        dt.date(2009, 3, 8): 1,    # same day and month, another year (two digits differ)
        dt.date(2011, 4, 8): 0,    # one digit in the year and one in the month: one part agrees
        None: -1,
    }
    left = pl.Series([born] * len(cases), dtype=pl.Date)
    right = pl.Series(list(cases), dtype=pl.Date)
    idx = np.arange(len(cases))
    assert dob_levels(left, right, idx, idx).tolist() == list(cases.values())
