"""``hearth``: the command-line door into the pipeline.

Exit codes: 0 ok, 1 the run failed, 2 usage or input error. Holds no logic of its own:
every command calls a stage module or the warehouse.
"""

from __future__ import annotations

import csv as csv_mod
import io
import logging
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.config import PROJECT_ROOT, Settings, default_reports_dir, load_settings
from pipeline.errors import HearthError, UsageError
from pipeline.logs import configure_logging
from pipeline.terminal import plain, safe

app = typer.Typer(
    name="hearth",
    help="Nightly safeguarding linkage: police domestic-abuse records joined to school and "
    "health registers, published to DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console(*, stderr: bool) -> Console:
    # Much of what reaches the terminal is partner text (names, file headers quoted in errors):
    # never interpreted as markup or emoji codes; styles are applied with Text objects only.
    # Output read by another program or saved to a file is not wrapped at rich's default 80
    # columns: a sentence broken mid-way is harder to read and cannot be searched for.
    stream = sys.stderr if stderr else sys.stdout
    interactive = stream.isatty()
    return Console(
        stderr=stderr, markup=False, emoji=False, highlight=False,
        soft_wrap=not interactive, width=None if interactive else 200,
    )


console = _console(stderr=False)
err = _console(stderr=True)
log = logging.getLogger(__name__)

DateOpt = Annotated[str, typer.Option("--date", help="logical date YYYY-MM-DD")]
LandingOpt = Annotated[Path | None, typer.Option("--landing", help="landing folder (default from config)")]
WarehouseOpt = Annotated[Path | None, typer.Option("--warehouse", help="published DuckDB file (default from config)")]
AsOpt = Annotated[str | None, typer.Option(
    "--as", help="who is acting (default: the OS user; the OS user is recorded beside it either way)")]
CreateOpt = Annotated[bool, typer.Option("--create", help="create the warehouse if there is none at that path")]


def _parse_date(value: str, what: str = "--date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what} must be a date as YYYY-MM-DD, got {value!r}") from None


def _settings(landing: Path | None = None, warehouse: Path | None = None, *, must_exist: bool = True) -> Settings:
    """Settings for one command. A ``--warehouse`` given on the command line takes its
    reports with it (beside it), so it never overwrites another warehouse's reports; and
    unless ``must_exist`` is off (``init``, ``run --create``) the warehouse must exist."""
    from pipeline.publish import warehouse as wh_mod

    settings = load_settings(
        landing_dir=landing, warehouse=warehouse,
        reports_dir=default_reports_dir(warehouse) if warehouse is not None else None,
    )
    if must_exist:
        wh_mod.require_existing(settings.warehouse)
    return settings


def _os_user() -> str:
    from pipeline.operate.access import os_user

    return os_user()


def _who(as_: str | None) -> str:
    return as_ or _os_user()


def _progress_enabled(settings: Settings) -> bool:
    if settings.progress is not None:
        return settings.progress
    return sys.stdout.isatty() and not os.environ.get("CI") and not os.environ.get("AIRFLOW_CTX_DAG_ID")


def _fail(exc: HearthError) -> typer.Exit:
    # The message may quote a partner's file (a header, a value): printed as text.
    err.print(Text.assemble(("hearth: ", "bold red"), plain(str(exc))), soft_wrap=True)
    return typer.Exit(exc.exit_code)


def _warn(text: str) -> None:
    err.print(Text.assemble(("hearth: ", "bold yellow"), plain(text)), soft_wrap=True)


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
) -> None:
    """Set up logging once for every command."""
    configure_logging("DEBUG" if verbose else os.environ.get("HEARTH_LOG_LEVEL", "WARNING"))
    # Everything a command creates (warehouse, WAL, reports, extracts) is owner-only,
    # whatever umask the shell or service gave us; restored when the command ends.
    previous = os.umask(0o077)
    ctx.call_on_close(lambda: os.umask(previous))


