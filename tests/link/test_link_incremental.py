"""Incremental linkage on hand-built registers: only pairs with a new or changed record are
compared, and the result is the full re-link's; when a night must re-link in full."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from builders import assert_same_link_results
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


def _assert_same(full: LinkResult, incremental: LinkResult, *, but: tuple[str, ...] = ()) -> None:
    assert_same_link_results(full, incremental, but=but)


def _changed_records(before: LinkInputs, after: LinkInputs) -> set[str]:
    """Record ids of the register rows added, removed or changed from one night to the next."""
    out: set[str] = set()
    for source, key, old, new in (
        ("health_register", "nhs_number", before.health, after.health),
        ("school_census", "upn", before.school, after.school),
    ):
        for a, b in ((old, new), (new, old)):
            out |= {f"{source}:{k}" for k in a.join(b, on=a.columns, how="anti", nulls_equal=True)[key]}
    return out


def _pairs_changed(before: LinkResult, after: LinkResult) -> pl.DataFrame:
    """Pairs whose decision row (any column: decision, weight, probability, reason) is not
    what it was the night before, or that were scored on only one of the two nights."""
    cols = list(schemas.LINK_DECISIONS)
    a, b = before.decisions.select(cols), after.decisions.select(cols)
    return pl.concat([
        b.join(a, on=cols, how="anti", nulls_equal=True), a.join(b, on=cols, how="anti", nulls_equal=True)
    ]).select("link_type", "left_id", "right_id").unique()


@pytest.fixture(scope="module")
def nights() -> tuple[LinkInputs, LinkInputs, LinkInputs]:
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
    # The night after: three children move house on the health register, one school
    # record's forename is re-keyed.
    movers = truth["nhs_number"][10:13].implode()
    health3 = health2.with_columns(
        address_line1=pl.when(pl.col("nhs_number").is_in(movers)).then(pl.lit("1 Orchard Way")).otherwise("address_line1"),
        postcode=pl.when(pl.col("nhs_number").is_in(movers)).then(pl.lit("NR9 9ZZ")).otherwise("postcode"),
        uprn=pl.when(pl.col("nhs_number").is_in(movers)).then(pl.lit(None, health2.schema["uprn"])).otherwise("uprn"),
    )
    school3 = school2.with_columns(
        forename=pl.when(pl.col("upn") == truth["upn"][20]).then(pl.lit("Rekeyed")).otherwise("forename")
    )
    return _registers(health, school), _registers(health2, school2), _registers(health3, school3)


def test_only_pairs_with_a_new_or_changed_record_are_compared(nights: tuple[LinkInputs, LinkInputs]) -> None:
    first, second, _ = nights
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
    first, *_ = nights
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
    first, *_ = nights
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
        ({}, False, "incremental since the full re-link of 2026-11-18, scored with its fitted model"),
    ],
)
def test_when_a_night_relinks_in_full(kwargs: dict[str, object], full: bool, says: str) -> None:
    args: dict[str, object] = {
        "stored_fingerprint": cache_fingerprint(), "last_full": date(2026, 11, 18), "reviewed_records": 0, **kwargs
    }
    plan = plan_night(DAY, SETTINGS, **args)  # type: ignore[arg-type]
    assert plan.full is full and says in plan.reason
    # A full night fits its model; an incremental one keeps the last full night's.
    assert plan.model_from == (None if full else date(2026, 11, 18))


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

    first, *_ = nights
    health = standardise_people(first.health, source="health_register")
    school = standardise_people(first.school, source="school_census")
    pairs = link._random_pairs(health.height, school.height, SETTINGS, dedupe=False)
    whole = link.compare_in_slices(health, school, pairs, False)
    monkeypatch.setattr(link, "COMPARE_SLICE", 7_001)
    assert_frame_equal(link.compare_in_slices(health, school, pairs, False), whole, check_exact=True)


@pytest.mark.parametrize("dedupe", [False, True])
def test_pairs_compared_over_only_their_records_get_the_levels_of_the_whole_frames(
    nights: tuple[LinkInputs, LinkInputs], dedupe: bool
) -> None:
    """An incremental night codes only the records its uncached pairs name; the levels must
    be those the whole frames give (a level depends on the pair's two records alone)."""
    from pipeline.link import incremental
    from pipeline.link import linkage as link
    from pipeline.link.standardise import standardise_people

    first, *_ = nights
    health = standardise_people(first.health, source="health_register")
    school = health if dedupe else standardise_people(first.school, source="school_census")
    pairs = link._random_pairs(health.height, school.height, SETTINGS, dedupe=dedupe).head(40)
    assert pairs["l"].n_unique() + pairs["r"].n_unique() < (health.height + school.height) // 2
    assert_frame_equal(incremental._compare_only(health, school, pairs, dedupe),
                       link.compare_in_slices(health, school, pairs, dedupe), check_exact=True)


def _dated(inputs: LinkInputs, night: int, models: pl.DataFrame) -> LinkInputs:
    return dataclasses.replace(inputs, as_of=DAY + timedelta(days=night), models=models)


def test_a_stored_fit_scores_as_the_fit_itself(nights: tuple[LinkInputs, LinkInputs, LinkInputs]) -> None:
    # The model kept in audit.link_models (JSON) gives every pair exactly the weight and
    # probability the night that fitted it gave.
    first = _dated(nights[0], 0, schemas.empty(schemas.LINK_MODELS))
    fitted = link_people(first, SETTINGS)
    again = link_people(first, SETTINGS, fitted=fitted.models)
    assert again.refitted.height == 0
    _assert_same(fitted, again, but=("models",))
    assert (again.models["u_pairs"] == 0).all()
    assert again.models["parameters"].to_list() == fitted.models["parameters"].to_list()


def test_incremental_nights_equal_a_full_relink_with_the_kept_model(
    nights: tuple[LinkInputs, LinkInputs, LinkInputs],
) -> None:
    # Over consecutive nights: the full night fits and stores; each incremental night reuses
    # the stored comparisons and the stored model, and equals link_people given that model
    # with every pair compared afresh.
    full_plan = IncrementalPlan(True, "first night")
    first = link_incremental(_dated(nights[0], 0, schemas.empty(schemas.LINK_MODELS)), SETTINGS,
                             stored=None, plan=full_plan)
    store, models = first.added, first.linked.models
    fitted_on = {json.loads(p)["fitted_on"] for p in models["parameters"]}
    assert fitted_on == {DAY.isoformat()}
    for night, raw in enumerate(nights[1:], start=1):
        inputs = _dated(raw, night, models)
        plan = IncrementalPlan(False, "test", model_from=DAY)
        tonight = link_incremental(inputs, SETTINGS, stored=store, plan=plan, fitted=models)
        afresh = link_people(inputs, SETTINGS, fitted=models)
        _assert_same(afresh, tonight.linked)
        assert tonight.linked.refitted.height == 0 and tonight.plan == plan
        assert 0 < tonight.pairs_compared < 0.05 * tonight.pairs_reused
        # Scored with the full night's fit: λ, m and u as stored, no random pairs compared.
        assert (tonight.linked.models["u_pairs"] == 0).all()
        for kept, stored in zip(tonight.linked.models.iter_rows(named=True), models.iter_rows(named=True), strict=True):
            assert json.loads(kept["parameters"]) == json.loads(stored["parameters"])
            assert kept["u_estimated_on"] == stored["u_estimated_on"] == DAY
        store = pl.concat([store.join(tonight.dropped, on=["left_hash", "right_hash", "dedupe"], how="anti"),
                           tonight.added])
        models = tonight.linked.models


def test_a_night_whose_records_moved_too_far_fits_again(nights: tuple[LinkInputs, LinkInputs, LinkInputs]) -> None:
    first = link_people(_dated(nights[0], 0, schemas.empty(schemas.LINK_MODELS)), SETTINGS)
    # As if the full night had been fitted on a tenth fewer health records.
    shrunk = first.models.with_columns(
        parameters=pl.when(pl.col("model") == "register_child")
        .then(pl.col("parameters").map_elements(
            lambda p: json.dumps({**json.loads(p), "fitted_n": [int(json.loads(p)["fitted_n"][0] * 0.9),
                                                                json.loads(p)["fitted_n"][1]]}),
            return_dtype=pl.String))
        .otherwise(pl.col("parameters"))
    )
    inputs = _dated(nights[1], 1, first.models)
    plan = IncrementalPlan(False, "incremental", model_from=DAY)
    tonight = link_incremental(inputs, SETTINGS, stored=None, plan=plan, fitted=shrunk)
    assert tonight.linked.refitted["model"].to_list() == ["register_child"]
    assert "u_max_size_change" in tonight.linked.refitted["reason"][0]
    assert "fitted again tonight: register_child (left records moved from" in tonight.plan.reason
    row = tonight.linked.models.filter(pl.col("model") == "register_child").row(0, named=True)
    assert json.loads(row["parameters"])["fitted_on"] == (DAY + timedelta(days=1)).isoformat()
    # The other models are kept as stored.
    others = tonight.linked.models.filter(pl.col("model") != "register_child")
    assert others["parameters"].to_list() == first.models.filter(pl.col("model") != "register_child")["parameters"].to_list()
    _assert_same(link_people(inputs, SETTINGS, fitted=shrunk), tonight.linked)


def test_a_stored_fit_is_not_kept_past_the_age_of_its_u(nights: tuple[LinkInputs, LinkInputs, LinkInputs]) -> None:
    first = link_people(_dated(nights[0], 0, schemas.empty(schemas.LINK_MODELS)), SETTINGS)
    late = _dated(nights[0], SETTINGS.u_max_age_days + 1, first.models)
    result = link_people(late, SETTINGS, fitted=first.models)
    assert set(result.refitted["model"]) == set(first.models["model"])
    assert all("u_max_age_days" in why for why in result.refitted["reason"])


def test_unchanged_pairs_keep_their_decisions(nights: tuple[LinkInputs, LinkInputs, LinkInputs]) -> None:
    # With the model kept, a night where a handful of register rows changed changes the
    # decision rows (what audit.link_decisions stores as changes) of pairs touching those
    # records only, or of pairs that competed with them for one record (the one-to-one
    # assignment): not the thousands of pairs it scored.
    first = link_people(_dated(nights[0], 0, schemas.empty(schemas.LINK_MODELS)), SETTINGS)
    previous, models = first, first.models
    for night in (1, 2):
        tonight = link_people(_dated(nights[night], night, models), SETTINGS, fitted=models)
        changed_records = _changed_records(nights[night - 1], nights[night])
        assert 0 < len(changed_records) <= 5
        changed = _pairs_changed(previous, tonight)
        touching = changed.filter(pl.col("left_id").is_in(list(changed_records)) | pl.col("right_id").is_in(list(changed_records)))
        assert touching.height > 0
        near = set(touching["left_id"]) | set(touching["right_id"])
        rest = changed.join(touching, on=["link_type", "left_id", "right_id"], how="anti")
        assert rest.filter(~pl.col("left_id").is_in(list(near)) & ~pl.col("right_id").is_in(list(near))).height == 0
        assert changed.height <= 20 < tonight.decisions.height
        previous, models = tonight, tonight.models
    # Fitting afresh each night (as before the model was kept) moves every pair's weight.
    refit = link_people(_dated(nights[1], 1, first.models), SETTINGS)
    assert _pairs_changed(first, refit).height > 0.5 * first.decisions.height


def test_a_stored_fit_of_other_comparisons_is_not_kept(nights: tuple[LinkInputs, LinkInputs, LinkInputs]) -> None:
    first = link_people(_dated(nights[0], 0, schemas.empty(schemas.LINK_MODELS)), SETTINGS)
    inputs = _dated(nights[1], 1, first.models)

    def edited(change: dict[str, object]) -> pl.DataFrame:
        return first.models.with_columns(parameters=pl.col("parameters").map_elements(
            lambda p: json.dumps({**json.loads(p), **change}), return_dtype=pl.String))

    dob_levels = len(json.loads(first.models["parameters"][0])["m"]["dob"])
    for change, why in (
        ({"comparisons": "0" * 16}, "other comparison code"),
        ({"m": {"dob": [0.5] * dob_levels}}, "other comparisons or levels"),
    ):
        result = link_people(inputs, SETTINGS, fitted=edited(change))
        assert set(result.refitted["model"]) == set(first.models["model"])
        assert all(why in reason for reason in result.refitted["reason"])


def test_the_log_says_whether_u_was_estimated_or_reused(
    nights: tuple[LinkInputs, LinkInputs, LinkInputs], caplog: pytest.LogCaptureFixture
) -> None:
    """The night's log said "u reused" on the nights u was estimated (the estimate had been
    assigned by the time the line was written)."""
    from pipeline.link import linkage as link
    from pipeline.link.standardise import standardise_people

    first, *_ = nights
    health = standardise_people(first.health, source="health_register")
    school = standardise_people(first.school, source="school_census")
    with caplog.at_level("INFO", logger="pipeline.link.linkage"):
        estimated = link.score_pairs("register_child", health, school, link.REGISTER_PASSES, SETTINGS)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("register_child:"))
    assert estimated.u_pairs > 0 and "u reused" not in line and "random pairs)" in line
    caplog.clear()
    with caplog.at_level("INFO", logger="pipeline.link.linkage"):
        link.score_pairs("register_child", health, school, link.REGISTER_PASSES, SETTINGS, u=estimated.model.u)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("register_child:"))
    assert "u reused" in line and "with 0 random pairs" in line
