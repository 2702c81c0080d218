"""Incremental linkage: compare only the candidate pairs a night has not compared before.

A pair's comparison levels are a pure function of the two records' comparison columns
(``link_compare.COMPARE_COLUMNS``, after standardising and, for police children, placing
them at the incident address). So each record gets a content hash of exactly those
columns, and the levels of every pair compared on an earlier night are kept under the two
hashes (``linked.comparison_cache``). Tonight a pair whose two records hash as they did is
given its stored levels; only pairs with a new or changed record are compared.

The fitted model is kept too: a full re-link fits m and λ (and u when due, and the
same-home date-of-birth u) and writes them to audit.link_models; an incremental night scores
with that fit unchanged (``IncrementalPlan.model_from``, ``link.kept_model``), so a pair whose
records did not change keeps its weight and probability, and audit.link_decisions, kept as
per-pair changes, grows only by the pairs the night's changes touch. A model whose record
counts moved more than ``linkage.u_max_size_change`` since its fit is fitted again that night.

Everything else runs over the whole county every night, as in a full re-link: blocking (a
block's size, and so whether an oversized block is skipped, depends on every record in it),
the decisions, the guards and one-to-one assignment, clustering, child ids and households.
The night's result is therefore that of ``link_people`` given the same model with every
pair compared afresh, pair for pair (``tests/link/test_link_incremental.py`` checks it over
consecutive synthetic nights).

A night re-links in full (compares every pair and rebuilds the store) when the comparison
code, the model's levels or the polars version differ from those the stored levels were
computed with (``link.comparison_fingerprint``), when ``linkage.full_relink_every_days`` have
passed since the last full re-link, or when reviewers' decisions since then touch more than
``linkage.full_relink_review_records`` records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import polars as pl

from pipeline import schemas
from pipeline.config import LinkageSettings
from pipeline.link.compare import COMPARE_COLUMNS, LEVEL_LABELS, CodedSides
from pipeline.link.linkage import (
    LinkInputs,
    LinkResult,
    compare_in_slices,
    comparison_fingerprint,
    link_people,
)

logger = logging.getLogger(__name__)

KEY = ("left_hash", "right_hash", "dedupe")
# linked.comparison_cache: the levels of one compared pair under its records' content hashes.
CACHE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "left_hash": pl.UInt64, "right_hash": pl.UInt64, "dedupe": pl.Boolean,
    **{c: (pl.Float64 if c.endswith("_sim") else pl.Int8) for c in (*LEVEL_LABELS, "person_ref")},
}
# A fixed seed: a record must hash the same on every night (and in every process).
_SEED = 0x6865_6172_7468


def cache_fingerprint() -> str:
    """What the stored levels were computed with: the comparison code and model levels, and
    the polars version (whose row hash is stable only within one version)."""
    return f"{comparison_fingerprint()}/polars-{pl.__version__}"


def record_hashes(frame: pl.DataFrame) -> pl.Series:
    """A content hash per record of the columns the comparison reads (absent ones as null)."""
    cols = [
        (pl.col(c) if c in frame.columns else pl.lit(None, pl.Date if c == "dob" else pl.String)).alias(c)
        for c in COMPARE_COLUMNS
    ]
    return frame.select(cols).hash_rows(seed=_SEED)


def _compare_only(
    left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, dedupe: bool, sides: CodedSides | None = None
) -> pl.DataFrame:
    """``compare_in_slices`` over just the records ``pairs`` name: a pair's levels depend on its
    two records alone, and on an incremental night the few pairs left to compare name a small
    part of frames that coding whole would cost more than comparing. Where they name much
    of the frames, the frames' coding ``sides`` is used if given."""
    if pairs.height == 0:
        return compare_in_slices(left, right, pairs, dedupe)
    lpos, rpos = pairs["l"].to_numpy(), pairs["r"].to_numpy()
    lrows, rrows = np.unique(lpos), np.unique(rpos)
    if sides is not None or lrows.size + rrows.size >= (left.height + right.height) // 2:
        return compare_in_slices(left, right, pairs, dedupe, sides=sides)
    local = pl.DataFrame({
        "l": pl.Series(np.searchsorted(lrows, lpos), dtype=pairs["l"].dtype),
        "r": pl.Series(np.searchsorted(rrows, rpos), dtype=pairs["r"].dtype),
    })
    return compare_in_slices(left[lrows], right[rrows], local, dedupe)


