"""Encryption at rest: with a key, no plaintext in the working file, its WAL or the
published copy, and the file does not open without the right key.

STACK-NOTES: writing encrypted files needs httpfs; without it the warehouse falls back to
DuckDB's built-in mbedtls (``force_mbedtls_unsafe``), which is what runs here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import WarehouseError
from pipeline.publish import warehouse

KEY = "test-only-key-0123456789abcdef0123456789abcdef"
# Distinctive synthetic values, so finding them in the bytes cannot be a coincidence.
NAME = "Zephyrine"
SURNAME = "Quillfeatherby"
NHS = "9990001118"


def _write_names(wh: warehouse.Warehouse) -> None:
    wh.insert("raw.health_register", pl.DataFrame({
        "run_id": ["r1"] * 200, "delivery_date": [date(2026, 10, 5)] * 200, "_file": ["health_register.csv"] * 200,
        "_row": list(range(1, 201)), "nhs_number": [NHS] * 200, "forename": [NAME] * 200,
        "surname": [SURNAME] * 200, "address_line1": ["1 Nightingale Mews"] * 200,
    }))


def _leaks(path: Path) -> list[str]:
    if not path.exists():
        return []
    data = path.read_bytes()
    return [s for s in (NAME, SURNAME, NHS, "Nightingale") if s.encode() in data]


def _files(published: Path) -> list[Path]:
    work = warehouse.work_path(published)
    return [published, work, Path(str(work) + ".wal"), Path(str(published) + ".wal")]


@pytest.fixture
def encrypted(tmp_path: Path) -> Iterator[Path]:
    published = tmp_path / "wh" / "warehouse.duckdb"
    yield published


def test_without_a_key_names_are_in_the_bytes(tmp_path: Path) -> None:
    """The positive control: the byte search does find plaintext when there is some."""
    published = tmp_path / "plain.duckdb"
    with warehouse.open_writer(published) as wh:
        _write_names(wh)
        warehouse.refresh_published(wh)
    assert NAME in _leaks(published)


def test_no_plaintext_in_the_working_file_its_wal_or_the_published_copy(encrypted: Path) -> None:
    work = warehouse.work_path(encrypted)
    wal = Path(str(work) + ".wal")
    with warehouse.open_writer(encrypted, key=KEY) as wh:
        _write_names(wh)
        # Committed but not checkpointed: the rows are in the WAL now.
        assert wal.exists() and wal.stat().st_size > 0
        assert _leaks(wal) == []
        assert _leaks(work) == []
        warehouse.refresh_published(wh)
    for path in _files(encrypted):
        assert _leaks(path) == [], path
    with warehouse.open_reader(encrypted, key=KEY) as reader:
        assert reader.fetch("SELECT count(*) FROM raw.health_register WHERE forename = ?", [NAME]) == [(200,)]


@pytest.mark.parametrize("key", [None, "the-wrong-key-0123456789abcdef0123456789"])
def test_the_published_copy_does_not_open_without_the_right_key(encrypted: Path, key: str | None) -> None:
    with warehouse.open_writer(encrypted, key=KEY) as wh:
        _write_names(wh)
        warehouse.refresh_published(wh)
    with pytest.raises(WarehouseError), warehouse.open_reader(encrypted, key=key):
        pass


@pytest.mark.parametrize("key", [None, "the-wrong-key-0123456789abcdef0123456789"])
def test_the_working_file_does_not_open_without_the_right_key(encrypted: Path, key: str | None) -> None:
    with warehouse.open_writer(encrypted, key=KEY) as wh:
        _write_names(wh)
    with pytest.raises(WarehouseError), warehouse.open_writer(encrypted, key=key):
        pass


@pytest.mark.slow
def test_a_night_with_a_key_leaves_no_plaintext_anywhere(tmp_path: Path) -> None:
    import sys

    from pipeline.config import load_settings
    from pipeline.night import run_night

    sys.path.insert(0, str(Path(__file__).parent.parent / "recovery"))
    from nights import NIGHTS, SURNAMES, marts, write_county

    settings = load_settings(landing_dir=tmp_path / "landing", warehouse=tmp_path / "wh" / "warehouse.duckdb",
                             reports_dir=tmp_path / "reports", encryption_key=KEY)
    write_county(settings.landing_dir, households=12)
    run_night(NIGHTS[0], settings, trigger="test")
    # Four-byte names are left out: any given four bytes turn up by chance about once in
    # 4 GB of ciphertext, so a few MB of encrypted warehouse made the test fail now and then.
    # A real leak shows every name, the five-letter ones as surely as the four.
    secrets = [*(s for s in SURNAMES if len(s) >= 5), "Norwich Primary", "Orchard Close", "Station Road"]
    files = [p for p in (tmp_path / "wh").iterdir() if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert [s for s in secrets if s.encode() in data] == [], path.name
    assert sum(marts(settings.warehouse, key=KEY)["marts.child_flags"].values()) > 0
    with pytest.raises(WarehouseError), warehouse.open_reader(settings.warehouse):
        pass
