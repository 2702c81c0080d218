"""The force-wide DAG on production-shaped Airflow: PostgreSQL metadata, LocalExecutor, and
CeleryExecutor with Redis and two workers, every task run from the installed wheel.

Three authorities on LocalExecutor (one of them with no register ever delivered, so its
night fails), then four on CeleryExecutor, two at a time. Each stack is stopped at the end
even when a test fails.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from pipeline.authorities import NOT_PUBLISHED_NOTE, init_authority_warehouses, load_force
from pipeline.publish import warehouse
from pipeline.synth.force import SyntheticForce, write_synthetic_force

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

NIGHT = date(2026, 10, 5)
DAG = "hearth_force_nightly"


def _force(out: Path, authorities: int) -> SyntheticForce:
    return write_synthetic_force(out, authorities=authorities, households=150, days=1, seed=31, start_date=NIGHT)


@pytest.fixture
def stack_factory(wheel: Path) -> Iterator:  # type: ignore[type-arg]
    from stack import Stack

    started: list[Stack] = []

    def start(name: str, executor: str, force: SyntheticForce, **kw: object) -> Stack:
        s = Stack(name=name, executor=executor, force_config=force.config_file,
                  nights=(NIGHT.isoformat(), NIGHT.isoformat()), **kw)  # type: ignore[arg-type]
        started.append(s)
        s.start()
        s.wait_until_parsed(DAG)
        return s

    yield start
    for s in started:
        s.stop()


def _init(force: SyntheticForce) -> None:
    assert len(init_authority_warehouses(load_force(force.config_file))) == len(force.codes)


def _mash(path: Path) -> list[tuple[str, list[str]]]:
    with warehouse.open_reader(path) as wh:
        return wh.literal_rows("SELECT household_id, incident_ids FROM marts.mash_list WHERE list_date = ?", [NIGHT])


def _ran_from_wheel(path: Path) -> bool:
    with warehouse.open_reader(path) as wh:
        rows = wh.literal_rows("SELECT git_commit FROM audit.run_log WHERE event = 'started' AND trigger = 'airflow'")
    return bool(rows) and all(commit is None for (commit,) in rows)


def test_three_authorities_on_local_executor_with_postgres(tmp_path: Path, stack_factory) -> None:  # type: ignore[no-untyped-def]
    synth = _force(tmp_path / "force", 3)
    failing = synth.codes[2]
    # The third authority's registers never arrived: its night must fail as stale, alone.
    shutil.rmtree(synth.landing_dir / failing / NIGHT.isoformat())
    (synth.landing_dir / failing / NIGHT.isoformat()).mkdir()
    _init(synth)
    force = load_force(synth.config_file)
    s = stack_factory("test-local", "local", synth)
    s.airflow("dags", "unpause", DAG)
    states = s.wait_for_nights(DAG, 1, timeout=900)
    assert list(states.values()) == ["failed"], states  # summarise fails the run: one authority is missing
    tis = dict((int(i), st) for i, st in s.psql(
        f"SELECT map_index, state FROM task_instance WHERE dag_id = '{DAG}' AND task_id = 'authority_night'"))
    assert tis == {0: "success", 1: "success", 2: "failed"}

    a, b = (force.warehouse(c) for c in synth.codes[:2])
    incident = synth.cross_border_incident
    assert incident is not None
    for path, other in ((a, synth.codes[1]), (b, synth.codes[0])):
        listed = [h for h, incidents in _mash(path) if incident in incidents]
        assert listed, f"the cross-border incident {incident} is missing from {path}"
        with warehouse.open_reader(path) as wh:
            shared = wh.literal_rows("SELECT other_authorities FROM marts.shared_incidents WHERE incident_id = ?", [incident])
        assert shared and other in shared[0][0]
        report = force.reports_dir(path.parent.name) / NIGHT.isoformat() / f"mash-list-{NIGHT}.html"
        assert f"Cross-border incident {incident}" in report.read_text(encoding="utf-8")
        assert _ran_from_wheel(path)

    note = force.reports_dir(failing) / NIGHT.isoformat() / NOT_PUBLISHED_NOTE
    assert "snapshot has ever been delivered" in note.read_text(encoding="utf-8")
    with (force.summary_dir() / NIGHT.isoformat() / "force-summary.csv").open(encoding="utf-8") as fh:
        summary = {r["authority"]: r for r in csv.DictReader(fh)}
    assert [summary[c]["status"] for c in synth.codes] == ["succeeded", "succeeded", "failed"]
    assert "snapshot has ever been delivered" in summary[failing]["message"]

    # `airflow dags test` of a night that publishes exits 0 (the deadline is attached only
    # where the scheduler runs); before, the deadline lookup made it exit 1 after the run.
    single = tmp_path / "single" / "warehouse.duckdb"
    with warehouse.open_writer(single, create=True) as wh:
        warehouse.refresh_published(wh)
    # The night's own 02:00 (Europe/London): the deployment's start date, so its tasks exist.
    s.airflow("dags", "test", "hearth_nightly", "2026-10-05T01:00:00+00:00", timeout=900,
              extra={"HEARTH_LANDING_DIR": str(force.routed_dir(synth.codes[0])), "HEARTH_WAREHOUSE": str(single)})
    assert _mash(single)


def test_four_authorities_two_at_a_time_on_celery_with_redis(tmp_path: Path, stack_factory) -> None:  # type: ignore[no-untyped-def]
    synth = _force(tmp_path / "force", 4)
    _init(synth)
    force = load_force(synth.config_file)
    s = stack_factory("test-celery", "celery", synth, workers=2)
    s.airflow("dags", "unpause", DAG)
    states = s.wait_for_nights(DAG, 1, timeout=900)
    assert list(states.values()) == ["success"], states
    rows = s.psql(f"SELECT start_date, end_date FROM task_instance WHERE dag_id = '{DAG}' AND task_id = 'authority_night'")
    spans = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in rows]
    assert len(spans) == 4
    # The most nights running at any one moment: two workers of one slot each, a pool of two.
    overlap = max(sum(1 for s2, e2 in spans if s2 <= start < e2) for start, _ in spans)
    assert overlap == 2, spans
    for code in synth.codes:
        assert _mash(force.warehouse(code)), f"{code} published no list"
        assert _ran_from_wheel(force.warehouse(code))
