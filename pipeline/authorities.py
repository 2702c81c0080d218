"""A police force's several local authorities as partitions of one nightly run.

A force shares its domestic-abuse records with every local authority it serves; each
authority has its own MASH, its own registers, its own warehouse and its own lists. The
force's night is therefore:

1. :func:`route_police` — the force's police delivery (``<landing>/police/<date>/``) is
   split by authority: every incident goes to each configured authority that holds an
   address it touches (the incident's own and those of its people), found through a
   postcode → authority lookup in the shape of the ONS postcode directory (columns
   ``pcds`` and ``oslaua``). Each authority's routed delivery (its registers from
   ``<landing>/<authority>/<date>/`` plus its share of the police files) is written to
   ``<data_dir>/routed/<authority>/<date>/``; an incident sent to more than one authority is
   recorded as shared, so each list says who else has it.
2. :func:`run_authority_night` — the ordinary night (``pipeline.night.run_night``) over one
   authority's routed delivery into that authority's own warehouse. A night that fails
   leaves a note in its reports folder saying why there is no list.
3. :func:`force_summary` — one line per authority: published, or why not.

Nothing here imports Airflow; the DAG (``dags/hearth_force_nightly.py``) maps step 2 over
the authorities. Importing this module stays cheap (the DAG processor imports it): polars
and the stages are imported inside the functions that run in tasks.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shutil
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError, HearthError, InputError
from pipeline.link.standardise import POSTCODE_PATTERN

if TYPE_CHECKING:
    import polars as pl

    from pipeline.config import Settings
    from pipeline.night import RunSummary

log = logging.getLogger(__name__)

FORCE_CONFIG_ENV = "HEARTH_FORCE_CONFIG"
POLICE_FOLDER = "police"
POLICE_SOURCES = ("police_incidents", "police_persons")
# ONS local authority codes: a letter for the nation and eight digits (E06000001).
_CODE = re.compile(r"^[A-Z][0-9]{8}$")
UNROUTED = "unrouted"
NOT_PUBLISHED_NOTE = "NOT-PUBLISHED.txt"


@dataclass(frozen=True)
class Authority:
    """One local authority: its ONS code (``oslaua``), its name, its own rules if it has any."""

    code: str
    name: str
    rules_file: Path | None = None


@dataclass(frozen=True)
class Force:
    """The force-wide deployment: where deliveries land, where each authority's data lives."""

    name: str
    landing_dir: Path
    data_dir: Path
    postcode_lookup: Path
    authorities: tuple[Authority, ...]
    config_file: Path | None = None

    def authority(self, code: str) -> Authority:
        for a in self.authorities:
            if a.code == code:
                return a
        raise ConfigError(f"authority {code!r} is not in the force configuration "
                          f"{self.config_file or ''} (configured: {', '.join(self.codes)})")

    @property
    def codes(self) -> list[str]:
        return [a.code for a in self.authorities]

    def routed_dir(self, code: str) -> Path:
        """The landing folder an authority's nights read: its registers and its police share."""
        return self.data_dir / "routed" / code

    def shared_dir(self, code: str) -> Path:
        """Where the incidents an authority shares with others are listed, one CSV per night."""
        return self.data_dir / "routed" / "shared" / code

    def warehouse(self, code: str) -> Path:
        return self.data_dir / code / "warehouse.duckdb"

    def reports_dir(self, code: str) -> Path:
        return self.data_dir / code / "reports"

    def summary_dir(self) -> Path:
        return self.data_dir / "force-reports"


