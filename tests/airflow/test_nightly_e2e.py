"""The nightly DAG end to end, in-process with ``dag.test()`` over a synthetic county.

Two consecutive nights through the DAG, then a rerun of the first; the same nights through
the CLI path must give the same marts. The school-export DAG then writes its files from the
published warehouse, and a night whose data fails validation fails at once, unretried.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.config import Settings, load_settings
from pipeline.outputs.school_exports import SCHOOL_FILE_COLUMNS
from pipeline.publish import warehouse
from pipeline.synth.county import write_synthetic_county

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("airflow")]

FIRST_NIGHT = date(2026, 10, 5)
SECOND_NIGHT = FIRST_NIGHT + timedelta(days=1)
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
# Each mart, keyed so that frames from two warehouses compare row for row.
MART_KEYS = {
    "marts.child_flags": ["list_date", "child_id"],
    "marts.mash_list": ["list_date", "household_id"],
    "marts.school_notifications": ["list_date", "school_urn", "child_id", "incident_id"],
}


def _logical_date(night: date) -> datetime:
    import pendulum

    return pendulum.datetime(night.year, night.month, night.day, 2, 0, tz="Europe/London")


def _dags() -> dict[str, Any]:
    """Fresh DAG objects, made testable: no retry waits, and no deadline (dag.test() crashes
    after a successful run of a DAG with a DeadlineAlert — an open upstream bug)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        dag.deadline = None
        for task in dag.tasks:
            task.retries = 0
    return bag.dags


def _marts(settings: Settings, night: date) -> dict[str, pl.DataFrame]:
    with warehouse.open_reader(settings.warehouse) as wh:
        frames = {
            table: wh.frame(f"SELECT * FROM {table} WHERE list_date = $d", {"d": night})
            for table in MART_KEYS
        }
    return {t: f.drop([c for c in f.columns if c == "run_id"]).sort(MART_KEYS[t]) for t, f in frames.items()}


def _runs(settings: Settings) -> pl.DataFrame:
    with warehouse.open_reader(settings.warehouse) as wh:
        return wh.frame("SELECT run_id, logical_date, status, trigger, message FROM audit.runs ORDER BY started_at")


