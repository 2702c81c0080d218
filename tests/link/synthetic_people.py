"""A numpy-built synthetic pair of registers with known truth, for linkage quality and speed.

Not the county generator (``pipeline/synth/county.py``): just enough structure to stress blocking
and the model — families sharing surname and address, twins, and per-field noise (typos,
nicknames, day–month swaps, postcode typos, street-type abbreviations, missing UPRNs).

Run as a script for the timing figures in docs/linkage.md::

    uv run python tests/link/synthetic_people.py 175000
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time

import numpy as np
import polars as pl

from pipeline import schemas
from pipeline.link.standardise import swapped_dob

FORENAMES = ["OLIVER", "GEORGE", "ARTHUR", "NOAH", "MUHAMMAD", "LEO", "OSCAR", "HARRY", "ARCHIBALD", "JACK", "HENRY", "CHARLES", "FREDERICK", "THEODORE", "THOMAS", "ALFRED", "ISAAC", "JACOB", "LUCAS", "ARLO", "EDWARD", "FINLEY", "TOMMY", "JAMES", "WILLIAM", "JOSHUA", "DANIEL", "SAMUEL", "RORY", "OLIVIA", "AMELIA", "ISLA", "AVA", "IVY", "FREYA", "LILY", "FLORENCE", "MIA", "WILLOW", "ROSE", "ISABELLA", "SOPHIA", "EVELYN", "POPPY", "GRACE", "ELSIE", "CHARLOTTE", "SIENNA", "EMILY", "ELEANOR", "ALICE", "MATILDA", "HALLIE", "MAYA", "RUBY", "EVIE", "ELLA", "PHOEBE", "HARPER", "LUNA"]
NICK = {"ALFRED": "Alfie", "OLIVER": "Ollie", "FREDERICK": "Freddie", "ARCHIBALD": "Archie",
        "ISABELLA": "Bella", "CHARLES": "Charlie", "HENRY": "Harry", "WILLIAM": "Billy", "THOMAS": "Tom"}
SURNAMES_BASE = ["SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "PATEL", "ROBINSON", "WRIGHT", "THOMPSON", "EVANS", "WALKER", "WHITE", "ROBERTS", "GREEN", "HALL", "THOMAS", "CLARKE", "JACKSON", "WOOD", "HARRIS", "EDWARDS", "TURNER", "MARTIN", "COOPER", "HILL", "WARD", "HUGHES", "MOORE", "CLARK", "KING", "HARRISON", "LEWIS", "BAKER", "LEE", "ALLEN", "MORRIS", "KHAN", "SCOTT", "WATSON", "DAVIS", "PARKER", "JAMES", "BENNETT", "YOUNG", "PHILLIPS", "RICHARDSON", "MITCHELL", "BAILEY", "CARTER", "COOK", "SINGH", "SHAW", "BELL", "COLLINS", "MORGAN", "KELLY"]
STREETS = ["HIGH", "CHURCH", "MILL", "STATION", "VICTORIA", "GREEN", "MANOR", "PARK", "QUEENS", "KINGS", "NEW", "SCHOOL", "MAIN", "WEST", "EAST"]
TYPES = [("STREET", "St"), ("ROAD", "Rd"), ("AVENUE", "Ave"), ("LANE", "Ln"), ("CLOSE", "Cl"), ("DRIVE", "Dr")]
LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def _pick(rng: np.random.Generator, values: list[str] | np.ndarray, n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]


def synthetic_registers(n_children: int, *, seed: int = 7, school_share: float = 0.85) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``(health, school, truth)``: health holds every child, school ``school_share`` of them
    with noise; truth maps nhs_number ↔ upn for every child on both."""
    rng = np.random.default_rng(seed)
    n_house = max(1, n_children // 2)
    # Surnames: base × two-letter suffix gives a realistic long tail (a few very common).
    common = rng.random(n_house) < 0.3
    suffixed = np.char.add(_pick(rng, SURNAMES_BASE, n_house).astype(str), np.char.add(
        _pick(rng, list("ABCDEFGHIJKLMNOPRSTUVWY"), n_house).astype(str), _pick(rng, list("AEIOUNRST"), n_house).astype(str)))
    house_surname = np.where(common, _pick(rng, SURNAMES_BASE, n_house).astype(str), suffixed)
    district = rng.integers(1, 40, n_house)
    n_postcodes = max(1, n_house // 12)
    pc_id = rng.integers(0, n_postcodes, n_house)
    pc_rng = np.random.default_rng(seed + 1)
    pc_digit = pc_rng.integers(1, 10, n_postcodes)
    pc_l1 = _pick(pc_rng, LETTERS, n_postcodes).astype(str)
    pc_l2 = _pick(pc_rng, LETTERS, n_postcodes).astype(str)
    pc_district = pc_rng.integers(1, 40, n_postcodes)
    del district
    house_pc = np.char.add(np.char.add(np.char.add(np.char.add("NR", pc_district[pc_id].astype(str)), " "), pc_digit[pc_id].astype(str)), np.char.add(pc_l1[pc_id], pc_l2[pc_id]))
    street_i = rng.integers(0, len(STREETS), n_house)
    type_i = rng.integers(0, len(TYPES), n_house)
    number = rng.integers(1, 300, n_house)
    flat = np.where(rng.random(n_house) < 0.15, rng.integers(1, 9, n_house), 0)
    uprn = (10_000_000 + np.arange(n_house)).astype(str)

    house = rng.integers(0, n_house, n_children)
    house[: min(n_house, n_children)] = np.arange(min(n_house, n_children))
    forename = _pick(rng, FORENAMES, n_children).astype(str)
    start = dt.date(2008, 9, 1).toordinal()
    dob_ord = rng.integers(start, dt.date(2026, 10, 1).toordinal(), n_children)
    # Twins: 2% of children copy the previous child's household and birthday.
    twin = np.zeros(n_children, dtype=bool)
    twin[1:] = rng.random(n_children - 1) < 0.02
    idx = np.arange(n_children)
    house = np.where(twin, np.roll(house, 1), house)
    dob_ord = np.where(twin, np.roll(dob_ord, 1), dob_ord)
    forename = np.where(twin & (forename == np.roll(forename, 1)), "ZARA", forename)
    street_name = np.asarray([STREETS[i] for i in range(len(STREETS))], dtype=object)[street_i[house]].astype(str)
    full_type = np.asarray([t[0] for t in TYPES], dtype=object)[type_i[house]].astype(str)
    short_type = np.asarray([t[1] for t in TYPES], dtype=object)[type_i[house]].astype(str)
    line1_h = np.char.add(np.char.add(number[house].astype(str), " "), np.char.add(np.char.add(street_name, " "), full_type))
    flats = flat[house]
    line1_h = np.where(flats > 0, np.char.add(np.char.add(np.char.add("Flat ", flats.astype(str)), ", "), line1_h), line1_h)
    line1_s = np.char.add(np.char.add(number[house].astype(str), " "), np.char.add(np.char.add(street_name, " "), short_type))
    line1_s = np.where(flats > 0, np.char.add(np.char.add(flats.astype(str), "/"), line1_s), line1_s)
    dobs = pl.Series(dob_ord - dt.date(1970, 1, 1).toordinal()).cast(pl.Date)
    health = pl.DataFrame({
        "nhs_number": (4_000_000_000 + idx * 7).astype(str),
        "forename": np.char.capitalize(forename),
        "surname": np.char.capitalize(house_surname[house]),
        "dob": dobs,
        "gender": _pick(rng, ["f", "m"], n_children),
        "address_line1": line1_h,
        "address_line2": None, "town": "Norwich",
        "postcode": house_pc[house],
        "uprn": uprn[house],
        "gp_practice_code": "D82001", "health_visitor_team": None, "substitute_id": None,
        "_file": "synthetic", "_row": idx + 1,
    }, schema_overrides={"address_line2": pl.String, "health_visitor_team": pl.String, "substitute_id": pl.String})
    on_school = rng.random(n_children) < school_share
    s = health.with_columns(upn=pl.Series(np.char.add("S", (100_000_000_000 + idx).astype(str))), address_line1=pl.Series(line1_s)).filter(pl.Series(on_school))
    m = s.height
    r = np.random.default_rng(seed + 2)
    u = r.random((6, m))
    fn = s["forename"].to_numpy().astype(str)
    nick = np.asarray([NICK.get(f.upper(), f) for f in np.unique(fn)], dtype=object)
    nick_of = dict(zip(np.unique(fn), nick, strict=True))
    fn_nick = pl.Series(fn).replace_strict(nick_of).to_numpy().astype(str)
    # A realistic typo: two adjacent letters transposed ("Oliver" → "Oilver").
    f = pl.Series(fn)
    typo = pl.select(pl.concat_str(f.str.head(1), f.str.slice(2, 1), f.str.slice(1, 1), f.str.slice(3))).to_series().to_numpy().astype(str)
    fn = np.where(u[0] < 0.03, fn_nick, np.where(u[0] > 0.97, typo, fn))
    dob = s["dob"]
    swapped = pl.select(pl.coalesce(swapped_dob(pl.lit(dob)), pl.lit(dob))).to_series()
    pc = s["postcode"].to_numpy().astype(str)
    pc_typo = np.char.add(np.asarray([p[:-1] for p in pc], dtype=str), "Q")
    sn = s["surname"].to_numpy().astype(str)
    sn = np.where(u[3] < 0.02, np.char.add(sn, "-Evans"), sn)
    school = s.with_columns(
        forename=pl.Series(fn),
        surname=pl.Series(sn),
        dob=pl.when(pl.Series(u[1] < 0.03)).then(swapped).otherwise(dob),
        postcode=pl.Series(np.where(u[2] < 0.03, pc_typo, np.char.lower(np.char.replace(pc, " ", "")))),
        uprn=pl.when(pl.Series(u[4] < 0.4)).then(None).otherwise(pl.col("uprn")),
        school_urn=pl.lit("121212"), school_name=pl.lit("Synthetic Primary"), year_group=pl.lit(None, pl.String),
    ).select(schemas.STAGED["school_census"].keys())
    truth = s.select("nhs_number", "upn")
    return schemas.conform(health, schemas.STAGED["health_register"]), schemas.conform(school, schemas.STAGED["school_census"]), truth


def main(n: int) -> None:
    from pipeline.config import LinkageSettings
    from pipeline.link.linkage import LinkInputs, link_people

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("recordlinkage").setLevel(logging.WARNING)
    health, school, truth = synthetic_registers(n)
    empty_persons = schemas.empty(schemas.STAGED["police_persons"])
    inputs = LinkInputs(health, school, empty_persons, schemas.empty(schemas.CURRENT_INCIDENTS),
                        schemas.empty(schemas.CHILD_XREF), schemas.empty(schemas.REVIEW_DECISIONS))
    started = time.perf_counter()
    result = link_people(inputs, LinkageSettings())
    elapsed = time.perf_counter() - started
    found = result.children.filter(pl.col("nhs_number").is_not_null() & pl.col("upn").is_not_null()).select("nhs_number", "upn")
    tp = found.join(truth, on=["nhs_number", "upn"]).height
    logging.getLogger(__name__).warning(
        "n=%d health, %d school: %.1f s; precision %.4f, recall %.4f; review queue %d; pairs scored %d",
        health.height, school.height, elapsed, tp / max(found.height, 1), tp / max(truth.height, 1),
        result.review_queue.height, result.decisions.height,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
