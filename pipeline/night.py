"""One night, stage by stage: ingest → validate → link → flag → publish → report.

Each stage is a function ``(NightContext) -> StageResult`` that reads what it needs from
the warehouse, calls one pure stage module, and writes its results back keyed on the run
date. The CLI runs them in one process (:func:`run_night`); the Airflow DAG runs each as
its own task with the same ``run_id``. Both paths therefore produce identical marts.

A stage that fails records the run as failed in ``audit.runs`` (with the reason) and
re-raises; nothing after it runs, and the published marts stay as they were. A night that
processed what arrived but has something to say (a file cut short, a landing folder that
is not a date, versions whose order the clock change hides) ends ``succeeded`` with its
warnings in ``audit.runs.warnings``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from pipeline import __version__, schemas, sources
from pipeline.config import Settings
from pipeline.errors import (
    DataQualityError,
    HearthError,
    RunWarning,
    WarehouseError,
    WorkingFileCorruptError,
)
from pipeline.paths import checkout_root
from pipeline.publish import warehouse
from pipeline.publish.warehouse import Warehouse

if TYPE_CHECKING:
    from pipeline.flag.flags import FlagInputs
    from pipeline.ingest.delivery import Delivery
    from pipeline.link.linkage import LinkInputs

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    stage: str
    rows_in: int = 0
    rows_out: int = 0
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    run_id: str
    run_date: date
    status: str
    stages: list[StageResult]
    published: Path | None = None
    report_files: list[Path] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.stage == name), None)


@dataclass
class NightContext:
    wh: Warehouse
    run_id: str
    run_date: date
    settings: Settings
    # The delivery as ingest read it, when validate runs in the same process (run_night);
    # a stage run on its own (Airflow) reads the landing folder again.
    delivery: Delivery | None = None


def git_commit() -> str | None:
    """The commit the code runs from, if it runs from a git checkout."""
    # An installed hearth may be started inside some other repository: not its commit.
    if (checkout := checkout_root()) is None:
        return None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True,
            timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def new_run_id(run_date: date) -> str:
    return f"{run_date.isoformat()}-{uuid.uuid4().hex[:10]}"


# ---- run bookkeeping (audit.run_log is append-only: one row at start, one at end) ---------
def begin_run(wh: Warehouse, run_date: date, settings: Settings, *, trigger: str, run_id: str | None = None) -> str:
    from pipeline.flag.rules import load_rules

    run_id = run_id or new_run_id(run_date)
    rules = load_rules(settings.rules_file)
    # We hold the only writer, so any run still "running" died (killed, machine lost).
    wh.execute("run_abandoned", event_at=datetime.now(UTC), run_id=run_id)
    wh.execute(
        "run_started", run_id=run_id, logical_date=run_date, event_at=datetime.now(UTC), trigger=trigger,
        package_version=__version__, git_commit=git_commit(), rules_version=rules.version,
        config=json.dumps(settings.public_dict()),
    )
    log.info("run %s started for %s", run_id, run_date)
    return run_id


def _stage_details(wh: Warehouse, run_id: str) -> dict[str, dict[str, Any]]:
    rows = wh.query("run_stage_details", run_id=run_id).iter_rows()
    return {stage: json.loads(detail) if detail else {} for stage, detail in rows}


def run_warnings(wh: Warehouse, run_id: str) -> list[dict[str, Any]]:
    """Every warning the run's stages recorded so far, in stage order."""
    return [w for detail in _stage_details(wh, run_id).values() for w in detail.get("warnings", [])]