def _assert_same_marts(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    for table in MART_KEYS:
        assert_frame_equal(left[table], right[table], check_row_order=True), table


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    write_synthetic_county(out, households=200, days=3, seed=11, start_date=FIRST_NIGHT)
    return out


@pytest.fixture(scope="module")
def dag_settings(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """HEARTH_* pointed at the test's folders for as long as this module's DAG runs last."""
    root = tmp_path_factory.mktemp("dag-run")
    env = {"HEARTH_LANDING_DIR": county / "landing", "HEARTH_WAREHOUSE": root / "wh" / "warehouse.duckdb",
           "HEARTH_REPORTS_DIR": root / "reports"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, str(value))
        settings = load_settings()
        _init(settings.warehouse)
        yield settings


def _init(path: Path) -> None:
    """What `hearth init` does: the DAG never creates a warehouse itself."""
    with warehouse.open_writer(path, create=True) as wh:
        warehouse.refresh_published(wh)


@pytest.fixture(scope="module")
def two_nights(airflow_db: Path, dag_settings: Settings) -> dict[str, Any]:
    """Nights one and two through the DAG; the marts as they stood right after."""
    dag = _dags()["hearth_nightly"]
    states = [dag.test(logical_date=_logical_date(night)).state for night in (FIRST_NIGHT, SECOND_NIGHT)]
    return {"states": states, "marts": {n: _marts(dag_settings, n) for n in (FIRST_NIGHT, SECOND_NIGHT)}}


def test_two_nights_publish_through_the_dag(two_nights: dict[str, Any], dag_settings: Settings) -> None:
    assert two_nights["states"] == ["success", "success"]
    runs = _runs(dag_settings)
    succeeded = runs.filter(pl.col("status") == "succeeded")
    assert succeeded["logical_date"].to_list() == [FIRST_NIGHT, SECOND_NIGHT]
    assert set(succeeded["trigger"]) == {"airflow"}
    for night in (FIRST_NIGHT, SECOND_NIGHT):
        assert two_nights["marts"][night]["marts.child_flags"].height > 0, f"no flags for {night}"
        assert (dag_settings.reports_dir / night.isoformat() / f"mash-list-{night}.html").exists()
    # publish told the school-export DAG which list dates are new (and nothing personal).
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = [e.extra for e in session.query(AssetEvent).join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                  .filter(AssetModel.name == "hearth_daily_lists")]
    assert {e["list_date"] for e in extras} >= {FIRST_NIGHT.isoformat(), SECOND_NIGHT.isoformat()}
    assert all(set(e) == {"list_date", "run_id"} for e in extras)


def test_rerunning_the_first_night_leaves_its_marts_unchanged(
    two_nights: dict[str, Any], dag_settings: Settings
) -> None:
    dag = _dags()["hearth_nightly"]
    assert dag.test(logical_date=_logical_date(FIRST_NIGHT)).state == "success"
    _assert_same_marts(_marts(dag_settings, FIRST_NIGHT), two_nights["marts"][FIRST_NIGHT])
    _assert_same_marts(_marts(dag_settings, SECOND_NIGHT), two_nights["marts"][SECOND_NIGHT])
    assert _runs(dag_settings).filter(pl.col("status") == "succeeded").height == 3


def test_cli_and_dag_produce_identical_marts(
    two_nights: dict[str, Any], county: Path, tmp_path: Path
) -> None:
    from pipeline.night import run_night

    cli = load_settings(landing_dir=county / "landing", warehouse=tmp_path / "wh" / "warehouse.duckdb",
                        reports_dir=tmp_path / "reports")
    for night in (FIRST_NIGHT, SECOND_NIGHT):
        run_night(night, cli, trigger="test")
        _assert_same_marts(_marts(cli, night), two_nights["marts"][night])


def test_school_export_dag_writes_one_minimal_file_per_school(
    two_nights: dict[str, Any], dag_settings: Settings, tmp_path: Path
) -> None:
    dag = _dags()["hearth_school_exports"]
    run = dag.test(run_conf={"list_date": SECOND_NIGHT.isoformat(), "exports_dir": str(tmp_path)})
    assert run.state == "success"
    notifications = two_nights["marts"][SECOND_NIGHT]["marts.school_notifications"]
    folder = tmp_path / SECOND_NIGHT.isoformat() / "school-notifications"
    files = sorted(folder.glob("school-*.csv")) if folder.exists() else []
    assert [f.name for f in files] == sorted(f"school-{u}.csv" for u in notifications["school_urn"].unique())
    rows = sum(pl.read_csv(f, infer_schema=False).height for f in files)
    assert rows == notifications.select("school_urn", *SCHOOL_FILE_COLUMNS).unique().height
    for f in files:
        assert tuple(pl.read_csv(f, infer_schema=False, n_rows=0).columns) == SCHOOL_FILE_COLUMNS


def test_data_quality_failure_fails_the_night_at_once(airflow_db: Path, tmp_path: Path) -> None:
    """No register was ever delivered: validate raises StaleRegisterError (a DataQualityError);
    the retry policy fails it on the first try although the task has retries left."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    dag = _dags()["hearth_nightly"]
    dag.get_task("validate").retries = 3
    wh = tmp_path / "wh" / "warehouse.duckdb"
    _init(wh)
    night = FIRST_NIGHT + timedelta(days=30)  # after the DAG start date, or no task would run
    (tmp_path / "landing" / night.isoformat()).mkdir(parents=True)  # delivered: nothing
    run = dag.test(logical_date=_logical_date(night),
                   run_conf={"landing_dir": str(tmp_path / "landing"), "warehouse": str(wh),
                             "reports_dir": str(tmp_path / "reports")})
    assert run.state == "failed"
    with create_session() as session:
        tis = {ti.task_id: ti for ti in session.query(TaskInstance).filter(TaskInstance.run_id == run.run_id)}
        assert tis["ingest"].state == "success"
        assert (tis["validate"].state, tis["validate"].try_number) == ("failed", 1)
        assert tis["publish"].state == "upstream_failed"
    failed = _runs(load_settings(warehouse=wh)).row(0, named=True)
    assert failed["status"] == "failed" and failed["logical_date"] == night
    assert "validate" in failed["message"] and "snapshot" in failed["message"]
