"""The run-dated expectations answered as polars queries give exactly what Great
Expectations gives: the same result per expectation (counts, failing rows, percentages,
success), hence the same reasons and dq_results rows; and whatever the queries cannot
express is still answered by GX."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline import schemas
from pipeline.config import PROJECT_ROOT
from pipeline.ingest.delivery import read_delivery
from pipeline.validate import dated_queries
from pipeline.validate.checks import (
    ValidationContext,
    _crash_message,
    _gx_runner,
    _GxRunner,
    _reasons_from_gx,
    prepared_frame,
    staged_whole,
    validate_delivery,
)

SUITES = PROJECT_ROOT / "expectations"
GX = "great_expectations"


def _context(run_date: date) -> ValidationContext:
    return ValidationContext(run_date=run_date)


def _parameters(context: ValidationContext) -> dict[str, Any]:
    return {"run_date": context.run_date.isoformat(), "min_child_dob": context.min_child_dob.isoformat()}


def _frame(source: str, columns: dict[str, list[str | None]]) -> pl.DataFrame:
    """Rows of ``source``'s contract columns, the named ones filled, the rest null."""
    height = len(next(iter(columns.values())))
    data: dict[str, Any] = {"_row": list(range(1, height + 1))}
    for column in schemas.CONTRACT_COLUMNS[source]:
        data[column] = columns.get(column, [None] * height)
    return pl.DataFrame(data, schema={"_row": pl.Int64, **dict.fromkeys(schemas.CONTRACT_COLUMNS[source], pl.String)})


