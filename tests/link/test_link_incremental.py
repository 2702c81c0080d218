"""Incremental linkage on hand-built registers: only pairs with a new or changed record are
compared, and the result is the full re-link's; when a night must re-link in full."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline import schemas
from pipeline.config import LinkageSettings
from pipeline.link.incremental import (
    ComparisonCache,
    IncrementalPlan,
    cache_fingerprint,
    link_incremental,
    plan_night,
    record_hashes,
)
from pipeline.link.linkage import LinkInputs, LinkResult, link_people
from pipeline.link.model import DEFAULT_SPECS, fit_em

SETTINGS = LinkageSettings(em_sample_pairs=50_000)
DAY = date(2026, 11, 20)


def _registers(health: pl.DataFrame, school: pl.DataFrame) -> LinkInputs:
    return LinkInputs(
        health, school, schemas.empty(schemas.STAGED["police_persons"]), schemas.empty(schemas.CURRENT_INCIDENTS),
        schemas.empty(schemas.CHILD_XREF), schemas.empty(schemas.REVIEW_DECISIONS),
    )


def _assert_same(full: LinkResult, incremental: LinkResult) -> None:
    for name in LinkResult.__dataclass_fields__:
        assert_frame_equal(getattr(full, name), getattr(incremental, name), check_exact=True), name


@pytest.fixture(scope="module")
def nights() -> tuple[LinkInputs, LinkInputs]:
    from synthetic_people import synthetic_registers

    health, school, truth = synthetic_registers(600, seed=5)
    # The next night: one child's surname corrected on the health register, one child new to
    # the school roll (known to health), and one health record gone (moved away).
    corrected = truth["nhs_number"][0]
    newcomer = health.filter(~pl.col("nhs_number").is_in(truth["nhs_number"].implode())).head(1)
    health2 = health.with_columns(
        surname=pl.when(pl.col("nhs_number") == corrected).then(pl.lit("Corrected")).otherwise("surname")
    ).filter(pl.col("nhs_number") != truth["nhs_number"][1])
    school2 = pl.concat([school, newcomer.select(
        upn=pl.lit("A999999999999"), forename="forename", surname="surname", dob="dob", gender="gender",
        address_line1="address_line1", address_line2="address_line2", town="town", postcode="postcode", uprn="uprn",
    )], how="diagonal_relaxed").cast(school.schema)  # type: ignore[arg-type]
    return _registers(health, school), _registers(health2, school2)


def test_only_pairs_with_a_new_or_changed_record_are_compared(nights: tuple[LinkInputs, LinkInputs]) -> None:
    first, second = nights
    yesterday = ComparisonCache.empty()
    link_people(first, SETTINGS, compare=yesterday.compare)
    assert yesterday.hits == 0 and yesterday.misses > 500

    tonight = ComparisonCache(yesterday.tonight())
    incremental = link_people(second, SETTINGS, compare=tonight.compare)
    _assert_same(link_people(second, SETTINGS), incremental)
    # The corrected and the new school record meet a few health records each; all the other
    # pairs keep the levels they were given last night.
    assert 0 < tonight.misses <= 20
    assert tonight.hits >= yesterday.misses - 20
    added, dropped = tonight.delta()
    assert added.height == tonight.misses
    assert dropped.height >= 1  # the pairs of the health record that left, and of the old surname


def test_stored_levels_are_used_as_stored(nights: tuple[LinkInputs, LinkInputs]) -> None:
    # A stored pair's levels are taken, not recomputed: a store with every forename level
    # forced to "exact" changes the night's weights (so the store is really read) ...
    first, _ = nights
    honest = ComparisonCache.empty()
    link_people(first, SETTINGS, compare=honest.compare)
    forged = ComparisonCache(honest.tonight().with_columns(forename=pl.lit(4, pl.Int8)))
    result = link_people(first, SETTINGS, compare=forged.compare)
    assert forged.misses == 0
    assert not result.decisions["match_weight"].equals(link_people(first, SETTINGS).decisions["match_weight"])


def test_a_changed_record_hashes_differently() -> None:
    frame = pl.DataFrame({"forename_std": ["ADA", "ADA"], "surname_std": ["LOVE", "LOVE"], "postcode": ["NR1 1AA", None]})
    hashes = record_hashes(frame)
    assert hashes[0] != hashes[1]
    assert record_hashes(frame.head(1))[0] == hashes[0]  # the same record, the same hash, whatever its neighbours


def test_full_relink_stores_every_pair(nights: tuple[LinkInputs, LinkInputs]) -> None:
    first, _ = nights
    result = link_incremental(first, SETTINGS, stored=None, plan=IncrementalPlan(True, "test"))
    assert result.pairs_reused == 0 and result.added.height == result.pairs_compared > 0
    assert result.dropped.height == 0


@pytest.mark.parametrize(
    ("kwargs", "full", "says"),
    [
        ({"stored_fingerprint": None, "last_full": None}, True, "no comparisons stored"),
        ({"stored_fingerprint": "other", "last_full": date(2026, 11, 18)}, True, "comparison code"),
        ({"last_full": date(2026, 11, 13)}, True, "7 days since"),
        ({"last_full": date(2026, 11, 21)}, True, "rerun of a night before"),
        ({"reviewed_records": 501}, True, "review decisions"),
        ({}, False, "incremental since the full re-link of 2026-11-18"),
    ],
)
def test_when_a_night_relinks_in_full(kwargs: dict[str, object], full: bool, says: str) -> None:
    args: dict[str, object] = {
        "stored_fingerprint": cache_fingerprint(), "last_full": date(2026, 11, 18), "reviewed_records": 0, **kwargs
    }
    plan = plan_night(DAY, SETTINGS, **args)  # type: ignore[arg-type]
    assert plan.full is full and says in plan.reason


def test_every_night_in_full_when_configured() -> None:
    settings = LinkageSettings(full_relink_every_days=0)
    plan = plan_night(DAY, settings, stored_fingerprint=cache_fingerprint(), last_full=DAY, reviewed_records=0)
    assert plan.full


def test_em_does_not_depend_on_the_order_of_the_pairs() -> None:
    # The incremental night assembles the same pairs' levels in another way than a full one;
    # the fitted model must not move in the last bits with the order of the rows.
    rng = np.random.default_rng(3)
    specs = DEFAULT_SPECS
    levels = pl.DataFrame({s.name: rng.integers(-1, s.levels, 20_000).astype(np.int8) for s in specs})
    u = {s.name: np.asarray(s.u_prior) for s in specs}
    a = fit_em(levels, specs, u, max_iterations=25)
    for seed in range(5):
        b = fit_em(levels.sample(fraction=1.0, shuffle=True, seed=seed), specs, u, max_iterations=25)
        assert a.lam == b.lam
        for s in specs:
            assert np.array_equal(a.m[s.name], b.m[s.name])


def test_pairs_compared_in_slices_get_the_levels_of_one_call(
    nights: tuple[LinkInputs, LinkInputs], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.link import linkage as link
    from pipeline.link.standardise import standardise_people

    first, _ = nights
    health = standardise_people(first.health, source="health_register")
    school = standardise_people(first.school, source="school_census")
    pairs = link._random_pairs(health.height, school.height, SETTINGS, dedupe=False)
    whole = link.compare_in_slices(health, school, pairs, False)
    monkeypatch.setattr(link, "COMPARE_SLICE", 7_001)
    assert_frame_equal(link.compare_in_slices(health, school, pairs, False), whole, check_exact=True)
