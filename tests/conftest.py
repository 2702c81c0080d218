"""Shared fixtures. Each test gets its own warehouse, landing and reports folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Settings, load_settings
from pipeline.logs import quiet_third_party

quiet_third_party()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        landing_dir=tmp_path / "landing",
        warehouse=tmp_path / "wh" / "warehouse.duckdb",
        reports_dir=tmp_path / "reports",
    )


@pytest.fixture
def writer(settings: Settings) -> Iterator[object]:
    from pipeline import warehouse

    with warehouse.open_writer(settings.warehouse) as wh:
        yield wh