def end_run(wh: Warehouse, run_id: str, run_date: date, *, status: str, message: str | None = None) -> None:
    details = _stage_details(wh, run_id)
    ingest = details.get("ingest", {})
    validate = details.get("validate", {})
    warnings = [w for detail in details.values() for w in detail.get("warnings", [])]
    wh.execute(
        "run_ended", run_id=run_id, logical_date=run_date, event=status, event_at=datetime.now(UTC),
        rules_version=details.get("flag", {}).get("rules_version"),
        input_snapshots=json.dumps(validate.get("snapshots", {})), rows_read=json.dumps(ingest.get("rows_read", {})),
        rows_quarantined=json.dumps(validate.get("quarantined", {})), message=message, warnings=json.dumps(warnings),
    )
    log.info("run %s %s%s", run_id, status, f" with {len(warnings)} warning(s)" if warnings else "")


@contextmanager
def _recorded(ctx: NightContext, stage: str) -> Iterator[StageResult]:
    result = StageResult(stage=stage)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        yield result
    except Exception as exc:
        if warehouse.is_corruption(exc):
            # Nothing more is written to a damaged file: open_writer sets it aside.
            raise
        failure: Exception = exc
        if isinstance(exc, duckdb.OutOfMemoryException):
            failure = WarehouseError(
                f"DuckDB needed more than warehouse_memory_limit ({ctx.settings.warehouse_memory_limit}) "
                f"in the {stage} stage and could not spill the rest to disk ({exc}). Nothing was "
                "published; yesterday's lists stand. Raise HEARTH_WAREHOUSE_MEMORY_LIMIT (the machine "
                "needs that much more free memory), then rerun the night."
            )
        reason = str(failure) if isinstance(failure, HearthError) else f"unexpected {failure!r}"
        end_run(ctx.wh, ctx.run_id, ctx.run_date, status="failed", message=f"{stage}: {reason}")
        # A failed night never publishes. Before tonight's publish transaction the marts are
        # yesterday's, so the (verified) copy carries only the failed run's audit rows to
        # auditors; after it, the copy would publish the failed night's lists, so it waits.
        if _lists_published_by(ctx.wh, ctx.run_id):
            log.error("run %s failed after publishing %s into the working file; the readers' file "
                      "keeps yesterday's lists until the night is rerun", ctx.run_id, ctx.run_date)
        else:
            warehouse.refresh_published(ctx.wh)
        if failure is not exc:
            raise failure from exc
        raise
    result.seconds = time.perf_counter() - t0
    ctx.wh.execute(
        "run_stage_recorded", run_id=ctx.run_id, stage=stage, started_at=started, seconds=result.seconds,
        rows_in=result.rows_in, rows_out=result.rows_out, detail=json.dumps(result.detail, default=str),
    )
    log.info("%s: %s rows in, %s out, %.1f s", stage, result.rows_in, result.rows_out, result.seconds)


def _lists_published_by(wh: Warehouse, run_id: str) -> bool:
    return bool(wh.query("run_publications", run_id=run_id)["publications"][0])


# ---- the stages ------------------------------------------------------------------------
def stage_ingest(ctx: NightContext) -> StageResult:
    """Read the night's delivery and land every row in ``raw``, passing or not."""
    from pipeline.ingest.delivery import raise_for_problems, raw_rows, read_delivery

    with _recorded(ctx, "ingest") as result:
        delivery = ctx.delivery = read_delivery(ctx.settings.landing_dir, ctx.run_date)
        rows_read: dict[str, int] = {}
        with ctx.wh.transaction():
            for source in schemas.SOURCES:
                frame = raw_rows(delivery, source)
                rows_read[source] = ctx.wh.replace_for_date(
                    warehouse.RAW_TABLE[source], ctx.run_date, frame, run_id=ctx.run_id
                ) if frame is not None else 0
        result.rows_in = result.rows_out = sum(rows_read.values())
        result.detail = {
            "rows_read": {s: n for s, n in rows_read.items() if s in delivery.files},
            "files": {s: {"file": f.path.name, "format": f.format, "encoding": f.encoding}
                      for s, f in delivery.files.items()},
            "warnings": [w.as_dict() for w in delivery.warnings],
        }
        raise_for_problems(delivery)
    return result


