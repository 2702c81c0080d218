"""A synthetic police force over several synthetic authorities (tests, bench, the demo).

Each authority is a synthetic county of its own (``pipeline.synth.county``, its own seed); the
counties are moved apart so nothing of one can be mistaken for the other: each gets its own
postcode areas (``NR`` becomes ``BN`` in the first, ``CN`` in the second, ``IP`` ``BH`` …), UPRNs that start
with its own digit, and police ids that carry its number. The police files of all of them
are merged into one force delivery, and a postcode lookup in the shape of the ONS postcode
directory (``pcds``, ``oslaua``) is written from the register addresses.

One cross-border incident is added: to an incident of the first authority a suspect is
added whose home (with children) is in the second, so the incident reaches both lists.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from pipeline.authorities import POLICE_FOLDER, POLICE_SOURCES, write_text_csv
from pipeline.errors import UsageError
from pipeline.ingest.delivery import read_delivery
from pipeline.link.standardise import normalise_postcode
from pipeline.synth.county import write_synthetic_county

log = logging.getLogger(__name__)

# First letter of each authority's postcode areas (never Z: ZZ99 is the pseudo-postcode).
_AREA_LETTERS = "BCDFGHJKLMSTW"
POSTCODE_COLUMN = "postcode"
# Letters a postcode area never has second (postcode.format in the suites).
_NOT_SECOND = {"I": "H", "J": "K", "Z": "Y"}


def authority_code(i: int) -> str:
    """Made-up ONS-shaped codes (E06000901 …) that belong to no real authority."""
    return f"E{6000901 + i:08d}"


@dataclass
class SyntheticForce:
    config_file: Path
    landing_dir: Path
    data_dir: Path
    postcode_lookup: Path
    codes: list[str]
    nights: list[date]
    cross_border_incident: str | None = None
    cross_border_household_postcode: str | None = None
    seconds_per_county: list[float] = field(default_factory=list)


def _move_apart(frame: pl.DataFrame, i: int) -> pl.DataFrame:
    """Give authority ``i`` its own postcode areas, UPRNs and police ids."""
    letter = _AREA_LETTERS[i]
    out = frame
    if POSTCODE_COLUMN in frame.columns:
        pc = pl.col(POSTCODE_COLUMN)
        # The area's old first letter becomes its second, where UK postcodes allow it.
        second = pc.str.extract(r"^\s*([A-Za-z])[A-Za-z]?\d", 1).str.to_uppercase().replace(_NOT_SECOND)
        moved = pl.concat_str(pl.lit(letter), second, pc.str.replace(r"^\s*[A-Za-z][A-Za-z]?(\d)", "${1}"))
        out = out.with_columns(
            pl.when(pc.str.to_uppercase().str.strip_chars().str.starts_with("ZZ") | second.is_null()).then(pc)
            .otherwise(moved.str.to_uppercase()).alias(POSTCODE_COLUMN))
    if "uprn" in frame.columns:
        out = out.with_columns(pl.col("uprn").str.replace(r"^\d", str(i + 1)))
    for column, prefix in (("incident_id", "DA"), ("person_ref", "PN")):
        if column in frame.columns:
            out = out.with_columns(pl.col(column).str.replace(f"^{prefix}", f"{prefix}{i + 1}"))
    return out


def directory_postcodes(postcodes: pl.Series) -> list[str]:
    """The postcodes of a register column as the ONS directory's ``pcds`` writes them,
    leaving out what the directory would not hold: a mistyped or truncated postcode (a
    register's defect) and the ``ZZ99`` pseudo-postcodes."""
    spaced = pl.select(normalise_postcode(pl.lit(postcodes, dtype=pl.String))).to_series()
    return spaced.filter(spaced.is_not_null() & ~spaced.str.starts_with("ZZ")).to_list()


def write_synthetic_force(
    out: Path, *, authorities: int, households: int, days: int, seed: int, start_date: date,
    cross_border: bool = True,
) -> SyntheticForce:
    """Write ``out/landing/<code>/<date>/`` registers, ``out/landing/police/<date>/`` for the
    force, ``out/postcode_lookup.csv`` and ``out/force.toml`` (data under ``out/data``)."""
    import time

    if authorities < 1 or (cross_border and authorities < 2):
        raise UsageError("a synthetic force needs at least one authority (two for a cross-border incident)")
    out.mkdir(parents=True, exist_ok=True)
    landing = out / "landing"
    codes = [authority_code(i) for i in range(authorities)]
    police: dict[date, dict[str, list[pl.DataFrame]]] = {}
    lookup_rows: dict[str, str] = {}
    nights: list[date] = []
    timings = []
    for i, code in enumerate(codes):
        t0 = time.perf_counter()
        county = out / "counties" / code
        summary = write_synthetic_county(county, households=households, days=days, seed=seed + 101 * i,
                                         start_date=start_date)
        timings.append(time.perf_counter() - t0)
        nights = summary.deliveries
        for night in nights:
            delivery = read_delivery(summary.landing_dir, night)
            for source, landed in delivery.files.items():
                frame = _move_apart(landed.frame, i)
                if source in POLICE_SOURCES:
                    police.setdefault(night, {}).setdefault(source, []).append(frame)
                    continue
                write_text_csv(frame, landing / code / night.isoformat() / f"{source}.csv")
                lookup_rows.update(dict.fromkeys(directory_postcodes(frame[POSTCODE_COLUMN]), code))
            (landing / code / night.isoformat()).mkdir(parents=True, exist_ok=True)
    force = SyntheticForce(config_file=out / "force.toml", landing_dir=landing, data_dir=out / "data",
                           postcode_lookup=out / "postcode_lookup.csv", codes=codes, nights=nights,
                           seconds_per_county=timings)
    if cross_border:
        _add_cross_border_suspect(police[nights[0]], landing / codes[1] / nights[0].isoformat(), force)
    for night in nights:
        folder = landing / POLICE_FOLDER / night.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        for source, frames in police.get(night, {}).items():
            write_text_csv(pl.concat(frames, how="diagonal_relaxed"), folder / f"{source}.csv")
    with force.postcode_lookup.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        # The ONS directory has many more columns; hearth reads only these two.
        w.writerow(["pcd", "pcds", "oslaua"])
        for pcds, code in sorted(lookup_rows.items()):
            w.writerow([pcds.replace(" ", ""), pcds, code])
    names = "".join(
        f'\n[[authorities]]\ncode = "{code}"\nname = "Synthshire district {i + 1}"\n' for i, code in enumerate(codes)
    )
    force.config_file.write_text(
        '# A synthetic force (pipeline/synth/force.py). Paths are relative to this file.\n'
        'name = "Synthshire Constabulary"\nlanding_dir = "landing"\ndata_dir = "data"\n'
        f'postcode_lookup = "postcode_lookup.csv"\n{names}', encoding="utf-8")
    log.info("synthetic force: %d authorities of %d households, %d nights", authorities, households, days)
    return force


def _add_cross_border_suspect(police: dict[str, list[pl.DataFrame]], b_registers: Path,
                              force: SyntheticForce) -> None:
    """A suspect of an incident in the first authority who lives, with children, in the second."""
    incidents = police["police_incidents"][0]
    persons_a = police["police_persons"][0]
    incident_id = incidents.filter(pl.col("_raw_line").is_null())["incident_id"][0]
    health = pl.read_csv(b_registers / "health_register.csv", infer_schema=False) \
        if (b_registers / "health_register.csv").exists() else None
    if health is None or health.height == 0:
        raise UsageError(f"no register delivered in {b_registers} to place a cross-border suspect in")
    home = health.filter(pl.col("postcode").is_not_null() & pl.col("uprn").is_not_null()
                         & (pl.col("address_line1").is_not_null())).row(0, named=True)
    suspect: dict[str, str | None] = dict.fromkeys(persons_a.columns)
    suspect.update({
        "incident_id": incident_id, "person_ref": "PNX0000001", "role": "suspect",
        "forename": "Dominic", "surname": home["surname"], "dob": "1984-03-02", "gender": "m",
        "relationship_to_victim": "ex_partner", "address_line1": home["address_line1"],
        "address_line2": home.get("address_line2"), "town": home.get("town"),
        "postcode": home["postcode"], "uprn": home["uprn"],
    })
    police["police_persons"].append(pl.DataFrame([suspect], schema=persons_a.schema))
    force.cross_border_incident = incident_id
    force.cross_border_household_postcode = home["postcode"]
