"""Hand-built deliveries for end-to-end scenarios: write landing files as partners would."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from stdnum.gb import nhs, upn

from pipeline.publish.warehouse import Warehouse
from pipeline.schemas import CONTRACT_COLUMNS


def nhs_number(seed: int) -> str:
    """A valid NHS number (outside the 999 test range) derived from a small integer."""
    n = 400_000_000 + seed * 7919
    while True:
        for check in "0123456789":
            if nhs.is_valid(f"{n:09d}{check}"):
                return f"{n:09d}{check}"
        n += 1


def upn_for(seed: int) -> str:
    """A valid UPN (DfE check letter first) derived from a small integer."""
    body = f"82361200{seed:04d}"
    return upn.calc_check_digit(body) + body


def write_delivery(landing: Path, day: date, source: str, rows: list[dict[str, str]]) -> Path:
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CONTRACT_COLUMNS[source]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in CONTRACT_COLUMNS[source]})
    return path


def read_sql(wh: Warehouse, text: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """A test's own query on an open warehouse, as a frame (the pipeline reads only named
    query files: Warehouse.query)."""
    return wh.con.sql(text, params=params or None).pl()


def assert_same_link_results(a: Any, b: Any, *, but: tuple[str, ...] = ()) -> None:
    """Two ``LinkResult``s are equal field by field (frames exactly, counts as numbers),
    except the fields named in ``but``."""
    from dataclasses import fields

    from polars.testing import assert_frame_equal

    for f in fields(a):
        if f.name in but:
            continue
        left, right = getattr(a, f.name), getattr(b, f.name)
        if isinstance(left, pl.DataFrame):
            assert_frame_equal(left, right, check_exact=True)
        else:
            assert left == right, f.name


def migrations_before(version: int, folder: Path, monkeypatch: Any) -> None:
    """Make the warehouse apply only the migrations numbered below ``version`` (copied into
    ``folder``), as the code before that migration did; ``monkeypatch.undo()`` restores them."""
    import shutil

    from pipeline.publish import warehouse

    folder.mkdir(parents=True, exist_ok=True)
    for ddl in warehouse.DDL_DIR.glob("*.sql"):
        if int(ddl.name[:3]) < version:
            shutil.copy(ddl, folder / ddl.name)
    monkeypatch.setattr(warehouse, "DDL_DIR", folder)
