"""Fellegi–Sunter model with multi-level comparisons and EM-estimated m-probabilities.

u-probabilities (how often a level occurs among *non-matching* pairs) are estimated from
random pairs, which are overwhelmingly non-matches; m-probabilities (how often among
matches) and the match proportion λ are then estimated by EM over the candidate pairs with
u held fixed (the approach Splink takes). Both carry a Dirichlet prior (pseudo-counts), so a
tiny input – a test, a quiet night – falls back on sensible defaults instead of fitting noise.

EM runs on the distinct comparison *patterns* with their counts, so it costs the same for
10 thousand or 10 million pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComparisonSpec:
    """Prior m and u probabilities for levels 0..K-1 (missing, -1, is always neutral)."""

    name: str
    m_prior: tuple[float, ...]
    u_prior: tuple[float, ...]

    @property
    def levels(self) -> int:
        return len(self.m_prior)


# Priors: m from experience with register data (most true pairs agree exactly); u roughly
# the chance that two random children in one county agree at that level.
DEFAULT_SPECS: tuple[ComparisonSpec, ...] = (
    ComparisonSpec("forename", (0.02, 0.03, 0.05, 0.15, 0.75), (0.93, 0.035, 0.02, 0.005, 0.01)),
    ComparisonSpec("surname", (0.03, 0.03, 0.05, 0.09, 0.80), (0.95, 0.03, 0.005, 0.002, 0.013)),
    ComparisonSpec("dob", (0.02, 0.03, 0.04, 0.02, 0.89), (0.985, 0.0145, 0.0003, 0.0001, 0.0001)),
    ComparisonSpec("location", (0.10, 0.05, 0.05, 0.80), (0.97, 0.028, 0.001, 0.001)),
    ComparisonSpec("gender", (0.03, 0.97), (0.5, 0.5)),
)
PERSON_REF_SPEC = ComparisonSpec("person_ref", (0.4, 0.6), (0.9999, 0.0001))


@dataclass
class FellegiSunter:
    """Fitted parameters: per comparison m[level], u[level], and λ."""

    specs: tuple[ComparisonSpec, ...]
    m: dict[str, np.ndarray] = field(default_factory=dict)
    u: dict[str, np.ndarray] = field(default_factory=dict)
    lam: float = 0.01

    def log2_bayes_factors(self, levels: pl.DataFrame) -> dict[str, np.ndarray]:
        """Per comparison log2(m/u) for each pair's level (0 where the level is missing)."""
        out = {}
        for spec in self.specs:
            lv = levels[spec.name].to_numpy().astype(np.int64)
            bf = np.log2(self.m[spec.name] / self.u[spec.name])
            out[spec.name] = np.where(lv < 0, 0.0, bf[np.clip(lv, 0, spec.levels - 1)])
        return out

    def match_weight(self, levels: pl.DataFrame) -> np.ndarray:
        """Sum of log2 Bayes factors (the Fellegi–Sunter match weight, without the prior)."""
        parts = self.log2_bayes_factors(levels)
        return np.sum(np.vstack(list(parts.values())), axis=0) if parts else np.zeros(levels.height)

    def probability(self, weight: np.ndarray) -> np.ndarray:
        """Posterior match probability given the match weight and λ."""
        prior = np.log2(self.lam / (1 - self.lam))
        return 1.0 / (1.0 + np.power(2.0, -(weight + prior)))

    def summary(self) -> dict[str, object]:
        return {
            "lambda": round(self.lam, 6),
            **{s.name: {"m": np.round(self.m[s.name], 4).tolist(), "u": np.round(self.u[s.name], 5).tolist()} for s in self.specs},
        }


