"""The warehouse: the only module that opens DuckDB.

Two files, because DuckDB admits one writer process and an open reader locks a writer out:

* the **working file** (``warehouse.work.duckdb`` beside the published one) is where the
  nightly writer and the CLI's recording commands work. Nobody else opens it.
* the **published file** (``data/warehouse.duckdb`` by default, the file the outputs
  contract names) is a checkpointed copy swapped in with ``os.replace`` after each
  successful publish. Coordinators and auditors open it read-only; an open reader keeps
  its old snapshot and never blocks the night.

Inside the working file a night's marts are published in one transaction, so a crash
leaves either the previous night's marts or the new ones, never half of each; the copy
is then replaced atomically on disk.

At the end of a night the working file itself is *handed over* (``refresh_published(wh,
handover=True)``): checkpointed, closed and renamed onto the published path, so no copy
of the whole warehouse (3 s per GB here, growing every night) delays the lists. A detached
process then copies the new published file back to a working file for the next writer;
:func:`open_writer` waits for it under a lock file, or makes the copy itself if it never
finished (a crash, a killed process): the published file is always a complete database.

SQL lives in ``sql/ddl`` (numbered migrations) and ``sql/queries`` (one relation per
file); values are always bound parameters and table names come from :data:`TABLES`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import polars as pl

from pipeline import schemas, sources
from pipeline.config import DEFAULT_MEMORY_LIMIT, PROJECT_ROOT
from pipeline.errors import (
    QueryError,
    WarehouseBusyError,
    WarehouseError,
    WarehouseMissingError,
    WorkingFileCorruptError,
)
from pipeline.outputs.files import output_error, private_dirs
from pipeline.paths import shipped
from pipeline.publish.working_copy import (
    copy_durably,
    fsync_dir,
    make_private,
    work_path,
    working_copy_lock,
)
from pipeline.publish.working_copy import (
    prepare_working_copy as prepare_working_copy,  # re-exported for callers
)
from pipeline.sources import REGISTRY

log = logging.getLogger(__name__)

SQL_DIR = shipped("sql")
DDL_DIR = SQL_DIR / "ddl"
QUERY_DIR = SQL_DIR / "queries"
CATALOG = "wh"

# Each source's raw and staging tables, from the registry (pipeline/sources.py).
RAW_TABLE = {s.name: s.raw_table for s in REGISTRY}
STAGING_TABLE = {s.name: s.staging_table for s in REGISTRY}


class RowStore(NamedTuple):
    """How a per-night table (a register's, or the flag evidence) is stored once per
    distinct row (docs/adr/0010):
    ``rows`` holds each distinct row once under a ``row_id``, ``members`` which rows each
    night held with the ``per_night`` columns that belong to that night's delivery."""

    rows: str
    members: str
    per_night: tuple[str, ...]


# A register is delivered whole every night; its raw lines and its staged snapshots are
# views over such stores, read and replaced by date as the tables they were.
_WHOLE_DELIVERIES = [s for s in REGISTRY if s.date_column == "snapshot_date"]
SNAPSHOT_STORE = {
    **{
        s.staging_table: RowStore(s.staging_table.removesuffix("_snapshots") + "_snapshot_rows",
                                  s.staging_table.removesuffix("_snapshots") + "_snapshot_members",
                                  ("snapshot_date", "run_id", "_file", "_row"))
        for s in _WHOLE_DELIVERIES
    },
    **{
        s.raw_table: RowStore(f"{s.raw_table}_rows", f"{s.raw_table}_members",
                              ("run_id", "delivery_date", "_file", "_row", "loaded_at"))
        for s in _WHOLE_DELIVERIES
    },
    # Each night's flag evidence is mostly last night's again (the same children flagged by
    # the same rules on the same incidents): stored once per distinct row, as registers are.
    "audit.flag_evidence": RowStore("audit.flag_evidence_rows", "audit.flag_evidence_members", ("run_id", "list_date")),
}

# Every table hearth writes. Names are interpolated into SQL only from this fixed set.
TABLES = frozenset(
    {
        *RAW_TABLE.values(), *STAGING_TABLE.values(),
        "linked.child_xref", "linked.person_xref", "linked.children", "linked.households", "linked.person_links",
        "linked.incident_households", "linked.review_queue",
        "linked.comparison_cache", "linked.comparison_cache_state",
        "linked.pending_child_flags", "linked.pending_mash_list",
        "linked.pending_school_notifications", "linked.pending_flag_evidence",
        "linked.pending_unlocated_suspects", "marts.unlocated_suspects",
        "linked.pending_contact_candidates", "marts.contact_candidates",
        "linked.pending_consultations_to_revisit", "marts.consultations_to_revisit",
        "linked.pending_lists",
        "marts.child_index", "marts.child_flags", "marts.mash_list", "marts.school_notifications",
        "marts.shared_incidents",
        "audit.run_log", "audit.run_stages", "audit.quarantine", "audit.field_defects", "audit.dq_results",
        "audit.link_decisions", "audit.link_models", "audit.review_decisions", "audit.coordinator_decisions",
        "audit.flag_evidence", "audit.publications", "audit.access_log", "audit.purges",
        "restricted.rejected_rows",
        "linked.link_nights", "linked.child_xref_history", "linked.children_history",
        "linked.households_history", "linked.person_links_history",
        "linked.incident_households_history", "linked.review_queue_history", "linked.person_xref_history",
        "audit.link_decision_changes", "audit.link_decision_nights",
        *(t for store in SNAPSHOT_STORE.values() for t in (store.rows, store.members)),
    }
)
# What linkage produces is kept as a history, not a copy per night (docs/adr/0008): callers
# read and replace ``linked.<t>`` by date as before; it is a view of ``linked.<t>_history``,
# whose rows say from which linkage night (valid_from) until which (valid_to) they held.
HISTORY_TABLE = {
    t: f"{t}_history"
    for t in ("linked.child_xref", "linked.children", "linked.households", "linked.person_links",
              "linked.incident_households", "linked.review_queue", "linked.person_xref")
}
# The tables migration 020 turned into histories (person_xref followed in migration 030).
_HISTORIES_020 = [t for t in HISTORY_TABLE if t != "linked.person_xref"]
# Link decisions are audit, so append-only: kept as per-night changes (added or removed),
# with the run(s) that recorded each night; ``audit.link_decisions`` is their view.
DECISION_CHANGES = "audit.link_decision_changes"
DECISION_NIGHTS = "audit.link_decision_nights"
DECISION_COLUMNS = ("link_type", "left_id", "right_id", "scores", "match_weight", "probability",
                    "decision", "reason")
# Changes are kept per scored pair: a night holds, for each pair, the rows of its latest change.
PAIR = ("link_type", "left_id", "right_id")
# A pair told by two digests of its columns (DuckDB's hash of the three, and of them joined
# by a unit separator), and a decision row by a digest of what it says; computed when
# compared, never stored, so a DuckDB whose hash differs changes nothing recorded.
_PAIR_KEY_OF = "hash({t}.link_type, {t}.left_id, {t}.right_id)"
_PAIR_CHECK_OF = "hash(concat_ws(chr(31), {t}.link_type, {t}.left_id, {t}.right_id))"
_PAIR_DIGEST = f"{_PAIR_KEY_OF.format(t='c')} AS pair_key, {_PAIR_CHECK_OF.format(t='c')} AS pair_check"
# A row's digest over its columns, by which history rows and stored register rows are paired
# with the rows written before every column is compared.
_COLUMNS_DIGEST = "hash({columns})"
_ROW_DIGEST = (
    "hash(c.link_type, c.left_id, c.right_id, c.scores::VARCHAR, c.match_weight, c.probability, "
    "c.decision, c.reason) AS row_digest"
)
_NO_END = "DATE '9999-12-31'"
# Tables whose rows are keyed by a date column, and that column: "replace by date".
DATE_KEY = {
    **{s.raw_table: "delivery_date" for s in REGISTRY},
    **{s.staging_table: s.date_column for s in REGISTRY},
    "linked.child_xref": "as_of", "linked.person_xref": "as_of", "linked.children": "as_of", "linked.households": "as_of",
    "linked.person_links": "as_of", "linked.incident_households": "as_of",
    "linked.review_queue": "as_of",
    "linked.pending_child_flags": "list_date", "linked.pending_mash_list": "list_date",
    "linked.pending_school_notifications": "list_date",
    "linked.pending_flag_evidence": "list_date",
    "linked.pending_unlocated_suspects": "list_date",
    "marts.shared_incidents": "list_date",
    "linked.pending_contact_candidates": "list_date",
    "linked.pending_consultations_to_revisit": "list_date",
    "linked.pending_lists": "list_date",
}
# Append-only audit tables that a rerun must not duplicate, and the date each is keyed on
# (with the restricted layer's rejected values, which a rerun must not duplicate either).
AUDIT_DATE_KEY = {
    "audit.quarantine": "delivery_date", "restricted.rejected_rows": "delivery_date",
    "audit.field_defects": "delivery_date",
    "audit.dq_results": "delivery_date",
    "audit.link_decisions": "as_of",
}
# The marts published per list date from their linked.pending_* tables (publish_<mart>.sql).
PUBLISHED_MARTS = (
    "marts.child_flags", "marts.mash_list", "marts.school_notifications", "marts.unlocated_suspects",
    "marts.contact_candidates", "marts.consultations_to_revisit",
)
# What a list date's flag stage leaves for publishing: each published mart's pending table,
# the evidence (published into the audit trail) and the date's entry in linked.pending_lists.
PENDING_TABLES = (
    *(f"linked.pending_{m.split('.')[1]}" for m in PUBLISHED_MARTS), "linked.pending_flag_evidence", "linked.pending_lists",
)
# What readers open the published file for: every row of these is read (and so its blocks'
# checksums checked) before a file replaces the published one.
VERIFIED_TABLES = (*PUBLISHED_MARTS, "marts.child_index", "audit.run_log", "audit.publications")
# How DuckDB reports a damaged file: a block whose checksum does not match, or a header
# that is not a database.
_CORRUPTION_MARKERS = ("checksum", "corrupt database", "not a valid duckdb database")


def is_corruption(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database file itself is damaged."""
    while exc is not None:
        if isinstance(exc, duckdb.Error | WarehouseError) and any(
            m in str(exc).lower() for m in _CORRUPTION_MARKERS
        ):
            return True
        exc = exc.__cause__  # type: ignore[assignment]
    return False


def _table(name: str) -> str:
    if name not in TABLES:
        raise WarehouseError(f"{name!r} is not a hearth table; refusing to build SQL with it")
    return name


@cache
def sql(name: str) -> str:
    """The text of ``sql/queries/<name>.sql``."""
    path = QUERY_DIR / f"{name}.sql"
    if not path.exists():
        raise WarehouseError(f"missing SQL file {path}")
    return path.read_text(encoding="utf-8")


@dataclass
class Warehouse:
    """An open connection to the working file (writer) or to the published copy (reader)."""

    con: duckdb.DuckDBPyConnection
    path: Path
    published: Path
    read_only: bool
    key: str | None = None

    # ---- basic helpers -----------------------------------------------------------------
    def query(self, name: str, **params: Any) -> pl.DataFrame:
        """Run a named query file with bound parameters; return a polars frame."""
        return self.con.sql(sql(name), params=params or None).pl()

    def execute(self, name: str, **params: Any) -> None:
        """Run a named statement file (an INSERT into audit, say) with bound parameters."""
        self.con.execute(sql(name), params or None)

    def literal_rows(self, text: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a statement written in the code (its table names from :data:`TABLES`, its
        values bound, no input interpolated) and return every row it yields."""
        return self.con.execute(text, params).fetchall()

    def insert(self, table: str, frame: pl.DataFrame, **constants: Any) -> int:
        """Insert a polars frame by column name, adding constant columns (e.g. run_id)."""
        target = _table(table)
        if constants:
            frame = frame.with_columns([pl.lit(v).alias(k) for k, v in constants.items()])
        if frame.height == 0:
            return 0
        if target in SNAPSHOT_STORE:
            return self._append_snapshot(target, frame)
        self.con.register("_hearth_frame", frame)
        try:
            self.con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _hearth_frame")  # noqa: S608 - fixed table list
        finally:
            self.con.unregister("_hearth_frame")
        return frame.height

    def insert_new(
        self, table: str, frame: pl.DataFrame, key: Sequence[str], *, day: date, **constants: Any
    ) -> int:
        """Append only rows whose ``key`` columns are not already in ``table`` for ``day``.

        Audit tables are append-only; a rerun must not duplicate their evidence, so rows the
        table already holds (by content key) are skipped rather than overwritten. Only the
        rows of the same date are compared, so the check does not rescan all history.
        """
        target = _table(table)
        if target == "audit.link_decisions":
            return self.record_link_decisions(frame, day=day, run_id=constants["run_id"], key=key)
        if frame.height == 0:
            return 0
        column = AUDIT_DATE_KEY[target]
        frame = frame.with_columns([pl.lit(v).alias(k) for k, v in {**constants, column: day}.items()])
        cond = " AND ".join(f"t.{k} IS NOT DISTINCT FROM f.{k}" for k in key if k != column)
        self.con.register("_hearth_frame", frame)
        try:
            before = self.literal_rows(f"SELECT count(*) FROM {target}")[0][0]  # noqa: S608
            self.con.execute(
                f"INSERT INTO {target} BY NAME SELECT f.* FROM _hearth_frame AS f "  # noqa: S608
                f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE t.{column} = ? AND {cond})",
                [day],
            )
            after = self.literal_rows(f"SELECT count(*) FROM {target}")[0][0]  # noqa: S608
        finally:
            self.con.unregister("_hearth_frame")
        return int(after - before)

    def execute_with_frame(self, text: str, frame: pl.DataFrame) -> None:
        """Run a literal statement that reads ``frame`` as the relation ``_hearth_frame``."""
        self.con.register("_hearth_frame", frame)
        try:
            self.con.execute(text)
        finally:
            self.con.unregister("_hearth_frame")

    def replace_for_date(self, table: str, day: date, frame: pl.DataFrame, **constants: Any) -> int:
        """Replace the rows of ``table`` keyed on ``day`` with ``frame`` (rerun-safe)."""
        target = _table(table)
        if target in HISTORY_TABLE:
            return self.replace_night(target, day, frame.with_columns([pl.lit(v).alias(k) for k, v in constants.items()]))
        column = DATE_KEY[target]
        with self.transaction():
            if target in SNAPSHOT_STORE:
                # The night's rows go; rows only it held stay stored until a purge.
                self.con.execute(f"DELETE FROM {SNAPSHOT_STORE[target].members} WHERE {column} = ?", [day])  # noqa: S608
            else:
                self.con.execute(f"DELETE FROM {target} WHERE {column} = ?", [day])  # noqa: S608
            return self.insert(target, frame, **{column: day, **constants})

    def _append_snapshot(self, view: str, frame: pl.DataFrame) -> int:
        """Add ``frame``'s rows (every column of snapshot ``view``, the night's own among them)
        to its row store (a register's snapshots or raw lines, or the flag evidence): each row
        that is already stored is referred to by its ``row_id``, only the others are stored
        (once each, however often they occur).

        Rows are paired with stored ones by a digest of their columns and kept as the same
        only if every column agrees, so two rows whose digests collide are stored apart."""
        per_night = SNAPSHOT_STORE[view].per_night
        content = [c for c in self.columns(view) if c not in per_night]
        with self.transaction():
            self._staged_frame("_hearth_snap", frame, [*per_night, *content], view)
            self._store_staged(view, content)
        return frame.height

    def _store_staged(self, view: str, content: list[str] | None = None) -> None:
        """Store the rows of temporary table ``_hearth_snap`` (every column of ``view``) in
        its row store, as :meth:`_append_snapshot` says; the temporary tables are dropped.
        ``content``: the view's columns but the per-night ones, if the caller has them."""
        rows, members, per_night = SNAPSHOT_STORE[view]
        if content is None:
            content = [c for c in self.columns(view) if c not in per_night]
        listed = ", ".join(_quote(c) for c in content)
        same = " AND ".join(f"r.{_quote(c)} IS NOT DISTINCT FROM f.{_quote(c)}" for c in content)
        digest = _COLUMNS_DIGEST.format(columns=listed)
        ordered = ", ".join(f"f.{_quote(c)} NULLS FIRST" for c in content)
        with self.transaction():
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE _hearth_snap_digest AS SELECT rowid AS fid, {digest} AS digest FROM _hearth_snap"  # noqa: S608
            )
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _hearth_snap_found AS
                WITH stored AS MATERIALIZED (SELECT row_id, {digest} AS digest FROM {rows})
                SELECT n.fid, min(s.row_id) AS row_id
                FROM _hearth_snap_digest AS n
                JOIN stored AS s ON s.digest = n.digest
                JOIN {rows} AS r ON r.row_id = s.row_id
                JOIN _hearth_snap AS f ON f.rowid = n.fid
                WHERE {same}
                GROUP BY n.fid"""  # noqa: S608 - fixed table list
            )
            # Rows not stored yet: equal ones get one new row_id, numbered after the last in
            # the order the delivery first gives them. Rows are told apart by their digest;
            # only the few that share one (a row given twice, or two rows whose digests
            # collide) are compared column by column. Ranking every row by all its columns
            # was most of what storing a first night cost.
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _hearth_snap_new AS
                WITH unstored AS MATERIALIZED (
                    SELECT fid, digest FROM _hearth_snap_digest WHERE fid NOT IN (SELECT fid FROM _hearth_snap_found)
                ),
                shared AS MATERIALIZED (SELECT digest FROM unstored GROUP BY digest HAVING count(*) > 1),
                told AS (
                    SELECT u.fid, dense_rank() OVER (PARTITION BY u.digest ORDER BY {ordered}) AS variant
                    FROM unstored AS u JOIN shared USING (digest) JOIN _hearth_snap AS f ON f.rowid = u.fid
                ),
                keyed AS MATERIALIZED (
                    SELECT u.fid, u.digest, coalesce(t.variant, 1) AS variant
                    FROM unstored AS u LEFT JOIN told AS t USING (fid)
                ),
                firsts AS (SELECT digest, variant, min(fid) AS first_fid FROM keyed GROUP BY digest, variant),
                numbered AS (
                    SELECT digest, variant, first_fid,
                           (SELECT coalesce(max(row_id), 0) FROM {rows}) + row_number() OVER (ORDER BY first_fid) AS row_id
                    FROM firsts
                )
                SELECT k.fid, n.row_id, k.fid = n.first_fid AS first
                FROM keyed AS k JOIN numbered AS n USING (digest, variant)"""  # noqa: S608 - fixed table list
            )
            self.con.execute(
                f"""INSERT INTO {rows} (row_id, {listed})
                SELECT n.row_id, {", ".join(f"f.{_quote(c)}" for c in content)}
                FROM _hearth_snap_new AS n JOIN _hearth_snap AS f ON f.rowid = n.fid
                WHERE n.first ORDER BY n.row_id"""  # noqa: S608 - fixed table list
            )
            self.con.execute(
                # A load time the frame does not give is now, as the raw tables' default was.
                f"""INSERT INTO {members} ({", ".join(per_night)}, row_id)
                SELECT {", ".join("coalesce(f.loaded_at, current_timestamp)" if c == "loaded_at" else f"f.{c}" for c in per_night)},
                       coalesce(o.row_id, n.row_id)
                FROM _hearth_snap AS f
                LEFT JOIN _hearth_snap_found AS o ON o.fid = f.rowid
                LEFT JOIN _hearth_snap_new AS n ON n.fid = f.rowid"""  # noqa: S608 - fixed table list
            )
            for temp in ("_hearth_snap", "_hearth_snap_digest", "_hearth_snap_found", "_hearth_snap_new"):
                self.con.execute(f"DROP TABLE IF EXISTS {temp}")

    def delete_snapshots(self, view: str, where: str, params: dict[str, Any]) -> int:
        """Forget the nights of ``view`` (a row store: a register's snapshots or raw lines, the
        flag evidence) that ``where`` (a condition on its date column, values bound from
        ``params``) selects, and every stored row no night still holds; returns the rows of
        nights forgotten."""
        rows, members, _ = SNAPSHOT_STORE[_table(view)]
        with self.transaction():
            gone = self.literal_rows(f"SELECT count(*) FROM {members} WHERE {where}", params)[0][0]  # noqa: S608
            self.con.execute(f"DELETE FROM {members} WHERE {where}", params)  # noqa: S608
            self.con.execute(f"DELETE FROM {rows} WHERE row_id NOT IN (SELECT row_id FROM {members})")  # noqa: S608
        return int(gone)

    def write_comparison_cache(
        self, added: pl.DataFrame, dropped: pl.DataFrame, *, full: bool, fingerprint: str, day: date
    ) -> None:
        """Update the stored comparisons (``linked.comparison_cache``) to tonight's pairs:
        replaced whole after a full re-link, else ``dropped`` keys removed and ``added`` rows
        inserted, so an ordinary night writes only what changed."""
        cache, state = _table("linked.comparison_cache"), _table("linked.comparison_cache_state")
        with self.transaction():
            if full:
                self.con.execute(f"DELETE FROM {cache}")  # noqa: S608 - fixed table list
            elif dropped.height:
                self.con.register("_hearth_dropped", dropped.select("left_hash", "right_hash", "dedupe"))
                try:
                    self.con.execute(
                        f"DELETE FROM {cache} AS c WHERE EXISTS (SELECT 1 FROM _hearth_dropped AS d "  # noqa: S608
                        "WHERE d.left_hash = c.left_hash AND d.right_hash = c.right_hash AND d.dedupe = c.dedupe)"
                    )
                finally:
                    self.con.unregister("_hearth_dropped")
            self.insert(cache, added)
            last_full = day if full else self.literal_rows(f"SELECT max(full_relink_on) FROM {state}")[0][0]  # noqa: S608
            self.con.execute(f"DELETE FROM {state}")  # noqa: S608
            self.con.execute(f"INSERT INTO {state} VALUES (?, ?, ?)", [fingerprint, last_full or day, day])  # noqa: S608

    # ---- histories ---------------------------------------------------------------------
    def columns(self, table: str) -> list[str]:
        """The columns of a hearth table or view, in order."""
        return _columns(self.con, _table(table))

    def _staged_frame(self, name: str, frame: pl.DataFrame, columns: Sequence[str], like: str) -> None:
        """``frame`` as temporary table ``name`` with exactly ``columns`` typed as in ``like``
        (a column the frame lacks is NULL, as ``INSERT BY NAME`` leaves it)."""
        listed = ", ".join(_quote(c) for c in columns)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {listed} FROM {like} LIMIT 0")  # noqa: S608
        if frame.height:
            self.con.register("_hearth_frame", frame)
            try:
                self.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _hearth_frame")  # noqa: S608
            finally:
                self.con.unregister("_hearth_frame")

    def replace_night(self, table: str, day: date, frame: pl.DataFrame) -> int:
        """Make ``frame`` the rows of history ``table`` on linkage night ``day``, leaving every
        other night's rows as they were.

        Rows that hold on ``day`` and are in ``frame`` are left alone; rows that no longer
        hold are closed at ``day`` (and, when a later night exists, reopened from it, since
        that night had them); rows new in ``frame`` open at ``day``, until the next night
        when ``day`` is not the latest. A normal night (the latest) writes only what changed.
        """
        history = HISTORY_TABLE[_table(table)]
        content = [c for c in self.columns(history) if c not in ("valid_from", "valid_to")]
        listed = ", ".join(_quote(c) for c in content)
        same = " AND ".join(f"r.{_quote(c)} IS NOT DISTINCT FROM f.{_quote(c)}" for c in content)
        with self.transaction():
            next_night = self.literal_rows(
                "SELECT min(as_of) FROM linked.link_nights WHERE as_of > ?", [day])[0][0]
            self._staged_frame("_hearth_new", frame, content, history)
            held = self.literal_rows(
                f"SELECT count(*) FROM {history} WHERE valid_from <= $day AND $day < coalesce(valid_to, {_NO_END})",  # noqa: S608
                {"day": day},
            )[0][0]
            if not held:
                # Nothing holds on the night (the first, or one no row reached): every row
                # opens, and matching rows against nothing would cost a night's largest sort.
                self.con.execute(
                    f"INSERT INTO {history} (valid_from, valid_to, {listed}) SELECT $day, $next, {listed} FROM _hearth_new",  # noqa: S608
                    {"day": day, "next": next_night},
                )
            else:
                # Identical rows are told apart by their occurrence, so a frame holding a row
                # twice keeps it twice. Rows are paired by a digest of their columns and its
                # occurrence, integers only, and a pair is a match only if every column
                # agrees: two rows whose digests collide are at worst closed and opened
                # again, never taken for each other. Only the few rows that changed are
                # copied whole; copying every held row and numbering it by all its columns
                # was most of what a night's histories cost.
                self.con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _hearth_held AS
                    WITH digested AS MATERIALIZED (
                        SELECT rowid AS rid, {_COLUMNS_DIGEST.format(columns=listed)} AS digest
                        FROM {history}
                        WHERE valid_from <= $day AND $day < coalesce(valid_to, {_NO_END})
                    )
                    SELECT *, row_number() OVER (PARTITION BY digest ORDER BY rid) AS occurrence FROM digested""",  # noqa: S608
                    {"day": day},
                )
                self.con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _hearth_numbered AS
                    WITH digested AS MATERIALIZED (SELECT rowid AS fid, {_COLUMNS_DIGEST.format(columns=listed)} AS digest FROM _hearth_new)
                    SELECT *, row_number() OVER (PARTITION BY digest ORDER BY fid) AS occurrence FROM digested"""  # noqa: S608
                )
                self.con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _hearth_matched AS
                    WITH paired AS (
                        SELECT r.rid, f.fid FROM _hearth_held AS r
                        JOIN _hearth_numbered AS f ON r.digest = f.digest AND r.occurrence = f.occurrence
                    )
                    SELECT p.rid, p.fid
                    FROM paired AS p
                    JOIN {history} AS r ON r.rowid = p.rid
                    JOIN _hearth_new AS f ON f.rowid = p.fid
                    WHERE {same}"""  # noqa: S608
                )
                self.con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _hearth_gone AS
                    SELECT rowid AS rid, valid_from, valid_to, {listed} FROM {history}
                    WHERE rowid IN (SELECT rid FROM _hearth_held) AND rowid NOT IN (SELECT rid FROM _hearth_matched)"""  # noqa: S608
                )
                # The part of a closed row after this night, for the later nights that had it.
                self.con.execute(
                    f"""INSERT INTO {history} (valid_from, valid_to, {listed})
                    SELECT $next, valid_to, {listed} FROM _hearth_gone
                    WHERE $next IS NOT NULL AND $next < coalesce(valid_to, {_NO_END})""",  # noqa: S608
                    {"next": next_night},
                )
                self.con.execute(
                    f"DELETE FROM {history} WHERE rowid IN (SELECT rid FROM _hearth_gone WHERE valid_from = $day)",  # noqa: S608
                    {"day": day},
                )
                self.con.execute(
                    f"UPDATE {history} SET valid_to = $day WHERE rowid IN (SELECT rid FROM _hearth_gone WHERE valid_from < $day)",  # noqa: S608
                    {"day": day},
                )
                self.con.execute(
                    f"""INSERT INTO {history} (valid_from, valid_to, {listed})
                    SELECT $day, $next, {listed} FROM _hearth_new
                    WHERE rowid NOT IN (SELECT fid FROM _hearth_matched)""",  # noqa: S608
                    {"day": day, "next": next_night},
                )
            self.con.execute(
                "INSERT INTO linked.link_nights SELECT $day WHERE $day NOT IN (SELECT as_of FROM linked.link_nights)",
                {"day": day},
            )
            for temp in ("_hearth_new", "_hearth_numbered", "_hearth_held", "_hearth_matched", "_hearth_gone"):
                self.con.execute(f"DROP TABLE IF EXISTS {temp}")
        return frame.height

    def record_link_decisions(
        self, frame: pl.DataFrame, *, day: date, run_id: str,
        key: Sequence[str] = ("link_type", "left_id", "right_id", "decision", "match_weight"),
    ) -> int:
        """Record a night's link decisions as changes against the decisions standing that
        night; returns the change rows appended.

        Changes are kept per pair (``PAIR``): a pair whose decisions differ from those it
        had gets its new rows, a pair that is no longer scored a 'removed' row. The first
        run of a night makes ``frame`` that night's decisions. A rerun only adds decisions
        the night lacks by ``key`` (as the audit always has: a rerun never takes evidence
        away), writing the pair's standing rows again beside them. When a later night
        exists, it is given back exactly the decisions it had, so recording one night never
        changes another.
        """
        with self.transaction():
            before = self.literal_rows(f"SELECT count(*) FROM {DECISION_CHANGES}")[0][0]  # noqa: S608
            seq = self.literal_rows(f"SELECT coalesce(max(seq), 0) + 1 FROM {DECISION_NIGHTS}")[0][0]  # noqa: S608
            rerun = bool(self.literal_rows(f"SELECT count(*) FROM {DECISION_NIGHTS} WHERE as_of = ?", [day])[0][0])  # noqa: S608
            next_night = self.literal_rows(f"SELECT min(as_of) FROM {DECISION_NIGHTS} WHERE as_of > ?", [day])[0][0]  # noqa: S608
            self.con.execute(f"INSERT INTO {DECISION_NIGHTS} (as_of, run_id, seq) VALUES (?, ?, ?)", [day, run_id, seq])  # noqa: S608
            if "run_id" not in frame.columns:
                frame = frame.with_columns(pl.lit(run_id).alias("run_id"))
            # Read in place, not copied into the warehouse first: a first night's decisions
            # copied were the night's largest allocation. Typed as the audit's columns (a
            # column the frame lacks is NULL, as an insert by name leaves it).
            typed = {"run_id": pl.String, **{c: schemas.LINK_DECISIONS[c] for c in DECISION_COLUMNS}}
            self.con.register("_hearth_new", frame.select(
                (pl.col(c) if c in frame.columns else pl.lit(None)).cast(typed[c]).alias(c) for c in typed
            ))
            try:
                if next_night is not None:
                    self._standing_decisions("_hearth_next", next_night)
                if rerun:
                    self._standing_decisions("_hearth_standing", day)
                    on_pair = " AND ".join(f"s.{k} = f.{k}" for k in PAIR)
                    on_key = " AND ".join(f"s.{k} IS NOT DISTINCT FROM f.{k}" for k in key)
                    # The rerun's decisions the night lacks, and the pair's standing ones again.
                    self.con.execute(
                        f"""CREATE OR REPLACE TEMP TABLE _hearth_write AS
                        WITH fresh AS (
                            SELECT * FROM _hearth_new AS f
                            WHERE NOT EXISTS (SELECT 1 FROM _hearth_standing AS s WHERE {on_key})
                        )
                        SELECT * FROM fresh
                        UNION ALL
                        SELECT s.* FROM _hearth_standing AS s
                        WHERE EXISTS (SELECT 1 FROM fresh AS f WHERE {on_pair})"""  # noqa: S608
                    )
                    self._append_changes("_hearth_write", day, seq)
                else:
                    self._standing_digests("_hearth_standing", day)
                    if self.literal_rows("SELECT count(*) FROM _hearth_standing")[0][0] == 0:
                        # Nothing stands (the first night): every row is a change, and comparing
                        # would only cost the memory of the night's largest write.
                        self._append_changes("_hearth_new", day, seq)
                    else:
                        self._changed_pairs("_hearth_write", "_hearth_new", "_hearth_standing")
                        self._append_changes("_hearth_write", day, seq)
                        self._append_removals_by_digest("_hearth_standing", day, seq, run_id)
                if next_night is not None:
                    self._restore_next_night(day, next_night, seq, run_id)
                for temp in ("_hearth_standing", "_hearth_next", "_hearth_write", "_hearth_new_digests"):
                    self.con.execute(f"DROP TABLE IF EXISTS {temp}")
                return int(self.literal_rows(f"SELECT count(*) FROM {DECISION_CHANGES}")[0][0] - before)  # noqa: S608
            finally:
                self.con.unregister("_hearth_new")

    def _changed_pairs(self, name: str, new: str, standing: str) -> None:
        """Temporary table ``name``: the rows of ``new`` for every pair whose rows differ in
        any way from those standing (``standing``: :meth:`_standing_digests`), or that has
        none standing.

        Pairs and rows are compared by their digests (:data:`_PAIR_DIGEST`,
        :data:`_ROW_DIGEST`), a multiset difference of integers both ways, instead of by
        every column of every row: on an ordinary night nearly every one of a county's
        pairs is unchanged, and comparing their score strings was most of what recording
        the decisions cost. A pair is told by two digests of its three columns, so two
        pairs are taken for one only if both collide. Rows are compared by one digest of
        their content: a change it missed would need a collision of two different rows of
        one pair. Read on a night that is not a rerun, when every standing row shows the
        night's own run (so the run is not compared).
        """
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _hearth_new_digests AS "  # noqa: S608 - fixed names
            f"SELECT {_PAIR_DIGEST}, {_ROW_DIGEST} FROM {new} AS c"
        )
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {name} AS
            WITH changed AS (
                SELECT DISTINCT pair_key, pair_check FROM (
                    (SELECT pair_key, pair_check, row_digest FROM _hearth_new_digests
                     EXCEPT ALL SELECT pair_key, pair_check, row_digest FROM {standing})
                    UNION ALL
                    (SELECT pair_key, pair_check, row_digest FROM {standing}
                     EXCEPT ALL SELECT pair_key, pair_check, row_digest FROM _hearth_new_digests)
                )
            )
            SELECT f.* FROM {new} AS f
            SEMI JOIN changed AS c ON c.pair_key = {_PAIR_KEY_OF.format(t="f")} AND c.pair_check = {_PAIR_CHECK_OF.format(t="f")}"""  # noqa: S608
        )

    def _standing_digests(self, name: str, day: date) -> None:
        """The decisions standing on ``day`` as digests only, as temporary table ``name``:
        ``pair_key``, ``pair_check`` and ``row_digest`` of every row ``audit.link_decisions``
        shows that night (the same latest change of each pair, told by its digests)."""
        self.con.execute(
            # The digests are computed once, before the ranking: left to the planner, they
            # were computed beside it at three times the cost.
            f"""CREATE OR REPLACE TEMP TABLE {name} AS
            WITH digested AS MATERIALIZED (
                SELECT {_PAIR_DIGEST}, change, {_ROW_DIGEST}, as_of, seq
                FROM {DECISION_CHANGES} AS c
                WHERE as_of <= $day
            )
            SELECT pair_key, pair_check, row_digest FROM (
                SELECT * FROM digested
                QUALIFY rank() OVER (PARTITION BY pair_key, pair_check ORDER BY as_of DESC, seq DESC) = 1
            )
            WHERE change = 'added'""",  # noqa: S608 - fixed names
            {"day": day},
        )

    def _standing_decisions(self, name: str, day: date) -> None:
        """The decisions standing on ``day``, as temporary table ``name`` (run_id first)."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS "  # noqa: S608
            f"SELECT run_id, {', '.join(DECISION_COLUMNS)} FROM audit.link_decisions WHERE as_of = $day",
            {"day": day},
        )

    def _append_changes(self, rows: str, day: date, seq: int) -> None:
        listed = ", ".join(DECISION_COLUMNS)
        self.con.execute(
            f"INSERT INTO {DECISION_CHANGES} (seq, run_id, as_of, change, {listed}) "  # noqa: S608
            f"SELECT $seq, run_id, $day, 'added', {listed} FROM {rows}",
            {"seq": seq, "day": day},
        )

    def _append_removals(self, had: str, has: str, day: date, seq: int, run_id: str) -> None:
        """A 'removed' row on ``day`` for every pair in ``had`` that is not in ``has``."""
        on_pair = " AND ".join(f"s.{k} = f.{k}" for k in PAIR)
        self.con.execute(
            f"""INSERT INTO {DECISION_CHANGES} (seq, run_id, as_of, change, {", ".join(PAIR)}, decision)
            SELECT DISTINCT $seq, $run_id, $day, 'removed', {", ".join(f"s.{k}" for k in PAIR)}, 'removed'
            FROM {had} AS s
            WHERE NOT EXISTS (SELECT 1 FROM {has} AS f WHERE {on_pair})""",  # noqa: S608
            {"seq": seq, "run_id": run_id, "day": day},
        )

    def _append_removals_by_digest(self, standing: str, day: date, seq: int, run_id: str) -> None:
        """A 'removed' row on ``day`` for every pair standing (``standing``:
        :meth:`_standing_digests`) that tonight does not score (the digests
        :meth:`_changed_pairs` made of tonight's rows); the few such pairs' columns are read
        back from their changes."""
        self.con.execute(
            f"""INSERT INTO {DECISION_CHANGES} (seq, run_id, as_of, change, {", ".join(PAIR)}, decision)
            WITH gone AS (
                SELECT DISTINCT pair_key, pair_check FROM {standing} AS s
                WHERE NOT EXISTS (
                    SELECT 1 FROM _hearth_new_digests AS f
                    WHERE f.pair_key = s.pair_key AND f.pair_check = s.pair_check
                )
            )
            SELECT DISTINCT $seq, $run_id, $day, 'removed', {", ".join(f"c.{k}" for k in PAIR)}, 'removed'
            FROM {DECISION_CHANGES} AS c
            SEMI JOIN gone AS g
              ON g.pair_key = {_PAIR_KEY_OF.format(t="c")} AND g.pair_check = {_PAIR_CHECK_OF.format(t="c")}
            WHERE c.as_of <= $day""",  # noqa: S608 - fixed names
            {"seq": seq, "run_id": run_id, "day": day},
        )

    def _restore_next_night(self, day: date, next_night: date, seq: int, run_id: str) -> None:
        """After recording ``day``: give the next night back the decisions it had, for every
        pair changed on ``day`` that the next night does not change itself."""
        on_pair = " AND ".join(f"s.{k} = f.{k}" for k in PAIR)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _hearth_touched AS
            SELECT DISTINCT {", ".join(f"f.{k}" for k in PAIR)} FROM {DECISION_CHANGES} AS f
            WHERE f.as_of = $day AND f.seq = $seq
              AND NOT EXISTS (SELECT 1 FROM {DECISION_CHANGES} AS s WHERE s.as_of = $next AND {on_pair})""",  # noqa: S608
            {"day": day, "seq": seq, "next": next_night},
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _hearth_back AS SELECT s.* FROM _hearth_next AS s "  # noqa: S608
            f"SEMI JOIN _hearth_touched AS f ON {on_pair}"
        )
        self._append_changes("_hearth_back", next_night, seq)
        self._append_removals("_hearth_touched", "_hearth_back", next_night, seq, run_id)
        self.con.execute("DROP TABLE _hearth_touched")
        self.con.execute("DROP TABLE _hearth_back")

    def prune_history(self, before: date) -> dict[str, int]:
        """Forget linkage nights before ``before``: their nights and every history row that
        held only on them. Rows still holding on a later night are kept whole."""
        removed: dict[str, int] = {}
        with self.transaction():
            for history in HISTORY_TABLE.values():
                removed[history] = self.literal_rows(
                    f"SELECT count(*) FROM {history} WHERE valid_to <= ?", [before])[0][0]  # noqa: S608
                self.con.execute(f"DELETE FROM {history} WHERE valid_to <= ?", [before])  # noqa: S608
            self.con.execute("DELETE FROM linked.link_nights WHERE as_of < ?", [before])
        return removed

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction that nests: an inner block joins the outer one."""
        if getattr(self, "_in_tx", False):
            yield
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._in_tx = False

    # ---- publishing --------------------------------------------------------------------
    def publish_list(self, list_date: date, run_id: str, *, as_of_latest: bool) -> dict[str, int]:
        """Move one list date's pending flags into the marts, in one transaction, and delete
        them from the pending tables. A list date this run has published already and not
        flagged again since is left as it is (a retried publish must not publish nothing)."""
        counts: dict[str, int] = {}
        with self.transaction():
            flagged = self.literal_rows(
                "SELECT count(*) FROM linked.pending_lists WHERE list_date = ? AND run_id = ?", [list_date, run_id]
            )[0][0]
            published = self.literal_rows(
                "SELECT count(*) FROM audit.publications WHERE list_date = ? AND run_id = ?", [list_date, run_id]
            )[0][0]
            if published and not flagged:
                log.info("list %s was published by run %s already; left as it is", list_date, run_id)
                return {
                    mart: self.literal_rows(f"SELECT count(*) FROM {_table(mart)} WHERE list_date = ?", [list_date])[0][0]  # noqa: S608
                    for mart in PUBLISHED_MARTS
                }
            for mart in PUBLISHED_MARTS:
                self.con.execute(f"DELETE FROM {_table(mart)} WHERE list_date = ?", [list_date])  # noqa: S608
                self.con.execute(sql(f"publish_{mart.split('.')[1]}"), {"list_date": list_date, "run_id": run_id})
                counts[mart] = self.literal_rows(
                    f"SELECT count(*) FROM {_table(mart)} WHERE list_date = ?", [list_date]  # noqa: S608
                )[0][0]
            if as_of_latest:
                self.con.execute("DELETE FROM marts.child_index")
                self.con.execute(sql("publish_child_index"), {"as_of": list_date})
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _hearth_snap AS " + sql("flag_evidence_to_publish"),
                {"list_date": list_date, "run_id": run_id},
            )
            self._store_staged("audit.flag_evidence")
            self.con.execute(
                "INSERT INTO audit.publications VALUES (?, ?, current_timestamp, ?, ?, ?)",
                [list_date, run_id, counts["marts.child_flags"], counts["marts.mash_list"],
                 counts["marts.school_notifications"]],
            )
            # Published rows are the marts' now: keeping them pending kept every night's
            # lists twice.
            for table in PENDING_TABLES:
                self.con.execute(f"DELETE FROM {_table(table)} WHERE list_date = ?", [list_date])  # noqa: S608
        return counts

    def checkpoint(self) -> None:
        self.con.execute(f"CHECKPOINT {CATALOG}")

    def verify(self) -> None:
        """Read every row of the tables readers rely on; a damaged block raises."""
        verify_connection(self.con)


