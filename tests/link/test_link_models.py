"""u-probabilities are estimated from random pairs at most every ``u_max_age_days`` and
reused in between; every night's model is returned for audit.link_models."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from link_frames import SETTINGS, inputs

from pipeline import schemas
from pipeline.link.linkage import comparison_fingerprint, link_people, reusable_u
from pipeline.link.model import DEFAULT_SPECS

D1 = dt.date(2026, 11, 2)
U = {s.name: list(np.asarray(s.u_prior) * 0.5 / sum(s.u_prior) + 0.5 / s.levels) for s in DEFAULT_SPECS}


def _models(*, on: dt.date = D1, n_left: int = 1000, n_right: int = 800, u: dict | None = None,
            u_pairs: int = 2_000_000, comparisons: str | None = None) -> pl.DataFrame:
    parameters = {"comparisons": comparisons or comparison_fingerprint(), "lambda": 0.001, "m": {}, "u": u or U}
    return pl.DataFrame([{
        "model": "register_child", "n_left": n_left, "n_right": n_right, "candidate_pairs": 5000,
        "u_estimated_on": on, "u_pairs": u_pairs, "parameters": json.dumps(parameters),
    }], schema=schemas.LINK_MODELS)


def _reuse(as_of: dt.date | None, models: pl.DataFrame, n_left: int = 1000, n_right: int = 800) -> object:
    return reusable_u("register_child", n_left, n_right, as_of, models, DEFAULT_SPECS, SETTINGS)


@pytest.mark.parametrize(
    ("as_of", "n_left", "n_right", "reused"),
    [
        (D1, 1000, 800, True),                              # a rerun of the night that estimated it
        (D1 + dt.timedelta(days=7), 1000, 800, True),       # u_max_age_days = 7
        (D1 + dt.timedelta(days=8), 1000, 800, False),
        (D1 - dt.timedelta(days=1), 1000, 800, False),      # a backfill before the estimate
        (D1 + dt.timedelta(days=1), 1050, 800, True),       # +5 %: still the same population
        (D1 + dt.timedelta(days=1), 1051, 800, False),
        (D1 + dt.timedelta(days=1), 1000, 759, False),
        (None, 1000, 800, False),                           # no run date: always estimate
    ],
)
def test_u_is_reused_while_fresh_and_the_population_is_steady(
    as_of: dt.date | None, n_left: int, n_right: int, reused: bool
) -> None:
    got = _reuse(as_of, _models(), n_left, n_right)
    assert (got is not None) == reused
    if got is not None:
        u, on = got  # type: ignore[misc]
        assert on == D1
        assert all(np.array_equal(u[name], np.asarray(values)) for name, values in U.items())


def test_u_is_not_reused_from_a_night_that_reused_it_or_a_different_model_shape() -> None:
    assert _reuse(D1, _models(u_pairs=0)) is None  # counts on such a row are not the estimate's
    fewer_levels = {**U, "dob": U["dob"][:-1]}
    assert _reuse(D1, _models(u=fewer_levels)) is None
    assert _reuse(D1, _models(u={k: v for k, v in U.items() if k != "gender"})) is None
    # Same names and level counts, but estimated by other comparison code (a level redefined).
    assert _reuse(D1, _models(comparisons="0" * 16)) is None
    settings = SETTINGS.model_copy(update={"u_max_age_days": 0})
    assert reusable_u("register_child", 1000, 800, D1, _models(), DEFAULT_SPECS, settings) is None


ADA_H = {"nhs_number": "4000000201", "forename": "Ada", "surname": "Lane", "dob": "2016-02-03", "gender": "f",
         "address_line1": "2 Mill Road", "postcode": "NR2 1AA"}
ADA_S = {"upn": "A10000000201", "forename": "Ada", "surname": "Lane", "dob": "2016-02-03", "gender": "f",
         "address_line1": "2 Mill Rd", "postcode": "NR2 1AA", "school_urn": "121212", "school_name": "Mill Primary"}
BO_H = {"nhs_number": "4000000202", "forename": "Bo", "surname": "Lane", "dob": "2019-06-07", "gender": "m",
        "address_line1": "2 Mill Road", "postcode": "NR2 1AA"}


def test_second_night_reuses_u_and_scores_identically() -> None:
    first_inputs = dataclasses.replace(inputs([ADA_H, BO_H], [ADA_S]), as_of=D1)
    first = link_people(first_inputs, SETTINGS)
    register = first.models.filter(pl.col("model") == "register_child").row(0, named=True)
    assert register["u_pairs"] > 0 and register["u_estimated_on"] == D1
    assert set(first.models["model"]) == {"register_child", "police_child_register", "police_child_dedup", "police_adult_dedup"}

    second_inputs = dataclasses.replace(first_inputs, as_of=D1 + dt.timedelta(days=1), models=first.models)
    second = link_people(second_inputs, SETTINGS)
    again = second.models.filter(pl.col("model") == "register_child").row(0, named=True)
    assert again["u_pairs"] == 0 and again["u_estimated_on"] == D1
    assert json.loads(again["parameters"])["u"] == json.loads(register["parameters"])["u"]
    assert second.decisions.equals(first.decisions)
