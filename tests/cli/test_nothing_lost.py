"""Data that must never disappear quietly, through the real CLI: each failure mode gives the
exit code and message it should, and leaves nothing lost, written or overwritten."""

from __future__ import annotations

import hashlib
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from builders import read_sql
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
import test_night_commands
from builders import write_delivery
from e2e.test_scenarios import HOME_S, NIGHT, OTHER, _police, _registers

# The fixture: one good night published from the two seed scenarios.
env = test_night_commands.env

runner = CliRunner()
MARTS = ("child_flags", "mash_list", "school_notifications", "child_index", "unlocated_suspects")


def published(env: Path) -> Path:
    return env / "wh" / "warehouse.duckdb"


def marts_digest(env: Path) -> str:
    """One hash over every published mart row: equal digests, nothing changed."""
    digest = hashlib.sha256()
    with warehouse.open_reader(published(env)) as wh:
        for mart in MARTS:
            digest.update(mart.encode())
            for row in wh.literal_rows(f"SELECT * FROM marts.{mart} ORDER BY ALL"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def runs(env: Path) -> list[dict]:
    with warehouse.open_reader(published(env)) as wh:
        return read_sql(wh, "SELECT * FROM audit.runs ORDER BY started_at").to_dicts()


def flagged(env: Path, forename: str, day: date) -> list[dict]:
    with warehouse.open_reader(published(env)) as wh:
        return read_sql(wh,
            "SELECT * FROM marts.child_flags WHERE forename = $f AND list_date = $d", {"f": forename, "d": day}
        ).to_dicts()


# ---- 1. a person row delivered without its incident -------------------------------------
def test_a_child_added_to_a_known_incident_by_a_later_delivery_is_flagged(env: Path) -> None:
    nxt = NIGHT + timedelta(days=1)
    assert flagged(env, "Ada", NIGHT) == []
    # Police add Ada, seen at the scene of INC-R, the next night: a persons row only, its
    # incident delivered the night before (the contract allows it).
    write_delivery(env / "landing", nxt, "police_persons", [
        {"incident_id": "INC-R", "person_ref": "P9", "role": "child", "forename": "Ada", "surname": "Finch",
         "dob": "2015-01-09", "gender": "f", "relationship_to_victim": "other", **OTHER},
    ])
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 0, result.output
    ada = flagged(env, "Ada", nxt)
    assert len(ada) == 1 and ada[0]["incident_ids"] == ["INC-R"]
    assert "CHILDREN_PRESENT" in ada[0]["reasons"]
    # The people recorded with the incident the night before are still its people.
    with warehouse.open_reader(published(env)) as wh:
        people = wh.query("current_persons", as_of=nxt).filter(incident_id="INC-R")
    assert sorted(people["person_ref"].to_list()) == ["P1", "P2", "P9"]
    assert len(flagged(env, "Ivy", nxt)) == 1


# ---- 2. a damaged working file ------------------------------------------------------------
def _damage(path: Path, *, first: int) -> None:
    """Overwrite bytes inside every 256 KiB block from the ``first``-th after the file
    header, so DuckDB's block checksums fail."""
    size = path.stat().st_size
    with path.open("r+b") as fh:
        for offset in range(3 * 4096 + first * 262144, size, 262144):
            fh.seek(offset + 64)
            fh.write(b"\xa5" * 32)


def _damage_table(path: Path, table: str) -> None:
    """Damage the blocks holding ``table`` and no other table's data, so the file opens and
    the night fails where it first reads that table."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        def blocks(name: str) -> set[int]:
            rows = con.execute("SELECT DISTINCT block_id FROM pragma_storage_info(?) WHERE block_id >= 0", [name])
            return {b for (b,) in rows.fetchall()}

        tables = [f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()]
        own = blocks(table) - set().union(*(blocks(t) for t in tables if t != table))
    finally:
        con.close()
    assert own, f"{table} shares every block with other tables"
    with path.open("r+b") as fh:
        for block in own:
            fh.seek(3 * 4096 + block * 262144 + 64)
            fh.write(b"\xa5" * 32)


@pytest.mark.parametrize("damage", ["unopenable", "after-open", "in-a-stage"])
def test_a_damaged_working_file_is_set_aside_and_never_published(env: Path, damage: str) -> None:
    work = warehouse.work_path(published(env))
    warehouse.prepare_working_copy(published(env))  # the detached copy after the handover
    before = marts_digest(env)
    if damage == "in-a-stage":
        # Yesterday's flags, first read by the flag stage (levels only go up).
        _damage_table(work, "marts.child_flags")
    else:
        _damage(work, first=0 if damage == "unopenable" else 1)
    nxt = NIGHT + timedelta(days=1)
    (env / "landing" / nxt.isoformat()).mkdir()
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 1, result.output
    assert "is damaged" in result.output and "set aside" in result.output
    assert "yesterday's lists stand" in result.output
    assert marts_digest(env) == before  # yesterday's lists readable and unchanged
    aside = list(work.parent.glob("warehouse.work.corrupt-*.duckdb"))
    assert len(aside) == 1 and aside[0].stat().st_size > 0
    # The night's failure is recorded in the fresh working copy; the rerun publishes it.
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 0, result.output
    recorded = runs(env)
    assert [(r["logical_date"], r["status"]) for r in recorded] == [
        (NIGHT, "succeeded"), (nxt, "failed"), (nxt, "succeeded")]
    assert "is damaged" in recorded[1]["message"]
    if damage == "in-a-stage":
        assert recorded[1]["message"].startswith("flag: ")


def test_duckdb_out_of_memory_fails_the_night_naming_the_setting(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB's memory is capped (warehouse_memory_limit); an operation that cannot spill
    past the cap fails the night, publishes nothing, and says which setting to raise."""
    import duckdb

    from pipeline.link import incremental

    def out_of_memory(*_args: object, **_kwargs: object) -> None:
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block of size 256.0 KiB")

    monkeypatch.setattr(incremental, "link_incremental", out_of_memory)
    before = marts_digest(env)
    nxt = NIGHT + timedelta(days=1)
    (env / "landing" / nxt.isoformat()).mkdir()
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 1, result.output
    assert "HEARTH_WAREHOUSE_MEMORY_LIMIT" in result.output and "yesterday's lists stand" in result.output
    assert marts_digest(env) == before
    failed = runs(env)[-1]
    assert failed["status"] == "failed" and failed["message"].startswith("link: DuckDB needed more than")


# ---- 4. a missing, mistyped or vanished delivery folder -----------------------------------
def test_a_missing_delivery_folder_exits_2_naming_it_and_the_misnamed_one(env: Path) -> None:
    before = marts_digest(env)
    nxt = NIGHT + timedelta(days=1)
    misnamed = env / "landing" / "2026-10-6"
    misnamed.mkdir()
    (misnamed / "police_incidents.csv").write_text("incident_id\n")
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 2, result.output
    assert str(env / "landing" / nxt.isoformat()) in result.output.replace("\n", "")
    assert "'2026-10-6'" in result.output
    assert marts_digest(env) == before
    assert [r["status"] for r in runs(env)] == ["succeeded", "failed"]


def test_a_folder_that_is_not_a_date_is_reported_on_a_good_night(env: Path) -> None:
    nxt = NIGHT + timedelta(days=1)
    (env / "landing" / nxt.isoformat()).mkdir()  # a quiet night: the folder, empty
    (env / "landing" / "latest").mkdir()
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "'latest'" in result.output
    assert "succeeded with 1 warning(s)" in result.output
    last = runs(env)[-1]
    assert last["status"] == "succeeded" and last["warning_count"] == 1
    assert "landing_not_a_date" in last["warnings"]


# ---- 5. a police file cut in transit ---------------------------------------------------------
def test_a_police_file_cut_in_transit_is_processed_and_said_loudly(env: Path) -> None:
    nxt = NIGHT + timedelta(days=1)
    path = write_delivery(env / "landing", nxt, "police_incidents", [
        {"incident_id": "INC-T", "reported_at": "2026-10-05T20:00:00+01:00", "updated_at": "2026-10-05T21:00:00+01:00",
         "dash_risk": "medium", "children_present": "yes", "offence": "assault", **HOME_S},
        {"incident_id": "INC-U", "reported_at": "2026-10-05T22:00:00+01:00", "updated_at": "2026-10-05T22:30:00+01:00",
         "dash_risk": "high", "children_present": "no", "offence": "assault", **OTHER},
    ])
    text = path.read_text()
    path.write_text(text[: text.index("2026-10-05T22:30")])  # cut mid-record: no final newline
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 0, result.output
    out = result.output.replace("\n", " ")
    assert "police_incidents.csv looks cut in transit" in out and "ask police to resend" in out
    assert "succeeded with 1 warning(s)" in out
    last = runs(env)[-1]
    assert last["status"] == "succeeded" and last["warning_count"] == 1 and "truncated_file" in last["warnings"]
    with warehouse.open_reader(published(env)) as wh:
        staged = wh.literal_rows("SELECT incident_id FROM staging.police_incident_versions WHERE delivery_date = ?", [nxt])
        quarantined = wh.literal_rows("SELECT _row FROM audit.quarantine WHERE delivery_date = ?", [nxt])
    assert staged == [("INC-T",)] and quarantined == [(2,)]
    html = (env / "reports" / nxt.isoformat() / f"mash-list-{nxt}.html").read_text()
    first_row = min(i for i in (html.find('<main id="households"'), html.find('class="empty"')) if i >= 0)
    assert html.index("looks cut in transit") < first_row
    # The report written again later from the published file says the same.
    result = runner.invoke(app, ["report", "--date", nxt.isoformat()])
    assert result.exit_code == 0, result.output
    assert "ask police to resend" in (env / "reports" / nxt.isoformat() / f"mash-list-{nxt}.html").read_text()


# ---- 3. purge ------------------------------------------------------------------------------
def _police_rows(env: Path) -> tuple[int, int, int]:
    with warehouse.open_reader(published(env)) as wh:
        return tuple(wh.literal_rows(  # type: ignore[return-value]
            "SELECT (SELECT count(*) FROM staging.police_incident_versions), "
            "(SELECT count(*) FROM staging.police_person_versions), (SELECT count(*) FROM raw.police_incidents)"
        )[0])


def _purges(env: Path) -> list[dict]:
    with warehouse.open_writer(published(env)) as wh:  # dry runs are recorded in the working file
        return read_sql(wh, "SELECT * FROM audit.purges ORDER BY purged_at").to_dicts()


@pytest.mark.parametrize("day", ["2099-01-01", (NIGHT + timedelta(days=1)).isoformat()], ids=["future", "after-latest-night"])
def test_a_purge_after_today_or_the_latest_night_is_refused_and_deletes_nothing(env: Path, day: str) -> None:
    before, rows = marts_digest(env), _police_rows(env)
    result = runner.invoke(app, ["purge", "--date", day, "--apply"])
    assert result.exit_code == 2, result.output
    assert ("after today" if day.startswith("2099") else "after the latest night") in result.output
    assert "Nothing was deleted" in result.output
    assert _police_rows(env) == rows and marts_digest(env) == before
    assert _purges(env) == []


def test_every_purge_is_recorded_and_in_window_incidents_need_force_and_reason(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = NIGHT + timedelta(days=2)
    (env / "landing" / later.isoformat()).mkdir()
    assert runner.invoke(app, ["run", "--date", later.isoformat()]).exit_code == 0
    # A police retention shorter than the flag window: NIGHT's incidents (reported the day
    # before it) are still inside the window and would go.
    monkeypatch.setenv("HEARTH_RETENTION__POLICE_DAYS", "1")
    rows, before = _police_rows(env), marts_digest(env)
    result = runner.invoke(app, ["purge", "--date", later.isoformat(), "--as", "dpo-clerk"])
    assert result.exit_code == 0, result.output  # a dry run shows the plan
    result = runner.invoke(app, ["purge", "--date", later.isoformat(), "--apply"])
    assert result.exit_code == 2, result.output
    assert "2 incident(s) still inside the flag window" in result.output and "--force --reason" in result.output
    result = runner.invoke(app, ["purge", "--date", later.isoformat(), "--apply", "--force"])
    assert result.exit_code == 2 and "--force needs --reason" in result.output
    assert _police_rows(env) == rows and marts_digest(env) == before
    result = runner.invoke(app, ["purge", "--date", later.isoformat(), "--apply", "--force",
                                 "--reason", "court order 17: erase", "--as", "dpo"])
    assert result.exit_code == 0, result.output
    assert _police_rows(env) == (0, 0, rows[2])  # raw keeps 92 days
    recorded = _purges(env)
    assert [(p["purged_by"], p["applied"], p["forced"], p["reason"], p["in_window"]) for p in recorded] == [
        ("dpo-clerk", False, False, None, 2), ("dpo", True, True, "court order 17: erase", 2)]
    assert recorded[1]["as_of"] == later
    assert '"staging.police_incident_versions"' in recorded[1]["rows"]


# ---- 6. two versions in the hour repeated when the clocks go back ---------------------------
@pytest.mark.parametrize("where", ["next-night", "same-file"])
def test_an_escalation_in_the_repeated_october_hour_is_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import shutil

    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("HEARTH_REPORTS_DIR", str(tmp_path / "reports"))
    fall_back, after = date(2026, 10, 25), date(2026, 10, 26)  # clocks go back at 02:00 BST on the 25th
    assert runner.invoke(app, ["init"]).exit_code == 0
    _registers(tmp_path / "seed")
    _police(tmp_path / "seed")
    (tmp_path / "landing" / fall_back.isoformat()).mkdir(parents=True)
    for source in ("health_register", "school_census", "police_persons"):
        shutil.copy(tmp_path / "seed" / NIGHT.isoformat() / f"{source}.csv",
                    tmp_path / "landing" / fall_back.isoformat() / f"{source}.csv")
    incident = {"incident_id": "INC-S", "reported_at": "2026-10-24T23:00:00+01:00", "children_present": "unknown",
                "offence": "harassment", **HOME_S}
    # 01:40 the first time round (BST), then the escalation at 01:10 the second time (GMT,
    # really 30 minutes later); neither carries an offset.
    first = {**incident, "updated_at": "2026-10-25T01:40:00", "dash_risk": "standard"}
    escalation = {**incident, "updated_at": "2026-10-25 01:10", "dash_risk": "high"}
    if where == "next-night":
        write_delivery(tmp_path / "landing", fall_back, "police_incidents", [first])
        write_delivery(tmp_path / "landing", after, "police_incidents", [escalation])
        assert runner.invoke(app, ["run", "--date", fall_back.isoformat()]).exit_code == 0
        night = after
    else:  # both versions in one extract: neither may be quarantined as the older duplicate
        write_delivery(tmp_path / "landing", fall_back, "police_incidents", [first, escalation])
        night = fall_back
    result = runner.invoke(app, ["run", "--date", night.isoformat()])
    assert result.exit_code == 0, result.output
    out = result.output.replace("\n", " ")
    assert "incident INC-S" in out and "cannot be put in order" in out and "succeeded with 1 warning(s)" in out
    with warehouse.open_reader(tmp_path / "wh" / "warehouse.duckdb") as wh:
        milo = read_sql(wh, "SELECT risk_level, reasons FROM marts.child_flags WHERE forename = 'Milo' "
                        "AND list_date = $d", {"d": night}).to_dicts()
        last = read_sql(wh, "SELECT warnings FROM audit.runs ORDER BY started_at DESC LIMIT 1")["warnings"][0]
        staged = wh.literal_rows("SELECT updated_at_ambiguous FROM staging.police_incident_versions")
        quarantined = wh.literal_rows("SELECT count(*) FROM audit.quarantine WHERE source = 'police_incidents'")[0][0]
    assert [m["risk_level"] for m in milo] == ["high"] and "DASH_HIGH" in milo[0]["reasons"]
    assert "ambiguous_update_order" in last
    assert staged == [(True,), (True,)] and quarantined == 0
    html = (tmp_path / "reports" / night.isoformat() / f"mash-list-{night}.html").read_text()
    assert "cannot be put in order" in html
