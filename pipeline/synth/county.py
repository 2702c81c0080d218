"""A synthetic county: nightly landing deliveries with known ground truth.

Entry point: :func:`write_synthetic_county`. It builds a population of households of real
shapes (couples and single parents with children, blended families, grandparents raising a
child, adults alone, ex-partners with new families elsewhere), a year of police
domestic-abuse history plus a nightly trickle, and daily register snapshots; it writes them
exactly as partners deliver them (``docs/landing.md``), with configurable noise and a few
invalid rows on purpose, and writes what it did to ``truth/*.parquet``
(``docs/synthetic-county.md`` describes every truth column).

Everything is drawn from named random streams derived from the seed, so the same arguments
give the same bytes, and everything is vectorised (numpy/polars): 350 000 households and 30
nights take well under a minute.
"""

from __future__ import annotations

import hashlib
import logging
import math
import shutil
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import cpdist

from pipeline import schemas
from pipeline.errors import UsageError
from pipeline.synth import names as words
from pipeline.synth.partners import build_partner_files, write_partner_truth

log = logging.getLogger(__name__)

LONDON = "Europe/London"
MARKER = ".hearth-synth"  # written into `out`; only a folder carrying it is ever replaced

# household shapes, their shares, adults per shape
SHAPES = (
    "single_adult", "couple_no_children", "couple_with_children", "single_parent", "blended",
    "grandparents",
)
_SHAPE_P = np.array([0.32, 0.418, 0.15, 0.07, 0.03, 0.012])
_N_ADULTS = np.array([1, 2, 2, 1, 2, 2])
_CHILD_SHAPES = np.array([False, False, True, True, True, True])
_KIDS_P = np.array([0.42, 0.38, 0.14, 0.05, 0.01])  # 1..5 children in a household with children
_TWIN_SHARE = 0.035        # of households with 2+ children, the youngest two are twins
_JUNIOR_SHARE = 0.04       # eldest son named after his father (father and son, same name)
_HEALTH_COVERAGE = 0.98    # children on the child health register
_LEAVE_PER_YEAR = 0.03     # families with children leaving the county (drop off registers)
_LATE_ADMISSION_PER_YEAR = 0.04  # school children joining the roll mid-year
# domestic-abuse incidents: yearly chance a household is a victim's home, by shape
_TOUCH_PER_YEAR = np.array([0.012, 0.012, 0.05, 0.05, 0.05, 0.03])
_REPEAT_P = 0.4            # chance of each further incident (repeat victimisation)
_REPEAT_GAP_DAYS = 35.0
_DASH = ("standard", "medium", "high", "not_assessed")
_DASH_P = np.array([0.60, 0.25, 0.10, 0.05])
_UPDATE_SHARE = 0.45       # incidents updated after the first extract
_RISE_SHARE = 0.2          # of updates, DASH rising one level (or to high)
_WITNESS_SHARE = 0.1
_NORFOLK_LA = "926"        # DfE local authority number used in UPNs
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters allowed at the end of a postcode
_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_NFA_POSTCODE = "ZZ99 3VZ"
# The registers the county is modelled on (every child is on one or both); the partner
# sources of landing contract v2 are drawn from them in pipeline/synth/partners.py.
_CHILD_REGISTERS = ("health_register", "school_census")


@dataclass(frozen=True)
class NoiseRates:
    """How often each kind of noise is injected (0–1). Defaults look like real deliveries.

    Rates are per written record unless noted; register noise is drawn once per record and
    stays the same in every snapshot, as a mistake on a partner's system does.
    """

    name_case: float = 0.05            # forename/surname in UPPER or lower case
    name_typo: float = 0.02            # a dropped, doubled or swapped letter
    nickname: float = 0.15             # police only: forename written as a nickname
    dob_swap: float = 0.01             # day and month swapped (only where both ≤ 12)
    dob_dmy: float = 0.05              # date written DD/MM/YYYY instead of ISO
    postcode_format: float = 0.08      # no space / lower case
    postcode_typo: float = 0.005       # one digit wrong (still a valid-looking postcode)
    address_variant: float = 0.2       # "2/10 High St", "Flat 2" on its own line, "St" for "Street"
    uprn_missing_register: float = 0.08
    uprn_missing_police: float = 0.35
    nhs_number_spaces: float = 0.1     # "943 476 5919"
    stale_register_address: float = 0.03  # of households with children: moved, registers show the old address
    register_catch_up: float = 0.3     # of those, registers update to the new address during the window
    second_person_ref: float = 0.08    # police nominal recorded under a second person_ref
    no_fixed_abode: float = 0.03       # of suspects: recorded as no fixed abode (ZZ99 3VZ)
    police_child_dob_missing: float = 0.5
    police_adult_dob_missing: float = 0.08
    local_time: float = 0.3            # police datetimes in Europe/London local time, no offset
    late_redelivery: float = 0.1       # of updated incidents: the older version re-delivered late
    duplicate_row: float = 0.003       # exact duplicate rows, per file row
    invalid_row: float = 0.002         # invalid rows on purpose, per file row
    parquet_file: float = 0.1          # a (night, source) delivered as .parquet instead of .csv
    # Defects that real partner data shows and an earlier, kinder county left out
    # (DEFECT_CLASSES; docs/synthetic-county.md gives the cause of each). Each draws from its
    # own random stream, so with all of them at 0 the county is byte for byte the kinder one.
    name_transposed_register: float = 0.003  # forename and surname exchanged on a register record
    name_transposed_police: float = 0.01     # … on a police nominal (names taken down at a scene)
    name_multi_typo: float = 0.005     # per name field: 2–3 typos in one name (FEBRL-like)
    dob_digit: float = 0.01            # one digit of the date of birth wrong, still a real date
    dob_invalid: float = 0.002         # an impossible date (2014-02-30, 2014-13-02) or, on registers, none
    register_bad_field: float = 0.01   # of children held through one register record: that record breaks one field rule
    home_address_wrong: float = 0.01   # of victims/suspects hurt/accused at their home: another real address keyed
    home_address_blank: float = 0.02   # … their own address left blank (the incident address is their home)
    police_postcode_typo: float = 0.02  # police addresses: one character of the postcode wrong, UPRN not found

    def __post_init__(self) -> None:
        bad = [f.name for f in fields(self) if not 0.0 <= float(getattr(self, f.name)) <= 1.0]
        if bad:
            raise UsageError(f"noise rates must be between 0 and 1; fix {', '.join(bad)}")

    def without_defects(self) -> NoiseRates:
        """These rates with every class of ``DEFECT_CLASSES`` off: the kinder county whose
        figures earlier measurements (docs/performance.md) were taken on."""
        return replace(self, **dict.fromkeys(DEFECT_CLASSES, 0.0))


# The defect classes added to make the county as unkind as real partner data; off together
# with ``NoiseRates.without_defects()``.
DEFECT_CLASSES = (
    "name_transposed_register", "name_transposed_police", "name_multi_typo", "dob_digit", "dob_invalid",
    "register_bad_field", "home_address_wrong", "home_address_blank", "police_postcode_typo",
)


@dataclass(frozen=True)
class SynthSummary:
    households: int
    children: int
    deliveries: list[date]
    rows_written: dict[str, int]
    truth_dir: Path
    landing_dir: Path


# ---- small vectorised helpers ------------------------------------------------------------


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per purpose, so adding a stream never shifts another."""
    key = int.from_bytes(hashlib.sha256(stream.encode()).digest()[:8], "big")
    return np.random.default_rng([seed % 2**63, key])


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each group of a repeat(…, counts) layout."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def _zipf(n: int) -> np.ndarray:
    w = 1.0 / (np.arange(n) + 8.0)
    return w / w.sum()


def _days(day_numbers: np.ndarray, start: date) -> pl.Series:
    """Day offsets from ``start`` as a polars Date series."""
    base = np.datetime64(start.isoformat(), "D")
    return pl.Series((base + day_numbers.astype("timedelta64[D]")).astype("datetime64[D]"))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid NHS numbers (Modulus 11) in 400 000 000x–699 999 999x, not 999."""
    out = np.empty(0, dtype=np.int64)
    while out.size < n:
        body = rng.integers(400_000_000, 700_000_000, size=int(n * 1.25) + 16, dtype=np.int64)
        digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        check = (11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11) % 11
        ok = check != 10  # bodies whose check digit would be 10 are never issued
        out = np.concatenate([out, body[ok] * 10 + check[ok]])
        _, first = np.unique(out, return_index=True)
        out = out[np.sort(first)]
    return out[:n]


