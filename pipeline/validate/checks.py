"""Validate: split each delivered file into typed valid rows and quarantined rows.

Entry point: :func:`validate_delivery`. Row-level rules are Great Expectations 1.x suites,
one per source, stored as ``expectations/<source>.json`` and run on every delivery; the
rules GX cannot express per row (duplicates, which row of a duplicate key survives) and
the batch-level checks are plain polars here, and are recorded in ``dq_results`` beside the
GX results. Nothing delivered is lost: ``delivered = staged + quarantined`` for each file,
and every quarantined row keeps the original text of every column and every reason.

A rule's expectation says in its suite file what a failure costs (``meta.on_failure``):
by default the row is quarantined whole; ``withhold_field`` nulls only the failing value,
records it in ``field_defects`` and stages the row, so a child with one bad field stays in
the safety net. A register row is still quarantined whole when what is left cannot
identify a child (:data:`IDENTIFIERS`, :func:`_unidentifiable_reasons`).

What happens to each kind of defect is written down in ``docs/landing.md``.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import schemas
from pipeline.config import IngestSettings
from pipeline.errors import DataQualityError, ExpectationSuiteError, Problem, StaleRegisterError
from pipeline.ingest.delivery import RAW_LINE, Delivery, LandedFile
from pipeline.link.standardise import record_id, stable_id
from pipeline.paths import shipped
from pipeline.sources import REGISTRY, SOURCES, spec
from pipeline.validate import dated_queries
from pipeline.validate import landing_values as lv

log = logging.getLogger(__name__)

HEARTH_SUITE = "hearth.validate"  # dq_results suite name of the checks made here, not in GX
QUARANTINE_TABLE = "audit.quarantine"
# The registry's order: police first (persons are checked against the incidents that passed
# in this delivery), then the registers.
_ORDER = SOURCES
# Which columns identify a record, and how a duplicate key is settled (see docs/landing.md).
_KEYS: dict[str, tuple[str, ...]] = {s.name: s.key for s in REGISTRY}
# What a rule's failure costs, from its expectation's meta.on_failure in the suite file.
WITHHOLD_FIELD = "withhold_field"
QUARANTINE_ROW = "quarantine_row"
FIELD_DEFECTS_TABLE = "audit.field_defects"
# The identifier of each register. A row whose identifier is unusable is still a child
# when a name and a date of birth are left; it is staged under a substitute id.
IDENTIFIERS: dict[str, str] = {s.name: s.identifier for s in REGISTRY if s.identifier}
# Which landing columns are typed as dates and date-times: read from each staged schema.
_DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    s.name: tuple(c for c, t in s.staged.items() if t == pl.Date) for s in REGISTRY
}
_DATETIME_COLUMNS: dict[str, tuple[str, ...]] = {
    s.name: tuple(c for c, t in s.staged.items() if isinstance(t, pl.Datetime) or t == pl.Datetime)
    for s in REGISTRY
}


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs to know beyond the delivery itself."""

    run_date: date
    known_incident_ids: frozenset[str] = frozenset()
    previous_register_counts: dict[str, int] = field(default_factory=dict)
    register_max_drop_share: float = 0.10
    police_max_reject_share: float = 0.05
    police_min_rejects: int = 5
    register_max_age_years: int = 18
    expectations_dir: Path = shipped("expectations")
    # Per register: the date of its previous snapshot and the rows (delivered text) staged
    # whole from it (none of their values withheld: see staged_whole). A row delivered again
    # unchanged passed every check that does not depend on the run date then, so only the
    # date checks run on it again.
    previously_staged: dict[str, tuple[date, pl.DataFrame]] = field(default_factory=dict)
    # Set by validate_delivery itself: incident id -> its quarantined row in this delivery.
    quarantined_incident_rows: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        settings: IngestSettings,
        *,
        run_date: date,
        expectations_dir: Path,
        known_incident_ids: frozenset[str] = frozenset(),
        previous_register_counts: dict[str, int] | None = None,
        previously_staged: dict[str, tuple[date, pl.DataFrame]] | None = None,
    ) -> ValidationContext:
        return cls(
            run_date=run_date,
            known_incident_ids=known_incident_ids,
            previous_register_counts=dict(previous_register_counts or {}),
            previously_staged=dict(previously_staged or {}),
            register_max_drop_share=settings.register_max_drop_share,
            police_max_reject_share=settings.police_max_reject_share,
            police_min_rejects=settings.police_min_rejects,
            register_max_age_years=settings.register_max_age_years,
            expectations_dir=expectations_dir,
        )

    @property
    def min_child_dob(self) -> date:
        """The earliest date of birth of a child aged at most ``register_max_age_years`` today."""
        return lv.years_before(self.run_date, self.register_max_age_years + 1) + timedelta(days=1)


@dataclass(frozen=True)
class ValidationOutcome:
    staged: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    dq_results: pl.DataFrame
    batch_failures: list[str]
    messages: list[str]
    # delivered / staged / quarantined rows per source (delivered = staged + quarantined)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # GX validation results as JSON dicts per source (row numbers only, never values)
    gx_results: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Values withheld from staged rows (schemas.FIELD_DEFECTS); those rows are counted as staged.
    field_defects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=schemas.FIELD_DEFECTS))


def staged_whole(outcome: ValidationOutcome, source: str) -> pl.Series:
    """``_row`` of the rows of ``source`` staged with no value withheld: all that
    ``ValidationContext.previously_staged`` may hold of a snapshot. A row staged with a
    value withheld failed a check that does not depend on the run date, and must be
    checked in full again when it is delivered unchanged."""
    withheld = outcome.field_defects.filter(pl.col("source") == source).select("_row").unique()
    return outcome.staged[source].join(withheld, on="_row", how="anti")["_row"]


def raise_for_batch_failures(outcome: ValidationOutcome, *, day: date, run_id: str, docs: Path) -> None:
    """Raise :class:`DataQualityError` naming every batch-level failure of the delivery of
    ``day``, if any, and where the details are (``audit.dq_results`` and the Data Docs)."""
    if outcome.batch_failures:
        raise DataQualityError(
            f"Data-quality checks failed for the delivery of {day}; nothing was staged or "
            "published and yesterday's lists stand. "
            + " ".join(outcome.batch_failures)
            + f" Details: audit.dq_results (run {run_id}) and {docs}."
        )


