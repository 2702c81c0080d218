"""A register's staged snapshots are stored once per distinct row, with each night's members
(which rows it held, and where in the delivery), and every night still reads back exactly
as it was written: after reruns, with duplicate rows and NULLs, when digests collide,
after a retention purge, and through migrations 026 and 027 from per-night copies; a
register's raw lines are stored the same way."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from builders import migrations_before

from pipeline.publish import warehouse
from pipeline.publish.warehouse import Warehouse

VIEW = "staging.health_register_snapshots"
ROWS, MEMBERS, _ = warehouse.SNAPSHOT_STORE[VIEW]
DAYS = [date(2026, 10, 1) + timedelta(days=d) for d in range(6)]


def _snapshot(rows: list[tuple[str | None, str | None, date | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(nhs, name, dob, "health_register.csv", i + 2) for i, (nhs, name, dob) in enumerate(rows)],
        schema={"nhs_number": pl.String, "forename": pl.String, "dob": pl.Date, "_file": pl.String, "_row": pl.Int64},
        orient="row",
    )


def _night(wh: Warehouse, day: date) -> Counter[str]:
    return Counter(repr(r) for r in wh.literal_rows(f"SELECT * EXCLUDE (snapshot_date) FROM {VIEW} WHERE snapshot_date = ?", [day]))


def _expected(wh: Warehouse, frame: pl.DataFrame, run_id: str) -> Counter[str]:
    columns = [c for c in wh.columns(VIEW) if c != "snapshot_date"]
    given = frame.with_columns(pl.lit(run_id).alias("run_id")).to_dicts()
    return Counter(repr(tuple(row.get(c) for c in columns)) for row in given)


@pytest.mark.parametrize("digest", ["hash({columns})", "0::UBIGINT"], ids=["digest", "every-digest-collides"])
def test_every_night_reads_back_what_was_written(writer: Warehouse, digest: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warehouse, "_COLUMNS_DIGEST", digest)
    rng = random.Random(26)
    pool = [("N1", "IVY", date(2019, 3, 1)), ("N1", "IVY", None), ("N2", None, date(2020, 5, 5)),
            (None, "MILO", date(2021, 1, 9)), ("N3", "ARLO", date(2018, 7, 7))]
    written: dict[date, Counter[str]] = {}
    for step in range(24):
        day = DAYS[min(step // 4, 5)] if rng.random() < 0.7 else rng.choice(DAYS)
        frame = _snapshot([rng.choice(pool) for _ in range(rng.randint(0, 6))])
        run = f"run-{step}"
        writer.replace_for_date(VIEW, day, frame, run_id=run)
        written[day] = _expected(writer, frame, run)
        for night, rows in written.items():
            assert _night(writer, night) == rows, (step, night)
    # Each distinct row is stored once, whatever the nights and duplicates.
    assert writer.literal_rows(f"SELECT count(*) FROM {ROWS}")[0][0] <= len(pool)


def test_an_ordinary_night_stores_only_the_rows_that_changed(writer: Warehouse) -> None:
    rows = [(f"N{i}", f"CHILD{i}", date(2019, 1, 1) + timedelta(days=i)) for i in range(50)]
    writer.replace_for_date(VIEW, DAYS[0], _snapshot(rows), run_id="r1")
    # The next night one child's name is corrected and a row is inserted at the top, so
    # every other row moves down one line of the file.
    changed = [("N99", "NEW", date(2020, 2, 2)), *rows]
    changed[5] = ("N4", "CHILD-FOUR", rows[4][2])
    writer.replace_for_date(VIEW, DAYS[1], _snapshot(changed), run_id="r2")
    assert writer.literal_rows(f"SELECT count(*) FROM {ROWS}")[0][0] == 52
    assert writer.literal_rows(f"SELECT count(*) FROM {MEMBERS}")[0][0] == 101
    assert _night(writer, DAYS[1]) == _expected(writer, _snapshot(changed), "r2")
    assert _night(writer, DAYS[0]) == _expected(writer, _snapshot(rows), "r1")


def test_forgetting_nights_forgets_the_rows_only_they_held(writer: Warehouse) -> None:
    writer.replace_for_date(VIEW, DAYS[0], _snapshot([("N1", "IVY", None), ("N2", "OLD", None)]), run_id="r1")
    writer.replace_for_date(VIEW, DAYS[1], _snapshot([("N1", "IVY", None), ("N2", "NEW", None)]), run_id="r2")
    assert writer.delete_snapshots(VIEW, "snapshot_date < $cutoff", {"cutoff": DAYS[1]}) == 2
    assert sorted(writer.literal_rows(f"SELECT nhs_number, forename FROM {ROWS}")) == [("N1", "IVY"), ("N2", "NEW")]
    assert _night(writer, DAYS[1]) == _expected(writer, _snapshot([("N1", "IVY", None), ("N2", "NEW", None)]), "r2")
    assert not _night(writer, DAYS[0])


def test_migrations_026_and_027_move_whole_snapshots_and_raw_lines_into_rows_and_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse as the code before this storage left it (every migration before 026,
    whole snapshots and raw lines per night with repeated rows and NULLs) is migrated, and
    every night of every register reads back the rows it held."""
    migrations_before(26, tmp_path / "ddl", monkeypatch)
    old = tmp_path / "old" / "warehouse.duckdb"
    nights = {
        DAYS[0]: [("N1", "IVY", date(2019, 3, 1)), ("N2", None, None), ("N2", None, None)],
        DAYS[1]: [("N1", "IVY", date(2019, 3, 1)), ("N2", "MILO", None)],
    }
    with warehouse.open_writer(old) as wh:
        for day, rows in nights.items():
            frame = _snapshot(rows).with_columns(pl.lit(day).alias("snapshot_date"), pl.lit(f"run-{day}").alias("run_id"))
            wh.con.register("_copy", frame)
            wh.con.execute(f"INSERT INTO {VIEW} BY NAME SELECT * FROM _copy")
            wh.con.unregister("_copy")
        wh.con.execute("INSERT INTO staging.school_census_snapshots (snapshot_date, run_id, upn, _file, _row) "
                       "VALUES (DATE '2026-10-01', 'r', 'A123456789012', 'school_census.csv', 2)")
        for line in (2, 3):
            wh.con.execute("INSERT INTO raw.school_census (run_id, delivery_date, _file, _row, upn, dob) "
                           "VALUES ('r', DATE '2026-10-01', 'school_census.csv', ?, 'A123456789012', '2014-02-29')", [line])
        raw = wh.literal_rows("SELECT * FROM raw.school_census ORDER BY _row")
        columns = wh.columns(VIEW)
        warehouse.refresh_published(wh)
    monkeypatch.undo()

    with warehouse.open_writer(old) as wh:
        assert wh.columns(VIEW) == columns
        for day, rows in nights.items():
            assert _night(wh, day) == _expected(wh, _snapshot(rows), f"run-{day}"), day
        assert wh.literal_rows(f"SELECT count(*) FROM {ROWS}")[0][0] == 3
        assert wh.literal_rows("SELECT upn FROM staging.school_census_snapshots") == [("A123456789012",)]
        assert wh.literal_rows("SELECT * FROM raw.school_census ORDER BY _row") == raw
        assert wh.literal_rows("SELECT count(*) FROM raw.school_census_rows")[0][0] == 1
        assert not wh.literal_rows("SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%_whole'")
        # And the next night writes into the new storage.
        wh.replace_for_date(VIEW, DAYS[2], _snapshot([("N1", "IVY", date(2019, 3, 1))]), run_id="r3")
        assert wh.literal_rows(f"SELECT count(*) FROM {ROWS}")[0][0] == 3