def _patterns(levels: pl.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    grouped = levels.group_by(names).len("n")
    return grouped.select(names).to_numpy().astype(np.int64), grouped["n"].to_numpy().astype(np.float64)


def estimate_u(random_levels: pl.DataFrame, specs: tuple[ComparisonSpec, ...], *, prior_strength: float = 1000.0) -> dict[str, np.ndarray]:
    """u per level from comparisons of random pairs, smoothed towards the prior."""
    u = {}
    for spec in specs:
        lv = random_levels[spec.name].to_numpy().astype(np.int64) if random_levels.height else np.zeros(0, np.int64)
        counts = np.bincount(lv[lv >= 0], minlength=spec.levels)[: spec.levels].astype(np.float64)
        u[spec.name] = (counts + prior_strength * np.asarray(spec.u_prior)) / (counts.sum() + prior_strength)
    return u


@dataclass(frozen=True)
class TrainingSession:
    """EM over the candidate pairs that agree on ``agree_on`` (name, minimum level); the
    comparisons in ``exclude`` (the agreed field and fields that move with it) are neither
    used nor estimated in this session. This is Splink's remedy for the dependence between
    fields: blocked on date of birth, siblings (who share surname and address) are absent,
    so address evidence is not mistaken for identity; blocked on postcode, location is left
    out and forename/date of birth separate the children of one household."""

    agree_on: tuple[str, int]
    exclude: tuple[str, ...]


DEFAULT_SESSIONS = (
    TrainingSession(("dob", 4), ("dob",)),
    TrainingSession(("location", 2), ("location", "surname")),
)


def fit_m_by_sessions(
    levels: pl.DataFrame,
    specs: tuple[ComparisonSpec, ...],
    u: Mapping[str, np.ndarray],
    *,
    lam: float,
    max_iterations: int,
    sessions: tuple[TrainingSession, ...] = DEFAULT_SESSIONS,
) -> FellegiSunter:
    """m per comparison averaged over the sessions that estimated it (prior where none did);
    ``lam`` is the prior match probability of two *random* records, used for prediction."""
    estimates: dict[str, list[np.ndarray]] = {s.name: [] for s in specs}
    for session in sessions:
        name, level = session.agree_on
        if name not in levels.columns:
            continue
        subset = levels.filter(pl.col(name) >= level)
        used = tuple(s for s in specs if s.name not in session.exclude)
        fitted = fit_em(subset, used, u, max_iterations=max_iterations)
        if subset.height:
            for spec in used:
                estimates[spec.name].append(fitted.m[spec.name])
    m = {
        s.name: (np.mean(estimates[s.name], axis=0) if estimates[s.name] else np.asarray(s.m_prior, dtype=np.float64))
        for s in specs
    }
    return FellegiSunter(specs=specs, m=m, u=dict(u), lam=lam)


def fit_em(
    levels: pl.DataFrame,
    specs: tuple[ComparisonSpec, ...],
    u: Mapping[str, np.ndarray],
    *,
    max_iterations: int,
    prior_strength: float = 200.0,
    lam_start: float = 0.3,
    tolerance: float = 1e-6,
) -> FellegiSunter:
    """EM for m and λ over the given pairs, u fixed."""
    names = [s.name for s in specs]
    model = FellegiSunter(specs=specs, u=dict(u), m={s.name: np.asarray(s.m_prior, dtype=np.float64) for s in specs}, lam=lam_start)
    if levels.height == 0 or not specs:
        return model
    patterns, counts = _patterns(levels, names)
    total = counts.sum()
    for iteration in range(max_iterations):
        log_m = np.zeros(len(counts))
        log_u = np.zeros(len(counts))
        for j, spec in enumerate(specs):
            lv = patterns[:, j]
            ok = lv >= 0
            idx = np.clip(lv, 0, spec.levels - 1)
            log_m += np.where(ok, np.log(model.m[spec.name][idx]), 0.0)
            log_u += np.where(ok, np.log(model.u[spec.name][idx]), 0.0)
        a = np.log(model.lam) + log_m
        b = np.log1p(-model.lam) + log_u
        post = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        weighted = post * counts
        new_lam = float(np.clip((weighted.sum() + 1.0) / (total + 2.0), 1e-9, 1 - 1e-9))
        delta = abs(new_lam - model.lam)
        for j, spec in enumerate(specs):
            lv = patterns[:, j]
            ok = lv >= 0
            per_level = np.bincount(lv[ok], weights=weighted[ok], minlength=spec.levels)[: spec.levels]
            new_m = (per_level + prior_strength * np.asarray(spec.m_prior)) / (per_level.sum() + prior_strength)
            delta = max(delta, float(np.max(np.abs(new_m - model.m[spec.name]))))
            model.m[spec.name] = new_m
        model.lam = new_lam
        if delta < tolerance:
            logger.debug("EM converged after %d iterations", iteration + 1)
            break
    return model
