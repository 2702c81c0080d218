"""The synthetic county, run night after night through the real pipeline: built once per
session and shared by the end-to-end checks (test_county.py) and the accuracy floors
(test_accuracy.py). Both modules carry the xdist group ``e2e_county`` so one worker builds it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from pipeline.config import Settings, load_settings
from pipeline.night import run_night
from pipeline.synth.county import write_synthetic_county

START = date(2026, 9, 28)  # a Monday
DAYS = 5
HOUSEHOLDS = 6000
SEED = 7


@dataclass
class County:
    settings: Settings
    truth: Path
    days: list[date]


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    root = tmp_path_factory.mktemp("county")
    synth = write_synthetic_county(root / "synth", households=HOUSEHOLDS, days=DAYS, seed=SEED, start_date=START)
    settings = load_settings(landing_dir=synth.landing_dir, warehouse=root / "wh" / "warehouse.duckdb",
                             reports_dir=root / "reports")
    for day in synth.deliveries:
        run_night(day, settings, trigger="test")
    yield County(settings=settings, truth=synth.truth_dir, days=synth.deliveries)