def _path(value: Any, base: Path, what: str, config: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{config}: {what} must be a non-empty path (got {value!r})")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def load_force(config_file: Path | str | None = None, environ: Mapping[str, str] = os.environ) -> Force:
    """Read the force configuration (TOML); relative paths are relative to the file's folder.

    ``config_file`` defaults to ``HEARTH_FORCE_CONFIG``. Every problem is named with the file
    and the authority it is about.
    """
    raw_path = config_file or environ.get(FORCE_CONFIG_ENV)
    if not raw_path:
        raise ConfigError(f"no force configuration: set {FORCE_CONFIG_ENV} (or the DAG's force_config "
                          "param) to a TOML file listing the authorities (docs/airflow.md)")
    path = Path(raw_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"force configuration {path} does not exist; check {FORCE_CONFIG_ENV}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"force configuration {path} is not valid TOML: {exc}") from None
    base = path.resolve().parent
    entries = data.get("authorities")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: [[authorities]] must list at least one authority (code and name)")
    authorities = []
    for i, entry in enumerate(entries, start=1):
        code = str(entry.get("code", "")).strip().upper()
        if not _CODE.match(code):
            raise ConfigError(f"{path}: authority {i} has code {entry.get('code')!r}; use its ONS code "
                              "(oslaua), a letter and eight digits such as E10000020")
        rules = entry.get("rules_file")
        authorities.append(Authority(
            code=code, name=str(entry.get("name") or code),
            rules_file=_path(rules, base, f"authority {code} rules_file", path) if rules else None,
        ))
    codes = [a.code for a in authorities]
    if dup := sorted({c for c in codes if codes.count(c) > 1}):
        raise ConfigError(f"{path}: authority code(s) {', '.join(dup)} listed more than once")
    return Force(
        name=str(data.get("name") or "force"),
        landing_dir=_path(data.get("landing_dir"), base, "landing_dir", path),
        data_dir=_path(data.get("data_dir"), base, "data_dir", path),
        postcode_lookup=_path(data.get("postcode_lookup"), base, "postcode_lookup", path),
        authorities=tuple(authorities), config_file=path,
    )


def authority_settings(force: Force, code: str, **overrides: Any) -> Settings:
    """An authority's night settings: its routed landing folder, its own warehouse and
    reports, its own rules file when it has one (else the shared ``HEARTH_RULES_FILE``)."""
    from pipeline.config import load_settings

    authority = force.authority(code)
    return load_settings(
        landing_dir=force.routed_dir(code), warehouse=force.warehouse(code),
        reports_dir=force.reports_dir(code), rules_file=authority.rules_file,
        shared_incidents_dir=force.shared_dir(code), **overrides,
    )


# ---- the postcode lookup ---------------------------------------------------------------
def compact_postcode(value: str | None) -> str | None:
    """``"nr1 3qh"`` → ``"NR13QH"``: the form postcodes are looked up in."""
    if value is None:
        return None
    out = re.sub(r"[^A-Z0-9]", "", value.upper())
    return out or None


def _district(compact: str) -> str:
    return compact[:-3]  # the inward code is always the last three characters


@dataclass(frozen=True)
class PostcodeLookup:
    """Postcode → authority, and each postcode district → the authorities it spans.

    A postcode the directory does not know (a typo, a new build) is routed by its district:
    to every authority that district spans, so an incident is sent too widely rather than
    not at all.
    """

    units: dict[str, str]
    districts: dict[str, frozenset[str]]

    def authorities_of(self, postcode: str | None) -> frozenset[str]:
        compact = compact_postcode(postcode)
        if compact is None or len(compact) < 5 or compact.startswith("ZZ99"):
            return frozenset()
        if (unit := self.units.get(compact)) is not None:
            return frozenset({unit})
        return self.districts.get(_district(compact), frozenset())


def load_postcode_lookup(path: Path, codes: Iterable[str] | None = None) -> PostcodeLookup:
    """Read a CSV with the ONS postcode directory's ``pcds`` and ``oslaua`` columns (others are
    ignored). Only the rows of ``codes`` are kept when given (the national file has 2.7 M rows)."""
    wanted = set(codes) if codes is not None else None
    units: dict[str, str] = {}
    districts: dict[str, set[str]] = {}
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise ConfigError(f"postcode lookup {path} does not exist; set postcode_lookup in the force "
                          "configuration to the ONS postcode directory (pcds, oslaua)") from None
    with fh:
        reader = csv.DictReader(fh)
        missing = {"pcds", "oslaua"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"postcode lookup {path}: column(s) {', '.join(sorted(missing))} missing; "
                             "it needs the ONS postcode directory's pcds and oslaua columns")
        for row_no, row in enumerate(reader, start=1):
            code = (row["oslaua"] or "").strip().upper()
            compact = compact_postcode(row["pcds"])
            if compact is None or not re.match(POSTCODE_PATTERN, compact):
                raise InputError(f"postcode lookup {path}, row {row_no}, column pcds: "
                                 f"{row['pcds']!r} is not a postcode")
            if wanted is not None and code not in wanted:
                continue
            units[compact] = code
            districts.setdefault(_district(compact), set()).add(code)
    return PostcodeLookup(units, {d: frozenset(c) for d, c in districts.items()})


# ---- routing ---------------------------------------------------------------------------
@dataclass
class RoutingResult:
    """What one night's routing did: rows per authority, incidents shared and unrouted."""

    night: date
    incidents: dict[str, int] = field(default_factory=dict)
    shared: dict[str, list[str]] = field(default_factory=dict)  # incident_id -> authority codes
    unrouted: list[str] = field(default_factory=list)
    registers: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"night": self.night.isoformat(), "incidents": self.incidents,
                "shared": len(self.shared), "unrouted": len(self.unrouted)}


def write_text_csv(frame: pl.DataFrame, path: Path) -> None:
    """Write an all-text landed frame back as a UTF-8 CSV: its contract and extra columns,
    and the records the reader could not split appended as they arrived, so the receiving
    night quarantines them with the reason instead of them vanishing here."""
    import polars as pl

    data_cols = [c for c in frame.columns if not c.startswith("_")]
    split = frame.filter(pl.col("_raw_line").is_null()) if "_raw_line" in frame.columns else frame
    buf = io.StringIO()
    split.select(data_cols).write_csv(buf)
    text = buf.getvalue()
    if "_raw_line" in frame.columns:
        # Verbatim, final line ending included or not: a file cut in transit stays visibly cut.
        for line in frame.filter(pl.col("_raw_line").is_not_null())["_raw_line"]:
            text += line if text.endswith("\n") else "\n" + line
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _incident_routes(
    incidents: pl.DataFrame, persons: pl.DataFrame | None, lookup: PostcodeLookup
) -> dict[str, set[str]]:
    """incident_id → the authorities of every address the incident touches."""
    routes: dict[str, set[str]] = {}
    for incident_id, postcode in incidents.select("incident_id", "postcode").iter_rows():
        if incident_id is not None:
            routes.setdefault(incident_id, set()).update(lookup.authorities_of(postcode))
    if persons is not None:
        for incident_id, postcode in persons.select("incident_id", "postcode").iter_rows():
            if incident_id is not None:
                routes.setdefault(incident_id, set()).update(lookup.authorities_of(postcode))
    return routes


def _copy_registers(source_dir: Path, target_dir: Path) -> list[str]:
    """The authority's own deliveries, copied unchanged (hard-linked where possible)."""
    copied: list[str] = []
    if not source_dir.is_dir():
        return copied
    for f in sorted(source_dir.iterdir()):
        if not f.is_file():
            continue
        target = target_dir / f.name
        target.unlink(missing_ok=True)
        try:
            os.link(f, target)
        except OSError:
            shutil.copy2(f, target)
        copied.append(f.name)
    return copied


def route_police(force: Force, night: date, lookup: PostcodeLookup | None = None) -> RoutingResult:
    """Build every authority's delivery for ``night``: its registers and its police share.

    Rerunnable: each authority's routed folder for the night is rebuilt from scratch. An
    authority whose register folder is missing still gets a routed folder (police only); its
    night then uses its latest earlier snapshot, and fails as stale when that is too old. An
    incident that reaches no configured authority is kept in ``routed/unrouted/<date>/`` and
    reported; a force delivery with file-level problems fails the routing (no authority
    could be given a complete share).
    """
    import polars as pl

    from pipeline.ingest.delivery import raise_for_problems, read_delivery

    lookup = lookup or load_postcode_lookup(force.postcode_lookup, force.codes)
    police_landing = force.landing_dir / POLICE_FOLDER
    result = RoutingResult(night=night)
    files: dict[str, pl.DataFrame] = {}
    if (police_landing / night.isoformat()).is_dir():
        delivery = read_delivery(police_landing, night)
        raise_for_problems(delivery)
        files = {s: delivery.files[s].frame for s in POLICE_SOURCES if s in delivery.files}
    else:
        log.warning("no police delivery folder %s for %s: the authorities' nights run on their "
                    "registers only", police_landing / night.isoformat(), night)
    incidents, persons = files.get("police_incidents"), files.get("police_persons")
    routes = _incident_routes(incidents, persons, lookup) if incidents is not None else {}
    if incidents is None and persons is not None:
        routes = _incident_routes(persons.select("incident_id", "postcode"), None, lookup)
    every = set(force.codes)
    for code in force.codes:
        target = force.routed_dir(code) / night.isoformat()
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        result.registers[code] = _copy_registers(force.landing_dir / code / night.isoformat(), target)

    for code in force.codes:
        target = force.routed_dir(code) / night.isoformat()
        # Incidents no authority claims (an address outside the force, a postcode nobody
        # knows) go to every authority rather than to none; rows whose record could not be
        # split have no incident id and go to every authority too, so each night
        # quarantines them with the reason.
        ids = [i for i, r in routes.items() if code in (r or every)]
        for source, frame in files.items():
            mine = frame.filter(pl.col("incident_id").is_null() | pl.col("incident_id").is_in(ids))
            write_text_csv(mine, target / f"{source}.csv")
        result.incidents[code] = sum(1 for r in routes.values() if code in r)
    result.unrouted = sorted(i for i, r in routes.items() if not r)
    # An incident no authority claims goes to every authority's night rather than none (the
    # ``every`` default above), and is named so police can correct the address.
    if result.unrouted:
        log.warning("%d incident(s) of %s touch no address of a configured authority and were sent "
                    "to every authority: %s", len(result.unrouted), night, ", ".join(result.unrouted[:20]))
    result.shared = {i: sorted(r) for i, r in routes.items() if len(r) > 1}
    for code in force.codes:
        _write_shared(force, code, night, result.shared, force.authorities)
    manifest = force.data_dir / "routed" / "manifests" / f"{night.isoformat()}.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({**result.as_dict(), "unrouted_ids": result.unrouted,
                                    "shared_ids": result.shared}, indent=1), encoding="utf-8")
    log.info("routed the police delivery of %s: %s", night, result.as_dict())
    return result


