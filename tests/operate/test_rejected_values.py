"""Rejected rows expire with raw; the audit trail of their rejection stays.

A county runs nights past the raw retention period with one rejected row carrying values
found nowhere else; after the purge no table holds them, the rejection is still counted
and explained from audit.quarantine, and the same row delivered again hashes the same."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import Settings, load_settings
from pipeline.night import run_night
from pipeline.operate.explain import explain_child
from pipeline.operate.pseudonymise import row_hash
from pipeline.operate.retention import PurgeRequest, RetentionPolicy, purge, split_quarantine
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent / "recovery"))
sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "publish"))
from builders import read_sql, write_delivery
from nights import NIGHTS, write_county
from world import D2, publish_two_nights

KEY = "k" * 40
# Values that occur in no other row of the county: where they are found, the rejected row is.
SURNAME, STREET = "Quennevillard", "7 Zephyrine Mews"
REJECTED = {"incident_id": "INC-0000", "person_ref": "PXREJ", "role": "bystander", "forename": "Oswaldine",
            "surname": SURNAME, "dob": "1979-03-03", "gender": "f", "relationship_to_victim": "other",
            "address_line1": STREET, "town": "Norwich", "postcode": "NR1 1AA", "uprn": ""}
LATER = date(2026, 10, 10)


def _append_row(settings: Settings, day: date, row: dict[str, str]) -> int:
    """Add ``row`` to the night's police_persons.csv; return its row number."""
    path = settings.landing_dir / day.isoformat() / "police_persons.csv"
    rows = pl.read_csv(path, infer_schema=False).to_dicts()
    write_delivery(settings.landing_dir, day, "police_persons", [*rows, row])
    return len(rows) + 1


def _tables_holding(published: Path, text: str) -> dict[str, int]:
    """Every base table of the warehouse, each row searched as text (every column)."""
    found = {}
    con = duckdb.connect(str(published), read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal ORDER BY ALL"
        ).fetchall()
        assert len(tables) > 30
        for schema, table in tables:
            n = con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE CAST(t AS VARCHAR) LIKE ?', [f"%{text}%"]
            ).fetchall()[0][0]
            if n:
                found[f"{schema}.{table}"] = n
    finally:
        con.close()
    return found


