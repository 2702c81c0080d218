"""``hearth demo`` runs its nights as a deployment does, on its own warehouse."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.demo import demo_settings, run_demo
from pipeline.operate.pseudonymise import KEY_ENV, MIN_KEY_LENGTH
from pipeline.publish import warehouse


def test_demo_makes_a_key_only_where_none_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    first, second = demo_settings(tmp_path), demo_settings(tmp_path)
    assert first.pseudonym_key and len(first.pseudonym_key) >= MIN_KEY_LENGTH
    assert first.pseudonym_key != second.pseudonym_key  # made per run, never a constant in the code
    monkeypatch.setenv(KEY_ENV, "k" * MIN_KEY_LENGTH)
    assert demo_settings(tmp_path).pseudonym_key == "k" * MIN_KEY_LENGTH


@pytest.mark.slow
def test_demo_hashes_rejected_rows_without_a_key_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The demo used to warn every night that its rejected rows lacked their keyed hash."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "data" / "warehouse.duckdb"))
    with caplog.at_level(logging.WARNING):
        summary = run_demo(tmp_path / "county", households=300, days=2, seed=7, progress=False)
    assert summary.quarantined > 0
    assert not [r for r in caplog.records if "without their keyed hash" in r.getMessage()]
    with warehouse.open_reader(summary.warehouse) as wh:
        missing, total = wh.literal_rows(
            "SELECT count(*) FILTER (WHERE row_hash IS NULL OR row_hash = ''), count(*) FROM audit.quarantine")[0]
    assert total == summary.quarantined and missing == 0
