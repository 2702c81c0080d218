"""The run-dated expectations of a suite as polars queries, for rows checked before.

A register row delivered again unchanged passed every expectation of its suite when it was
staged; only the expectations that take run parameters (``{"$PARAMETER": ...}``: a date
of birth not in the future, a child not too old on the run date) can answer differently
tonight. Run through Great Expectations over a whole register, those few checks cost a
pandas copy of the snapshot and GX's per-row machinery; here the same condition is one
polars expression over the prepared frame, answered in the shape of GX's own result
(``ExpectationValidationResult.to_json_dict()`` with ``result_format`` COMPLETE and the
failing rows' ``_row``), so ``checks._reasons_from_gx`` turns both into the same reasons
and dq_results rows.

Each query is read from the suite file: its expectation type chooses the condition, its
kwargs (after the run's parameters are put in) are the bounds, so editing a suite's
bounds changes GX and the query alike. The conditions are the functions the custom GX
expectations themselves call (``pipeline.validate.expectations_custom``). An expectation
whose type this module does not know, or whose kwargs it does not expect (``mostly``, a
bound that is not an ISO date, a parameter the run does not give), is left to GX:
:func:`split_by_engine`. Tests run both engines side by side on the edge cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipeline.validate import landing_values as lv

ROW_ID = "_row"  # the column GX reports failing rows by (checks._GxRunner.RESULT_FORMAT)
ENGINE = "hearth polars query"  # recorded in each result's meta


def landing_dates_between(values: pl.Expr, min_value: str, max_value: str) -> pl.Expr:
    """True where the landing date lies in [min_value, max_value] (ISO dates, inclusive).
    Text that is not a landing date passes: ``..._to_be_landing_dates`` reports it."""
    inside = lv.landing_date(values).is_between(date.fromisoformat(min_value), date.fromisoformat(max_value))
    return inside.fill_null(True)


def landing_datetimes_on_or_before(values: pl.Expr, max_date: str) -> pl.Expr:
    """True where the date-time's Europe/London date is on or before ``max_date`` (ISO).
    Text that is not a landing date-time passes: ``..._to_be_landing_datetimes`` reports it."""
    return (lv.london_date(lv.landing_datetime_utc(values)) <= date.fromisoformat(max_date)).fill_null(True)


@dataclass(frozen=True)
class _Query:
    bounds: tuple[str, ...]  # the kwargs besides ``column``, each an ISO date
    passes: Callable[..., pl.Expr]  # (values, *bounds) -> True where the value passes


QUERIES: dict[str, _Query] = {
    "expect_column_values_to_be_landing_dates_between": _Query(("min_value", "max_value"), landing_dates_between),
    "expect_column_values_to_be_landing_datetimes_on_or_before": _Query(("max_date",), landing_datetimes_on_or_before),
}


@dataclass(frozen=True)
class QueryExpectation:
    """One suite expectation the query engine answers, with its run's kwargs resolved."""

    config: dict[str, Any]  # as in the suite file
    kwargs: dict[str, Any]  # the parameters put in, in the suite's key order


def _resolved(kwargs: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any] | None:
    """``kwargs`` with each ``{"$PARAMETER": name}`` replaced by the run's value; None if a
    parameter is missing."""
    out = {}
    for key, value in kwargs.items():
        if isinstance(value, dict):
            if set(value) != {"$PARAMETER"} or value["$PARAMETER"] not in parameters:
                return None
            value = parameters[value["$PARAMETER"]]
        out[key] = value
    return out


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)  # as the custom expectation reads it: a bound it cannot read is GX's to report
    except ValueError:
        return False
    return True


def _answerable(config: dict[str, Any], parameters: dict[str, Any]) -> QueryExpectation | None:
    query = QUERIES.get(str(config.get("type")))
    if query is None:
        return None
    kwargs = _resolved(config.get("kwargs") or {}, parameters)
    if kwargs is None or set(kwargs) != {"column", *query.bounds} or not isinstance(kwargs["column"], str):
        return None
    if not all(_is_iso_date(kwargs[b]) for b in query.bounds):
        return None
    return QueryExpectation(config=config, kwargs=kwargs)


