"""``hearth demo``: a synthetic county, every night run in order, and a summary.

The demo owns its warehouse: it starts from an empty one, and refuses to reset a warehouse
that holds any run the demo did not make (so it can never wipe real data).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.config import Settings, load_settings
from pipeline.errors import UsageError
from pipeline.night import run_night
from pipeline.publish import warehouse

log = logging.getLogger(__name__)

DEMO_START = date(2026, 10, 1)


@dataclass(frozen=True)
class DemoSummary:
    rows_in: int
    quarantined: int
    children_flagged: int
    households_listed: int
    warehouse: Path
    reports_dir: Path
    landing_dir: Path
    seconds: float


def _reset_warehouse(published: Path) -> None:
    work = warehouse.work_path(published)
    if work.exists() or published.exists():
        with warehouse.open_reader(published if published.exists() else work) as wh:
            other = wh.literal_rows("SELECT count(*) FROM audit.runs WHERE trigger IS DISTINCT FROM 'demo'")[0][0]
        if other:
            raise UsageError(
                f"{published} holds {other} run(s) not made by the demo; the demo will not reset it. "
                "Point it elsewhere with HEARTH_WAREHOUSE=… hearth demo."
            )
    # Under the lock, so a working copy still being made after the last night cannot land
    # after the reset.
    with warehouse.working_copy_lock(published):
        for p in (published, work, Path(f"{work}.wal"), Path(f"{published}.wal")):
            p.unlink(missing_ok=True)


def demo_settings(landing_dir: Path) -> Settings:
    """The configuration the demo's nights run with: the deployment's own, and a throwaway
    pseudonymisation key where none is set, so the demo's rejected rows get their keyed hash
    as a deployment's do instead of each night warning that the key is missing. The
    synthetic county's hashes need no key kept: the demo rebuilds its warehouse every run."""
    settings = load_settings(landing_dir=landing_dir)
    if settings.pseudonym_key:
        return settings
    log.info("demo: HEARTH_PSEUDONYM_KEY is not set; this run hashes rejected rows with a key made for it")
    return settings.model_copy(update={"pseudonym_key": secrets.token_hex(32)})


def run_demo(out: Path, *, households: int, days: int, seed: int, progress: bool) -> DemoSummary:
    from pipeline.synth.county import write_synthetic_county

    t0 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    county = write_synthetic_county(out, households=households, days=days, seed=seed, start_date=DEMO_START)
    settings = demo_settings(county.landing_dir)
    _reset_warehouse(settings.warehouse)
    if settings.reports_dir.exists():
        shutil.rmtree(settings.reports_dir)
    rows_in = quarantined = flagged = 0
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=not progress,
    ) as bar:
        task = bar.add_task("nights", total=len(county.deliveries))
        for day in county.deliveries:
            bar.update(task, description=f"night {day}")
            summary = run_night(day, settings, trigger="demo")
            ingest, validate, flag = (summary.stage(s) for s in ("ingest", "validate", "flag"))
            rows_in += ingest.rows_in if ingest else 0
            quarantined += sum(validate.detail.get("quarantined", {}).values()) if validate else 0
            flagged = flag.detail.get("children_flagged", 0) if flag else 0
            bar.advance(task)
    with warehouse.open_reader(settings.warehouse) as wh:
        listed = wh.literal_rows("SELECT count(*) FROM marts.mash_list")[0][0]
    return DemoSummary(
        rows_in=rows_in, quarantined=quarantined, children_flagged=flagged, households_listed=listed,
        warehouse=settings.warehouse, reports_dir=settings.reports_dir, landing_dir=county.landing_dir,
        seconds=time.perf_counter() - t0,
    )
