"""The evidence that a scorecard ranks risk: AUC, KS, Gini, IV, PSI and default rate per grade.

Conventions (those of credit scoring, not of machine learning):

- a *score* is a credit score: **higher means less risk** (more creditworthy);
- an *outcome* is 1 when the enterprise defaulted (逾期/违约, the "bad" case) and 0 when it repaid.

So ``auc`` is the probability that a randomly chosen repaid enterprise scores above a randomly chosen
defaulted one (0.5 = no better than chance, 1.0 = perfect ranking); it equals scikit-learn's
``roc_auc_score(outcomes, -scores)``. All functions are vectorised numpy: millions of rows in well under
a second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xinyidai.rating.statistical.columns import FloatArray, IntArray
from xinyidai.rating.statistical.errors import ScorecardConfigError

# A share of zero would make PSI/IV infinite; an empty cell counts as this share (the usual guard).
_EMPTY_SHARE = 1e-6


def _values_and_outcomes(values: ArrayLike, outcomes: ArrayLike) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Values as floats (NaN allowed) and outcomes as 'defaulted', checked to match and to be 0/1."""
    s = np.asarray(values, dtype=np.float64).ravel()
    y = np.asarray(outcomes).ravel()
    if s.shape != y.shape:
        raise ScorecardConfigError(
            "The scores (%(scores)s) and outcomes (%(outcomes)s) have different lengths",
            scores=s.size,
            outcomes=y.size,
        )
    bad = y == 1
    if not np.all(bad | (y == 0)):
        raise ScorecardConfigError(
            "The target must contain only 0 (repaid) and 1 (defaulted); found %(value)s",
            field="target",
            value=str(y[~(bad | (y == 0))][0]),
        )
    return s, bad


def _scores_and_outcomes(scores: ArrayLike, outcomes: ArrayLike) -> tuple[FloatArray, NDArray[np.bool_]]:
    s, bad = _values_and_outcomes(scores, outcomes)
    if np.isnan(s).any():
        raise ScorecardConfigError("The scores contain missing values", field="scores")
    return s, bad


def _grouped(s: FloatArray, bad: NDArray[np.bool_]) -> tuple[FloatArray, FloatArray, IntArray]:
    """Defaulted and repaid counts per distinct score, in increasing score order (ties kept together)."""
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    bads = np.bincount(inverse, weights=bad, minlength=counts.size).astype(np.float64)
    return bads, counts - bads, counts.astype(np.int64)


def auc(scores: ArrayLike, outcomes: ArrayLike) -> float:
    """Area under the ROC curve of a credit score (higher score = lower risk); ties count half.

    Returns NaN when the outcomes are all 0 or all 1 (ranking is undefined).
    """
    s, bad = _scores_and_outcomes(scores, outcomes)
    n_bad = int(bad.sum())
    n_good = s.size - n_bad
    if n_bad == 0 or n_good == 0:
        return math.nan
    bads, goods, _ = _grouped(s, bad)
    # For each distinct score: repaid cases at this score beat every defaulted case below it, tie half.
    bads_below = np.cumsum(bads) - bads
    wins = float(np.sum(goods * (bads_below + 0.5 * bads)))
    return wins / (n_bad * n_good)


def ks(scores: ArrayLike, outcomes: ArrayLike) -> float:
    """Kolmogorov–Smirnov statistic: the largest gap between the cumulative score distributions.

    ``max over cut-offs t of (share of defaulted with score ≤ t) − (share of repaid with score ≤ t)``,
    in [0, 1]; equals ``max(tpr − fpr)`` of scikit-learn's ``roc_curve(outcomes, -scores)``.
    """
    s, bad = _scores_and_outcomes(scores, outcomes)
    n_bad = int(bad.sum())
    n_good = s.size - n_bad
    if n_bad == 0 or n_good == 0:
        return math.nan
    bads, goods, _ = _grouped(s, bad)
    gap = np.cumsum(bads) / n_bad - np.cumsum(goods) / n_good
    return float(max(0.0, gap.max()))


def gini(scores: ArrayLike, outcomes: ArrayLike) -> float:
    """Gini coefficient (accuracy ratio) = 2·AUC − 1."""
    return 2.0 * auc(scores, outcomes) - 1.0


