"""``audit.access_log``: who looked at which named child's data, and when.

Every CLI command that shows a named child's data calls :func:`record` after it has shown
it. Writing needs the working file (one writer); if a night is running we wait briefly and
then fail loudly rather than show data unlogged next time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pipeline import warehouse
from pipeline.config import Settings

log = logging.getLogger(__name__)


def record(settings: Settings, *, who: str, command: str, subject: str | None, detail: str | None) -> None:
    """Append one access-log row to the working file (the system of record).

    The readers' copy is not refreshed here: that copies the whole warehouse (1.7 GB for a
    county), once per look-up. Auditors see the row in the published copy from the next
    publish (the nightly run, or any recorded decision).
    """
    with warehouse.open_writer(settings.warehouse, key=settings.encryption_key) as wh:
        wh.fetch(
            "INSERT INTO audit.access_log (accessed_at, who, command, subject, detail) VALUES (?, ?, ?, ?, ?)",
            [datetime.now(UTC), who, command, subject, detail],
        )
    log.info("access by %s: %s %s", who, command, subject)
