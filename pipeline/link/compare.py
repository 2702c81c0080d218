"""Candidate pairs (blocking) and comparison levels for linkage.

Blocking is a union of several polars equi-joins, each on a different combination of keys,
so a typo in any one field (postcode, date of birth, surname) still leaves the true pair in
some pass.

Comparisons run through recordlinkage's ``Compare`` (:func:`compare_with_recordlinkage`)
with one custom feature, vectorised with numpy, polars and rapidfuzz ``process.cpdist``
instead of recordlinkage's per-pair jellyfish calls (STACK-NOTES: several times faster,
identical Jaro–Winkler scores). Each comparison returns an integer *level* per pair (``-1`` = a value
is missing, which the model treats as neutral) and, for names, the similarity behind it,
which goes into the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from pipeline.link.standardise import nickname_pair_keys

logger = logging.getLogger(__name__)

MISSING = -1


# ---- blocking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockingPass:
    """One equi-join: left columns == right columns (same order). ``name`` is for logs."""

    name: str
    left: tuple[str, ...]
    right: tuple[str, ...] | None = None

    @property
    def right_cols(self) -> tuple[str, ...]:
        return self.right or self.left


def candidate_pairs(
    left: pl.DataFrame,
    right: pl.DataFrame,
    passes: Sequence[BlockingPass],
    *,
    dedupe: bool = False,
    max_block_pairs: int = 20_000,
    explode: Sequence[str] = ("surname_part_metas",),
) -> pl.DataFrame:
    """Union of the passes as ``(l, r)`` row positions (UInt32) into ``left`` / ``right``.

    With ``dedupe`` (left and right are the same frame) only ``l < r`` is kept. A blocking
    key whose block would exceed ``max_block_pairs`` pairs is skipped with a warning: such
    keys (a hostel postcode, a placeholder date) carry no evidence and would swamp the run.
    List columns named in ``explode`` are joined element by element.
    """
    schema = {"l": pl.UInt32, "r": pl.UInt32}
    if left.height == 0 or right.height == 0:
        return pl.DataFrame(schema=schema)
    found: list[pl.Series] = []
    for bp in passes:
        lk = [f"_k{i}" for i in range(len(bp.left))]
        lf = _keyed(left, bp.left, lk, explode).rename({"_pos": "l"})
        rf = _keyed(right, bp.right_cols, lk, explode).rename({"_pos": "r"})
        sizes = (
            lf.group_by(lk).len("nl").join(rf.group_by(lk).len("nr"), on=lk)
            .filter(pl.col("nl") * pl.col("nr") > max_block_pairs)
        )
        if sizes.height:
            logger.warning(
                "blocking pass %s: %d oversized blocks skipped (largest %d pairs)",
                bp.name, sizes.height, sizes.select((pl.col("nl") * pl.col("nr")).max()).item(),
            )
            lf = lf.join(sizes.select(lk), on=lk, how="anti")
        # Each pair as one 64-bit key (l in the high half): the union of the passes is then
        # deduplicated and ordered on one integer column, the same order as by (l, r).
        pairs = lf.join(rf, on=lk).select(pair=pl.col("l").cast(pl.UInt64) * _HIGH + pl.col("r"))
        if dedupe:
            pairs = pairs.filter(pl.col("pair") // _HIGH < pl.col("pair") % _HIGH)
        logger.debug("blocking pass %s: %d pairs", bp.name, pairs.height)
        found.append(pairs["pair"])
    keys = pl.concat(found).unique().sort()
    return pl.DataFrame({"l": keys // _HIGH, "r": keys % _HIGH}).cast(schema)  # type: ignore[arg-type]


_HIGH = 1 << 32


def _keyed(frame: pl.DataFrame, cols: Sequence[str], names: list[str], explode: Sequence[str]) -> pl.DataFrame:
    out = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_pos"), *[
        pl.col(c).alias(n) for c, n in zip(cols, names, strict=True)
    ])
    for c, n in zip(cols, names, strict=True):
        if c in explode:
            # Short parts ("DE", "LA") would make huge, meaningless blocks.
            out = out.explode(n).filter(pl.col(n).str.len_chars() >= 2)
    return out.drop_nulls(names)


# ---- comparisons ---------------------------------------------------------------------------
#
# Every comparison works on integer codes, not strings: each column's values are coded once
# per record (a sorted vocabulary, 0 = missing), pairs gather the codes with numpy, and the
# string work (Jaro–Winkler, nickname and surname-part tests) runs once per *distinct* pair
# of values. A county has a few thousand forenames and street names, so two million random
# pairs (u estimation) hold far fewer distinct name pairs than pairs, and nothing is ever
# converted to pandas on this path.


def jaro_winkler(a: list[str], b: list[str]) -> np.ndarray:
    """Element-wise Jaro–Winkler similarity, vectorised in rapidfuzz."""
    if not a:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(process.cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=-1), dtype=np.float64)


@dataclass(frozen=True)
class _Coded:
    """One column of both sides coded against a shared sorted vocabulary (code 0 = missing)."""

    vocab: pl.Series   # code k ↔ vocab[k - 1]
    left: np.ndarray   # int64 code per left record
    right: np.ndarray  # int64 code per right record


def _code(left: pl.Series, right: pl.Series) -> _Coded:
    vocab = pl.concat([left.cast(pl.String), right.cast(pl.String)]).drop_nulls().unique().sort()
    index = vocab.to_frame("v").with_row_index("code", offset=1)

    def codes(values: pl.Series) -> np.ndarray:
        joined = values.cast(pl.String).to_frame("v").join(index, on="v", how="left", maintain_order="left")
        return joined["code"].fill_null(0).cast(pl.Int64).to_numpy()

    return _Coded(vocab, codes(left), codes(right))


def _distinct(ca: np.ndarray, cb: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (code a, code b) pairs and, per pair, the index of its distinct pair."""
    key = ca.astype(np.int64) * (width + 1) + cb.astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    return uniq // (width + 1), uniq % (width + 1), inverse


