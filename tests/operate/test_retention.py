"""Retention: what a purge would remove, and that it removes exactly that."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.operate.retention import PURGEABLE, RetentionPolicy, cutoffs, plan_purge, purge
from pipeline.publish import warehouse

TODAY = date(2027, 1, 10)
POLICY = RetentionPolicy(raw_days=10, police_days=400, register_days=30)


def _day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def _load(wh: warehouse.Warehouse) -> None:
    for ago in (5, 20, 500):
        d = _day(ago)
        wh.insert("raw.police_persons", pl.DataFrame({
            "run_id": ["r"], "delivery_date": [d], "_file": ["f"], "_row": [1], "forename": ["Rosa"]}))
        wh.insert("raw.health_register", pl.DataFrame({
            "run_id": ["r"], "delivery_date": [d], "_file": ["f"], "_row": [1], "forename": ["Ivy"]}))
        wh.insert("staging.police_incident_versions", pl.DataFrame({
            "delivery_date": [d], "run_id": ["r"], "incident_id": [f"INC-{ago}"],
            "reported_at": [datetime(d.year, d.month, d.day, tzinfo=UTC)],
            "updated_at": [datetime(d.year, d.month, d.day, tzinfo=UTC)],
            "dash_risk": ["high"], "children_present": ["yes"], "_file": ["f"], "_row": [1],
        }))
    # Register snapshots 5, 40 and 60 days old: the 40-day one is the latest before the
    # cut-off (30 days) and must survive; the 60-day one goes.
    for ago in (5, 40, 60):
        wh.insert("staging.health_register_snapshots", pl.DataFrame({
            "snapshot_date": [_day(ago)] * 2, "run_id": ["r"] * 2, "nhs_number": ["N1", "N2"],
            "forename": ["Ivy", "Milo"], "_file": ["f"] * 2, "_row": [1, 2]}))


def _plan(frame: pl.DataFrame) -> dict[str, tuple[int, date | None, date | None]]:
    return {r["table"]: (r["rows"], r["first_date"], r["last_date"]) for r in frame.iter_rows(named=True)}


def _count(wh: warehouse.Warehouse, table: str) -> int:
    return wh.fetch(f"SELECT count(*) FROM {table}")[0][0]


def test_plan_lists_rows_and_date_ranges_per_table(writer: warehouse.Warehouse) -> None:
    _load(writer)
    plan = _plan(plan_purge(writer, TODAY, POLICY))
    assert set(plan) == set(PURGEABLE)
    assert plan["raw.police_persons"] == (2, _day(500), _day(20))
    assert plan["raw.health_register"] == (2, _day(500), _day(20))
    assert plan["staging.police_incident_versions"] == (1, _day(500), _day(500))
    assert plan["staging.health_register_snapshots"] == (2, _day(60), _day(60))
    assert plan["raw.school_census"] == (0, None, None)


def test_dry_run_deletes_nothing(writer: warehouse.Warehouse) -> None:
    _load(writer)
    before = {t: _count(writer, t) for t in PURGEABLE}
    purge(writer, TODAY, POLICY, dry_run=True)
    assert {t: _count(writer, t) for t in PURGEABLE} == before


def test_purge_deletes_exactly_the_plan_and_keeps_the_current_snapshot(writer: warehouse.Warehouse) -> None:
    _load(writer)
    before = {t: _count(writer, t) for t in PURGEABLE}
    plan = _plan(purge(writer, TODAY, POLICY, dry_run=False))
    assert {t: _count(writer, t) for t in PURGEABLE} == {t: before[t] - plan[t][0] for t in PURGEABLE}
    snapshots = writer.fetch("SELECT DISTINCT snapshot_date FROM staging.health_register_snapshots ORDER BY 1")
    assert snapshots == [(_day(40),), (_day(5),)]
    # Purging again finds nothing more.
    assert plan_purge(writer, TODAY, POLICY)["rows"].sum() == 0


def test_purge_never_touches_audit(writer: warehouse.Warehouse) -> None:
    _load(writer)
    writer.insert("audit.quarantine", pl.DataFrame({
        "run_id": ["r"], "delivery_date": [_day(500)], "source": ["health_register"], "_file": ["f"],
        "_row": [1], "reasons": [["dob: not a date"]], "record": ['{"forename": "Ivy"}']}))
    purge(writer, TODAY, POLICY, dry_run=False)
    assert _count(writer, "audit.quarantine") == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, RetentionPolicy()),
        ({"HEARTH_RETENTION__RAW_DAYS": "30"}, RetentionPolicy(raw_days=30)),
        ({"HEARTH_RETENTION__POLICE_DAYS": "800", "HEARTH_RETENTION__REGISTER_DAYS": "90"},
         RetentionPolicy(police_days=800, register_days=90)),
    ],
)
def test_policy_from_settings_and_environment(
    env: dict[str, str], expected: RetentionPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert RetentionPolicy.from_settings(load_settings().retention) == expected


@pytest.mark.parametrize("env", [{"HEARTH_RETENTION__RAW_DAYS": "ninety"}, {"HEARTH_RETENTION__RAW_DAYS": "0"}])
def test_bad_policy_values_are_refused(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="raw_days"):
        load_settings()


def test_police_retention_shorter_than_the_look_back_is_refused() -> None:
    with pytest.raises(ConfigError, match="look-back"):
        cutoffs(TODAY, RetentionPolicy(police_days=300), lookback_days=365)