def _previous_counts(wh: Warehouse, run_date: date) -> dict[str, int]:
    # snapshot_info is newest first per source: the first earlier row is the previous snapshot.
    earlier = warehouse.snapshot_info(wh, run_date).filter(pl.col("snapshot_date") < run_date)
    previous = earlier.unique("source", keep="first", maintain_order=True)
    return dict(zip(previous["source"], previous["row_count"], strict=True))


def _previously_staged(
    wh: Warehouse, day: date, delivery: Delivery, fingerprint: str
) -> dict[str, tuple[date, pl.DataFrame]]:
    """For each register delivered tonight, the rows staged whole from its previous snapshot
    (none of their values withheld), if that snapshot was validated under the same rules
    (``validate.rules_fingerprint``)."""
    out = {}
    for source in schemas.REGISTER_SOURCES:
        if source not in delivery.files:
            continue
        tables = {"raw_table": warehouse.RAW_TABLE[source], "snapshot_table": warehouse.STAGING_TABLE[source]}
        snapshot = wh.query("previous_snapshot", snapshot_table=tables["snapshot_table"], before=day)
        if snapshot.height == 0 or snapshot["snapshot_date"][0] is None:
            continue
        since, then = snapshot["snapshot_date"][0], snapshot["rules_fingerprint"][0]
        if snapshot.height > 1 or then != fingerprint:
            log.info("%s: the snapshot of %s was validated under other rules (%s); every row is checked",
                     source, since, (then or "unrecorded")[:12])
            continue
        out[source] = (since, wh.query("staged_rows_as_delivered", **tables, source=source, snapshot_date=since))
    return out


