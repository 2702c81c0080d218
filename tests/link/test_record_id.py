"""Record ids: a register row staged without its identifier is known by its substitute id."""

from __future__ import annotations

import polars as pl

from pipeline import schemas
from pipeline.link.standardise import standardise_people


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


def test_an_unknown_source_has_no_record_id() -> None:
    """A source missing from the registry must not borrow another source's id."""
    import pytest

    from pipeline.errors import UnknownSourceError
    from pipeline.link.standardise import record_id

    with pytest.raises(UnknownSourceError, match="housing_register.*pipeline/sources.py"):
        record_id("housing_register")


def test_record_ids_follow_the_registry_parts() -> None:
    from pipeline.link.standardise import record_id

    persons = pl.DataFrame({"incident_id": ["INC-1"], "person_ref": ["P2"]})
    incidents = pl.DataFrame({"incident_id": ["INC-1"]})
    assert persons.select(record_id("police_persons")).item() == "police_persons:INC-1:P2"
    assert incidents.select(record_id("police_incidents")).item() == "police_incidents:INC-1"