def _upn_check_letters(bodies: np.ndarray) -> np.ndarray:
    """DfE check letter of 12-digit UPN bodies (digits weighted 2..13, mod 23)."""
    digits = (bodies[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    # stdnum's alphabet puts digit d at index 23 + d, and 23 ≡ 0 (mod 23)
    return (digits * np.arange(2, 14)).sum(axis=1) % 23


def _upns(rng: np.random.Generator, n: int) -> pl.Series:
    """``n`` distinct valid permanent UPNs for Norfolk (LA 926): letter + LA + 9 digits."""
    tails = np.empty(0, dtype=np.int64)
    while tails.size < n:
        drawn = rng.integers(2000 * 10**5, 7000 * 10**5, size=int(n * 1.1) + 16, dtype=np.int64)
        tails = np.concatenate([tails, drawn])
        _, first = np.unique(tails, return_index=True)
        tails = tails[np.sort(first)]
    bodies = int(_NORFOLK_LA) * 10**9 + tails[:n]
    letters = np.array(list(_UPN_ALPHABET))[_upn_check_letters(bodies)]
    return pl.Series(np.char.add(letters, bodies.astype(str)).astype(str), dtype=pl.String)


# ---- addresses -----------------------------------------------------------------------------

_SLOTS_PER_STREET = 100
_HOUSES_PER_STREET = 80  # slots 80..99 are flats in two blocks of ten


def build_addresses(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """``n`` distinct addresses (``addr`` 0..n-1) on Norfolk-like streets with postcodes and UPRNs."""
    n_streets = max(1, math.ceil(n / (0.6 * _SLOTS_PER_STREET)))
    town_p = np.array([t[2] for t in words.TOWNS])
    street_town = rng.choice(len(words.TOWNS), size=n_streets, p=town_p / town_p.sum())
    # distinct street name/type per town (a stride through all combinations), then localities
    combos = len(words.STREET_NAMES) * len(words.STREET_TYPES)
    order = np.argsort(street_town, kind="stable")
    rank = np.empty(n_streets, dtype=np.int64)
    rank[order] = _ranks(np.bincount(street_town, minlength=len(words.TOWNS)))
    combo = (rank * 7919 + street_town * 131) % combos
    locality = rank // combos - 1
    n_districts = np.array([len(t[1]) for t in words.TOWNS])
    district_local = (rng.random(n_streets) * n_districts[street_town]).astype(np.int64)
    district_offset = np.cumsum(n_districts) - n_districts
    street_district = district_offset[street_town] + district_local
    all_districts = [d for t in words.TOWNS for d in t[1]]

    # postcode units: four per street (25 slots each), distinct inward codes per district
    units_per_street = _SLOTS_PER_STREET // 25
    unit_district = np.repeat(street_district, units_per_street)
    inward = np.empty(unit_district.size, dtype=np.int64)
    for d in range(len(all_districts)):
        where = np.flatnonzero(unit_district == d)
        if where.size:
            inward[where] = rng.choice(4000, size=where.size, replace=where.size > 4000)
    letters = np.array(list(_INWARD_LETTERS))
    inward_text = np.char.add(
        np.char.add((inward // 400).astype(str), letters[inward // 20 % 20]), letters[inward % 20]
    )
    unit_postcode = np.char.add(np.char.add(np.array(all_districts)[unit_district], " "), inward_text)

    slots = rng.choice(n_streets * _SLOTS_PER_STREET, size=n, replace=False)
    street = slots // _SLOTS_PER_STREET
    pos = slots % _SLOTS_PER_STREET
    is_flat = pos >= _HOUSES_PER_STREET
    block = (pos - _HOUSES_PER_STREET) // 10
    number = np.where(is_flat, _HOUSES_PER_STREET + 1 + 2 * block, pos + 1)
    flat = np.where(is_flat, (pos - _HOUSES_PER_STREET) % 10 + 1, 0)
    uprn = 100_090_000_000 + rng.choice(20 * n, size=n, replace=False)
    n_types = len(words.STREET_TYPES)
    c = combo[street]
    loc = locality[street]
    return pl.DataFrame({
        "addr": np.arange(n, dtype=np.int64),
        "flat": pl.Series(flat, dtype=pl.Int32),
        "number": pl.Series(number, dtype=pl.Int32),
        "street": pl.Series(words.STREET_NAMES).gather(c // n_types),
        "stype": pl.Series([t[0] for t in words.STREET_TYPES]).gather(c % n_types),
        "stype_abbr": pl.Series([t[1] for t in words.STREET_TYPES]).gather(c % n_types),
        "locality": pl.Series(words.LOCALITIES).gather(np.maximum(loc, 0) % len(words.LOCALITIES)),
        "has_locality": loc >= 0,
        "town": pl.Series([t[0] for t in words.TOWNS]).gather(street_town[street]),
        "town_idx": street_town[street],
        "postcode": pl.Series(unit_postcode[street * units_per_street + pos // 25]).cast(pl.String),
        "uprn": pl.Series(uprn).cast(pl.String),
    }).with_columns(
        pl.when(pl.col("flat") > 0).then(pl.col("flat")).otherwise(None).alias("flat"),
        pl.when(pl.col("has_locality")).then(pl.col("locality")).otherwise(None).alias("locality"),
    ).drop("has_locality")


def render_address(frame: pl.DataFrame, variant: pl.Expr | pl.Series) -> pl.DataFrame:
    """Add ``address_line1``/``address_line2``/``town`` from address parts.

    ``variant``: 0 canonical (``Flat 2, 10 High Street``), 1 abbreviated (``2/10 High St``,
    ``10 High St``), 2 flat on its own line (``Flat 2`` / ``10 High Street``).
    """
    flat = pl.col("flat").cast(pl.String)
    full_street = pl.col("street") + pl.lit(" ") + pl.col("stype")
    abbr_street = pl.col("street") + pl.lit(" ") + pl.col("stype_abbr")
    num = pl.col("number").cast(pl.String)
    has_flat = pl.col("flat").is_not_null()
    canonical = pl.when(has_flat).then(pl.lit("Flat ") + flat + pl.lit(", ") + num + pl.lit(" ") + full_street).otherwise(num + pl.lit(" ") + full_street)
    abbreviated = pl.when(has_flat).then(flat + pl.lit("/") + num + pl.lit(" ") + abbr_street).otherwise(num + pl.lit(" ") + abbr_street)
    split_line1 = pl.when(has_flat).then(pl.lit("Flat ") + flat).otherwise(num + pl.lit(" ") + full_street)
    split_line2 = pl.when(has_flat).then(num + pl.lit(" ") + full_street).otherwise(pl.col("locality"))
    return frame.with_columns(
        pl.when(variant == 1).then(abbreviated).when(variant == 2).then(split_line1).otherwise(canonical).alias("address_line1"),
        pl.when(variant == 2).then(split_line2).otherwise(pl.col("locality")).alias("address_line2"),
    )


def _postcode_noise(frame: pl.DataFrame, rng: np.random.Generator, noise: NoiseRates, column: str = "postcode") -> pl.DataFrame:
    """Write the postcode as partners do: sometimes no space, lower case, or one digit wrong."""
    n = frame.height
    fmt = rng.random(n)
    typo = rng.random(n) < noise.postcode_typo
    shift = rng.integers(1, 10, size=n)
    pc = pl.col(column)
    outward = pc.str.split(" ").list.first()
    inward = pc.str.split(" ").list.last()
    digit = ((inward.str.slice(0, 1).cast(pl.Int32) + pl.col("_pc_shift")) % 10).cast(pl.String)
    typo_pc = outward + pl.lit(" ") + digit + inward.str.slice(1)
    return frame.with_columns(
        pl.Series("_pc_fmt", fmt), pl.Series("_pc_typo", typo), pl.Series("_pc_shift", shift),
    ).with_columns(
        pl.when(pl.col("_pc_typo") & ~pc.str.starts_with("ZZ99")).then(typo_pc).otherwise(pc).alias("_pc1")
    ).with_columns(
        pl.when(pl.col("_pc_fmt") < noise.postcode_format / 2).then(pl.col("_pc1").str.replace(" ", "", literal=True))
        .when(pl.col("_pc_fmt") < noise.postcode_format).then(pl.col("_pc1").str.to_lowercase())
        .otherwise(pl.col("_pc1")).alias("postcode_w"),
        (pl.col("_pc_typo") & ~pc.str.starts_with("ZZ99")).alias("postcode_typo"),
    ).drop("_pc_fmt", "_pc_typo", "_pc_shift", "_pc1")


def _name_noise(frame: pl.DataFrame, rng: np.random.Generator, noise: NoiseRates, column: str) -> pl.DataFrame:
    """``<column>_w``: the name in odd case or with one typo; ``<column>_noise`` says which."""
    n = frame.height
    case = rng.random(n)
    typo = rng.random(n) < noise.name_typo
    kind = rng.integers(0, 3, size=n)
    pos = rng.random(n)
    name = pl.col(column)
    length = name.str.len_chars()
    p = (pl.col("_pos") * (length - 1).clip(lower_bound=1)).floor().cast(pl.Int64)
    left, here, nxt, rest = name.str.slice(0, p), name.str.slice(p, 1), name.str.slice(p + 1, 1), name.str.slice(p + 2)
    typoed = (
        pl.when(pl.col("_kind") == 0).then(left + nxt + rest)          # dropped letter
        .when(pl.col("_kind") == 1).then(left + nxt + here + rest)     # swapped letters
        .otherwise(left + here + here + nxt + rest)                    # doubled letter
    )
    return frame.with_columns(
        pl.Series("_case", case), pl.Series("_typo", typo), pl.Series("_kind", kind), pl.Series("_pos", pos),
    ).with_columns(
        pl.when(pl.col("_typo") & (length >= 3)).then(typoed).otherwise(name).alias("_n1"),
    ).with_columns(
        pl.when(pl.col("_case") < noise.name_case * 0.7).then(pl.col("_n1").str.to_uppercase())
        .when(pl.col("_case") < noise.name_case).then(pl.col("_n1").str.to_lowercase())
        .otherwise(pl.col("_n1")).alias(f"{column}_w"),
        pl.concat_str(
            pl.when(pl.col("_typo") & (length >= 3)).then(pl.lit("name_typo")),
            pl.when(pl.col("_case") < noise.name_case).then(pl.lit("name_case")),
            separator=",", ignore_nulls=True,
        ).alias(f"{column}_noise"),
    ).drop("_case", "_typo", "_kind", "_pos", "_n1")


def _dob_text(frame: pl.DataFrame, rng: np.random.Generator, noise: NoiseRates, *, swap_ok: pl.Expr) -> pl.DataFrame:
    """``dob_w``: date of birth as text, sometimes day/month swapped, sometimes DD/MM/YYYY."""
    n = frame.height
    dob = pl.col("dob")
    swappable = swap_ok & (dob.dt.day() <= 12) & (dob.dt.day() != dob.dt.month())
    frame = frame.with_columns(
        pl.Series("_swap", rng.random(n) < noise.dob_swap), pl.Series("_dmy", rng.random(n) < noise.dob_dmy),
    ).with_columns((pl.col("_swap") & swappable.fill_null(False)).alias("dob_swapped"))
    written = pl.when(pl.col("dob_swapped")).then(pl.date(dob.dt.year(), dob.dt.day(), dob.dt.month())).otherwise(dob)
    return frame.with_columns(
        pl.when(pl.col("_dmy")).then(written.dt.strftime("%d/%m/%Y")).otherwise(written.dt.strftime("%Y-%m-%d")).alias("dob_w"),
        (pl.col("_dmy") & dob.is_not_null()).alias("dob_dmy"),
    ).drop("_swap", "_dmy")


_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
_MULTI_TYPO_ROUNDS = 4  # up to 3 drawn edits, then one more where they undid each other


def _multi_typo(frame: pl.DataFrame, rng: np.random.Generator, rate: float, column: str) -> pl.DataFrame:
    """2–3 typos in one name (a letter dropped, replaced, inserted or swapped with the next),
    as in FEBRL's corrupted records: ``<column>_w`` is rewritten, ``<column>_multi_typo`` set.

    The edits may undo each other (a letter replaced by itself), so where the drawn edits
    leave the name less than 2 edits (Damerau–Levenshtein distance, a swap counting one)
    from what was written before, one more is made; a name still that close is left as it
    was. The first letter is kept (keyed names rarely go wrong there), and names under 4
    letters are left alone."""
    n = frame.height
    written = f"{column}_w"
    edits = np.where(rng.random(n) < rate, rng.integers(2, 4, size=n), 0)
    out = frame.with_columns(pl.Series("_mt_edits", edits), pl.col(written).alias("_mt_before")).with_columns(
        ((pl.col("_mt_edits") > 0) & (pl.col(written).str.len_chars() >= 4)).alias("_mt_on"))
    name = pl.col(written)
    for step in range(_MULTI_TYPO_ROUNDS):
        out = out.with_columns(
            pl.Series("_mt_pos", rng.random(n)), pl.Series("_mt_kind", rng.integers(0, 4, size=n)),
            pl.Series("_mt_letter", _LETTERS[rng.integers(0, _LETTERS.size, size=n)]).cast(pl.String),
        )
        if step == 3:  # the drawn edits are done: keep editing only the names still too close
            out = out.with_columns(pl.Series("_mt_close", out["_mt_on"].to_numpy() & ~_edited_apart(out, written)))
        p = (1 + pl.col("_mt_pos") * (name.str.len_chars() - 2).clip(lower_bound=1)).floor().cast(pl.Int64)
        left, here, nxt, rest = name.str.slice(0, p), name.str.slice(p, 1), name.str.slice(p + 1, 1), name.str.slice(p + 2)
        upper = name == name.str.to_uppercase()  # a name written in capitals gets a capital typo
        letter = pl.when(upper).then(pl.col("_mt_letter").str.to_uppercase()).otherwise(pl.col("_mt_letter"))
        kind = pl.col("_mt_kind")
        typoed = (
            pl.when(kind == 0).then(left + nxt + rest)                # dropped
            .when(kind == 1).then(left + letter + nxt + rest)         # replaced
            .when(kind == 2).then(left + letter + here + nxt + rest)  # inserted
            .otherwise(left + nxt + here + rest)                       # swapped with the next
        )
        apply = pl.col("_mt_on") & ((pl.col("_mt_edits") > step) if step < 3 else pl.col("_mt_close"))
        out = out.with_columns(pl.when(apply).then(typoed).otherwise(name).alias(written))
    far = out["_mt_on"].to_numpy() & _edited_apart(out, written)
    return out.with_columns(pl.Series(f"{column}_multi_typo", far)).with_columns(
        pl.when(pl.col(f"{column}_multi_typo")).then(name).otherwise(pl.col("_mt_before")).alias(written),
    ).drop("_mt_edits", "_mt_before", "_mt_on", "_mt_pos", "_mt_kind", "_mt_letter", *(["_mt_close"] if "_mt_close" in out.columns else []))


def _edited_apart(frame: pl.DataFrame, written: str) -> np.ndarray:
    """Per row of a name being typed wrongly: is ``written`` now 2 or more edits (ignoring
    case) from ``_mt_before``? Computed only for the rows being edited (``_mt_on``)."""
    todo = frame["_mt_on"].to_numpy()
    apart = np.zeros(frame.height, dtype=bool)
    if todo.any():
        before = frame["_mt_before"].str.to_lowercase().to_numpy()[todo].tolist()
        after = frame[written].str.to_lowercase().to_numpy()[todo].tolist()
        apart[np.flatnonzero(todo)] = cpdist(before, after, scorer=DamerauLevenshtein.distance) >= 2
    return apart


def _transpose_names(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """Forename and surname exchanged (``forename_w``/``surname_w``); ``name_transposed`` says where."""
    swap = pl.Series("name_transposed", rng.random(frame.height) < rate)
    return frame.with_columns(swap).with_columns(
        pl.when(pl.col("name_transposed")).then(pl.col("surname_w")).otherwise(pl.col("forename_w")).alias("forename_w"),
        pl.when(pl.col("name_transposed")).then(pl.col("forename_w")).otherwise(pl.col("surname_w")).alias("surname_w"),
    )


def _write_dob(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD`` or, where ``dob_dmy``, ``DD/MM/YYYY``, from text parts (which may be impossible)."""
    return pl.when(pl.col("dob_dmy")).then(day + pl.lit("/") + month + pl.lit("/") + year).otherwise(
        year + pl.lit("-") + month + pl.lit("-") + day)


def _dob_defects(frame: pl.DataFrame, rng: np.random.Generator, noise: NoiseRates, *, allow_empty: bool) -> pl.DataFrame:
    """Typed dates of birth gone wrong: one digit (``2014`` → ``2015``, ``03`` → ``08``; still a
    real date), or an impossible date (``2014-02-30``, ``2014-13-02``) or, where the field is
    required (``allow_empty``), none at all. Rewrites ``dob_w``; ``dob_defect`` names the class."""
    n = frame.height
    u = rng.random(n)
    part = rng.choice(3, size=n, p=[0.4, 0.3, 0.3])  # year, month, day
    shift = rng.integers(1, 10, size=n)
    invalid_kind = rng.integers(0, 3 if allow_empty else 2, size=n)  # 0 day past month end, 1 month 13–19, 2 empty
    dob = pl.col("dob")
    y, m, d = dob.dt.year(), dob.dt.month(), dob.dt.day()
    yy, mm, dd = y.cast(pl.String), m.cast(pl.String).str.zfill(2), d.cast(pl.String).str.zfill(2)
    frame = frame.with_columns(
        pl.Series("_dd_u", u), pl.Series("_dd_part", part), pl.Series("_dd_shift", shift), pl.Series("_dd_inv", invalid_kind),
    )
    # one digit changed: the last digit of the year (one up or down), month or day; a month or
    # day that would not exist falls back to the year (never 29 February, whose year must stay)
    new_year = (y // 10 * 10 + (y % 10 + pl.when(pl.col("_dd_shift") % 2 == 0).then(1).otherwise(9)) % 10).cast(pl.String)
    new_month = (m // 10 * 10 + (m % 10 + pl.col("_dd_shift")) % 10)
    new_day = (d // 10 * 10 + (d % 10 + pl.col("_dd_shift")) % 10)
    month_text = new_month.cast(pl.String).str.zfill(2)
    day_text = new_day.cast(pl.String).str.zfill(2)
    month_ok = (yy + pl.lit("-") + month_text + pl.lit("-") + dd).str.to_date("%Y-%m-%d", strict=False).is_not_null()
    day_ok = (yy + pl.lit("-") + mm + pl.lit("-") + day_text).str.to_date("%Y-%m-%d", strict=False).is_not_null()
    digit = (
        pl.when((pl.col("_dd_part") == 1) & month_ok).then(_write_dob(yy, month_text, dd))
        .when((pl.col("_dd_part") == 2) & day_ok).then(_write_dob(yy, mm, day_text))
        .otherwise(_write_dob(new_year, mm, dd))
    )
    short_month = pl.when(m == 2).then(pl.lit("30")).otherwise(pl.lit("31"))
    impossible = (
        pl.when(pl.col("_dd_inv") == 0).then(_write_dob(yy, pl.when(m.is_in([2, 4, 6, 9, 11])).then(mm).otherwise(pl.lit("02")),
                                                        pl.when(m.is_in([2, 4, 6, 9, 11])).then(short_month).otherwise(pl.lit("30"))))
        .when(pl.col("_dd_inv") == 1).then(_write_dob(yy, pl.lit("1") + (3 + pl.col("_dd_shift") % 7).cast(pl.String), dd))
        .otherwise(pl.lit(""))
    )
    has_dob = dob.is_not_null() & ~pl.col("dob_swapped")
    invalid = has_dob & (pl.col("_dd_u") < noise.dob_invalid)
    moved = has_dob & ~invalid & (pl.col("_dd_u") < noise.dob_invalid + noise.dob_digit) & ~((m == 2) & (d == 29))
    return frame.with_columns(
        pl.when(invalid).then(impossible).when(moved).then(digit).otherwise(pl.col("dob_w")).alias("dob_w"),
        pl.when(invalid).then(pl.lit("dob_invalid")).when(moved).then(pl.lit("dob_digit")).otherwise(None).alias("dob_defect"),
    ).drop("_dd_u", "_dd_part", "_dd_shift", "_dd_inv")


def _police_postcode_typo(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """One character of a police-keyed ``postcode`` wrong, still postcode-shaped: the district
    digit, the inward digit or one inward letter. ``police_postcode_typo`` says where."""
    n = frame.height
    pc = pl.col("postcode")
    outward = pc.str.split(" ").list.first()
    inward = pc.str.split(" ").list.last()
    frame = frame.with_columns(
        pl.Series("police_postcode_typo", rng.random(n) < rate), pl.Series("_pt_part", rng.integers(0, 4, size=n)),
        pl.Series("_pt_shift", rng.integers(1, 10, size=n)), pl.Series("_pt_letter", rng.integers(1, 20, size=n)),
    ).with_columns(pl.col("police_postcode_typo") & pc.is_not_null() & ~pc.str.starts_with("ZZ99"))
    last_out = outward.str.slice(-1)
    out_digit = outward.str.slice(0, outward.str.len_chars() - 1) + ((last_out.cast(pl.Int32, strict=False) + pl.col("_pt_shift")) % 10).cast(pl.String)
    in_digit = ((inward.str.slice(0, 1).cast(pl.Int32) + pl.col("_pt_shift")) % 10).cast(pl.String)
    letters = list(_INWARD_LETTERS)

    def other_letter(ch: pl.Expr) -> pl.Expr:
        idx = ch.replace_strict(letters, list(range(len(letters))), default=None, return_dtype=pl.Int64)
        return ((idx + pl.col("_pt_letter")) % len(letters)).replace_strict(
            list(range(len(letters))), letters, default=None, return_dtype=pl.String)

    typo = (
        pl.when((pl.col("_pt_part") == 0) & last_out.str.contains(r"^\d$")).then(out_digit + pl.lit(" ") + inward)
        .when(pl.col("_pt_part") == 2).then(outward + pl.lit(" ") + inward.str.slice(0, 1) + other_letter(inward.str.slice(1, 1)) + inward.str.slice(2))
        .when(pl.col("_pt_part") == 3).then(outward + pl.lit(" ") + inward.str.slice(0, 2) + other_letter(inward.str.slice(2, 1)))
        .otherwise(outward + pl.lit(" ") + in_digit + inward.str.slice(1))
    )
    return frame.with_columns(
        pl.when(pl.col("police_postcode_typo")).then(typo).otherwise(pc).alias("postcode"),
    ).drop("_pt_part", "_pt_shift", "_pt_letter")


_BAD_FIELDS = {
    "health_register": ("dob", "postcode", "gender", "gp_practice_code"),
    "school_census": ("dob", "postcode", "gender", "school_urn"),
}


def _draw_bad_field(frame: pl.DataFrame, rng: np.random.Generator, rate: float, source: str, sole: pl.Expr) -> pl.DataFrame:
    """Of the children this register alone holds (``sole``), the share ``rate`` get one field
    that breaks the landing contract on their one record, in every snapshot (drawn per child;
    :func:`_apply_bad_field` writes it). ``_bad_field`` names the field, null when clean."""
    n = frame.height
    kinds = _BAD_FIELDS[source]
    return frame.with_columns(
        pl.Series("_bf_u", rng.random(n)), pl.Series("_bf_kind", np.array(kinds)[rng.integers(0, len(kinds), size=n)]).cast(pl.String),
    ).with_columns(
        pl.when(sole & (pl.col("_bf_u") < rate)).then(pl.col("_bf_kind")).otherwise(None).alias("_bad_field"),
    ).drop("_bf_u", "_bf_kind")


def _apply_bad_field(frame: pl.DataFrame) -> pl.DataFrame:
    """An impossible date of birth (month 13), a postcode cut to its outward code, ``female``
    for the gender (``gender_w``); the practice or school code is blanked in the snapshot."""
    dob = pl.col("dob")
    impossible = _write_dob(dob.dt.year().cast(pl.String), pl.lit("13"), dob.dt.day().cast(pl.String).str.zfill(2))
    return frame.with_columns(
        pl.when(pl.col("_bad_field") == "dob").then(impossible).otherwise(pl.col("dob_w")).alias("dob_w"),
        pl.when(pl.col("_bad_field") == "postcode").then(pl.col("postcode_w").str.extract(r"^\s*([A-Za-z]+[0-9]+)", 1))
        .otherwise(pl.col("postcode_w")).alias("postcode_w"),
        pl.when(pl.col("_bad_field") == "gender").then(pl.lit("female")).otherwise(pl.col("gender")).alias("gender_w"),
    )


# ---- the population --------------------------------------------------------------------------


@dataclass(frozen=True)
class County:
    people: pl.DataFrame       # one row per person (internal int ids; see _people_truth)
    households: pl.DataFrame   # one row per household, with address indexes
    addresses: pl.DataFrame
    schools: pl.DataFrame
    practices: pl.DataFrame


def shape_probabilities(child_households: float | None = None) -> np.ndarray:
    """How likely each household shape is: England's mix (about a quarter of households
    with children) or, with ``child_households``, that share of households with children,
    each group's shapes in their usual proportions (a county of larger families for the
    memory benchmark, where the registers must hold more children per household)."""
    p = _SHAPE_P / _SHAPE_P.sum()
    if child_households is None:
        return p
    if not 0 < child_households < 1:
        raise UsageError(f"the share of households with children must be between 0 and 1 (got {child_households})")
    with_children = p[_CHILD_SHAPES].sum()
    return np.where(_CHILD_SHAPES, p * child_households / with_children, p * (1 - child_households) / (1 - with_children))


def build_county(
    seed: int, *, households: int, days: int, start_date: date, noise: NoiseRates, child_households: float | None = None,
) -> County:
    """Households, people (incl. births during the window), addresses, schools and GP practices."""
    rng = _rng(seed, "households")
    n_hh = households
    shape = rng.choice(len(SHAPES), size=n_hh, p=shape_probabilities(child_households))
    has_kids = _CHILD_SHAPES[shape]
    n_kids = np.where(has_kids, 1 + rng.choice(len(_KIDS_P), size=n_hh, p=_KIDS_P), 0)
    n_adults = _N_ADULTS[shape]
    stale = has_kids & (rng.random(n_hh) < noise.stale_register_address)
    catch_up_day = np.where(
        stale & (rng.random(n_hh) < noise.register_catch_up) & (days > 1),
        rng.integers(1, max(days, 2), size=n_hh), -1,
    )
    leave_day = np.where(
        has_kids & (rng.random(n_hh) < _LEAVE_PER_YEAR * days / 365) & (days > 1),
        rng.integers(1, max(days, 2), size=n_hh), -1,
    )
    n_stale = int(stale.sum())
    addresses = build_addresses(_rng(seed, "addresses"), n_hh + n_stale)
    reg_addr = np.arange(n_hh, dtype=np.int64)
    reg_addr[stale] = n_hh + np.arange(n_stale)

    # children: youngest age, then 1–3 year gaps upwards; twins share the youngest age
    rng = _rng(seed, "children")
    k = n_kids
    youngest = rng.random(n_hh) * np.maximum(0.3, 17.9 - 3.0 * np.maximum(k - 1, 0))
    twins_hh = (k >= 2) & (rng.random(n_hh) < _TWIN_SHARE)
    child_hh = np.repeat(np.arange(n_hh), k)
    crank = _ranks(k)
    gap = np.where(crank == 0, 0.0, 1.0 + 2.0 * rng.random(child_hh.size))
    gap = np.where((crank == 1) & twins_hh[child_hh], 0.0, gap)
    cs = np.cumsum(gap)
    starts = np.cumsum(k) - k
    group_base = np.repeat(cs[starts[k > 0]] - gap[starts[k > 0]], k[k > 0])
    age_years = np.minimum(youngest[child_hh] + cs - group_base, 17.95)
    age_days = (age_years * 365.25).astype(np.int64)
    age_days = np.where((crank == 1) & twins_hh[child_hh], np.repeat(age_days[starts[k > 0]], k[k > 0]), age_days)
    child_dob_off = -age_days - 1  # born at least a day before the first delivery
    eldest_age = np.zeros(n_hh)
    np.maximum.at(eldest_age, child_hh, age_days / 365.25)

    child_gender = np.where(rng.random(child_hh.size) < 0.5, "f", "m")
    child_gender = np.where(rng.random(child_hh.size) < 0.004, "u", child_gender)

    # births during the window join households with children
    rng_b = _rng(seed, "births")
    n_children0 = child_hh.size
    parents_hh = np.flatnonzero(np.isin(shape, [2, 3]))
    n_births = int(rng_b.poisson(n_children0 / 18 / 365 * max(days - 1, 0))) if parents_hh.size else 0
    birth_hh = parents_hh[rng_b.integers(0, parents_hh.size, size=n_births)] if n_births else np.empty(0, np.int64)
    birth_day = rng_b.integers(1, max(days, 2), size=n_births)
    birth_dob_off = birth_day - rng_b.integers(3, 22, size=n_births)
    birth_gender = np.where(rng_b.random(n_births) < 0.5, "f", "m")

    # adults
    rng = _rng(seed, "adults")
    adult_hh = np.repeat(np.arange(n_hh), n_adults)
    arank = _ranks(n_adults)
    a_shape = shape[adult_hh]
    female0 = np.where(a_shape == 0, rng.random(adult_hh.size) < 0.5, np.where(a_shape == 3, rng.random(adult_hh.size) < 0.9, True))
    adult_gender = np.where(arank == 0, np.where(female0, "f", "m"), "m")
    base_age = np.select(
        [a_shape == 0, a_shape == 1, a_shape == 5],
        [18 + 67 * rng.random(adult_hh.size), 20 + 60 * rng.random(adult_hh.size), eldest_age[adult_hh] + 42 + 18 * rng.random(adult_hh.size)],
        eldest_age[adult_hh] + 19 + 19 * rng.random(adult_hh.size),
    )
    adult_age = np.maximum(18.2, base_age + np.where(arank == 1, -3 + 11 * rng.random(adult_hh.size), 0))
    adult_dob_off = -(adult_age * 365.25).astype(np.int64)
    adult_role = np.select(
        [np.isin(a_shape, [2, 3]), (a_shape == 4) & (arank == 0), a_shape == 4, a_shape == 5],
        ["parent", "parent", "step_parent", "grandparent"], "adult",
    )

    # stack everyone: adults, children, births (uid = row number)
    n_a, n_c, n_b = adult_hh.size, child_hh.size, n_births
    people = pl.DataFrame({
        "uid": np.arange(n_a + n_c + n_b, dtype=np.int64),
        "hh": np.concatenate([adult_hh, child_hh, birth_hh]).astype(np.int64),
        "is_child": np.r_[np.zeros(n_a, bool), np.ones(n_c + n_b, bool)],
        "rank": np.concatenate([arank, crank, np.full(n_b, -1)]).astype(np.int64),
        "gender": np.concatenate([adult_gender, child_gender, birth_gender]).astype(str),
        "dob": _days(np.concatenate([adult_dob_off, child_dob_off, birth_dob_off]), start_date),
        "role": np.concatenate([adult_role, np.full(n_c + n_b, "child")]).astype(str),
        "twin": np.r_[np.zeros(n_a, bool), (crank <= 1) & twins_hh[child_hh], np.zeros(n_b, bool)],
        "added_day": np.concatenate([np.zeros(n_a + n_c, np.int64), birth_day]),
    }).with_columns(pl.col("gender").cast(pl.String), pl.col("role").cast(pl.String))
    people = _assign_names(people, shape, _rng(seed, "names"))
    people = _assign_ex_partners(people, shape, _rng(seed, "ex_partners"))

    rng = _rng(seed, "identifiers")
    n_people = people.height
    nhs = _nhs_numbers(rng, n_people).astype(str)
    people = people.with_columns(
        pl.when(pl.col("is_child")).then(pl.Series(nhs).cast(pl.String)).otherwise(None).alias("nhs_all"),
        pl.when(pl.col("is_child")).then(_upns(rng, n_people)).otherwise(None).alias("upn_all"),
        pl.Series("on_health", rng.random(n_people) < _HEALTH_COVERAGE) | (pl.col("added_day") > 0),
        pl.Series("enrol_u", rng.random(n_people)),
        pl.Series(
            "school_from_day",
            np.where((rng.random(n_people) < _LATE_ADMISSION_PER_YEAR * days / 365) & (days > 1),
                     rng.integers(1, max(days, 2), size=n_people), 0),
        ),
    )

    hh_frame = pl.DataFrame({
        "hh": np.arange(n_hh, dtype=np.int64),
        "shape": pl.Series(SHAPES).gather(shape),
        "addr": np.arange(n_hh, dtype=np.int64),
        "reg_addr": reg_addr,
        "stale": stale,
        "catch_up_day": catch_up_day,
        "leave_day": leave_day,
        "n_children": np.bincount(child_hh, minlength=n_hh) + np.bincount(birth_hh, minlength=n_hh),
    }).join(addresses.select("addr", "town_idx"), on="addr", how="left", maintain_order="left")
    schools, practices = _services(_rng(seed, "services"), n_hh, n_children0)
    return County(people=people, households=hh_frame, addresses=addresses, schools=schools, practices=practices)


def _assign_names(people: pl.DataFrame, shape: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """Forenames by gender; surnames that follow real family patterns (blended, double-barrelled)."""
    n_hh = shape.size
    n = people.height
    family = rng.choice(len(words.SURNAMES), size=n_hh, p=_zipf(len(words.SURNAMES)))
    own = rng.choice(len(words.SURNAMES), size=n_hh, p=_zipf(len(words.SURNAMES)))
    own = np.where(own == family, (own + 1) % len(words.SURNAMES), own)
    other = rng.choice(len(words.SURNAMES), size=n_hh, p=_zipf(len(words.SURNAMES)))
    other = np.where(other == own, (other + 2) % len(words.SURNAMES), other)
    u_mother = rng.random(n_hh)
    u_kids = rng.random(n_hh)
    sn = pl.Series(words.SURNAMES, dtype=pl.String)
    # mother keeps her own surname: always in blended families, 30% of couples
    mother_own = (shape == 4) | (np.isin(shape, [1, 2, 5]) & (u_mother < 0.3))
    mother_sn = np.where(mother_own, own, family)
    kids_kind = np.select(  # 0 family, 1 mother's, 2 double-barrelled mother-father, 3 other (birth father)
        [shape == 2, shape == 3, shape == 4, shape == 5],
        [np.where(u_kids < 0.85, 0, np.where(u_kids < 0.93, 1, 2)), np.where(u_kids < 0.7, 0, 3),
         np.where(u_kids < 0.8, 1, 3), np.where(u_kids < 0.6, 0, 3)],
        0,
    )
    kids_kind = np.where((kids_kind == 2) & ~mother_own, 0, kids_kind)
    hh_names = pl.DataFrame({
        "hh": np.arange(n_hh, dtype=np.int64),
        "_family": sn.gather(family), "_mother": sn.gather(mother_sn), "_other": sn.gather(other),
        "_kids_kind": kids_kind,
    }).with_columns(
        pl.when(pl.col("_kids_kind") == 0).then(pl.col("_family"))
        .when(pl.col("_kids_kind") == 1).then(pl.col("_mother"))
        .when(pl.col("_kids_kind") == 2).then(pl.col("_mother") + pl.lit("-") + pl.col("_family"))
        .otherwise(pl.col("_other")).alias("_kids"),
    )
    female = pl.Series(words.FEMALE_FORENAMES, dtype=pl.String)
    male = pl.Series(words.MALE_FORENAMES, dtype=pl.String)
    f_idx = rng.choice(len(female), size=n, p=_zipf(len(female)))
    m_idx = rng.choice(len(male), size=n, p=_zipf(len(male)))
    people = people.with_columns(
        pl.Series("_f_idx", f_idx), pl.Series("_m_idx", m_idx), pl.Series("_junior_u", rng.random(n)),
    )
    # twins: the second twin never shares the first's forename
    twin_key = pl.col("is_child") & pl.col("twin")
    first_idx = pl.when(pl.col("gender") == "f").then(pl.col("_f_idx")).otherwise(pl.col("_m_idx"))
    people = people.with_columns(
        pl.when(twin_key).then(first_idx).otherwise(None).alias("_tw_idx"),
    ).with_columns(
        pl.col("_tw_idx").filter((pl.col("rank") == 0) & twin_key).first().over("hh").alias("_tw0"),
        pl.col("gender").filter((pl.col("rank") == 0) & twin_key).first().over("hh").alias("_tw0_g"),
    ).with_columns(
        pl.when(twin_key & (pl.col("rank") == 1) & (pl.col("_tw0") == first_idx) & (pl.col("_tw0_g") == pl.col("gender")))
        .then((first_idx + 1) % pl.when(pl.col("gender") == "f").then(len(female)).otherwise(len(male)))
        .otherwise(first_idx).alias("_name_idx"),
    )
    people = people.with_columns(
        pl.when(pl.col("gender") == "f").then(female.gather(people["_name_idx"].clip(upper_bound=len(female) - 1)))
        .otherwise(male.gather(people["_name_idx"].clip(upper_bound=len(male) - 1))).alias("forename"),
    ).join(hh_names.select("hh", "_family", "_mother", "_kids"), on="hh", how="left", maintain_order="left")
    people = people.with_columns(
        pl.when(pl.col("is_child")).then(pl.col("_kids"))
        .when(pl.col("rank") == 0).then(pl.col("_mother"))
        .otherwise(pl.col("_family")).alias("surname"),
    )
    # father and son with the same name: the eldest son of a couple named after his father
    people = people.with_columns(
        pl.col("forename").filter((pl.col("rank") == 1) & ~pl.col("is_child")).first().over("hh").alias("_father"),
        pl.col("rank").filter(pl.col("is_child")).max().over("hh").alias("_eldest_rank"),
    ).with_columns(
        pl.when(
            pl.col("is_child") & (pl.col("gender") == "m") & (pl.col("rank") == pl.col("_eldest_rank"))
            & (pl.col("_junior_u") < _JUNIOR_SHARE) & pl.col("_father").is_not_null() & ~pl.col("twin")
        ).then(pl.col("_father")).otherwise(pl.col("forename")).alias("forename"),
    )
    people = people.with_columns(
        pl.when(pl.col("twin")).then(pl.lit("T") + pl.col("hh").cast(pl.String)).otherwise(None).alias("twin_group"),
    )
    return people.drop("_f_idx", "_m_idx", "_junior_u", "_tw_idx", "_tw0", "_tw0_g", "_name_idx", "_family", "_mother", "_kids", "_father", "_eldest_rank")


def _assign_ex_partners(people: pl.DataFrame, shape: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """Women on their own (single parents, single women, mothers in blended families) get an
    ex-partner living elsewhere: a man alone, or a father with children of his own now."""
    adults = people.filter(~pl.col("is_child"))
    hh_shape = pl.Series(SHAPES).gather(shape)
    adults = adults.with_columns(hh_shape.gather(adults["hh"]).alias("_shape"))
    pool_alone = adults.filter((pl.col("_shape") == "single_adult") & (pl.col("gender") == "m"))["uid"].to_numpy()
    pool_fathers = adults.filter((pl.col("_shape") == "couple_with_children") & (pl.col("rank") == 1))["uid"].to_numpy()
    needs = adults.filter(
        (pl.col("rank") == 0) & (pl.col("gender") == "f")
        & pl.col("_shape").is_in(["single_parent", "blended", "single_adult"])
    )
    n = needs.height
    if n == 0 or (pool_alone.size + pool_fathers.size) == 0:
        return people.with_columns(pl.lit(None, pl.Int64).alias("ex_uid"))
    use_father = (rng.random(n) < 0.45) & (pool_fathers.size > 0)
    use_father = use_father | (pool_alone.size == 0)
    ex = np.where(
        use_father,
        pool_fathers[rng.integers(0, max(pool_fathers.size, 1), size=n)] if pool_fathers.size else -1,
        pool_alone[rng.integers(0, max(pool_alone.size, 1), size=n)] if pool_alone.size else -1,
    )
    ex_frame = pl.DataFrame({"uid": needs["uid"], "ex_uid": ex.astype(np.int64)})
    return people.join(ex_frame, on="uid", how="left", maintain_order="left")


def _services(rng: np.random.Generator, n_hh: int, n_children: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Schools (primary and secondary per town) and GP practices, with codes and names."""
    towns = [t[0] for t in words.TOWNS]
    share = np.array([t[2] for t in words.TOWNS])
    share = share / share.sum()
    n_prim = np.maximum(1, np.round(share * n_children / 180)).astype(int)
    n_sec = np.maximum(1, np.round(share * n_children / 900)).astype(int)
    n_gp = np.maximum(1, np.round(share * n_hh / 3000)).astype(int)
    kinds = np.r_[np.zeros(n_prim.sum(), int), np.ones(n_sec.sum(), int)]
    town_of = np.r_[np.repeat(np.arange(len(towns)), n_prim), np.repeat(np.arange(len(towns)), n_sec)]
    within = np.r_[_ranks(n_prim), _ranks(n_sec)]
    urns = 120_000 + rng.choice(30_000, size=kinds.size, replace=False)
    word = np.array(words.SCHOOL_WORDS)[(within + town_of * 3) % len(words.SCHOOL_WORDS)]
    suffix = np.where(kinds == 0, " Primary School", " Academy")
    names = np.char.add(np.char.add(np.char.add(np.array(towns)[town_of], " "), word), suffix)
    names = np.where(within >= len(words.SCHOOL_WORDS), np.char.add(names, (within // len(words.SCHOOL_WORDS) + 1).astype(str)), names)
    schools = pl.DataFrame({
        "kind": np.where(kinds == 0, "primary", "secondary"), "town_idx": town_of, "within": within,
        "school_urn": urns.astype(str), "school_name": names.astype(str),
    }).with_columns(pl.col("kind").cast(pl.String), pl.col("school_urn").cast(pl.String), pl.col("school_name").cast(pl.String))
    gp_codes = rng.choice(np.arange(1, 1000), size=min(int(n_gp.sum()), 999), replace=False)
    gp_town = np.repeat(np.arange(len(towns)), n_gp)[: gp_codes.size]
    practices = pl.DataFrame({
        "town_idx": gp_town, "within": _ranks(np.bincount(gp_town, minlength=len(towns))),
        "gp_practice_code": np.char.add("D82", np.char.zfill(gp_codes.astype(str), 3)).astype(str),
        "health_visitor_team": np.char.add(np.array(towns)[gp_town], " Health Visiting Team").astype(str),
    }).with_columns(pl.col("gp_practice_code").cast(pl.String), pl.col("health_visitor_team").cast(pl.String))
    return schools, practices


# ---- registers ----------------------------------------------------------------------------


def _pick_within(rng: np.random.Generator, town_idx: pl.Series, counts: np.ndarray) -> np.ndarray:
    """A random index below the town's count, per row."""
    return (rng.random(town_idx.len()) * counts[town_idx.to_numpy()]).astype(np.int64)


def _school_year_group(day: date) -> pl.Expr:
    """The year group (0 = Reception) of a child born ``dob`` on ``day`` (31 August rule)."""
    academic = day.year if day.month >= 9 else day.year - 1
    dob = pl.col("dob")
    return pl.lit(academic) - dob.dt.year() - (dob.dt.month() >= 9).cast(pl.Int32) - 4


def _on_school_roll(day: date) -> pl.Expr:
    """Whether the school census holds the child on ``day`` (ignoring joins and leavers mid-window)."""
    year_group = _school_year_group(day)
    enrol_p = pl.when(year_group >= 12).then(0.65).otherwise(0.96)
    return year_group.is_between(0, 13) & (pl.col("enrol_u") < enrol_p)


def build_register_bases(county: County, seed: int, *, days: int, start_date: date, noise: NoiseRates) -> dict[str, pl.DataFrame]:
    """Every register record the window can hold, with its noise drawn once (it persists),
    its active days ``[_from, _to)`` and, for a family whose register catches up with its
    move, one version per address."""
    rng = _rng(seed, "registers")
    hh = county.households
    n_towns = len(words.TOWNS)
    gp_counts = np.bincount(county.practices["town_idx"].to_numpy(), minlength=n_towns)
    hh = hh.with_columns(pl.Series("_gp_within", _pick_within(rng, hh["town_idx"], np.maximum(gp_counts, 1))))
    hh = hh.join(county.practices, left_on=["town_idx", "_gp_within"], right_on=["town_idx", "within"], how="left", maintain_order="left")
    children = county.people.filter(pl.col("is_child")).join(
        hh.select("hh", "addr", "reg_addr", "catch_up_day", "leave_day", "town_idx", "gp_practice_code", "health_visitor_team"),
        on="hh", how="left", maintain_order="left",
    )
    prim_counts = np.bincount(county.schools.filter(pl.col("kind") == "primary")["town_idx"].to_numpy(), minlength=n_towns)
    sec_counts = np.bincount(county.schools.filter(pl.col("kind") == "secondary")["town_idx"].to_numpy(), minlength=n_towns)
    children = children.with_columns(
        pl.Series("_prim", _pick_within(rng, children["town_idx"], np.maximum(prim_counts, 1))),
        pl.Series("_sec", _pick_within(rng, children["town_idx"], np.maximum(sec_counts, 1))),
    )
    prim = county.schools.filter(pl.col("kind") == "primary").select(
        "town_idx", pl.col("within").alias("_prim"), pl.col("school_urn").alias("primary_urn"), pl.col("school_name").alias("primary_name"))
    sec = county.schools.filter(pl.col("kind") == "secondary").select(
        "town_idx", pl.col("within").alias("_sec"), pl.col("school_urn").alias("secondary_urn"), pl.col("school_name").alias("secondary_name"))
    children = children.join(prim, on=["town_idx", "_prim"], how="left", maintain_order="left").join(
        sec, on=["town_idx", "_sec"], how="left", maintain_order="left")

    # address versions: the registered (maybe stale) address until the register catches up
    first = children.with_columns(
        pl.col("reg_addr").alias("_addr"), pl.lit(0, pl.Int64).alias("_vfrom"),
        pl.when(pl.col("catch_up_day") >= 0).then(pl.col("catch_up_day")).otherwise(days).alias("_vto"),
    )
    second = children.filter(pl.col("catch_up_day") >= 0).with_columns(
        pl.col("addr").alias("_addr"), pl.col("catch_up_day").alias("_vfrom"), pl.lit(days, pl.Int64).alias("_vto"),
    )
    start_minus_1y = _years_before(start_date, 1)
    start_minus_17y = _years_before(start_date, 17)
    school_ever = _on_school_roll(start_date) | _on_school_roll(start_date + timedelta(days=days - 1))
    sole = {  # children whom this register alone holds during the window
        "health_register": pl.col("on_health") & ~school_ever,
        "school_census": ~pl.col("on_health") & school_ever,
    }
    out: dict[str, pl.DataFrame] = {}
    for source in _CHILD_REGISTERS:
        srng = _rng(seed, f"register-noise:{source}")
        drng = _rng(seed, f"register-defects:{source}")
        people = _draw_bad_field(children, drng, noise.register_bad_field, source, sole[source])
        people = people.filter(pl.col("on_health")) if source == "health_register" else people
        people = _name_noise(people, srng, noise, "forename")
        people = _name_noise(people, srng, noise, "surname")
        people = _dob_text(people, srng, noise, swap_ok=(pl.col("dob") < start_minus_1y) & (pl.col("dob") > start_minus_17y))
        people = _multi_typo(people, drng, noise.name_multi_typo, "forename")
        people = _multi_typo(people, drng, noise.name_multi_typo, "surname")
        people = _transpose_names(people, drng, noise.name_transposed_register)
        people = _dob_defects(people, drng, noise, allow_empty=True)
        if source == "health_register":
            spaced = srng.random(people.height) < noise.nhs_number_spaces
            nhs = pl.col("nhs_all")
            people = people.with_columns(pl.Series("nhs_spaces", spaced)).with_columns(
                pl.when(pl.col("nhs_spaces")).then(nhs.str.slice(0, 3) + " " + nhs.str.slice(3, 3) + " " + nhs.str.slice(6))
                .otherwise(nhs).alias("nhs_w"),
                nhs.alias("_key"),
            )
            from_col = pl.col("added_day")
        else:
            people = people.with_columns(pl.col("upn_all").alias("_key"), pl.lit(False).alias("nhs_spaces"))
            from_col = pl.col("school_from_day")
        uids = people.select("uid")
        versions = pl.concat([
            first.join(uids, on="uid", how="semi", maintain_order="left"),
            second.join(uids, on="uid", how="semi", maintain_order="left"),
        ]).select("uid", "_addr", "_vfrom", "_vto")
        rows = people.join(versions, on="uid", how="inner", maintain_order="left").sort("uid", "_vfrom")
        rows = rows.with_columns(
            pl.max_horizontal(from_col, pl.col("_vfrom")).alias("_from"),
            pl.min_horizontal(pl.when(pl.col("leave_day") >= 0).then(pl.col("leave_day")).otherwise(days), pl.col("_vto")).alias("_to"),
            pl.Series("_variant", (srng.random(rows.height) < noise.address_variant) * srng.integers(1, 3, size=rows.height)),
            pl.Series("_uprn_missing", srng.random(rows.height) < noise.uprn_missing_register),
            pl.Series("_sort", srng.random(rows.height)),
        ).join(county.addresses, left_on="_addr", right_on="addr", how="left", maintain_order="left")
        rows = render_address(rows, pl.col("_variant"))
        rows = _apply_bad_field(_postcode_noise(rows, srng, noise))
        rows = rows.with_columns(
            pl.when(pl.col("_uprn_missing")).then(None).otherwise(pl.col("uprn")).alias("uprn_w"),
        )
        out[source] = rows.filter(pl.col("_from") < pl.col("_to"))
    return out


def register_snapshot(base: pl.DataFrame, source: str, *, day: date, day_index: int) -> pl.DataFrame:
    """One night's full snapshot of a register: contract columns plus ``_key``, ``_uid``, ``_sort``."""
    active = base.filter(
        (pl.col("_from") <= day_index) & (pl.col("_to") > day_index)
        & (pl.col("dob") > _years_before(day, 18)) & (pl.col("dob") <= day)
    )
    common = [
        pl.col("forename_w").alias("forename"), pl.col("surname_w").alias("surname"), pl.col("dob_w").alias("dob"),
        pl.col("gender_w").alias("gender"), pl.col("address_line1"), pl.col("address_line2"), pl.col("town"),
        pl.col("postcode_w").alias("postcode"), pl.col("uprn_w").alias("uprn"),
    ]
    if source == "health_register":
        under_five = pl.col("dob") > _years_before(day, 5)
        frame = active.select(
            pl.col("nhs_w").alias("nhs_number"), *common,
            pl.when(pl.col("_bad_field") == "gp_practice_code").then(pl.lit("")).otherwise(pl.col("gp_practice_code")).alias("gp_practice_code"),
            pl.when(under_five).then(pl.col("health_visitor_team")).otherwise(None).alias("health_visitor_team"),
            pl.col("_key"), pl.col("uid").alias("_uid"), pl.col("_sort"),
        )
    else:
        enrol_p = pl.when(pl.col("_yg") >= 12).then(0.65).otherwise(0.96)
        frame = active.with_columns(_school_year_group(day).alias("_yg")).filter(
            pl.col("_yg").is_between(0, 13) & (pl.col("enrol_u") < enrol_p)
        ).select(
            pl.col("upn_all").alias("upn"), *common,
            pl.when(pl.col("_bad_field") == "school_urn").then(pl.lit(""))
            .when(pl.col("_yg") <= 6).then(pl.col("primary_urn")).otherwise(pl.col("secondary_urn")).alias("school_urn"),
            pl.when(pl.col("_yg") <= 6).then(pl.col("primary_name")).otherwise(pl.col("secondary_name")).alias("school_name"),
            pl.when(pl.col("_yg") == 0).then(pl.lit("R")).otherwise(pl.col("_yg").cast(pl.String)).alias("year_group"),
            pl.col("_key"), pl.col("uid").alias("_uid"), pl.col("_sort"),
        )
    return frame.sort("_sort")


# ---- police -----------------------------------------------------------------------------

_HOUR_W = np.array([3, 2, 2, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 5, 6, 7, 8, 8, 7, 5], dtype=float)


@dataclass(frozen=True)
class Police:
    versions: pl.DataFrame   # incident rows as written, one per (incident, delivery day), + _day, _late
    persons: pl.DataFrame    # person rows as written, one per (incident, person_ref), + _uid
    incidents: pl.DataFrame  # truth, one row per delivered incident


def _timestamp_text(col: str, local: pl.Expr) -> pl.Expr:
    """ISO 8601 with offset, or Europe/London wall-clock time without one (never for the
    ambiguous 01:xx hour, which a reader could not place)."""
    london = pl.col(col).dt.convert_time_zone(LONDON)
    return pl.when(local & (london.dt.hour() != 1)).then(london.dt.strftime("%Y-%m-%dT%H:%M:%S")).otherwise(
        london.dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    )


def build_police(county: County, seed: int, *, days: int, start_date: date, noise: NoiseRates) -> Police:
    """A year of domestic-abuse incidents before ``start_date`` plus the window's trickle,
    with updates, late re-deliveries and the people recorded on each."""
    rng = _rng(seed, "incidents")
    people = county.people
    hh = county.households
    window = 365 + days - 1
    adults = people.filter(~pl.col("is_child"))
    a0 = adults.filter(pl.col("rank") == 0).select("hh", pl.col("uid").alias("a0"), pl.col("gender").alias("g0"), pl.col("ex_uid"), pl.col("role").alias("role0"))
    a1 = adults.filter(pl.col("rank") == 1).select("hh", pl.col("uid").alias("a1"), pl.col("role").alias("role1"))
    homes = hh.select("hh", "shape", "addr").join(a0, on="hh", how="left", maintain_order="left").join(a1, on="hh", how="left", maintain_order="left")
    shape_idx = homes["shape"].replace_strict(list(SHAPES), list(range(len(SHAPES))), return_dtype=pl.Int64).to_numpy()
    p_touch = _TOUCH_PER_YEAR[shape_idx] * (homes["g0"].to_numpy() == "f") * window / 365
    touched = np.flatnonzero(rng.random(homes.height) < np.minimum(p_touch, 0.9))
    n_inc = 1 + np.minimum(rng.geometric(1 - _REPEAT_P, size=touched.size) - 1, 6)
    inc_hh = np.repeat(touched, n_inc)
    irank = _ranks(n_inc)
    gaps = np.where(irank == 0, rng.random(inc_hh.size) * window, rng.exponential(_REPEAT_GAP_DAYS, size=inc_hh.size))
    cs = np.cumsum(gaps)
    starts = np.cumsum(n_inc) - n_inc
    offset_days = cs - np.repeat(cs[starts] - gaps[starts], n_inc)
    keep = offset_days < window
    inc_hh, offset_days = inc_hh[keep], offset_days[keep]
    n = inc_hh.size
    hour = rng.choice(24, size=n, p=_HOUR_W / _HOUR_W.sum())
    seconds = (np.floor(offset_days).astype(np.int64) * 86400 + hour * 3600 + rng.integers(0, 3600, size=n))
    base = datetime(*(start_date - timedelta(days=365)).timetuple()[:3])
    reported = pl.Series("reported_at", (np.datetime64(base, "s") + seconds.astype("timedelta64[s]")).astype("datetime64[us]")).dt.replace_time_zone("UTC")
    dash1 = rng.choice(len(_DASH), size=n, p=_DASH_P)
    updated = rng.random(n) < _UPDATE_SHARE
    rise = rng.random(n) < _RISE_SHARE
    assessed = rng.choice(3, size=n, p=[0.63, 0.26, 0.11])
    dash2 = np.where(dash1 == 3, assessed, np.where(rise, np.where(dash1 == 0, np.where(rng.random(n) < 0.7, 1, 2), 2), dash1))
    dash2 = np.where(rise & (dash1 == 2), 2, dash2)
    u_child = rng.random(n)
    inc = pl.DataFrame({
        "hh": inc_hh.astype(np.int64), "reported_at": reported,
        "_upd1_s": rng.integers(300, 8 * 3600, size=n), "_upd2_s": rng.integers(86400, 25 * 86400, size=n),
        "_updated": updated,
        "dash1": pl.Series(_DASH).gather(dash1), "dash2": pl.Series(_DASH).gather(dash2),
        "_u_suspect": rng.random(n), "_u_swap": rng.random(n), "_u_loc": rng.random(n), "_u_child": u_child,
        "_u_witness": rng.random(n),
        "offence": pl.Series(words.OFFENCES).gather(rng.choice(len(words.OFFENCES), size=n, p=_zipf(len(words.OFFENCES)))),
        "_offence_missing": rng.random(n) < 0.05,
    }).sort("reported_at", "hh")
    id_base = int(rng.integers(10_000_000, 50_000_000))
    inc = inc.with_row_index("_seq").with_columns(
        (pl.lit("DA") + (pl.col("_seq").cast(pl.Int64) + id_base).cast(pl.String)).alias("incident_id"),
        (pl.col("reported_at") + pl.duration(seconds=pl.col("_upd1_s"))).alias("updated1"),
        pl.when(pl.col("_updated")).then(pl.col("reported_at") + pl.duration(seconds=pl.col("_upd2_s"))).otherwise(None).alias("updated2"),
    ).join(homes, on="hh", how="left", maintain_order="left")

    # who: victim (usually the woman of the house) and suspect (partner, or ex-partner elsewhere)
    male_pool = adults.filter(pl.col("gender") == "m")["uid"].to_numpy()
    random_male = male_pool[rng.integers(0, max(male_pool.size, 1), size=inc.height)] if male_pool.size else np.full(inc.height, -1)
    inc = inc.with_columns(pl.Series("_random_male", random_male))
    has_partner = pl.col("a1").is_not_null()
    use_ex = pl.col("ex_uid").is_not_null() & (~has_partner | ((pl.col("_u_suspect") > 0.75) & (pl.col("shape") != "grandparents")))
    swap = has_partner & (pl.col("_u_swap") < 0.15) & pl.col("shape").is_in(["couple_no_children", "couple_with_children", "blended"])
    inc = inc.with_columns(
        pl.when(swap).then(pl.col("a1")).otherwise(pl.col("a0")).alias("victim_uid"),
        pl.when(swap).then(pl.col("a0")).when(use_ex).then(pl.col("ex_uid")).when(has_partner).then(pl.col("a1"))
        .otherwise(pl.col("_random_male")).alias("suspect_uid"),
        pl.when(use_ex & ~swap).then(pl.lit("ex_partner")).when(has_partner).then(pl.lit("partner")).otherwise(pl.lit("ex_partner")).alias("suspect_rel"),
        pl.when(swap).then(pl.col("role1")).otherwise(pl.col("role0")).alias("victim_role"),
    ).filter(pl.col("suspect_uid") >= 0)
    home_of = people.select(pl.col("uid"), pl.col("hh").alias("_home"))
    inc = inc.join(home_of.rename({"uid": "suspect_uid", "_home": "suspect_hh"}), on="suspect_uid", how="left", maintain_order="left")
    inc = inc.with_columns(
        pl.when(pl.col("_u_loc") < 0.88).then(pl.col("hh"))
        .when((pl.col("_u_loc") < 0.95) & (pl.col("suspect_hh") != pl.col("hh"))).then(pl.col("suspect_hh"))
        .when(pl.col("_u_loc") < 0.95).then(pl.col("hh")).otherwise(None).alias("location_hh"),
    )
    # versions and the night each is delivered (the extract after the London day it changed)
    def deliver(col: str) -> pl.Expr:
        return ((pl.col(col).dt.convert_time_zone(LONDON).dt.date() - pl.lit(start_date)).dt.total_days() + 1).clip(lower_bound=0)

    inc = inc.with_columns(deliver("updated1").alias("_d1"), deliver("updated2").alias("_d2"))
    inc = inc.filter(pl.col("_d1") < days)
    n = inc.height
    vrng = _rng(seed, "incident-versions")
    inc = inc.with_columns(
        pl.when(pl.col("_d2") < days).then(pl.col("dash2")).otherwise(pl.col("dash1")).alias("dash_final"),
        pl.Series("_late", vrng.random(n) < noise.late_redelivery),
        pl.Series("_late_gap", vrng.integers(1, 5, size=n)),
        pl.Series("_local", vrng.random(n) < noise.local_time),
    )
    has_kids = pl.col("shape").is_in(["couple_with_children", "single_parent", "blended", "grandparents"])
    cp_u = pl.Series("_cp_u", vrng.random(n))
    inc = inc.with_columns(cp_u).with_columns(
        pl.when(has_kids).then(pl.when(pl.col("_cp_u") < 0.55).then(pl.lit("yes")).when(pl.col("_cp_u") < 0.8).then(pl.lit("no")).otherwise(pl.lit("unknown")))
        .otherwise(pl.when(pl.col("_cp_u") < 0.85).then(pl.lit("no")).otherwise(pl.lit("unknown"))).alias("children_present"),
    )
    v1 = inc.filter(pl.col("_d1") != pl.col("_d2").fill_null(-1)).select(
        "incident_id", pl.lit(1).alias("_version"), pl.col("_d1").alias("_day"), pl.col("updated1").alias("updated_at"), pl.col("dash1").alias("dash_risk"), pl.lit(False).alias("_late"))
    v2 = inc.filter(pl.col("_d2") < days).select(
        "incident_id", pl.lit(2).alias("_version"), pl.col("_d2").alias("_day"), pl.col("updated2").alias("updated_at"), pl.col("dash2").alias("dash_risk"), pl.lit(False).alias("_late"))
    late = inc.filter(pl.col("_late") & (pl.col("_d2") > pl.col("_d1")) & (pl.col("_d2") + pl.col("_late_gap") < days)).select(
        "incident_id", pl.lit(1).alias("_version"), (pl.col("_d2") + pl.col("_late_gap")).alias("_day"), pl.col("updated1").alias("updated_at"), pl.col("dash1").alias("dash_risk"), pl.lit(True).alias("_late"))
    versions = pl.concat([v1, v2, late]).with_columns(pl.col("_day").cast(pl.Int64))

    # incident location as written
    lrng = _rng(seed, "incident-addresses")
    loc = inc.select("incident_id", "location_hh", "hh", "reported_at", "children_present", "offence", "_offence_missing", "_local").join(
        hh.select(pl.col("hh").alias("_lh"), pl.col("addr").alias("_laddr")), left_on=pl.col("location_hh").fill_null(pl.col("hh")), right_on="_lh", how="left", maintain_order="left",
    ).join(county.addresses, left_on="_laddr", right_on="addr", how="left", maintain_order="left")
    m = loc.height
    loc = render_address(loc, pl.Series((lrng.random(m) < noise.address_variant) * lrng.integers(1, 3, size=m)))
    loc = _police_postcode_typo(loc, _rng(seed, "incident-address-defects"), noise.police_postcode_typo)
    loc = _postcode_noise(loc, lrng, noise)
    at_home = pl.col("location_hh").is_not_null()
    loc = loc.with_columns(
        pl.when(at_home).then(pl.col("address_line1")).otherwise(pl.col("street") + " " + pl.col("stype")).alias("address_line1"),
        pl.when(at_home).then(pl.col("address_line2")).otherwise(None).alias("address_line2"),
        pl.when(pl.Series(lrng.random(m) < 0.05)).then(None).otherwise(pl.col("postcode_w")).alias("postcode"),
        pl.when(at_home & pl.Series(lrng.random(m) >= noise.uprn_missing_police) & ~pl.col("police_postcode_typo"))
        .then(pl.col("uprn")).otherwise(None).alias("uprn"),
        pl.when(pl.col("_offence_missing")).then(None).otherwise(pl.col("offence")).alias("offence"),
    ).with_columns((pl.col("police_postcode_typo") & pl.col("postcode").is_not_null()).alias("police_postcode_typo"))
    written = versions.join(loc, on="incident_id", how="left", maintain_order="left").with_columns(
        _timestamp_text("reported_at", pl.col("_local")).alias("reported_at_w"),
        _timestamp_text("updated_at", pl.col("_local")).alias("updated_at_w"),
    ).select(
        "incident_id", pl.col("reported_at_w").alias("reported_at"), pl.col("updated_at_w").alias("updated_at"),
        "dash_risk", "children_present", "offence", "address_line1", "address_line2", "town", "postcode", "uprn",
        "_day", "_late", "_version", pl.col("updated_at").alias("_updated_utc"),
    )
    persons = _police_persons(county, inc, seed, noise)
    truth = inc.join(
        versions.filter(~pl.col("_late")).group_by("incident_id").agg(pl.col("_day").min().alias("_first"), pl.col("_day").max().alias("_last")),
        on="incident_id", how="left", maintain_order="left",
    ).join(persons.group_by("incident_id").agg((pl.col("role") == "child").sum().alias("children_recorded")), on="incident_id", how="left", maintain_order="left",
    ).join(loc.select("incident_id", "police_postcode_typo"), on="incident_id", how="left", maintain_order="left")
    return Police(versions=written, persons=persons, incidents=truth)


def _home_address_defects(rows: pl.DataFrame, inc: pl.DataFrame, n_households: int, rng: np.random.Generator, noise: NoiseRates) -> pl.DataFrame:
    """Victims and suspects of an incident at their own home: the share ``home_address_wrong``
    get another real household's address keyed as theirs (``addr`` replaced), the share
    ``home_address_blank`` none at all. ``_home_defect`` is ``wrong``, ``blank`` or null."""
    n = rows.height
    at_home = inc.select("incident_id", pl.col("location_hh").alias("_loc_hh"))
    other = (rng.integers(1, max(n_households, 2), size=n))
    rows = rows.join(at_home, on="incident_id", how="left", maintain_order="left").with_columns(
        pl.Series("_hd_u", rng.random(n)), pl.Series("_hd_other", other),
    )
    eligible = pl.col("role").is_in(["victim", "suspect"]) & (pl.col("hh") == pl.col("_loc_hh")).fill_null(False) & (n_households > 1)
    defect = (
        pl.when(eligible & (pl.col("_hd_u") < noise.home_address_wrong)).then(pl.lit("wrong"))
        .when(eligible & (pl.col("_hd_u") < noise.home_address_wrong + noise.home_address_blank)).then(pl.lit("blank"))
        .otherwise(None)
    )
    return rows.with_columns(defect.alias("_home_defect")).with_columns(
        pl.when(pl.col("_home_defect") == "wrong").then((pl.col("addr") + pl.col("_hd_other")) % n_households)
        .otherwise(pl.col("addr")).alias("addr"),
    ).drop("_loc_hh", "_hd_u", "_hd_other")


def _police_persons(county: County, inc: pl.DataFrame, seed: int, noise: NoiseRates) -> pl.DataFrame:
    """The nominals on each incident as the force writes them (nicknames, missing dobs, …)."""
    rng = _rng(seed, "police-persons")
    drng = _rng(seed, "police-person-defects")
    people = county.people
    victim = inc.select("incident_id", pl.col("victim_uid").alias("uid"), pl.lit("victim").alias("role"), pl.lit("self").alias("relationship_to_victim"))
    suspect = inc.select("incident_id", pl.col("suspect_uid").alias("uid"), pl.lit("suspect").alias("role"), pl.col("suspect_rel").alias("relationship_to_victim"))
    kids = people.filter(pl.col("is_child")).select("uid", "hh", "dob")
    p_list = pl.when(pl.col("children_present") == "yes").then(0.85).when(pl.col("children_present") == "unknown").then(0.4).otherwise(0.15)
    child_rows = inc.select("incident_id", "hh", "reported_at", "children_present", "victim_role").join(kids, on="hh", how="inner", maintain_order="left").filter(
        pl.col("dob") < pl.col("reported_at").dt.date()
    )
    child_rows = child_rows.with_columns(pl.Series("_u", rng.random(child_rows.height))).filter(pl.col("_u") < p_list).select(
        "incident_id", "uid", pl.lit("child").alias("role"),
        pl.when(pl.col("victim_role") == "step_parent").then(pl.lit("step_child"))
        .when(pl.col("victim_role") == "grandparent").then(pl.lit("other_family")).otherwise(pl.lit("child")).alias("relationship_to_victim"),
    )
    adult_uids = people.filter(~pl.col("is_child"))["uid"].to_numpy()
    w = inc.filter(pl.Series(rng.random(inc.height) < _WITNESS_SHARE))
    witness = w.select("incident_id").with_columns(
        pl.Series("uid", adult_uids[rng.integers(0, adult_uids.size, size=w.height)]),
        pl.lit("witness").alias("role"), pl.lit("other").alias("relationship_to_victim"),
    )
    rows = pl.concat([victim, suspect, child_rows, witness]).unique(["incident_id", "uid"], keep="first", maintain_order=True)
    rows = rows.join(people.select("uid", "hh", "is_child", "forename", "surname", "dob", "gender"), on="uid", how="left", maintain_order="left")
    rows = rows.join(county.households.select("hh", "addr"), on="hh", how="left", maintain_order="left")
    rows = _home_address_defects(rows, inc, county.households.height, drng, noise).join(
        county.addresses, on="addr", how="left", maintain_order="left")
    n = rows.height
    # person_ref: one per person, sometimes a second one for the same person
    n_people = people.height
    perm = rng.permutation(2 * n_people) + 1_000_000
    second = rng.random(n) < noise.second_person_ref
    uid = rows["uid"].to_numpy()
    ref_num = np.where(second, perm[n_people + uid], perm[uid])
    rows = rows.with_columns(
        (pl.lit("PN") + pl.Series(ref_num).cast(pl.String)).alias("person_ref"), pl.Series("second_ref", second),
    )
    # nicknames
    table = words.nickname_table()
    nick_rows = [(name, i, nick) for name, nicks in table.items() for i, nick in enumerate(nicks)]
    nick_frame = pl.DataFrame({"forename": [r[0] for r in nick_rows], "_ni": [r[1] for r in nick_rows], "_nick": [r[2] for r in nick_rows]},
                              schema={"forename": pl.String, "_ni": pl.Int64, "_nick": pl.String})
    counts = {name: len(nicks) for name, nicks in table.items()}
    rows = rows.with_columns(
        pl.col("forename").replace_strict(list(counts), list(counts.values()), default=0, return_dtype=pl.Int64).alias("_nc"),
        pl.Series("_nu", rng.random(n)), pl.Series("_nk", rng.integers(0, 3, size=n)),
    ).with_columns(
        pl.when((pl.col("_nc") > 0) & (pl.col("_nu") < noise.nickname)).then(pl.col("_nk") % pl.col("_nc").clip(lower_bound=1)).otherwise(None).alias("_ni"),
    ).join(nick_frame, on=["forename", "_ni"], how="left", maintain_order="left").with_columns(
        pl.col("_nick").is_not_null().alias("nickname"),
        pl.coalesce("_nick", "forename").alias("_fn"),
    )
    rows = _name_noise(rows.with_columns(pl.col("forename").alias("_true_forename"), pl.col("_fn").alias("forename")), rng, noise, "forename")
    rows = _name_noise(rows, rng, noise, "surname")
    rows = _dob_text(rows, rng, noise, swap_ok=pl.lit(True))
    rows = _multi_typo(rows, drng, noise.name_multi_typo, "forename")
    rows = _multi_typo(rows, drng, noise.name_multi_typo, "surname")
    rows = _transpose_names(rows, drng, noise.name_transposed_police)
    rows = _dob_defects(rows, drng, noise, allow_empty=False)
    dob_missing = pl.Series(rng.random(n))
    nfa = (rows["role"] == "suspect").to_numpy() & (rng.random(n) < noise.no_fixed_abode)
    addr_missing = (rows["is_child"].to_numpy() & (rng.random(n) < 0.4)) | (rng.random(n) < 0.03)
    rows = render_address(rows, pl.Series((rng.random(n) < noise.address_variant) * rng.integers(1, 3, size=n)))
    rows = _police_postcode_typo(rows, drng, noise.police_postcode_typo)
    rows = _postcode_noise(rows, rng, noise)
    rows = rows.with_columns(
        pl.Series("no_fixed_abode", nfa), pl.Series("_addr_was_missing", addr_missing & ~nfa),
    ).with_columns(
        (pl.col("_addr_was_missing") | (pl.col("_home_defect") == "blank").fill_null(False) & ~pl.col("no_fixed_abode")).alias("_addr_missing"),
        pl.Series("_uprn_missing", rng.random(n) < noise.uprn_missing_police), pl.Series("_g_missing", rng.random(n) < 0.05),
    )
    missing_dob = pl.when(pl.col("is_child")).then(dob_missing < noise.police_child_dob_missing).otherwise(dob_missing < noise.police_adult_dob_missing)
    blank = pl.col("no_fixed_abode") | pl.col("_addr_missing")
    return rows.select(
        "incident_id", "person_ref", "role", pl.col("forename_w").alias("forename"), pl.col("surname_w").alias("surname"),
        pl.when(missing_dob).then(None).otherwise(pl.col("dob_w")).alias("dob"),
        pl.when(pl.col("_g_missing") | (pl.col("gender") == "u")).then(None).otherwise(pl.col("gender")).alias("gender"),
        "relationship_to_victim",
        pl.when(pl.col("no_fixed_abode")).then(pl.lit("No fixed abode")).when(pl.col("_addr_missing")).then(None).otherwise(pl.col("address_line1")).alias("address_line1"),
        pl.when(blank).then(None).otherwise(pl.col("address_line2")).alias("address_line2"),
        pl.when(blank).then(None).otherwise(pl.col("town")).alias("town"),
        pl.when(pl.col("no_fixed_abode")).then(pl.lit(_NFA_POSTCODE)).when(pl.col("_addr_missing")).then(None).otherwise(pl.col("postcode_w")).alias("postcode"),
        pl.when(blank | pl.col("_uprn_missing") | pl.col("police_postcode_typo")).then(None).otherwise(pl.col("uprn")).alias("uprn"),
        pl.col("uid").alias("_uid"), pl.col("hh").alias("_hh"), "second_ref", "no_fixed_abode", "nickname",
        "forename_noise", "surname_noise", "dob_swapped", "dob_dmy", "postcode_typo",
        "name_transposed", "forename_multi_typo", "surname_multi_typo", "dob_defect",
        (pl.col("police_postcode_typo") & ~blank).alias("police_postcode_typo"),
        ((pl.col("_home_defect") == "wrong").fill_null(False) & ~blank).alias("home_address_wrong"),
        ((pl.col("_home_defect") == "blank").fill_null(False) & ~pl.col("no_fixed_abode") & ~pl.col("_addr_was_missing")).alias("home_address_blank"),
        pl.when(pl.col("no_fixed_abode")).then(pl.lit("no_fixed_abode")).when(pl.col("_addr_missing")).then(pl.lit("none"))
        .when(pl.col("_home_defect") == "wrong").then(pl.lit("wrong")).otherwise(pl.lit("home")).alias("address_written"),
        pl.when(blank).then(None).otherwise(pl.col("addr")).alias("_written_hh"),
    ).with_columns(
        pl.col("dob_swapped") & pl.col("dob").is_not_null(), pl.col("dob_dmy") & pl.col("dob").is_not_null(),
        pl.when(pl.col("dob").is_not_null()).then(pl.col("dob_defect")).otherwise(None).alias("dob_defect"),
    )


# ---- files ------------------------------------------------------------------------------

_INVALID_KINDS: dict[str, tuple[str, ...]] = {
    "health_register": ("bad_nhs_number", "missing_required", "bad_enum", "future_dob"),
    "school_census": ("bad_upn", "missing_required", "bad_enum", "future_dob"),
    "police_persons": ("missing_required", "bad_enum", "future_dob"),
    "police_incidents": ("missing_required", "bad_enum"),
}
_MISSABLE: dict[str, tuple[str, ...]] = {
    "health_register": ("forename", "surname", "postcode", "gp_practice_code"),
    "school_census": ("forename", "surname", "postcode", "school_urn"),
    "police_persons": ("forename", "surname"),
    "police_incidents": ("address_line1",),
}
_ENUM_COLUMN = {"health_register": "gender", "school_census": "gender", "police_persons": "role", "police_incidents": "dash_risk"}
_BAD_ENUM = {"gender": "female", "role": "offender", "dash_risk": "very high"}


def _corrupt(frame: pl.DataFrame, source: str, day: date, rng: np.random.Generator) -> pl.DataFrame:
    """Turn copies of good rows into rows that break one contract rule each; ``_reason`` says which."""
    n = frame.height
    kinds = _INVALID_KINDS[source]
    missable = _MISSABLE[source]
    kind = pl.Series("_kind", np.array(kinds)[rng.integers(0, len(kinds), size=n)]).cast(pl.String)
    miss_col = pl.Series("_miss", np.array(missable)[rng.integers(0, len(missable), size=n)]).cast(pl.String)
    frame = frame.with_columns(
        kind, miss_col, pl.Series("_shift", rng.integers(1, 10, size=n)), pl.Series("_lshift", rng.integers(1, 23, size=n)),
        pl.Series("_future", rng.integers(30, 400, size=n)),
    )
    updates = []
    for col in missable:
        updates.append(pl.when((pl.col("_kind") == "missing_required") & (pl.col("_miss") == col)).then(pl.lit("")).otherwise(pl.col(col)).alias(col))
    enum_col = _ENUM_COLUMN[source]
    if enum_col not in missable:
        updates.append(pl.when(pl.col("_kind") == "bad_enum").then(pl.lit(_BAD_ENUM[enum_col])).otherwise(pl.col(enum_col)).alias(enum_col))
    if "dob" in frame.columns and "future_dob" in kinds:
        future = (pl.lit(day) + pl.duration(days=pl.col("_future"))).dt.strftime("%Y-%m-%d")
        updates.append(pl.when(pl.col("_kind") == "future_dob").then(future).otherwise(pl.col("dob")).alias("dob"))
    if source == "health_register":
        compact = pl.col("nhs_number").str.replace_all(" ", "", literal=True)
        bad = compact.str.slice(0, 9) + ((compact.str.slice(9, 1).cast(pl.Int32) + pl.col("_shift")) % 10).cast(pl.String)
        updates.append(pl.when(pl.col("_kind") == "bad_nhs_number").then(bad).otherwise(pl.col("nhs_number")).alias("nhs_number"))
    if source == "school_census":
        alphabet = pl.Series(list(_UPN_ALPHABET))
        letter_idx = pl.col("upn").str.slice(0, 1).replace_strict(list(_UPN_ALPHABET), list(range(23)), return_dtype=pl.Int64)
        new_letter = ((letter_idx + pl.col("_lshift")) % 23).replace_strict(list(range(23)), alphabet.to_list(), return_dtype=pl.String)
        updates.append(pl.when(pl.col("_kind") == "bad_upn").then(new_letter + pl.col("upn").str.slice(1)).otherwise(pl.col("upn")).alias("upn"))
    reason = (
        pl.when(pl.col("_kind") == "missing_required").then(pl.col("_miss") + pl.lit(": required value missing"))
        .when(pl.col("_kind") == "bad_enum").then(pl.lit(f"{enum_col}: '{_BAD_ENUM[enum_col]}' is not an allowed value"))
        .when(pl.col("_kind") == "future_dob").then(pl.lit("dob: in the future"))
        .when(pl.col("_kind") == "bad_nhs_number").then(pl.lit("nhs_number: fails the Modulus 11 check"))
        .otherwise(pl.lit("upn: fails the UPN check letter"))
    )
    return frame.with_columns(updates).with_columns(reason.alias("_reason")).drop("_miss", "_shift", "_lshift", "_future")


def finish_file(frame: pl.DataFrame, source: str, day: date, rng: np.random.Generator, noise: NoiseRates) -> pl.DataFrame:
    """Add exact duplicates and invalid rows, fix the row order; ``_row`` is the 1-based data row.

    ``frame`` carries the contract columns plus ``_key``/``_uid``; the result adds ``_extra``
    (null, ``duplicate_row`` or ``invalid``), ``_kind`` and ``_reason`` for the extras.
    """
    n = frame.height
    base = frame.with_columns(
        pl.Series("_pos", np.arange(n, dtype=np.float64)), pl.lit(None, pl.String).alias("_extra"),
        pl.lit(None, pl.String).alias("_kind"), pl.lit(None, pl.String).alias("_reason"),
    )
    parts = [base]
    n_dup = int(rng.binomial(n, noise.duplicate_row)) if n else 0
    n_bad = int(rng.binomial(n, noise.invalid_row)) if n else 0
    if n_dup:
        dup = base[rng.choice(n, size=n_dup, replace=False)].with_columns(
            (pl.col("_pos") + 0.5).alias("_pos"), pl.lit("duplicate_row").alias("_extra"))
        parts.append(dup)
    if n_bad:
        bad = _corrupt(base[rng.choice(n, size=n_bad, replace=False)].drop("_kind", "_reason"), source, day, rng)
        bad = bad.with_columns(pl.Series("_pos", rng.random(n_bad) * n - 0.25), pl.lit("invalid").alias("_extra"))
        parts.append(bad.select(base.columns))
    return pl.concat(parts).sort("_pos", maintain_order=True).with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))


def _write(frame: pl.DataFrame, folder: Path, source: str, as_parquet: bool) -> str:
    out = frame.select(schemas.CONTRACT_COLUMNS[source])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{source}.parquet" if as_parquet else f"{source}.csv"
    if as_parquet:
        out.write_parquet(folder / name, statistics=False)
    else:
        out.write_csv(folder / name)
    return name


# ---- the entry point ------------------------------------------------------------------------


def _prepare_out(out: Path) -> None:
    """Create ``out``; replace an earlier synthetic county there, never anything else."""
    landing, truth = out / "landing", out / "truth"
    occupied = any(p.exists() and any(p.iterdir()) for p in (landing, truth) if p.is_dir())
    if occupied and not (out / MARKER).exists():
        raise UsageError(
            f"{out} already holds landing/ or truth/ files that hearth synth did not write; "
            "choose an empty --out folder"
        )
    for p in (landing, truth):
        if p.exists():
            shutil.rmtree(p)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by hearth synth; landing/ and truth/ here are replaced on the next run\n")


def write_synthetic_county(
    out: Path, *, households: int, days: int, seed: int, start_date: date, noise: NoiseRates = NoiseRates(),
    child_households: float | None = None,
) -> SynthSummary:
    """Write ``out/landing/<date>/<source>.csv|.parquet`` for ``days`` nights from
    ``start_date``, and the ground truth to ``out/truth/*.parquet``. Same arguments, same bytes."""
    if households < 1 or days < 1:
        raise UsageError(f"households and days must be at least 1 (got {households}, {days})")
    _prepare_out(out)
    landing, truth_dir = out / "landing", out / "truth"
    county = build_county(seed, households=households, days=days, start_date=start_date, noise=noise,
                          child_households=child_households)
    bases = build_register_bases(county, seed, days=days, start_date=start_date, noise=noise)
    police = build_police(county, seed, days=days, start_date=start_date, noise=noise)
    frng = _rng(seed, "files")
    rows_written = dict.fromkeys(schemas.SOURCES, 0)
    extras: list[pl.DataFrame] = []
    held: list[pl.DataFrame] = []
    deliveries = [start_date + timedelta(days=d) for d in range(days)]
    extra_cols = ["source", "delivery_date", "file", "_row", "_extra", "_kind", "_reason", "_key", "_uid", "_late"]
    partners = build_partner_files(
        county.people, county.households, county.addresses, county.schools, county.practices,
        police.persons.filter(pl.col("role") == "victim")["_hh"].drop_nulls().unique().sort().to_list(),
        seed=seed, start_date=start_date, deliveries=deliveries,
    )
    for d, day in enumerate(deliveries):
        folder = landing / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        # The partner files of landing contract v2 carry their own defects (synth_partners).
        for source, frame in partners.deliveries[day].items():
            _write(frame, folder, source, as_parquet=False)
            rows_written[source] += frame.height
        files: dict[str, pl.DataFrame] = {}
        incidents = police.versions.filter(pl.col("_day") == d).sort("_updated_utc", "incident_id", "_version")
        if incidents.height:
            files["police_incidents"] = incidents.with_columns(pl.col("incident_id").alias("_key"), pl.lit(None, pl.Int64).alias("_uid"))
            ids = incidents.select("incident_id").unique(maintain_order=True)
            files["police_persons"] = police.persons.join(ids, on="incident_id", how="semi", maintain_order="left").with_columns(
                (pl.col("incident_id") + pl.lit("/") + pl.col("person_ref")).alias("_key"), pl.lit(False).alias("_late"))
        if d == 0 or day.weekday() < 5:  # registers are not extracted at weekends
            for source in _CHILD_REGISTERS:
                files[source] = register_snapshot(bases[source], source, day=day, day_index=d).with_columns(pl.lit(False).alias("_late"))
        for source in schemas.SOURCES:
            if source not in files:
                continue
            done = finish_file(files[source], source, day, frng, noise)
            name = _write(done, folder, source, as_parquet=bool(frng.random() < noise.parquet_file))
            rows_written[source] += done.height
            tagged = done.with_columns(
                pl.lit(source).alias("source"), pl.lit(day).alias("delivery_date"), pl.lit(name).alias("file"),
                pl.col("_uid").cast(pl.Int64),
            )
            extras.append(tagged.filter(pl.col("_extra").is_not_null() | pl.col("_late")).select(extra_cols))
            if source in _CHILD_REGISTERS:
                held.append(tagged.filter(pl.col("_extra").is_null()).select("source", "_key", "_uid", "delivery_date"))
    truth_dir.mkdir(parents=True, exist_ok=True)
    extra = pl.concat(extras) if extras else pl.DataFrame(schema={c: pl.String for c in extra_cols})
    register_records = _truth_register_records(held)
    _write_truth(truth_dir, county, bases, police, register_records, extra, start_date, days)
    write_partner_truth(truth_dir, partners, person_uid=_person_uid)
    n_children = county.people.filter(pl.col("is_child")).height
    log.info("synthetic county: %s households, %s children, %s nights", households, n_children, days)
    return SynthSummary(
        households=households, children=n_children, deliveries=deliveries, rows_written=rows_written,
        truth_dir=truth_dir, landing_dir=landing,
    )


# ---- truth ---------------------------------------------------------------------------------


def _uid(col: str | pl.Expr, prefix: str, width: int) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.when(expr.is_null()).then(None).otherwise(pl.lit(prefix) + expr.cast(pl.String).str.zfill(width))


def _person_uid(col: str | pl.Expr) -> pl.Expr:
    return _uid(col, "P", 7)


def _household_uid(col: str | pl.Expr) -> pl.Expr:
    return _uid(col, "H", 6)


def _truth_register_records(held: list[pl.DataFrame]) -> pl.DataFrame:
    schema = {"source": pl.String, "record_key": pl.String, "person_uid": pl.String, "first_delivery": pl.Date,
              "last_delivery": pl.Date, "deliveries": pl.Int64}
    if not held:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(held).group_by("source", "_key", "_uid")
        .agg(pl.col("delivery_date").min().alias("first_delivery"), pl.col("delivery_date").max().alias("last_delivery"),
             pl.len().cast(pl.Int64).alias("deliveries"))
        .select("source", pl.col("_key").alias("record_key"), _person_uid("_uid").alias("person_uid"),
                "first_delivery", "last_delivery", "deliveries")
        .sort("source", "record_key", "person_uid")
    )


def _write_truth(
    truth_dir: Path, county: County, bases: dict[str, pl.DataFrame], police: Police,
    register_records: pl.DataFrame, extra: pl.DataFrame, start_date: date, days: int,
) -> None:
    def day_date(col: str) -> pl.Expr:
        return pl.when(pl.col(col) >= 0).then(pl.lit(start_date) + pl.duration(days=pl.col(col))).otherwise(None).cast(pl.Date)

    noise_log = _noise_log(bases, police, extra)
    defects = _record_defects(noise_log)
    held = {s: register_records.filter(pl.col("source") == s) for s in _CHILD_REGISTERS}
    people = county.people.join(county.households.select("hh", "leave_day"), on="hh", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("nhs_all").is_in(held["health_register"]["record_key"].implode())).then(pl.col("nhs_all")).otherwise(None).alias("nhs_number"),
        pl.when(pl.col("upn_all").is_in(held["school_census"]["record_key"].implode())).then(pl.col("upn_all")).otherwise(None).alias("upn"),
        pl.when(pl.col("added_day") > 0).then(day_date("added_day")).otherwise(None).alias("added_on"),
        pl.when(pl.col("is_child")).then(day_date("leave_day")).otherwise(None).alias("left_area_on"),
    ).select(
        _person_uid("uid").alias("person_uid"), _household_uid("hh").alias("household_uid"), "is_child",
        "forename", "surname", "dob", "gender", "twin_group", "nhs_number", "upn", "role",
        _person_uid("ex_uid").alias("ex_partner_uid"), "added_on", "left_area_on",
    )
    people.write_parquet(truth_dir / "people.parquet")

    addr = render_address(county.addresses, pl.lit(0)).select("addr", "address_line1", "address_line2", "town", "postcode", "uprn")
    reg = addr.rename({c: f"register_{c}" for c in addr.columns if c != "addr"})
    county.households.join(addr, on="addr", how="left", maintain_order="left").join(
        reg, left_on="reg_addr", right_on="addr", how="left", maintain_order="left",
    ).select(
        _household_uid("hh").alias("household_uid"), "shape", "n_children",
        "address_line1", "address_line2", "town", "postcode", "uprn",
        "register_address_line1", "register_address_line2", "register_town", "register_postcode", "register_uprn",
        pl.col("stale").alias("register_address_stale"), day_date("catch_up_day").alias("register_address_fixed_on"),
        day_date("leave_day").alias("left_area_on"),
    ).write_parquet(truth_dir / "households.parquet")
    register_records = pl.concat([
        _with_defects(register_records.filter(pl.col("source") == s), defects, s, pl.col("record_key"))
        for s in _CHILD_REGISTERS
    ]).sort("source", "record_key", "person_uid")
    register_records.write_parquet(truth_dir / "register_records.parquet")

    pkey = pl.col("incident_id") + pl.lit("/") + pl.col("person_ref")
    _with_defects(police.persons, defects, "police_persons", pkey).select(
        "incident_id", "person_ref", _person_uid("_uid").alias("person_uid"), _household_uid("_hh").alias("household_uid"),
        "role", "second_ref", "no_fixed_abode", "nickname", "address_written",
        _household_uid("_written_hh").alias("address_household_uid"), "defects",
    ).sort("incident_id", "person_ref").write_parquet(truth_dir / "police_persons.parquet")
    _with_defects(police.incidents, defects, "police_incidents", pl.col("incident_id")).select(
        "incident_id", "reported_at", day_date("_first").alias("first_delivery"), day_date("_last").alias("last_delivery"),
        _person_uid("victim_uid").alias("victim_uid"), _household_uid("hh").alias("victim_household_uid"),
        _person_uid("suspect_uid").alias("suspect_uid"), _household_uid("suspect_hh").alias("suspect_household_uid"),
        pl.col("suspect_rel").alias("suspect_relationship"), _household_uid("location_hh").alias("location_household_uid"),
        "children_present", pl.col("dash1").alias("dash_risk_first"), pl.col("dash_final").alias("dash_risk"),
        (pl.col("_d2") < days).fill_null(False).alias("updated_in_window"),
        pl.col("children_recorded").fill_null(0).cast(pl.Int64), "defects",
    ).sort("incident_id").write_parquet(truth_dir / "incidents.parquet")

    extra.filter(pl.col("_extra") == "invalid").select(
        "source", "delivery_date", "file", "_row", pl.col("_reason").alias("reason"), pl.col("_kind").alias("kind"),
        pl.col("_key").alias("record_key"), _person_uid("_uid").alias("person_uid"),
    ).sort("delivery_date", "source", "_row").write_parquet(truth_dir / "invalid_rows.parquet")
    noise_log.write_parquet(truth_dir / "noise.parquet")


def _defect_checks() -> list[tuple[str, str, pl.Expr]]:
    """Noise-log checks of the name defects, shared by register and police records."""
    return [
        ("name_transposed", "forename", pl.col("name_transposed")),
        ("name_transposed", "surname", pl.col("name_transposed")),
        ("name_multi_typo", "forename", pl.col("forename_multi_typo")),
        ("name_multi_typo", "surname", pl.col("surname_multi_typo")),
    ]


def _record_defects(noise_log: pl.DataFrame) -> pl.DataFrame:
    """``(source, record_key, defects)``: every record-level noise kind a delivered record
    carries, sorted, so a miss can be traced to what was wrong with the record."""
    return (
        noise_log.filter(pl.col("delivery_date").is_null())
        .group_by("source", "record_key").agg(pl.col("kind").unique().sort().alias("defects"))
    )


def _with_defects(frame: pl.DataFrame, defects: pl.DataFrame, source: str, key: pl.Expr) -> pl.DataFrame:
    """``frame`` plus a ``defects`` list column (empty for a clean record)."""
    of_source = defects.filter(pl.col("source") == source).select("record_key", "defects")
    return frame.with_columns(key.alias("_defect_key")).join(
        of_source, left_on="_defect_key", right_on="record_key", how="left", maintain_order="left",
    ).with_columns(pl.col("defects").fill_null(pl.lit([], dtype=pl.List(pl.String)))).drop("_defect_key")


def _noise_log(bases: dict[str, pl.DataFrame], police: Police, extra: pl.DataFrame) -> pl.DataFrame:
    """Every injected noise: per record (delivery_date null: the record is written so in
    every delivery that carries it) or per delivered row (duplicates, late re-deliveries)."""
    cols = ["source", "delivery_date", "file", "_row", "record_key", "person_uid", "kind", "column"]
    parts: list[pl.DataFrame] = []

    def flagged(frame: pl.DataFrame, source: str, key: pl.Expr, kind: str, column: str, cond: pl.Expr) -> pl.DataFrame:
        return frame.filter(cond).select(
            pl.lit(source).alias("source"), pl.lit(None, pl.Date).alias("delivery_date"), pl.lit(None, pl.String).alias("file"),
            pl.lit(None, pl.Int64).alias("_row"), key.alias("record_key"), _person_uid("uid").alias("person_uid"),
            pl.lit(kind).alias("kind"), pl.lit(column).alias("column"),
        )

    def good(field: str) -> pl.Expr:  # the field is not overwritten by a register_bad_field
        return (pl.col("_bad_field") != field).fill_null(True)

    for source, base in bases.items():
        key = pl.col("_key")
        checks = [
            ("name_case", "forename", pl.col("forename_noise").str.contains("name_case")),
            ("name_typo", "forename", pl.col("forename_noise").str.contains("name_typo")),
            ("name_case", "surname", pl.col("surname_noise").str.contains("name_case")),
            ("name_typo", "surname", pl.col("surname_noise").str.contains("name_typo")),
            ("dob_swap", "dob", pl.col("dob_swapped") & good("dob")), ("dob_dmy", "dob", pl.col("dob_dmy") & good("dob")),
            ("nhs_number_spaces", "nhs_number", pl.col("nhs_spaces")),
            ("postcode_typo", "postcode", pl.col("postcode_typo") & good("postcode")),
            ("postcode_format", "postcode", ~pl.col("postcode_typo") & (pl.col("postcode_w") != pl.col("postcode")) & good("postcode")),
            ("address_variant", "address_line1", pl.col("_variant") > 0),
            ("uprn_missing", "uprn", pl.col("_uprn_missing")),
            *_defect_checks(),
            ("dob_digit", "dob", (pl.col("dob_defect") == "dob_digit") & good("dob")),
            ("dob_invalid", "dob", (pl.col("dob_defect") == "dob_invalid") & good("dob")),
            *(("register_bad_field", f, pl.col("_bad_field") == f) for f in _BAD_FIELDS[source]),
        ]
        parts += [flagged(base, source, key, k, c, cond) for k, c, cond in checks]
    persons = police.persons.rename({"_uid": "uid"})
    pkey = pl.col("incident_id") + pl.lit("/") + pl.col("person_ref")
    checks = [
        ("nickname", "forename", pl.col("nickname")),
        ("name_case", "forename", pl.col("forename_noise").str.contains("name_case")),
        ("name_typo", "forename", pl.col("forename_noise").str.contains("name_typo")),
        ("name_case", "surname", pl.col("surname_noise").str.contains("name_case")),
        ("name_typo", "surname", pl.col("surname_noise").str.contains("name_typo")),
        ("dob_swap", "dob", pl.col("dob_swapped")), ("dob_dmy", "dob", pl.col("dob_dmy")),
        ("postcode_typo", "postcode", pl.col("postcode_typo") & ~pl.col("no_fixed_abode") & pl.col("postcode").is_not_null()),
        ("second_person_ref", "person_ref", pl.col("second_ref")),
        ("no_fixed_abode", "postcode", pl.col("no_fixed_abode")),
        *_defect_checks(),
        ("dob_digit", "dob", pl.col("dob_defect") == "dob_digit"),
        ("dob_invalid", "dob", pl.col("dob_defect") == "dob_invalid"),
        ("home_address_wrong", "address_line1", pl.col("home_address_wrong")),
        ("home_address_blank", "address_line1", pl.col("home_address_blank")),
        ("police_postcode_typo", "postcode", pl.col("police_postcode_typo")),
    ]
    parts += [flagged(persons, "police_persons", pkey, k, c, cond) for k, c, cond in checks]
    parts.append(flagged(
        police.incidents.with_columns(pl.lit(None, pl.Int64).alias("uid")), "police_incidents", pl.col("incident_id"),
        "police_postcode_typo", "postcode", pl.col("police_postcode_typo").fill_null(False),
    ))
    parts.append(extra.filter((pl.col("_extra") == "duplicate_row") | pl.col("_late")).select(
        "source", "delivery_date", "file", "_row", pl.col("_key").alias("record_key"), _person_uid("_uid").alias("person_uid"),
        pl.when(pl.col("_late")).then(pl.lit("late_redelivery")).otherwise(pl.lit("duplicate_row")).alias("kind"),
        pl.lit(None, pl.String).alias("column"),
    ))
    return pl.concat([p.select(cols) for p in parts]).unique(maintain_order=True).sort(
        "source", "kind", "record_key", "delivery_date", "_row", nulls_last=True, maintain_order=True)
