"""The writer's working file: where it lives, the lock around it, and making it again from
the published file. Standard library only, because ``python -m pipeline.publish.working_copy
PUBLISHED`` runs detached after every night (``warehouse.refresh_published(handover=True)``)
and should cost a file copy, not the import of DuckDB and polars.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["copy_durably", "fsync_dir", "make_private", "prepare_working_copy", "work_path", "working_copy_lock"]


def work_path(published: Path) -> Path:
    """Where the writer's private working file lives for a published warehouse path."""
    return published.with_name(published.stem + ".work" + (published.suffix or ".duckdb"))


@contextmanager
def working_copy_lock(published: Path) -> Iterator[None]:
    """Exclusive lock serialising the handover, the working copy and opening the writer."""
    lock_path = work_path(published).with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def copy_durably(source: Path, target: Path, *, verify: Callable[[Path], None] | None = None) -> None:
    """Copy to a temporary name beside ``target``, fsync, then rename: ``target`` is either
    absent, the old file or the whole new one, whenever the process dies. ``verify`` is
    called on the copy before the rename; if it raises, ``target`` is left as it was."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        stale.unlink(missing_ok=True)  # left by a copy that was killed; never used
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        # Created owner-only before a byte is copied: the warehouse holds children's data.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        make_private(tmp)
        shutil.copyfile(source, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if verify is not None:
            verify(tmp)
        os.replace(tmp, target)
    except BaseException:
        # A partial copy (a full disk, a killed copy) is worthless and as big as the
        # warehouse, and a copy that fails its check must never be published: never leave
        # either to fill the disk further.
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def make_private(path: Path) -> None:
    """Owner-only access (0700 for a folder, 0600 for a file), whatever the umask."""
    os.chmod(path, 0o700 if Path(path).is_dir() else 0o600)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (the directory entry, not only the file data)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare_working_copy(published: Path) -> bool:
    """Copy the published file to the working file if there is none; True if it copied.

    Run detached after a handover; also what a benchmark or test calls to have the next
    working file ready (whichever comes second finds it there and does nothing)."""
    published = Path(published)
    path = work_path(published)
    with working_copy_lock(published):
        if path.exists() or not published.exists():
            return False
        started = time.perf_counter()
        copy_durably(published, path)
        log.info("prepared working file %s from %s in %.1f s", path, published, time.perf_counter() - started)
        return True


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m pipeline.publish.working_copy PUBLISHED_FILE")
    prepare_working_copy(Path(sys.argv[1]))