SHARED_COLUMNS = ("incident_id", "other_authorities")


def _write_shared(force: Force, code: str, night: date, shared: Mapping[str, list[str]],
                  authorities: Iterable[Authority]) -> None:
    names = {a.code: f"{a.name} ({a.code})" for a in authorities}
    path = force.shared_dir(code) / f"{night.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(SHARED_COLUMNS)
    for incident_id, codes in sorted(shared.items()):
        if code in codes:
            w.writerow([incident_id, "; ".join(names[c] for c in codes if c != code)])
    path.write_text(buf.getvalue(), encoding="utf-8")


def read_shared_incidents(shared_dir: Path | None, night: date) -> pl.DataFrame:
    """The incidents of ``night`` that other authorities received too (``SHARED_COLUMNS``);
    empty outside a force deployment."""
    import polars as pl

    path = shared_dir / f"{night.isoformat()}.csv" if shared_dir is not None else None
    if path is None or not path.is_file():
        return pl.DataFrame(schema=dict.fromkeys(SHARED_COLUMNS, pl.String))
    return pl.read_csv(path, schema=dict.fromkeys(SHARED_COLUMNS, pl.String))


# ---- one authority's night -------------------------------------------------------------
def run_authority_night(force: Force, code: str, night: date, *, trigger: str = "airflow") -> RunSummary:
    """The ordinary night over one authority's routed delivery, into its own warehouse.

    A failure is recorded in that warehouse (``audit.runs``) as for any night; here it also
    leaves ``reports/<date>/NOT-PUBLISHED.txt`` saying why there is no list, then re-raises.
    """
    from pipeline.night import run_night

    settings = authority_settings(force, code)
    note = settings.reports_dir / night.isoformat() / NOT_PUBLISHED_NOTE
    try:
        summary = run_night(night, settings, trigger=trigger)
    except Exception as exc:
        _write_not_published(note, force.authority(code), night, exc)
        raise
    note.unlink(missing_ok=True)
    return summary


