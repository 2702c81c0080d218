"""Incremental linkage over the synthetic county's consecutive nights: every night after the
first compared only the pairs with a new or changed record, and what it linked equals a full
re-link of the same inputs, night by night."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest
from builders import assert_same_link_results
from polars.testing import assert_frame_equal

from e2e.conftest import County
from pipeline.link.incremental import KEY, IncrementalPlan, link_incremental
from pipeline.link.linkage import link_people
from pipeline.night import link_inputs
from pipeline.publish import warehouse

pytestmark = [pytest.mark.xdist_group("e2e_county"), pytest.mark.slow]


def _link_details(county: County) -> dict[str, dict[str, object]]:
    with warehouse.open_reader(county.settings.warehouse) as wh:
        rows = wh.literal_rows(
            "SELECT l.logical_date, s.detail FROM audit.run_stages s JOIN audit.run_log l "
            "ON l.run_id = s.run_id AND l.event = 'started' WHERE s.stage = 'link' ORDER BY l.logical_date"
        )
    return {day.isoformat(): json.loads(detail) for day, detail in rows}


def test_nights_after_the_first_compare_only_what_changed(county: County) -> None:
    details = _link_details(county)
    first, *later = (details[d.isoformat()] for d in county.days)
    assert first["relink"] == "full" and first["pairs_reused"] == 0
    for night in later:
        assert night["relink"] == "incremental", night["relink_reason"]
        # A night's deliveries change a few hundred register rows of thousands.
        assert night["pairs_compared"] < 0.2 * night["pairs_reused"]
        # Scored with the first night's fitted model, not one re-fitted over every pair.
        assert night["model_from"] == county.days[0].isoformat()


def test_unchanged_pairs_keep_their_decisions(county: County) -> None:
    # audit.link_decisions is kept as per-pair changes: with the model kept between full
    # re-links, a night writes rows only for the pairs its changed records touch.
    details = _link_details(county)
    with warehouse.open_reader(county.settings.warehouse) as wh:
        written = dict(wh.literal_rows("SELECT as_of, count(*) FROM audit.link_decision_changes GROUP BY as_of"))
    first, *later = county.days
    assert written[first] >= details[first.isoformat()]["pairs_audited"]
    for day in later:
        night = details[day.isoformat()]
        if night["models_refitted"]:
            continue  # a model fitted again moves every pair it scores
        assert written[day] < 0.2 * night["pairs_audited"], (day, written[day], night["pairs_audited"])


def test_incremental_equals_full_relink_night_by_night(county: County) -> None:
    linkage = county.settings.linkage
    first_day = county.days[0]
    with warehouse.open_reader(county.settings.warehouse) as wh:
        nights = [link_inputs(wh, day) for day in county.days]
        # The models each night kept: the first (full) night's fit, as audit.link_models holds it.
        kept = [wh.query("link_models_fitted_since", since=first_day, as_of=day) for day in county.days]
        stored_now = wh.query("comparison_cache")
        published_xref = wh.query("child_xref_before", before=county.days[-1] + timedelta(days=1))
    store = link_incremental(nights[0], linkage, stored=None, plan=IncrementalPlan(True, "first night")).added
    for inputs, fitted in zip(nights[1:], kept[:-1], strict=True):
        plan = IncrementalPlan(False, "test", model_from=first_day)
        night = link_incremental(inputs, linkage, stored=store, plan=plan, fitted=fitted)
        # Everything compared afresh, scored with the same stored model.
        full = link_people(inputs, linkage, fitted=fitted)
        assert_same_link_results(night.linked, full)
        assert night.pairs_reused > 0
        store = pl.concat([store.join(night.dropped, on=list(KEY), how="anti"), night.added])
    # The warehouse's store, kept up to date by the nights themselves, is this one.
    order = list(KEY)
    assert_frame_equal(stored_now.cast(store.schema).sort(order), store.sort(order))  # type: ignore[arg-type]
    # And the last night published what the full re-link links.
    assert_frame_equal(published_xref.select(full.child_xref.columns).sort("record_id"),
                       full.child_xref.sort("record_id"), check_dtypes=False)
