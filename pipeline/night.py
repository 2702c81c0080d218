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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline import __version__, schemas, sources
from pipeline.config import Settings
from pipeline.errors import (
    DataQualityError,
    HearthError,
    RunWarning,
    StaleRegisterError,
    WorkingFileCorruptError,
)
from pipeline.outputs.files import write_files
from pipeline.paths import checkout_root
from pipeline.publish import warehouse
from pipeline.publish.warehouse import Warehouse

if TYPE_CHECKING:
    from pipeline.ingest.delivery import Delivery

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
    wh.fetch(
        "INSERT INTO audit.run_log (run_id, logical_date, event, event_at, message) "
        "SELECT run_id, logical_date, 'abandoned', ?, 'no end recorded; superseded by run ' || ? "
        "FROM audit.runs WHERE status = 'running'",
        [datetime.now(UTC), run_id],
    )
    wh.fetch(
        "INSERT INTO audit.run_log (run_id, logical_date, event, event_at, trigger, package_version, "
        "git_commit, rules_version, config) VALUES (?, ?, 'started', ?, ?, ?, ?, ?, ?)",
        [run_id, run_date, datetime.now(UTC), trigger, __version__, git_commit(), rules.version,
         json.dumps(settings.public_dict())],
    )
    log.info("run %s started for %s", run_id, run_date)
    return run_id


def _stage_details(wh: Warehouse, run_id: str) -> dict[str, dict[str, Any]]:
    rows = wh.fetch("SELECT stage, detail FROM audit.run_stages WHERE run_id = ? ORDER BY started_at", [run_id])
    return {stage: json.loads(detail) if detail else {} for stage, detail in rows}


def run_warnings(wh: Warehouse, run_id: str) -> list[dict[str, Any]]:
    """Every warning the run's stages recorded so far, in stage order."""
    return [w for detail in _stage_details(wh, run_id).values() for w in detail.get("warnings", [])]


def end_run(wh: Warehouse, run_id: str, run_date: date, *, status: str, message: str | None = None) -> None:
    details = _stage_details(wh, run_id)
    ingest = details.get("ingest", {})
    validate = details.get("validate", {})
    warnings = [w for detail in details.values() for w in detail.get("warnings", [])]
    wh.fetch(
        "INSERT INTO audit.run_log (run_id, logical_date, event, event_at, rules_version, input_snapshots, "
        "rows_read, rows_quarantined, message, warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, run_date, status, datetime.now(UTC), details.get("flag", {}).get("rules_version"),
         json.dumps(validate.get("snapshots", {})), json.dumps(ingest.get("rows_read", {})),
         json.dumps(validate.get("quarantined", {})), message, json.dumps(warnings)],
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
        reason = str(exc) if isinstance(exc, HearthError) else f"unexpected {exc!r}"
        end_run(ctx.wh, ctx.run_id, ctx.run_date, status="failed", message=f"{stage}: {reason}")
        # A failed night never publishes. Before tonight's publish transaction the marts are
        # yesterday's, so the (verified) copy carries only the failed run's audit rows to
        # auditors; after it, the copy would publish the failed night's lists, so it waits.
        if _lists_published_by(ctx.wh, ctx.run_id):
            log.error("run %s failed after publishing %s into the working file; the readers' file "
                      "keeps yesterday's lists until the night is rerun", ctx.run_id, ctx.run_date)
        else:
            warehouse.refresh_published(ctx.wh)
        raise
    result.seconds = time.perf_counter() - t0
    ctx.wh.fetch(
        "INSERT INTO audit.run_stages VALUES (?, ?, ?, ?, ?, ?, ?)",
        [ctx.run_id, stage, started, result.seconds, result.rows_in, result.rows_out,
         json.dumps(result.detail, default=str)],
    )
    log.info("%s: %s rows in, %s out, %.1f s", stage, result.rows_in, result.rows_out, result.seconds)