@dataclass
class ComparisonCache:
    """The stored levels (``CACHE_SCHEMA``) and, as the night compares, the pairs it used.

    Pass :meth:`compare` to ``link_people``; afterwards :meth:`delta` says which rows to add
    to the store and which to drop (pairs no longer proposed), so the store holds exactly
    the candidate pairs of the last night."""

    stored: pl.DataFrame
    hits: int = 0
    misses: int = 0
    _used: list[pl.DataFrame] = field(default_factory=list)

    @classmethod
    def empty(cls) -> ComparisonCache:
        return cls(pl.DataFrame(schema=CACHE_SCHEMA))

    def compare(
        self, left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, dedupe: bool,
        sides: CodedSides | None = None,
    ) -> pl.DataFrame:
        """Levels for ``pairs`` ``(l, r)`` in pair order: stored where both records are
        unchanged, compared otherwise (``link.Comparer``; ``sides``: the two frames' coding,
        when the caller has it for other pairs anyway)."""
        labels = [*LEVEL_LABELS, *(["person_ref"] if dedupe else [])]
        level_schema = {c: CACHE_SCHEMA[c] for c in labels}
        keyed = pl.DataFrame({
            "left_hash": record_hashes(left).gather(pairs["l"]),
            "right_hash": record_hashes(right).gather(pairs["r"]),
        }).with_columns(dedupe=pl.lit(dedupe))
        stored = self.stored.filter(pl.col("dedupe") == dedupe).select(*KEY, *labels)
        found = keyed.with_row_index("_p").join(stored, on=list(KEY), how="inner")
        hit = np.zeros(pairs.height, dtype=bool)
        hit[found["_p"].to_numpy()] = True
        todo = np.flatnonzero(~hit)
        compared = _compare_only(left, right, pairs.filter(pl.Series(~hit)), dedupe, sides)
        levels = (
            pl.concat([
                found.select("_p", *labels).cast(level_schema),  # type: ignore[arg-type]
                compared.cast(level_schema).with_columns(_p=pl.Series(todo, dtype=pl.UInt32)),  # type: ignore[arg-type]
            ], how="diagonal")
            .sort("_p").drop("_p")
        )
        self.hits += int(hit.sum())
        self.misses += int(todo.size)
        self._used.append(pl.concat([keyed, levels], how="horizontal"))
        return levels

    def tonight(self) -> pl.DataFrame:
        """Every pair compared tonight with its levels (``CACHE_SCHEMA``)."""
        frames = [f.with_columns(pl.lit(None, pl.Int8).alias("person_ref")) if "person_ref" not in f.columns else f
                  for f in self._used]
        return (
            pl.concat([f.select(CACHE_SCHEMA.keys()) for f in frames]).cast(CACHE_SCHEMA)  # type: ignore[arg-type]
            .unique(list(KEY), keep="first") if frames else pl.DataFrame(schema=CACHE_SCHEMA)
        )

    def delta(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``(added, dropped)``: pairs compared tonight that the store lacks (with levels),
        and keys of stored pairs tonight did not propose."""
        now = self.tonight()
        # Tonight's pairs, deduplicated, stand for the slices they came from (which every
        # model's comparison appended): one copy of the night's levels, not two.
        self._used = [now]
        if self.stored.height == 0:
            return now, self.stored.select(KEY)
        added = now.join(self.stored.select(KEY), on=list(KEY), how="anti")
        dropped = self.stored.select(KEY).join(now.select(KEY), on=list(KEY), how="anti")
        return added, dropped


@dataclass(frozen=True)
class IncrementalPlan:
    """Whether tonight re-links in full, and why; and whose fitted model it scores with.

    ``model_from`` is the full re-link whose fitted models (``audit.link_models`` rows since
    that night) an incremental night keeps; ``None``: every model is fitted tonight. A model
    whose record counts moved too far is fitted tonight all the same, and ``link_incremental``
    adds it to ``reason``."""

    full: bool
    reason: str
    model_from: date | None = None


def plan_night(
    day: date, settings: LinkageSettings, *, stored_fingerprint: str | None, last_full: date | None,
    reviewed_records: int,
) -> IncrementalPlan:
    """Decide between a full and an incremental re-link for ``day``, given what the stored
    comparisons were computed with, the night of the last full re-link, and how many records
    reviewers' decisions have touched since."""
    if settings.full_relink_every_days == 0:
        return IncrementalPlan(True, "linkage.full_relink_every_days is 0 (every night in full)")
    if stored_fingerprint is None or last_full is None:
        return IncrementalPlan(True, "no comparisons stored yet")
    if stored_fingerprint != cache_fingerprint():
        return IncrementalPlan(True, "the comparison code or model levels changed since the stored comparisons")
    if day < last_full:
        return IncrementalPlan(True, f"a rerun of a night before the last full re-link ({last_full})")
    if (day - last_full).days >= settings.full_relink_every_days:
        return IncrementalPlan(True, f"{(day - last_full).days} days since the last full re-link ({last_full})")
    if reviewed_records > settings.full_relink_review_records:
        return IncrementalPlan(True, f"review decisions since the last full re-link touch {reviewed_records} records")
    return IncrementalPlan(
        False, f"incremental since the full re-link of {last_full}, scored with its fitted model", model_from=last_full
    )


@dataclass(frozen=True)
class IncrementalResult:
    linked: LinkResult
    plan: IncrementalPlan
    added: pl.DataFrame     # CACHE_SCHEMA rows to add to the store
    dropped: pl.DataFrame   # KEY rows to drop from it
    pairs_reused: int
    pairs_compared: int


def link_incremental(
    inputs: LinkInputs, settings: LinkageSettings, *, stored: pl.DataFrame | None, plan: IncrementalPlan,
    fitted: pl.DataFrame | None = None,
) -> IncrementalResult:
    """``link_people`` with the stored comparisons reused (unless ``plan`` says full), and,
    when ``plan.model_from`` is set, the ``fitted`` models (``schemas.LINK_MODELS`` rows, one
    per model, from audit.link_models since that night) kept instead of re-fitted.

    The result equals ``link_people(inputs, settings, fitted=fitted)`` (``fitted=None`` on a
    full night); the store's update is returned for the caller to write (with ``plan.full``
    the whole store is replaced by ``added``). The returned plan names any model that had to
    be fitted again."""
    cache = (
        ComparisonCache.empty() if plan.full or stored is None
        else ComparisonCache(stored.cast(CACHE_SCHEMA))  # type: ignore[arg-type]
    )
    keep = plan.model_from is not None and not plan.full
    if keep and fitted is None:
        fitted = pl.DataFrame(schema=schemas.LINK_MODELS)
    linked = link_people(inputs, settings, compare=cache.compare, fitted=fitted if keep else None)
    if linked.refitted.height:
        plan = replace(plan, reason=plan.reason + "; fitted again tonight: " + "; ".join(
            f"{model} ({why})" for model, why in linked.refitted.iter_rows()
        ))
    added, dropped = cache.delta()
    logger.info(
        "link (%s): %d candidate pairs reused their stored comparison, %d compared; store +%d −%d",
        plan.reason, cache.hits, cache.misses, added.height, dropped.height,
    )
    return IncrementalResult(linked, plan, added, dropped, cache.hits, cache.misses)