def split_by_engine(
    expectations: list[dict[str, Any]], parameters: dict[str, Any]
) -> tuple[list[QueryExpectation], list[dict[str, Any]]]:
    """(the expectations answered here, the rest for GX), in suite order."""
    by_query: list[QueryExpectation] = []
    by_gx: list[dict[str, Any]] = []
    for config in expectations:
        answerable = _answerable(config, parameters)
        if answerable is None:
            by_gx.append(config)
        else:
            by_query.append(answerable)
    return by_query, by_gx


def query_results(prepared: pl.DataFrame, expectations: list[QueryExpectation]) -> list[dict[str, Any]]:
    """One GX-shaped result per expectation over ``prepared`` (which has ``_row`` and the
    expectations' columns). Like every GX map expectation, nulls are skipped: counted in
    ``element_count`` and ``missing_count``, never unexpected."""
    if not expectations:
        return []
    counts = []
    failing = []
    for i, expectation in enumerate(expectations):
        query = QUERIES[expectation.config["type"]]
        values = pl.col(expectation.kwargs["column"])
        fails = values.is_not_null() & ~query.passes(values, *[expectation.kwargs[b] for b in query.bounds])
        counts += [values.null_count().alias(f"missing_{i}"), fails.sum().alias(f"unexpected_{i}")]
        failing.append(pl.col(ROW_ID).filter(fails).implode().alias(f"rows_{i}"))
    summary = prepared.select(*counts, *failing).row(0, named=True)
    element_count = prepared.height
    return [
        _result(expectation, element_count, int(summary[f"missing_{i}"]), [int(r) for r in summary[f"rows_{i}"]])
        for i, expectation in enumerate(expectations)
    ]


# ---- a batch without rows ---------------------------------------------------------------------

# GX's column map expectations, which over no rows all answer the same: nothing checked,
# nothing failed (``expect_column_values_to_not_be_null`` without the missing counts, as
# it has none). Tested against GX for every shipped suite.
MAP_EXPECTATIONS = frozenset({
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_be_landing_dates", "expect_column_values_to_be_landing_dates_between",
    "expect_column_values_to_be_landing_datetimes", "expect_column_values_to_be_landing_datetimes_on_or_before",
    "expect_column_values_to_be_valid_nhs_number", "expect_column_values_to_be_valid_upn",
})


def results_without_rows(expectations: list[dict[str, Any]], parameters: dict[str, Any]) -> list[dict[str, Any]] | None:
    """What GX answers for ``expectations`` over a batch with no rows (a register snapshot
    with no new or changed row), or None if any is not a plain column map expectation
    (then GX is asked, as before)."""
    out = []
    for config in expectations:
        kwargs = _resolved(config.get("kwargs") or {}, parameters)
        if config.get("type") not in MAP_EXPECTATIONS or kwargs is None or "row_condition" in kwargs:
            return None
        result = _result(QueryExpectation(config=config, kwargs=kwargs), 0, 0, [])
        if config["type"] == "expect_column_values_to_not_be_null":
            for key in ("missing_count", "missing_percent", "unexpected_percent_total", "unexpected_percent_nonmissing"):
                del result["result"][key]
        out.append(result)
    return out


def _result(expectation: QueryExpectation, element_count: int, missing: int, rows: list[int]) -> dict[str, Any]:
    """What GX 1.x returns for a column map expectation (``_format_map_output``): the same
    keys, the same arithmetic for the percentages, success as ``mostly`` = 1 decides it."""
    nonnull = element_count - missing
    unexpected = len(rows)
    index_list = [{ROW_ID: rows}] if rows else []
    result = {
        "element_count": element_count,
        "unexpected_count": unexpected,
        "unexpected_percent": unexpected / nonnull * 100 if element_count > 0 and nonnull > 0 else None,
        "unexpected_index_column_names": [ROW_ID],
        "missing_count": missing,
        "missing_percent": missing / element_count * 100 if element_count > 0 else None,
        "unexpected_percent_total": unexpected / element_count * 100 if element_count > 0 else None,
        "unexpected_percent_nonmissing": unexpected / nonnull * 100 if element_count > 0 and nonnull > 0 else None,
        "partial_unexpected_index_list": index_list,
        "unexpected_index_list": index_list,
    }
    return {
        "success": unexpected == 0,
        "expectation_config": {
            "type": expectation.config["type"],
            "kwargs": expectation.kwargs,
            "meta": expectation.config.get("meta") or {},
        },
        "result": result,
        "meta": {"evaluated_by": ENGINE},
        "exception_info": {"raised_exception": False, "exception_traceback": None, "exception_message": None},
    }