def _lists_published_by(wh: Warehouse, run_id: str) -> bool:
    return bool(wh.fetch("SELECT count(*) FROM audit.publications WHERE run_id = ?", [run_id])[0][0])


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
    from pipeline.validate.checks import (
        ValidationContext,
        build_data_docs,
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
        with wh.transaction():
            wh.insert_new(
                "audit.quarantine", outcome.quarantine,
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
        if outcome.batch_failures:
            raise DataQualityError(
                f"Data-quality checks failed for the delivery of {day}; nothing was staged or "
                "published and yesterday's lists stand. "
                + " ".join(outcome.batch_failures)
                + f" Details: audit.dq_results (run {ctx.run_id}) and {docs}."
            )
        snapshots = _check_freshness(wh, day, ctx.settings.ingest.register_max_age_days)
        result.detail = {
            "quarantined": quarantined,
            "staged": {s: f.height for s, f in outcome.staged.items()},
            "field_defects": withheld,
            "snapshots": snapshots,
            "data_docs": str(docs),
            "rules_fingerprint": fingerprint,
        }
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
        landed = wh.fetch(f"SELECT count(*) FROM {raw} WHERE delivery_date = ?", [day])[0][0]  # noqa: S608 - fixed table list
        read = delivery.files[source].frame.height if source in delivery.files else 0
        if landed != read:
            problems.append(
                f"{source}: ingest landed {landed} rows but validate read {read} from the landing folder"
            )
            continue
        lost = wh.fetch(
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


def _check_freshness(wh: Warehouse, day: date, max_age: int) -> dict[str, Any]:
    info = warehouse.snapshot_info(wh, day)
    snapshots: dict[str, Any] = {}
    stale = []
    for source in schemas.REGISTER_SOURCES:
        spec = sources.spec(source)
        rows = info.filter(pl.col("source") == source)
        if rows.height == 0:
            # A partner that has never delivered is absent from the night's picture (the
            # report says so); a register every list depends on is not.
            if spec.always_delivered:
                stale.append(f"no {source} snapshot has ever been delivered on or before {day}")
            else:
                snapshots[source] = {"snapshot_date": None, "age_days": None, "rows": 0}
            continue
        snap = rows.row(0, named=True)
        age = (day - snap["snapshot_date"]).days
        limit = spec.max_age_days if spec.max_age_days is not None else max_age
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


def stage_link(ctx: NightContext) -> StageResult:
    """Link register and police records into children, people and households."""
    from pipeline.link.linkage import LinkInputs, link_people

    with _recorded(ctx, "link") as result:
        wh, day = ctx.wh, ctx.run_date
        inputs = LinkInputs(
            health=warehouse.register_snapshot(wh, "health_register", day),
            school=warehouse.register_snapshot(wh, "school_census", day),
            persons=wh.query("current_persons", as_of=day),
            incidents=current_incidents(wh, day)[0],
            child_xref=wh.query("child_xref_before", before=day),
            reviews=wh.query("review_decisions_latest", until=day),
            as_of=day,
            models=wh.query("link_models_before", as_of=day),
            partners={
                s.name: warehouse.register_snapshot(wh, s.name, day) for s in sources.REGISTRY
                if s.is_register and "register_child" in s.link_types
                and s.name not in ("health_register", "school_census")
            },
        )
        linked = link_people(inputs, ctx.settings.linkage)
        with wh.transaction():
            for table, frame in (
                ("linked.child_xref", linked.child_xref), ("linked.children", linked.children),
                ("linked.households", linked.households), ("linked.person_links", linked.person_links),
                ("linked.incident_households", linked.incident_households),
                ("linked.review_queue", linked.review_queue),
            ):
                wh.replace_for_date(table, day, frame)
            # Pairs far below any threshold are the bulk of candidates and say nothing an
            # auditor needs beyond "scored and rejected"; they are counted, not stored.
            floor = ctx.settings.linkage.audit_min_probability
            kept = linked.decisions.filter(
                (pl.col("decision") != "auto_nonmatch") | (pl.col("probability") >= floor)
            )
            wh.insert_new(
                "audit.link_decisions", kept,
                key=("link_type", "left_id", "right_id", "decision", "match_weight"),
                day=day, run_id=ctx.run_id,
            )
            wh.insert("audit.link_models", linked.models, run_id=ctx.run_id, as_of=day)
        result.rows_in = (inputs.health.height + inputs.school.height + inputs.persons.height
                          + sum(f.height for f in inputs.partners.values()))
        result.rows_out = linked.children.height
        result.detail = {
            "children": linked.children.height, "households": linked.households.height,
            "pairs_scored": linked.decisions.height, "pairs_audited": kept.height,
            "review_queue": linked.review_queue.height,
            "u_estimated": linked.models.filter(pl.col("u_pairs") > 0)["model"].to_list(),
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


def stage_flag(ctx: NightContext) -> StageResult:
    """Apply the rules; stage the day's flags, MASH list and notifications (unpublished)."""
    from pipeline.flag.flags import PERSON_RELATIONSHIPS, FlagInputs, build_flags
    from pipeline.flag.rules import load_rules

    with _recorded(ctx, "flag") as result:
        wh, day = ctx.wh, ctx.run_date
        rules = load_rules(ctx.settings.rules_file)
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
        counts = wh.publish_list(day, ctx.run_id, as_of_latest=latest is None or day >= latest)
        result.rows_out = sum(counts.values())
        result.detail = {k.split(".")[1]: v for k, v in counts.items()}
    # The readers' copy is refreshed once, after the report stage closes the run (copying
    # a county-sized file twice a night cost seconds); a failure refreshes it too.
    return result


# Warnings a coordinator must see at the top of the night's report (the others are for
# the data engineers: run summary, log and audit.runs).
REPORT_WARNING_KINDS = ("truncated_file", "ambiguous_update_order")


def write_report(
    wh: Warehouse, list_date: date, settings: Settings, *, warnings: list[dict[str, Any]] | None = None
) -> list[Path]:
    """Render the coordinator's report for a published list date into the reports folder.

    ``warnings`` are the night's (default: those recorded for the run that published the date)."""
    from pipeline.flag.rules import load_rules
    from pipeline.outputs.report import render_report

    rules = load_rules(settings.rules_file)
    mash = wh.query("mash_list_on", list_date=list_date)
    flags = wh.query("flags_on", list_date=list_date)
    unlocated = wh.query("unlocated_suspects_on", list_date=list_date)
    notifications = wh.query("school_notifications_on", list_date=list_date)
    conflicts = wh.query("address_conflicts_on", as_of=list_date)
    revisit = wh.query("consultations_to_revisit_on", list_date=list_date)
    if warnings is None:
        recorded = wh.query("run_warnings_on", list_date=list_date)["warnings"].to_list()
        warnings = json.loads(recorded[0]) if recorded and recorded[0] else []
    notices = [w["message"] for w in warnings if w.get("kind") in REPORT_WARNING_KINDS]
    absent = [
        spec.words for spec in sources.REGISTRY
        if not spec.always_delivered
        and not wh.query("source_delivered", raw_table=spec.raw_table, as_of=list_date)["delivered"][0]
    ]
    html, csv = render_report(list_date, mash, flags, generated_at=datetime.now(UTC), rules=rules,
                              unlocated=unlocated, notifications=notifications, notices=notices,
                              address_conflicts=conflicts, revisit=revisit, absent_sources=absent)
    out = settings.reports_dir / list_date.isoformat()
    return write_files({out / f"mash-list-{list_date}.html": html, out / f"mash-list-{list_date}.csv": csv},
                       what="the MASH list report")


def stage_report(ctx: NightContext) -> StageResult:
    """Write the coordinator's HTML and CSV report for the day, then close the run."""
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
        with warehouse.open_writer(settings.warehouse, key=settings.encryption_key, create=create) as wh:
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
        with warehouse.open_writer(settings.warehouse, key=settings.encryption_key) as wh:
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

    # Imports Great Expectations (2–3 s) while ingest reads and writes, outside the GIL.
    prefetch_suites(settings.expectations_dir, then_import=("pipeline.link.linkage",))
    results: list[StageResult] = []
    try:
        with warehouse.open_writer(settings.warehouse, key=settings.encryption_key) as wh:
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
