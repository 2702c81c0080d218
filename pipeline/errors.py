"""One exception hierarchy for hearth.

Every message says what went wrong *and what to do next*; the CLI maps the classes to exit
codes (``UsageError``, ``InputError`` and ``WarehouseMissingError`` → 2, everything else → 1).
"""

from __future__ import annotations

from dataclasses import dataclass


class HearthError(Exception):
    """Base class of every error hearth raises on purpose."""

    exit_code = 1


class UsageError(HearthError):
    """The command line or configuration is wrong; nothing was run."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration value is missing or invalid."""


@dataclass(frozen=True)
class Problem:
    """One defect found in a delivered file, located precisely enough to fix it."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row:,}".replace(",", " ")
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class RunWarning:
    """Something a night processed but must say out loud (it does not stop the night).

    ``kind`` is a fixed word (``truncated_file``, ``landing_not_a_date``,
    ``ambiguous_update_order``) so the report and auditors can pick what concerns them;
    ``message`` says what happened and what to do."""

    kind: str
    message: str
    source: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "source": self.source, "message": self.message}


class InputError(HearthError):
    """A delivery cannot be read as the landing contract says. Carries every problem found."""

    exit_code = 2

    def __init__(self, summary: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        lines = [summary] + [f"  - {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  … and {len(self.problems) - 50} more (see audit.quarantine)")
        super().__init__("\n".join(lines))


class DataQualityError(HearthError):
    """A batch-level data-quality check failed; the night must not publish.

    Not worth retrying blindly: the data has to change (or a threshold be raised) first.
    """


class StaleRegisterError(DataQualityError):
    """A register snapshot is older than the configured maximum age."""


class ExpectationSuiteError(HearthError):
    """A Great Expectations suite could not be loaded or crashed while validating.

    The suite file or a custom expectation is wrong, not the night: retrying the same code on
    the same suite fails the same way, so the scheduler must not retry it."""


class UnknownSourceError(HearthError):
    """A source name that is not in the registry (pipeline/sources.py): never guessed."""


class AuthoritiesMissingError(HearthError):
    """A force-wide night in which some authorities published and others did not.

    Retrying the summary cannot help: each missing authority's own night must be fixed and
    rerun (its reports folder says why it did not publish).
    """


class LinkageError(HearthError):
    """Linkage could not produce a consistent person index."""


class WarehouseError(HearthError):
    """The DuckDB warehouse could not be opened, migrated or published."""


class WorkingFileCorruptError(WarehouseError):
    """The writer's working file failed to open or to verify (a checksum error); it was set
    aside and a fresh one copied from the published file. Nothing was published."""

    def __init__(self, message: str, set_aside: object = None) -> None:
        super().__init__(message)
        self.set_aside = set_aside


class WarehouseBusyError(WarehouseError):
    """Another process holds the warehouse file; DuckDB admits one writer."""


class WarehouseMissingError(UsageError):
    """The warehouse named does not exist and nobody asked for a new one to be created."""


class OutputError(HearthError):
    """An output file or folder could not be written (full disk, read-only, wrong path)."""


class QueryError(UsageError):
    """An ad-hoc query (``hearth sql``) is not valid SQL or not allowed on the read-only copy."""
