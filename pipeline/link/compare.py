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
    found: list[pl.DataFrame] = []
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
        pairs = lf.join(rf, on=lk).select("l", "r")
        if dedupe:
            pairs = pairs.filter(pl.col("l") < pl.col("r"))
        logger.debug("blocking pass %s: %d pairs", bp.name, pairs.height)
        found.append(pairs)
    return pl.concat(found).unique().sort("l", "r").cast(schema)  # type: ignore[arg-type]


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
    na, ya, ma, da = (x[li] for x in _date_parts(left))
    nb, yb, mb, db = (x[ri] for x in _date_parts(right))
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


def location_levels(left: pl.DataFrame, right: pl.DataFrame, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Where the two records say the person lives, as one comparison (postcode and address
    are not independent evidence, so they are not two):

    3 same UPRN, or same parsed address in the same postcode sector (survives a postcode typo);
    2 same postcode, or same house number and a similar street in the same sector, or the
      same parsed address under another postcode;
    1 same postcode sector ("NR1 3"); 0 otherwise; -1 nothing to compare.
    """
    def eq(col: str) -> tuple[np.ndarray, np.ndarray]:
        c = _code(left[col], right[col])
        a, b = c.left[li], c.right[ri]
        return (a == b) & (a != 0), (a == 0)

    sector_l = left["postcode"].str.head(-2).alias("sector")
    sector_r = right["postcode"].str.head(-2).alias("sector")
    sc = _code(sector_l, sector_r)
    same_sector = (sc.left[li] == sc.right[ri]) & (sc.left[li] != 0)
    same_uprn, _ = eq("uprn")
    same_key, _ = eq("address_key")
    same_pc, _ = eq("postcode")
    same_no, _ = eq("house_number")
    pc_missing_l = left["postcode"].is_null().to_numpy()[li] & left["uprn"].is_null().to_numpy()[li]
    pc_missing_r = right["postcode"].is_null().to_numpy()[ri] & right["uprn"].is_null().to_numpy()[ri]
    level3 = same_uprn | (same_key & same_sector)
    # Street similarity only where it can decide the level (same number and sector).
    near = np.zeros(len(li), dtype=bool)
    ask = np.flatnonzero(~level3 & ~same_pc & same_no & same_sector)
    if ask.size:
        street = _code(left["street"], right["street"])
        da, db, inverse = _distinct(street.left[li[ask]], street.right[ri[ask]], len(street.vocab))
        near[ask] = (jaro_winkler(_values(street, da), _values(street, db)) >= 0.85)[inverse]
    # The same parsed address under another postcode is a mistyped postcode far more often
    # than the same flat or house number and street name in two towns.
    return np.select(
        [level3, same_pc | near | same_key, same_sector, pc_missing_l | pc_missing_r],
        [3, 2, 1, MISSING], default=0,
    ).astype(np.int8)


def exact_levels(left: pl.Series, right: pl.Series, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """1 equal, 0 different, -1 missing (gender, the force's person_ref)."""
    c = _code(left, right)
    a, b = c.left[li], c.right[ri]
    return np.select([(a == 0) | (b == 0), a == b], [MISSING, 1], default=0).astype(np.int8)


# ---- running the comparison ----------------------------------------------------------------

# Columns a person frame must carry for comparison.
COMPARE_COLUMNS = (
    "forename_std", "forename_canon", "surname_std", "surname_meta", "dob", "postcode",
    "uprn", "address_key", "house_number", "street", "gender", "person_ref",
)
LEVEL_LABELS = ("forename", "forename_sim", "surname", "surname_sim", "names_transposed", "dob", "location", "gender")


def _columns(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, pl.Date if c == "dob" else pl.String).alias(c) for c in COMPARE_COLUMNS if c not in frame.columns]
    return frame.with_columns(missing).select(COMPARE_COLUMNS) if missing else frame.select(COMPARE_COLUMNS)


def compare_pairs(left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, *, with_person_ref: bool = False) -> pl.DataFrame:
    """Comparison levels (and name similarities) for ``pairs`` ``(l, r)``, in pair order."""
    labels = [*LEVEL_LABELS, *(["person_ref"] if with_person_ref else [])]
    if pairs.height == 0:
        return pl.DataFrame(schema={c: (pl.Float64 if c.endswith("_sim") else pl.Int8) for c in labels})
    lf, rf = _columns(left), _columns(right)
    li = pairs["l"].to_numpy().astype(np.int64)
    ri = pairs["r"].to_numpy().astype(np.int64)
    out: dict[str, np.ndarray] = {}
    for kind, col, key in (("forename", "forename_std", "forename_canon"), ("surname", "surname_std", "surname_meta")):
        out[kind], out[f"{kind}_sim"] = name_levels(
            _code(lf[col], rf[col]), _code(lf[key], rf[key]), li, ri, kind=kind
        )
    _transposed_names(lf, rf, li, ri, out)
    out["dob"] = dob_levels(lf["dob"], rf["dob"], li, ri)
    out["location"] = location_levels(lf, rf, li, ri)
    out["gender"] = exact_levels(lf["gender"], rf["gender"], li, ri)
    if with_person_ref:
        out["person_ref"] = exact_levels(lf["person_ref"], rf["person_ref"], li, ri)
    return pl.DataFrame({c: out[c] for c in labels})


def _transposed_names(
    left: pl.DataFrame, right: pl.DataFrame, li: np.ndarray, ri: np.ndarray, out: dict[str, np.ndarray]
) -> None:
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
        (side, col): frame[col].str.head(1).fill_null("").to_numpy()[idx]
        for side, frame, idx in (("l", left, li), ("r", right, ri))
        for col in ("forename_std", "surname_std")
    }
    crossed_initial = (
        (initial["l", "forename_std"] == initial["r", "surname_std"]) & (initial["l", "forename_std"] != "")
    ) | ((initial["l", "surname_std"] == initial["r", "forename_std"]) & (initial["l", "surname_std"] != ""))
    ask = np.flatnonzero(((out["forename"] <= 1) | (out["surname"] <= 1)) & crossed_initial)
    if ask.size:
        no_key = pl.Series([None] * left.height, dtype=pl.String), pl.Series([None] * right.height, dtype=pl.String)
        crossed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for kind, lcol, rcol in (("forename", "forename_std", "surname_std"), ("surname", "surname_std", "forename_std")):
            crossed[kind] = name_levels(_code(left[lcol], right[rcol]), _code(*no_key), li[ask], ri[ask], kind="surname")
        f_level, s_level = crossed["forename"][0], crossed["surname"][0]
        straight = out["forename"][ask].astype(np.int16) + out["surname"][ask]
        # Both crossed names must agree at least fuzzily, and together better than straight.
        better = (f_level >= 1) & (s_level >= 1) & (f_level.astype(np.int16) + s_level >= 3) & (
            f_level.astype(np.int16) + s_level > straight
        )
        rows = ask[better]
        for kind in ("forename", "surname"):
            out[kind][rows] = np.minimum(crossed[kind][0][better], 3)
            out[f"{kind}_sim"][rows] = crossed[kind][1][better]
        transposed[rows] = 1
    out["names_transposed"] = transposed


