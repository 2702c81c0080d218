"""Data that must never disappear quietly, through the real CLI: each failure mode gives the
exit code and message it should, and leaves nothing lost, written or overwritten."""

from __future__ import annotations

import hashlib
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import warehouse
from pipeline.cli import app

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import write_delivery
from e2e.test_scenarios import HOME_S, NIGHT, OTHER, _police, _registers

runner = CliRunner()
MARTS = ("child_flags", "mash_list", "school_notifications", "child_index", "unlocated_suspects")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One good night published from the two seed scenarios."""
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("HEARTH_REPORTS_DIR", str(tmp_path / "reports"))
    _registers(tmp_path / "landing")
    _police(tmp_path / "landing")
    result = runner.invoke(app, ["run", "--date", NIGHT.isoformat()])
    assert result.exit_code == 0, result.output
    return tmp_path


def published(env: Path) -> Path:
    return env / "wh" / "warehouse.duckdb"


def marts_digest(env: Path) -> str:
    """One hash over every published mart row: equal digests, nothing changed."""
    digest = hashlib.sha256()
    with warehouse.open_reader(published(env)) as wh:
        for mart in MARTS:
            digest.update(mart.encode())
            for row in wh.fetch(f"SELECT * FROM marts.{mart} ORDER BY ALL"):  # noqa: S608 - fixed names
                digest.update(repr(row).encode())
    return digest.hexdigest()


def runs(env: Path) -> list[dict]:
    with warehouse.open_reader(published(env)) as wh:
        return wh.frame("SELECT * FROM audit.runs ORDER BY started_at").to_dicts()


def flagged(env: Path, forename: str, day: date) -> list[dict]:
    with warehouse.open_reader(published(env)) as wh:
        return wh.frame(
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
