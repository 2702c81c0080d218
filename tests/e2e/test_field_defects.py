"""A child whose only record has one unusable value stays in the safety net, through the
real pipeline (landing files → marts), with every withheld value on the audit trail."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.night import run_night
from pipeline.operate.explain import explain_child
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number, upn_for, write_delivery

NIGHT = date(2026, 10, 5)
HOME = {"address_line1": "14 Mill Lane", "town": "Norwich", "postcode": "NR3 1AB", "uprn": "100090001401"}
FLAT = {"address_line1": "Flat 2, 10 High Street", "town": "Norwich", "postcode": "NR2 4XY"}
BAD_NHS = nhs_number(2)[:9] + str((int(nhs_number(2)[9]) + 1) % 10)  # check digit off by one


def _deliver(landing: Path) -> None:
    write_delivery(landing, NIGHT, "health_register", [
        # Her only record: a date of birth that does not exist.
        {"nhs_number": nhs_number(1), "forename": "Ivy", "surname": "Marsh", "dob": "2014-02-29",
         "gender": "f", **HOME, "gp_practice_code": "D82001"},
        # His only record: an NHS number that fails Modulus 11.
        {"nhs_number": BAD_NHS, "forename": "Milo", "surname": "Hale", "dob": "2023-06-02",
         "gender": "m", **FLAT, "gp_practice_code": "D82002"},
        # No name at all: identifies nobody, quarantined whole.
        {"nhs_number": nhs_number(3), "forename": "", "surname": "N/A", "dob": "2019-01-01",
         "gender": "f", **FLAT, "gp_practice_code": "D82002"},
    ])
    write_delivery(landing, NIGHT, "school_census", [
        {"upn": upn_for(4), "forename": "Ada", "surname": "Finch", "dob": "2015-01-09", "gender": "f",
         "address_line1": "7 Orchard Close", "town": "Dereham", "postcode": "NR19 1DD",
         "school_urn": "121212", "school_name": "Dereham Juniors", "year_group": "6"},
    ])
    write_delivery(landing, NIGHT, "police_incidents", [
        {"incident_id": "INC-R", "reported_at": "2026-10-04T21:40:00+01:00", "updated_at": "2026-10-04T23:10:00+01:00",
         "dash_risk": "standard", "children_present": "no", "offence": "assault", **HOME},
        {"incident_id": "INC-S", "reported_at": "2026-10-03T19:05:00+01:00", "updated_at": "2026-10-03T20:00:00+01:00",
         "dash_risk": "standard", "children_present": "unknown", "offence": "harassment", **FLAT},
    ])
    write_delivery(landing, NIGHT, "police_persons", [
        {"incident_id": "INC-R", "person_ref": "P1", "role": "victim", "forename": "Rosa", "surname": "Marsh",
         "dob": "1996-02-11", "gender": "f", "relationship_to_victim": "self", **HOME},
        # The suspect's date of birth is impossible: he is kept, without it.
        {"incident_id": "INC-R", "person_ref": "P2", "role": "suspect", "forename": "Dan", "surname": "Marsh",
         "dob": "1993-02-30", "gender": "m", "relationship_to_victim": "partner", **HOME},
        {"incident_id": "INC-S", "person_ref": "P3", "role": "victim", "forename": "Jess", "surname": "Hale",
         "dob": "1998-05-05", "gender": "f", "relationship_to_victim": "self", **FLAT},
        {"incident_id": "INC-S", "person_ref": "P4", "role": "suspect", "forename": "Carl", "surname": "Brook",
         "dob": "1990-12-01", "gender": "m", "relationship_to_victim": "partner", **FLAT},
    ])


@pytest.fixture
def night(settings: Settings) -> Settings:
    _deliver(settings.landing_dir)
    run_night(NIGHT, settings, trigger="test")
    return settings


def test_children_with_one_unusable_value_are_still_flagged(night: Settings) -> None:
    with warehouse.open_reader(night.warehouse) as wh:
        flags = wh.frame("SELECT forename, dob, nhs_number, incident_ids, reasons FROM marts.child_flags ORDER BY forename")
    assert flags["forename"].to_list() == ["Ivy", "Milo"]
    ivy, milo = flags.row(0, named=True), flags.row(1, named=True)
    assert ivy["dob"] is None and ivy["incident_ids"] == ["INC-R"] and "DA_IN_HOUSEHOLD" in ivy["reasons"]
    assert milo["nhs_number"] is None and milo["incident_ids"] == ["INC-S"]


def test_every_withheld_value_and_rejected_row_is_on_the_audit_trail(night: Settings) -> None:
    with warehouse.open_reader(night.warehouse) as wh:
        defects = wh.frame("SELECT run_id, delivery_date, source, _file, _row, record_id, column_name, rule, reason "
                           "FROM audit.field_defects ORDER BY source, _row")
        quarantine = wh.frame("SELECT source, _row, reasons FROM audit.quarantine")
        run_id = wh.fetch("SELECT run_id FROM audit.runs")[0][0]
        counts = wh.fetch("""
            SELECT (SELECT count(*) FROM raw.health_register WHERE delivery_date = $d),
                   (SELECT count(*) FROM staging.health_register_snapshots WHERE snapshot_date = $d),
                   (SELECT count(*) FROM audit.quarantine WHERE delivery_date = $d AND source = 'health_register')
        """, {"d": NIGHT})[0]
        detail = wh.fetch("SELECT detail->>'$.field_defects' FROM audit.run_stages WHERE stage = 'validate'")[0][0]
    rows = defects.drop("run_id", "delivery_date", "record_id").rows()
    assert rows == [
        ("health_register", "health_register.csv", 1, "dob", "dob.date", "is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
        ("health_register", "health_register.csv", 2, "nhs_number", "nhs_number.valid", "fails the Modulus 11 check"),
        ("police_persons", "police_persons.csv", 2, "dob", "dob.date", "is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
    ]
    assert set(defects["run_id"]) == {run_id} and set(defects["delivery_date"]) == {NIGHT}
    assert defects["record_id"].to_list()[0] == f"health_register:{nhs_number(1)}"
    assert defects["record_id"].to_list()[1].startswith("health_register:withheld-")
    assert defects["record_id"].to_list()[2] == "police_persons:INC-R:P2"
    assert not any(BAD_NHS in r or "2014-02-29" in r for r in defects["reason"])  # reasons, never values
    assert quarantine["_row"].to_list() == [3]
    assert quarantine["reasons"][0][-1] == "row cannot identify a child: neither forename nor surname is usable"
    assert counts == (3, 2, 1)  # delivered = staged + quarantined; withheld rows are staged
    assert json.loads(detail) == {"health_register": 2, "police_persons": 1}  # counted apart from quarantined rows


def test_explain_says_what_was_withheld_and_where(night: Settings) -> None:
    with warehouse.open_reader(night.warehouse) as wh:
        child_id = wh.fetch("SELECT child_id FROM marts.child_flags WHERE forename = 'Ivy'")[0][0]
        text = explain_child(wh, child_id, NIGHT)
        withheld = wh.frame("SELECT * FROM audit.child_withheld_fields WHERE child_id = $c", {"c": child_id})
    assert (
        "date of birth withheld: delivered value is not a date (YYYY-MM-DD or DD/MM/YYYY), delivery of "
        f"{NIGHT} (health_register.csv row 1; record health_register:{nhs_number(1)})"
    ) in text
    assert withheld.select("as_of", "column_name", "_row").rows() == [(NIGHT, "dob", 1)]