# ---- per-source reads: one query per source, its tables bound through query_table ----------
def register_snapshot(wh: Warehouse, source: str, as_of: date) -> pl.DataFrame:
    """The latest snapshot of register ``source`` on or before ``as_of``, as staged
    (``schemas.STAGED[source]``), ordered by its identifier then its substitute id."""
    spec = sources.spec(source)
    frame = wh.query("register_snapshot", snapshot_table=spec.staging_table, as_of=as_of)
    # A register delivered without an identifier (the early-years return) is ordered by its key.
    order = [spec.identifier, "substitute_id"] if spec.identifier else list(spec.key)
    return frame.select(list(spec.staged)).sort(order, nulls_last=True)


def snapshot_info(wh: Warehouse, as_of: date) -> pl.DataFrame:
    """Every register's snapshots on or before ``as_of`` with their row counts: one row per
    (source, snapshot_date), by source, newest first."""
    frames = [
        wh.query("snapshot_counts", source=s.name, snapshot_table=s.staging_table, as_of=as_of)
        for s in sources.REGISTRY if s.is_register
    ]
    return pl.concat(frames).sort(["source", "snapshot_date"], descending=[False, True])


def known_record_ids(wh: Warehouse, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` name a record ever staged by a source that takes part in linkage."""
    known: set[str] = set()
    for spec in sources.REGISTRY:
        if not spec.link_types or not any(i.startswith(f"{spec.name}:") for i in ids):
            continue
        columns = sorted({c for part in spec.id_parts for c in part})
        staged = wh.query("staged_id_columns", staging_table=spec.staging_table, columns=columns)
        known |= set(staged.select(spec.record_id()).to_series().drop_nulls().to_list())
    return known & set(ids)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position", [CATALOG, schema, name],
    ).fetchall()]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def verify_connection(con: duckdb.DuckDBPyConnection) -> None:
    for table in VERIFIED_TABLES:
        # hash() of the whole row makes DuckDB read every column, not only row counts.
        con.execute(f"SELECT count(*), sum(hash(t)) FROM {_table(table)} AS t").fetchall()  # noqa: S608


def _attach(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool, key: str | None) -> None:
    options = []
    params: list[Any] = []
    if read_only:
        options.append("READ_ONLY")
    if key:
        options.append("ENCRYPTION_KEY ?")
        params.append(key)
    opts = f" ({', '.join(options)})" if options else ""
    # ATTACH takes no bound parameter for the path in every DuckDB version; the path is
    # ours (from settings), quoted as an SQL string literal.
    literal = "'" + str(path).replace("'", "''") + "'"
    con.execute(f"ATTACH {literal} AS {CATALOG}{opts}", params or None)
    con.execute(f"USE {CATALOG}")


def spill_dir(path: Path) -> Path:
    """Where DuckDB spills what exceeds its memory limit for the file ``path``: beside it,
    as DuckDB itself names it for a file database, inside the warehouse's private folder."""
    return path.with_name(f"{path.name}.tmp")


def _open(
    path: Path, *, read_only: bool, key: str | None, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # TIMESTAMPTZ values come back in the session zone; pin it so results do not depend on
    # the host's zone (and polars sees "UTC", the zone stage code compares against).
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB would otherwise cache up to 80 % of the machine's memory in the night's own
    # process, beside the linkage's polars frames; what exceeds the limit spills to disk. An
    # in-memory connection spills to ``.tmp`` in the working directory by default: these are
    # children's records, so they spill beside the warehouse, in its owner-only folder.
    con.execute("SET memory_limit = ?", [memory_limit])
    con.execute("SET temp_directory = ?", [str(spill_dir(path))])
    if key:
        # Writing encrypted files needs httpfs's mbedtls-hardened crypto, which a production
        # image installs at build time (docs/data-protection.md). Where it is missing we fall
        # back to DuckDB's built-in mbedtls implementation, which is what tests exercise.
        try:
            con.execute("LOAD httpfs")
        except duckdb.Error:
            if os.environ.get("HEARTH_ENV") == "production":
                con.close()
                raise WarehouseError(
                    "HEARTH_ENV=production needs DuckDB's httpfs extension to write an encrypted "
                    "warehouse; install it in the image at build time (docs/data-protection.md)."
                ) from None
            con.execute("SET force_mbedtls_unsafe = true")
    try:
        _attach(con, path, read_only=read_only, key=key)
    except duckdb.IOException as exc:
        con.close()
        if "lock" in str(exc).lower():
            raise WarehouseBusyError(
                f"{path} is held by another process (DuckDB allows one writer). Wait for the "
                "running night or command to finish, then retry."
            ) from exc
        raise WarehouseError(f"cannot open {path}: {exc}") from exc
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(
            f"cannot open {path}: {exc}. If the warehouse is encrypted, set HEARTH_ENCRYPTION_KEY."
        ) from exc
    return con


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration in ``sql/ddl`` not yet recorded; return the names applied."""
    con.execute((DDL_DIR / "000_migrations.sql").read_text(encoding="utf-8"))
    done = {v for (v,) in con.execute("SELECT version FROM audit.schema_migrations").fetchall()}
    applied = []
    for path in sorted(DDL_DIR.glob("[0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:3])
        if version == 0 or version in done:
            continue
        text = path.read_text(encoding="utf-8")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(text)
            if version in AFTER_MIGRATION:
                AFTER_MIGRATION[version](con)
            con.execute(
                "INSERT INTO audit.schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                [version, path.name, hashlib.sha256(text.encode()).hexdigest()],
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {path.name} failed: {exc}") from exc
        applied.append(path.name)
        log.info("applied migration %s", path.name)
    return applied


def _copies_to_histories(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 020's data step: replay the per-night copies of ``linked.*`` and
    ``audit.link_decisions`` night by night through the history writers, prove that every
    night reads back exactly as it was stored, then drop the copies."""
    wh = Warehouse(con=con, path=Path(), published=Path(), read_only=False)
    wh._in_tx = True  # inside the migration's transaction
    copies = {table: f"{table}_per_night" for table in (*_HISTORIES_020, "audit.link_decisions")}
    nights = sorted({d for copy in copies.values() for (d,) in con.execute(f"SELECT DISTINCT as_of FROM {copy}").fetchall()})  # noqa: S608
    for night in nights:
        for table in _HISTORIES_020:
            frame = con.sql(f"SELECT * EXCLUDE (as_of) FROM {copies[table]} WHERE as_of = ?", params=[night]).pl()  # noqa: S608
            wh.replace_night(table, night, frame)
        decisions = con.sql(
            f"SELECT * EXCLUDE (as_of) FROM {copies['audit.link_decisions']} WHERE as_of = ?", params=[night]  # noqa: S608
        ).pl()
        if decisions.height:
            # The run that recorded most of the night's decisions is the night's run; the
            # others keep their own run_id as changes of their own.
            first = decisions["run_id"].mode().sort()[0]
            wh.record_link_decisions(decisions, day=night, run_id=first)
    _verified_and_dropped(con, copies)


def _person_xref_to_history(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 030's data step: replay ``linked.person_xref``'s per-night copies night by
    night into its history, prove every night reads back as stored, drop the copies."""
    wh = Warehouse(con=con, path=Path(), published=Path(), read_only=False)
    wh._in_tx = True  # inside the migration's transaction
    copy = "linked.person_xref_per_night"
    # Each night is replayed as the latest, so a row unchanged from one night to the next is
    # kept once; the other histories' nights are put back before anything reads them.
    con.execute("CREATE TEMP TABLE _hearth_nights AS SELECT * FROM linked.link_nights")
    con.execute("DELETE FROM linked.link_nights")
    # Every linkage night, a night that linked no nominal included (its rows end there).
    nights = con.execute(
        f"SELECT as_of FROM _hearth_nights UNION SELECT as_of FROM {copy} ORDER BY as_of"  # noqa: S608
    ).fetchall()
    for (night,) in nights:
        frame = con.sql(f"SELECT * EXCLUDE (as_of) FROM {copy} WHERE as_of = ?", params=[night]).pl()  # noqa: S608
        wh.replace_night("linked.person_xref", night, frame)
    con.execute("DROP TABLE _hearth_nights")
    _verified_and_dropped(con, {"linked.person_xref": copy})


def _verified_and_dropped(con: duckdb.DuckDBPyConnection, copies: dict[str, str]) -> None:
    """Drop each per-night copy once its table reads back exactly as it (``EXCEPT ALL``
    both ways); otherwise fail the migration, leaving the warehouse as it was."""
    for table, copy in copies.items():
        # The copies (the migrations' own names) are not hearth tables after them.
        columns = ", ".join(_quote(c) for c in _columns(con, copy))
        lost, extra = con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {columns} FROM {copy} EXCEPT ALL SELECT {columns} FROM {table})), "  # noqa: S608
            f"(SELECT count(*) FROM (SELECT {columns} FROM {table} EXCEPT ALL SELECT {columns} FROM {copy}))"
        ).fetchone() or (0, 0)
        if lost or extra:
            raise WarehouseError(
                f"moving {copy} into its history would change it ({lost} row(s) lost, {extra} added); "
                "the warehouse is left as it was. Keep this file and report it with the hearth version."
            )
        con.execute(f"DROP TABLE {copy}")


# Data steps of migrations that cannot be said in SQL alone, run in the migration's transaction.
def _copies_to_row_stores(version: int, schema: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """The data step of migration 026 (``staging``) or 027 (``raw``): each register's whole
    per-night copies (renamed ``<table>_whole`` by the migration) become distinct rows and
    the nights' members, behind a view with the columns the table had; every night is
    proven to read back exactly as it was stored before the copies go."""
    return lambda con: _to_row_stores(con, version, [v for v in SNAPSHOT_STORE if v.startswith(f"{schema}.")])


def _to_row_stores(con: duckdb.DuckDBPyConnection, version: int, views: list[str]) -> None:
    for view in views:
        rows, members, per_night = SNAPSHOT_STORE[view]
        whole = f"{view}_whole"
        columns = _columns(con, whole)
        content = [c for c in columns if c not in per_night]
        listed = ", ".join(_quote(c) for c in content)
        con.execute(
            f"""CREATE TEMP TABLE _hearth_ranked AS
            SELECT *, dense_rank() OVER (ORDER BY {", ".join(f"{_quote(c)} NULLS FIRST" for c in content)}) AS row_id
            FROM {whole}"""  # noqa: S608 - fixed table list
        )
        con.execute(f"CREATE TABLE {rows} AS SELECT DISTINCT row_id, {listed} FROM _hearth_ranked ORDER BY row_id")  # noqa: S608
        con.execute(
            f"CREATE TABLE {members} AS SELECT {', '.join(per_night)}, row_id FROM _hearth_ranked "  # noqa: S608
            f"ORDER BY {', '.join(c for c in per_night if c not in ('run_id', 'loaded_at'))}"
        )
        for column in (*per_night, "row_id"):
            con.execute(f"ALTER TABLE {members} ALTER COLUMN {column} SET NOT NULL")
        con.execute(f"ALTER TABLE {rows} ALTER COLUMN row_id SET NOT NULL")
        selected = ", ".join(f"r.{_quote(c)}" if c in content else f"m.{_quote(c)}" for c in columns)
        con.execute(
            f"CREATE VIEW {view} AS SELECT {selected} FROM {members} AS m JOIN {rows} AS r USING (row_id)"  # noqa: S608
        )
        differ = con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {whole} EXCEPT ALL SELECT * FROM {view})) "  # noqa: S608
            f"+ (SELECT count(*) FROM (SELECT * FROM {view} EXCEPT ALL SELECT * FROM {whole}))"
        ).fetchall()[0][0]
        if differ:
            raise WarehouseError(f"migration {version:03d}: {view} would not read back as stored ({differ} rows differ)")
        con.execute("DROP TABLE _hearth_ranked")
        con.execute(f"DROP TABLE {whole}")


AFTER_MIGRATION: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    20: _copies_to_histories, 26: _copies_to_row_stores(26, "staging"), 27: _copies_to_row_stores(27, "raw"),
    29: lambda con: _to_row_stores(con, 29, ["audit.flag_evidence"]),
    30: _person_xref_to_history,
}


def exists(published: Path) -> bool:
    """Whether a warehouse (its published or its working file) is at ``published``."""
    published = Path(published)
    return published.exists() or work_path(published).exists()


def require_existing(published: Path) -> None:
    """Refuse a warehouse path that holds none: a mistyped ``--warehouse`` must not quietly
    start an empty warehouse (and empty lists) beside the real one."""
    if not exists(published):
        raise WarehouseMissingError(
            f"there is no warehouse at {published}. Check the path (--warehouse or HEARTH_WAREHOUSE); "
            f"to start a new, empty warehouse there on purpose run `hearth init --warehouse {published}` "
            "(or `hearth run --create …`)."
        )


@contextmanager
def open_writer(
    published: Path, *, key: str | None = None, create: bool = True, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> Iterator[Warehouse]:
    """Open the working file for writing, migrating it; with ``create`` (the default for
    the library, never for a command line without ``--create``) a missing warehouse and
    its folder are made, owner-only. ``memory_limit`` caps DuckDB's share of the process
    (``warehouse_memory_limit`` in the settings)."""
    published = Path(published)
    path = work_path(published)
    if not create:
        require_existing(published)
    private_dirs(path.parent)
    # Under the lock: a detached copy after the last handover may still be writing it.
    with working_copy_lock(published):
        if not path.exists() and published.exists():
            # The working file is a private detail; the published file holds everything
            # (it is the last handed-over or copied working file).
            log.info("working file %s missing; copying it from the published file %s", path, published)
            _copy(published, path)
        try:
            con = _open(path, read_only=False, key=key, memory_limit=memory_limit)
        except WarehouseError as exc:
            if not is_corruption(exc):
                raise
            raise _set_aside(path, published, exc) from exc
        make_private(path)
    try:
        migrate(con)
        yield Warehouse(con=con, path=path, published=published, read_only=False, key=key)
    except Exception as exc:
        if isinstance(exc, WorkingFileCorruptError) or not is_corruption(exc):
            raise
        con.close()
        with working_copy_lock(published):
            raise _set_aside(path, published, exc) from exc
    finally:
        con.close()


def _set_aside(path: Path, published: Path, exc: BaseException) -> WorkingFileCorruptError:
    """Rename a damaged working file out of the way (kept for investigation) and copy a
    fresh one from the published file. Called under the working-copy lock."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.stem}.corrupt-{stamp}{path.suffix}")
    os.replace(path, aside)
    fsync_dir(path.parent)
    log.error("working file %s is damaged (%s); set aside as %s", path, exc, aside)
    if published.exists():
        copy_durably(published, path)
        recopied = f"a fresh working file was copied from the published file {published}, whose lists are unchanged"
    else:
        recopied = "there is no published file to copy from; the next run starts an empty warehouse"
    return WorkingFileCorruptError(
        f"the working file {path} is damaged ({exc}). It was set aside as {aside} for "
        f"investigation and {recopied}. Nothing was published: yesterday's lists stand. Rerun "
        "the night; if this happens again, check the disk.",
        set_aside=aside,
    )


@contextmanager
def open_reader(
    published: Path, *, key: str | None = None, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> Iterator[Warehouse]:
    """Open the published copy read-only (what coordinators, auditors and reports use)."""
    published = Path(published)
    if not published.exists():
        raise WarehouseMissingError(
            f"{published} does not exist yet: run a night first (`hearth run --date …` or `hearth demo`)."
        )
    con = _open(published, read_only=True, key=key, memory_limit=memory_limit)
    try:
        yield Warehouse(con=con, path=published, published=published, read_only=True, key=key)
    finally:
        con.close()


def refresh_published(wh: Warehouse, *, handover: bool = False) -> Path:
    """Checkpoint the working file and atomically swap it in as the published file.

    Open readers keep the inode they opened (their old snapshot); new readers see the new
    file. By default a copy is swapped in and ``wh`` stays open. With ``handover`` (the last
    act of a night) the working file itself is closed and renamed onto the published path,
    ``wh`` can no longer be used, and a detached process prepares the next working copy.
    """
    wh.checkpoint()
    if not handover:
        _copy(wh.path, wh.published, verify=_verify_file(wh))
        log.info("published %s", wh.published)
        return wh.published
    # Read back what readers will read before it replaces their file: a damaged working
    # file raises here and is set aside (open_writer), and the published file stays.
    wh.verify()
    with working_copy_lock(wh.published):
        wh.con.close()
        os.replace(wh.path, wh.published)
        fsync_dir(wh.published.parent)
    log.info("published %s (handed over; the next working copy is made in the background)", wh.published)
    _spawn_working_copy(wh.published)
    return wh.published


def _copy(source: Path, target: Path, *, verify: Callable[[Path], None] | None = None) -> None:
    """``copy_durably`` with a failure (a full disk, a read-only folder) said plainly; the
    partial temporary copy is already gone when this raises."""
    try:
        copy_durably(source, target, verify=verify)
    except OSError as exc:
        raise output_error(target, exc, what="the warehouse copy") from exc


def run_readonly_sql(wh: Warehouse, text: str) -> pl.DataFrame:
    """Run a person's ad-hoc query on a read-only warehouse connection.

    The published file is attached read-only; on top of that the connection may not touch
    the file system (no COPY … TO, no read_csv of other files, no ATTACH, no INSTALL) and
    that setting is locked, so a query can only read the warehouse.
    """
    if not wh.read_only:
        raise WarehouseError("ad-hoc SQL runs only on the published file, opened read-only")
    wh.con.execute("SET enable_external_access = false")
    wh.con.execute("SET lock_configuration = true")
    try:
        relation = wh.con.sql(text)
        return pl.DataFrame() if relation is None else relation.pl()
    except duckdb.Error as exc:
        raise QueryError(f"the query failed: {exc}") from None


def _verify_file(wh: Warehouse) -> Callable[[Path], None]:
    """A check of a copied file before it replaces the published one (same key as ``wh``)."""
    def check(path: Path) -> None:
        con = _open(path, read_only=True, key=wh.key)
        try:
            verify_connection(con)
        finally:
            con.close()

    return check


def _spawn_working_copy(published: Path) -> None:
    """Start ``python -m pipeline.publish.working_copy PUBLISHED`` detached, so the night's process
    can exit; if it never finishes, the next writer copies instead."""
    try:
        subprocess.Popen(  # our interpreter and module, a path from settings
            [sys.executable, "-m", "pipeline.publish.working_copy", str(published)],
            cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
    except OSError as exc:
        log.warning("could not start the background working copy (%s); the next writer will copy", exc)
