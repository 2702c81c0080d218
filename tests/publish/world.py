"""A tiny hand-built warehouse of two nights, written through the warehouse module.

Small enough to reason about by eye: three children in two households, two incidents (one
escalated overnight), so every auditor view has a known answer without running a night.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipeline.publish import warehouse
from pipeline.publish.warehouse import Warehouse

D1 = date(2026, 10, 5)
D2 = date(2026, 10, 6)
RUN1, RUN2 = "2026-10-05-aaaaaaaaaa", "2026-10-06-bbbbbbbbbb"
NAMES = ("Ivy", "Marsh", "Milo", "Hale", "Ada", "Finch", "Rosa", "Dan")
L = pl.List(pl.String)
DOBS = {"C1": date(2026, 3, 14), "C2": date(2020, 1, 1), "C3": date(2015, 1, 9)}


def _ts(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _runs(wh: Warehouse) -> None:
    wh.insert("audit.run_log", pl.DataFrame({
        "run_id": [RUN1, RUN1, RUN2, RUN2], "logical_date": [D1, D1, D2, D2],
        "event": ["started", "succeeded", "started", "succeeded"],
        "event_at": [_ts(D1, 2), _ts(D1, 3), _ts(D2, 2), _ts(D2, 3)],
        "rules_version": ["2026.1"] * 4, "trigger": ["test"] * 4,
    }))


def _staging(wh: Warehouse) -> None:
    incidents = pl.DataFrame({
        "delivery_date": [D1, D2, D2], "run_id": [RUN1, RUN2, RUN2],
        "incident_id": ["INC-1", "INC-1", "INC-2"],
        "reported_at": [_ts(D1, 0)] * 2 + [_ts(D2, 0)],
        "updated_at": [_ts(D1, 1), _ts(D2, 1), _ts(D2, 1)],
        "dash_risk": ["standard", "high", "medium"], "children_present": ["no", "yes", "unknown"],
        "address_line1": ["14 Mill Lane", "14 Mill Lane", "7 Orchard Close"],
        "_file": ["police_incidents.csv"] * 3, "_row": [1, 1, 2],
    })
    wh.insert("staging.police_incident_versions", incidents)
    wh.insert("staging.police_person_versions", pl.DataFrame({
        "delivery_date": [D1, D1, D2], "run_id": [RUN1, RUN1, RUN2],
        "incident_id": ["INC-1", "INC-1", "INC-2"], "person_ref": ["P1", "P3", "P5"],
        "role": ["victim", "child", "suspect"], "forename": ["Rosa", "Ivy", "Dan"],
        "surname": ["Marsh", "Marsh", "Finch"], "_file": ["police_persons.csv"] * 3, "_row": [1, 2, 1],
    }))
    wh.insert("staging.health_register_snapshots", pl.DataFrame({
        "snapshot_date": [D1] * 3, "run_id": [RUN1] * 3, "nhs_number": ["N1", "N2", "N3"],
        "forename": ["Ivy", "Milo", "Ada"], "surname": ["Marsh", "Marsh", "Finch"],
        "dob": [date(2026, 3, 14), date(2020, 1, 1), date(2015, 1, 9)],
        "_file": ["health_register.csv"] * 3, "_row": [1, 2, 3],
    }))


def _linked(wh: Warehouse, day: date) -> None:
    wh.insert("linked.households", pl.DataFrame({
        "as_of": [day, day], "household_id": ["H1", "H2"],
        "household_key": ["uprn:1", "uprn:2"], "address": ["14 Mill Lane, Norwich", "7 Orchard Close"],
        "postcode": ["NR3 1AB", "NR19 1DD"],
    }))
    wh.insert("linked.children", pl.DataFrame({
        "as_of": [day] * 3, "child_id": ["C1", "C2", "C3"], "household_id": ["H1", "H1", "H2"],
        "forename": ["Ivy", "Milo", "Ada"], "surname": ["Marsh", "Marsh", "Finch"],
    }))
    wh.insert("linked.child_xref", pl.DataFrame({
        "as_of": [day] * 4, "record_id": ["health_register:N1", "school_census:U1", "health_register:N2",
                                          "health_register:N3"],
        "child_id": ["C1", "C1", "C2", "C3"],
    }))
    links = {"as_of": [day, day], "incident_id": ["INC-1", "INC-1"], "person_ref": ["P1", "P3"],
             "person_id": ["PP1", "PP3"], "role": ["victim", "child"], "household_id": ["H1", "H1"],
             "child_id": [None, "C1"], "link_probability": [None, 0.99]}
    reach = {"as_of": [day, day], "incident_id": ["INC-1", "INC-1"], "household_id": ["H1", "H1"],
             "role": ["victim", "victim"], "person_ref": ["P1", None], "basis": ["victim_home", "incident_address"]}
    if day == D2:
        for k, v in {"as_of": day, "incident_id": "INC-2", "person_ref": "P5", "person_id": "PP5",
                     "role": "suspect", "household_id": "H2", "child_id": None, "link_probability": None}.items():
            links[k].append(v)
        for k, v in {"as_of": day, "incident_id": "INC-2", "household_id": "H2", "role": "suspect",
                     "person_ref": "P5", "basis": "suspect_home"}.items():
            reach[k].append(v)
    wh.insert("linked.person_links", pl.DataFrame(links))
    wh.insert("linked.incident_households", pl.DataFrame(reach))


def _decisions(wh: Warehouse, day: date, run_id: str) -> None:
    wh.insert("audit.link_decisions", pl.DataFrame({
        "run_id": [run_id] * 3, "as_of": [day] * 3,
        "link_type": ["register_child", "police_child", "police_child"],
        "left_id": ["health_register:N1", "police_persons:INC-1:P3", "police_persons:INC-1:P3"],
        "right_id": ["school_census:U1", "health_register:N1", "health_register:N2"],
        "scores": ['{"dob": 3}', '{"dob": 3, "forename_sim": 1.0}', '{"dob": 0}'],
        "match_weight": [12.0, 9.5, -8.0], "probability": [0.999, 0.99, 0.001],
        "decision": ["auto_match", "auto_match", "auto_nonmatch"],
    }))


def _flags(wh: Warehouse, day: date, run_id: str, rows: list[tuple[str, str, str, str, list[str], list[str]]]) -> None:
    """rows: (child_id, household_id, level, status, reasons, incident_ids)."""
    frame = pl.DataFrame(
        [{"list_date": day, "child_id": c, "household_id": h, "dob": DOBS[c], "risk_level": lvl, "status": st,
          "reasons": rs, "incident_ids": inc, "rules_version": "2026.1", "run_id": run_id}
         for c, h, lvl, st, rs, inc in rows],
        schema_overrides={"reasons": L, "incident_ids": L},
    )
    wh.insert("marts.child_flags", frame)
    evidence = frame.explode("reasons").select(
        "run_id", "list_date", "child_id", pl.col("reasons").alias("rule_id"), "rules_version",
        "incident_ids", "household_id",
        pl.lit(["health_register:N1"], dtype=L).alias("source_records"),
        pl.format("{} fired", pl.col("reasons")).alias("detail"),
    )
    wh.insert("audit.flag_evidence", evidence)
    wh.insert("audit.publications", pl.DataFrame({
        "list_date": [day], "run_id": [run_id], "published_at": [_ts(day, 3)],
        "child_flags": [frame.height], "mash_list": [0], "school_notifications": [0],
    }))


def _mash(wh: Warehouse, day: date, run_id: str, rows: list[tuple[str, int, str]]) -> None:
    wh.insert("marts.mash_list", pl.DataFrame(
        [{"list_date": day, "household_id": h, "priority": p, "risk_level": lvl, "child_ids": [],
          "incident_ids": [], "reasons": [], "agencies": ["police"], "new_since_previous": True,
          "rules_version": "2026.1", "run_id": run_id} for h, p, lvl in rows],
        schema_overrides={"child_ids": L, "incident_ids": L, "reasons": L, "agencies": L},
    ))


def build_two_nights(wh: Warehouse) -> None:
    """Night 1: Ivy (C1) and Milo (C2) flagged standard from INC-1. Night 2: INC-1 is
    updated to DASH high (Ivy escalates), Milo drops off, Ada (C3) is new from INC-2."""
    _runs(wh)
    _staging(wh)
    for day, run in ((D1, RUN1), (D2, RUN2)):
        _linked(wh, day)
        _decisions(wh, day, run)
    _flags(wh, D1, RUN1, [
        ("C1", "H1", "standard", "new", ["DA_IN_HOUSEHOLD"], ["INC-1"]),
        ("C2", "H1", "standard", "new", ["DA_IN_HOUSEHOLD"], ["INC-1"]),
    ])
    _mash(wh, D1, RUN1, [("H1", 1, "standard")])
    _flags(wh, D2, RUN2, [
        ("C1", "H1", "high", "escalated", ["DA_IN_HOUSEHOLD", "DASH_HIGH"], ["INC-1"]),
        ("C3", "H2", "medium", "new", ["DA_IN_HOUSEHOLD"], ["INC-2"]),
    ])
    _mash(wh, D2, RUN2, [("H1", 1, "high"), ("H2", 2, "medium")])
    # INC-1's suspect gave no address anywhere: police are asked to find him.
    wh.insert("marts.unlocated_suspects", pl.DataFrame({
        "list_date": [D2], "incident_id": ["INC-1"], "person_ref": ["N-SUSPECT-1"], "person_id": ["P-SUSPECT-1"],
        "reported_at": [datetime(2026, 10, 1, 21, 0, tzinfo=UTC)], "dash_risk": ["high"],
        "listed_households": [["H1"]], "new_since_previous": [True], "rules_version": ["test"], "run_id": [RUN2],
    }, schema_overrides={"listed_households": L}))
    wh.insert("audit.quarantine", pl.DataFrame({
        "run_id": [RUN1] * 3, "delivery_date": [D1] * 3, "source": ["health_register"] * 3,
        "_file": ["health_register.csv"] * 3, "_row": [7, 9, 9],
        "reasons": [["nhs_number: '123' fails Modulus 11"],
                    ["dob: '31/02/2020' is not a date", "nhs_number: '9434765918' fails Modulus 11"],
                    ["dob: '31/02/2020' is not a date", "nhs_number: '9434765918' fails Modulus 11"]],
        "record": ['{"forename": "Zed"}'] * 3,
    }, schema_overrides={"reasons": L}))


def publish_two_nights(path: Path, *, also: Callable[[Warehouse], None] | None = None) -> Path:
    """A fresh warehouse at ``path`` holding the two nights (and whatever ``also`` adds), published."""
    with warehouse.open_writer(path) as wh:
        build_two_nights(wh)
        if also:
            also(wh)
        warehouse.refresh_published(wh)
    return path
