"""Ingest: read one night's delivery from the landing area as all-text frames.

Entry point: :func:`read_delivery`. It never types or judges values (that is validate's
job); it only turns files into text frames, with every delivered record kept verbatim:

* a record the CSV reader cannot split into the header's columns (too many / too few
  fields, a file truncated mid-row) is kept as a row whose ``_raw_line`` holds its text,
  so that it lands in raw and is quarantined whole;
* a file that cannot be read at all (wrong encoding, missing required column, empty, both
  formats) becomes a :class:`~pipeline.errors.Problem` in ``Delivery.problems``. Every
  such problem of the delivery is collected before anything is raised.

The landing contract is ``docs/landing.md`` (the partners' landing contract v1, and v2 for the three partner sources).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipeline import schemas
from pipeline.errors import InputError, Problem, RunWarning
from pipeline.sources import spec

log = logging.getLogger(__name__)

FORMATS = ("csv", "parquet")
RAW_LINE = "_raw_line"

_UTF8_BOM = b"\xef\xbb\xbf"
# A well-formed multi-byte UTF-8 sequence. Windows-1252 text practically never contains one
# (it would need e.g. "Ã©" in a name), so its presence in a file that is not valid UTF-8
# means the file mixes encodings, and no single decoding can be right.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


@dataclass(frozen=True)
class LandedFile:
    """One delivered file as text.

    ``frame`` has every column as ``pl.String`` with verbatim text: the contract columns
    (absent optional columns added as null), then ``extra_columns``, then ``_raw_line``
    (the record's text when the reader could not split it, else null), ``_file`` and
    ``_row`` (1-based record number after the header; a quoted field may span lines).
    """

    source: str
    path: Path
    format: str
    encoding: str
    frame: pl.DataFrame
    extra_columns: list[str] = field(default_factory=list)
    row_problems: list[Problem] = field(default_factory=list)
    # The record number of an incomplete last record in a file with no final line ending:
    # the file was cut in transit (None when it ends as a whole file does).
    cut_at_row: int | None = None


@dataclass(frozen=True)
class Delivery:
    """Every readable file of one delivery date, every file-level problem found, and what
    was read but must be reported (a file cut short, a landing folder that is not a date)."""

    delivery_date: date
    files: dict[str, LandedFile]
    problems: list[Problem]
    warnings: list[RunWarning] = field(default_factory=list)


class _FileRefused(Exception):
    """Internal: this file cannot be read; carries the problems to report."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def read_delivery(landing_dir: Path, delivery_date: date) -> Delivery:
    """Read ``<landing_dir>/<YYYY-MM-DD>/<source>.csv|.parquet`` for every source present."""
    day_dir = Path(landing_dir) / delivery_date.isoformat()
    files: dict[str, LandedFile] = {}
    problems: list[Problem] = []
    warnings = landing_misfits(Path(landing_dir))
    if not day_dir.is_dir():
        # A night with nothing to send still has its (empty) folder; no folder at all is a
        # mistyped landing path, a misnamed or vanished folder, and an empty list built
        # from it would look like a quiet night.
        misfits = "".join(f"\n  - {w.message}" for w in warnings)
        raise InputError(
            f"no delivery folder {day_dir} for {delivery_date.isoformat()}: check the landing "
            "directory (--landing / HEARTH_LANDING_DIR) and that the partners' files for that date "
            "are in a folder named YYYY-MM-DD; a night with nothing delivered needs its folder, "
            "empty. Nothing was staged or published; yesterday's lists stand." + misfits
        )

    expected = {f"{s}.{fmt}" for s in schemas.SOURCES for fmt in FORMATS}
    for unexpected in sorted(p.name for p in day_dir.iterdir() if p.name not in expected):
        log.warning("ignoring %s/%s: not a file of the landing contract", day_dir.name, unexpected)

    for source in schemas.SOURCES:
        present = [day_dir / f"{source}.{fmt}" for fmt in FORMATS if (day_dir / f"{source}.{fmt}").is_file()]
        if not present:
            continue
        if len(present) > 1:
            problems.append(Problem(
                f"{source}.csv", None, None,
                f"both {source}.csv and {source}.parquet were delivered; send exactly one "
                f"(neither was read)",
            ))
            continue
        if not _inside(present[0], landing_dir):
            # A link out of the landing folder could make hearth read (and echo into its
            # logs and audit tables) any file the service account can read.
            problems.append(Problem(
                present[0].name, None, None,
                "is a link to a file outside the landing folder; refused unread. Deliver the "
                "file itself into the landing folder",
            ))
            continue
        try:
            landed = read_landed_file(present[0], source)
        except _FileRefused as refused:
            problems.extend(refused.problems)
            continue
        files[source] = landed
        log.info(
            "read %s: %d rows (%s, %s), %d unreadable rows, extra columns %s",
            landed.path.name, landed.frame.height, landed.format, landed.encoding,
            len(landed.row_problems), landed.extra_columns or "none",
        )
        if landed.cut_at_row is not None:
            warnings.append(_cut_short_warning(landed))
    for warning in warnings:
        log.warning("%s", warning.message)
    return Delivery(delivery_date, files, problems, warnings)


def landing_misfits(landing_dir: Path) -> list[RunWarning]:
    """Entries of the landing directory no night will read: folders whose names are not
    delivery dates (``2026-10-5``, ``20261005``, ``latest``) and loose files."""
    if not landing_dir.is_dir():
        return []
    found = []
    for entry in sorted(landing_dir.iterdir()):
        if entry.is_dir() and _is_delivery_date(entry.name):
            continue
        what = "folder" if entry.is_dir() else "file"
        found.append(RunWarning(
            "landing_not_a_date",
            f"the landing {what} {entry.name!r} in {landing_dir} is not a delivery folder named "
            "YYYY-MM-DD, so no night reads it; if it holds a delivery, move the files into "
            "their date's folder and rerun that night",
        ))
    return found


def _is_delivery_date(name: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def _cut_short_warning(landed: LandedFile) -> RunWarning:
    sender = spec(landed.source).sender
    row = landed.cut_at_row or 0
    return RunWarning(
        "truncated_file",
        f"{landed.path.name} looks cut in transit: it has no final line ending and its last "
        f"record (row {row}) is incomplete. The {row - 1} rows before it were processed and "
        f"row {row} was quarantined; ask {sender} to resend "
        f"{landed.path.name} for {landed.path.parent.name}",
        landed.source,
    )


def _inside(path: Path, landing_dir: Path) -> bool:
    """Whether ``path``, links followed, is a file under the landing folder."""
    return path.resolve().is_relative_to(Path(landing_dir).resolve())


def raise_for_problems(delivery: Delivery) -> None:
    """Raise :class:`InputError` listing every file-level problem of the delivery, if any."""
    if delivery.problems:
        raise InputError(
            f"the delivery of {delivery.delivery_date.isoformat()} has "
            f"{len(delivery.problems)} file-level problem(s); ask the partner to resend the "
            f"named files (the other files were read)",
            delivery.problems,
        )


def read_landed_file(path: Path, source: str) -> LandedFile:
    """Read one landed file as text; raises ``_FileRefused`` with every problem found."""
    row_problems: list[Problem] = []
    cut_at_row = None
    if path.suffix == ".parquet":
        frame, encoding = _read_parquet(path), "utf-8"
    else:
        frame, encoding, row_problems, cut_at_row = _read_csv(path)
    frame, extra = _conform_columns(frame, path.name, source)
    frame = frame.with_columns(pl.lit(path.name, pl.String).alias("_file"))
    if "_row" not in frame.columns:
        frame = frame.with_row_index("_row", offset=1)
    frame = frame.with_columns(pl.col("_row").cast(pl.Int64))
    if RAW_LINE not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(RAW_LINE))
    ordered = [*schemas.CONTRACT_COLUMNS[source], *extra, RAW_LINE, "_file", "_row"]
    return LandedFile(
        source=source, path=path, format=path.suffix.lstrip("."), encoding=encoding,
        frame=frame.select(ordered), extra_columns=extra, row_problems=row_problems,
        cut_at_row=cut_at_row,
    )


# ---- columns ---------------------------------------------------------------------------


def _header_problems(columns: list[str], file: str) -> list[Problem]:
    """A column named twice (after trimming and lower-casing) or a column with no name."""
    lineage = {RAW_LINE, "_row"}
    problems: list[Problem] = []
    seen: set[str] = set()
    for original in columns:
        name = original if original in lineage else original.strip().lower()
        if name in seen:
            problems.append(Problem(file, None, name, f"column '{original}' appears twice in the header"))
        if name == "":
            problems.append(Problem(file, None, None, "the header has a column with no name"))
        seen.add(name)
    return problems


def _conform_columns(frame: pl.DataFrame, file: str, source: str) -> tuple[pl.DataFrame, list[str]]:
    """Normalise column names, check the required ones, add absent optional ones as null."""
    lineage = {RAW_LINE, "_row"}
    names = [c if c in lineage else c.strip().lower() for c in frame.columns]
    problems = _header_problems(frame.columns, file)
    seen = set(names)
    for required in schemas.REQUIRED_COLUMNS[source]:
        if required not in seen:
            problems.append(Problem(
                file, None, required,
                f"required column '{required}' is missing from the header "
                f"(columns found: {', '.join(n for n in names if n not in lineage)})",
            ))
    if problems:
        raise _FileRefused(problems)
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    contract = schemas.CONTRACT_COLUMNS[source]
    extra = [n for n in names if n not in contract and n not in lineage and n != "_file"]
    absent = [c for c in contract if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
    return frame, extra


# ---- parquet ---------------------------------------------------------------------------


def _read_parquet(path: Path) -> pl.DataFrame:
    if path.stat().st_size == 0:
        raise _FileRefused([Problem(path.name, None, None, "file is empty (0 bytes); resend it")])
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for a corrupt file
        raise _FileRefused([Problem(path.name, None, None, f"is not a readable Parquet file ({exc})")]) from exc
    # Text is text; dates/numbers a partner typed in Parquet become their ISO text, which
    # validate parses exactly as it parses CSV text.
    return frame.with_columns(pl.all().cast(pl.String))


# ---- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path) -> tuple[pl.DataFrame, str, list[Problem], int | None]:
    data = path.read_bytes()
    if not data:
        raise _FileRefused([Problem(
            path.name, None, None,
            "file is empty (0 bytes, not even a header row); a night with nothing to send "
            "should send the header row only, so resend the file",
        )])
    data, encoding = _decode_to_utf8(data, path.name)
    starts, ends, n_fields, header_end = _record_spans(data)
    header = _parse_record(data[:header_end].decode("utf-8"))
    if header is None or not [h for h in header if h.strip()]:
        raise _FileRefused([Problem(path.name, None, None, "the header row cannot be read as CSV")])
    # Checked before polars reads the file: given a header naming a column twice, it keeps
    # one column, so the other value would be silently lost.
    if problems := _header_problems(header, path.name):
        raise _FileRefused(problems)
    width = len(header)
    good = n_fields == width
    if bool(good.all()):
        # The common case: every record has the header's field count, so polars can read it.
        try:
            frame = _polars_read(data, header)
            if frame.height == len(starts):
                return frame, encoding, [], None
        except pl.exceptions.PolarsError:
            log.info("polars could not read %s; reading it record by record", path.name)
    frame, problems = _read_records_one_by_one(data, header, starts, ends, path.name)
    last = len(starts)
    # Cut in transit: the last record is unreadable and the file stops mid-record (no final
    # line ending, or inside a quoted field). A file cut exactly at a line end is whole-looking.
    ends_mid_record = not data.endswith(b"\n") or (last > 0 and int(n_fields[-1]) == -1)
    cut = last > 0 and ends_mid_record and any(p.row == last for p in problems)
    return frame, encoding, problems, last if cut else None


def _decode_to_utf8(data: bytes, file: str) -> tuple[bytes, str]:
    """Return the file's bytes as UTF-8 without BOM, and the encoding it arrived in."""
    if data.startswith(_UTF8_BOM):
        body, encoding = data[len(_UTF8_BOM):], "utf-8-sig"
    else:
        body, encoding = data, "utf-8"
    try:
        body.decode("utf-8")
        return body, encoding
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    bad_row = _record_of_offset(body, first_bad)
    multibyte = _UTF8_MULTIBYTE.search(body)
    if encoding == "utf-8-sig" or multibyte is not None:
        where = f"row {_record_of_offset(body, multibyte.start())}" if multibyte else "its BOM"
        raise _FileRefused([Problem(
            file, bad_row, None,
            f"mixes text encodings: {where} is UTF-8 but byte 0x{body[first_bad]:02X} here "
            f"is not; no single decoding is right, so the file was not read. Re-export the "
            f"whole file as UTF-8",
        )])
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _FileRefused([Problem(
            file, _record_of_offset(body, exc.start), None,
            f"is neither UTF-8 nor Windows-1252 (byte 0x{body[exc.start]:02X}); re-export the "
            f"file as UTF-8",
        )]) from exc
    log.info("%s is Windows-1252 (first non-UTF-8 byte in row %s); decoded as such", file, bad_row)
    return text.encode("utf-8"), "cp1252"


def _record_of_offset(data: bytes, offset: int) -> int | None:
    """The 1-based data-record number holding byte ``offset`` (None for the header)."""
    starts, ends, _, header_end = _record_spans(data)
    if offset < header_end:
        return None
    return int(np.searchsorted(ends, offset, side="left")) + 1


def _record_spans(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Split CSV bytes into records without parsing fields, vectorised.

    A quote toggles "inside quotes" (an escaped ``""`` toggles twice), so a comma or newline
    at even quote parity is structural. Returns the data records' byte starts, ends
    (exclusive, without the line ending), field counts, and the header's end offset. A file
    that ends inside an open quote gets a last record with field count -1 (truncated).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    outside = (np.cumsum(buf == 34) & 1) == 0
    newlines = np.flatnonzero((buf == 10) & outside)
    commas = np.flatnonzero((buf == 44) & outside)
    record_starts = np.concatenate(([0], newlines + 1))
    record_ends = np.concatenate((newlines, [len(buf)]))
    if record_starts[-1] >= len(buf):  # the file ends with a line ending: no record after it
        record_starts, record_ends = record_starts[:-1], record_ends[:-1]
    if len(record_starts) == 0:
        return np.array([], int), np.array([], int), np.array([], int), 0
    fields = 1 + np.searchsorted(commas, record_ends) - np.searchsorted(commas, record_starts)
    if not outside[-1]:
        fields[-1] = -1  # the file ends inside a quoted field: truncated
    header_end = int(record_ends[0])
    starts, ends, fields = record_starts[1:], record_ends[1:], fields[1:]
    # A blank line carries no data (exporters often end a file with one): it is not a record.
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (buf[np.minimum(starts, len(buf) - 1)] == 13))
    return starts[~blank], ends[~blank], fields[~blank], header_end


def _polars_read(data: bytes, header: list[str]) -> pl.DataFrame:
    return pl.read_csv(
        io.BytesIO(data), has_header=True, new_columns=header, infer_schema=False,
        empty_string_is_null=False, quote_char='"', raise_if_empty=False,
    )


def _parse_record(text: str) -> list[str] | None:
    """Parse one CSV record with the csv module; None if it is not valid RFC 4180."""
    try:
        rows = list(csv.reader(io.StringIO(text.rstrip("\r"), newline=""), strict=True))
    except csv.Error:
        return None
    if len(rows) != 1:
        return None
    return rows[0]


def _read_records_one_by_one(
    data: bytes, header: list[str], starts: np.ndarray, ends: np.ndarray, file: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """Slow path for a damaged file: parse each record alone, keep bad ones as raw lines.

    Only files with a malformed record come here, so a Python loop is acceptable.
    """
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    raw_lines: list[str | None] = []
    problems: list[Problem] = []
    last = len(starts)
    for number, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True), 1):
        text = data[start:end].decode("utf-8").rstrip("\r")
        fields = _parse_record(text)
        if fields is not None and len(fields) == width:
            for column, value in zip(columns, fields, strict=True):
                column.append(value)
            raw_lines.append(None)
            continue
        for column in columns:
            column.append(None)
        raw_lines.append(text)
        problems.append(Problem(file, number, None, _describe_bad_record(fields, width, text, number == last)))
    frame = pl.DataFrame(
        {name: pl.Series(name, values, pl.String) for name, values in zip(header, columns, strict=True)}
        | {RAW_LINE: pl.Series(RAW_LINE, raw_lines, pl.String)}
    )
    return frame.with_row_index("_row", offset=1), problems


def _describe_bad_record(fields: list[str] | None, width: int, text: str, is_last: bool) -> str:
    if fields is None:
        if is_last:
            return "the file ends inside a quoted field (truncated mid-row)"
        return "is not valid CSV (a quote is not closed or is followed by text)"
    if is_last and len(fields) < width:
        return f"has {len(fields)} of the header's {width} fields: the file looks truncated mid-row"
    if len(fields) < width:
        return f"has {len(fields)} fields but the header has {width}"
    return f"has {len(fields)} fields but the header has {width} (an unquoted comma?)"


def raw_rows(delivery: Delivery, source: str) -> pl.DataFrame | None:
    """The rows of one source as the ``raw`` layer keeps them, or None if not delivered.

    Contract columns stay verbatim text; columns outside the contract are kept together as
    one JSON object per row (``extra``) so the raw table's shape never depends on what a
    partner happened to add.
    """
    landed = delivery.files.get(source)
    if landed is None:
        return None
    frame = landed.frame
    extra = (
        pl.struct([pl.col(c) for c in landed.extra_columns]).struct.json_encode()
        if landed.extra_columns
        else pl.lit(None, dtype=pl.String)
    )
    return frame.select(
        *[pl.col(c) for c in schemas.CONTRACT_COLUMNS[source]],
        extra.alias("extra"),
        pl.col(RAW_LINE),
        pl.col("_file"),
        pl.col("_row"),
    )
