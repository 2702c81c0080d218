"""A list date's pending rows are kept only until they are published: publishing moves them
into the marts and deletes them, a publish retried after that leaves the marts as they were
(it never publishes an empty list), a flag stage run again is published again, and
migration 028 deletes the pending rows earlier nights left behind, keeping any still
waiting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from builders import migrations_before

from pipeline.publish import warehouse
from pipeline.publish.warehouse import Warehouse

D1, D2 = date(2026, 10, 5), date(2026, 10, 6)
RUN1, RUN2 = "2026-10-05-aaaaaaaaaa", "2026-10-06-bbbbbbbbbb"


def _flags(*children: str) -> pl.DataFrame:
    n = len(children)
    return pl.DataFrame({
        "child_id": list(children), "risk_level": ["high"] * n, "reasons": [["DA_HOUSEHOLD"]] * n,
        "incident_ids": [["INC-1"]] * n, "status": ["new"] * n, "rules_version": ["2026.1"] * n,
    })


def _flag_stage(wh: Warehouse, day: date, run_id: str, *children: str) -> None:
    """What the flag stage leaves for publishing (its child flags and evidence only)."""
    with wh.transaction():
        wh.replace_for_date("linked.pending_child_flags", day, _flags(*children), run_id=run_id)
        wh.replace_for_date("linked.pending_flag_evidence", day, pl.DataFrame({
            "child_id": list(children), "rule_id": ["DA_HOUSEHOLD"] * len(children),
            "rules_version": ["2026.1"] * len(children),
        }), run_id=run_id)
        wh.replace_for_date("linked.pending_lists", day, pl.DataFrame({"flagged_at": [datetime.now(UTC)]}), run_id=run_id)


def _count(wh: Warehouse, table: str, day: date) -> int:
    return int(wh.literal_rows(f"SELECT count(*) FROM {table} WHERE list_date = ?", [day])[0][0])


def test_publishing_moves_the_pending_rows_and_deletes_them(writer: Warehouse) -> None:
    _flag_stage(writer, D1, RUN1, "C1", "C2")
    counts = writer.publish_list(D1, RUN1, as_of_latest=True)
    assert counts["marts.child_flags"] == 2
    assert _count(writer, "audit.flag_evidence", D1) == 2
    for table in warehouse.PENDING_TABLES:
        assert _count(writer, table, D1) == 0, table


def test_a_publish_retried_after_it_succeeded_leaves_the_list_as_it_was(writer: Warehouse) -> None:
    _flag_stage(writer, D1, RUN1, "C1", "C2")
    writer.publish_list(D1, RUN1, as_of_latest=True)
    counts = writer.publish_list(D1, RUN1, as_of_latest=True)  # the pending rows are gone
    assert counts["marts.child_flags"] == 2
    assert _count(writer, "marts.child_flags", D1) == 2
    assert _count(writer, "audit.publications", D1) == 1


def test_a_flag_stage_run_again_is_published_again_even_when_it_flags_no_one(writer: Warehouse) -> None:
    _flag_stage(writer, D1, RUN1, "C1", "C2")
    writer.publish_list(D1, RUN1, as_of_latest=True)
    _flag_stage(writer, D1, RUN1, "C1")
    assert writer.publish_list(D1, RUN1, as_of_latest=True)["marts.child_flags"] == 1
    _flag_stage(writer, D1, RUN1)  # a review decided the last child was not this family's
    assert writer.publish_list(D1, RUN1, as_of_latest=True)["marts.child_flags"] == 0
    assert _count(writer, "marts.child_flags", D1) == 0


def test_another_nights_publish_leaves_this_nights_pending_rows(writer: Warehouse) -> None:
    _flag_stage(writer, D1, RUN1, "C1")
    _flag_stage(writer, D2, RUN2, "C1", "C3")
    writer.publish_list(D1, RUN1, as_of_latest=False)
    assert _count(writer, "linked.pending_child_flags", D2) == 2
    assert writer.publish_list(D2, RUN2, as_of_latest=True)["marts.child_flags"] == 2


def test_migration_028_deletes_published_pending_rows_and_keeps_waiting_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrations_before(28, tmp_path / "ddl", monkeypatch)
    path = tmp_path / "wh" / "warehouse.duckdb"
    with warehouse.open_writer(path) as wh:
        for day, run, children in ((D1, RUN1, ("C1", "C2")), (D2, RUN2, ("C1",))):
            wh.replace_for_date("linked.pending_child_flags", day, _flags(*children), run_id=run)
            wh.replace_for_date("linked.pending_flag_evidence", day, pl.DataFrame({
                "child_id": list(children), "rule_id": ["DA_HOUSEHOLD"] * len(children),
                "rules_version": ["2026.1"] * len(children),
            }), run_id=run)
        # D1 as the code before 028 published it: copied into the marts, kept pending.
        wh.insert("marts.child_flags", _flags("C1", "C2").with_columns(list_date=pl.lit(D1), run_id=pl.lit(RUN1)))
        wh.literal_rows("INSERT INTO audit.publications VALUES (?, ?, current_timestamp, 2, 0, 0)", [D1, RUN1])
        assert _count(wh, "linked.pending_child_flags", D1) == 2
    monkeypatch.undo()
    with warehouse.open_writer(path) as wh:
        assert _count(wh, "linked.pending_child_flags", D1) == 0
        assert _count(wh, "linked.pending_flag_evidence", D1) == 0
        assert _count(wh, "marts.child_flags", D1) == 2
        # D2 was flagged but its publish failed: it is still waiting, and publishes as before.
        assert _count(wh, "linked.pending_child_flags", D2) == 1
        assert wh.publish_list(D2, RUN2, as_of_latest=True)["marts.child_flags"] == 1
