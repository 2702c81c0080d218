"""The accuracy evaluation on a hand-built truth: who is at risk, who the data can reveal,
and how misses and wrong flags are explained."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from pipeline.synth.accuracy import WarehouseView, evaluate

D = date(2026, 10, 5)
EMPTY = pl.lit([], dtype=pl.List(pl.String))


def _truth() -> dict[str, pl.DataFrame]:
    # H1: victim and partner at home, incident there; her row has no address (the incident's does).
    # H2/H3: victim at H2, her ex-partner lives at H3 and police recorded no address for him.
    # H4: nobody at risk, but the H2 victim's row was keyed with H4's address.
    people = pl.DataFrame({
        "person_uid": ["A1", "A2", "A3", "A4", "C1", "C2", "C3", "C4"],
        "household_uid": ["H1", "H1", "H2", "H3", "H1", "H2", "H3", "H4"],
        "is_child": [False] * 4 + [True] * 4,
        "twin_group": [None] * 8,
    }, schema_overrides={"twin_group": pl.String})
    households = pl.DataFrame({"household_uid": ["H1", "H2", "H3", "H4"], "register_address_stale": [False] * 4,
                               "register_address_fixed_on": [None] * 4}, schema_overrides={"register_address_fixed_on": pl.Date})
    records = pl.DataFrame({
        "source": ["health_register"] * 4, "record_key": ["1111111111", "2222222222", "3333333333", "4444444444"],
        "person_uid": ["C1", "C2", "C3", "C4"], "first_delivery": [D] * 4, "last_delivery": [D] * 4,
        "defects": [["register_bad_field"], [], [], []],
    })
    incidents = pl.DataFrame({
        "incident_id": ["I1", "I2"], "reported_at": [datetime(2026, 9, 1, 12, tzinfo=UTC)] * 2, "first_delivery": [D, D],
        "victim_uid": ["A1", "A3"], "victim_household_uid": ["H1", "H2"],
        "suspect_uid": ["A2", "A4"], "suspect_household_uid": ["H1", "H3"], "location_household_uid": ["H1", "H2"],
        "defects": [[], []],
    }, schema_overrides={"defects": pl.List(pl.String)})
    persons = pl.DataFrame({
        "incident_id": ["I1", "I1", "I2", "I2"], "person_ref": ["R1", "R2", "R3", "R4"],
        "person_uid": ["A1", "A2", "A3", "A4"], "household_uid": ["H1", "H1", "H2", "H3"],
        "role": ["victim", "suspect", "victim", "suspect"], "no_fixed_abode": [False] * 4,
        "address_written": ["none", "none", "wrong", "none"], "address_household_uid": [None, None, "H4", None],
        "defects": [["home_address_blank"], [], ["home_address_wrong"], []],
    }, schema_overrides={"address_household_uid": pl.String})
    invalid = pl.DataFrame(schema={"source": pl.String, "delivery_date": pl.Date, "record_key": pl.String, "person_uid": pl.String})
    return {"people": people, "households": households, "register_records": records, "police_persons": persons,
            "incidents": incidents, "invalid_rows": invalid}


def _view(flagged: list[str]) -> WarehouseView:
    # C1's only record was rejected by validation, so it is in no child
    xref = pl.DataFrame({"record_id": [f"health_register:{k}" for k in ("2222222222", "3333333333", "4444444444")],
                         "child_id": ["K2", "K3", "K4"]})
    return WarehouseView(
        list_date=D, xref=xref,
        person_links=pl.DataFrame(schema={"incident_id": pl.String, "person_ref": pl.String, "role": pl.String, "child_id": pl.String}),
        flagged=pl.DataFrame({"child_id": flagged}, schema={"child_id": pl.String}),
        follow_ups=pl.DataFrame(schema={"follow_up": pl.String}),
        unlocated=pl.DataFrame(schema={"incident_id": pl.String, "person_ref": pl.String}),
    )


def test_recall_precision_and_the_explanations() -> None:
    figures = evaluate(_view(["K2", "K4"]), _truth())
    assert (figures["at_risk_children"], figures["at_risk_register_held"], figures["at_risk_revealable"]) == (3, 3, 2)
    assert figures["flag_recall_all"] == pytest.approx(1 / 3, abs=1e-4)
    assert figures["flag_recall_revealable"] == 0.5
    assert figures["flag_precision"] == 0.5
    # C1 is revealable (the incident happened at home) but its only record carries a bad field
    assert figures["missed_revealable_by_defect"] == {"home_address_blank": 1, "register_bad_field": 1, "none": 0}
    # C3's father has no address on any row: the data cannot lead to him
    assert figures["missed_unrevealable_by_cause"] == {"address_not_recorded": 1}
    assert figures["wrongly_flagged_by_cause"] == {"home_address_wrong": 1}


def test_a_suspects_address_on_another_incident_places_his_home() -> None:
    truth = _truth()
    extra = truth["police_persons"].filter(pl.col("person_ref") == "R4").with_columns(
        incident_id=pl.lit("I3"), address_written=pl.lit("home"), address_household_uid=pl.lit("H3"))
    later = truth["incidents"].filter(pl.col("incident_id") == "I2").with_columns(
        incident_id=pl.lit("I3"), reported_at=pl.lit(datetime(2025, 1, 1, tzinfo=UTC)))  # too old to put anyone at risk
    truth |= {"police_persons": pl.concat([truth["police_persons"], extra]), "incidents": pl.concat([truth["incidents"], later])}
    figures = evaluate(_view(["K2", "K3"]), truth)
    assert figures["at_risk_revealable"] == 3
    assert figures["flag_recall_revealable"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["flag_precision"] == 1.0