def stage_validate(ctx: NightContext) -> StageResult:
    """Validate the landed rows; stage the valid ones, quarantine the rest, check freshness."""
    from pipeline.ingest.delivery import read_delivery
    from pipeline.operate.retention import fill_missing_row_hashes, split_quarantine
    from pipeline.validate.checks import (
        ValidationContext,
        build_data_docs,
        check_freshness,
        raise_for_batch_failures,
        rules_fingerprint,
        validate_delivery,
    )

    with _recorded(ctx, "validate") as result:
        wh, day = ctx.wh, ctx.run_date
        # The landing folder is write-once per date, so reading it again gives exactly the
        # rows ingest landed in raw (and keeps a header-only file distinguishable from none).
        delivery = ctx.delivery or read_delivery(ctx.settings.landing_dir, day)
        fingerprint = rules_fingerprint(ctx.settings.expectations_dir)
        vctx = ValidationContext.from_settings(
            ctx.settings.ingest,
            run_date=day,
            expectations_dir=ctx.settings.expectations_dir,
            known_incident_ids=frozenset(wh.query("known_incident_ids", before=day)["incident_id"].to_list()),
            previous_register_counts=_previous_counts(wh, day),
            previously_staged=_previously_staged(wh, day, delivery, fingerprint),
        )
        outcome = validate_delivery(delivery, vctx)
        quarantined = dict(outcome.quarantine.group_by("source").len().iter_rows())
        result.rows_in = sum(f.frame.height for f in delivery.files.values())
        result.rows_out = sum(f.height for f in outcome.staged.values())
        key = ctx.settings.pseudonym_key
        rejected, rejected_values = split_quarantine(outcome.quarantine, key)
        with wh.transaction():
            if key:
                fill_missing_row_hashes(wh, key)
            # Audit keeps where each rejected row was, why and its keyed hash; its values go
            # to the restricted layer, purged with raw (docs/data-protection.md).
            wh.insert_new(
                "audit.quarantine", rejected, key=("source", "_file", "_row", "row_hash"), day=day, run_id=ctx.run_id,
            )
            wh.insert_new(
                "restricted.rejected_rows", rejected_values,
                key=("source", "_file", "_row", "record"), day=day, run_id=ctx.run_id,
            )
            wh.insert_new(
                "audit.dq_results", outcome.dq_results,
                key=("source", "expectation", "column_name", "success", "element_count",
                     "unexpected_count", "details"),
                day=day, run_id=ctx.run_id,
            )
            if not outcome.batch_failures:
                for source, frame in outcome.staged.items():
                    wh.replace_for_date(warehouse.STAGING_TABLE[source], day, frame, run_id=ctx.run_id)
                # Recorded with the rows they were withheld from: a delivery that failed its
                # batch checks staged nothing, so nothing of it was withheld.
                wh.insert_new(
                    "audit.field_defects", outcome.field_defects,
                    key=("source", "_file", "_row", "record_id", "column_name", "rule", "reason"),
                    day=day, run_id=ctx.run_id,
                )
                # Inside the transaction: rows that do not add up are never staged.
                _check_bookkeeping(wh, day, delivery)
        docs = build_data_docs(ctx.settings.reports_dir / day.isoformat() / "data-quality", outcome,
                               title=f"hearth data quality – night of {day:%A %d %B %Y}")
        # The reasons quote the rejected values (NHS numbers, dates of birth, postcodes):
        # those stay in the warehouse; the log names only files and row numbers.
        for file, rows in outcome.quarantine.group_by("_file", maintain_order=True).agg(pl.col("_row").sort()).iter_rows():
            shown = ", ".join(str(r) for r in rows[:20]) + (f" and {len(rows) - 20} more" if len(rows) > 20 else "")
            log.info("%s: row(s) %s quarantined; the reasons are in audit.quarantine", file, shown)
        withheld = dict(outcome.field_defects.group_by("source").len().iter_rows())
        if quarantined:
            log.info("%s: rows quarantined %s — see audit.quarantine and %s", day, quarantined, docs)
        if withheld:
            log.info("%s: values withheld from staged rows %s — see audit.field_defects and %s", day, withheld, docs)
        raise_for_batch_failures(outcome, day=day, run_id=ctx.run_id, docs=docs)
        # No later stage reads the delivery as landed (the link stage reads what was staged):
        # held on, a county's register files stayed in memory through linkage's peak.
        ctx.delivery = None
        snapshots = check_freshness(warehouse.snapshot_info(wh, day), day, ctx.settings.ingest.register_max_age_days)
        result.detail = {
            "quarantined": quarantined,
            "staged": {s: f.height for s, f in outcome.staged.items()},
            "field_defects": withheld,
            "snapshots": snapshots,
            "data_docs": str(docs),
            "rules_fingerprint": fingerprint,
        }
        if quarantined and not key:
            # The rows are all recorded (the empty hash says which lack it) and a later night
            # with the key fills it in, so this does not stop or mark the night.
            log.warning("%s: %d rejected row(s) recorded without their keyed hash: HEARTH_PSEUDONYM_KEY "
                        "is not set for the night; the next night or purge that has it records the hash "
                        "while the rows' values are still held", day, sum(quarantined.values()))
    return result


