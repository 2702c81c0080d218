"""The audit trail is append-only: across nights, a rerun and later nights, no audit row is
ever changed or deleted, and a rerun adds a run, not duplicate evidence."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.config import Settings
from pipeline.night import run_night

sys.path.insert(0, str(Path(__file__).parent.parent / "recovery"))
from nights import NIGHTS, audit_tables, marts, table_rows, write_county

# Evidence tables and the date column a rerun of that date must not grow.
EVIDENCE = {
    "audit.quarantine": "delivery_date", "audit.dq_results": "delivery_date",
    "audit.link_decisions": "as_of", "audit.flag_evidence": "list_date",
}


def _snapshot(published: Path) -> dict[str, Counter[str]]:
    return {t: table_rows(published, t, drop=()) for t in audit_tables(published)}


def _count(published: Path, table: str, column: str, day: object) -> int:
    with warehouse.open_reader(published) as wh:
        return wh.fetch(f"SELECT count(*) FROM {table} WHERE {column} = ?", [day])[0][0]


@pytest.mark.slow
def test_no_audit_row_is_ever_changed_or_deleted(settings: Settings) -> None:
    write_county(settings.landing_dir)
    run_night(NIGHTS[0], settings, trigger="test")
    run_night(NIGHTS[1], settings, trigger="test")
    before = _snapshot(settings.warehouse)
    marts_before = marts(settings.warehouse)
    evidence_before = {t: _count(settings.warehouse, t, c, NIGHTS[1]) for t, c in EVIDENCE.items()}

    run_night(NIGHTS[1], settings, trigger="test")  # rerun
    after_rerun = _snapshot(settings.warehouse)
    assert marts(settings.warehouse) == marts_before, "a rerun must reproduce the marts"
    assert {t: _count(settings.warehouse, t, c, NIGHTS[1]) for t, c in EVIDENCE.items()} == evidence_before
    assert after_rerun["audit.run_log"].total() == before["audit.run_log"].total() + 2  # started + succeeded
    assert after_rerun["audit.publications"].total() == before["audit.publications"].total() + 1

    run_night(NIGHTS[2], settings, trigger="test")
    after = _snapshot(settings.warehouse)
    assert set(before) <= set(after)
    for table, rows in before.items():
        missing = rows - after[table]
        assert not missing, f"{table}: {missing.total()} row(s) changed or deleted, e.g. {next(iter(missing))}"
    assert all(before[t].total() > 0 for t in ("audit.run_log", "audit.link_decisions", "audit.flag_evidence"))