def check_freshness(snapshot_info: pl.DataFrame, day: date, max_age: int) -> dict[str, Any]:
    """Each register's current snapshot as of ``day`` (date, age, rows) from
    ``snapshot_info`` (warehouse.snapshot_info: newest first per register); raise
    :class:`StaleRegisterError` naming every register with none, or one older than
    ``max_age`` days: a list built on it would miss children who moved or were born."""
    snapshots: dict[str, Any] = {}
    stale = []
    for source in schemas.REGISTER_SOURCES:
        source_spec = spec(source)
        rows = snapshot_info.filter(pl.col("source") == source)
        if rows.height == 0:
            # A partner that has never delivered is absent from the night's picture (the
            # report says so); a register every list depends on is not.
            if source_spec.always_delivered:
                stale.append(f"no {source} snapshot has ever been delivered on or before {day}")
            else:
                snapshots[source] = {"snapshot_date": None, "age_days": None, "rows": 0}
            continue
        snap = rows.row(0, named=True)
        age = (day - snap["snapshot_date"]).days
        limit = source_spec.max_age_days if source_spec.max_age_days is not None else max_age
        snapshots[source] = {"snapshot_date": snap["snapshot_date"].isoformat(), "age_days": age,
                             "rows": snap["row_count"]}
        if age > limit:
            stale.append(
                f"the latest {source} snapshot is from {snap['snapshot_date']} ({age} days old, "
                f"limit {limit})"
            )
    if stale:
        raise StaleRegisterError(
            "Register data too old to build a safe list: " + "; ".join(stale)
            + ". Ask the register owner for a fresh snapshot, or raise "
            "HEARTH_INGEST__REGISTER_MAX_AGE_DAYS knowingly for this run."
        )
    return snapshots


def validate_delivery(delivery: Delivery, context: ValidationContext) -> ValidationOutcome:
    """Validate every file of ``delivery``; pure apart from reading the suite files."""
    suites = _gx_runner(context.expectations_dir)
    staged: dict[str, pl.DataFrame] = {}
    quarantines: list[pl.DataFrame] = []
    defects: list[pl.DataFrame] = []
    dq: list[pl.DataFrame] = []
    failures: list[str] = []
    messages: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    gx_results: dict[str, dict[str, Any]] = {}
    for source in _ORDER:
        landed = delivery.files.get(source)
        if landed is None:
            continue
        started = time.perf_counter()
        incident_ids = context.known_incident_ids
        if source == "police_persons" and "police_incidents" in staged:
            incident_ids = incident_ids | frozenset(staged["police_incidents"]["incident_id"].to_list())
        result = _validate_file(landed, context, suites, incident_ids)
        if source == "police_incidents":
            # Lets a person on a quarantined incident be told why its incident is unknown.
            context = _with_quarantined_incidents(context, landed, result.quarantine)
        staged[source] = result.staged
        quarantines.append(result.quarantine)
        defects.append(result.field_defects)
        dq.append(result.dq_results)
        messages.extend(result.messages)
        gx_results[source] = result.gx_result
        counts[source] = {
            "delivered": landed.frame.height,
            "staged": result.staged.height,
            "quarantined": result.quarantine.height,
            # Counted apart from quarantined rows: these rows were staged, minus a value.
            "field_defects": result.field_defects.height,
            "rows_with_field_defects": result.field_defects["_row"].n_unique(),
        }
        batch_dq, batch_failures = _batch_checks(source, landed, counts[source], context, delivery.delivery_date)
        dq.append(batch_dq)
        failures.extend(batch_failures)
        log.info(
            "validated %s: %d delivered, %d staged (%d with a withheld value), %d quarantined (%.2f s)",
            landed.path.name, counts[source]["delivered"], counts[source]["staged"],
            counts[source]["rows_with_field_defects"], counts[source]["quarantined"], time.perf_counter() - started,
        )
    for failure in failures:
        log.error("batch check failed: %s", failure)
    return ValidationOutcome(
        staged=staged,
        quarantine=pl.concat(quarantines) if quarantines else pl.DataFrame(schema=schemas.QUARANTINE),
        dq_results=pl.concat(dq) if dq else pl.DataFrame(schema=schemas.DQ_RESULTS),
        batch_failures=failures,
        messages=messages,
        counts=counts,
        gx_results=gx_results,
        field_defects=pl.concat(defects) if defects else pl.DataFrame(schema=schemas.FIELD_DEFECTS),
    )


def _with_quarantined_incidents(
    context: ValidationContext, landed: LandedFile, quarantine: pl.DataFrame
) -> ValidationContext:
    rows = (
        landed.frame.select("_row", lv.missing_to_null(pl.col("incident_id")).alias("incident_id"))
        .join(quarantine.select("_row"), on="_row", how="semi")
        .drop_nulls("incident_id")
        .unique("incident_id", keep="first", maintain_order=True)
    )
    return replace(context, quarantined_incident_rows=dict(zip(rows["incident_id"], rows["_row"], strict=True)))


# ---- one file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileResult:
    staged: pl.DataFrame
    quarantine: pl.DataFrame
    field_defects: pl.DataFrame
    dq_results: pl.DataFrame
    messages: list[str]
    gx_result: dict[str, Any]


# One row per (row, reason): the long form every check below produces. ``reason`` quotes
# the delivered text (quarantine keeps it, with the row); ``problem`` is the same without
# the value (what field_defects keeps); ``scope`` is what the failure costs.
_REASONS = {
    "_row": pl.Int64, "column": pl.String, "reason": pl.String,
    "rule": pl.String, "scope": pl.String, "problem": pl.String,
}


def _row_reasons(frame: pl.DataFrame) -> pl.DataFrame:
    """``(_row, column, reason[, problem])`` reasons of hearth's own checks, which always
    cost the row. Without a ``problem`` the reason quotes no delivered value."""
    problem = pl.col("problem") if "problem" in frame.columns else pl.col("reason")
    return frame.with_columns(
        pl.lit(None, pl.String).alias("rule"), pl.lit(QUARANTINE_ROW).alias("scope"), problem.alias("problem"),
    ).cast(_REASONS).select(list(_REASONS))  # type: ignore[arg-type]


