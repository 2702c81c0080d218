"""Retention: purge delivered personal data from ``raw`` and ``staging`` once it is no
longer needed, leaving the audit trail (hashes, scores and decisions) in place.

Periods are in days and configurable (``HEARTH_RETENTION__<FIELD>``; see
docs/data-protection.md for the agreed values and why). A purge is planned first —
:func:`plan_purge` says, per table, how many rows would go and their date range — and only
deleted by :func:`purge` with ``dry_run=False``; the CLI's ``hearth purge`` shows the plan
unless told ``--apply``.

A purge deletes what nothing else holds, so it is guarded: its date may not be after today
(Europe/London) or after the latest night that succeeded (a date far in the future would
otherwise remove all police history); a purge that would remove incidents still inside the
flag window is refused unless forced with a reason; and every purge, dry run or applied, is
recorded in ``audit.purges`` (who, when, the date, rows per table, forced and why).

What is never purged here, and why:

* the **latest register snapshot** on or before the cut-off: it is the state of the
  register until a newer one arrives, and linkage needs it;
* anything in ``audit``: the audit trail is append-only. It holds no delivered values of
  rejected rows: ``audit.quarantine`` keeps where each rejected row was, why (the reasons
  without the delivered text) and a keyed hash of its text, while the row's values and the
  reasons as written live in the restricted layer (``restricted.rejected_rows``), purged
  here on the raw layer's schedule (:func:`split_quarantine`);
* ``linked`` and ``marts``: derived, dated tables that reruns and explanations read; their
  period is a separate decision (docs/data-protection.md, "Retention").
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl

from pipeline.config import RetentionSettings
from pipeline.errors import ConfigError, UsageError
from pipeline.operate.pseudonymise import row_hashes
from pipeline.publish.warehouse import AUDIT_DATE_KEY, DATE_KEY, SNAPSHOT_STORE, Warehouse, sql
from pipeline.sources import REGISTRY

log = logging.getLogger(__name__)

# The defaults are the configuration's (pipeline.config.RetentionSettings), written once
# there and argued in docs/data-protection.md: raw (and the rejected values beside it) long
# enough to rerun any night of the last quarter; police versions the flag look-back (365
# days) plus a margin for reruns and audits; register snapshots one year.
_DEFAULTS = RetentionSettings.model_validate({})

# Each source's tables by its retention class in the registry (pipeline/sources.py).
_POLICE = [s for s in REGISTRY if s.retention == "police"]
_REGISTERS = [s for s in REGISTRY if s.retention == "register"]
POLICE_TABLES = (*(s.raw_table for s in _POLICE), *(s.staging_table for s in _POLICE))
REGISTER_RAW = tuple(s.raw_table for s in _REGISTERS)
# Register snapshots: the newest one on or before the cut-off stays (it is still current).
REGISTER_SNAPSHOTS = tuple(s.staging_table for s in _REGISTERS)
# The restricted layer: values of rejected rows, which raw also holds; they expire with raw.
RESTRICTED_TABLES = ("restricted.rejected_rows",)
PURGEABLE = POLICE_TABLES + REGISTER_RAW + REGISTER_SNAPSHOTS + RESTRICTED_TABLES

PLAN_SCHEMA = {
    "table": pl.String,
    "date_column": pl.String,
    "cutoff": pl.Date,
    "rows": pl.Int64,
    "first_date": pl.Date,
    "last_date": pl.Date,
}


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days after delivery each kind of row is kept (all at least 1)."""

    raw_days: int = _DEFAULTS.raw_days
    police_days: int = _DEFAULTS.police_days
    register_days: int = _DEFAULTS.register_days

    def __post_init__(self) -> None:
        for name in ("raw_days", "police_days", "register_days"):
            if getattr(self, name) < 1:
                raise ConfigError(f"retention {name} must be at least 1 day, got {getattr(self, name)}")

    @classmethod
    def from_settings(cls, settings: RetentionSettings) -> RetentionPolicy:
        return cls(raw_days=settings.raw_days, police_days=settings.police_days,
                   register_days=settings.register_days)

    def days_for(self, table: str) -> int:
        if table.startswith("raw.") or table in RESTRICTED_TABLES:
            return self.raw_days
        if table in POLICE_TABLES:
            return self.police_days
        return self.register_days


