"""Clerical review of uncertain links: show both records side by side, record decisions.

Decisions go to ``audit.review_decisions`` (append-only, latest per pair wins) and the link
stage honours them on every later run.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
from rich.table import Table

from pipeline.config import Settings
from pipeline.errors import UsageError
from pipeline.publish import warehouse
from pipeline.sources import REGISTRY
from pipeline.terminal import plain

FIELDS = ("source", "forename", "surname", "dob", "address", "postcode", "detail", "_file", "_row")


def queue_tables(settings: Settings, *, limit: int = 20) -> list[Table]:
    """One table per undecided pair: the two records in adjacent columns, with the scores."""
    with warehouse.open_reader(settings.warehouse, key=settings.encryption_key) as wh:
        queue = wh.query("review_queue_latest", limit=limit)
        if queue.height == 0:
            return []
        as_of = queue["as_of"][0]
        ids = sorted(set(queue["left_id"]) | set(queue["right_id"]))
        records = source_records(wh, ids, as_of)
    by_id = {r["record_id"]: r for r in records.iter_rows(named=True)}
    tables = []
    for pair in queue.iter_rows(named=True):
        waited = (as_of - pair["waiting_since"]).days if pair["waiting_since"] else 0
        # Every cell is partner text: plain Text, control characters made visible, never markup.
        t = Table(title=plain(f"{pair['link_type']}: p(match) = {pair['probability']:.3f}"), show_lines=False)
        t.add_column("field")
        t.add_column(plain(pair["left_id"]))
        t.add_column(plain(pair["right_id"]))
        left, right = by_id.get(pair["left_id"], {}), by_id.get(pair["right_id"], {})
        for f in FIELDS:
            t.add_row(f, plain(str(left.get(f, ""))), plain(str(right.get(f, ""))))
        scores = json.loads(pair["scores"]) if pair["scores"] else {}
        t.add_row("scores", plain(json.dumps(scores, default=str)), "")
        t.caption = plain(
            f"waits because: {why_waiting(pair['reason'])}; in the queue since {pair['waiting_since']} "
            f"({waited} night{'s' if waited != 1 else ''})\n"
            f"hearth review --accept '{pair['left_id']}={pair['right_id']}'  (or --reject)"
        )
        tables.append(t)
    return tables


def source_records(wh: warehouse.Warehouse, record_ids: list[str], as_of: date) -> pl.DataFrame:
    """The records named by ``record_ids`` as of ``as_of`` (a register's snapshot, a police
    record's latest version), in one display shape (:data:`FIELDS`), by record id."""
    frames = []
    for spec in REGISTRY:
        if spec.detail is None or not any(i.startswith(f"{spec.name}:") for i in record_ids):
            continue
        rows = (wh.query(spec.records_query, as_of=as_of) if spec.records_query
                else warehouse.register_snapshot(wh, spec.name, as_of))
        frames.append(rows.select(
            record_id=spec.record_id(), source=pl.lit(spec.name), forename="forename", surname="surname",
            dob="dob",
            address=pl.concat_str("address_line1", "address_line2", "town", separator=", ", ignore_nulls=True),
            postcode="postcode", detail=spec.detail(), _file="_file", _row="_row",
        ).filter(pl.col("record_id").is_in(record_ids)))
    if not frames:
        return pl.DataFrame(schema={"record_id": pl.String, **{f: pl.String for f in FIELDS}})
    return pl.concat(frames, how="vertical_relaxed").sort("record_id")


def why_waiting(reason: str | None) -> str:
    """The guard that sent a pair to a person, in words (no reason: the model was unsure)."""
    from pipeline.link.linkage import REASONS

    if reason is None:
        return "the model is unsure: the match probability is between the review and match thresholds"
    return REASONS.get(reason, reason)


def parse_pair(text: str) -> tuple[str, str]:
    left, sep, right = text.partition("=")
    if not sep or not left.strip() or not right.strip():
        raise UsageError(f"a pair is LEFT_ID=RIGHT_ID as shown by `hearth review`, got {text!r}")
    return left.strip(), right.strip()


def record_decisions(
    settings: Settings, decisions: list[tuple[str, str]], *, who: str, note: str | None, os_user: str | None = None
) -> int:
    """Append reviewer decisions ("match"/"nonmatch") for pairs given as LEFT=RIGHT.

    Both ids of every pair must be records hearth has staged; otherwise nothing is
    recorded (a typo would otherwise be honoured, silently, on no record at all).
    """
    pairs = [(*parse_pair(p), d) for p, d in decisions]
    frame = pl.DataFrame(
        {
            "decided_at": [datetime.now(UTC)] * len(pairs),
            "decided_by": [who] * len(pairs),
            "left_id": [p[0] for p in pairs],
            "right_id": [p[1] for p in pairs],
            "decision": [p[2] for p in pairs],
            "note": [note] * len(pairs),
        }
    )
    with warehouse.open_writer(settings.warehouse, key=settings.encryption_key, create=False) as wh:
        asked = sorted({i for p in pairs for i in p[:2]})
        known = warehouse.known_record_ids(wh, asked)
        if unknown := [i for i in asked if i not in known]:
            raise UsageError(
                f"no decision recorded: no record has the id(s) {', '.join(map(repr, unknown))}. "
                "Copy the pair from `hearth review` (LEFT_ID=RIGHT_ID) and retry."
            )
        n = wh.insert("audit.review_decisions", frame, os_user=os_user)
        warehouse.refresh_published(wh)
    return n