def _by_rule(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each result keyed by its rule, with what GX adds that is not an answer left out."""
    out = {}
    for item in document["results"]:
        config = item["expectation_config"]
        kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
        out[config["meta"]["rule"]] = {
            "success": item["success"], "type": config["type"], "kwargs": kwargs, "meta": config["meta"],
            "result": item["result"], "crashed": _crash_message(item.get("exception_info")),
        }
    return out


def assert_same_answers(
    runner: _GxRunner, source: str, frame: pl.DataFrame, context: ValidationContext
) -> dict[str, Any]:
    """GX's parameterised suite and ``validate_dated`` over ``frame``: identical results,
    reasons and dq_results rows. Returns the query side's document."""
    parameters = _parameters(context)
    by_gx = runner.validate(source, frame, parameters, parameterised_only=True)
    by_query = runner.validate_dated(source, frame, parameters)
    assert _by_rule(by_query) == _by_rule(by_gx)
    assert all(r["crashed"] is None for r in _by_rule(by_gx).values())
    assert by_query["success"] == by_gx["success"]
    reasons_gx, dq_gx = _reasons_from_gx(by_gx, source, frame, context)
    reasons_q, dq_q = _reasons_from_gx(by_query, source, frame, context)
    order = ["_row", "column", "rule"]
    assert reasons_q.sort(order).equals(reasons_gx.sort(order))
    assert dq_q.sort("expectation", "column_name").equals(dq_gx.sort("expectation", "column_name"))
    return by_query


RUN = date(2026, 11, 20)
# Dates of birth around the bounds of a register on RUN: a child is at most 18 on the run
# date, so the earliest date of birth is 2007-11-21 and the latest the run date itself.
DOBS: list[str | None] = [
    None, "", "   ", "garbage", "2015-13-01", "31/02/2015",
    "2007-11-21", "2007-11-20", "21/11/2007", "20/11/2007",    # exactly min, one day before
    "2026-11-20", "2026-11-21", "20/11/2026", "21/11/2026",    # exactly max, one day after
    " 2015-01-02 ", "\t02/01/2015\n", "2016-02-29", "29/02/2016", "2015-02-29", "29/02/2015",
    "2015-1-2", "2015/01/02", "20150102", "2015-01-02T00:00:00", "1900-01-01", "2099-12-31",
]


def test_date_of_birth_edge_cases_answer_as_gx() -> None:
    runner = _gx_runner(SUITES)
    for source in ("health_register", "school_census", "early_years", "social_care"):
        frame = _frame(source, {"dob": DOBS})
        document = assert_same_answers(runner, source, frame, _context(RUN))
        assert document["evaluated_by"] == {dated_queries.ENGINE: ["dob.range"], GX: []}
        (result,) = document["results"]
        # Not vacuous: the dates outside the bounds fail, the rest pass or are skipped.
        failing = {DOBS[r - 1] for r in result["result"]["unexpected_index_list"][0]["_row"]}
        assert failing == {"2007-11-20", "20/11/2007", "2026-11-21", "21/11/2026", "1900-01-01", "2099-12-31"}
        assert result["result"]["missing_count"] == 1 and result["result"]["element_count"] == len(DOBS)


@pytest.mark.parametrize("run_date", [date(2028, 2, 29), date(2027, 2, 28), date(2027, 3, 1)])
def test_a_run_date_around_29_february_answers_as_gx(run_date: date) -> None:
    context = _context(run_date)
    around = [context.min_child_dob + timedelta(days=d) for d in (-2, -1, 0, 1)] + [
        run_date + timedelta(days=d) for d in (-1, 0, 1)
    ]
    dobs = [d.isoformat() for d in around] + [d.strftime("%d/%m/%Y") for d in around] + ["2016-02-29", "2009-02-28"]
    assert_same_answers(_gx_runner(SUITES), "health_register", _frame("health_register", {"dob": dobs}), context)


def test_many_failing_rows_empty_and_all_null_frames_answer_as_gx() -> None:
    runner = _gx_runner(SUITES)
    many = _frame("health_register", {"dob": ["2099-01-01"] * 30 + ["2015-01-02"] * 5})
    document = assert_same_answers(runner, "health_register", many, _context(RUN))
    assert document["results"][0]["result"]["unexpected_count"] == 30
    assert_same_answers(runner, "health_register", _frame("health_register", {"dob": []}), _context(RUN))
    assert_same_answers(runner, "health_register", _frame("health_register", {"dob": [None, None]}), _context(RUN))


def test_date_times_not_after_the_run_date_answer_as_gx() -> None:
    """The contact and incident suites' date-time checks: the London date decides, an
    offset moves it, a local time the clocks skipped is not a date-time (passes here)."""
    times: list[str | None] = [
        None, "", "nonsense", "2026-11-20T23:59:59", "2026-11-21T00:00:00", "2026-11-20 23:30",
        "2026-11-20T23:30:00Z", "2026-11-21T00:30:00+01:00", "2026-11-20T23:30:00-01:00",
        "2026-06-20T23:30:00Z", "2026-03-29T01:30:00", "2026-10-25T01:30:00", "2026-11-21", "2027-01-01T00:00:00z",
    ]
    runner = _gx_runner(SUITES)
    for run_date in (RUN, date(2026, 6, 20)):
        incidents = _frame("police_incidents", {"reported_at": times, "updated_at": list(reversed(times))})
        document = assert_same_answers(runner, "police_incidents", incidents, _context(run_date))
        assert sorted(document["evaluated_by"][dated_queries.ENGINE]) == ["reported_at.not_future", "updated_at.not_future"]
        assert not document["success"]
        contacts = _frame("mash_contacts", {"received_at": times, "updated_at": times, "child_dob": DOBS[: len(times)]})
        assert len(assert_same_answers(runner, "mash_contacts", contacts, _context(run_date))["results"]) == 3


@pytest.mark.slow
def test_county_register_snapshots_answer_as_gx(tmp_path: Path) -> None:
    """Every register of a synthetic county snapshot, prepared as validation prepares it,
    on its own date and on dates that make many children too old or not yet born."""
    from pipeline.synth.county import write_synthetic_county

    write_synthetic_county(tmp_path / "synth", households=600, days=1, seed=11, start_date=date(2026, 10, 1))
    delivery = read_delivery(tmp_path / "synth" / "landing", date(2026, 10, 1))
    runner = _gx_runner(SUITES)
    registers = [s for s in schemas.REGISTER_SOURCES if s in delivery.files]
    assert len(registers) >= 3
    for source in registers:
        readable = delivery.files[source].frame
        prepared = prepared_frame(readable, source)
        for run_date in (date(2026, 10, 1), date(2042, 10, 1), date(2012, 3, 1)):
            document = assert_same_answers(runner, source, prepared, _context(run_date))
            if run_date.year != 2026:
                assert not document["success"], (source, run_date)


# ---- what the queries cannot express goes to GX ---------------------------------------------


def _suites_with(tmp_path: Path, source: str, edit: Any) -> Path:
    folder = tmp_path / "expectations"
    shutil.copytree(SUITES, folder)
    path = folder / f"{source}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document["expectations"])
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return folder


def _with_mostly(expectations: list[dict[str, Any]]) -> None:
    dob = next(e for e in expectations if e["meta"]["rule"] == "dob.range")
    dob["kwargs"]["mostly"] = 0.5


def _with_unknown_type(expectations: list[dict[str, Any]]) -> None:
    # A core GX expectation, parameterised like the others: no date of birth written as the run date.
    expectations.append({
        "type": "expect_column_values_to_not_match_regex",
        "kwargs": {"column": "dob", "regex": {"$PARAMETER": "run_date"}},
        "meta": {"rule": "dob.not_run_date_text", "reason": "'{value}' is the run date", "on_failure": "withhold_field"},
    })


def test_the_split_follows_the_suite_file() -> None:
    configs = json.loads((SUITES / "health_register.json").read_text(encoding="utf-8"))["expectations"]
    dob = next(e for e in configs if e["meta"]["rule"] == "dob.range")
    parameters = {"run_date": "2026-11-20", "min_child_dob": "2007-11-21"}
    by_query, by_gx = dated_queries.split_by_engine([dob], parameters)
    assert [q.kwargs for q in by_query] == [{"column": "dob", "min_value": "2007-11-21", "max_value": "2026-11-20"}]
    assert by_gx == []
    for odd in (
        {**dob, "type": "expect_column_values_to_be_between"},                      # a type it does not know
        {**dob, "kwargs": {**dob["kwargs"], "mostly": 0.9}},                       # a kwarg it does not know
        {**dob, "kwargs": {**dob["kwargs"], "min_value": {"$PARAMETER": "unset"}}},  # a parameter not given
        {**dob, "kwargs": {**dob["kwargs"], "min_value": "21/11/2007"}},            # a bound that is not ISO
    ):
        assert dated_queries.split_by_engine([odd], parameters) == ([], [odd])


def test_bounds_edited_in_the_suite_change_the_query(tmp_path: Path) -> None:
    def later_minimum(expectations: list[dict[str, Any]]) -> None:
        dob = next(e for e in expectations if e["meta"]["rule"] == "dob.range")
        dob["kwargs"]["min_value"] = "2015-01-01"

    runner = _GxRunner(_suites_with(tmp_path, "health_register", later_minimum))
    frame = _frame("health_register", {"dob": ["2014-12-31", "2015-01-01", "2026-11-21"]})
    document = assert_same_answers(runner, "health_register", frame, _context(RUN))
    assert document["evaluated_by"][dated_queries.ENGINE] == ["dob.range"]
    assert document["results"][0]["result"]["unexpected_index_list"] == [{"_row": [1, 3]}]


@pytest.mark.parametrize("edit", [_with_mostly, _with_unknown_type])
def test_what_the_queries_cannot_express_is_answered_by_gx(tmp_path: Path, edit: Any) -> None:
    runner = _GxRunner(_suites_with(tmp_path, "health_register", edit))
    frame = _frame("health_register", {"dob": DOBS[6:]})
    document = assert_same_answers(runner, "health_register", frame, _context(RUN))
    answered_by_gx = document["evaluated_by"][GX]
    assert answered_by_gx == (["dob.range"] if edit is _with_mostly else ["dob.not_run_date_text"])
    gx_results = [r for r in document["results"] if r["expectation_config"]["meta"]["rule"] in answered_by_gx]
    assert gx_results and all("batch_id" in r["expectation_config"]["kwargs"] for r in gx_results)


HEADER = "nhs_number,forename,surname,dob,address_line1,postcode,gp_practice_code,gender"
ROWS = [
    "401 023 2137,Ada,Turing,2007-11-20,3 Mill Lane,NR1 1AA,D82001,f",  # 18 yesterday, 19 today
    "943 476 5919,Zoë,Smith,2015-01-02,1 High St,nr13qh,D82001,F",
    "401 023 2145,Ben,Turing,2016-05-06,3 Mill Lane,NR1 1AA,D82001,m",
]


@pytest.mark.parametrize("edit", [None, _with_unknown_type])
def test_incremental_equals_full_whichever_engine_rechecks(tmp_path: Path, edit: Any) -> None:
    suites = _suites_with(tmp_path, "health_register", edit) if edit else SUITES
    yesterday = RUN - timedelta(days=1)
    outcomes = {}
    for day in (yesterday, RUN):
        folder = tmp_path / "landing" / day.isoformat()
        folder.mkdir(parents=True)
        (folder / "health_register.csv").write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    before = read_delivery(tmp_path / "landing", yesterday)
    first = validate_delivery(before, ValidationContext(run_date=yesterday, expectations_dir=suites))
    kept = before.files["health_register"].frame.filter(pl.col("_row").is_in(staged_whole(first, "health_register").implode()))
    delivery = read_delivery(tmp_path / "landing", RUN)
    for name, previous in (("full", {}), ("incremental", {"health_register": (yesterday, kept)})):
        outcomes[name] = validate_delivery(
            delivery, ValidationContext(run_date=RUN, expectations_dir=suites, previously_staged=previous)
        )
    full, incremental = outcomes["full"], outcomes["incremental"]
    assert incremental.staged["health_register"].equals(full.staged["health_register"])
    assert incremental.field_defects.equals(full.field_defects)
    assert incremental.field_defects["_row"].to_list() == [1]  # too old today
    # The checks that do not depend on the date count only the new and changed rows.
    counts = ["expectation", "column_name", "success", "unexpected_count"]
    assert incremental.dq_results.select(counts).equals(full.dq_results.select(counts))
    dated = pl.col("details").str.contains('"rule": "dob.(range|not_run_date_text)"')
    assert incremental.dq_results.filter(dated).height == (2 if edit else 1)
    assert incremental.dq_results.filter(dated).drop("details").equals(full.dq_results.filter(dated).drop("details"))
    rechecked = {
        json.loads(r["details"])["rule"]: json.loads(r["details"]).get("unchanged_rechecked_by")
        for r in incremental.dq_results.filter(pl.col("suite") == "health_register").iter_rows(named=True)
    }
    assert rechecked["dob.range"] == dated_queries.ENGINE
    assert rechecked["nhs_number.valid"] is None
    if edit:
        assert rechecked["dob.not_run_date_text"] == GX


@pytest.mark.parametrize("source", schemas.SOURCES)
def test_a_suite_over_no_rows_answers_as_gx_without_it(source: str) -> None:
    """A register snapshot with nothing new or changed: every shipped suite's answer for no
    rows, given without GX, is GX's own."""
    runner = _gx_runner(SUITES)
    empty = _frame(source, {schemas.CONTRACT_COLUMNS[source][0]: []})
    context = _context(RUN)
    parameters = {**_parameters(context), "incident_ids": ["I1"]}
    by_gx = runner.validate(source, empty, parameters)
    answered = runner.validate_changed(source, empty, parameters)
    assert "evaluated_by" in answered  # not GX's document
    assert len(answered["results"]) == len(by_gx["results"]) == len(runner.configs[source])
    assert _by_rule(answered) == _by_rule(by_gx)
    assert _reasons_from_gx(answered, source, empty, context)[1].equals(_reasons_from_gx(by_gx, source, empty, context)[1])
    one_row = _frame(source, {schemas.CONTRACT_COLUMNS[source][0]: ["x"]})
    assert "evaluated_by" not in runner.validate_changed(source, one_row, parameters)  # rows: GX


def test_a_suite_with_an_expectation_of_another_kind_asks_gx_even_without_rows(tmp_path: Path) -> None:
    def with_row_count(expectations: list[dict[str, Any]]) -> None:
        expectations.append({"type": "expect_table_row_count_to_be_between",
                             "kwargs": {"min_value": 1}, "meta": {"rule": "rows.some"}})

    runner = _GxRunner(_suites_with(tmp_path, "health_register", with_row_count))
    empty = _frame("health_register", {"dob": []})
    answered = runner.validate_changed("health_register", empty, _parameters(_context(RUN)))
    assert "evaluated_by" not in answered
    assert not answered["success"]  # GX's answer: no rows is too few
