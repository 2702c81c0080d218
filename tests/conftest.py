"""Shared fixtures. Each test gets its own warehouse, landing and reports folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Settings, load_settings
from pipeline.logs import quiet_third_party
from pipeline.synth.accuracy import ACCURACY_PROPERTY

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
    from pipeline.publish import warehouse

    with warehouse.open_writer(settings.warehouse) as wh:
        yield wh


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the accuracy figures the end-to-end floors measured (tests/e2e/test_accuracy.py);
    recorded as a test property, so they reach this summary from any xdist worker."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == ACCURACY_PROPERTY and report.when == "call":
                terminalreporter.write_sep("-", "accuracy on the synthetic county (tests/e2e/test_accuracy.py)")
                terminalreporter.write_line(str(value))