def person_comparer(left: pl.DataFrame, right: pl.DataFrame, *, with_person_ref: bool = False) -> Any:
    """hearth's person comparison as a recordlinkage ``Compare`` over ``left``/``right``.

    recordlinkage drives the comparison (candidate index, per-pair indexing, assembling the
    feature matrix); the feature itself is vectorised. The pandas frames recordlinkage
    indexes carry only each record's row position, so no string column is copied into
    pandas per pair: the feature maps positions back to the polars frames and compares
    codes of distinct values (:func:`compare_pairs`).
    """
    import pandas as pd
    import recordlinkage
    from recordlinkage.base import BaseCompareFeature

    labels = [*LEVEL_LABELS, *(["person_ref"] if with_person_ref else [])]

    class PersonLevels(BaseCompareFeature):
        name = "person"
        description = "hearth's person comparison (forename, surname, dob, location, gender)"

        def __init__(self) -> None:
            super().__init__("_pos", "_pos", label=labels)

        def _compute_vectorized(self, lpos: pd.Series, rpos: pd.Series) -> tuple[np.ndarray, ...]:
            pairs = pl.DataFrame({"l": lpos.to_numpy(), "r": rpos.to_numpy()})
            levels = compare_pairs(left, right, pairs, with_person_ref=with_person_ref)
            return tuple(levels[c].to_numpy() for c in labels)

    return recordlinkage.Compare(features=[PersonLevels()])


def compare_with_recordlinkage(
    left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, *, with_person_ref: bool = False
) -> pl.DataFrame:
    """Comparison levels for ``pairs`` ``(l, r)`` computed through recordlinkage, in pair order."""
    labels = [*LEVEL_LABELS, *(["person_ref"] if with_person_ref else [])]
    if pairs.height == 0:
        return compare_pairs(left, right, pairs, with_person_ref=with_person_ref)
    import pandas as pd

    comparer = person_comparer(left, right, with_person_ref=with_person_ref)
    features = comparer.compute(
        to_multiindex(pairs),
        pd.DataFrame({"_pos": np.arange(left.height, dtype=np.int64)}),
        pd.DataFrame({"_pos": np.arange(right.height, dtype=np.int64)}),
    )
    return pl.DataFrame(
        {c: features[c].to_numpy() for c in labels},
        schema={c: (pl.Float64 if c.endswith("_sim") else pl.Int8) for c in labels},
    )


def to_multiindex(pairs: pl.DataFrame) -> Any:
    """The recordlinkage candidate index (positions into the left/right pandas frames)."""
    import pandas as pd

    return pd.MultiIndex.from_arrays(
        [pairs["l"].to_numpy().astype(np.int64), pairs["r"].to_numpy().astype(np.int64)],
        names=["l", "r"],
    )
