"""The auditor extract: identifiers become keyed hashes, names never appear."""

from __future__ import annotations

import hashlib
import hmac
import sys
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.operate.pseudonymise import (
    DIGEST_CHARS,
    EXTRACT_QUERIES,
    PseudonymisationError,
    build_auditor_extract,
    key_from_env,
    pseudonymise,
    write_auditor_extract,
)
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent / "publish"))
from world import NAMES, build_two_nights

KEY = "k" * 40
OTHER_KEY = "j" * 40


def _h(value: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARS]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("child_id", "C1", _h("C1")),
        ("nhs_number", "9434765919", _h("9434765919")),
        ("left_id", "health_register:9434765919", "health_register:" + _h("9434765919")),
        ("right_id", "police_persons:INC-1:P3", f"police_persons:{_h('INC-1')}:{_h('P3')}"),
        ("child_id", None, None),
        ("risk_level", "high", "high"),
    ],
)
def test_each_kind_of_column(column: str, value: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({column: [value]}, schema={column: pl.String})
    assert pseudonymise({"t": frame}, KEY)["t"][column].to_list() == [expected]


def test_lists_of_ids_and_records_are_hashed_element_by_element() -> None:
    frame = pl.DataFrame({"incident_ids": [["INC-1", "INC-2"], []],
                          "source_records": [["school_census:U1"], None]})
    out = pseudonymise({"t": frame}, KEY)["t"]
    assert out["incident_ids"].to_list() == [[_h("INC-1"), _h("INC-2")], []]
    assert out["source_records"].to_list() == [["school_census:" + _h("U1")], None]


def test_the_same_value_gets_the_same_pseudonym_in_every_table_and_another_key_another() -> None:
    frames = {"a": pl.DataFrame({"child_id": ["C1", "C2", "C1"]}),
              "b": pl.DataFrame({"child_ids": [["C1"]]})}
    one, two = pseudonymise(frames, KEY), pseudonymise(frames, OTHER_KEY)
    assert one["a"]["child_id"][0] == one["a"]["child_id"][2] == one["b"]["child_ids"][0][0]
    assert one["a"]["child_id"][0] != one["a"]["child_id"][1]
    assert set(one["a"]["child_id"]).isdisjoint(two["a"]["child_id"])


def test_the_input_frames_are_not_changed() -> None:
    frame = pl.DataFrame({"child_id": ["C1"]})
    pseudonymise({"t": frame}, KEY)
    assert frame["child_id"].to_list() == ["C1"]


@pytest.mark.parametrize("column", ["forename", "surname", "dob", "address", "postcode", "note", "detail", "record", "whatever"])
def test_an_unclassified_column_is_refused(column: str) -> None:
    with pytest.raises(PseudonymisationError, match=f"t.{column}"):
        pseudonymise({"t": pl.DataFrame({"child_id": ["C1"], column: ["x"]})}, KEY)


@pytest.mark.parametrize(("env", "message"), [({}, "HEARTH_PSEUDONYM_KEY"), ({"HEARTH_PSEUDONYM_KEY": "short"}, "at least")])
def test_a_missing_or_short_key_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        pseudonymise({"t": pl.DataFrame({"child_id": ["C1"]})}, key_from_env(env))


def test_the_extract_from_a_published_warehouse_holds_no_names_or_raw_ids(settings: Settings, tmp_path: Path) -> None:
    with warehouse.open_writer(settings.warehouse) as wh:
        build_two_nights(wh)
        warehouse.refresh_published(wh)
    with warehouse.open_reader(settings.warehouse) as reader:
        frames = build_auditor_extract(reader, KEY)
    paths = write_auditor_extract(frames, tmp_path / "extract")
    assert set(frames) == set(EXTRACT_QUERIES)
    assert frames["flags"].height == 4 and frames["link_decisions"].height == 6
    # Enough to audit: the escalated child is the same pseudonym on both nights.
    flags = frames["flags"].filter(pl.col("child_id") == _h("C1")).sort("list_date")
    assert flags["risk_level"].to_list() == ["standard", "high"]
    assert flags["age_months"].to_list() == [6, 6]
    suspects = frames["unlocated_suspects"]
    assert suspects.height == 1 and suspects["listed_households"].to_list() == [[_h("H1")]]
    assert (suspects["person_ref"][0], suspects["person_id"][0]) == (_h("N-SUSPECT-1"), _h("P-SUSPECT-1"))
    forbidden = [*NAMES, "Mill Lane", "NR3 1AB", "INC-1", "N-SUSPECT-1", "health_register:N1", "2026-03-14"]
    for path in paths:
        data = path.read_bytes() if path.suffix == ".json" else repr(pl.read_parquet(path).rows()).encode()
        leaked = [s for s in forbidden if s.encode() in data]
        assert leaked == [], (path.name, leaked)