def test_a_registers_raw_lines_are_stored_once_and_read_back_per_night(writer: Warehouse) -> None:
    """raw.<register> keeps every night's lines as delivered (text, extra, unsplittable
    lines, its load time) while a line delivered again unchanged is stored once."""
    view = "raw.health_register"
    rows, members, _ = warehouse.SNAPSHOT_STORE[view]

    def lines(texts: list[tuple[str | None, str | None, str | None]]) -> pl.DataFrame:
        return pl.DataFrame(
            [(nhs, dob, raw, "health_register.csv", i + 2) for i, (nhs, dob, raw) in enumerate(texts)],
            schema={"nhs_number": pl.String, "dob": pl.String, "_raw_line": pl.String, "_file": pl.String,
                    "_row": pl.Int64}, orient="row",
        )

    first = [("9434765919", "2019-02-29", None), (None, None, "a,line,cut"), ("9434765919", "2019-02-29", None)]
    writer.replace_for_date(view, DAYS[0], lines(first), run_id="r1")
    second = [("9434765919", "2019-02-28", None), *first[1:]]
    writer.replace_for_date(view, DAYS[1], lines(second), run_id="r2")
    assert writer.literal_rows(f"SELECT count(*) FROM {rows}")[0][0] == 3
    assert writer.literal_rows(f"SELECT count(*) FROM {members}")[0][0] == 6
    for day, texts, run in ((DAYS[0], first, "r1"), (DAYS[1], second, "r2")):
        got = writer.literal_rows(
            f"SELECT run_id, _row, nhs_number, dob, _raw_line, loaded_at IS NOT NULL FROM {view} "
            "WHERE delivery_date = ? ORDER BY _row", [day])
        assert got == [(run, i + 2, *t, True) for i, t in enumerate(texts)], day


