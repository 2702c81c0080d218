"""Per-school notification files: the allow-listed columns, one file per school, reruns replace."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from pipeline import schemas
from pipeline.errors import HearthError
from pipeline.outputs.school_exports import (
    SCHOOL_FILE_COLUMNS,
    school_file_name,
    write_school_notification_files,
)

DAY = date(2026, 10, 5)
NOTIFY = datetime(2026, 10, 5, 8, 30)


def _notifications(rows: list[dict]) -> pl.DataFrame:
    base = {"list_date": DAY, "notify_by": NOTIFY, "incident_reported_at": datetime(2026, 10, 4, 21, 40),
            "child_present": "yes", "upn": None}
    frame = pl.DataFrame([{**base, **r} for r in rows], schema=schemas.SCHOOL_NOTIFICATIONS)
    # The mart has more columns than a school may see; they must never be exported.
    return frame.with_columns(run_id=pl.lit("run-1"), suspect_name=pl.lit("NEVER EXPORT"))


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_file_per_school_with_only_the_allowed_columns(tmp_path: Path) -> None:
    frame = _notifications([
        {"school_urn": "121212", "child_id": "C2", "upn": "A1", "incident_id": "INC-1"},
        {"school_urn": "121212", "child_id": "C1", "upn": "A2", "incident_id": "INC-1"},
        {"school_urn": "343434", "child_id": "C3", "incident_id": "INC-2", "child_present": "unknown"},
    ])
    files = write_school_notification_files(frame, tmp_path, list_date=DAY)
    assert sorted(p.name for p in files) == ["school-121212.csv", "school-343434.csv"]
    first = _read(tmp_path / "school-121212.csv")
    assert list(first[0]) == list(SCHOOL_FILE_COLUMNS)
    assert [r["child_id"] for r in first] == ["C1", "C2"]
    assert first[0]["notify_by"] == "2026-10-05 08:30"
    assert first[0]["incident_reported_at"] == "2026-10-04 21:40"
    second = _read(tmp_path / "school-343434.csv")
    assert second == [{"child_id": "C3", "upn": "", "incident_reported_at": "2026-10-04 21:40",
                       "child_present": "unknown", "notify_by": "2026-10-05 08:30"}]
    text = "".join(p.read_text(encoding="utf-8") for p in files)
    assert "NEVER EXPORT" not in text and "INC-" not in text and "run-1" not in text


def test_rerun_replaces_files_and_drops_schools_no_longer_listed(tmp_path: Path) -> None:
    write_school_notification_files(
        _notifications([{"school_urn": "121212", "child_id": "C1", "incident_id": "I1"},
                        {"school_urn": "343434", "child_id": "C3", "incident_id": "I2"}]),
        tmp_path, list_date=DAY,
    )
    files = write_school_notification_files(
        _notifications([{"school_urn": "121212", "child_id": "C9", "incident_id": "I1"}]), tmp_path, list_date=DAY,
    )
    assert [p.name for p in files] == ["school-121212.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["school-121212.csv"]
    assert [r["child_id"] for r in _read(files[0])] == ["C9"]


def test_empty_day_writes_nothing_and_clears_old_files(tmp_path: Path) -> None:
    (tmp_path / "school-121212.csv").write_text("old", encoding="utf-8")
    assert write_school_notification_files(_notifications([]), tmp_path, list_date=DAY) == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("urn", "ok"), [("121212", True), ("A1B2", True), ("../etc", False),
                                         ("12 12", False), ("", False)])
def test_school_file_name_refuses_path_like_urns(urn: str, ok: bool) -> None:
    if ok:
        assert school_file_name(urn) == f"school-{urn}.csv"
    else:
        with pytest.raises(HearthError, match="URN"):
            school_file_name(urn)


def test_rows_of_another_date_are_refused(tmp_path: Path) -> None:
    frame = _notifications([{"school_urn": "121212", "child_id": "C1", "incident_id": "I1"}])
    with pytest.raises(HearthError, match="list date"):
        write_school_notification_files(frame, tmp_path, list_date=date(2026, 10, 6))
