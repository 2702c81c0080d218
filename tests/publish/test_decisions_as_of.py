"""Which people's decisions a night sees: those made by the end of its date (Europe/London).

A rerun of a past night must reproduce what was published, so a review or a coordinator's
decision made later must not reach it. The boundary is London midnight, not UTC midnight:
in summer 23:30 UTC is already the next day in London.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from pipeline import schemas
from pipeline.publish import warehouse

NIGHT = date(2026, 7, 14)  # BST: London is UTC+1


def _review(at: datetime, decision: str) -> pl.DataFrame:
    return pl.DataFrame({"decided_at": [at], "decided_by": ["rev"], "left_id": ["health_register:1"],
                         "right_id": ["school_census:2"], "decision": [decision], "note": [None]},
                        schema_overrides={"note": pl.String})


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        ([], []),
        ([(datetime(2026, 7, 14, 22, 59, tzinfo=UTC), "match")], ["match"]),          # 23:59 in London
        ([(datetime(2026, 7, 14, 23, 0, tzinfo=UTC), "match")], []),                  # 00:00 the next day
        ([(datetime(2026, 7, 13, 9, 0, tzinfo=UTC), "match"),
          (datetime(2026, 7, 14, 23, 30, tzinfo=UTC), "nonmatch")], ["match"]),        # a later change of mind waits
        ([(datetime(2026, 7, 13, 9, 0, tzinfo=UTC), "match"),
          (datetime(2026, 7, 14, 8, 0, tzinfo=UTC), "nonmatch")], ["nonmatch"]),       # the latest by then wins
    ],
)
def test_reviews_a_night_sees(writer: warehouse.Warehouse, decisions: list, expected: list[str]) -> None:
    for at, decision in decisions:
        writer.insert("audit.review_decisions", _review(at, decision))
    seen = writer.query("review_decisions_latest", until=NIGHT)
    assert seen["decision"].to_list() == expected


def test_coordinator_decisions_a_night_sees_use_the_same_london_day(writer: warehouse.Warehouse) -> None:
    for at, level in ((datetime(2026, 7, 14, 22, 59, tzinfo=UTC), "medium"), (datetime(2026, 7, 14, 23, 0, tzinfo=UTC), "high")):
        writer.insert("audit.coordinator_decisions", pl.DataFrame(
            {"household_id": ["H1"], "decided_at": [at], "decided_by": ["coord"], "priority": [None],
             "risk_level": [level], "reason": ["seen"]}, schema=schemas.COORDINATOR_DECISIONS))
    assert writer.query("coordinator_decisions_until", until=NIGHT)["risk_level"].to_list() == ["medium"]
