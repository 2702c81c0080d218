"""The county's figures are those recorded in ``marts_digest.txt``: a refactoring that
should change no flag, list, link decision or quarantined row proves it here."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from e2e.conftest import County
from pipeline.publish.digest import DIGESTED_TABLES, frame_digest, marts_digest

pytestmark = pytest.mark.xdist_group("e2e_county")

RECORDED = Path(__file__).with_name("marts_digest.txt")


def _recorded() -> dict[str, str]:
    lines = [line.split() for line in RECORDED.read_text(encoding="utf-8").splitlines()]
    return {parts[0]: parts[1] for parts in lines if parts and not parts[0].startswith("#")}


def test_county_figures_are_the_recorded_ones(county: County) -> None:
    measured = marts_digest(county.settings.warehouse)
    recorded = _recorded()
    assert set(recorded) == set(DIGESTED_TABLES)
    differ = {t: (recorded[t], measured[t]) for t in DIGESTED_TABLES if recorded[t] != measured[t]}
    assert not differ, f"tables whose rows changed (recorded, now): {differ}; see {RECORDED.name}"


def test_digest_ignores_row_order_and_run_ids_but_not_values() -> None:
    frame = pl.DataFrame({"child_id": ["C1", "C2"], "risk_level": ["high", "medium"], "run_id": ["r1", "r1"]})
    same = pl.DataFrame({"run_id": ["r2", "r2"], "child_id": ["C2", "C1"], "risk_level": ["medium", "high"]})
    changed = frame.with_columns(risk_level=pl.Series(["high", "high"]))
    assert frame_digest(frame) == frame_digest(same)
    assert frame_digest(frame) != frame_digest(changed)
    assert frame_digest(frame) != frame_digest(frame.head(1))
