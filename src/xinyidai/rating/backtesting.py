"""Back-testing a model version on history, and checking the evidence against the operator's thresholds.

Pure functions: the caller reads the snapshots and outcomes (``lifecycle.backtest_model``). The evidence
is a JSON-safe dict, stored as the model version's ``evidence``:

- ``n``, ``n_bad``, ``bad_rate``: firm-dates with a known outcome, of which defaulted within 12 months;
- ``auc``, ``ks``, ``gini``: how well the 0–1000 score ranks them (None when one class is missing);
- ``grades``: per grade, best first, firms, defaults and default rate, with the knock-outs applied as the
  rating does; ``monotone``: no better grade defaults more often than a worse one, among the grades of
  at least ``MIN_GRADE_FIRMS`` firms (a default rate of a handful says nothing; those are ``thin``);
- ``psi`` between the scores of the two latest as-of dates (``psi_dates``), None with a single date;
- ``iv``: information value per indicator on this history (statistical scorecards).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from xinyidai.core.i18n import N_
from xinyidai.rating.statistical import auc, ks, psi

__all__ = [
    "MIN_GRADE_FIRMS",
    "ScoredDate",
    "ThresholdCheck",
    "check_thresholds",
    "evidence_of",
    "failed_checks",
]

MIN_GRADE_FIRMS = 30


@dataclass(frozen=True)
class ScoredDate:
    """One as-of date of history: every firm's 0–1000 score, and grades and outcomes of labelled firms."""

    as_of: date
    scores: np.ndarray  # every firm of the segment (for PSI)
    labelled_scores: np.ndarray
    labelled_grades: np.ndarray  # grade strings
    defaulted: np.ndarray  # 0/1


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def evidence_of(
    history: Sequence[ScoredDate], grades: Sequence[str], *, iv: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The evidence of a back-test over ``history`` (oldest first); ``grades`` best first."""
    scores = np.concatenate([h.labelled_scores for h in history]) if history else np.empty(0)
    graded = np.concatenate([h.labelled_grades for h in history]) if history else np.empty(0, dtype=object)
    y = np.concatenate([h.defaulted for h in history]).astype(np.int8) if history else np.empty(0, np.int8)
    rows: list[dict[str, Any]] = []
    rates: list[float] = []
    for grade in grades:
        in_grade = graded == grade
        n, n_bad = int(in_grade.sum()), int(y[in_grade].sum())
        thin = n < MIN_GRADE_FIRMS
        rows.append({"grade": grade, "n": n, "n_bad": n_bad, "default_rate": n_bad / n if n else None,
                     "thin": thin})  # fmt: skip
        rates.extend([] if thin else [n_bad / n])
    latest = [h for h in history if h.scores.size][-2:]
    stability = psi(latest[0].scores, latest[1].scores) if len(latest) == 2 else None
    area = auc(scores, y) if y.size else math.nan
    return {
        "as_of_dates": [h.as_of.isoformat() for h in history if h.defaulted.size],
        "n": int(y.size),
        "n_bad": int(y.sum()),
        "bad_rate": _finite(float(y.mean())) if y.size else None,
        "auc": _finite(area),
        "ks": _finite(ks(scores, y)) if y.size else None,
        "gini": _finite(2.0 * area - 1.0),
        "grades": rows,
        "monotone": all(a <= b for a, b in itertools.pairwise(rates)),
        "psi": None if stability is None else _finite(stability),
        "psi_dates": [h.as_of.isoformat() for h in latest] if len(latest) == 2 else None,
        "iv": {k: round(v, 4) for k, v in (iv or {}).items()},
    }


@dataclass(frozen=True)
class ThresholdCheck:
    """One threshold against the evidence: its measured value, the threshold, and the message if it fails."""

    name: str  # auc | ks | psi | monotone
    value: float | bool | None
    threshold: float | bool
    passed: bool
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)


def _number(value: float | Decimal) -> str:
    """0.7 → "0.70", 0.725 → "0.725": thresholds as the operator typed them."""
    x = float(value)
    return f"{x:.2f}" if round(x, 2) == x else f"{x:.3f}"


_NOT_MEASURED = N_("%(measure)s cannot be measured: the back-test has no defaults or no repayments")
_BELOW = N_("%(measure)s %(value)s is below the threshold %(threshold)s")
_ABOVE = N_("PSI %(value)s is above the threshold %(threshold)s")
_NOT_MONOTONE = N_(
    "The default rate is not monotone by grade: grade %(better)s defaults more often (%(better_rate)s) "
    "than grade %(worse)s (%(worse_rate)s)"
)


def check_thresholds(
    evidence: Mapping[str, Any], *, min_auc: Decimal, min_ks: Decimal, max_psi: Decimal, monotone: bool
) -> list[ThresholdCheck]:
    """Every threshold checked against a back-test's evidence, in a fixed order (AUC, KS, PSI, grades).

    A PSI that could not be measured (a single as-of date) passes: there is no drift to see yet.
    """
    checks = []
    for name, label, minimum in (("auc", "AUC", float(min_auc)), ("ks", "KS", float(min_ks))):
        value = evidence.get(name)
        if value is None:
            checks.append(ThresholdCheck(name, None, minimum, False, _NOT_MEASURED, {"measure": label}))
        elif value < minimum:
            params = {"measure": label, "value": f"{value:.3f}", "threshold": _number(minimum)}
            checks.append(ThresholdCheck(name, value, minimum, False, _BELOW, params))
        else:
            checks.append(ThresholdCheck(name, value, minimum, True))
    value, maximum = evidence.get("psi"), float(max_psi)
    if value is not None and value > maximum:
        params = {"value": f"{value:.3f}", "threshold": _number(maximum)}
        checks.append(ThresholdCheck("psi", value, maximum, False, _ABOVE, params))
    else:
        checks.append(ThresholdCheck("psi", value, maximum, True))
    ordered = bool(evidence.get("monotone"))
    if monotone and not ordered:
        better, worse = _first_inversion(evidence.get("grades", []))
        params = {
            "better": better["grade"],
            "better_rate": f"{better['default_rate']:.1%}",
            "worse": worse["grade"],
            "worse_rate": f"{worse['default_rate']:.1%}",
        }
        checks.append(ThresholdCheck("monotone", False, True, False, _NOT_MONOTONE, params))
    else:
        checks.append(ThresholdCheck("monotone", ordered, monotone, True))
    return checks


def failed_checks(checks: Sequence[ThresholdCheck]) -> list[ThresholdCheck]:
    return [c for c in checks if not c.passed]


def _first_inversion(grades: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    rated = [g for g in grades if g.get("default_rate") is not None and not g.get("thin")]
    for better, worse in itertools.pairwise(rated):
        if better["default_rate"] > worse["default_rate"]:
            return better, worse
    return rated[0], rated[-1]  # unreachable when the evidence says "not monotone"
