"""The audit trail is append-only: across nights, a rerun, later nights, people's decisions
and a retention purge, no audit row is ever changed or deleted, a rerun adds a run, not
duplicate evidence, and an auditor's connection cannot change the trail at all."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import Settings
from pipeline.night import run_night
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent / "recovery"))
from nights import NIGHTS, audit_tables, marts, table_rows, write_county

runner = CliRunner()
# Evidence tables and the date column a rerun of that date must not grow.
EVIDENCE = {
    "audit.quarantine": "delivery_date", "audit.dq_results": "delivery_date",
    "audit.field_defects": "delivery_date",
    "audit.link_decisions": "as_of", "audit.flag_evidence": "list_date",
}
# Every audit table this test must see rows in, or it proves nothing about that table.
MUST_HAVE_ROWS = (
    "audit.run_log", "audit.run_stages", "audit.quarantine", "audit.field_defects", "audit.dq_results",
    "audit.link_decision_changes", "audit.link_decision_nights",
    "audit.link_models", "audit.flag_evidence_rows", "audit.flag_evidence_members", "audit.publications",
    "audit.access_log",
    "audit.review_decisions", "audit.coordinator_decisions", "audit.schema_migrations",
)


def _snapshot(published: Path) -> dict[str, Counter[str]]:
    # Link decisions are stored as per-night changes and flag evidence once per distinct row;
    # the views of each night's decisions and evidence must keep every row too, so a night
    # once recorded reads back the same for ever.
    views = ("audit.link_decisions", "audit.flag_evidence")
    return {t: table_rows(published, t, drop=()) for t in (*audit_tables(published), *views)}


def _count(published: Path, table: str, column: str, day: object) -> int:
    with warehouse.open_reader(published) as wh:
        return wh.literal_rows(f"SELECT count(*) FROM {table} WHERE {column} = ?", [day])[0][0]


def _cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


def _people_act(published: Path) -> None:
    """An auditor looks a child up, a reviewer decides a pair, a coordinator a household."""
    with warehouse.open_reader(published) as wh:
        child, household = wh.literal_rows("SELECT child_id, household_id FROM marts.child_flags ORDER BY ALL LIMIT 1")[0]
        left, right = wh.literal_rows("SELECT left_id, right_id FROM audit.link_decisions ORDER BY ALL LIMIT 1")[0]
    _cli("explain", child, "--as", "auditor.ann")
    _cli("review", "--reject", f"{left}={right}", "--as", "reviewer.bob", "--note", "different people")
    _cli("decide", household, "--level", "high", "--reason", "seen by social worker", "--as", "coord.cat")


@pytest.mark.slow
def test_no_audit_row_is_ever_changed_or_deleted(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("HEARTH_WAREHOUSE", settings.warehouse), ("HEARTH_LANDING_DIR", settings.landing_dir),
                        ("HEARTH_REPORTS_DIR", settings.reports_dir)):
        monkeypatch.setenv(name, str(value))
    write_county(settings.landing_dir)
    # Night 2 delivers one nominal with a role the contract does not know (it is quarantined
    # whole) and one with an impossible date of birth (the date is withheld, the nominal kept).
    persons = settings.landing_dir / NIGHTS[1].isoformat() / "police_persons.csv"
    first = persons.read_text(encoding="utf-8").splitlines()[1].split(",")
    bad_role, bad_dob = list(first), list(first)
    bad_role[1], bad_role[2] = "PXBAD", "bystander"
    bad_dob[1], bad_dob[5] = "PXDOB", "1990-02-31"
    extra = "".join(",".join(row) + "\n" for row in (bad_role, bad_dob))
    persons.write_text(persons.read_text(encoding="utf-8") + extra, encoding="utf-8")
    run_night(NIGHTS[0], settings, trigger="test")
    _people_act(settings.warehouse)
    run_night(NIGHTS[1], settings, trigger="test")
    before = _snapshot(settings.warehouse)
    empty = [t for t in MUST_HAVE_ROWS if before.get(t, Counter()).total() == 0]
    assert not empty, f"the fixture must put rows in every audit table; empty: {empty}"
    marts_before = marts(settings.warehouse)
    evidence_before = {t: _count(settings.warehouse, t, c, NIGHTS[1]) for t, c in EVIDENCE.items()}
    assert all(evidence_before.values()), evidence_before

    run_night(NIGHTS[1], settings, trigger="test")  # rerun
    after_rerun = _snapshot(settings.warehouse)
    assert marts(settings.warehouse) == marts_before, "a rerun must reproduce the marts"
    assert {t: _count(settings.warehouse, t, c, NIGHTS[1]) for t, c in EVIDENCE.items()} == evidence_before
    assert after_rerun["audit.run_log"].total() == before["audit.run_log"].total() + 2  # started + succeeded
    assert after_rerun["audit.publications"].total() == before["audit.publications"].total() + 1

    _people_act(settings.warehouse)
    run_night(NIGHTS[2], settings, trigger="test")
    # A retention purge as of the latest night deletes raw rows past their day, never audit ones.
    monkeypatch.setenv("HEARTH_RETENTION__RAW_DAYS", "1")
    with warehouse.open_reader(settings.warehouse) as wh:
        raw_before = wh.literal_rows("SELECT count(*) FROM raw.police_persons")[0][0]
    _cli("purge", "--date", NIGHTS[2].isoformat(), "--apply")
    with warehouse.open_reader(settings.warehouse) as wh:
        assert 0 < wh.literal_rows("SELECT count(*) FROM raw.police_persons")[0][0] < raw_before, "the purge did run"
    after = _snapshot(settings.warehouse)
    assert set(before) <= set(after)
    for table, rows in before.items():
        missing = rows - after[table]
        assert not missing, f"{table}: {missing.total()} row(s) changed or deleted, e.g. {next(iter(missing))}"
    for table in ("audit.access_log", "audit.review_decisions", "audit.coordinator_decisions"):
        assert after[table].total() == 2 * before[table].total(), f"{table}: the second round of decisions is kept"

    # Auditors read the published file, which cannot be changed through their connection.
    with warehouse.open_reader(settings.warehouse) as wh:
        for table in MUST_HAVE_ROWS:
            for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET {_a_column(wh, table)} = NULL"):
                with pytest.raises(duckdb.Error, match="read-only"):
                    wh.literal_rows(statement)
    assert _snapshot(settings.warehouse) == after


def _a_column(wh: warehouse.Warehouse, table: str) -> str:
    schema, name = table.split(".")
    return wh.literal_rows(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'wh' AND table_schema = ? "
        "AND table_name = ? ORDER BY ordinal_position LIMIT 1", [schema, name],
    )[0][0]
