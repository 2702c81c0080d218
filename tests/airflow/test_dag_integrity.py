"""DAG integrity: every DAG file parses cleanly, without heavy imports or side effects, and carries
the settings the issue asks for (tags, owner, retries, an aware start date, one writer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = [DAGS_FOLDER / "hearth_nightly.py", DAGS_FOLDER / "hearth_school_exports.py"]

STAGES = ["ingest", "validate", "link", "flag", "publish", "report"]
# What makes a DAG file slow to parse is importing a stage library at the top of it (5 s
# instead of 0.1 s for Great Expectations or recordlinkage): none of these may load at parse time.
HEAVY_MODULES = [
    "duckdb", "polars", "great_expectations", "recordlinkage", "pandas", "numpy", "scipy", "pyarrow",
    "rapidfuzz", "pipeline.night", "pipeline.publish.warehouse", "pipeline.link.linkage", "pipeline.validate.checks", "pipeline.flag.flags",
]
# A backstop only, far above the ~0.3 s a clean parse takes so a busy machine never trips it,
# and well under Airflow's 30 s DAG import timeout. The module check above is the real test.
PARSE_LIMIT_SECONDS = 10.0

# Runs in a fresh interpreter: airflow.sdk is imported first (every DAG file pays for it
# and the DAG processor has it loaded already), then only the DAG file itself is timed.
_PARSE_PROBE = """
import json, runpy, sys, time
import airflow.sdk  # noqa: F401
t0 = time.perf_counter()
runpy.run_path(sys.argv[1])
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "loaded": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_dagbag_has_both_dags_and_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"hearth_nightly", "hearth_school_exports"}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_fast_and_opens_nothing(dag_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(dag_file), *HEAVY_MODULES],
        capture_output=True, text=True, timeout=120, check=False, env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["seconds"] < PARSE_LIMIT_SECONDS, f"{dag_file.name} took {probe['seconds']:.2f} s to parse"
    # No DuckDB module means no DuckDB connection; the heavy stage libraries stay in tasks.
    assert probe["loaded"] == [], f"{dag_file.name} imports {probe['loaded']} at parse time"


@pytest.mark.parametrize("dag_id", ["hearth_nightly", "hearth_school_exports"])
def test_dag_has_tags_owner_retries_and_aware_start(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.tags and "hearth" in dag.tags
    assert dag.start_date is not None and dag.start_date.tzinfo is not None
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner not in ("", "airflow"), task.task_id
        assert task.retries >= 1, task.task_id
        assert task.retry_exponential_backoff > 0, task.task_id
        assert task.max_retry_delay <= timedelta(hours=1), task.task_id
        assert task.retry_policy is not None, task.task_id


def test_nightly_schedule_catchup_and_stage_order(dagbag) -> None:
    from airflow.sdk import CronTriggerTimetable

    dag = dagbag.dags["hearth_nightly"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "0 2 * * *"
    assert str(getattr(dag.timetable.timezone, "name", dag.timetable.timezone)) == "Europe/London"
    assert dag.catchup is True
    # A straight line, in the order the CLI runs the stages.
    order = [t.task_id for t in dag.topological_sort()]
    assert order == STAGES
    for upstream, downstream in zip(STAGES, STAGES[1:], strict=False):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert dag.get_task("ingest").depends_on_past is True
    assert dag.deadline is not None


def test_publish_emits_the_daily_lists_asset_and_exports_listen_to_it(dagbag) -> None:
    from pipeline.airflow_support import DAILY_LISTS

    nightly, exports = dagbag.dags["hearth_nightly"], dagbag.dags["hearth_school_exports"]
    assert DAILY_LISTS in nightly.get_task("publish").outlets
    assert all(DAILY_LISTS not in nightly.get_task(s).outlets for s in STAGES if s != "publish")
    assert exports.timetable.asset_condition == DAILY_LISTS


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_use_only_the_task_sdk_and_hold_no_sql(dag_file: Path) -> None:
    text = dag_file.read_text(encoding="utf-8")
    for banned in ("airflow.models", "airflow.decorators", "airflow.operators", "SELECT ", "INSERT ", "duckdb"):
        assert banned not in text, f"{dag_file.name} contains {banned!r}"


def test_every_dag_file_is_covered() -> None:
    assert sorted(DAGS_FOLDER.glob("*.py")) == sorted(DAG_FILES)