@app.command()
def init(warehouse: WarehouseOpt = None) -> None:
    """Create a new, empty warehouse (owner-only) where none exists."""
    from pipeline.publish import warehouse as wh_mod

    try:
        settings = _settings(warehouse=warehouse, must_exist=False)
        if wh_mod.exists(settings.warehouse):
            raise UsageError(f"a warehouse already exists at {settings.warehouse}; nothing was changed.")
        with wh_mod.open_writer(settings.warehouse, key=settings.encryption_key, create=True) as wh:
            wh_mod.refresh_published(wh)
    except HearthError as exc:
        raise _fail(exc) from exc
    console.print(f"created an empty warehouse at {settings.warehouse}; reports go to {settings.reports_dir}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="folder to write landing/ and truth/ into")],
    households: Annotated[int, typer.Option(min=1, help="number of households")] = 3000,
    days: Annotated[int, typer.Option(min=1, help="number of nightly deliveries")] = 30,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same files")] = 1,
    start_date: Annotated[str | None, typer.Option("--start-date", help="first delivery date YYYY-MM-DD")] = None,
) -> None:
    """Write a synthetic county's nightly deliveries and its ground truth."""
    from pipeline.synth.county import write_synthetic_county

    try:
        start = _parse_date(start_date, "--start-date") if start_date else default_start(days)
        t0 = time.perf_counter()
        summary = write_synthetic_county(out, households=households, days=days, seed=seed, start_date=start)
    except HearthError as exc:
        raise _fail(exc) from exc
    console.print(
        f"synthetic county: {summary.households:,} households, {summary.children:,} children, "
        f"{len(summary.deliveries)} deliveries from {summary.deliveries[0]} to {summary.deliveries[-1]} "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    console.print(f"landing: {summary.landing_dir}\ntruth:   {summary.truth_dir}")


def default_start(days: int) -> date:
    """Synthetic deliveries end yesterday by default, so the demo's lists are current."""
    return date.today() - timedelta(days=days)


def _print_stage(result: Any) -> None:
    console.print(
        f"  {result.stage:<9} {result.rows_in:>9,} in {result.rows_out:>9,} out  {result.seconds:6.1f} s",
        highlight=False,
    )


@app.command()
def run(
    date_: DateOpt,
    landing: LandingOpt = None,
    warehouse: WarehouseOpt = None,
    create: CreateOpt = False,
    allow_future: Annotated[bool, typer.Option(
        "--allow-future", help="accept a date after today in Europe/London (tests only)")] = False,
) -> None:
    """Run one night for a logical date: ingest, validate, link, flag, publish, report."""
    from pipeline.ingest import run_order
    from pipeline.night import run_night

    try:
        day = _parse_date(date_)
        run_order.check_not_future(day, allow_future=allow_future)
        settings = _settings(landing, warehouse, must_exist=not create)
        history = run_order.read_history(settings)
        if gap := run_order.gap_before(history, day):
            _warn(gap)
        progress = _progress_enabled(settings)
        summary = run_night(day, settings, trigger="cli", on_stage=_print_stage if progress else None)
    except HearthError as exc:
        raise _fail(exc) from exc
    # Loud on purpose: a night that processed what arrived but lost or doubted something.
    for warning in summary.warnings:
        err.print(f"hearth: warning: {warning['message']}", soft_wrap=True)
    status = f"{summary.status} with {len(summary.warnings)} warning(s)" if summary.warnings else summary.status
    console.print(f"run {summary.run_id}: {status}; warehouse {settings.warehouse}")
    if stale := run_order.stale_after(history, day):
        _warn(stale)


@app.command()
def demo(
    households: Annotated[int, typer.Option(min=1)] = 3000,
    days: Annotated[int, typer.Option(min=1)] = 30,
    seed: Annotated[int, typer.Option()] = 1,
    out: Annotated[Path, typer.Option("--out", help="demo data folder")] = PROJECT_ROOT / "data" / "demo",
) -> None:
    """Synthesise a small county, run every night in order, and summarise the outputs."""
    from pipeline.demo import run_demo

    try:
        summary = run_demo(out, households=households, days=days, seed=seed,
                           progress=sys.stdout.isatty() and not os.environ.get("CI"))
    except HearthError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"hearth demo: {days} nights, {households:,} households")
    for col in ("rows in", "quarantined", "children flagged (last night)", "households listed (all nights)"):
        table.add_column(col, justify="right")
    table.add_row(f"{summary.rows_in:,}", f"{summary.quarantined:,}", f"{summary.children_flagged:,}",
                  f"{summary.households_listed:,}")
    console.print(table)
    console.print(
        f"warehouse: {summary.warehouse}\nreports:   {summary.reports_dir}\n"
        f"landing:   {summary.landing_dir}\ntook {summary.seconds:.1f} s"
    )


