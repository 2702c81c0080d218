"""The auditor extract: the audit trail with identifiers replaced by keyed hashes.

Auditors check *decisions* — which records were linked and why, which rules fired, what
changed — and need no names for that. This module builds a separate extract (Parquet
files, one per table) in which:

* identifiers (child, household, person, incident, NHS number, UPN, police person ref)
  become ``HMAC-SHA256(key, value)`` truncated to 20 hex digits (80 bits), the same
  value always giving the same pseudonym, so a child can be followed across nights and
  tables without being named;
* source record ids keep their source and hash each id part
  (``police_persons:<h(incident)>:<h(person_ref)>``), so they join with the hashed
  columns;
* names, addresses, postcodes, dates of birth and free text are absent: the SQL files
  (``sql/queries/auditor_*.sql``) do not select them, and :func:`pseudonymise` refuses any
  column it has not been told is safe, so a column added to a query later cannot leak.

Why a separate, materialised extract rather than views inside the warehouse: DuckDB has no
column-level permissions, so anyone who can open the published file can read the marts
and the names in them; views there would hide nothing. And a key stored in that file would
let its reader re-identify every NHS number by hashing the ~10⁹ candidates. The key lives
only in the pipeline's environment (``HEARTH_PSEUDONYM_KEY``); the extract holds none.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from pipeline.errors import ConfigError
from pipeline.publish.warehouse import Warehouse

log = logging.getLogger(__name__)

KEY_ENV = "HEARTH_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 32
DIGEST_CHARS = 20

# Extract table → the query file (sql/queries/<name>.sql) that selects its columns.
EXTRACT_QUERIES: dict[str, str] = {
    "flags": "auditor_flags",
    "flag_evidence": "auditor_flag_evidence",
    "mash_list": "auditor_mash_list",
    "incidents": "auditor_incidents",
    "person_links": "auditor_person_links",
    "incident_households": "auditor_incident_households",
    "link_decisions": "auditor_link_decisions",
    "review_decisions": "auditor_review_decisions",
    "night_changes": "auditor_night_changes",
    "runs": "auditor_runs",
    "quarantine_counts": "auditor_quarantine_counts",
    "dq_results": "auditor_dq_results",
    "unlocated_suspects": "auditor_unlocated_suspects",
}

# Columns holding one identifier / a list of identifiers: hashed.
ID_COLUMNS = frozenset({
    "child_id", "household_id", "nhs_number", "upn", "person_ref", "person_id", "incident_id",
    "subject_id", "linked_child_id", "home_household_id",
})
ID_LIST_COLUMNS = frozenset({"child_ids", "incident_ids", "households_reached", "listed_households"})
# Columns holding source record ids ("<source>:<id>[:<id>]"): each id part hashed.
RECORD_COLUMNS = frozenset({"left_id", "right_id", "record_id"})
RECORD_LIST_COLUMNS = frozenset({"source_records"})
# Columns that identify nobody and pass through unchanged.
SAFE_COLUMNS = frozenset({
    "list_date", "previous_list_date", "as_of", "delivery_date", "logical_date", "run_id",
    "risk_level", "level_before", "level_after", "reasons", "status", "rules_version", "rule_id",
    "priority", "agencies", "new_since_previous", "due_by", "has_school", "has_gp", "age_months",
    "reported_at", "updated_at", "dash_risk", "children_present", "role", "basis",
    "link_probability", "link_type", "scores", "match_weight", "probability", "decision",
    "decided_at", "decided_by", "change", "subject_type", "started_at", "ended_at", "trigger",
    "package_version", "git_commit", "input_snapshots", "rows_read", "rows_quarantined",
    "seconds", "source", "column_name", "rows", "suite", "expectation", "success",
    "element_count", "unexpected_count", "details", "follow_up_count",
})


class PseudonymisationError(ConfigError):
    """A column would reach the extract without being classified as safe or hashed."""


def key_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The pseudonymisation key from ``HEARTH_PSEUDONYM_KEY`` (never from a file in git)."""
    env = os.environ if environ is None else environ
    key = env.get(KEY_ENV)
    if not key:
        raise ConfigError(
            f"{KEY_ENV} is not set. The auditor extract needs the partnership's pseudonymisation "
            "key (from the secrets store or the Airflow connection `hearth_pseudonym_key`)."
        )
    return key


def _check_key(key: str) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the pseudonymisation key must be at least {MIN_KEY_LENGTH} characters "
            f"(got {len(key)}); generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return key.encode()


def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARS]


def _record_ref(key: bytes, record_id: str) -> str:
    source, _, rest = record_id.partition(":")
    return source + ":" + ":".join(_digest(key, part) for part in rest.split(":"))


def _mapped(values: pl.Series, key: bytes, *, record: bool) -> pl.Series:
    """Replace each value by its pseudonym. HMAC has no polars kernel, so it is computed
    once per *distinct* value (thousands a night), then applied to the column vectorised."""
    flat = values.explode() if values.dtype == pl.List(pl.String) else values
    distinct = flat.drop_nulls().unique().to_list()
    fn = _record_ref if record else _digest
    mapping = {v: fn(key, v) for v in distinct}
    if values.dtype == pl.List(pl.String):
        return values.list.eval(pl.element().replace_strict(mapping, default=None, return_dtype=pl.String))
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def pseudonymise(frames: Mapping[str, pl.DataFrame], key: str) -> dict[str, pl.DataFrame]:
    """Return the frames with identifiers replaced by keyed hashes.

    Raises :class:`PseudonymisationError` naming every column that is neither an
    identifier nor known to be safe, before anything is written.
    """
    secret = _check_key(key)
    known = ID_COLUMNS | ID_LIST_COLUMNS | RECORD_COLUMNS | RECORD_LIST_COLUMNS | SAFE_COLUMNS
    unknown = sorted({f"{name}.{c}" for name, f in frames.items() for c in f.columns if c not in known})
    if unknown:
        raise PseudonymisationError(
            "refusing to pseudonymise: these columns are neither identifiers nor known to be "
            f"safe for auditors: {', '.join(unknown)}. Classify them in pipeline/operate/pseudonymise.py."
        )
    out: dict[str, pl.DataFrame] = {}
    for name, frame in frames.items():
        replaced = [
            _mapped(frame[c], secret, record=c in RECORD_COLUMNS | RECORD_LIST_COLUMNS).alias(c)
            for c in frame.columns
            if c in ID_COLUMNS | ID_LIST_COLUMNS | RECORD_COLUMNS | RECORD_LIST_COLUMNS
        ]
        out[name] = frame.with_columns(replaced) if replaced else frame.clone()
    return out


def build_auditor_extract(wh: Warehouse, key: str) -> dict[str, pl.DataFrame]:
    """Read the extract's tables from an open (published, read-only) warehouse and
    pseudonymise them."""
    _check_key(key)
    frames = {name: wh.query(query) for name, query in EXTRACT_QUERIES.items()}
    return pseudonymise(frames, key)


def write_auditor_extract(frames: Mapping[str, pl.DataFrame], out_dir: Path) -> list[Path]:
    """Write one Parquet file per table and a manifest of row counts; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in frames.items():
        path = out_dir / f"{name}.parquet"
        frame.write_parquet(path)
        paths.append(path)
    manifest = out_dir / "manifest.json"
    manifest.write_text(
        json.dumps({"tables": {n: f.height for n, f in frames.items()},
                    "pseudonym": f"HMAC-SHA256, first {DIGEST_CHARS} hex digits"}, indent=2),
        encoding="utf-8",
    )
    log.info("auditor extract: %s tables written to %s", len(paths), out_dir)
    return [*paths, manifest]
