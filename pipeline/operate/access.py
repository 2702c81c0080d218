"""``audit.access_log``: who looked at which named child's data, and when.

Every CLI command that shows or writes out named children's data calls :func:`record`
*before* it shows or writes anything: a look that cannot be logged does not happen.
Writing needs the working file (one writer); if a night or another command holds it, we
wait up to ``Settings.access_log_wait_seconds`` and then refuse with a message, showing
nothing.
"""

from __future__ import annotations

import getpass
import logging
import os
import time
from datetime import UTC, datetime

from pipeline.config import Settings
from pipeline.errors import WarehouseBusyError
from pipeline.publish import warehouse

log = logging.getLogger(__name__)
POLL_SECONDS = 0.25


def os_user() -> str:
    """The account the process runs under, whatever name a person gave with ``--as``."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises various errors when no login name exists (containers)
        return f"uid:{os.getuid()}"


def record(settings: Settings, *, who: str, command: str, subject: str | None, detail: str | None) -> None:
    """Append one access-log row to the working file (the system of record).

    The readers' copy is not refreshed here: that copies the whole warehouse (1.7 GB for a
    county), once per look-up. Auditors see the row in the published copy from the next
    publish (the nightly run, or any recorded decision).
    """
    deadline = time.monotonic() + settings.access_log_wait_seconds
    while True:
        try:
            with warehouse.open_writer(settings.warehouse, key=settings.encryption_key, create=False) as wh:
                wh.fetch(
                    "INSERT INTO audit.access_log (accessed_at, who, command, subject, detail, os_user) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [datetime.now(UTC), who, command, subject, detail, os_user()],
                )
            break
        except WarehouseBusyError as exc:
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"{command}: nothing was shown or written, because the access log could not be "
                    f"written within {settings.access_log_wait_seconds:g} s ({exc}) Every look at "
                    "children's data is logged first; retry when the night or the other command has finished."
                ) from exc
            time.sleep(POLL_SECONDS)
    log.info("access by %s: %s %s", who, command, subject)
