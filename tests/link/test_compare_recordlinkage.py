"""The nightly comparison goes through recordlinkage's Compare and agrees with the direct one."""

from __future__ import annotations

import numpy as np
import polars as pl
from link_frames import frame

from pipeline import schemas
from pipeline.link.compare import code_sides, compare_pairs, compare_with_recordlinkage
from pipeline.link.standardise import standardise_people

PEOPLE = [
    {"nhs_number": "9434765919", "forename": "Alfie", "surname": "Smith-Jones", "dob": "2018-03-04",
     "address_line1": "Flat 2, 10 High Street", "postcode": "NR1 3QH", "gender": "m"},
    {"nhs_number": "9434765870", "forename": "Zoë", "surname": "Wiśniewski", "dob": "2019-04-03",
     "address_line1": "2/10 High St", "postcode": "nr13qh", "gender": "f"},
    {"nhs_number": "9434765862", "forename": "Alfred", "surname": "Smith", "dob": "2018-04-03",
     "address_line1": "10 High Street Flat 2", "postcode": "NR1 3QJ"},
    {"nhs_number": "9434765854", "forename": "Siân", "surname": "Jones", "dob": None,
     "address_line1": "4 Mill Lane", "postcode": None, "gender": "x"},
]


def _people() -> pl.DataFrame:
    return standardise_people(frame(schemas.STAGED["health_register"], PEOPLE), source="health_register")


def test_recordlinkage_path_equals_the_direct_comparison() -> None:
    people = _people()
    rng = np.random.default_rng(3)
    pairs = pl.DataFrame({"l": rng.integers(0, len(PEOPLE), 50), "r": rng.integers(0, len(PEOPLE), 50)})
    direct = compare_pairs(people, people, pairs, with_person_ref=True)
    through = compare_with_recordlinkage(people, people, pairs, with_person_ref=True)
    assert through.equals(direct)
    # And it really distinguishes: the pairs are not all scored alike.
    assert through["forename"].n_unique() > 1 and through["dob"].n_unique() > 1


def test_recordlinkage_path_with_no_pairs() -> None:
    people = _people()
    empty = pl.DataFrame({"l": [], "r": []}, schema={"l": pl.Int64, "r": pl.Int64})
    assert compare_with_recordlinkage(people, people, empty).height == 0


def test_one_coding_of_the_frames_serves_every_slice() -> None:
    """Comparing in slices over one coding of the two frames gives, pair for pair, the levels
    of coding them afresh for each call."""
    people = _people()
    rng = np.random.default_rng(5)
    pairs = pl.DataFrame({"l": rng.integers(0, len(PEOPLE), 200), "r": rng.integers(0, len(PEOPLE), 200)})
    sides = code_sides(people, people, with_person_ref=True)
    fresh = pl.concat([compare_pairs(people, people, part, with_person_ref=True) for part in pairs.iter_slices(37)])
    assert compare_with_recordlinkage(people, people, pairs, with_person_ref=True, slice_size=37, sides=sides).equals(fresh)
    assert compare_pairs(people, people, pairs, with_person_ref=True, sides=sides).equals(fresh)
    # Sides coded without the person_ref are coded again when the comparison needs it.
    without = code_sides(people, people)
    assert compare_pairs(people, people, pairs, with_person_ref=True, sides=without).equals(fresh)
