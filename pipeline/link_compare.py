"""Candidate pairs (blocking) and comparison levels for linkage.

Blocking is a union of several polars equi-joins, each on a different combination of keys,
so a typo in any one field (postcode, date of birth, surname) still leaves the true pair in
some pass. The result becomes the ``pd.MultiIndex`` that recordlinkage's ``Compare`` takes.

Comparisons are recordlinkage ``BaseCompareFeature`` subclasses whose vectorised bodies use
rapidfuzz ``process.cpdist`` and polars instead of recordlinkage's per-pair jellyfish calls
(STACK-NOTES: several times faster, identical Jaro–Winkler scores). Each feature returns an
integer *level* per pair (``-1`` = a value is missing, which the model treats as neutral)
and, for names, the similarity behind it, which goes into the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
import recordlinkage
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler
from recordlinkage.base import BaseCompareFeature

from pipeline.standardise import nickname_pair_keys

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


def to_multiindex(pairs: pl.DataFrame) -> pd.MultiIndex:
    """The recordlinkage candidate index (positions into the left/right pandas frames)."""
    return pd.MultiIndex.from_arrays(
        [pairs["l"].to_numpy().astype(np.int64), pairs["r"].to_numpy().astype(np.int64)],
        names=["l", "r"],
    )


# ---- comparison features -------------------------------------------------------------------


def _strings(values: pd.Series) -> tuple[list[str], np.ndarray]:
    """Values as strings ("" for missing) plus a missing mask."""
    missing = values.isna().to_numpy()
    return values.fillna("").astype(str).tolist(), missing


def _polars_strings(values: pd.Series, name: str) -> pl.Series:
    """A pandas object column as a polars String series (None for missing)."""
    return pl.from_pandas(values.astype(object)).cast(pl.String).alias(name)


def jaro_winkler(a: list[str], b: list[str]) -> np.ndarray:
    """Element-wise Jaro–Winkler similarity, vectorised in rapidfuzz."""
    if not a:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(process.cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=-1), dtype=np.float64)


class NameLevels(BaseCompareFeature):
    """Levels for a name: 4 exact, 3 nickname (forename) / shared part (surname),
    2 Jaro–Winkler ≥ 0.92, 1 JW ≥ 0.80 (or same phonetic key), 0 otherwise.

    Left/right labels: (folded name, canonical forename or phonetic key).
    """

    name = "name"
    description = "multi-level name comparison"

    def __init__(self, left_on: tuple[str, str], right_on: tuple[str, str], *, kind: str, label: str) -> None:
        super().__init__(list(left_on), list(right_on), label=(label, f"{label}_sim"))
        self.kind = kind

    def _compute_vectorized(self, l_name: pd.Series, l_key: pd.Series, r_name: pd.Series, r_key: pd.Series) -> tuple[pd.Series, pd.Series]:
        a, miss_a = _strings(l_name)
        b, miss_b = _strings(r_name)
        sim = jaro_winkler(a, b)
        frame = pl.DataFrame({"a": a, "b": b, "ka": l_key.fillna("").astype(str).tolist(), "kb": r_key.fillna("").astype(str).tolist()})
        same_key = (frame["ka"] == frame["kb"]) & (frame["ka"] != "")
        if self.kind == "forename":
            lo = pl.min_horizontal("a", "b")
            hi = pl.max_horizontal("a", "b")
            first_a = pl.col("a").str.split(" ").list.first()
            first_b = pl.col("b").str.split(" ").list.first()
            nick = frame.select(
                pl.concat_str(lo, pl.lit("|"), hi).is_in(list(nickname_pair_keys()))
                | (first_a == first_b)
            ).to_series()
            second = (nick | same_key).to_numpy()
            fuzzy_extra = np.zeros(len(a), dtype=bool)
        else:
            # A hyphenated or double-barrelled surname shares a part with either half.
            second = frame.select(
                pl.col("a").str.replace_all("-", " ").str.split(" ")
                .list.set_intersection(pl.col("b").str.replace_all("-", " ").str.split(" "))
                .list.eval(pl.element().filter(pl.element().str.len_chars() >= 2))
                .list.len() > 0
            ).to_series().to_numpy()
            fuzzy_extra = same_key.to_numpy()
        exact = np.asarray(a, dtype=object) == np.asarray(b, dtype=object)
        level = np.select(
            [miss_a | miss_b, exact, second, sim >= 0.92, (sim >= 0.80) | fuzzy_extra],
            [MISSING, 4, 3, 2, 1],
            default=0,
        ).astype(np.int8)
        sim = np.where(miss_a | miss_b, np.nan, sim)
        return pd.Series(level), pd.Series(sim)


class DobLevels(BaseCompareFeature):
    """3 exact, 2 day and month swapped, 1 one of day/month/year differs, 0 otherwise."""

    name = "dob"
    description = "date of birth with day–month swap"

    def __init__(self, left_on: str, right_on: str, label: str = "dob") -> None:
        super().__init__(left_on, right_on, label=label)

    def _compute_vectorized(self, a: pd.Series, b: pd.Series) -> pd.Series:
        frame = pl.DataFrame({"a": pl.Series(a.to_numpy()).cast(pl.Date), "b": pl.Series(b.to_numpy()).cast(pl.Date)})
        y = pl.col("a").dt.year() == pl.col("b").dt.year()
        m = pl.col("a").dt.month() == pl.col("b").dt.month()
        d = pl.col("a").dt.day() == pl.col("b").dt.day()
        swapped = y & (pl.col("a").dt.day() == pl.col("b").dt.month()) & (pl.col("a").dt.month() == pl.col("b").dt.day())
        level = frame.select(
            pl.when(pl.col("a").is_null() | pl.col("b").is_null()).then(MISSING)
            .when(pl.col("a") == pl.col("b")).then(3)
            .when(swapped).then(2)
            .when(y.cast(pl.Int8) + m.cast(pl.Int8) + d.cast(pl.Int8) >= 2).then(1)
            .otherwise(0)
            .cast(pl.Int8)
        ).to_series()
        return pd.Series(level.to_numpy())


class LocationLevels(BaseCompareFeature):
    """Where the two records say the person lives, as one comparison (postcode and address
    are not independent evidence, so they are not two):

    3 same UPRN, or same parsed address in the same postcode sector (survives a postcode typo);
    2 same postcode, or same house number and a similar street in the same sector;
    1 same postcode sector ("NR1 3"); 0 otherwise; -1 nothing to compare.
    Labels on each side: (uprn, address_key, postcode, house_number, street).
    """

    name = "location"
    description = "UPRN / parsed address / postcode"

    def __init__(self, left_on: Sequence[str], right_on: Sequence[str], label: str = "location") -> None:
        super().__init__(list(left_on), list(right_on), label=label)

    def _compute_vectorized(self, ua: pd.Series, ka: pd.Series, pa: pd.Series, na: pd.Series, sa: pd.Series,
                            ub: pd.Series, kb: pd.Series, pb: pd.Series, nb: pd.Series, sb: pd.Series) -> pd.Series:
        frame = pl.DataFrame([
            _polars_strings(v, n) for v, n in
            ((ua, "ua"), (ub, "ub"), (ka, "ka"), (kb, "kb"), (pa, "pa"), (pb, "pb"), (na, "na"), (nb, "nb"))
        ])
        street_sim = jaro_winkler(_strings(sa)[0], _strings(sb)[0])
        same_sector = pl.col("pa").str.head(-2) == pl.col("pb").str.head(-2)
        level = frame.with_columns(_ss=pl.Series(street_sim)).select(
            pl.when((pl.col("ua") == pl.col("ub")) | ((pl.col("ka") == pl.col("kb")) & same_sector)).then(3)
            .when((pl.col("pa") == pl.col("pb")) | ((pl.col("na") == pl.col("nb")) & (pl.col("_ss") >= 0.85) & same_sector)).then(2)
            .when(same_sector).then(1)
            .when((pl.col("pa").is_null() & pl.col("ua").is_null()) | (pl.col("pb").is_null() & pl.col("ub").is_null())).then(MISSING)
            .otherwise(0)
            .cast(pl.Int8)
        ).to_series()
        return pd.Series(level.to_numpy())


class ExactLevels(BaseCompareFeature):
    """1 equal, 0 different (for gender, the force's person_ref)."""

    name = "exact"
    description = "exact agreement"

    def __init__(self, left_on: str, right_on: str, label: str) -> None:
        super().__init__(left_on, right_on, label=label)

    def _compute_vectorized(self, a: pd.Series, b: pd.Series) -> pd.Series:
        sa, ma = _strings(a)
        sb, mb = _strings(b)
        level = np.select([ma | mb, np.asarray(sa, dtype=object) == np.asarray(sb, dtype=object)], [MISSING, 1], default=0)
        return pd.Series(level.astype(np.int8))


# ---- running the comparison ----------------------------------------------------------------

# Columns a person frame must carry for comparison.
COMPARE_COLUMNS = (
    "forename_std", "forename_canon", "surname_std", "surname_meta", "dob", "postcode",
    "uprn", "address_key", "house_number", "street", "gender", "person_ref",
)


def person_comparer(*, with_person_ref: bool = False) -> recordlinkage.Compare:
    """The recordlinkage ``Compare`` used for every link type (police pairs add person_ref)."""
    features: list[BaseCompareFeature] = [
        NameLevels(("forename_std", "forename_canon"), ("forename_std", "forename_canon"), kind="forename", label="forename"),
        NameLevels(("surname_std", "surname_meta"), ("surname_std", "surname_meta"), kind="surname", label="surname"),
        DobLevels("dob", "dob"),
        LocationLevels(("uprn", "address_key", "postcode", "house_number", "street"), ("uprn", "address_key", "postcode", "house_number", "street")),
        ExactLevels("gender", "gender", label="gender"),
    ]
    if with_person_ref:
        features.append(ExactLevels("person_ref", "person_ref", label="person_ref"))
    return recordlinkage.Compare(features=features)


def _pandas(frame: pl.DataFrame) -> pd.DataFrame:
    cols = [c for c in COMPARE_COLUMNS if c in frame.columns]
    out = frame.select(cols).to_pandas()
    for c in COMPARE_COLUMNS:
        if c not in out.columns:
            out[c] = None
    return out


def compare_pairs(left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, *, with_person_ref: bool = False) -> pl.DataFrame:
    """Comparison levels (and name similarities) for ``pairs`` ``(l, r)``, in pair order."""
    comparer = person_comparer(with_person_ref=with_person_ref)
    if pairs.height == 0:
        labels = ["forename", "forename_sim", "surname", "surname_sim", "dob", "location", "gender"]
        labels += ["person_ref"] if with_person_ref else []
        return pl.DataFrame(schema={c: (pl.Float64 if c.endswith("_sim") else pl.Int8) for c in labels})
    features = comparer.compute(to_multiindex(pairs), _pandas(left), _pandas(right))
    return pl.from_pandas(features.reset_index(drop=True))
