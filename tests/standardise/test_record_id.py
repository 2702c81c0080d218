"""Record ids: a register row staged without its identifier is known by its substitute id."""

from __future__ import annotations

import polars as pl

from pipeline import schemas
from pipeline.standardise import standardise_people


def test_record_id_falls_back_to_the_substitute_id_and_never_to_a_null() -> None:
    health = pl.DataFrame(
        {"nhs_number": ["9434765919", None], "substitute_id": [None, "withheld-3fa2b1c4d5e6"],
         "forename": ["Zoë", "Bad"], "surname": ["Smith", "Checksum"], "_row": [1, 2]},
    )
    health = pl.concat([schemas.empty(schemas.STAGED["health_register"]), health], how="diagonal_relaxed")
    out = standardise_people(health, source="health_register")
    assert out["record_id"].to_list() == ["health_register:9434765919", "health_register:withheld-3fa2b1c4d5e6"]
    assert out["nhs_number"].to_list() == ["9434765919", None]  # never linked or guarded on


def test_frames_without_a_substitute_column_still_get_record_ids() -> None:
    school = pl.DataFrame({"upn": ["b801200005001"], "forename": ["Siân"], "surname": ["Jones"]})
    out = standardise_people(school, source="school_census")
    assert out["record_id"].to_list() == ["school_census:B801200005001"]
