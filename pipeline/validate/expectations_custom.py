"""hearth's custom Great Expectations 1.x expectations.

GX registers an expectation type when its class is defined, and a suite file loaded in a
process that has not imported the class silently comes back *without* those expectations
(and then validates as success). ``pipeline.validate.checks`` imports this module before loading
any suite and asserts the loaded expectation count.

Each expectation is a column-map expectation over a pandas column (GX has no polars data
source); the pandas implementations hand the column to the same polars expressions that
staging uses (``pipeline.validate.landing_values``), so "passes validation" and "can be staged" agree.
Like every GX map expectation they skip nulls: suites pair them with not-null checks where
missing is wrong.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import polars as pl

from pipeline.logs import quiet_third_party

quiet_third_party()  # before GX is imported: it logs ~200 INFO lines at import time

from great_expectations.core.suite_parameters import SuiteParameterDict  # noqa: E402
from great_expectations.execution_engine import PandasExecutionEngine  # noqa: E402
from great_expectations.expectations.expectation import ColumnMapExpectation  # noqa: E402
from great_expectations.expectations.metrics.map_metric_provider import (  # noqa: E402
    ColumnMapMetricProvider,
    column_condition_partial,
)

from pipeline.validate import landing_values as lv  # noqa: E402
from pipeline.validate.dated_queries import (  # noqa: E402
    landing_dates_between,
    landing_datetimes_on_or_before,
)


def _as_polars(column: pd.Series) -> pl.Series:
    return pl.Series("v", column.astype(object).tolist(), dtype=pl.String)


def _to_mask(values: pl.Series, index: pd.Index) -> pd.Series:
    return pd.Series(values.fill_null(True).to_numpy().astype(bool), index=index)


# ---- identifiers -------------------------------------------------------------------------


class ColumnValuesValidNhsNumber(ColumnMapMetricProvider):
    condition_metric_name = "column_values.hearth_valid_nhs_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return _to_mask(lv.valid_nhs_numbers(_as_polars(column)), column.index)


class ExpectColumnValuesToBeValidNhsNumber(ColumnMapExpectation):
    """10 digits passing the NHS Modulus 11 check (python-stdnum), not in the 999 test range."""

    map_metric = "column_values.hearth_valid_nhs_number"
    success_keys = ("mostly",)
    args_keys = ("column",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["hearth"], "contributors": ["hearth"]}


class ColumnValuesValidUpn(ColumnMapMetricProvider):
    condition_metric_name = "column_values.hearth_valid_upn"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return _to_mask(lv.valid_upns(_as_polars(column)), column.index)


class ExpectColumnValuesToBeValidUpn(ColumnMapExpectation):
    """A Unique Pupil Number with a valid DfE check letter and LA number (python-stdnum)."""

    map_metric = "column_values.hearth_valid_upn"
    success_keys = ("mostly",)
    args_keys = ("column",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["hearth"], "contributors": ["hearth"]}


# ---- dates and datetimes -------------------------------------------------------------------


class ColumnValuesLandingDate(ColumnMapMetricProvider):
    condition_metric_name = "column_values.hearth_landing_date"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        parsed = pl.select(lv.landing_date(pl.lit(_as_polars(column)))).to_series()
        return pd.Series(parsed.is_not_null().to_numpy(), index=column.index)


class ExpectColumnValuesToBeLandingDates(ColumnMapExpectation):
    """A real calendar date written ``YYYY-MM-DD`` or ``DD/MM/YYYY``."""

    map_metric = "column_values.hearth_landing_date"
    success_keys = ("mostly",)
    args_keys = ("column",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["hearth"], "contributors": ["hearth"]}


class ColumnValuesLandingDateBetween(ColumnMapMetricProvider):
    condition_metric_name = "column_values.hearth_landing_date_between"
    condition_value_keys = ("min_value", "max_value")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, min_value: str, max_value: str, **kwargs: Any) -> pd.Series:
        # The same condition answers for unchanged rows without GX (dated_queries).
        inside = pl.select(landing_dates_between(pl.lit(_as_polars(column)), min_value, max_value)).to_series()
        return _to_mask(inside, column.index)


class ExpectColumnValuesToBeLandingDatesBetween(ColumnMapExpectation):
    """The date (as parsed above) lies in [min_value, max_value], ISO dates, inclusive."""

    min_value: str | SuiteParameterDict
    max_value: str | SuiteParameterDict
    map_metric = "column_values.hearth_landing_date_between"
    success_keys = ("min_value", "max_value", "mostly")
    args_keys = ("column", "min_value", "max_value")
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["hearth"], "contributors": ["hearth"]}


class ColumnValuesLandingDatetime(ColumnMapMetricProvider):
    condition_metric_name = "column_values.hearth_landing_datetime"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        parsed = pl.select(lv.landing_datetime_utc(pl.lit(_as_polars(column)))).to_series()
        return pd.Series(parsed.is_not_null().to_numpy(), index=column.index)


class ExpectColumnValuesToBeLandingDatetimes(ColumnMapExpectation):
    """ISO 8601 date and time, with an offset or as a time that exists in Europe/London."""

    map_metric = "column_values.hearth_landing_datetime"
    success_keys = ("mostly",)
    args_keys = ("column",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["hearth"], "contributors": ["hearth"]}


class ColumnValuesLandingDatetimeOnOrBefore(ColumnMapMetricProvider):
    condition_metric_name = "column_values.hearth_landing_datetime_on_or_before"
    condition_value_keys = ("max_date",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, max_date: str, **kwargs: Any) -> pd.Series:
        on_or_before = pl.select(landing_datetimes_on_or_before(pl.lit(_as_polars(column)), max_date)).to_series()
        return _to_mask(on_or_before, column.index)


class ExpectColumnValuesToBeLandingDatetimesOnOrBefore(ColumnMapExpectation):
    """The datetime's Europe/London date is on or before ``max_date`` (ISO date)."""

    max_date: str | SuiteParameterDict
    map_metric = "column_values.hearth_landing_datetime_on_or_before"
    success_keys = ("max_date", "mostly")
    args_keys = ("column", "max_date")
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["hearth"], "contributors": ["hearth"]}


CUSTOM_EXPECTATIONS = (
    ExpectColumnValuesToBeValidNhsNumber,
    ExpectColumnValuesToBeValidUpn,
    ExpectColumnValuesToBeLandingDates,
    ExpectColumnValuesToBeLandingDatesBetween,
    ExpectColumnValuesToBeLandingDatetimes,
    ExpectColumnValuesToBeLandingDatetimesOnOrBefore,
)