def _check_bookkeeping(wh: Warehouse, day: date, delivery: Delivery) -> None:
    """Delivered = staged + quarantined, checked against what ingest landed in ``raw``.

    Ingest and validate may run in different processes (Airflow tasks) and validate reads
    the landing folder again: a file that vanished or changed in between, or a row lost
    on the way, would otherwise leave a night that looks complete.
    """
    problems = []
    for source in schemas.SOURCES:
        raw, staged = warehouse.RAW_TABLE[source], warehouse.STAGING_TABLE[source]
        landed = wh.literal_rows(f"SELECT count(*) FROM {raw} WHERE delivery_date = ?", [day])[0][0]  # noqa: S608 - fixed table list
        read = delivery.files[source].frame.height if source in delivery.files else 0
        if landed != read:
            problems.append(
                f"{source}: ingest landed {landed} rows but validate read {read} from the landing folder"
            )
            continue
        lost = wh.literal_rows(
            f"SELECT count(*) FROM {raw} AS r WHERE r.delivery_date = $day "  # noqa: S608 - fixed table list
            f"AND NOT EXISTS (SELECT 1 FROM {staged} AS s WHERE s.{warehouse.DATE_KEY[staged]} = $day "
            "AND s._file = r._file AND s._row = r._row) "
            "AND NOT EXISTS (SELECT 1 FROM audit.quarantine AS q WHERE q.delivery_date = $day "
            "AND q.source = $source AND q._file = r._file AND q._row = r._row)",
            {"day": day, "source": source},
        )[0][0]
        if lost:
            problems.append(f"{source}: {lost} of {landed} delivered rows were neither staged nor quarantined")
    if problems:
        raise DataQualityError(
            f"The delivery of {day} does not add up (delivered = staged + quarantined): "
            + "; ".join(problems) + ". The landing folder may have changed while the night ran, "
            "or rows were lost on the way; nothing was staged or published and yesterday's lists "
            "stand. Check the folder is complete and unchanged, then rerun the night."
        )


def link_inputs(wh: Warehouse, day: date) -> LinkInputs:
    """What the link stage of ``day`` links: the staged records as of that night, yesterday's
    child ids, reviewers' decisions and the models fitted so far."""
    from pipeline.link.linkage import LinkInputs

    return LinkInputs(
        health=warehouse.register_snapshot(wh, "health_register", day),
        school=warehouse.register_snapshot(wh, "school_census", day),
        persons=wh.query("current_persons", as_of=day),
        incidents=current_incidents(wh, day)[0],
        child_xref=wh.query("child_xref_before", before=day),
        person_xref=wh.query("person_xref_before", before=day),
        reviews=wh.query("review_decisions_latest", until=day),
        as_of=day,
        models=wh.query("link_models_before", as_of=day),
        partners={
            s.name: warehouse.register_snapshot(wh, s.name, day) for s in sources.REGISTRY
            if s.is_register and "register_child" in s.link_types
            and s.name not in ("health_register", "school_census")
        },
    )


def stage_link(ctx: NightContext) -> StageResult:
    """Link register and police records into children, people and households."""
    from pipeline.link.incremental import cache_fingerprint, link_incremental, plan_night

    with _recorded(ctx, "link") as result:
        wh, day = ctx.wh, ctx.run_date
        inputs = link_inputs(wh, day)
        state = wh.query("comparison_cache_state")
        last_full = state["full_relink_on"][0] if state.height else None
        plan = plan_night(
            day, ctx.settings.linkage,
            stored_fingerprint=state["fingerprint"][0] if state.height else None, last_full=last_full,
            reviewed_records=(wh.query("reviewed_records_between", since=last_full, until=day)["records"][0]
                              if last_full is not None else 0),
        )
        incremental = link_incremental(
            inputs, ctx.settings.linkage, plan=plan,
            stored=wh.query("comparison_cache") if not plan.full else None,
            fitted=(wh.query("link_models_fitted_since", since=plan.model_from, as_of=day)
                    if plan.model_from is not None else None),
        )
        linked = incremental.linked
        reason, reused, compared = incremental.plan.reason, incremental.pairs_reused, incremental.pairs_compared
        result.rows_in = (inputs.health.height + inputs.school.height + inputs.persons.height
                          + sum(f.height for f in inputs.partners.values()))
        # The night's inputs and the store's update are let go before the writes, whose
        # copies of the decisions are the night's peak.
        del inputs
        with wh.transaction():
            wh.write_comparison_cache(incremental.added, incremental.dropped, full=plan.full,
                                      fingerprint=cache_fingerprint(), day=day)
            del incremental
            for table, frame in (
                ("linked.child_xref", linked.child_xref), ("linked.person_xref", linked.person_xref),
                ("linked.children", linked.children),
                ("linked.households", linked.households), ("linked.person_links", linked.person_links),
                ("linked.incident_households", linked.incident_households),
                ("linked.review_queue", linked.review_queue),
            ):
                wh.replace_for_date(table, day, frame)
            wh.insert_new(
                "audit.link_decisions", linked.audited,
                key=("link_type", "left_id", "right_id", "decision", "match_weight"),
                day=day, run_id=ctx.run_id,
            )
            wh.insert("audit.link_models", linked.models, run_id=ctx.run_id, as_of=day)
            keep = ctx.settings.retention.history_days
            if keep is not None:
                wh.prune_history(day - timedelta(days=keep))
        result.rows_out = linked.children.height
        result.detail = {
            "children": linked.children.height, "households": linked.households.height,
            "pairs_scored": linked.pairs_scored, "pairs_audited": linked.audited.height,
            "review_queue": linked.review_queue.height,
            "u_estimated": linked.models.filter(pl.col("u_pairs") > 0)["model"].to_list(),
            "relink": "full" if plan.full else "incremental", "relink_reason": reason,
            "model_from": plan.model_from.isoformat() if plan.model_from else None,
            "models_refitted": linked.refitted["model"].to_list(),
            "pairs_reused": reused, "pairs_compared": compared,
        }
    return result