def _write_not_published(note: Path, authority: Authority, night: date, exc: BaseException) -> None:
    from pipeline.outputs.files import write_files

    reason = str(exc) if isinstance(exc, HearthError) else f"unexpected error {exc!r}"
    text = (
        f"No MASH list was published for {authority.name} ({authority.code}) for {night.isoformat()}.\n\n"
        f"Why: {reason}\n\n"
        "The previous list stands. The other authorities of the force were processed as usual. "
        "Once the cause is fixed, rerun this authority's night (clear its task in Airflow).\n"
        f"Recorded at {datetime.now(UTC).isoformat(timespec='seconds')}.\n"
    )
    try:
        write_files({note: text}, what="the not-published note")
    except HearthError as write_exc:  # the night has failed already; the log must still say why
        log.error("could not write %s: %s", note, write_exc)


# ---- the force summary -----------------------------------------------------------------
SUMMARY_COLUMNS = ("authority", "name", "status", "households_listed", "shared_incidents", "message")


def force_summary(force: Force, night: date) -> list[dict[str, Any]]:
    """One row per authority for ``night``: what its warehouse says about the night.

    Written to ``force-reports/<date>/force-summary.csv``; an authority whose night never
    recorded anything (its warehouse missing, routing failed) says so.
    """
    from pipeline.outputs.files import write_files
    from pipeline.publish.warehouse import open_reader

    rows = []
    for a in force.authorities:
        row: dict[str, Any] = {"authority": a.code, "name": a.name, "status": "not run",
                               "households_listed": None, "shared_incidents": 0, "message": ""}
        row["shared_incidents"] = read_shared_incidents(force.shared_dir(a.code), night).height
        note = force.reports_dir(a.code) / night.isoformat() / NOT_PUBLISHED_NOTE
        try:
            with open_reader(force.warehouse(a.code)) as wh:
                runs = wh.literal_rows("SELECT status, message FROM audit.runs WHERE logical_date = ? "
                                "ORDER BY started_at DESC LIMIT 1", [night])
                listed = wh.literal_rows("SELECT count(*) FROM marts.mash_list WHERE list_date = ?", [night])[0][0]
        except HearthError as exc:
            row["message"] = f"warehouse not readable: {exc}"
        else:
            if runs:
                row["status"], row["message"] = runs[0][0], runs[0][1] or ""
                row["households_listed"] = listed if runs[0][0] == "succeeded" else None
        if row["status"] != "succeeded" and note.is_file():
            # The night's own words on why it stopped, even where it stopped too early to
            # record itself in the warehouse.
            row["message"] = note.read_text(encoding="utf-8").split("\n\n")[1].removeprefix("Why: ")
        rows.append(row)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS)
    w.writeheader()
    w.writerows(rows)
    write_files({force.summary_dir() / night.isoformat() / "force-summary.csv": buf.getvalue()},
                what="the force summary")
    for r in rows:
        (log.info if r["status"] == "succeeded" else log.error)(
            "%s %s: %s%s", r["authority"], r["name"], r["status"], f" — {r['message']}" if r["message"] else "")
    return rows


def init_authority_warehouses(force: Force) -> list[Path]:
    """Create each authority's empty warehouse where none exists yet; return those created.

    Done once, on purpose, when the force is set up (never by a night: a mistyped path would
    otherwise start an empty warehouse and publish lists without history).
    """
    from pipeline.publish import warehouse

    created = []
    for code in force.codes:
        path = force.warehouse(code)
        if warehouse.exists(path):
            continue
        with warehouse.open_writer(path, create=True) as wh:
            warehouse.refresh_published(wh)
        created.append(path)
    return created