def iv_from_bins(bin_index: IntArray, outcomes: NDArray[np.bool_], n_bins: int) -> float:
    """Information value of a feature already cut into bins ``0 … n_bins−1``.

    ``IV = Σ (%repaid − %defaulted) · ln(%repaid / %defaulted)`` over the bins; an empty cell counts as
    a tiny share so that IV stays finite.
    """
    n_bad = max(int(outcomes.sum()), 1)
    n_good = max(outcomes.size - int(outcomes.sum()), 1)
    bads = np.bincount(bin_index, weights=outcomes, minlength=n_bins)
    goods = np.bincount(bin_index, minlength=n_bins) - bads
    occupied = (bads + goods) > 0
    p_bad = np.maximum(bads[occupied] / n_bad, _EMPTY_SHARE)
    p_good = np.maximum(goods[occupied] / n_good, _EMPTY_SHARE)
    return float(np.sum((p_good - p_bad) * np.log(p_good / p_bad)))


def information_value(
    values: ArrayLike, outcomes: ArrayLike, edges: Sequence[float] | None = None, bins: int = 10
) -> float:
    """Information value (IV) of one numeric indicator against default outcomes.

    Args:
        values: the indicator per enterprise; NaN (missing) is a bin of its own.
        outcomes: 1 defaulted, 0 repaid.
        edges: split points of the bins (a value ``v`` falls in bin ``i`` when
            ``edges[i-1] ≤ v < edges[i]``); by default the ``bins``-quantiles of ``values``.
        bins: number of equal-frequency bins when ``edges`` is not given.

    Rule of thumb: IV < 0.02 useless, 0.02–0.1 weak, 0.1–0.3 medium, > 0.3 strong.
    """
    v, bad = _values_and_outcomes(values, outcomes)
    missing = np.isnan(v)
    if edges is None:
        finite = v[~missing]
        cuts = (
            np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if finite.size else np.empty(0)
        )
    else:
        cuts = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(cuts, v, side="right").astype(np.int64)
    index[missing] = cuts.size + 1
    return iv_from_bins(index, bad, cuts.size + 2)


def _psi_shares(edges: FloatArray, values: FloatArray) -> FloatArray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
    return np.asarray(counts / max(values.size, 1), dtype=np.float64)


def psi_from_shares(edges: Sequence[float], expected_shares: Sequence[float], actual: ArrayLike) -> float:
    """PSI of ``actual`` scores against a stored reference distribution (``edges`` and its shares).

    A scorecard stores its training distribution this way, so drift can be measured later without the
    training data.
    """
    cuts = np.asarray(edges, dtype=np.float64)
    expected = np.maximum(np.asarray(expected_shares, dtype=np.float64), _EMPTY_SHARE)
    actual_shares = np.maximum(_psi_shares(cuts, np.asarray(actual, dtype=np.float64).ravel()), _EMPTY_SHARE)
    if expected.size != cuts.size + 1:
        raise ScorecardConfigError(
            "The stored scorecard is malformed: %(problem)s", problem="score shares do not match edges"
        )
    return float(np.sum((actual_shares - expected) * np.log(actual_shares / expected)))


def reference_distribution(scores: ArrayLike, bins: int = 10) -> tuple[list[float], list[float]]:
    """Equal-frequency bin edges of ``scores`` and the share of scores in each bin (for later PSI)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if bins < 2:
        raise ScorecardConfigError("PSI needs at least 2 bins; got %(value)s", field="bins", value=bins)
    edges = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)[1:-1])) if s.size else np.empty(0)
    return [float(e) for e in edges], [float(p) for p in _psi_shares(edges, s)]


def psi(expected_scores: ArrayLike, actual_scores: ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``actual_scores`` against ``expected_scores`` (e.g. last year's).

    Bins are the equal-frequency bins of the expected scores. Reading: < 0.1 stable, 0.1–0.25 some
    shift (watch), > 0.25 the population has changed (review the model).
    """
    edges, shares = reference_distribution(expected_scores, bins)
    return psi_from_shares(edges, shares, actual_scores)


Cutoffs: TypeAlias = Mapping[str, float] | Sequence[tuple[str, float]]
"""Grade → minimum score, as a mapping or as (grade, minimum) pairs (best first, like the expert
scorecard's); a score below every minimum gets the lowest grade."""


def _ordered_cutoffs(cutoffs: Cutoffs) -> list[tuple[str, float]]:
    pairs = list(cutoffs.items()) if isinstance(cutoffs, Mapping) else list(cutoffs)
    if not pairs:
        raise ScorecardConfigError("The grade cut-offs must not be empty", field="cutoffs")
    grades = [str(g) for g, _ in pairs]
    if len(set(grades)) != len(grades):
        raise ScorecardConfigError("The grade cut-offs name a grade twice", field="cutoffs")
    return sorted(((str(g), float(c)) for g, c in pairs), key=lambda item: -item[1])


