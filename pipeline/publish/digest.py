"""A digest of what a night publishes, to prove a change to the code changes no figure.

``marts_digest(published)`` reads the marts, the linked tables and the audit evidence of a
warehouse and returns one SHA-256 per table over its rows, sorted, without the columns that
differ from one run to the next of the same inputs (run ids, clock times). Two warehouses
built from the same landing folders by two versions of hearth have identical digests when
the refactoring changed no flag, list, link decision or quarantined row.

    python -m pipeline.publish.digest data/warehouse.duckdb           # print the digests
    python -m pipeline.publish.digest a.duckdb b.duckdb                # compare two warehouses
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import polars as pl

from pipeline.sources import REGISTRY

# What the night decides, table by table (the published marts first).
DIGESTED_TABLES = (
    "marts.child_index", "marts.child_flags", "marts.mash_list", "marts.school_notifications",
    "marts.unlocated_suspects", "marts.contact_candidates", "marts.consultations_to_revisit",
    "linked.child_xref", "linked.children", "linked.households", "linked.person_links",
    "linked.incident_households", "linked.review_queue",
    *(s.staging_table for s in REGISTRY),
    "audit.quarantine", "audit.field_defects", "audit.link_decisions", "audit.flag_evidence",
)
# Floating-point figures (link probabilities) are compared to this many decimals: the
# same night computed twice differs in the last bits of a sum (summation order), never in
# a decision, and the decisions themselves are digested exactly.
FLOAT_DECIMALS = 6
# Columns that name the run or the moment, not a decision.
VOLATILE_COLUMNS = frozenset({"run_id", "recorded_at", "quarantined_at", "published_at", "decided_at", "started_at"})


def frame_digest(frame: pl.DataFrame) -> str:
    """SHA-256 of a frame's rows in a canonical order (row order and run ids do not count)."""
    kept = frame.select(sorted(c for c in frame.columns if c not in VOLATILE_COLUMNS)).with_columns(
        pl.col(pl.Float32, pl.Float64).round(FLOAT_DECIMALS)
    )
    lines = sorted(kept.write_ndjson().splitlines()) if kept.height else []
    digest = hashlib.sha256()
    digest.update(",".join(kept.columns).encode())
    for line in lines:
        digest.update(b"\n" + line.encode())
    return f"{kept.height}:{digest.hexdigest()[:16]}"


def marts_digest(published: Path, *, key: str | None = None) -> dict[str, str]:
    """``{table: "<rows>:<sha256 prefix>"}`` for every table of :data:`DIGESTED_TABLES`."""
    from pipeline.publish import warehouse

    with warehouse.open_reader(Path(published), key=key) as wh:
        return {table: frame_digest(wh.query("table_rows", table=table)) for table in DIGESTED_TABLES}


def main(argv: list[str]) -> int:
    digests = [marts_digest(Path(p)) for p in argv]
    if not digests:
        sys.stderr.write("usage: python -m pipeline.publish.digest WAREHOUSE [OTHER_WAREHOUSE]\n")
        return 2
    differ = False
    for table in DIGESTED_TABLES:
        values = [d[table] for d in digests]
        same = len(set(values)) == 1
        differ |= not same
        sys.stdout.write(f"{table:40} {'  '.join(values)}{'' if same else '  DIFFERS'}\n")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
