"""`hearth review` says why each pair waits for a person and for how many nights."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number, upn_for, write_delivery

runner = CliRunner()
FIRST = date(2026, 10, 5)
HOME = {"address_line1": "9 Mill Lane", "town": "Norwich", "postcode": "NR3 2BB", "gender": "f"}


def _registers(landing: Path, day: date) -> None:
    # Twins on the health register; the school holds one child whose forename fits neither.
    write_delivery(landing, day, "health_register", [
        {"nhs_number": nhs_number(301), "forename": "Amy", "surname": "Rudd", "dob": "2015-06-01", **HOME,
         "gp_practice_code": "D82001"},
        {"nhs_number": nhs_number(302), "forename": "Ava", "surname": "Rudd", "dob": "2015-06-01", **HOME,
         "gp_practice_code": "D82001"},
    ])
    write_delivery(landing, day, "school_census", [
        {"upn": upn_for(301), "forename": "Emmy", "surname": "Rudd", "dob": "2015-06-01", **HOME,
         "school_urn": "121212", "school_name": "Mill Primary", "year_group": "6"},
    ])


@pytest.fixture
def two_nights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(tmp_path / "landing"))
    for k, day in enumerate((FIRST, FIRST + timedelta(days=1))):
        _registers(tmp_path / "landing", day)
        args = ["run", "--date", day.isoformat(), *(["--create"] if k == 0 else [])]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return tmp_path


def test_review_says_which_guard_holds_a_pair_and_since_when(two_nights: Path) -> None:
    result = runner.invoke(app, ["review", "--as", "reviewer"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "waits because: one of the two records has a twin in its household" in out
    assert f"in the queue since {FIRST.isoformat()} (1 night)" in out
    assert f"school_census:{upn_for(301)}" in out