def _validate_file(
    landed: LandedFile, context: ValidationContext, runner: _GxRunner, incident_ids: frozenset[str]
) -> _FileResult:
    source = landed.source
    frame = landed.frame
    readable = frame.filter(pl.col(RAW_LINE).is_null())
    unreadable = frame.filter(pl.col(RAW_LINE).is_not_null())
    prepared = prepared_frame(readable, source)

    parameters: dict[str, Any] = {
        "run_date": context.run_date.isoformat(),
        "min_child_dob": context.min_child_dob.isoformat(),
    }
    if source == "police_persons":
        # Only the known ids this file mentions: "in the set" gives the same answer for every
        # row, and GX copies the parameter into each expectation it checks, which cost about
        # a second a night with a year of incidents (and grew with history).
        mentioned = set(prepared["incident_id"].drop_nulls().unique().to_list())
        parameters["incident_ids"] = sorted(mentioned & incident_ids)
    previous = context.previously_staged.get(source)
    if previous is not None and prepared.height:
        since, previous_rows = previous
        rule_reasons, gx_dq, gx_result = _validate_changed_rows(
            source, readable, prepared, prepared_frame(previous_rows, source), since, context, runner, parameters
        )
    else:
        gx_result = runner.validate(source, prepared, parameters)
        rule_reasons, gx_dq = _reasons_from_gx(gx_result, source, readable, context)

    # Field-level failures null their value; what is left decides whether the row is
    # still a record (a register row must still identify a child).
    withheld = rule_reasons.filter(pl.col("scope") == WITHHOLD_FIELD).select("_row", "column").unique()
    kept = with_substitute_ids(withhold_values(prepared, withheld), prepared, source)
    unidentifiable = _unidentifiable_reasons(source, kept, withheld)
    rejected = pl.concat([
        rule_reasons.filter(pl.col("scope") != WITHHOLD_FIELD).select("_row"), unidentifiable.select("_row"),
    ]).unique()
    all_reasons = pl.concat([
        _unreadable_reasons(landed, unreadable),
        rule_reasons,
        unidentifiable,
        *_duplicate_reasons(source, readable, kept, rejected, withheld),
    ])
    quarantined_rows = pl.concat([
        rejected, all_reasons.filter(pl.col("scope") != WITHHOLD_FIELD).select("_row"),
    ]).unique()
    # A row quarantined whole takes every reason with it, field-level ones included.
    row_reasons = all_reasons.join(quarantined_rows, on="_row", how="semi")
    field_reasons = all_reasons.join(quarantined_rows, on="_row", how="anti")
    dq_rows = [gx_dq, _duplicate_dq(source, readable.height, all_reasons)]
    if source in IDENTIFIERS:
        dq_rows.append(_identifies_dq(source, readable.height, unidentifiable))

    good = kept.join(quarantined_rows, on="_row", how="anti")
    staged = staged_frame(good, source, landed.path.name)
    quarantine = _quarantine_frame(source, landed, frame, row_reasons)
    field_defects = _field_defects_frame(source, landed.path.name, staged, field_reasons)
    messages = _messages(landed.path.name, row_reasons) + _withheld_messages(landed.path.name, field_reasons)
    return _FileResult(staged, quarantine, field_defects, pl.concat(dq_rows), messages, gx_result)


def withhold_values(prepared: pl.DataFrame, withheld: pl.DataFrame) -> pl.DataFrame:
    """``prepared`` with the cells named in ``withheld`` (``_row``, ``column``) set to null."""
    if withheld.height == 0:
        return prepared
    out = prepared
    for column, rows in withheld.group_by("column").agg("_row").iter_rows():
        out = out.with_columns(
            pl.when(pl.col("_row").is_in(pl.Series(rows, dtype=pl.Int64).implode()))
            .then(None).otherwise(pl.col(column)).alias(column)
        )
    return out


def with_substitute_ids(kept: pl.DataFrame, prepared: pl.DataFrame, source: str) -> pl.DataFrame:
    """Add ``substitute_id`` to a register's rows: null where the identifier was kept, else
    "withheld-" and 12 hex of SHA-256 over the delivered identifier text, or (none
    delivered) over the delivered name and date of birth. The same delivered text gives the
    same id every night, so the child keeps its child id across snapshots; the marker
    cannot be read as an NHS number or a UPN."""
    if source not in IDENTIFIERS:
        return kept
    identifier = IDENTIFIERS[source]
    delivered = prepared.select(
        "_row",
        pl.when(pl.col(identifier).is_not_null())
        .then(pl.lit(f"{source}|{identifier}|") + pl.col(identifier))
        .otherwise(pl.concat_str(
            [pl.lit(f"{source}|name+dob"), *[pl.col(c).fill_null("") for c in ("forename", "surname", "dob")]],
            separator="|",
        ))
        .alias("_delivered_id"),
    )
    # Hashed only where the identifier was withheld: a handful of rows, not the register.
    substitutes = (
        delivered.join(kept.filter(pl.col(identifier).is_null()).select("_row"), on="_row", how="semi")
        .select("_row", stable_id("withheld-", pl.col("_delivered_id")).alias("substitute_id"))
    )
    return kept.join(substitutes, on="_row", how="left", maintain_order="left")


def _unidentifiable_reasons(source: str, kept: pl.DataFrame, withheld: pl.DataFrame) -> pl.DataFrame:
    """The register rows that, with their unusable values withheld, cannot identify a child:
    no name at all, or no identifier and no date of birth. Quarantined whole."""
    if source not in IDENTIFIERS or kept.height == 0 or withheld.height == 0:
        return pl.DataFrame(schema=_REASONS)
    identifier = IDENTIFIERS[source]
    touched = kept.join(withheld.select("_row").unique(), on="_row", how="semi")
    no_name = pl.col("forename").is_null() & pl.col("surname").is_null()
    no_id = pl.col(identifier).is_null() & pl.col("dob").is_null()
    reasons = touched.filter(no_name | no_id).select(
        "_row",
        pl.when(no_name)
        .then(pl.lit("row cannot identify a child: neither forename nor surname is usable"))
        .otherwise(pl.lit(f"row cannot identify a child: neither {identifier} nor dob is usable"))
        .alias("reason"),
    )
    return _row_reasons(reasons.with_columns(pl.lit(None, pl.String).alias("column")))


def prepared_frame(readable: pl.DataFrame, source: str) -> pl.DataFrame:
    """The text GX checks: trimmed, missing literals null, enums lower-case, ids compacted."""
    exprs = []
    compact = spec(source).compact
    for column in schemas.CONTRACT_COLUMNS[source]:
        value = lv.missing_to_null(pl.col(column))
        if column in compact:
            value = value.str.replace_all(r"\s", "").str.to_uppercase()
        elif column in schemas.ENUMS[source]:
            value = value.str.to_lowercase()
        elif column == "nhs_number":
            value = lv.compact_nhs_number(value)
        elif column == "upn":
            value = value.str.to_uppercase()
        exprs.append(value.alias(column))
    return readable.select(pl.col("_row"), *exprs)


def staged_frame(prepared: pl.DataFrame, source: str, file: str) -> pl.DataFrame:
    """Valid prepared rows typed to ``schemas.STAGED[source]``."""
    typed = prepared.with_columns(
        *[lv.landing_date(pl.col(c)).alias(c) for c in _DATE_COLUMNS[source] if c in prepared.columns],
        *[lv.landing_datetime_utc(pl.col(c)).alias(c) for c in _DATETIME_COLUMNS[source] if c in prepared.columns],
        *([lv.ambiguous_local_time(pl.col("updated_at")).alias("updated_at_ambiguous")]
          if "updated_at" in prepared.columns else []),
        pl.lit(file, pl.String).alias("_file"),
    )
    return schemas.conform(typed, schemas.STAGED[source])


# ---- reasons ---------------------------------------------------------------------------------


