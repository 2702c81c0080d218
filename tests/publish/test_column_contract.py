"""One column contract: every table that holds a stage's frames has exactly the columns and
types of its schema constant (pipeline/schemas.py), plus the keys the warehouse adds (run
id, date keys). A migration that drifts from the schemas, or a schema change without its
migration, fails here, on a freshly migrated warehouse."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline import schemas
from pipeline.publish import warehouse
from pipeline.sources import REGISTRY

RUN = {"run_id": "VARCHAR"}


def _duckdb_type(dtype: pl.DataType | type[pl.DataType]) -> str:
    dtype = dtype() if isinstance(dtype, type) else dtype
    if isinstance(dtype, pl.List):
        return _duckdb_type(dtype.inner) + "[]"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP WITH TIME ZONE" if dtype.time_zone else "TIMESTAMP"
    return {
        pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN", pl.Date: "DATE",
    }[type(dtype)]


def _columns(schema: schemas.Schema, **extra: str) -> dict[str, str]:
    return {**{c: _duckdb_type(t) for c, t in schema.items()}, **extra}


# table -> the columns it must have: its schema constant plus what the warehouse adds.
CONTRACT: dict[str, dict[str, str]] = {
    "marts.child_index": _columns(
        {c: t for c, t in schemas.CHILD_INDEX.items() if c not in schemas.CHILD_INDEX_LINKED_ONLY}, as_of="DATE"
    ),
    "linked.children": _columns(schemas.CHILD_INDEX, as_of="DATE"),
    "marts.child_flags": _columns(schemas.CHILD_FLAGS, **RUN),
    "marts.mash_list": _columns(schemas.MASH_LIST, **RUN),
    "marts.school_notifications": _columns(schemas.SCHOOL_NOTIFICATIONS, **RUN),
    "marts.unlocated_suspects": _columns(schemas.UNLOCATED_SUSPECTS, **RUN),
    "linked.pending_child_flags": _columns(schemas.CHILD_FLAGS, **RUN),
    "linked.pending_mash_list": _columns(schemas.MASH_LIST, **RUN),
    "linked.pending_school_notifications": _columns(schemas.SCHOOL_NOTIFICATIONS, **RUN),
    "linked.pending_unlocated_suspects": _columns(schemas.UNLOCATED_SUSPECTS, **RUN),
    "linked.pending_flag_evidence": _columns(schemas.FLAG_EVIDENCE, **RUN),
    "marts.contact_candidates": _columns(schemas.CONTACT_CANDIDATES, **RUN),
    "linked.pending_contact_candidates": _columns(schemas.CONTACT_CANDIDATES, **RUN),
    "marts.consultations_to_revisit": _columns(schemas.CONSULTATIONS_TO_REVISIT, **RUN),
    "linked.pending_consultations_to_revisit": _columns(schemas.CONSULTATIONS_TO_REVISIT, **RUN),
    "audit.flag_evidence": _columns(schemas.FLAG_EVIDENCE, **RUN),
    "linked.child_xref": _columns(schemas.CHILD_XREF, as_of="DATE"),
    "linked.households": _columns(schemas.HOUSEHOLDS, as_of="DATE"),
    "linked.person_links": _columns(schemas.PERSON_LINKS, as_of="DATE"),
    "linked.incident_households": _columns(schemas.INCIDENT_HOUSEHOLDS, as_of="DATE"),
    "linked.review_queue": _columns(schemas.REVIEW_QUEUE, as_of="DATE"),
    **{s.staging_table: _columns(s.staged, **{s.date_column: "DATE"}, **RUN) for s in REGISTRY},
}


@pytest.fixture(scope="module")
def columns(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    path = Path(tmp_path_factory.mktemp("contract")) / "warehouse.duckdb"
    with warehouse.open_writer(path) as wh:
        return wh.query("table_columns")


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_table_columns_are_the_schema_constants(columns: pl.DataFrame, table: str) -> None:
    schema, name = table.split(".")
    actual = columns.filter((pl.col("table_schema") == schema) & (pl.col("table_name") == name))
    found = dict(zip(actual["column_name"], actual["data_type"], strict=True))
    expected = CONTRACT[table]
    assert found, f"{table} does not exist"
    missing = {c: t for c, t in expected.items() if c not in found}
    unexpected = {c: t for c, t in found.items() if c not in expected}
    mistyped = {c: (expected[c], found[c]) for c in expected.keys() & found.keys() if expected[c] != found[c]}
    assert not (missing or unexpected or mistyped), (
        f"{table}: missing {missing}, not in the schema {unexpected}, types (schema, table) {mistyped}"
    )


def test_pending_tables_are_their_marts() -> None:
    for mart in warehouse.PUBLISHED_MARTS:
        assert CONTRACT[mart] == CONTRACT[f"linked.pending_{mart.split('.')[1]}"]
