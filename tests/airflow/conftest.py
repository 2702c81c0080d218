"""Airflow without a scheduler: a temporary AIRFLOW_HOME with a SQLite metadata DB.

Airflow reads its configuration when it is first imported, so the environment is set when
this conftest is imported, before any test module imports ``airflow`` (test modules here
import it inside fixtures and tests only). The metadata DB is migrated once per session
(~5 s); DAGs then run in-process with ``dag.test()``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"

if "airflow" in sys.modules:  # pragma: no cover - a guard against a future import-order change
    raise RuntimeError("airflow was imported before tests/airflow/conftest.py could configure it")

# A private home even when the Makefile exported AIRFLOW_HOME=.airflow: dag.test() writes
# runs into the metadata DB, and tests must not depend on (or leave) a developer's history.
_HOME = Path(tempfile.mkdtemp(prefix="hearth-airflow-home-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
}
os.environ.update(AIRFLOW_ENV)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """Migrate the session's metadata DB once; yields AIRFLOW_HOME."""
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**os.environ, **AIRFLOW_ENV}, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    yield _HOME


@pytest.fixture(scope="session")
def dagbag():  # type: ignore[no-untyped-def]
    """Every DAG in dags/, parsed the way the DAG processor parses them."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))
