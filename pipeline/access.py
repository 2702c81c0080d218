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
    """Append one access-log row and refresh the readers' copy so auditors see it."""
    with warehouse.open_writer(settings.warehouse, key=settings.encryption_key) as wh:
        wh.fetch(
            "INSERT INTO audit.access_log (accessed_at, who, command, subject, detail) VALUES (?, ?, ?, ?, ?)",
            [datetime.now(UTC), who, command, subject, detail],
        )
        warehouse.refresh_published(wh)
    log.info("access by %s: %s %s", who, command, subject)