def _values(coded: _Coded, codes: np.ndarray) -> list[str]:
    """Strings of ``codes`` ("" for missing), as rapidfuzz wants them."""
    padded = pl.concat([pl.Series([""]), coded.vocab])
    return padded.gather(codes).to_list()


def name_levels(
    name: _Coded, key: _Coded, li: np.ndarray, ri: np.ndarray, *, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Levels for a name: 4 exact, 3 nickname / same first forename / same canonical
    (forename) or a shared part (surname), 2 Jaro–Winkler ≥ 0.92, 1 JW ≥ 0.80 (or, for
    surnames, the same phonetic key), 0 otherwise, -1 missing; and the similarity behind it.

    ``key`` is the forename's canonical name or the surname's phonetic key (a function of
    the name, so it is looked up per distinct name).
    """
    ca, cb = name.left[li], name.right[ri]
    da, db, inverse = _distinct(ca, cb, len(name.vocab))
    a, b = _values(name, da), _values(name, db)
    sim = jaro_winkler(a, b)
    # A space keyed inside a name ("LIL Y", "STROE H") is a slip, not another name; only the
    # pairs with a space can score otherwise without it.
    spaced = np.flatnonzero([" " in x or " " in y for x, y in zip(a, b, strict=True)])
    if spaced.size:
        sim[spaced] = np.maximum(sim[spaced], jaro_winkler(
            [a[i].replace(" ", "") for i in spaced], [b[i].replace(" ", "") for i in spaced]))
    # key code of each vocabulary entry, looked up from whichever side carried the name
    key_of = np.zeros(len(name.vocab) + 1, dtype=np.int64)
    key_of[name.left] = key.left
    key_of[name.right] = key.right
    key_of[0] = 0
    ka, kb = key_of[da], key_of[db]
    same_key = (ka == kb) & (ka != 0)
    frame = pl.DataFrame({"a": a, "b": b})
    if kind == "forename":
        pair_key = pl.concat_str(pl.min_horizontal("a", "b"), pl.lit("|"), pl.max_horizontal("a", "b"))
        first = frame.select(pl.col("a").str.split(" ").list.first() == pl.col("b").str.split(" ").list.first()).to_series()
        nick = frame.select(pair_key.is_in(_nickname_keys().implode())).to_series()
        second = (nick | first).to_numpy() | same_key
        fuzzy_extra = np.zeros(len(a), dtype=bool)
    else:
        # A hyphenated or double-barrelled surname shares a part with either half.
        second = frame.select(
            pl.col("a").str.replace_all("-", " ").str.split(" ")
            .list.set_intersection(pl.col("b").str.replace_all("-", " ").str.split(" "))
            .list.eval(pl.element().filter(pl.element().str.len_chars() >= 2))
            .list.len() > 0
        ).to_series().to_numpy()
        fuzzy_extra = same_key
    missing = (da == 0) | (db == 0)
    level = np.select(
        [missing, da == db, second, sim >= 0.92, (sim >= 0.80) | fuzzy_extra],
        [MISSING, 4, 3, 2, 1],
        default=0,
    ).astype(np.int8)
    sim = np.where(missing, np.nan, sim)
    return level[inverse], sim[inverse]


@lru_cache(maxsize=1)
def _nickname_keys() -> pl.Series:
    return pl.Series(sorted(nickname_pair_keys()), dtype=pl.String)


def _date_parts(values: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(day number, year, month, day) per record; day number is missing as -2**31."""
    dates = values.cast(pl.Date)
    frame = pl.DataFrame({"d": dates}).select(
        n=pl.col("d").cast(pl.Int32).fill_null(np.iinfo(np.int32).min),
        y=pl.col("d").dt.year().fill_null(0), m=pl.col("d").dt.month().fill_null(0), dd=pl.col("d").dt.day().fill_null(0),
    )
    return tuple(frame[c].to_numpy().astype(np.int32) for c in ("n", "y", "m", "dd"))  # type: ignore[return-value]


def dob_levels(left: pl.Series, right: pl.Series, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """4 exact, 3 day and month swapped, 2 one digit mistyped (YYYYMMDD differs in one
    place), 1 two of day/month/year agree, 0 otherwise, -1 missing.

    A single mistyped digit (2014 for 2015, 03 for 08) is a typing error and much rarer
    between two random children than sharing two of day, month and year, which every
    child born on one date of another year does; the two are separate levels so the model
    can weigh each as what it is."""
    return _dob_levels(_date_parts(left), _date_parts(right), li, ri)


_DateParts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _dob_levels(left: _DateParts, right: _DateParts, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    na, ya, ma, da = (x[li] for x in left)
    nb, yb, mb, db = (x[ri] for x in right)
    missing = (na == np.iinfo(np.int32).min) | (nb == np.iinfo(np.int32).min)
    swapped = (ya == yb) & (da == mb) & (ma == db)
    digits = np.zeros(len(li), dtype=np.int8)
    for a, b, width in ((ya, yb, 4), (ma, mb, 2), (da, db, 2)):
        for k in range(width):
            digits += ((a // 10**k) % 10 != (b // 10**k) % 10).astype(np.int8)
    close = ((ya == yb).astype(np.int8) + (ma == mb) + (da == db)) >= 2
    return np.select(
        [missing, na == nb, swapped, digits == 1, close], [MISSING, 4, 3, 2, 1], default=0
    ).astype(np.int8)


def _squeezed(values: pl.Series) -> pl.Series:
    """Upper case letters and digits only: a space typed inside a word ("TARQ UA", "OSBURNDRIVE")
    is the commonest keying slip in a place name and says nothing about the place."""
    return values.cast(pl.String).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "").replace("", None)


def _similar(coded: _Coded, li: np.ndarray, ri: np.ndarray, threshold: float) -> np.ndarray:
    """Jaro–Winkler ≥ ``threshold`` between the two records' values (False where one is missing),
    computed once per distinct pair of values."""
    ca, cb = coded.left[li], coded.right[ri]
    out = np.zeros(len(li), dtype=bool)
    ask = np.flatnonzero((ca != 0) & (cb != 0))
    if ask.size:
        da, db, inverse = _distinct(ca[ask], cb[ask], len(coded.vocab))
        out[ask] = (jaro_winkler(_values(coded, da), _values(coded, db)) >= threshold)[inverse]
    return out


def locality_agrees(sides: CodedSides, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """1 where the second address line or the town agree (Jaro–Winkler ≥ 0.9 on letters and
    digits), 0 where one of them can be compared and neither agrees, -1 where neither can."""
    agree = np.zeros(len(li), dtype=bool)
    comparable = np.zeros(len(li), dtype=bool)
    for coded in (sides.address_line2, sides.town):
        comparable |= (coded.left[li] != 0) & (coded.right[ri] != 0)
        agree |= _similar(coded, li, ri, 0.9)
    return np.select([agree, comparable], [1, 0], default=MISSING).astype(np.int8)


# Location levels: how closely the address agrees (rows) and whether the locality (second
# address line or town) agrees as well (columns).
LOCATION_LEVELS = {
    "same_address": (9, 8), "same_postcode_or_street": (7, 6), "same_street_elsewhere": (5, 4),
    "same_sector": (3, 2), "nothing": (1, 0),
}


def location_levels(sides: CodedSides, li: np.ndarray, ri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the two records say the person lives, as *one* comparison: postcode, address and
    locality are not independent evidence (two children of one house agree on all three), so
    their joint agreement is one set of levels whose u is estimated jointly from random pairs.

    The address part, strongest first: the same UPRN, or the same parsed address in the same
    postcode sector (survives a postcode typo); the same postcode, or the same house number and
    a similar street in the sector, or the same parsed address under another postcode; the same
    house number and a similar street anywhere (a postcode typo that moved the sector, with a
    typo in the street); the same sector; nothing. Each is split by whether the locality (the
    second address line or the town) agrees too (:data:`LOCATION_LEVELS`): where localities
    are fine-grained the estimated u makes that strong evidence; where every record names the
    same town it makes it worthless. -1: no postcode, UPRN or locality to compare.

    Returns ``(level, locality)``; ``locality`` is :func:`locality_agrees`, for the audit trail.
    """
    def eq(c: _Coded) -> np.ndarray:
        a, b = c.left[li], c.right[ri]
        return (a == b) & (a != 0)

    same_sector = eq(sides.sector)
    same_uprn = eq(sides.uprn)
    same_key = eq(sides.address_key)
    same_pc = eq(sides.postcode)
    same_no = eq(sides.house_number)
    pc_missing_l = sides.no_postcode_left[li]
    pc_missing_r = sides.no_postcode_right[ri]
    level3 = same_uprn | (same_key & same_sector)
    # Street similarity only where it can decide the level (same house number).
    near = np.zeros(len(li), dtype=bool)
    ask = np.flatnonzero(~level3 & ~same_pc & same_no)
    if ask.size:
        near[ask] = _similar(sides.street, li[ask], ri[ask], 0.85)
    # The same parsed address under another postcode is a mistyped postcode far more often
    # than the same flat or house number and street name in two towns.
    level2 = same_pc | (near & same_sector) | same_key
    locality = locality_agrees(sides, li, ri)
    with_locality = locality == 1
    address = np.select(
        [level3, level2, near, same_sector], [0, 1, 2, 3], default=4,
    )
    table = np.asarray(list(LOCATION_LEVELS.values()), dtype=np.int8)
    level = np.where(with_locality, table[address, 0], table[address, 1])
    nothing_to_compare = (pc_missing_l | pc_missing_r) & (address == 4) & (locality == MISSING)
    return np.where(nothing_to_compare, MISSING, level).astype(np.int8), locality


def exact_levels(c: _Coded, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """1 equal, 0 different, -1 missing (gender, the force's person_ref)."""
    a, b = c.left[li], c.right[ri]
    return np.select([(a == 0) | (b == 0), a == b], [MISSING, 1], default=0).astype(np.int8)


# ---- running the comparison ----------------------------------------------------------------

# Columns a person frame must carry for comparison.
COMPARE_COLUMNS = (
    "forename_std", "forename_canon", "surname_std", "surname_meta", "dob", "postcode",
    "uprn", "address_key", "house_number", "street", "address_line2", "town", "gender", "person_ref",
)
LEVEL_LABELS = (
    "forename", "forename_sim", "surname", "surname_sim", "names_transposed", "dob", "location", "locality", "gender",
)


def _columns(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, pl.Date if c == "dob" else pl.String).alias(c) for c in COMPARE_COLUMNS if c not in frame.columns]
    return frame.with_columns(missing).select(COMPARE_COLUMNS) if missing else frame.select(COMPARE_COLUMNS)


@dataclass(frozen=True)
class CodedSides:
    """Every column the comparison reads, coded once for one left and one right frame.

    A pair's levels read only these codes, so a model's candidate pairs and its two million
    random pairs, compared in slices, share one coding of the two frames: coding them again
    for every slice was a fifth of the initial night's comparison time."""

    forename: _Coded
    forename_key: _Coded
    surname: _Coded
    surname_key: _Coded
    # Forename against the other side's surname and back, for exchanged names.
    forename_surname: _Coded
    surname_forename: _Coded
    no_key: _Coded
    # ("l" | "r", column) -> the first letter's code point per record (0: no name)
    initials: dict[tuple[str, str], np.ndarray]
    dob_left: _DateParts
    dob_right: _DateParts
    sector: _Coded
    uprn: _Coded
    address_key: _Coded
    postcode: _Coded
    house_number: _Coded
    street: _Coded
    address_line2: _Coded
    town: _Coded
    no_postcode_left: np.ndarray   # neither postcode nor UPRN
    no_postcode_right: np.ndarray
    gender: _Coded
    person_ref: _Coded | None


def code_sides(left: pl.DataFrame, right: pl.DataFrame, *, with_person_ref: bool = False) -> CodedSides:
    """:class:`CodedSides` of two person frames (``COMPARE_COLUMNS``; absent ones as missing)."""
    lf, rf = _columns(left), _columns(right)

    def coded(col: str, transform: Any = None) -> _Coded:
        a, b = lf[col], rf[col]
        return _code(transform(a), transform(b)) if transform else _code(a, b)

    def no_postcode(frame: pl.DataFrame) -> np.ndarray:
        return frame["postcode"].is_null().to_numpy() & frame["uprn"].is_null().to_numpy()

    return CodedSides(
        forename=coded("forename_std"), forename_key=coded("forename_canon"),
        surname=coded("surname_std"), surname_key=coded("surname_meta"),
        forename_surname=_code(lf["forename_std"], rf["surname_std"]),
        surname_forename=_code(lf["surname_std"], rf["forename_std"]),
        no_key=_code(*(pl.repeat(None, f.height, dtype=pl.String, eager=True) for f in (lf, rf))),
        initials={
            (side, col): frame[col].str.head(1).fill_null("").to_numpy().astype("U1").view(np.uint32)
            for side, frame in (("l", lf), ("r", rf)) for col in ("forename_std", "surname_std")
        },
        dob_left=_date_parts(lf["dob"]), dob_right=_date_parts(rf["dob"]),
        sector=_code(lf["postcode"].str.head(-2).alias("sector"), rf["postcode"].str.head(-2).alias("sector")),
        uprn=coded("uprn"), address_key=coded("address_key"), postcode=coded("postcode"),
        house_number=coded("house_number"), street=coded("street", _squeezed),
        address_line2=coded("address_line2", _squeezed), town=coded("town", _squeezed),
        no_postcode_left=no_postcode(lf), no_postcode_right=no_postcode(rf),
        gender=coded("gender"), person_ref=coded("person_ref") if with_person_ref else None,
    )


def compare_pairs(
    left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, *, with_person_ref: bool = False,
    sides: CodedSides | None = None,
) -> pl.DataFrame:
    """Comparison levels (and name similarities) for ``pairs`` ``(l, r)``, in pair order.
    ``sides``: the two frames already coded (:func:`code_sides`), for many calls over them."""
    labels = [*LEVEL_LABELS, *(["person_ref"] if with_person_ref else [])]
    if pairs.height == 0:
        return pl.DataFrame(schema={c: (pl.Float64 if c.endswith("_sim") else pl.Int8) for c in labels})
    if sides is None or (with_person_ref and sides.person_ref is None):
        sides = code_sides(left, right, with_person_ref=with_person_ref)
    li = pairs["l"].to_numpy().astype(np.int64)
    ri = pairs["r"].to_numpy().astype(np.int64)
    out: dict[str, np.ndarray] = {}
    for kind, name, key in (("forename", sides.forename, sides.forename_key), ("surname", sides.surname, sides.surname_key)):
        out[kind], out[f"{kind}_sim"] = name_levels(name, key, li, ri, kind=kind)
    _transposed_names(sides, li, ri, out)
    out["dob"] = _dob_levels(sides.dob_left, sides.dob_right, li, ri)
    out["location"], out["locality"] = location_levels(sides, li, ri)
    out["gender"] = exact_levels(sides.gender, li, ri)
    if with_person_ref:
        assert sides.person_ref is not None
        out["person_ref"] = exact_levels(sides.person_ref, li, ri)
    return pl.DataFrame({c: out[c] for c in labels})


def _transposed_names(sides: CodedSides, li: np.ndarray, ri: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """Compare forename × surname crossed, and keep the crossed levels where they explain the
    pair better (``names_transposed`` = 1).

    Registers and police systems exchange the two fields often enough (a form filled in
    surname-first, a foreign naming order) that a straight comparison calls the same child
    two strangers. Crossed agreement counts at most as a nickname (level 3), never as an exact
    name, and is asked for only where the straight comparison disagrees (level ≤ 1 on either
    name), so it never weakens a pair that already agrees.
    """
    transposed = np.zeros(len(li), dtype=np.int8)
    # Only where one name's first letter reappears at the start of the other side's other
    # name: most pairs (two million random ones among them, for u) disagree on names, and
    # comparing all of them crossed cost more than the rest of the name comparison.
    initial = {
        (side, col): sides.initials[side, col][idx]
        for side, idx in (("l", li), ("r", ri))
        for col in ("forename_std", "surname_std")
    }
    crossed_initial = (
        (initial["l", "forename_std"] == initial["r", "surname_std"]) & (initial["l", "forename_std"] != 0)
    ) | ((initial["l", "surname_std"] == initial["r", "forename_std"]) & (initial["l", "surname_std"] != 0))
    ask = np.flatnonzero(((out["forename"] <= 1) | (out["surname"] <= 1)) & crossed_initial)
    if ask.size:
        crossed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for kind, coded in (("forename", sides.forename_surname), ("surname", sides.surname_forename)):
            crossed[kind] = name_levels(coded, sides.no_key, li[ask], ri[ask], kind="surname")
        f_level, s_level = crossed["forename"][0], crossed["surname"][0]
        straight = out["forename"][ask].astype(np.int16) + out["surname"][ask]
        # Both crossed names must agree at least fuzzily, or one exactly (names exchanged and
        # then one of them re-keyed), and together better than straight.
        crossed_sum = f_level.astype(np.int16) + s_level
        better = (((f_level >= 1) & (s_level >= 1) & (crossed_sum >= 3)) | (np.maximum(f_level, s_level) == 4)) & (
            crossed_sum > straight
        )
        rows = ask[better]
        for kind in ("forename", "surname"):
            out[kind][rows] = np.minimum(crossed[kind][0][better], 3)
            out[f"{kind}_sim"][rows] = crossed[kind][1][better]
        transposed[rows] = 1
    out["names_transposed"] = transposed


def person_comparer(
    left: pl.DataFrame, right: pl.DataFrame, *, with_person_ref: bool = False, sides: CodedSides | None = None
) -> Any:
    """hearth's person comparison as a recordlinkage ``Compare`` over ``left``/``right``.

    recordlinkage drives the comparison (candidate index, per-pair indexing, assembling the
    feature matrix); the feature itself is vectorised. The pandas frames recordlinkage
    indexes carry only each record's row position, so no string column is copied into
    pandas per pair: the feature maps positions back to the polars frames and compares
    codes of distinct values (:func:`compare_pairs`), coded once per comparer (``sides``, or
    coded here) however many candidate indexes it computes.
    """
    import pandas as pd
    import recordlinkage
    from recordlinkage.base import BaseCompareFeature

    labels = [*LEVEL_LABELS, *(["person_ref"] if with_person_ref else [])]
    coded = sides if sides is not None else code_sides(left, right, with_person_ref=with_person_ref)

    class PersonLevels(BaseCompareFeature):
        name = "person"
        description = "hearth's person comparison (forename, surname, dob, location, gender)"

        def __init__(self) -> None:
            super().__init__("_pos", "_pos", label=labels)

        def _compute_vectorized(self, lpos: pd.Series, rpos: pd.Series) -> tuple[np.ndarray, ...]:
            pairs = pl.DataFrame({"l": lpos.to_numpy(), "r": rpos.to_numpy()})
            levels = compare_pairs(left, right, pairs, with_person_ref=with_person_ref, sides=coded)
            return tuple(levels[c].to_numpy() for c in labels)

    return recordlinkage.Compare(features=[PersonLevels()])


def compare_with_recordlinkage(
    left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, *, with_person_ref: bool = False,
    slice_size: int | None = None, sides: CodedSides | None = None,
) -> pl.DataFrame:
    """Comparison levels for ``pairs`` ``(l, r)`` computed through recordlinkage, in pair order;
    with ``slice_size``, that many pairs per candidate index (a pair's levels depend on its two
    records only, so slices give the same levels as one call, with smaller intermediates)."""
    labels = [*LEVEL_LABELS, *(["person_ref"] if with_person_ref else [])]
    schema = {c: (pl.Float64 if c.endswith("_sim") else pl.Int8) for c in labels}
    if pairs.height == 0:
        return compare_pairs(left, right, pairs, with_person_ref=with_person_ref)
    import pandas as pd

    comparer = person_comparer(left, right, with_person_ref=with_person_ref, sides=sides)
    lpos = pd.DataFrame({"_pos": np.arange(left.height, dtype=np.int64)})
    rpos = pd.DataFrame({"_pos": np.arange(right.height, dtype=np.int64)})
    parts = []
    for part in (pairs.iter_slices(slice_size) if slice_size else [pairs]):
        features = comparer.compute(to_multiindex(part), lpos, rpos)
        parts.append(pl.DataFrame({c: features[c].to_numpy() for c in labels}, schema=schema))
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def to_multiindex(pairs: pl.DataFrame) -> Any:
    """The recordlinkage candidate index (positions into the left/right pandas frames)."""
    import pandas as pd

    return pd.MultiIndex.from_arrays(
        [pairs["l"].to_numpy().astype(np.int64), pairs["r"].to_numpy().astype(np.int64)],
        names=["l", "r"],
    )
