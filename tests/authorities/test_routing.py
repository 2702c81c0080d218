"""Routing a force's police delivery to its authorities, on small hand-built files."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline import authorities as au
from pipeline.errors import ConfigError, InputError, StaleRegisterError

NIGHT = date(2026, 10, 5)
A, B, C = "E06000901", "E06000902", "E06000903"
INCIDENT_COLS = "incident_id,reported_at,updated_at,dash_risk,children_present,address_line1,postcode"
PERSON_COLS = "incident_id,person_ref,role,forename,surname,address_line1,postcode"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def force(tmp_path: Path) -> au.Force:
    _write(tmp_path / "lookup.csv", "pcd,pcds,oslaua\nAA11AA,AA1 1AA,E06000901\nAA12BB,AA1 2BB,E06000901\n"
           "BB11AA,BB1 1AA,E06000902\nCC11AA,CC1 1AA,E06000903\nDD11AA,DD1 1AA,E09999999\n")
    _write(tmp_path / "force.toml", f'name = "Test force"\nlanding_dir = "landing"\ndata_dir = "data"\n'
           f'postcode_lookup = "lookup.csv"\n[[authorities]]\ncode = "{A}"\nname = "Ayton"\n'
           f'[[authorities]]\ncode = "{B}"\nname = "Beeford"\nrules_file = "b-rules.toml"\n'
           f'[[authorities]]\ncode = "{C}"\nname = "Ceeham"\n')
    day = tmp_path / "landing" / "police" / NIGHT.isoformat()
    t = "2026-10-04T22:00:00+00:00"
    _write(day / "police_incidents.csv", f"{INCIDENT_COLS}\n"
           f"DA1,{t},{t},high,yes,1 High St,AA1 1AA\n"     # Ayton only
           f"DA2,{t},{t},standard,no,2 Low Rd,bb11aa\n"     # Beeford, postcode written loosely
           f"DA3,{t},{t},medium,yes,3 Mill Ln,AA1 2BB\n"    # Ayton; its suspect lives in Beeford
           f"DA4,{t},{t},standard,no,4 Far Way,XX9 9XX\n"   # nowhere the force serves
           f"DA5,{t},{t},standard,no,5 New Rd,AA1 9ZZ\n")   # a postcode the directory lacks: by district
    _write(day / "police_persons.csv", f"{PERSON_COLS}\n"
           "DA1,P1,victim,Ann,Smith,1 High St,AA1 1AA\n"
           "DA2,P2,victim,Bea,Jones,2 Low Rd,BB1 1AA\n"
           "DA3,P3,victim,Cat,Brown,3 Mill Ln,AA1 2BB\n"
           "DA3,P4,suspect,Dan,Brown,9 Other St,BB1 1AA\n"
           "DA4,P5,victim,Eve,Gray,4 Far Way,XX9 9XX\n"
           "DA5,P6,victim,Fay,Hill,5 New Rd,AA1 9ZZ\n")
    for code in (A, B):
        _write(tmp_path / "landing" / code / NIGHT.isoformat() / "school_census.csv", f"upn\n{code}\n")
    return au.load_force(tmp_path / "force.toml")


def _ids(path: Path) -> list[str]:
    return pl.read_csv(path, infer_schema=False)["incident_id"].to_list()


def test_incidents_reach_every_authority_they_touch(force: au.Force) -> None:
    result = au.route_police(force, NIGHT)
    routed = {c: force.routed_dir(c) / NIGHT.isoformat() for c in force.codes}
    # DA4 touches no authority of the force: every authority gets it, and it is named.
    assert sorted(_ids(routed[A] / "police_incidents.csv")) == ["DA1", "DA3", "DA4", "DA5"]
    assert sorted(_ids(routed[B] / "police_incidents.csv")) == ["DA2", "DA3", "DA4"]
    assert sorted(_ids(routed[C] / "police_incidents.csv")) == ["DA4"]
    assert result.unrouted == ["DA4"]
    # The people travel with their incident, the suspect who lives in Beeford included.
    persons_b = pl.read_csv(routed[B] / "police_persons.csv", infer_schema=False)
    assert persons_b.filter(pl.col("incident_id") == "DA3")["person_ref"].sort().to_list() == ["P3", "P4"]
    assert result.shared == {"DA3": [A, B]}
    # Registers are each authority's own, unchanged; an authority with none gets police only.
    assert (routed[A] / "school_census.csv").read_text() == f"upn\n{A}\n"
    assert not (routed[C] / "school_census.csv").exists()


def test_each_list_of_a_shared_incident_names_the_other_authority(force: au.Force) -> None:
    au.route_police(force, NIGHT)
    a = au.read_shared_incidents(force.shared_dir(A), NIGHT)
    b = au.read_shared_incidents(force.shared_dir(B), NIGHT)
    assert a.filter(pl.col("incident_id") == "DA3")["other_authorities"].to_list() == [f"Beeford ({B})"]
    assert b.filter(pl.col("incident_id") == "DA3")["other_authorities"].to_list() == [f"Ayton ({A})"]
    assert au.read_shared_incidents(None, NIGHT).height == 0


def test_routing_a_night_again_rebuilds_it(force: au.Force) -> None:
    au.route_police(force, NIGHT)
    stray = force.routed_dir(A) / NIGHT.isoformat() / "health_register.csv"
    stray.write_text("left from an earlier routing", encoding="utf-8")
    au.route_police(force, NIGHT)
    assert not stray.exists()
    assert sorted(_ids(force.routed_dir(A) / NIGHT.isoformat() / "police_incidents.csv")) == ["DA1", "DA3", "DA4", "DA5"]


def test_a_record_the_reader_could_not_split_goes_to_every_authority(force: au.Force) -> None:
    path = force.landing_dir / "police" / NIGHT.isoformat() / "police_incidents.csv"
    path.write_text(path.read_text(encoding="utf-8") + 'DA6,"unterminated\n', encoding="utf-8")
    au.route_police(force, NIGHT)
    for code in force.codes:
        assert 'DA6,"unterminated' in (force.routed_dir(code) / NIGHT.isoformat() / "police_incidents.csv").read_text()


def test_postcode_lookup_by_unit_then_district(force: au.Force) -> None:
    lookup = au.load_postcode_lookup(force.postcode_lookup, force.codes)
    assert lookup.authorities_of("aa1 1aa") == {A}
    assert lookup.authorities_of("AA11ZZ") == {A}      # not in the directory: its district's
    assert lookup.authorities_of("DD1 1AA") == set()   # another force's authority, not kept
    assert lookup.authorities_of("ZZ99 3VZ") == set()  # no fixed abode
    assert lookup.authorities_of(None) == set()


def test_postcode_lookup_problems_name_file_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "lookup.csv"
    bad.write_text("pcds,laua\nAA1 1AA,E06000901\n", encoding="utf-8")
    with pytest.raises(InputError, match="oslaua"):
        au.load_postcode_lookup(bad)
    bad.write_text("pcds,oslaua\nAA1 1AA,E06000901\nnot a postcode,E06000901\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"lookup.csv, row 2, column pcds"):
        au.load_postcode_lookup(bad)


def test_force_configuration(force: au.Force, tmp_path: Path) -> None:
    assert force.codes == [A, B, C]
    assert force.authority(B).rules_file == tmp_path / "b-rules.toml"
    assert force.authority(A).rules_file is None
    assert force.warehouse(A) == tmp_path / "data" / A / "warehouse.duckdb"
    settings = au.authority_settings(force, B)
    assert settings.landing_dir == force.routed_dir(B)
    assert settings.rules_file == tmp_path / "b-rules.toml"
    assert settings.reports_dir == force.reports_dir(B)
    with pytest.raises(ConfigError, match="not in the force configuration"):
        force.authority("E06000999")


@pytest.mark.parametrize(("body", "problem"), [
    ('landing_dir = "l"\ndata_dir = "d"\npostcode_lookup = "p"\n', "at least one authority"),
    ('landing_dir = "l"\ndata_dir = "d"\npostcode_lookup = "p"\n[[authorities]]\ncode = "Norfolk"\n', "ONS code"),
    ('landing_dir = "l"\ndata_dir = "d"\npostcode_lookup = "p"\n[[authorities]]\ncode = "E06000901"\n'
     '[[authorities]]\ncode = "E06000901"\n', "more than once"),
    ('data_dir = "d"\npostcode_lookup = "p"\n[[authorities]]\ncode = "E06000901"\n', "landing_dir"),
])
def test_force_configuration_problems_are_named(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "f.toml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        au.load_force(tmp_path / "f.toml")
    with pytest.raises(ConfigError, match="HEARTH_FORCE_CONFIG"):
        au.load_force(None, environ={})


def test_a_failed_night_says_why_there_is_no_list(force: au.Force, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.night

    def stale(*args: object, **kwargs: object) -> None:
        raise StaleRegisterError("no school_census snapshot has ever been delivered on or before 2026-10-05")

    monkeypatch.setattr(pipeline.night, "run_night", stale)
    with pytest.raises(StaleRegisterError):
        au.run_authority_night(force, C, NIGHT)
    note = force.reports_dir(C) / NIGHT.isoformat() / au.NOT_PUBLISHED_NOTE
    text = note.read_text(encoding="utf-8")
    assert "Ceeham (E06000903)" in text and "snapshot has ever been delivered" in text
    rows = {r["authority"]: r for r in au.force_summary(force, NIGHT)}
    assert rows[C]["status"] != "succeeded"
    assert "snapshot has ever been delivered" in rows[C]["message"]
    with (force.summary_dir() / NIGHT.isoformat() / "force-summary.csv").open(encoding="utf-8") as fh:
        assert [r["authority"] for r in csv.DictReader(fh)] == [A, B, C]


def test_synthetic_lookup_leaves_out_postcodes_the_directory_would_not_hold() -> None:
    """A register's truncated postcode ('BN300') once went into the synthetic lookup, which
    the lookup reader then refused, so the force-wide benchmark stopped before its first night."""
    from pipeline.synth.force import directory_postcodes

    column = pl.Series(["bn30 0ab", "BN300", None, "ZZ99 3VZ", "BN3 0AB", "not a postcode"])
    assert directory_postcodes(column) == ["BN30 0AB", "BN3 0AB"]
