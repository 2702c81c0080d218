"""`hearth purge` and `hearth audit-extract` through the CLI, on a published warehouse."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.operate.pseudonymise import EXTRACT_QUERIES
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent / "publish"))
from world import D2, NAMES, publish_two_nights

runner = CliRunner()
KEY = "p" * 40


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The two-night world, with raw rows of an old delivery (20 days before night 2) and of night 2."""
    path = tmp_path / "wh" / "warehouse.duckdb"
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(path))

    def raw_rows(wh: warehouse.Warehouse) -> None:
        for day in (D2 - timedelta(days=20), D2):
            wh.insert("raw.health_register", pl.DataFrame({
                "run_id": ["r"], "delivery_date": [day], "_file": ["health_register.csv"], "_row": [1],
                "forename": ["Ivy"], "surname": ["Marsh"]}))

    return publish_two_nights(path, also=raw_rows)


def _count(path: Path, table: str) -> int:
    with warehouse.open_reader(path) as wh:
        return wh.literal_rows(f"SELECT count(*) FROM {table}")[0][0]


def test_purge_shows_the_plan_by_default_and_deletes_only_with_apply(
    published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Raw rows are kept 10 days: purged as of D2 (a purge may not look past the latest
    # night), the old delivery's rows are due and night 2's are not.
    monkeypatch.setenv("HEARTH_RETENTION__RAW_DAYS", "10")
    day = D2.isoformat()
    audit_before = _count(published, "audit.quarantine")
    plan = runner.invoke(app, ["purge", "--date", day])
    assert plan.exit_code == 0, plan.output
    assert "would delete" in plan.output
    assert _count(published, "raw.health_register") == 2, "a dry run deletes nothing"
    with warehouse.open_writer(published) as wh:  # not even from the working file
        assert wh.literal_rows("SELECT count(*) FROM raw.health_register") == [(2,)]
    done = runner.invoke(app, ["purge", "--date", day, "--apply"])
    assert done.exit_code == 0, done.output
    assert "deleted" in done.output
    # The published copy, which readers open, no longer holds the purged rows.
    with warehouse.open_reader(published) as wh:
        assert wh.literal_rows("SELECT delivery_date FROM raw.health_register") == [(D2,)]
    assert _count(published, "audit.quarantine") == audit_before
    again = runner.invoke(app, ["purge", "--date", day, "--apply"])
    assert again.exit_code == 0, again.output
    assert _count(published, "raw.health_register") == 1


def test_purge_refuses_a_bad_date(published: Path) -> None:
    result = runner.invoke(app, ["purge", "--date", "29/11/2026", "--apply"])
    assert result.exit_code == 2, result.output
    assert _count(published, "raw.health_register") == 2


def test_audit_extract_writes_pseudonymised_parquet_and_logs_who(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_PSEUDONYM_KEY", KEY)
    out = tmp_path / "extract"
    result = runner.invoke(app, ["audit-extract", "--out", str(out), "--as", "auditor.ann"])
    assert result.exit_code == 0, result.output
    parquet = sorted(p.stem for p in out.glob("*.parquet"))
    assert parquet == sorted(EXTRACT_QUERIES)
    flags = pl.read_parquet(out / "flags.parquet")
    assert flags.height == 4 and "C1" not in flags["child_id"].to_list()
    for path in out.iterdir():
        data = path.read_bytes() if path.suffix != ".parquet" else repr(pl.read_parquet(path).rows()).encode()
        assert [n for n in (*NAMES, "Mill Lane", "INC-1") if n.encode() in data] == [], path.name
    with warehouse.open_writer(published) as wh:  # the access log's system of record
        assert wh.literal_rows("SELECT who, command FROM audit.access_log") == [("auditor.ann", "audit-extract")]


def test_audit_extract_without_a_key_exits_2_and_writes_nothing(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEARTH_PSEUDONYM_KEY", raising=False)
    result = runner.invoke(app, ["audit-extract", "--out", str(tmp_path / "extract")])
    assert result.exit_code == 2, result.output
    assert "HEARTH_PSEUDONYM_KEY" in result.output
    assert not (tmp_path / "extract").exists()
