"""Landing promises of docs/landing.md, through the real reader (and validation where the
value is judged): a column named twice, an unreadable Parquet file, and local times on
the nights the clocks change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import InputError
from pipeline.ingest.delivery import raise_for_problems, read_delivery
from pipeline.validate.checks import ValidationContext, validate_delivery

DAY = date(2026, 10, 26)
HEALTH = "nhs_number,forename,surname,dob,address_line1,postcode,gp_practice_code"
HEALTH_ROW = "943 476 5919,Zoe,Smith,2015-01-02,1 High St,NR1 3QH,D82001"
INCIDENTS = "incident_id,reported_at,updated_at,dash_risk,children_present,address_line1,postcode"


def _folder(tmp_path: Path, day: date = DAY) -> Path:
    folder = tmp_path / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("header", [f"{HEALTH},surname", f"{HEALTH},Surname ", f"{HEALTH}, SURNAME"])
def test_a_column_named_twice_refuses_the_file_naming_file_and_column(tmp_path: Path, header: str) -> None:
    folder = _folder(tmp_path)
    (folder / "health_register.csv").write_text(f"{header}\n{HEALTH_ROW},Smyth\n", encoding="utf-8")
    (folder / "police_incidents.csv").write_text(f"{INCIDENTS}\nI1,2026-10-25T10:00:00Z,2026-10-25T10:00:00Z,"
                                                 "standard,no,2 Low Rd,NR2 4AB\n", encoding="utf-8")
    delivery = read_delivery(tmp_path, DAY)
    assert "health_register" not in delivery.files, "neither value of a doubled column may be guessed"
    assert "police_incidents" in delivery.files, "the other files are still read"
    assert [(p.file, p.row, p.column) for p in delivery.problems] == [("health_register.csv", None, "surname")]
    assert "appears twice" in delivery.problems[0].message
    with pytest.raises(InputError, match=r"health_register.csv, column surname: column .* appears twice") as err:
        raise_for_problems(delivery)
    assert err.value.exit_code == 2


def _valid_parquet(path: Path) -> bytes:
    pl.DataFrame({c: [v] for c, v in zip(HEALTH.split(","), HEALTH_ROW.split(","), strict=True)}).write_parquet(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    "damage",
    [lambda data: b"PAR1 this is not parquet at all",  # the magic bytes, then nonsense
     lambda data: data[: len(data) // 2],               # cut short in transfer
     lambda data: b"nhs_number,forename\n1,2\n"],       # a CSV named .parquet
    ids=["garbage", "truncated", "csv-named-parquet"],
)
def test_an_unreadable_parquet_file_is_refused_and_named(tmp_path: Path, damage: object) -> None:
    folder = _folder(tmp_path)
    path = folder / "health_register.parquet"
    path.write_bytes(damage(_valid_parquet(path)))  # type: ignore[operator]
    delivery = read_delivery(tmp_path, DAY)
    assert delivery.files == {}
    (problem,) = delivery.problems
    assert problem.file == "health_register.parquet"
    assert "is not a readable Parquet file" in problem.message
    with pytest.raises(InputError, match="health_register.parquet: is not a readable Parquet file"):
        raise_for_problems(delivery)


def _police(tmp_path: Path, day: date, rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    """Deliver incidents (id, reported_at, updated_at) on ``day``; return what validation staged,
    after checking every row is either staged or quarantined."""
    folder = _folder(tmp_path, day)
    body = "".join(f"{i},{r},{u},standard,no,2 Low Rd,NR2 4AB\n" for i, r, u in rows)
    (folder / "police_incidents.csv").write_text(f"{INCIDENTS}\n{body}", encoding="utf-8")
    outcome = validate_delivery(read_delivery(tmp_path, day),
                                ValidationContext(run_date=day, police_max_reject_share=1.0))
    counts = outcome.counts["police_incidents"]
    assert counts["delivered"] == counts["staged"] + counts["quarantined"] == len(rows)
    return outcome.staged.get("police_incidents", pl.DataFrame()), outcome.quarantine


def test_a_local_time_in_the_hour_repeated_when_the_clocks_go_back_is_the_earlier_bst_instant(tmp_path: Path) -> None:
    # 25 October 2026: at 02:00 BST the clocks go back to 01:00 GMT, so 01:30 happens twice.
    staged, quarantine = _police(tmp_path, DAY, [
        ("I-AMBIG", "2026-10-25T01:30:00", "2026-10-25 01:59:59"),
        ("I-BST", "2026-10-25T00:30:00", "2026-10-25T00:30:00"),
        ("I-GMT", "2026-10-25T02:30:00", "2026-10-25T02:30:00"),
        ("I-OFFSET", "2026-10-25T01:30:00+00:00", "2026-10-25T01:30:00+00:00"),  # the later 01:30, said so
    ])
    assert quarantine.height == 0
    got = {r["incident_id"]: (r["reported_at"], r["updated_at"]) for r in staged.iter_rows(named=True)}
    assert got == {
        "I-AMBIG": (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC)),
        "I-BST": (datetime(2026, 10, 24, 23, 30, tzinfo=UTC),) * 2,
        "I-GMT": (datetime(2026, 10, 25, 2, 30, tzinfo=UTC),) * 2,
        "I-OFFSET": (datetime(2026, 10, 25, 1, 30, tzinfo=UTC),) * 2,
    }


def test_a_local_time_skipped_when_the_clocks_go_forward_is_quarantined(tmp_path: Path) -> None:
    # 28 March 2027: at 01:00 GMT the clocks go forward to 02:00 BST; 01:30 never happens.
    day = date(2027, 3, 29)
    staged, quarantine = _police(tmp_path, day, [
        ("I-GAP", "2027-03-28T01:30:00", "2027-03-28T03:00:00"),
        ("I-OK", "2027-03-28T00:30:00", "2027-03-28T02:30:00"),
    ])
    assert staged["incident_id"].to_list() == ["I-OK"]
    assert staged["updated_at"].to_list() == [datetime(2027, 3, 28, 1, 30, tzinfo=UTC)]
    (row,) = quarantine.iter_rows(named=True)
    assert row["_file"] == "police_incidents.csv" and row["_row"] == 1
    assert any(r.startswith("reported_at") for r in row["reasons"]), row["reasons"]
