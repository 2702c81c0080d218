"""The auditor views (sql/ddl/007) over a hand-built two-night warehouse, read from the
published copy exactly as an auditor would."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT, Settings
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent))
from world import D1, D2, build_two_nights

DOC = PROJECT_ROOT / "docs" / "auditing.md"


@pytest.fixture
def published(settings: Settings) -> Iterator[warehouse.Warehouse]:
    with warehouse.open_writer(settings.warehouse) as wh:
        build_two_nights(wh)
        warehouse.refresh_published(wh)
    with warehouse.open_reader(settings.warehouse) as reader:
        yield reader


def _why(wh: warehouse.Warehouse, day: object, child: str) -> dict:
    rows = wh.frame("SELECT * FROM audit.why_flagged WHERE list_date = $d AND child_id = $c", {"d": day, "c": child})
    assert rows.height == 1
    return rows.row(0, named=True)


def test_why_flagged_shows_the_incident_as_it_stood_that_night(published: warehouse.Warehouse) -> None:
    before, after = _why(published, D1, "C1"), _why(published, D2, "C1")
    assert [(i["incident_id"], i["dash_risk"]) for i in before["incidents"]] == [("INC-1", "standard")]
    assert [(i["incident_id"], i["dash_risk"]) for i in after["incidents"]] == [("INC-1", "high")]
    assert after["incidents"][0]["first_delivered"] == D1
    assert after["incidents"][0]["reaches_household_as"] == ["incident_address", "victim_home via P1"]


def test_why_flagged_carries_rules_household_records_and_link_scores(published: warehouse.Warehouse) -> None:
    row = _why(published, D2, "C1")
    assert (row["risk_level"], row["status"], row["rules_version"]) == ("high", "escalated", "2026.1")
    assert [e["rule_id"] for e in row["evidence"]] == ["DASH_HIGH", "DA_IN_HOUSEHOLD"]
    assert row["household_address"] == "14 Mill Lane, Norwich"
    assert row["source_records"] == ["health_register:N1", "police_persons:INC-1:P3", "school_census:U1"]
    decisions = {(d["left_id"], d["right_id"]): d["decision"] for d in row["link_decisions"]}
    # The links that made the child, not the pairs the model turned down.
    assert decisions == {
        ("health_register:N1", "school_census:U1"): "auto_match",
        ("police_persons:INC-1:P3", "health_register:N1"): "auto_match",
    }
    assert all(d["scores"] for d in row["link_decisions"])


def test_why_flagged_has_one_row_per_list_date_and_child(published: warehouse.Warehouse) -> None:
    counts = published.fetch("SELECT count(*), count(DISTINCT (list_date, child_id)) FROM audit.why_flagged")
    flags = published.fetch("SELECT count(*) FROM marts.child_flags")
    assert counts == [(flags[0][0], flags[0][0])]


def test_night_changes_lists_new_dropped_escalated_and_listed(published: warehouse.Warehouse) -> None:
    rows = published.fetch(
        "SELECT list_date, previous_list_date, change, subject_id, level_before, level_after "
        "FROM audit.night_changes ORDER BY list_date, change, subject_id"
    )
    assert rows == [
        (D1, None, "household_listed", "H1", None, "standard"),
        (D1, None, "newly_flagged", "C1", None, "standard"),
        (D1, None, "newly_flagged", "C2", None, "standard"),
        (D2, D1, "dropped", "C2", "standard", None),
        (D2, D1, "escalated", "C1", "standard", "high"),
        (D2, D1, "household_listed", "H1", "standard", "high"),
        (D2, D1, "household_listed", "H2", None, "medium"),
        (D2, D1, "newly_flagged", "C3", None, "medium"),
    ]


def test_police_record_links_says_which_households_and_children_a_record_reached(
    published: warehouse.Warehouse,
) -> None:
    rows = {
        r["record_id"]: r
        for r in published.frame("SELECT * FROM audit.police_record_links WHERE as_of = $d", {"d": D2}).iter_rows(named=True)
    }
    assert set(rows) == {"police_persons:INC-1:P1", "police_persons:INC-1:P3", "police_incidents:INC-1",
                         "police_persons:INC-2:P5"}
    victim = rows["police_persons:INC-1:P1"]
    assert (victim["role"], victim["home_household_id"]) == ("victim", "H1")
    assert victim["households_reached"] == ["H1"] and victim["children_in_households_reached"] == ["C1", "C2"]
    child = rows["police_persons:INC-1:P3"]
    assert child["linked_child_id"] == "C1" and child["link_probability"] == pytest.approx(0.99)
    assert [d["decision"] for d in child["link_decisions"]] == ["auto_match"]
    assert rows["police_incidents:INC-1"]["bases"] == ["incident_address"]
    assert rows["police_persons:INC-2:P5"]["children_in_households_reached"] == ["C3"]


def test_quarantine_summary_counts_each_rejected_row_once_per_reason(published: warehouse.Warehouse) -> None:
    rows = published.fetch("SELECT column_name, problem, rows FROM audit.quarantine_summary ORDER BY problem")
    assert rows == [("dob", "dob: '…' is not a date", 1), ("nhs_number", "nhs_number: '…' fails Modulus 11", 2)]


def _doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_auditing_guide_has_queries() -> None:
    assert len(_doc_queries()) >= 10


@pytest.mark.parametrize("index", range(len(_doc_queries()) if DOC.exists() else 0))
def test_every_query_in_the_auditing_guide_runs_on_the_published_file(
    published: warehouse.Warehouse, index: int
) -> None:
    published.fetch(_doc_queries()[index])