def current_incidents(wh: Warehouse, day: date) -> tuple[pl.DataFrame, list[RunWarning]]:
    """The incidents as of ``day`` (``schemas.CURRENT_INCIDENTS``), and a warning for each
    whose latest version cannot be told apart because of the clock change."""
    frame = wh.query("current_incidents", as_of=day)
    undecided = [
        RunWarning(
            "ambiguous_update_order",
            f"incident {row['incident_id']}: versions updated in the hour repeated when the clocks "
            f"went back cannot be put in order (delivered {', '.join(row['versions'])}); the higher "
            f"DASH risk, {row['dash_risk'].replace('_', ' ')}, is used. Ask police which version is "
            "the latest.",
            "police_incidents",
        )
        for row in frame.filter(pl.col("order_ambiguous")).iter_rows(named=True)
        # Said on the night a version that makes it undecidable arrives (and on its reruns).
        if any(v.startswith(day.isoformat()) for v in row["versions"])
    ]
    return frame.drop("order_ambiguous", "versions"), undecided


def flag_inputs(wh: Warehouse, day: date) -> tuple[FlagInputs, list[RunWarning]]:
    """What the rules read for list date ``day``, all of it as the warehouse holds it for
    that date (so a past night's flags can be rebuilt from what was kept), and the warnings
    about incidents whose latest version cannot be told."""
    from pipeline.flag.flags import PERSON_RELATIONSHIPS, FlagInputs

    previous = wh.query("previous_list_date", before=day)["list_date"][0]
    incidents, undecided = current_incidents(wh, day)
    inputs = FlagInputs(
        list_date=day,
        incidents=incidents,
        incident_households=wh.query("linked_incident_households", as_of=day),
        person_links=wh.query("linked_person_links", as_of=day),
        children=wh.query("linked_children", as_of=day),
        households=wh.query("linked_households", as_of=day),
        previous_list_date=previous,
        previous_flags=(wh.query("flags_on", list_date=previous) if previous
                        else schemas.empty(schemas.CHILD_FLAGS)),
        ever_listed_households=wh.query("ever_listed_households", before=day),
        decisions=wh.query("coordinator_decisions_until", until=day),
        previous_incidents=(wh.query("current_incidents", as_of=previous) if previous
                            else schemas.empty(schemas.CURRENT_INCIDENTS)),
        persons=wh.query("current_persons", as_of=day).select(list(PERSON_RELATIONSHIPS)),
        contacts=wh.query("current_contacts", as_of=day),
    )
    return inputs, undecided


