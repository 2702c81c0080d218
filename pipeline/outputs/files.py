"""Writing outputs (reports, extracts) so that a failure leaves nothing half-written.

Every file is written owner-only to a temporary name beside its target and renamed into
place; a full disk, a read-only folder or a wrong path gives one paragraph naming the path
and what to do (:class:`OutputError`), and the temporary files are removed.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import OutputError, UsageError
from pipeline.publish.working_copy import make_private

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission is denied",
    errno.EPERM: "permission is denied",
    errno.EEXIST: "a file of that name is already there",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "a folder of that name is already there",
}


def output_error(path: Path, exc: OSError, *, what: str) -> OutputError:
    """One paragraph for an output that could not be written: which path, why, what to do."""
    reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputError(
        f"could not write {what} to {path}: {reason}. Nothing was left half-written there; "
        "free space or choose a writable path, then run the command again."
    )


def private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents owner-only (0700), whatever the umask."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir()
        make_private(p)


def _write_all(fh: BinaryIO, data: bytes) -> None:
    fh.write(data)
    fh.flush()
    os.fsync(fh.fileno())


def write_files(files: Mapping[Path, str | bytes], *, what: str) -> list[Path]:
    """Write each file owner-only via a temporary name and a rename; all-or-nothing per file."""
    written = []
    for path, content in files.items():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            private_dirs(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                _write_all(fh, content.encode("utf-8") if isinstance(content, str) else content)
            make_private(tmp)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise output_error(path, exc, what=what) from exc
        written.append(path)
    return written


@contextmanager
def new_folder(out: Path, *, what: str) -> Iterator[Path]:
    """A temporary folder beside ``out``, renamed to ``out`` when the block succeeds.

    ``out`` must not exist, or be an empty folder: an extract never overwrites files, and a
    file given where a folder is wanted is a usage error, not something to replace.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        kind = "a file" if not out.is_dir() else "a folder that is not empty"
        raise UsageError(f"{out} is {kind}; give --out a new or empty folder (nothing was written).")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        private_dirs(out.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        make_private(tmp)
        yield tmp
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except OSError as exc:
        raise output_error(out, exc, what=what) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def guarded(write: Callable[[], list[Path]], target: Path, *, what: str) -> list[Path]:
    """Run a writer that may raise ``OSError`` and turn it into :class:`OutputError`."""
    try:
        return write()
    except OSError as exc:
        raise output_error(target, exc, what=what) from exc