def _validate_changed_rows(
    source: str,
    readable: pl.DataFrame,
    prepared: pl.DataFrame,
    previous: pl.DataFrame,
    since: date,
    context: ValidationContext,
    runner: _GxRunner,
    parameters: dict[str, Any],
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """GX over a register snapshot, re-checking unchanged rows only where the run date matters.

    A row whose prepared text equals a row staged from the previous snapshot passed every
    expectation then; those that do not depend on the run's parameters (formats, check
    digits, required values) would give the same answer again, so they run on new and
    changed rows only, while the parameterised ones (a date of birth in the future, a child
    now too old) run on every row: by GX on the new and changed rows, and on the unchanged
    ones as polars queries read from the same suite (:mod:`dated_queries`; GX for any it
    cannot express). Both results are merged into one dq_results row per expectation;
    ``details`` says how many rows were unchanged, since when, and which engine re-checked
    them. A register snapshot is ~99 % unchanged from one night to the next."""
    columns = list(schemas.CONTRACT_COLUMNS[source])
    unchanged_rows = prepared.join(previous.select(columns).unique(), on=columns, how="semi", nulls_equal=True)["_row"]
    is_unchanged = pl.col("_row").is_in(unchanged_rows.implode())
    changed, unchanged = prepared.filter(~is_unchanged), prepared.filter(is_unchanged)
    full = runner.validate_changed(source, changed, parameters)
    dated = runner.validate_dated(source, unchanged, parameters)
    reasons_full, dq_full = _reasons_from_gx(full, source, readable, context)
    reasons_dated, dq_dated = _reasons_from_gx(dated, source, readable, context)
    on_unchanged = {
        (r["expectation"], r["column_name"], json.loads(r["details"])["rule"]): r for r in dq_dated.iter_rows(named=True)
    }
    engine_of = {rule: engine for engine, rules in dated["evaluated_by"].items() for rule in rules}
    merged = []
    for row in dq_full.iter_rows(named=True):
        details = json.loads(row["details"])
        again = on_unchanged.get((row["expectation"], row["column_name"], details["rule"]))
        details.update(unchanged_rows=unchanged.height, unchanged_since=since.isoformat(),
                       unchanged_rechecked=again is not None)
        if again is not None:
            details["unchanged_rechecked_by"] = engine_of.get(details["rule"])
            row["success"] = row["success"] and again["success"]
            row["element_count"] += again["element_count"]
            row["unexpected_count"] += again["unexpected_count"]
            details["unexpected_percent"] = (
                100.0 * row["unexpected_count"] / row["element_count"] if row["element_count"] else None
            )
        merged.append({**row, "details": json.dumps(details, default=str)})
    result = {"success": bool(full.get("success")) and bool(dated.get("success")),
              "changed_rows": full, "unchanged_rows": dated}
    log.info(
        "%s: %d rows unchanged since the snapshot of %s (date checks only), %d new or changed (every check)",
        source, unchanged.height, since, changed.height,
    )
    return pl.concat([reasons_full, reasons_dated]), pl.DataFrame(merged, schema=schemas.DQ_RESULTS), result


def _original(readable: pl.DataFrame, column: str, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (with ``_row``) joined to the original text of ``column``."""
    return rows.join(readable.select("_row", pl.col(column).alias("value")), on="_row", how="left")


def _reasons_from_gx(
    result: dict[str, Any], source: str, readable: pl.DataFrame, context: ValidationContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Turn a GX suite result into (row reasons, dq_results rows)."""
    reasons: list[pl.DataFrame] = []
    dq_rows: list[dict[str, Any]] = []
    # GX returns results in an order of its own; by column, check and rule, every engine's
    # answer (GX's, the queries', an empty snapshot's) lists the same rows in the same order.
    for item in sorted(result["results"], key=_result_order):
        config = item["expectation_config"]
        kwargs = config["kwargs"]
        meta = config.get("meta") or {}
        column = kwargs.get("column")
        res = item.get("result") or {}
        rows = _unexpected_rows(res)
        crashed = _crash_message(item.get("exception_info"))
        dq_rows.append({
            "source": source,
            "suite": source,
            "expectation": config["type"],
            "column_name": column,
            "success": bool(item["success"]),
            "element_count": res.get("element_count", readable.height),
            "unexpected_count": res.get("unexpected_count", len(rows)),
            "details": json.dumps({
                "rule": meta.get("rule"),
                "kwargs": _summarised(kwargs),
                "unexpected_percent": res.get("unexpected_percent"),
                "exception": crashed,
            }, default=str),
        })
        if crashed is not None:
            raise ExpectationSuiteError(
                f"expectation {meta.get('rule')} of suite {source} crashed: "
                f"{crashed}. Nothing was staged or published; "
                "fix the expectation (its kwargs in the suite file, or its class in "
                "pipeline/validate/expectations_custom.py), then rerun the night: a retry fails the same way."
            )
        if not rows:
            continue
        failing = _original(readable, column, pl.DataFrame({"_row": rows}, schema={"_row": pl.Int64}))
        scope = meta.get("on_failure", QUARANTINE_ROW)
        if scope not in (WITHHOLD_FIELD, QUARANTINE_ROW):
            raise ExpectationSuiteError(
                f"expectation {meta.get('rule')} of suite {source} has meta.on_failure {scope!r}; "
                f"use {WITHHOLD_FIELD!r} or {QUARANTINE_ROW!r} (the default)"
            )
        reasons.append(
            _reason_text(failing, column, config["type"], meta, kwargs, context).with_columns(
                pl.lit(meta.get("rule"), pl.String).alias("rule"), pl.lit(scope).alias("scope"),
            ).select(list(_REASONS))
        )
    frame = pl.concat(reasons) if reasons else pl.DataFrame(schema=_REASONS)
    return frame, pl.DataFrame(dq_rows, schema=schemas.DQ_RESULTS)


def _result_order(item: dict[str, Any]) -> tuple[str, str, str]:
    config = item["expectation_config"]
    return (str(config["kwargs"].get("column") or ""), str(config["type"]), str((config.get("meta") or {}).get("rule") or ""))


def _crash_message(info: Any) -> str | None:
    """The message of an expectation that raised instead of answering, or None.

    GX 1.x reports it per metric ({metric id: {"raised_exception": …}}), older results at
    the top level; either way the expectation comes back "failed" with no failing row, so
    an unnoticed crash would let every row through unchecked."""
    if not isinstance(info, dict):
        return None
    for entry in (info, *info.values()):
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "an exception without a message")
    return None


def _unexpected_rows(result: dict[str, Any]) -> list[int]:
    """Row numbers from ``unexpected_index_list`` (GX nests them as ``{"_row": [..]}``)."""
    rows: list[int] = []
    for entry in result.get("unexpected_index_list") or []:
        value = entry.get("_row") if isinstance(entry, dict) else entry
        if isinstance(value, list):
            rows.extend(int(v) for v in value)
        elif value is not None:
            rows.append(int(value))
    return rows


def _summarised(kwargs: dict[str, Any]) -> dict[str, Any]:
    # dq_results must not carry row values; a long value set (incident ids) is summarised.
    summarised = {k: v for k, v in kwargs.items() if k not in ("result_format", "batch_id")}
    if kwargs.get("column") == "incident_id" and isinstance(kwargs.get("value_set"), list):
        summarised["value_set"] = f"<{len(kwargs['value_set'])} known incident ids>"
    return summarised


def _reason_text(
    failing: pl.DataFrame,
    column: str,
    expectation: str,
    meta: dict[str, Any],
    kwargs: dict[str, Any],
    context: ValidationContext,
) -> pl.DataFrame:
    """``column: '<original text>' <what is wrong>`` for each failing row (``reason``), and
    ``<what is wrong>`` alone (``problem``: no delivered value)."""
    template = str(meta.get("reason", "fails rule " + str(meta.get("rule"))))
    quoted = pl.lit("'") + pl.col("value").fill_null("") + pl.lit("'")
    fill = {k: v for k, v in kwargs.items() if isinstance(v, str | int | float)}
    problem: pl.Expr = pl.lit(template.replace("'{value}' ", "", 1).replace("{value}", "the value").format(**fill))
    if expectation == "expect_column_values_to_be_valid_nhs_number":
        problem = pl.col("value").map_elements(
            lambda v: lv.nhs_number_problem("".join(str(v).split())) or "is not valid",
            return_dtype=pl.String,
        )
        text = quoted + pl.lit(" ") + problem
    elif expectation == "expect_column_values_to_be_valid_upn":
        problem = pl.col("value").map_elements(
            lambda v: lv.upn_problem(str(v).strip().upper()) or "is not valid", return_dtype=pl.String
        )
        text = quoted + pl.lit(" ") + problem
    elif expectation == "expect_column_values_to_be_landing_dates_between":
        parsed = lv.landing_date(pl.col("value"))
        minimum = date.fromisoformat(str(kwargs["min_value"]))
        too_old = (
            f"is before {minimum.isoformat()}: older than {context.register_max_age_years} "
            f"on the run date {context.run_date.isoformat()}"
            if minimum == context.min_child_dob
            else f"is before {minimum.isoformat()}"
        )
        problem = pl.when(parsed > context.run_date).then(
            pl.lit(f"is in the future (run date {context.run_date.isoformat()})")
        ).otherwise(pl.lit(too_old))
        text = quoted + pl.lit(" ") + problem
    elif expectation == "expect_column_values_to_not_be_null":
        text = problem = pl.lit(template)
    elif meta.get("rule") == "incident_id.known" and context.quarantined_incident_rows:
        rows = context.quarantined_incident_rows
        quarantined_row = pl.col("value").replace_strict(
            list(rows), [str(r) for r in rows.values()], default=None, return_dtype=pl.String
        )
        problem = pl.when(quarantined_row.is_not_null()).then(
            pl.lit("is on police_incidents row ") + quarantined_row + pl.lit(", which was quarantined")
        ).otherwise(pl.lit(template.replace("'{value}' ", "", 1)))
        text = quoted + pl.lit(" ") + problem
    else:
        # Templates name "{value}" for the original text and any kwarg, e.g. {max_date}.
        prefix, _, suffix = template.partition("{value}")
        text = pl.lit(prefix.format(**fill)) + pl.col("value").fill_null("") + pl.lit(suffix.format(**fill))
    return failing.select(
        pl.col("_row"), pl.lit(column, pl.String).alias("column"),
        (pl.lit(f"{column}: ") + text).alias("reason"), problem.alias("problem"),
    )


def _unreadable_reasons(landed: LandedFile, unreadable: pl.DataFrame) -> pl.DataFrame:
    by_row = {p.row: p.message for p in landed.row_problems}
    return _row_reasons(pl.DataFrame(
        {
            "_row": unreadable["_row"],
            "column": [None] * unreadable.height,
            "reason": [f"unreadable record: {by_row.get(r, 'could not be parsed')}" for r in unreadable["_row"].to_list()],
        },
        schema={"_row": pl.Int64, "column": pl.String, "reason": pl.String},
    ))


def _duplicate_reasons(
    source: str, readable: pl.DataFrame, kept: pl.DataFrame, rejected: pl.DataFrame, withheld: pl.DataFrame
) -> list[pl.DataFrame]:
    """Exact duplicate rows, then duplicate keys among the rows not quarantined by a rule.

    Exact duplicates (every delivered column identical) keep their first row. A key that
    is still duplicated keeps: for incidents the row with the latest ``updated_at`` (the
    later row on a tie, as the later version in the extract); otherwise the row with the
    fewest withheld values, then the first row. A register row staged without its
    identifier is keyed by its substitute id, so the same unusable identifier delivered
    twice is still one child.
    """
    data_columns = [c for c in readable.columns if c not in ("_file", "_row", RAW_LINE)]
    exact = (
        readable.with_columns(pl.col("_row").min().over(data_columns).alias("_first"))
        .filter(pl.col("_row") != pl.col("_first"))
        .select(
            "_row", pl.lit(None, pl.String).alias("column"),
            (pl.lit("exact duplicate of row ") + pl.col("_first").cast(pl.String)).alias("reason"),
        )
    )
    out_of_the_running = pl.concat([rejected.select("_row"), exact.select("_row")]).unique()
    candidates = kept.join(out_of_the_running, on="_row", how="anti")
    key = list(_KEYS[source])
    key_text = pl.concat_str([pl.lit("'") + pl.col(k) + pl.lit("'") for k in key], separator=", ")
    if source in IDENTIFIERS:
        identifier = IDENTIFIERS[source]
        candidates = candidates.with_columns(pl.coalesce(identifier, "substitute_id").alias("_key"))
        key_text = pl.when(pl.col(identifier).is_null()).then(
            pl.col("substitute_id") + pl.lit(f" (stands in for an unusable {identifier})")
        ).otherwise(key_text)
        group_key = ["_key"]
    else:
        group_key = key
    latest_by = spec(source).latest_by
    if latest_by is not None:
        ranked = candidates.with_columns(lv.landing_datetime_utc(pl.col(latest_by)).alias("_rank"))
        ranked = ranked.sort(["_rank", "_row"], descending=[True, True], nulls_last=True)
        rule = f"which has the latest {latest_by} and was kept"
    else:
        n_withheld = withheld.group_by("_row").agg(pl.len().cast(pl.Int64).alias("_withheld"))
        ranked = (
            candidates.join(n_withheld, on="_row", how="left")
            .with_columns(pl.col("_withheld").fill_null(0))
            .sort(["_withheld", "_row"])
        )
        rule = "which was kept (the first row of a duplicated key is kept, rows with fewer withheld values first)"
    winners = ranked.group_by(group_key, maintain_order=True).agg(pl.col("_row").first().alias("_kept"))
    losers = candidates.join(winners, on=group_key, how="inner").filter(pl.col("_row") != pl.col("_kept"))
    if "updated_at_ambiguous" in spec(source).staged:
        # A version whose naive local time fell in the repeated October hour may be later than
        # the one kept: both are staged and the current-version query keeps the higher risk.
        kept_at = ranked.select(pl.col("_row").alias("_kept"), pl.col("_rank").alias("_kept_at"))
        losers = (
            losers.join(kept_at, on="_kept", how="left")
            .with_columns(lv.landing_datetime_utc(pl.col("updated_at")).alias("_at"))
            .filter(~(lv.ambiguous_local_time(pl.col("updated_at"))
                      & (pl.col("_at") + pl.duration(hours=1) > pl.col("_kept_at"))).fill_null(False))
        )
    keyed = losers.select(
        "_row", pl.lit(key[-1], pl.String).alias("column"),
        (pl.lit(f"{' + '.join(key)}: ") + key_text + pl.lit(" is also on row ")
         + pl.col("_kept").cast(pl.String) + pl.lit(f", {rule}")).alias("reason"),
        (pl.lit(f"{' + '.join(key)}: is also on row ") + pl.col("_kept").cast(pl.String)
         + pl.lit(f", {rule}")).alias("problem"),
    )
    return [_row_reasons(exact), _row_reasons(keyed)]


def _identifies_dq(source: str, delivered: int, unidentifiable: pl.DataFrame) -> pl.DataFrame:
    bad = unidentifiable["_row"].n_unique()
    return pl.DataFrame([{
        "source": source, "suite": HEARTH_SUITE, "expectation": "hearth_register_rows_identify_a_child",
        "column_name": None, "success": bad == 0, "element_count": delivered, "unexpected_count": bad,
        "details": json.dumps({"rule": f"a name, and {IDENTIFIERS[source]} or dob, are usable once unusable values are withheld"}),
    }], schema=schemas.DQ_RESULTS)


def _duplicate_dq(source: str, delivered: int, reasons: pl.DataFrame) -> pl.DataFrame:
    exact = reasons.filter(pl.col("reason").str.starts_with("exact duplicate")).height
    keyed = reasons.filter(pl.col("reason").str.contains(" is also on row ")).height
    unreadable = reasons.filter(pl.col("reason").str.starts_with("unreadable record")).height
    key = " + ".join(_KEYS[source])
    rows = [
        ("hearth_records_are_readable", None, unreadable, {"rule": "records split into the header's columns"}),
        ("hearth_rows_are_not_exact_duplicates", None, exact, {"rule": "no row repeats another verbatim"}),
        ("hearth_key_is_unique", key, keyed, {"rule": f"{key} is unique among valid rows"}),
    ]
    return pl.DataFrame(
        [
            {
                "source": source, "suite": HEARTH_SUITE, "expectation": name, "column_name": column,
                "success": bad == 0, "element_count": delivered, "unexpected_count": bad,
                "details": json.dumps(details),
            }
            for name, column, bad, details in rows
        ],
        schema=schemas.DQ_RESULTS,
    )


# ---- quarantine and messages -----------------------------------------------------------------


def _quarantine_frame(
    source: str, landed: LandedFile, frame: pl.DataFrame, reasons: pl.DataFrame
) -> pl.DataFrame:
    data_columns = [c for c in frame.columns if c not in ("_file", "_row", RAW_LINE)]
    # What audit keeps of each reason: the column and the problem, never the delivered text.
    said = (
        pl.when(pl.col("reason").str.starts_with(pl.col("column") + pl.lit(": "))
                & ~pl.col("problem").str.starts_with(pl.col("column") + pl.lit(": ")))
        .then(pl.col("column") + pl.lit(": ") + pl.col("problem"))
        .otherwise(pl.col("problem"))
    )
    per_row = reasons.group_by("_row", maintain_order=True).agg(
        pl.col("reason").alias("reasons"), said.alias("problems")
    )
    rows = frame.join(per_row, on="_row", how="inner").sort("_row")
    record = (
        pl.when(pl.col(RAW_LINE).is_not_null())
        .then(pl.struct(pl.col(RAW_LINE)).struct.json_encode())
        .otherwise(pl.struct(data_columns).struct.json_encode())
    )
    return rows.select(
        pl.lit(source, pl.String).alias("source"), "_file", "_row", "reasons", "problems", record.alias("record")
    ).cast(schemas.QUARANTINE)  # type: ignore[arg-type]


def _messages(file: str, reasons: pl.DataFrame) -> list[str]:
    """One actionable line per quarantined row (a Python loop over the few bad rows only)."""
    grouped = (
        reasons.group_by("_row", maintain_order=True)
        .agg(pl.col("column"), pl.col("reason"))
        .sort("_row")
    )
    out = []
    for row, columns, texts in grouped.iter_rows():
        if len(texts) == 1 and columns[0] is not None and texts[0].startswith(f"{columns[0]}: "):
            problem = Problem(file, row, columns[0], texts[0][len(columns[0]) + 2:])
        else:
            problem = Problem(file, row, None, "; ".join(texts))
        out.append(f"{problem} — row quarantined ({QUARANTINE_TABLE})")
    return out


def _field_defects_frame(source: str, file: str, staged: pl.DataFrame, reasons: pl.DataFrame) -> pl.DataFrame:
    """One row per withheld value of a staged row and reason, with the staged record's id."""
    ids = staged.select("_row", record_id(source).alias("record_id"))
    return (
        reasons.join(ids, on="_row", how="inner")
        .sort("_row", "column", "rule")
        .select(
            pl.lit(source, pl.String).alias("source"), pl.lit(file, pl.String).alias("_file"), "_row",
            "record_id", pl.col("column").alias("column_name"), "rule", pl.col("problem").alias("reason"),
        )
        .cast(schemas.FIELD_DEFECTS)  # type: ignore[arg-type]
    )


def _withheld_messages(file: str, reasons: pl.DataFrame) -> list[str]:
    """One line per withheld value (the few bad values only)."""
    return [
        f"{Problem(file, row, column, text[len(column) + 2:] if text.startswith(f'{column}: ') else text)}"
        f" — value withheld, row staged ({FIELD_DEFECTS_TABLE})"
        for row, column, text in reasons.sort("_row", "column").select("_row", "column", "reason").iter_rows()
    ]


# ---- batch checks ----------------------------------------------------------------------------


def _batch_checks(
    source: str, landed: LandedFile, count: dict[str, int], context: ValidationContext, delivered_on: date
) -> tuple[pl.DataFrame, list[str]]:
    failures: list[str] = []
    rows: list[dict[str, Any]] = []
    file = landed.path.name
    if source in schemas.REGISTER_SOURCES:
        previous = context.previous_register_counts.get(source)
        if previous:
            drop = 1 - count["staged"] / previous
            ok = drop <= context.register_max_drop_share
            rows.append(_batch_row(source, "hearth_register_row_count_not_dropping", ok, count["staged"], {
                "previous_rows": previous, "valid_rows": count["staged"], "drop_share": round(drop, 4),
                "max_drop_share": context.register_max_drop_share,
            }))
            if not ok:
                failures.append(
                    f"{file} of {delivered_on.isoformat()} has {_n(count['staged'])} valid rows, "
                    f"{drop:.1%} fewer than the previous snapshot's {_n(previous)} (limit "
                    f"{context.register_max_drop_share:.0%}): check the extract with its sender; "
                    f"if the fall is real, rerun with a higher ingest.register_max_drop_share"
                )
    elif count["delivered"]:
        share = count["quarantined"] / count["delivered"]
        # A share alone is noise on a small nightly trickle (1 bad row in 15 is 7%), so a
        # delivery fails only when it is both over the share and over a minimum count.
        ok = share <= context.police_max_reject_share or count["quarantined"] < context.police_min_rejects
        rows.append(_batch_row(source, "hearth_police_reject_share_below_limit", ok, count["delivered"], {
            "quarantined": count["quarantined"], "reject_share": round(share, 4),
            "max_reject_share": context.police_max_reject_share,
            "min_rejects": context.police_min_rejects,
        }, unexpected=count["quarantined"]))
        if not ok:
            failures.append(
                f"{file} of {delivered_on.isoformat()}: {_n(count['quarantined'])} of "
                f"{_n(count['delivered'])} rows ({share:.1%}) were quarantined, above the limit of "
                f"{context.police_max_reject_share:.0%}: read the reasons in {QUARANTINE_TABLE} and "
                f"ask the force to resend the file"
            )
    return pl.DataFrame(rows, schema=schemas.DQ_RESULTS), failures


def _batch_row(
    source: str, name: str, ok: bool, elements: int, details: dict[str, Any], unexpected: int = 0
) -> dict[str, Any]:
    return {
        "source": source, "suite": HEARTH_SUITE, "expectation": name, "column_name": None,
        "success": ok, "element_count": elements, "unexpected_count": unexpected,
        "details": json.dumps(details),
    }


def _n(number: int) -> str:
    return f"{number:,}".replace(",", " ")


# ---- Great Expectations ------------------------------------------------------------------------


class _GxRunner:
    """One ephemeral GX context with its suites, built once per process and expectations dir."""

    RESULT_FORMAT = {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": ["_row"],
        "exclude_unexpected_values": True,
        "return_unexpected_index_query": False,
    }

    def __init__(self, expectations_dir: Path) -> None:
        from pipeline.logs import quiet_third_party

        quiet_third_party()  # before the import: GX logs ~200 INFO lines while importing
        import great_expectations as gx
        from great_expectations.core import ExpectationSuite
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # The custom expectation classes must be defined before a suite using them is
        # loaded, or GX silently drops those expectations from the suite.
        from pipeline.validate import expectations_custom  # noqa: F401

        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        datasource = self.context.data_sources.add_pandas("hearth_delivery")
        self.batches = {}
        self.suites = {}
        self.parameterised = {}
        self.parameterised_configs: dict[str, list[dict[str, Any]]] = {}
        self.configs: dict[str, list[dict[str, Any]]] = {}
        self._suite_class = ExpectationSuite
        for source in schemas.SOURCES:
            path = expectations_dir / f"{source}.json"
            document = json.loads(path.read_text(encoding="utf-8"))
            suite = ExpectationSuite(**document)
            if len(suite.expectations) != len(document["expectations"]):
                raise ExpectationSuiteError(
                    f"{path}: GX loaded {len(suite.expectations)} of "
                    f"{len(document['expectations'])} expectations; an expectation type is unknown "
                    f"(is its class defined in pipeline/validate/expectations_custom.py?)"
                )
            self.suites[source] = suite
            # The expectations that take run parameters ({"$PARAMETER": ...}): the only ones
            # whose answer for an unchanged row can change from one night to the next.
            parameterised = [e for e in document["expectations"] if "$PARAMETER" in json.dumps(e.get("kwargs", {}))]
            self.parameterised[source] = ExpectationSuite(
                name=f"{document.get('name', source)} (parameterised)", expectations=parameterised,
                meta=document.get("meta"),
            )
            self.parameterised_configs[source] = parameterised
            self.configs[source] = document["expectations"]
            asset = datasource.add_dataframe_asset(source)
            self.batches[source] = asset.add_batch_definition_whole_dataframe(f"{source}_delivery")

    def validate(
        self, source: str, prepared: pl.DataFrame, parameters: dict[str, Any], *, parameterised_only: bool = False
    ) -> dict[str, Any]:
        suite = self.parameterised[source] if parameterised_only else self.suites[source]
        return self._validate_suite(source, suite, prepared, parameters)

    def validate_dated(self, source: str, prepared: pl.DataFrame, parameters: dict[str, Any]) -> dict[str, Any]:
        """The parameterised expectations of ``source`` over ``prepared``, in GX's result
        shape: as polars queries where ``dated_queries`` knows the expectation (the same
        outcome, without a pandas copy of the snapshot or GX's per-row work), by GX for
        the rest. ``evaluated_by`` names the rules each engine answered."""
        by_query, by_gx = dated_queries.split_by_engine(self.parameterised_configs[source], parameters)
        results = dated_queries.query_results(prepared, by_query)
        if by_gx:
            suite = self._suite_class(
                name=f"{self.parameterised[source].name} (not a query)", expectations=by_gx,
                meta=self.parameterised[source].meta,
            )
            results += self._validate_suite(source, suite, prepared, parameters)["results"]
        return {
            "success": all(bool(r["success"]) for r in results),
            "results": results,
            "evaluated_by": {
                dated_queries.ENGINE: [(q.config.get("meta") or {}).get("rule") for q in by_query],
                "great_expectations": [(e.get("meta") or {}).get("rule") for e in by_gx],
            },
        }

    def validate_changed(self, source: str, prepared: pl.DataFrame, parameters: dict[str, Any]) -> dict[str, Any]:
        """The whole suite of ``source`` over a snapshot's new and changed rows. When there
        are none, GX's answer for no rows is known without asking it, which would cost as
        much as for a few hundred rows (GX's work is per expectation, not per row)."""
        results = dated_queries.results_without_rows(self.configs[source], parameters) if prepared.height == 0 else None
        if results is None:
            return self.validate(source, prepared, parameters)
        rules = [(c.get("meta") or {}).get("rule") for c in self.configs[source]]
        return {"success": True, "results": results, "evaluated_by": {dated_queries.ENGINE: rules}, "rows": 0}

    def _validate_suite(
        self, source: str, suite: Any, prepared: pl.DataFrame, parameters: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            batch = self.batches[source].get_batch(batch_parameters={"dataframe": prepared.to_pandas()})
            result = batch.validate(suite, result_format=self.RESULT_FORMAT, expectation_parameters=parameters)
            document: dict[str, Any] = result.to_json_dict()
        except Exception as exc:  # GX's own failures: any class, said once as ours
            raise ExpectationSuiteError(
                f"the Great Expectations suite {source}.json crashed while validating the delivery "
                f"({type(exc).__name__}: {exc}). Nothing was staged or published; yesterday's lists "
                "stand. Fix the suite file or the custom expectation it uses "
                "(pipeline/validate/expectations_custom.py), then rerun the night: a retry fails the same way."
            ) from exc
        return document


_RUNNERS: dict[Path, _GxRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def _gx_runner(expectations_dir: Path) -> _GxRunner:
    key = Path(expectations_dir).resolve()
    with _RUNNERS_LOCK:  # a prefetch thread may be building it: wait for that one
        if key not in _RUNNERS:
            started = time.perf_counter()
            try:
                _RUNNERS[key] = _GxRunner(key)
            except ExpectationSuiteError:
                raise
            except Exception as exc:  # a suite file GX cannot load: any of its classes
                raise ExpectationSuiteError(
                    f"the Great Expectations suites in {key} could not be loaded "
                    f"({type(exc).__name__}: {exc}). Fix the suite file named, then rerun the night."
                ) from exc
            log.info("loaded GX suites from %s in %.1f s", key, time.perf_counter() - started)
        return _RUNNERS[key]


def rules_fingerprint(expectations_dir: Path) -> str:
    """SHA-256 over everything that decides a row's validity apart from the run date: the
    suite files and the code of the custom expectations, their queries and the value parsers. A row is only
    spared the full suite when the previous snapshot was validated under the same one."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    rules_code = ("expectations_custom.py", "landing_values.py", "dated_queries.py")
    for path in [*sorted(Path(expectations_dir).glob("*.json")), *(here / name for name in rules_code)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def prefetch_suites(expectations_dir: Path, *, then_import: tuple[str, ...] = ()) -> threading.Thread:
    """Import Great Expectations and load the suites in a background thread, then import
    the modules named in ``then_import`` (later stages' heavy imports).

    Importing GX takes 2–3 s of a night. A night run in one process starts this before
    ingest, whose reading and writing run mostly outside the GIL, so the import overlaps
    them; ``validate_delivery`` then waits for it (or builds the runner itself if this
    failed: any error here is left for that call to raise, with its own context)."""

    def load() -> None:
        try:
            _gx_runner(expectations_dir)
            for module in then_import:
                importlib.import_module(module)
        except Exception:  # reported when the stage that needs it imports it again
            log.debug("prefetching the GX suites failed; validate will retry", exc_info=True)

    thread = threading.Thread(target=load, name="hearth-gx-prefetch", daemon=True)
    thread.start()
    return thread


# ---- human-readable results ----------------------------------------------------------------------


# What each check asks, in words, for the data-quality page (the GX name is kept in the JSON).
_CHECK_WORDS = {
    "expect_column_values_to_not_be_null": "every row has a value",
    "expect_column_values_to_be_in_set": "every value is one the landing contract allows",
    "expect_column_values_to_match_regex": "every value has the expected form",
    "expect_column_values_to_be_landing_dates": "every value is a date",
    "expect_column_values_to_be_landing_dates_between": "every date is a plausible one",
    "expect_column_values_to_be_landing_datetimes": "every value is a date and time",
    "expect_column_values_to_be_landing_datetimes_on_or_before": "no time is in the future",
    "expect_column_values_to_be_valid_nhs_number": "every NHS number passes its check digit",
    "expect_column_values_to_be_valid_upn": "every UPN passes its check letter",
}


def _check_sentence(r: dict[str, object]) -> str:
    expectation = str(r["expectation"])
    asks = _CHECK_WORDS.get(expectation, expectation.removeprefix("expect_").replace("_", " "))
    where = f"{r['source']}, column {r['column_name']}" if r["column_name"] else str(r["source"])
    if r["success"]:
        return f"{where}: {asks}. Passed ({r['element_count']} rows)."
    return (f"{where}: {asks}. Failed: {r['unexpected_count']} of {r['element_count']} rows did not; "
            "each is in audit.quarantine, or in audit.field_defects where only the value was withheld, "
            "with the reason.")


def build_data_docs(results_dir: Path, outcome: ValidationOutcome, *, title: str = "hearth validation") -> Path:
    """Write each source's GX result as JSON and one self-contained HTML page; return the page.

    GX's own Data Docs load Bootstrap and jQuery from CDNs and render unstyled offline, so
    this page uses no external assets. Results hold row numbers only, never values. The page
    is read by a person: failed checks come first, each said as a sentence (the raw GX
    results stay beside it as JSON).
    """
    results_dir.mkdir(parents=True, exist_ok=True)
    for source, result in outcome.gx_results.items():
        (results_dir / f"{source}.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    ordered = outcome.dq_results.sort("success", "source", "column_name", nulls_last=True, maintain_order=True)
    rows = "".join(
        "<li class='{cls}'>{sentence}</li>".format(cls="ok" if r["success"] else "fail",
                                                   sentence=html.escape(_check_sentence(r)))
        for r in ordered.iter_rows(named=True)
    )
    n_failed = ordered.filter(~pl.col("success")).height
    counts = "".join(
        f"<li>{html.escape(s)}: {c['delivered']} delivered, {c['staged']} staged, {c['quarantined']} quarantined; "
        f"{c.get('field_defects', 0)} values withheld from {c.get('rows_with_field_defects', 0)} staged rows</li>"
        for s, c in outcome.counts.items()
    )
    withheld = outcome.field_defects.group_by("source", "column_name", "reason").agg(pl.len().alias("n")).sort(
        "source", "column_name", "reason"
    )
    withheld_rows = "".join(
        f"<li>{html.escape(r['source'])}, column {html.escape(r['column_name'])}: {r['n']} "
        f"value{'s' if r['n'] != 1 else ''} withheld ({html.escape(r['reason'])}); the rows were staged without them.</li>"
        for r in withheld.iter_rows(named=True)
    ) or "<li>none</li>"
    failures = "".join(f"<li>{html.escape(f)}</li>" for f in outcome.batch_failures) or "<li>none</li>"
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;margin:1em;max-width:60em;overflow-wrap:anywhere}}li{{margin:.2em 0}}
li.fail{{color:#b00020;font-weight:600}}li.ok{{color:#333}}</style></head><body>
<h1>{html.escape(title)}</h1><h2>Files that could not be used</h2><ul>{failures}</ul>
<h2>Checks: {n_failed} failed, {ordered.height - n_failed} passed</h2><ul class="checks">{rows}</ul>
<h2>Values withheld (rows staged without them; {FIELD_DEFECTS_TABLE})</h2><ul class="withheld">{withheld_rows}</ul>
<h2>Rows</h2><ul>{counts}</ul>
<p>The checks' full results are in the JSON files beside this page.</p></body></html>
"""
    index = results_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