@pytest.mark.slow
def test_rejected_values_expire_with_raw_and_the_rejection_stays_explained(
    settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (("HEARTH_WAREHOUSE", settings.warehouse), ("HEARTH_LANDING_DIR", settings.landing_dir),
                        ("HEARTH_REPORTS_DIR", settings.reports_dir), ("HEARTH_RETENTION__RAW_DAYS", "1")):
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("HEARTH_PSEUDONYM_KEY", raising=False)
    write_county(settings.landing_dir)
    row_number = _append_row(settings, NIGHTS[0], REJECTED)
    # The first night runs without the key: the rejection is recorded, its hash not yet.
    run_night(NIGHTS[0], load_settings(), trigger="test")
    with warehouse.open_reader(settings.warehouse) as wh:
        assert wh.literal_rows("SELECT row_hash FROM audit.quarantine") == [(None,)]
    monkeypatch.setenv("HEARTH_PSEUDONYM_KEY", KEY)
    settings = load_settings()
    for night in NIGHTS[1:]:
        run_night(night, settings, trigger="test")
    before = _tables_holding(settings.warehouse, SURNAME)
    assert set(before) == {"raw.police_persons", "restricted.rejected_rows"}, before  # the search finds it

    result = CliRunner().invoke(app, ["purge", "--apply", "--date", NIGHTS[2].isoformat(), "--as", "dpo.test"])
    assert result.exit_code == 0, result.output
    today = datetime.now(UTC).date()

    for value in (SURNAME, STREET, "Oswaldine"):
        assert _tables_holding(settings.warehouse, value) == {}, value
    with warehouse.open_reader(settings.warehouse) as wh:
        rejected = read_sql(wh, "SELECT * FROM audit.rejected_rows WHERE delivery_date = $d", {"d": NIGHTS[0]})
        summary = wh.literal_rows("SELECT source, column_name, problem, rows FROM audit.quarantine_summary WHERE delivery_date = ?",
                           [NIGHTS[0]])
        purges = wh.literal_rows("SELECT purged_by, applied FROM audit.purges")
    assert rejected.height == 1
    row = rejected.row(0, named=True)
    assert (row["source"], row["_file"], row["_row"]) == ("police_persons", "police_persons.csv", row_number)
    assert row["reasons"] == ["role: is not one of victim, suspect, child, witness, other"]
    assert row["record"] is None and row["reasons_as_delivered"] is None
    assert row["values_note"] == f"values removed under retention on {today.isoformat()}"
    assert summary == [("police_persons", "role", "role: is not one of victim, suspect, child, witness, other", 1)]
    assert purges == [("dpo.test", True)]

    # The partner sends the same row again: its hash matches the one the audit trail kept.
    write_delivery(settings.landing_dir, LATER, "police_incidents", [])
    write_delivery(settings.landing_dir, LATER, "police_persons", [REJECTED])
    run_night(LATER, settings, trigger="test")
    with warehouse.open_reader(settings.warehouse) as wh:
        hashes = dict(wh.literal_rows("SELECT delivery_date, row_hash FROM audit.quarantine WHERE source = 'police_persons'"))
        record = wh.literal_rows("SELECT record FROM restricted.rejected_rows WHERE delivery_date = ?", [LATER])[0][0]
    assert hashes[LATER] == hashes[NIGHTS[0]] == row_hash(KEY, record)


def test_audit_keeps_no_delivered_value_of_a_rejected_row() -> None:
    quarantine = pl.DataFrame({
        "source": ["health_register"], "_file": ["health_register.csv"], "_row": [4],
        "reasons": [["nhs_number: '9434765918' fails Modulus 11"]], "problems": [["nhs_number: fails Modulus 11"]],
        "record": ['{"nhs_number": "9434765918", "surname": "Wren"}'],
    })
    audit, values = split_quarantine(quarantine, KEY)
    assert audit.columns == ["source", "_file", "_row", "reasons", "row_hash"]
    assert "9434765918" not in str(audit.rows()) and "Wren" not in str(audit.rows())
    assert audit["row_hash"][0] == row_hash(KEY, quarantine["record"][0]) != row_hash("j" * 40, quarantine["record"][0])
    assert values.select("reasons", "record").rows() == quarantine.select("reasons", "record").rows()
    unkeyed, _ = split_quarantine(quarantine, None)
    assert unkeyed["row_hash"].to_list() == [None]


def test_explain_says_when_an_incidents_details_were_removed_under_retention(tmp_path: Path) -> None:
    published = publish_two_nights(tmp_path / "wh" / "warehouse.duckdb")
    later = D2 + timedelta(days=3)
    with warehouse.open_writer(published) as wh:
        before = explain_child(wh, "C1", D2)
        # A later night ran; police versions kept 1 day, forced as a DPO instruction would be.
        wh.literal_rows("INSERT INTO audit.run_log (run_id, logical_date, event, event_at) VALUES "
                 "('later', ?, 'started', ?), ('later', ?, 'succeeded', ?)",
                 [later, datetime(2026, 10, 9, 2, tzinfo=UTC), later, datetime(2026, 10, 9, 3, tzinfo=UTC)])
        request = PurgeRequest(who="dpo.test", today=later, lookback_days=1, force=True, reason="test instruction")
        purge(wh, later, RetentionPolicy(raw_days=1, police_days=1, register_days=1), dry_run=False, request=request)
        after = explain_child(wh, "C1", D2)
    today = datetime.now(UTC).date().isoformat()
    assert "INC-1: reported 05 Oct 2026 01:00, DASH high" in before
    assert "INC-1: reported" not in after
    assert f"INC-1: details removed under retention on {today}; reaches the child's home as the victim's home" in after
    assert "police named the child on it" not in after