def cutoffs(today: date, policy: RetentionPolicy, *, lookback_days: int | None = None) -> dict[str, date]:
    """The first date each table keeps: rows dated before it are purged.

    ``lookback_days`` (the rules' incident look-back) guards against a policy that would
    delete incidents the flag rules still count.
    """
    if lookback_days is not None and policy.police_days <= lookback_days:
        raise ConfigError(
            f"police retention ({policy.police_days} days) must exceed the rules' look-back "
            f"({lookback_days} days), or incidents still counted by the rules would be purged"
        )
    return {table: today - timedelta(days=policy.days_for(table)) for table in PURGEABLE}


def _date_column(table: str) -> str:
    return DATE_KEY.get(table) or AUDIT_DATE_KEY[table]


def split_quarantine(quarantine: pl.DataFrame, key: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A night's rejected rows (``schemas.QUARANTINE``) as ``audit.quarantine`` keeps them
    (where, why without the delivered text, and the keyed hash) and as the restricted layer
    keeps them (the values and the reasons as written). Without a key the hash is null and
    filled in later (:func:`fill_missing_row_hashes`)."""
    hashes = row_hashes(key, quarantine["record"]) if key else pl.Series("row_hash", [None] * quarantine.height, pl.String)
    rows = quarantine.with_columns(hashes)
    audit = rows.select("source", "_file", "_row", pl.col("problems").alias("reasons"), "row_hash")
    values = rows.select("source", "_file", "_row", "row_hash", "reasons", "record")
    return audit, values


def fill_missing_row_hashes(wh: Warehouse, key: str) -> int:
    """Record the keyed hash of every rejected row still held without one; return how many.

    Rows rejected on a night run without the key, and rows moved into the restricted layer
    by migration 019, are hashed here while their values are still held."""
    rows = wh.query("unhashed_rejected_rows")
    if rows.height == 0:
        return 0
    with wh.transaction():
        wh.execute_with_frame(sql("fill_rejected_row_hashes"), rows.with_columns(row_hashes(key, rows["record"])))
    log.info("recorded the keyed hash of %d rejected row(s)", rows.height)
    return rows.height


def _condition(table: str) -> str:
    """The WHERE clause selecting the rows of ``table`` to purge (cut-off bound as $cutoff)."""
    column = _date_column(table)
    if table in REGISTER_SNAPSHOTS:
        latest = f"SELECT max({column}) FROM {table} WHERE {column} <= $cutoff"  # noqa: S608 - fixed table list
        return f"{column} < $cutoff AND {column} <> ({latest})"
    return f"{column} < $cutoff"


def plan_purge(wh: Warehouse, today: date, policy: RetentionPolicy, *,
               lookback_days: int | None = None) -> pl.DataFrame:
    """Per purgeable table: the cut-off, how many rows would go, and their date range."""
    rows = []
    for table, cutoff in cutoffs(today, policy, lookback_days=lookback_days).items():
        column = _date_column(table)
        n, first, last = wh.literal_rows(
            f"SELECT count(*), min({column}), max({column}) FROM {table} WHERE {_condition(table)}",  # noqa: S608
            {"cutoff": cutoff},
        )[0]
        rows.append({"table": table, "date_column": column, "cutoff": cutoff, "rows": n,
                     "first_date": first, "last_date": last})
    return pl.DataFrame(rows, schema=PLAN_SCHEMA)


@dataclass(frozen=True)
class PurgeRequest:
    """Who asks for a guarded purge, and on what authority (``audit.purges``)."""

    who: str
    today: date                 # today in Europe/London
    lookback_days: int          # the rules' flag window
    force: bool = False
    reason: str | None = None


def purge(wh: Warehouse, today: date, policy: RetentionPolicy, *, dry_run: bool = True,
          lookback_days: int | None = None, request: PurgeRequest | None = None,
          pseudonym_key: str | None = None) -> pl.DataFrame:
    """Delete what :func:`plan_purge` lists (unless ``dry_run``), in one transaction.

    With a ``request`` (what ``hearth purge`` sends) the purge is guarded and recorded: see
    the module docstring; a refusal raises :class:`UsageError` before anything is deleted.
    With ``pseudonym_key``, rejected rows about to lose their values first get the keyed
    hash they lack (the last moment it can be computed); without it they are purged
    unhashed, and a warning says how many. Returns the plan. The caller refreshes the
    published copy afterwards; deleted rows'
    old blocks in the file are encrypted at rest and are overwritten as the file is
    reused (docs/data-protection.md explains when to compact).
    """
    in_window = 0
    if request is not None:
        _refuse_unsafe_date(wh, today, request)
        plan = plan_purge(wh, today, policy)
        in_window = incidents_in_window(wh, plan, today, request.lookback_days)
        if in_window and not dry_run and not request.force:
            raise UsageError(
                f"a purge as of {today} would delete police records of {in_window} incident(s) still "
                f"inside the flag window ({request.lookback_days} days), so children they put at risk "
                "would drop off the lists; nothing was deleted. Only on a documented instruction, "
                "rerun with --force --reason TEXT (recorded in audit.purges)."
            )
    else:
        plan = plan_purge(wh, today, policy, lookback_days=lookback_days)
    if not dry_run and pseudonym_key:
        fill_missing_row_hashes(wh, pseudonym_key)
    with wh.transaction():
        if not dry_run:
            _warn_unhashed(wh, plan)
            for table, cutoff in zip(plan["table"], plan["cutoff"], strict=True):
                if table in SNAPSHOT_STORE:
                    # Stored once per distinct row: the nights go, then rows no night holds.
                    wh.delete_snapshots(table, _condition(table), {"cutoff": cutoff})
                else:
                    wh.literal_rows(f"DELETE FROM {table} WHERE {_condition(table)}", {"cutoff": cutoff})  # noqa: S608
        if request is not None:
            _record(wh, today, plan, request, applied=not dry_run, in_window=in_window)
    if dry_run:
        log.info("retention dry run: %s rows would be purged", plan["rows"].sum())
        if in_window:
            log.warning("retention dry run: %s incident(s) inside the flag window would be purged; "
                        "--apply would be refused without --force --reason", in_window)
    else:
        log.info("retention: purged %s rows from %s tables", plan["rows"].sum(), int((plan["rows"] > 0).sum()))
    return plan


def _warn_unhashed(wh: Warehouse, plan: pl.DataFrame) -> None:
    cutoff = plan.filter(pl.col("table") == "restricted.rejected_rows")["cutoff"][0]
    n = wh.literal_rows("SELECT count(*) FROM restricted.rejected_rows WHERE delivery_date < ? AND row_hash IS NULL",
                 [cutoff])[0][0]
    if n:
        log.warning("%d rejected row(s) lose their values without a keyed hash (no pseudonymisation key "
                    "was given); audit.quarantine still records where each was and why", n)


def _refuse_unsafe_date(wh: Warehouse, day: date, request: PurgeRequest) -> None:
    if request.force and not (request.reason or "").strip():
        raise UsageError("--force needs --reason TEXT saying on whose instruction and why; it is recorded in audit.purges")
    if day > request.today:
        raise UsageError(
            f"purge date {day} is after today ({request.today}, Europe/London): a purge counts "
            "retention back from a date that has happened. Nothing was deleted."
        )
    latest = wh.query("latest_night")["logical_date"][0]
    if latest is not None and day > latest:
        raise UsageError(
            f"purge date {day} is after the latest night that succeeded ({latest}): purge as of "
            f"{latest} or earlier. Nothing was deleted."
        )


def incidents_in_window(wh: Warehouse, plan: pl.DataFrame, today: date, lookback_days: int) -> int:
    """How many incidents reported inside the flag window the plan would touch."""
    police = plan.filter(pl.col("table") == "staging.police_incident_versions")["cutoff"][0]
    window_start = today - timedelta(days=lookback_days)
    return int(wh.query("purge_incidents_in_window", cutoff=police, window_start=window_start)["incidents"][0])


def _record(wh: Warehouse, day: date, plan: pl.DataFrame, request: PurgeRequest, *, applied: bool,
            in_window: int) -> None:
    rows = [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()} for r in plan.iter_rows(named=True)]
    wh.literal_rows(
        "INSERT INTO audit.purges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [datetime.now(UTC), request.who, day, applied, request.force and in_window > 0, request.reason,
         in_window, json.dumps(rows)],
    )