@app.command()
def report(
    date_: DateOpt,
    warehouse: WarehouseOpt = None,
    as_: AsOpt = None,
) -> None:
    """Write the coordinator's HTML and CSV report for a published list date."""
    from pipeline import night
    from pipeline.operate import access
    from pipeline.publish import warehouse as wh_mod

    try:
        day = _parse_date(date_)
        settings = _settings(warehouse=warehouse)
        with wh_mod.open_reader(settings.warehouse, key=settings.encryption_key) as wh:
            published = wh.query("published_list_dates")["list_date"].to_list()
        if day not in published:
            latest = f"the latest is {published[-1]}" if published else "no night has published a list yet"
            raise UsageError(f"no night published a list for {day} ({latest}); no report was written.")
        # Logged before anything is written: a report that cannot be logged is not made.
        access.record(settings, who=_who(as_), command="report", subject=str(day), detail="mash list report")
        with wh_mod.open_reader(settings.warehouse, key=settings.encryption_key) as wh:
            files = night.write_report(wh, day, settings)
    except HearthError as exc:
        raise _fail(exc) from exc
    for f in files:
        console.print(str(f))


@app.command()
def explain(
    child_id: Annotated[str, typer.Argument(help="child_id from marts.child_index / child_flags")],
    date_: Annotated[str | None, typer.Option("--date", help="list date (default: latest)")] = None,
    warehouse: WarehouseOpt = None,
    as_: AsOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="also list candidate records that were not accepted")] = False,
) -> None:
    """Say in plain English why a child is, or is not, flagged."""
    from pipeline.operate import access
    from pipeline.operate import explain as explain_mod
    from pipeline.publish import warehouse as wh_mod

    try:
        settings = _settings(warehouse=warehouse)
        day = _parse_date(date_) if date_ else None
        with wh_mod.open_reader(settings.warehouse, key=settings.encryption_key) as wh:
            text = explain_mod.explain_child(wh, child_id, day, show_all=show_all)
        access.record(settings, who=_who(as_), command="explain", subject=child_id, detail=f"date={day}")
    except HearthError as exc:
        raise _fail(exc) from exc
    console.print(plain(text))


@app.command()
def review(
    warehouse: WarehouseOpt = None,
    as_: AsOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="pairs to show (1 or more)")] = 20,
    accept: Annotated[list[str] | None, typer.Option(help="LEFT_ID=RIGHT_ID pair to record as the same person")] = None,
    reject: Annotated[list[str] | None, typer.Option(help="LEFT_ID=RIGHT_ID pair to record as different people")] = None,
    note: Annotated[str | None, typer.Option(help="reason recorded with the decision")] = None,
) -> None:
    """Show the clerical review queue side by side, or record accept/reject decisions."""
    from pipeline.operate import access
    from pipeline.operate import review as review_mod

    try:
        settings = _settings(warehouse=warehouse)
        who = _who(as_)
        decisions = [(p, "match") for p in accept or []] + [(p, "nonmatch") for p in reject or []]
        if decisions:
            n = review_mod.record_decisions(settings, decisions, who=who, note=note, os_user=_os_user())
            console.print(f"recorded {n} decision(s); they are honoured from the next run on")
            return
        access.record(settings, who=who, command="review", subject="review_queue", detail=f"limit={limit}")
        tables = review_mod.queue_tables(settings, limit=limit)
    except HearthError as exc:
        raise _fail(exc) from exc
    if not tables:
        console.print("the review queue is empty")
    for t in tables:
        console.print(t)


@app.command()
def decide(
    household_id: Annotated[str | None, typer.Argument(help="household to decide on")] = None,
    priority: Annotated[int | None, typer.Option(help="pin the household at this priority")] = None,
    level: Annotated[str | None, typer.Option("--level", help="risk level set by a person (high/medium/standard)")] = None,
    reason: Annotated[str | None, typer.Option(help="why (required)")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="batch: CSV with household_id,priority,level,reason")] = None,
    warehouse: WarehouseOpt = None,
    as_: AsOpt = None,
) -> None:
    """Record a coordinator's decision on a household; later lists honour it."""
    from pipeline.flag.rules import load_rules
    from pipeline.operate import decisions as decisions_mod

    try:
        settings = _settings(warehouse=warehouse)
        if csv_file:
            rows = decisions_mod.read_decisions_csv(csv_file)
        else:
            if not household_id or not reason:
                raise UsageError("give HOUSEHOLD_ID and --reason (or --csv FILE)")
            rows = [decisions_mod.Decision(household_id, priority, level, reason)]
        who, at = _who(as_), datetime.now(UTC)
        n = decisions_mod.record(settings, rows, who=who, at=at, os_user=_os_user())
        published_at = load_rules(settings.rules_file).published_at
    except HearthError as exc:
        raise _fail(exc) from exc
    console.print(f"recorded {n} decision(s)", highlight=False)
    for line in decisions_mod.read_back(rows, who=who, at=at, published_at=published_at):
        console.print(line, highlight=False, markup=False)


