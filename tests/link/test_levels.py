"""Comparison levels and u estimation on hand-built pairs: the location levels with the
locality, names exchanged and then re-keyed, spaces keyed inside names, and u estimated
without the true matches hidden among the random pairs."""

from __future__ import annotations

import numpy as np
import polars as pl
from link_frames import frame

from pipeline import schemas
from pipeline.link.compare import LOCATION_LEVELS, compare_pairs
from pipeline.link.model import DEFAULT_SPECS, estimate_u
from pipeline.link.standardise import standardise_people


def _people(source: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    return standardise_people(frame(schemas.STAGED[source], rows), source=source)  # type: ignore[arg-type]


def _levels(left: dict[str, object], right: dict[str, object]) -> dict[str, object]:
    h = _people("health_register", [{"nhs_number": "4000000001", **left}])
    s = _people("school_census", [{"upn": "A10000000001", **right}])
    return compare_pairs(h, s, pl.DataFrame({"l": [0], "r": [0]}, schema={"l": pl.UInt32, "r": pl.UInt32})).row(0, named=True)


BASE = {"forename": "Keira", "surname": "Lomax", "dob": "2015-03-02", "address_line1": "14 Orchard Way",
        "address_line2": "Thorpe Hamlet", "town": "Norwich", "postcode": "NR1 4AB"}


def test_same_address_splits_by_locality() -> None:
    same = _levels(BASE, BASE)
    assert (same["location"], same["locality"]) == (LOCATION_LEVELS["same_address"][0], 1)
    other = _levels(BASE, {**BASE, "address_line2": "Lakenham", "town": "Wymondham"})
    assert (other["location"], other["locality"]) == (LOCATION_LEVELS["same_address"][1], 0)


def test_a_postcode_typo_across_districts_with_a_street_typo_is_the_same_street_elsewhere() -> None:
    moved = _levels(BASE, {**BASE, "address_line1": "14 Orchrad Way", "postcode": "NR7 9ZD"})
    assert moved["location"] == LOCATION_LEVELS["same_street_elsewhere"][0]
    # another house number on that street is not
    neighbour = _levels(BASE, {**BASE, "address_line1": "16 Orchard Way", "postcode": "NR7 9ZD"})
    assert neighbour["location"] == LOCATION_LEVELS["nothing"][0]


def test_a_space_keyed_inside_a_place_or_name_is_a_slip() -> None:
    levels = _levels(BASE, {**BASE, "forename": "Kei ra", "address_line2": "Thorpe Ham let", "town": None,
                            "address_line1": "14 Orchardway", "postcode": "NR7 9ZD"})
    assert levels["forename"] == 2  # nearly the same, not a different name
    assert levels["locality"] == 1
    assert levels["location"] == LOCATION_LEVELS["same_street_elsewhere"][0]


def test_names_with_and_without_spaces_compared_together_score_as_alone() -> None:
    """Only the name pairs holding a space are compared again without it; in one batch each
    pair keeps the level it has compared alone."""
    forenames = [("Kei ra", "Keira"), ("Keira", "Kiera"), ("Ana", "Anna"), ("Keira", "Jolene")]
    h = _people("health_register", [{"nhs_number": f"400000000{i}", **BASE, "forename": a}
                                    for i, (a, _) in enumerate(forenames)])
    s = _people("school_census", [{"upn": f"A1000000000{i}", **BASE, "forename": b} for i, (_, b) in enumerate(forenames)])
    n = len(forenames)
    together = compare_pairs(h, s, pl.DataFrame({"l": range(n), "r": range(n)}, schema={"l": pl.UInt32, "r": pl.UInt32}))
    alone = [_levels({**BASE, "forename": a}, {**BASE, "forename": b}) for a, b in forenames]
    assert together["forename"].to_list() == [x["forename"] for x in alone]
    assert together["forename_sim"].to_list() == [x["forename_sim"] for x in alone]
    assert together["forename"][0] == 2


def test_nothing_to_compare_is_missing_not_a_disagreement() -> None:
    bare = {**BASE, "address_line1": None, "address_line2": None, "town": None, "postcode": None}
    assert _levels(BASE, bare)["location"] == -1


def test_names_exchanged_then_one_re_keyed_count_the_name_that_crossed() -> None:
    crossed = _levels({**BASE, "forename": "Holly", "surname": "Drayson"}, {**BASE, "forename": "Drayson", "surname": "Kylke"})
    assert (crossed["forename"], crossed["surname"], crossed["names_transposed"]) == (0, 3, 1)
    # one exact name in the wrong field is not enough where the straight names already agree better
    straight = _levels({**BASE, "forename": "Holly", "surname": "Drayson"}, {**BASE, "forename": "Holly", "surname": "Holly"})
    assert (straight["forename"], straight["names_transposed"]) == (4, 0)


def test_u_leaves_out_the_matches_among_the_random_pairs() -> None:
    spec = next(s for s in DEFAULT_SPECS if s.name == "dob")
    # 10 000 random pairs: 20 agree exactly, and the model says 1 in 1 000 random pairs is a
    # match that agrees exactly 90 % of the time (9 of the 20)
    levels = pl.DataFrame({"dob": np.r_[np.full(20, 4), np.zeros(9_980)].astype(np.int8)})
    naive = estimate_u(levels, (spec,), prior_strength=0.0)["dob"]
    m = np.array([0.05, 0.02, 0.02, 0.01, 0.90])
    corrected = estimate_u(levels, (spec,), prior_strength=0.0, matches=(0.001, {"dob": m}))["dob"]
    assert naive[4] == 20 / 10_000
    assert abs(corrected[4] - 11 / (9_979.5 + 11)) < 1e-12
    assert abs(corrected.sum() - 1) < 1e-9


def test_a_shared_date_of_birth_says_less_between_children_of_one_home() -> None:
    """Two children of one home born on one day are twins: at one home the date of birth is
    weighed by how often different children there share one, not how often strangers do."""
    from pipeline.link.linkage import same_home_levels
    from pipeline.link.model import SAME_HOME_LOCATION, FellegiSunter, estimate_u_same_home

    # one register, two homes: twins at the first, siblings at the second, a police child
    # (never counted: one person recurs across incidents) at the first
    home = {"address_line1": "4 Tanners Yard", "postcode": "NR2 4HT"}
    health = _people("health_register", [
        {"nhs_number": "4000000001", "forename": "Esme", "surname": "Croft", "dob": "2017-03-14", **home},
        {"nhs_number": "4000000002", "forename": "Ruby", "surname": "Croft", "dob": "2017-03-14", **home},
        {"nhs_number": "4000000003", "forename": "Leo", "surname": "Marsh", "dob": "2012-06-30",
         "address_line1": "7 Cotman Road", "postcode": "NR1 4AF"},
        {"nhs_number": "4000000004", "forename": "Theo", "surname": "Marsh", "dob": "2015-02-11",
         "address_line1": "7 Cotman Road", "postcode": "NR1 4AF"},
    ])
    police = _people("police_persons", [
        {"incident_id": "I1", "person_ref": "P1", "role": "child", "forename": "Esme", "surname": "Croft",
         "dob": "2017-03-14", **home},
    ])
    levels = same_home_levels([health, police])
    assert sorted(levels["dob"].to_list()) == [0, 4]

    spec = next(s for s in DEFAULT_SPECS if s.name == "dob")
    u = {"dob": np.asarray(spec.u_prior)}
    # with many homes the data outweighs the smoothing towards the random-pair u
    many = pl.DataFrame({"dob": np.r_[np.full(200, 4), np.repeat([1, 2, 3], 10), np.zeros(9_770)].astype(np.int8)})
    u_home = estimate_u_same_home(many, u, prior_strength=0.0)
    assert u_home["dob"][4] == 0.02
    model = FellegiSunter(specs=(spec,), m={"dob": np.asarray(spec.m_prior)}, u=u, u_same_home=u_home)
    pairs = pl.DataFrame({"dob": [4, 4], "location": [SAME_HOME_LOCATION + 1, 0]}, schema={"dob": pl.Int8, "location": pl.Int8})
    at_home, elsewhere = model.log2_bayes_factors(pairs)["dob"]
    assert at_home == np.log2(spec.m_prior[4] / 0.02)
    assert elsewhere == np.log2(spec.m_prior[4] / spec.u_prior[4])
    assert at_home < elsewhere