def assign_grades(scores: ArrayLike, cutoffs: Cutoffs) -> NDArray[np.str_]:
    """The grade of each score: the best grade whose minimum score it reaches.

    Args:
        scores: credit scores (higher = less risk).
        cutoffs: grade → minimum score, e.g. ``{"A": 650, "B": 600, "C": 550, "D": 0}``; a score below
            every minimum gets the lowest grade.
    """
    ordered = _ordered_cutoffs(cutoffs)
    s = np.asarray(scores, dtype=np.float64).ravel()
    ascending_minima = np.array([c for _, c in reversed(ordered)])
    names = np.array([g for g, _ in reversed(ordered)])
    position = np.searchsorted(ascending_minima, s, side="right") - 1
    return names[np.clip(position, 0, len(ordered) - 1)]


@dataclass(frozen=True)
class GradeRate:
    """Observed defaults in one grade: the check that better grades default less."""

    grade: str
    min_score: float
    n: int
    n_bad: int
    default_rate: float | None  # n_bad / n; None when the grade is empty

    def to_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "min_score": self.min_score,
            "n": self.n,
            "n_bad": self.n_bad,
            "default_rate": self.default_rate,
        }


def default_rate_by_grade(scores: ArrayLike, outcomes: ArrayLike, cutoffs: Cutoffs) -> tuple[GradeRate, ...]:
    """Count and default rate per grade, best grade first (see ``assign_grades`` for the cut-offs)."""
    s, bad = _scores_and_outcomes(scores, outcomes)
    ordered = _ordered_cutoffs(cutoffs)
    grades = assign_grades(s, cutoffs)
    rows = []
    for grade, minimum in ordered:
        in_grade = grades == grade
        n = int(in_grade.sum())
        n_bad = int(bad[in_grade].sum())
        rows.append(GradeRate(grade, minimum, n, n_bad, n_bad / n if n else None))
    return tuple(rows)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Evidence:
    """How well a scorecard ranked one set of enterprises with known outcomes.

    Attributes:
        n: enterprises scored; n_bad: of which defaulted.
        auc, ks, gini: ranking power (NaN when one class is absent).
        iv: information value of each feature's bins on this data.
        psi: stability of this data's scores against the training scores (None if not measured).
        grades: default rate per grade (empty if no cut-offs were given).
    """

    n: int
    n_bad: int
    auc: float
    ks: float
    gini: float
    iv: Mapping[str, float] = field(default_factory=dict)
    psi: float | None = None
    grades: tuple[GradeRate, ...] = ()

    @property
    def bad_rate(self) -> float:
        """Observed default rate (0–1)."""
        return self.n_bad / self.n if self.n else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (NaN stored as null)."""
        return {
            "n": self.n,
            "n_bad": self.n_bad,
            "auc": _finite(self.auc),
            "ks": _finite(self.ks),
            "gini": _finite(self.gini),
            "iv": dict(self.iv),
            "psi": self.psi,
            "grades": [g.to_dict() for g in self.grades],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Inverse of ``to_dict``."""

        def number(key: str) -> float:
            value = data.get(key)
            return math.nan if value is None else float(value)

        return cls(
            n=int(data["n"]),
            n_bad=int(data["n_bad"]),
            auc=number("auc"),
            ks=number("ks"),
            gini=number("gini"),
            iv={str(k): float(v) for k, v in data.get("iv", {}).items()},
            psi=None if data.get("psi") is None else float(data["psi"]),
            grades=tuple(
                GradeRate(
                    str(g["grade"]),
                    float(g["min_score"]),
                    int(g["n"]),
                    int(g["n_bad"]),
                    None if g.get("default_rate") is None else float(g["default_rate"]),
                )
                for g in data.get("grades", [])
            ),
        )


def measure(
    scores: ArrayLike,
    outcomes: ArrayLike,
    *,
    iv: Mapping[str, float] | None = None,
    psi: float | None = None,
    cutoffs: Cutoffs | None = None,
) -> Evidence:
    """Evidence for scores with known outcomes (the building block of ``backtest``)."""
    s, bad = _scores_and_outcomes(scores, outcomes)
    area = auc(s, bad.astype(np.int8))
    return Evidence(
        n=int(s.size),
        n_bad=int(bad.sum()),
        auc=area,
        ks=ks(s, bad.astype(np.int8)),
        gini=2.0 * area - 1.0,
        iv=dict(iv or {}),
        psi=psi,
        grades=default_rate_by_grade(s, bad.astype(np.int8), cutoffs) if cutoffs else (),
    )
