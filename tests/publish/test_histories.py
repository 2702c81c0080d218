"""linked.* and audit.link_decisions are stored as changes, not per-night copies, and every
night still reads back exactly as it was written: after later nights, backfills of missing
nights and reruns of earlier ones, through migration 020 from per-night copies, and within
the retention of the history."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.publish import warehouse
from pipeline.publish.warehouse import Warehouse

DAYS = [date(2026, 10, 1) + timedelta(days=d) for d in range(8)]
KEY = ("link_type", "left_id", "right_id", "decision", "match_weight")


def _night(wh: Warehouse, table: str, day: date) -> Counter[str]:
    return Counter(repr(r) for r in wh.literal_rows(f"SELECT * EXCLUDE (as_of) FROM {table} WHERE as_of = ?", [day]))


def _children(rows: list[tuple[str, str | None, list[str] | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"child_id": pl.String, "household_id": pl.String, "sources": pl.List(pl.String)},
                        orient="row")


@pytest.mark.parametrize("digest", ["hash({columns})", "0::UBIGINT"], ids=["digest", "every-digest-collides"])
def test_every_night_reads_back_what_was_written_in_any_order(
    writer: Warehouse, digest: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nights written forwards, backfilled, rerun in the middle, with duplicate rows, NULLs and
    lists: each night's rows are exactly the last frame written for it; also when every row's
    digest collides with every other's (rows are paired by digest, matched by every column)."""
    monkeypatch.setattr(warehouse, "_COLUMNS_DIGEST", digest)
    rng = random.Random(17)
    xref_pool = [(f"health_register:{i}", f"C{i % 5}") for i in range(12)]
    child_pool = [("C1", "H1", ["health_register"]), ("C1", "H2", ["health_register"]), ("C2", None, None),
                  ("C3", "H1", ["school_census", "health_register"]), ("C3", "H1", [])]
    xrefs: dict[date, Counter[str]] = {}
    children: dict[date, Counter[str]] = {}
    # Every column of the view but as_of, in order; the frames written give three of them.
    columns = [c for c in writer.columns("linked.children") if c != "as_of"]
    for step in range(40):
        # Mostly the next night, sometimes an earlier one again or a missed one.
        day = DAYS[min(step // 4, 7)] if rng.random() < 0.6 else rng.choice(DAYS)
        rows = [rng.choice(xref_pool) for _ in range(rng.randint(0, 6))]
        writer.replace_for_date("linked.child_xref", day, pl.DataFrame(rows, schema=["record_id", "child_id"], orient="row"))
        xrefs[day] = Counter(repr(r) for r in rows)
        kids = [rng.choice(child_pool) for _ in range(rng.randint(0, 3))]
        writer.replace_for_date("linked.children", day, _children(kids))
        given = {"child_id": 0, "household_id": 1, "sources": 2}
        children[day] = Counter(repr(tuple(kid[given[col]] if col in given else None for col in columns))
                                for kid in kids)
        for night in xrefs:
            assert _night(writer, "linked.child_xref", night) == xrefs[night], (step, night)
            assert _night(writer, "linked.children", night) == children[night], (step, night)
    assert sorted(d for (d,) in writer.literal_rows("SELECT as_of FROM linked.link_nights")) == sorted(xrefs)


def test_a_normal_night_writes_only_what_changed(writer: Warehouse) -> None:
    rows = [(f"health_register:{i}", f"C{i}") for i in range(100)]
    frame = pl.DataFrame(rows, schema=["record_id", "child_id"], orient="row")
    for day in DAYS[:5]:
        writer.replace_for_date("linked.child_xref", day, frame)
    frame = frame.with_columns(pl.when(pl.col("record_id") == "health_register:7").then(pl.lit("C99"))
                               .otherwise(pl.col("child_id")).alias("child_id"))
    writer.replace_for_date("linked.child_xref", DAYS[5], frame)
    # 100 rows held for five nights, then one changed: 101 rows kept, not 600.
    assert writer.literal_rows("SELECT count(*) FROM linked.child_xref_history")[0][0] == 101
    assert writer.literal_rows("SELECT count(*) FROM linked.child_xref")[0][0] == 600


def _decisions(rows: list[tuple[str, str, str, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [("register_child", left, right, decision, weight, p, '{"dob": 4}') for left, right, decision, weight, p in rows],
        schema=["link_type", "left_id", "right_id", "decision", "match_weight", "probability", "scores"], orient="row",
    )


def test_each_night_keeps_its_decisions_whatever_is_recorded_later(writer: Warehouse) -> None:
    """A night's first run sets its decisions, a rerun adds the ones it lacks (never takes
    any away), and neither changes any other night, recorded before or after it."""
    rng = random.Random(20)
    pool = [(f"health_register:{i}", f"school_census:{j}", d, w) for i in range(4) for j in range(2)
            for d, w in (("auto_match", 12.5), ("review", 3.0))]
    model: dict[date, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for step in range(40):
        day = DAYS[min(step // 4, 7)] if rng.random() < 0.6 else rng.choice(DAYS)
        run = f"run-{step}"
        picked = rng.sample(pool, rng.randint(0, 6))
        rows = [(left, right, d, w, rng.choice((0.9, 0.95))) for left, right, d, w in picked]
        writer.insert_new("audit.link_decisions", _decisions(rows), KEY, day=day, run_id=run)
        night = model.get(day, {})
        fresh = day not in model
        for left, right, d, w, p in rows:
            key = ("register_child", left, right, d, w)
            if fresh or key not in night:
                night[key] = (run, day, "register_child", left, right, '{"dob": 4}', w, p, d, None)
        model[day] = night
        for recorded, expected in model.items():
            got = Counter(writer.literal_rows("SELECT * FROM audit.link_decisions WHERE as_of = ?", [recorded]))
            assert got == Counter(expected.values()), (step, recorded)


def test_a_night_with_nothing_new_records_no_decision_rows(writer: Warehouse) -> None:
    rows = [("health_register:1", "school_census:1", "auto_match", 12.5, 0.99)]
    assert writer.insert_new("audit.link_decisions", _decisions(rows), KEY, day=DAYS[0], run_id="r1") == 1
    assert writer.insert_new("audit.link_decisions", _decisions(rows), KEY, day=DAYS[1], run_id="r2") == 0
    assert writer.literal_rows("SELECT run_id, as_of FROM audit.link_decisions ORDER BY as_of") == [
        ("r1", DAYS[0]), ("r2", DAYS[1])]


def test_only_pairs_whose_rows_differ_are_written_again(writer: Warehouse) -> None:
    """Pairs with one row and pairs with several (as a rerun leaves them) are compared row for
    row: an unchanged pair writes nothing, whatever the order of its rows; a pair with any row
    changed, added or lost writes all its rows again."""
    a = ("health_register:1", "school_census:1", "auto_match", 12.5, 0.99)
    b1 = ("health_register:2", "school_census:2", "auto_match", 12.5, 0.99)
    b2 = ("health_register:2", "school_census:2", "review", 3.0, 0.9)
    c = ("health_register:3", "school_census:3", "review", 3.0, 0.9)
    d = ("health_register:4", "school_census:4", "auto_match", 11.0, 0.98)
    assert writer.insert_new("audit.link_decisions", _decisions([a, b1, b2, c]), KEY, day=DAYS[0], run_id="r1") == 4
    c_moved = (*c[:4], 0.91)
    assert writer.insert_new("audit.link_decisions", _decisions([b2, a, c_moved, b1, d]), KEY, day=DAYS[1], run_id="r2") == 2
    b2_moved = (*b2[:4], 0.92)
    assert writer.insert_new("audit.link_decisions", _decisions([a, b1, b2_moved, c_moved, d]), KEY,
                             day=DAYS[2], run_id="r3") == 2
    # b loses a row: its remaining row again; d gains one: both of its rows.
    d2 = (*d[:2], "review", 3.5, 0.9)
    assert writer.insert_new("audit.link_decisions", _decisions([a, b1, c_moved, d, d2]), KEY,
                             day=DAYS[3], run_id="r4") == 3
    assert Counter(writer.literal_rows(
        "SELECT left_id, decision, probability FROM audit.link_decisions WHERE as_of = ?", [DAYS[3]])) == Counter(
        [(a[0], a[2], a[4]), (b1[0], b1[2], b1[4]), (c[0], c[2], 0.91), (d[0], d[2], d[4]), (d2[0], d2[2], d2[4])])


def test_history_retention_forgets_only_nights_before_the_cutoff(writer: Warehouse) -> None:
    for n, day in enumerate(DAYS[:4]):
        writer.replace_for_date("linked.child_xref", day, pl.DataFrame({"record_id": ["a", f"b{n}"], "child_id": ["C1", "C2"]}))
    before = {day: _night(writer, "linked.child_xref", day) for day in DAYS[2:4]}
    removed = writer.prune_history(DAYS[2])
    assert removed["linked.child_xref_history"] == 2  # b0 and b1, which held only on forgotten nights
    assert {day: _night(writer, "linked.child_xref", day) for day in DAYS[2:4]} == before
    assert _night(writer, "linked.child_xref", DAYS[0]) == Counter()
    assert [d for (d,) in writer.literal_rows("SELECT as_of FROM linked.link_nights ORDER BY 1")] == DAYS[2:4]


@pytest.mark.parametrize("history_days", [None, 1])
def test_the_retention_setting_defaults_to_keeping_history(history_days: int | None) -> None:
    from pipeline.config import load_settings

    settings = load_settings(retention={"history_days": history_days})
    assert settings.retention.history_days == history_days


def test_migration_030_replays_person_xref_copies_into_its_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse with linked.person_xref copied per night (the code before 030): every
    night reads back exactly, and an unchanged nominal is stored once."""
    from builders import migrations_before

    migrations_before(30, tmp_path / "ddl", monkeypatch)
    path = tmp_path / "old" / "warehouse.duckdb"
    nights = {
        date(2026, 10, 1): [("police_persons:I1:P1", "PN1"), ("police_persons:I1:P2", "PN2")],
        date(2026, 10, 2): [("police_persons:I1:P1", "PN1"), ("police_persons:I1:P2", "PN1")],  # merged
        date(2026, 10, 3): [("police_persons:I1:P1", "PN1"), ("police_persons:I1:P2", "PN1"), ("police_persons:I2:P1", "PN3")],
        date(2026, 10, 4): [],  # a linkage night with no police nominal
        date(2026, 10, 5): [("police_persons:I1:P1", "PN1")],
    }
    with warehouse.open_writer(path) as wh:
        for night, rows in nights.items():
            wh.literal_rows("INSERT INTO linked.link_nights VALUES (?)", [night])
            for record_id, person_id in rows:
                wh.literal_rows("INSERT INTO linked.person_xref VALUES (?, ?, ?)", [night, record_id, person_id])
        before = sorted(wh.literal_rows("SELECT * FROM linked.person_xref"))
    monkeypatch.undo()
    with warehouse.open_writer(path) as wh:
        assert sorted(wh.literal_rows("SELECT * FROM linked.person_xref")) == before
        assert wh.literal_rows("SELECT count(*) FROM linked.person_xref_history")[0][0] == 5
        assert not wh.literal_rows("SELECT table_name FROM information_schema.tables WHERE table_name = 'person_xref_per_night'")


def test_the_person_ids_before_a_night_are_the_latest_night_that_held_any(writer: Warehouse) -> None:
    xref = pl.DataFrame({"record_id": ["police_persons:I1:P1", "police_persons:I1:P2"], "person_id": ["PN1", "PN2"]})
    writer.replace_for_date("linked.person_xref", date(2026, 10, 1), xref)
    writer.replace_for_date("linked.person_xref", date(2026, 10, 2), xref.head(0))  # no nominal linked
    writer.replace_for_date("linked.person_xref", date(2026, 10, 3), xref.head(1))
    def before(day: date) -> list[tuple[str, str]]:
        return sorted(writer.query("person_xref_before", before=day).iter_rows())
    assert before(date(2026, 10, 1)) == []
    assert before(date(2026, 10, 3)) == sorted(xref.iter_rows())
    assert before(date(2026, 10, 4)) == [("police_persons:I1:P1", "PN1")]