def stage_flag(ctx: NightContext) -> StageResult:
    """Apply the rules; stage the day's flags, MASH list and notifications (unpublished)."""
    from pipeline.flag.flags import build_flags
    from pipeline.flag.rules import load_rules

    with _recorded(ctx, "flag") as result:
        wh, day = ctx.wh, ctx.run_date
        rules = load_rules(ctx.settings.rules_file)
        inputs, undecided = flag_inputs(wh, day)
        flags = build_flags(inputs, rules)
        with wh.transaction():
            wh.replace_for_date("linked.pending_child_flags", day, flags.child_flags.drop("list_date"), run_id=ctx.run_id)
            wh.replace_for_date("linked.pending_mash_list", day, flags.mash_list.drop("list_date"), run_id=ctx.run_id)
            wh.replace_for_date(
                "linked.pending_school_notifications", day,
                flags.school_notifications.drop("list_date"), run_id=ctx.run_id,
            )
            wh.replace_for_date("linked.pending_flag_evidence", day, flags.evidence.drop("list_date"), run_id=ctx.run_id)
            wh.replace_for_date(
                "linked.pending_unlocated_suspects", day, flags.unlocated_suspects.drop("list_date"), run_id=ctx.run_id
            )
            wh.replace_for_date(
                "linked.pending_contact_candidates", day, flags.contact_candidates.drop("list_date"), run_id=ctx.run_id
            )
            wh.replace_for_date(
                "linked.pending_consultations_to_revisit", day, flags.consultations_to_revisit.drop("list_date"),
                run_id=ctx.run_id,
            )
            wh.replace_for_date("linked.pending_lists", day, pl.DataFrame({"flagged_at": [datetime.now(UTC)]}), run_id=ctx.run_id)
        result.rows_in = inputs.incidents.height
        result.rows_out = flags.child_flags.height
        result.detail = {
            "rules_version": rules.version,
            "children_flagged": flags.child_flags.height,
            "households_listed": flags.mash_list.height,
            "school_notifications": flags.school_notifications.height,
            "contact_candidates": flags.contact_candidates.height,
            "consultations_to_revisit": flags.consultations_to_revisit.height,
            "warnings": [w.as_dict() for w in undecided],
        }
    return result


def stage_publish(ctx: NightContext) -> StageResult:
    """Publish the day's marts in one transaction, then swap in the readers' copy."""
    with _recorded(ctx, "publish") as result:
        wh, day = ctx.wh, ctx.run_date
        latest = wh.query("latest_linked_as_of")["as_of"][0]
        with wh.transaction():
            counts = wh.publish_list(day, ctx.run_id, as_of_latest=latest is None or day >= latest)
            counts["marts.shared_incidents"] = _publish_shared_incidents(ctx)
        result.rows_out = sum(counts.values())
        result.detail = {k.split(".")[1]: v for k, v in counts.items()}
    # The readers' copy is refreshed once, after the report stage closes the run (copying
    # a county-sized file twice a night cost seconds); a failure refreshes it too.
    return result


def _publish_shared_incidents(ctx: NightContext) -> int:
    """In a force-wide deployment, record which of tonight's incidents other authorities
    received too (``pipeline.authorities``); a single-county night records none."""
    from pipeline.authorities import read_shared_incidents

    shared = read_shared_incidents(ctx.settings.shared_incidents_dir, ctx.run_date)
    if shared.height == 0 and ctx.settings.shared_incidents_dir is None:
        return 0
    ctx.wh.replace_for_date("marts.shared_incidents", ctx.run_date, shared, run_id=ctx.run_id)
    return shared.height


def stage_report(ctx: NightContext) -> StageResult:
    """Write the coordinator's HTML and CSV report for the day, then close the run."""
    from pipeline.outputs.report import write_report

    with _recorded(ctx, "report") as result:
        files = write_report(ctx.wh, ctx.run_date, ctx.settings, warnings=run_warnings(ctx.wh, ctx.run_id))
        result.rows_out = len(files)
        result.detail = {"files": [str(f) for f in files]}
    end_run(ctx.wh, ctx.run_id, ctx.run_date, status="succeeded")
    # The run row is part of what auditors read, so the run ends by publishing once more:
    # the working file is handed over whole (no copy), which closes ctx.wh.
    warehouse.refresh_published(ctx.wh, handover=True)
    return result


