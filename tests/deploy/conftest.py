"""Deployment tests: real PostgreSQL, Redis and Airflow servers, workers on the built wheel.

They start servers and take minutes, so they run only under ``make test-deploy`` (which sets
``HEARTH_DEPLOY_TESTS=1`` and installs what they need), never in ``make test``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("HEARTH_DEPLOY_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="starts database and Airflow servers: run `make test-deploy`")
    for item in items:
        if "deploy" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def wheel() -> Path:
    """The hearth wheel, built and installed into .deploy/venv with the locked versions."""
    from stack import build

    return build()