def _evidence(day: date, run_id: str, rows: list[tuple[str, list[str] | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(run_id, day, child, "DA_HOUSEHOLD", "2026.1", incidents, household, None, None) for child, incidents, household in rows],
        schema={"run_id": pl.String, "list_date": pl.Date, "child_id": pl.String, "rule_id": pl.String,
                "rules_version": pl.String, "incident_ids": pl.List(pl.String), "household_id": pl.String,
                "source_records": pl.List(pl.String), "detail": pl.String},
        orient="row",
    )


EVIDENCE = {
    DAYS[0]: [("C1", ["I1"], "H1"), ("C2", ["I1"], "H1"), ("C3", None, None)],
    DAYS[1]: [("C1", ["I1"], "H1"), ("C2", ["I1", "I2"], "H1"), ("C3", None, None), ("C3", None, None)],
}


def test_flag_evidence_is_stored_once_per_distinct_row_and_reads_back_per_night(writer: Warehouse) -> None:
    for day, rows in EVIDENCE.items():
        writer.insert("audit.flag_evidence", _evidence(day, f"run-{day}", rows))
    for day, rows in EVIDENCE.items():
        got = Counter(map(repr, writer.literal_rows("SELECT * FROM audit.flag_evidence WHERE list_date = ?", [day])))
        assert got == Counter(map(repr, _evidence(day, f"run-{day}", rows).rows())), day
    # C1 and C3 are stored once for both nights; C2's second night differs (a new incident).
    assert writer.literal_rows("SELECT count(*) FROM audit.flag_evidence_rows")[0][0] == 4


def test_migration_029_moves_the_flag_evidence_into_rows_and_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    migrations_before(29, tmp_path / "ddl", monkeypatch)
    path = tmp_path / "old" / "warehouse.duckdb"
    with warehouse.open_writer(path) as wh:
        for day, rows in EVIDENCE.items():  # one table, as the code before 029 wrote it
            wh.con.register("_copy", _evidence(day, f"run-{day}", rows))
            wh.con.execute("INSERT INTO audit.flag_evidence BY NAME SELECT * FROM _copy")
            wh.con.unregister("_copy")
        before = Counter(map(repr, wh.literal_rows("SELECT * FROM audit.flag_evidence")))
        columns = wh.columns("audit.flag_evidence")
    monkeypatch.undo()
    with warehouse.open_writer(path) as wh:
        assert wh.columns("audit.flag_evidence") == columns
        assert Counter(map(repr, wh.literal_rows("SELECT * FROM audit.flag_evidence"))) == before
        assert wh.literal_rows("SELECT count(*) FROM audit.flag_evidence_rows")[0][0] == 4
        assert wh.literal_rows("SELECT count(*) FROM audit.flag_evidence_members")[0][0] == 7
        # The auditor view over the evidence still reads it.
        wh.literal_rows("SELECT count(*) FROM audit.why_flagged")