STAGES: dict[str, Callable[[NightContext], StageResult]] = {
    "ingest": stage_ingest,
    "validate": stage_validate,
    "link": stage_link,
    "flag": stage_flag,
    "publish": stage_publish,
    "report": stage_report,
}


def run_stage(stage: str, run_date: date, settings: Settings, *, run_id: str | None = None,
              trigger: str = "airflow", create: bool = True) -> tuple[str, StageResult]:
    """Run one stage in its own warehouse session (how the Airflow DAG calls the pipeline).

    ``ingest`` starts a run when no ``run_id`` is given; later stages need the run id
    that ingest returned. Without ``create`` a missing warehouse is refused, not made.
    """
    if run_id is None and stage != "ingest":
        raise HearthError(f"stage {stage!r} needs the run id returned by the ingest stage")
    try:
        with warehouse.open_writer(
            settings.warehouse, key=settings.encryption_key, create=create, memory_limit=settings.warehouse_memory_limit
        ) as wh:
            if run_id is None:
                run_id = begin_run(wh, run_date, settings, trigger=trigger)
            ctx = NightContext(wh=wh, run_id=run_id, run_date=run_date, settings=settings)
            return run_id, STAGES[stage](ctx)
    except WorkingFileCorruptError as exc:
        _record_damaged_night(run_date, settings, trigger, f"{stage}: {exc}")
        raise


def _record_damaged_night(run_date: date, settings: Settings, trigger: str, message: str) -> None:
    """Record the failed night in the fresh working file that replaced a damaged one (its
    own record went aside with the damaged file). Nothing is published."""
    try:
        with warehouse.open_writer(
            settings.warehouse, key=settings.encryption_key, memory_limit=settings.warehouse_memory_limit
        ) as wh:
            run_id = begin_run(wh, run_date, settings, trigger=trigger)
            end_run(wh, run_id, run_date, status="failed", message=message)
    except HearthError as exc:  # the night has failed already; say why this record is missing
        log.error("could not record the failed night of %s in the fresh working file: %s", run_date, exc)


def run_night(
    run_date: date,
    settings: Settings,
    *,
    trigger: str = "cli",
    on_stage: Callable[[StageResult], None] | None = None,
) -> RunSummary:
    """Run every stage of one night in this process."""
    from pipeline.validate.checks import prefetch_suites

    results: list[StageResult] = []
    try:
        with warehouse.open_writer(
            settings.warehouse, key=settings.encryption_key, memory_limit=settings.warehouse_memory_limit
        ) as wh:
            # Imports Great Expectations (2–3 s) while ingest reads and writes, outside the
            # GIL. Started once the warehouse is open: a new warehouse's migrations are many
            # short statements, each waiting for the GIL the import holds, and that cost the
            # first night more than the overlap saved.
            prefetch_suites(settings.expectations_dir, then_import=("pipeline.link.linkage",))
            run_id = begin_run(wh, run_date, settings, trigger=trigger)
            ctx = NightContext(wh=wh, run_id=run_id, run_date=run_date, settings=settings)
            for fn in STAGES.values():
                res = fn(ctx)
                results.append(res)
                if on_stage:
                    on_stage(res)
            report = results[-1]
    except WorkingFileCorruptError as exc:
        stage = list(STAGES)[len(results)] if len(results) < len(STAGES) else "report"
        _record_damaged_night(run_date, settings, trigger, f"{stage}: {exc}")
        raise
    return RunSummary(
        run_id=run_id, run_date=run_date, status="succeeded", stages=results,
        published=settings.warehouse, report_files=[Path(f) for f in report.detail.get("files", [])],
        warnings=[w for r in results for w in r.detail.get("warnings", [])],
    )
