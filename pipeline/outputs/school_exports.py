"""Per-school notification files (Operation Encompass style), one CSV per school.

A school needs to know only that a pupil may arrive affected by an incident at home, and by
when to be ready: who the child is (``child_id``, ``upn``), when the incident was reported,
whether the child was present, and ``notify_by``. Nothing about the suspect or the offence
leaves the warehouse through these files — the columns are a fixed allow-list, not "all
but the sensitive ones", so a column added to the mart later is never exported by accident.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import date
from pathlib import Path

import polars as pl

from pipeline.errors import HearthError

log = logging.getLogger(__name__)

# The only columns a school file ever holds, in this order.
SCHOOL_FILE_COLUMNS = ("child_id", "upn", "incident_reported_at", "child_present", "notify_by")
# DfE URNs are six digits; anything that could be a path is refused rather than cleaned.
_SAFE_URN = re.compile(r"^[0-9A-Za-z]{1,20}$")
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M"  # Europe/London wall clock, as in the mart


def school_file_name(school_urn: str, setting_type: str = "school") -> str:
    """The file a school's notifications go to: ``school-<urn>.csv``; an early-years setting's
    (Operation Encompass extended to early years) ``early-years-<urn>.csv``."""
    if not _SAFE_URN.fullmatch(school_urn or ""):
        raise HearthError(
            f"school_urn {school_urn!r} in marts.school_notifications is not a plain URN; "
            "refusing to use it as a file name. Check the school census delivery."
        )
    return f"{'early-years' if setting_type == 'early_years' else 'school'}-{school_urn}.csv"


def school_file_rows(notifications: pl.DataFrame) -> pl.DataFrame:
    """The notification rows as a school may see them: the allowed columns plus the URN to split on."""
    setting = pl.col("setting_type").fill_null("school") if "setting_type" in notifications.columns else pl.lit("school")
    return (
        notifications.select("school_urn", *SCHOOL_FILE_COLUMNS, setting_type=setting)
        .unique()
        .sort("school_urn", "notify_by", "child_id", "incident_reported_at", nulls_last=True)
    )


def write_school_notification_files(notifications: pl.DataFrame, out_dir: Path, *, list_date: date) -> list[Path]:
    """Write one CSV per ``school_urn`` of one list date's ``marts.school_notifications`` rows.

    ``out_dir`` belongs to that list date: files from an earlier export of the same date are
    removed first, so a rerun never leaves a school a stale file it should no longer have.
    Each file is written beside its target and renamed into place.
    """
    other_dates = notifications.filter(pl.col("list_date") != list_date).height if "list_date" in notifications.columns else 0
    if other_dates:
        raise HearthError(f"{other_dates} notification rows are not for list date {list_date}; export one date at a time")
    rows = school_file_rows(notifications)
    names = {(urn, kind): school_file_name(urn, kind)
             for urn, kind in rows.select("school_urn", "setting_type").unique().iter_rows()}
    out_dir.mkdir(parents=True, exist_ok=True)
    for pattern in ("school-*.csv", "early-years-*.csv"):
        for stale in out_dir.glob(pattern):
            stale.unlink()
    written: list[Path] = []
    for (urn, kind), frame in rows.partition_by("school_urn", "setting_type", as_dict=True, maintain_order=True).items():
        target = out_dir / names[(str(urn), str(kind))]
        tmp = target.with_name(f".{target.name}.tmp")
        frame.drop("school_urn", "setting_type").write_csv(tmp, datetime_format=_TIMESTAMP_FORMAT)
        os.replace(tmp, target)
        written.append(target)
    log.info("wrote %d school notification files for %s into %s", len(written), list_date, out_dir)
    return written