@app.command()
def purge(
    date_: Annotated[str | None, typer.Option("--date", help="purge as of this date (default: today, or the latest night if earlier)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run/--apply", help="show what would go (default) or delete it")] = True,
    force: Annotated[bool, typer.Option("--force", help="purge incidents still inside the flag window (needs --reason)")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="why a forced purge is needed (recorded)")] = None,
    warehouse: WarehouseOpt = None,
    as_: AsOpt = None,
) -> None:
    """Show (or, with --apply, delete) raw and staging rows past their retention period.

    Every purge, dry run or applied, is recorded in audit.purges."""
    from pipeline.flag.calendar import LONDON
    from pipeline.flag.rules import load_rules
    from pipeline.operate import retention
    from pipeline.publish import warehouse as wh_mod

    try:
        settings = _settings(warehouse=warehouse)
        today = datetime.now(LONDON).date()
        policy = retention.RetentionPolicy.from_settings(settings.retention)
        request = retention.PurgeRequest(who=_who(as_), today=today, force=force, reason=reason,
                                         lookback_days=load_rules(settings.rules_file).lookback_days)
        with wh_mod.open_writer(settings.warehouse, key=settings.encryption_key, create=False) as wh:
            latest = wh.query("latest_night")["logical_date"][0]
            day = _parse_date(date_) if date_ else min(today, latest or today)
            plan = retention.purge(wh, day, policy, dry_run=dry_run, request=request)
            if not dry_run:
                wh_mod.refresh_published(wh)
    except HearthError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"retention as of {day}: {'would delete' if dry_run else 'deleted'}")
    for col in plan.columns:
        table.add_column(col)
    for row in plan.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


@app.command("audit-extract")
def audit_extract(
    out: Annotated[Path, typer.Option("--out", help="a new (or empty) folder for the pseudonymised Parquet extract")],
    warehouse: WarehouseOpt = None,
    as_: AsOpt = None,
) -> None:
    """Write the pseudonymised auditor extract (keyed hashes, no names or addresses)."""
    from pipeline.operate import access, pseudonymise
    from pipeline.outputs import files as outputs
    from pipeline.publish import warehouse as wh_mod

    try:
        settings = _settings(warehouse=warehouse)
        key = settings.pseudonym_key or pseudonymise.key_from_env()
        with wh_mod.open_reader(settings.warehouse, key=settings.encryption_key) as wh:
            frames = pseudonymise.build_auditor_extract(wh, key)
        # Logged before anything is written; written to a temporary folder renamed into place.
        access.record(settings, who=_who(as_), command="audit-extract", subject=str(out),
                      detail="pseudonymised extract")
        with outputs.new_folder(out, what="the auditor extract") as tmp:
            written = pseudonymise.write_auditor_extract(frames, tmp)
        files = [out / f.name for f in written]
    except HearthError as exc:
        raise _fail(exc) from exc
    for f in files:
        console.print(str(f))


@app.command("sql")
def sql_command(
    query: Annotated[str, typer.Argument(help="one SQL query, e.g. \"SELECT * FROM audit.runs\"")],
    csv: Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")] = False,
    warehouse: WarehouseOpt = None,
    as_: AsOpt = None,
) -> None:
    """Query the published warehouse read-only (logged in audit.access_log)."""
    from pipeline.operate import access
    from pipeline.publish import warehouse as wh_mod

    try:
        settings = _settings(warehouse=warehouse)
        # The query text is the subject: an auditor can see exactly what was looked at.
        access.record(settings, who=_who(as_), command="sql", subject=query, detail="csv" if csv else "table")
        with wh_mod.open_reader(settings.warehouse, key=settings.encryption_key) as wh:
            frame = wh_mod.run_readonly_sql(wh, query)
    except HearthError as exc:
        raise _fail(exc) from exc
    if csv:
        # The csv module, not polars: results may hold lists (child_ids), which polars'
        # CSV writer refuses; unwrapped, whatever the terminal width.
        buffer = io.StringIO()
        writer = csv_mod.writer(buffer, lineterminator="\n")
        writer.writerow(frame.columns)
        writer.writerows(["" if v is None else v for v in row] for row in frame.iter_rows())
        typer.echo(safe(buffer.getvalue()), nl=False)
        return
    table = Table(show_lines=False)
    for col in frame.columns:
        table.add_column(plain(col))
    for row in frame.iter_rows():
        table.add_row(*(plain("" if v is None else str(v)) for v in row))
    console.print(table)
    console.print(f"{frame.height:,} row(s)")


def _main() -> None:  # pragma: no cover - console entry point used by `python -m pipeline`
    app()
