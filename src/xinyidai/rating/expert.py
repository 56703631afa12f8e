"""The expert scorecard: scoring bands per indicator, weights per dimension, knock-out rules, grade cut-offs.

Score. Each factor (an indicator) scores 0–100 points by its bands; a dimension scores the mean of its
factors; the total is ``1000 × Σ weight(dimension) × dimension score / 100``, so 0–1000. A factor without a
value scores its ``missing_points`` (by default a neutral 50) and lowers the rating's completeness.
Knock-outs are expressions over indicators (``on_dishonest_list``): a firm that matches one gets the
knock-out's grade whatever its score — the common practice of disqualifying a dishonest judgment debtor.

Reasons. The factors that pulled the score down most are those with the largest weighted shortfall from
100 points; those that pulled it up most, the largest weighted points. Both are reported in plain Chinese
with the indicator's value (PIPL Art. 24: automated decisions carry their reasons).

Everything is vectorised with numpy over an indicator snapshot: a million firms score in well under a
second. A configuration is checked whole before use; each problem is named (weights that do not add up to
1, bands out of order, an indicator that does not exist, a knock-out rule that does not compile).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from xinyidai.core.errors import ValidationFailed
from xinyidai.core.expressions import ExpressionError, compile_expression
from xinyidai.indicators.service import INDICATORS, Dimension, field_catalogue

__all__ = [
    "Band",
    "DimensionWeight",
    "ExpertScorecard",
    "Factor",
    "KnockOut",
    "ModelConfigError",
    "Scored",
    "apply_knockouts",
    "default_knockouts",
    "default_scorecard",
    "explain",
    "grade_indices",
    "individual_business_scorecard",
]

_BY_ID = {i.id: i for i in INDICATORS}
_ONE_BY_ONE = 64  # up to this many firms, knock-out rules are evaluated record by record


class ModelConfigError(ValidationFailed):
    code = "invalid_model"
    title = "The rating model configuration is invalid"


@dataclass(frozen=True)
class Band:
    """Values below ``upper`` (and at or above the previous band's) score ``points``; None is +∞."""

    upper: float | None
    points: int


@dataclass(frozen=True)
class Factor:
    indicator: str
    bands: tuple[Band, ...]
    missing_points: int = 50


@dataclass(frozen=True)
class DimensionWeight:
    dimension: Dimension
    weight: float
    factors: tuple[Factor, ...]


@dataclass(frozen=True)
class KnockOut:
    """Firms matching ``rule`` (an expression over indicators) get ``grade``; ``reason`` says why."""

    rule: str
    grade: str
    reason: str


@dataclass(frozen=True)
class Scored:
    """Scores of a snapshot, per firm: score (0–1000), grade (as an index into ``grades``), knock-out
    (index or -1), completeness, and every factor's points (factors × firms) for the reasons."""

    uscc: pa.ChunkedArray | pa.Array
    score: np.ndarray
    grade_index: np.ndarray
    grades: tuple[str, ...]
    knocked_out: np.ndarray
    completeness: np.ndarray
    points: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def grade(self) -> np.ndarray:
        """The grades as strings (an object array; for a million firms prefer :meth:`grade_array`)."""
        grades: np.ndarray = np.asarray(self.grades, dtype=object)[self.grade_index]
        return grades

    def grade_array(self) -> pa.Array:
        """The grades as an Arrow string array, built without a Python string per firm."""
        return pa.DictionaryArray.from_arrays(pa.array(self.grade_index), pa.array(self.grades)).cast(
            pa.string()
        )

    def grade_counts(self) -> dict[str, int]:
        counts = np.bincount(self.grade_index, minlength=len(self.grades))
        return {g: int(n) for g, n in zip(self.grades, counts, strict=True) if n}


@dataclass(frozen=True)
class ExpertScorecard:
    """An expert scorecard (see the module docstring). ``cutoffs``: (grade, minimum score), best first;
    the last grade takes everything below the others."""

    dimensions: tuple[DimensionWeight, ...]
    knockouts: tuple[KnockOut, ...]
    cutoffs: tuple[tuple[str, float], ...]
    min_completeness: float = 0.6

    # -- checks -----------------------------------------------------------------------------------------
    def validate(self) -> ExpertScorecard:
        """Return self if the configuration is sound; raise ModelConfigError naming the first problem."""
        if not self.dimensions:
            raise ModelConfigError("A scorecard needs at least one dimension")
        total = sum(d.weight for d in self.dimensions)
        if any(d.weight < 0 for d in self.dimensions) or not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ModelConfigError(
                "The dimension weights must be non-negative and add up to 1 (they add up to %(total)s)",
                total=round(total, 6),
            )
        seen: set[str] = set()
        for d in self.dimensions:
            if not d.factors:
                raise ModelConfigError(
                    "The dimension %(dimension)s has no indicators", dimension=d.dimension.value
                )
            for f in d.factors:
                if f.indicator not in _BY_ID:
                    raise ModelConfigError("There is no indicator called %(name)s", name=f.indicator)
                if f.indicator in seen:
                    raise ModelConfigError("The indicator %(name)s is scored twice", name=f.indicator)
                seen.add(f.indicator)
                _check_bands(f)
        return self.validate_grading()

    def validate_grading(self) -> ExpertScorecard:
        """Check the cut-offs, knock-out rules and minimum completeness (shared with statistical models)."""
        grades = [g for g, _ in self.cutoffs]
        minimums = [m for _, m in self.cutoffs]
        if len(grades) < 2 or len(set(grades)) != len(grades):
            raise ModelConfigError("Grade cut-offs need at least two distinct grades")
        if any(a <= b for a, b in itertools.pairwise(minimums)):
            raise ModelConfigError("Grade cut-offs must fall from the best grade to the worst")
        for k in self.knockouts:
            if k.grade not in grades:
                raise ModelConfigError(
                    "The knock-out grade %(grade)s is not one of the grades", grade=k.grade
                )
            try:
                compile_expression(k.rule, field_catalogue())
            except ExpressionError as exc:
                raise ModelConfigError(
                    "The knock-out rule “%(rule)s” is invalid: %(problem)s",
                    rule=k.rule,
                    problem=exc.message % exc.params if exc.params else exc.message,
                ) from None
        if not 0 <= self.min_completeness <= 1:
            raise ModelConfigError("The minimum completeness must be between 0 and 1")
        return self

    @property
    def indicator_ids(self) -> list[str]:
        """The indicators the scorecard reads."""
        return [f.indicator for d in self.dimensions for f in d.factors]

    @property
    def factors(self) -> list[tuple[Dimension, float, Factor]]:
        """Every factor with its dimension and its weight in the total (dimension weight / factors)."""
        return [(d.dimension, d.weight / len(d.factors), f) for d in self.dimensions for f in d.factors]

    # -- scoring ----------------------------------------------------------------------------------------
    def score(self, snapshot: pa.Table, *, details: bool = True) -> Scored:
        """Score every firm of an indicator snapshot (vectorised).

        With ``details`` the result keeps every factor's points and values, which :meth:`reasons` needs;
        rating a whole city leaves them out (a million firms × 35 factors is half a gigabyte).
        Knock-out rules run in DuckDB over a batch and, for a handful of firms (one firm's page), with the
        expression language's one-record evaluator, which gives the same answers without a connection.
        """
        factors = self.factors
        n = snapshot.num_rows
        # factors × firms: each factor's points are one contiguous row
        points = np.empty((len(factors), n) if details else (0, 0), dtype=np.float64)
        present = np.empty((len(factors), n) if details else (0, 0), dtype=bool)
        values: dict[str, np.ndarray] = {}
        total = np.zeros(n, dtype=np.float64)
        completeness = np.zeros(n, dtype=np.float64)
        factor_points = np.empty(n, dtype=np.float64)
        for j, (_, weight, f) in enumerate(factors):
            # as floats, NULL as NaN (booleans become 0/1)
            value = np.asarray(
                snapshot[f.indicator].cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
            )
            # the bands' upper bounds without the open last one: a value's band is how many it reaches;
            # NaN sorts past them all, to one more slot that holds the points for a missing value
            uppers = np.array([b.upper for b in f.bands[:-1]], dtype=np.float64)
            index = np.searchsorted(uppers, value, side="right")
            missing = np.isnan(value)
            np.putmask(index, missing, len(f.bands))
            slots = np.array([*(b.points for b in f.bands), f.missing_points], dtype=np.float64)
            np.take(slots, index, out=factor_points)
            total += weight * factor_points
            np.add(completeness, weight, out=completeness, where=~missing)
            if details:
                values[f.indicator] = value
                points[j] = factor_points
                np.logical_not(missing, out=present[j])
        score = np.round(10.0 * total, 1)
        grades = tuple(g for g, _ in self.cutoffs)
        grade_index = grade_indices(score, self.cutoffs)
        knocked = apply_knockouts(snapshot, self.knockouts, grades, grade_index)
        return Scored(snapshot["uscc"], score, grade_index, grades, knocked, completeness, points, values)

    def reasons(self, scored: Scored, row: int, *, top: int = 3) -> dict[str, Any]:
        """The reasons of one firm's rating: knock-out, what pulled the score down and up, completeness."""
        factors = [(f.indicator, weight) for _, weight, f in self.factors]
        knocked = int(scored.knocked_out[row])
        knock_out = self.knockouts[knocked].reason if knocked >= 0 else None
        return explain(factors, scored, row, knock_out, self.min_completeness, top=top)

    # -- records ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "dimensions": [
                {
                    "dimension": d.dimension.value,
                    "weight": d.weight,
                    "factors": [
                        {
                            "indicator": f.indicator,
                            "missing_points": f.missing_points,
                            "bands": [[b.upper, b.points] for b in f.bands],
                        }
                        for f in d.factors
                    ],
                }
                for d in self.dimensions
            ],
            "knockouts": [{"rule": k.rule, "grade": k.grade, "reason": k.reason} for k in self.knockouts],
            "cutoffs": [[g, m] for g, m in self.cutoffs],
            "min_completeness": self.min_completeness,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExpertScorecard:
        """Build and validate a scorecard from its stored form (ModelConfigError if it is unsound)."""
        try:
            dimensions = tuple(
                DimensionWeight(
                    Dimension(d["dimension"]),
                    float(d["weight"]),
                    tuple(
                        Factor(
                            str(f["indicator"]),
                            tuple(Band(None if u is None else float(u), int(p)) for u, p in f["bands"]),
                            int(f.get("missing_points", 50)),
                        )
                        for f in d["factors"]
                    ),
                )
                for d in data["dimensions"]
            )
            knockouts = tuple(
                KnockOut(str(k["rule"]), str(k["grade"]), str(k["reason"])) for k in data.get("knockouts", [])
            )
            cutoffs = tuple((str(g), float(m)) for g, m in data["cutoffs"])
            min_completeness = float(data.get("min_completeness", 0.6))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelConfigError(
                "The rating model configuration cannot be read: %(detail)s", detail=str(exc)
            ) from None
        return cls(dimensions, knockouts, cutoffs, min_completeness).validate()


def grade_indices(score: np.ndarray, cutoffs: Sequence[tuple[str, float]]) -> np.ndarray:
    """Index of each score's grade: cut-offs fall from the best grade, so it is the number of cut-offs
    (the last, open one aside) that the score fails to reach."""
    minimums = np.array([m for _, m in cutoffs[:-1]])
    return np.asarray((score[:, None] < minimums[None, :]).sum(axis=1).astype(np.int8))


def apply_knockouts(
    snapshot: pa.Table, knockouts: Sequence[KnockOut], grades: tuple[str, ...], grade_index: np.ndarray
) -> np.ndarray:
    """Set the grade of every firm that matches a knock-out rule (in place); return each firm's knock-out
    (index into ``knockouts``, -1 for none). The first matching rule wins.

    Rules run in DuckDB over a batch and, for a handful of firms (one firm's page), with the expression
    language's one-record evaluator, which gives the same answers without a connection.
    """
    n = snapshot.num_rows
    knocked = np.full(n, -1, dtype=np.int16)
    records = snapshot.to_pylist() if n <= _ONE_BY_ONE else None
    for k_index, knockout in reversed(list(enumerate(knockouts))):
        rule = compile_expression(knockout.rule, field_catalogue())
        if records is not None:
            hit = np.array([rule.matches(r) for r in records], dtype=bool)
        else:
            matches = rule.matches_batch(snapshot.select(sorted(rule.fields)))
            hit = np.asarray(matches.to_numpy(zero_copy_only=False), dtype=bool)
        knocked[hit] = k_index
        grade_index[hit] = grades.index(knockout.grade)
    return knocked


def explain(
    factors: Sequence[tuple[str, float]],
    scored: Scored,
    row: int,
    knock_out: str | None,
    min_completeness: float,
    *,
    top: int = 3,
) -> dict[str, Any]:
    """One firm's reasons from its factors' points (0–100 each, ``scored.points``) and their weights in the
    1000-point total: what pulled the score down most (largest weighted shortfall from 100 points), what
    held it up most (largest weighted points), the knock-out and the completeness."""
    weights = np.array([w for _, w in factors])
    points = scored.points[:, row]
    down = np.argsort(-(100.0 - points) * weights, kind="stable")[:top]
    up = np.argsort(-points * weights, kind="stable")[:top]

    def describe(j: int, pulled_down: bool) -> dict[str, Any]:
        indicator, weight = factors[j]
        item = _BY_ID[indicator]
        value = scored.values[indicator][row]
        return {
            "indicator": indicator,
            "name": item.name_zh,
            "value": None if np.isnan(value) else float(value),
            "unit": item.unit,
            "points": int(points[j]),
            # score points lost (negative) or earned by this factor, out of 1000
            "impact": round(float(10.0 * weight * (points[j] - 100.0 if pulled_down else points[j])), 1),
        }

    return {
        "knock_out": knock_out,
        "down": [describe(int(j), True) for j in down if points[j] < 100],
        "up": [describe(int(j), False) for j in up if points[j] > 0],
        "completeness": round(float(scored.completeness[row]), 3),
        "incomplete": bool(scored.completeness[row] < min_completeness),
    }


def _check_bands(f: Factor) -> None:
    if not f.bands:
        raise ModelConfigError("The indicator %(name)s has no scoring bands", name=f.indicator)
    uppers = [b.upper for b in f.bands]
    if uppers[-1] is not None or any(u is None for u in uppers[:-1]):
        raise ModelConfigError(
            "The last band of %(name)s must be open-ended, and only the last", name=f.indicator
        )
    finite = [u for u in uppers[:-1] if u is not None]
    if any(a >= b for a, b in itertools.pairwise(finite)):
        raise ModelConfigError("The bands of %(name)s overlap or are out of order", name=f.indicator)
    if any(not 0 <= b.points <= 100 for b in f.bands) or not 0 <= f.missing_points <= 100:
        raise ModelConfigError("The points of %(name)s must be between 0 and 100", name=f.indicator)


def _bands(*pairs: tuple[float | None, int]) -> tuple[Band, ...]:
    return tuple(Band(u, p) for u, p in pairs)


def _higher(*cuts: float) -> tuple[Band, ...]:
    """Bands for a higher-is-better indicator: below the first cut 0 points, rising evenly to 100."""
    step = 100 // len(cuts)
    return _bands(*[(c, i * step) for i, c in enumerate(cuts)], (None, 100))


def _lower(*cuts: float) -> tuple[Band, ...]:
    """Bands for a lower-is-better indicator: below the first cut 100 points, falling evenly to 0."""
    step = 100 // len(cuts)
    return _bands(*[(c, 100 - i * step) for i, c in enumerate(cuts)], (None, 0))


def default_scorecard() -> ExpertScorecard:
    """The shipped expert scorecard: twelve dimensions, Weihai-style grades A–D, dishonest debtors out.

    Weights follow what Chinese local platforms publish for SME ratings: operations and tax carry most,
    then employment and judicial risk. Operators re-tune them (e.g. lower tax growth in a crisis) by
    saving a new version.
    """
    F, D = Factor, DimensionWeight
    return ExpertScorecard(
        dimensions=(
            D(
                Dimension.STABILITY,
                0.08,
                (
                    F("age_years", _higher(1, 3, 5, 10)),
                    F("registered_capital", _higher(10, 50, 100, 500)),
                    F("legal_rep_changes_24m", _lower(1, 2), 100),
                ),
            ),
            D(
                Dimension.OPERATIONS,
                0.20,
                (
                    F("sales_12m", _higher(100_000, 1_000_000, 5_000_000, 20_000_000), 30),
                    F("sales_growth_12m", _higher(-0.3, -0.1, 0.0, 0.15)),
                    F("sales_trend_3m", _higher(-0.3, -0.1, 0.0, 0.1)),
                    F("months_with_sales_12m", _higher(6, 9, 11, 12), 30),
                ),
            ),
            D(
                Dimension.TAX,
                0.16,
                (
                    F("tax_paid_12m", _higher(1_000, 10_000, 100_000, 500_000), 30),
                    F("tax_growth_12m", _higher(-0.3, -0.1, 0.0, 0.15)),
                    F("tax_arrears_months_12m", _lower(1, 2, 4), 100),
                    F("tax_credit_score", _higher(2, 3, 4, 5)),
                ),
            ),
            D(
                Dimension.EMPLOYMENT,
                0.14,
                (
                    F("insured_latest", _higher(1, 5, 20, 100), 30),
                    F("headcount_growth_12m", _higher(-0.3, -0.1, 0.0, 0.1)),
                    F("turnover_rate_12m", _lower(0.1, 0.2, 0.35, 0.5)),
                    F("turnover_trend_6m", _lower(0.0, 0.5, 1.0, 2.0)),
                    F("ss_arrears_months_12m", _lower(1, 2, 4), 100),
                ),
            ),
            D(
                Dimension.HOUSING_FUND,
                0.04,
                (
                    F("hf_coverage", _higher(0.3, 0.6, 0.9), 40),
                    F("hf_arrears_months_latest", _lower(1, 3), 100),
                ),
            ),
            D(
                Dimension.UTILITIES,
                0.06,
                (
                    F("electricity_trend_3m", _higher(-0.3, -0.1, 0.0, 0.1)),
                    F("electricity_growth_12m", _higher(-0.3, -0.1, 0.0, 0.1)),
                    F("utility_arrears", _lower(1, 1_000, 10_000), 100),
                ),
            ),
            D(
                Dimension.JUDICIAL,
                0.12,
                (
                    F("defendant_cases_24m", _lower(1, 2, 4), 100),
                    F("enforcement_cases_24m", _lower(1, 2), 100),
                    F("open_cases", _lower(1, 3), 100),
                ),
            ),
            D(
                Dimension.PENALTIES,
                0.04,
                (
                    F("penalties_24m", _lower(1, 2, 4), 100),
                    F("serious_penalties_24m", _lower(1), 100),
                ),
            ),
            D(
                Dimension.INNOVATION,
                0.04,
                (
                    F("patents_valid", _higher(1, 3, 10), 0),
                    F("trademarks", _higher(1, 3), 0),
                ),
            ),
            D(Dimension.TRADE, 0.02, (F("customs_grade_score", _higher(2, 3), 50),)),
            D(
                Dimension.PUBLIC_CREDIT,
                0.06,
                (
                    F("public_credit_score", _higher(2, 3, 4)),
                    F("on_financial_risk_list", _lower(1), 100),
                    F("on_black_list", _lower(1), 100),
                ),
            ),
            D(
                Dimension.FINANCE,
                0.04,
                (
                    F("debt_ratio", _lower(0.5, 0.7, 0.85, 1.0)),
                    F("net_margin", _higher(-0.05, 0.0, 0.05, 0.1)),
                ),
            ),
        ),
        knockouts=default_knockouts(),
        cutoffs=DEFAULT_CUTOFFS,
    ).validate()


DEFAULT_CUTOFFS: tuple[tuple[str, float], ...] = (("A", 750.0), ("B", 600.0), ("C", 450.0), ("D", 0.0))

# Individual businesses (个体工商户) file no annual report, hold few patents or trademarks, rarely trade
# abroad and often have no housing fund: those dimensions would only mark them down for being what they are.
_NOT_FOR_INDIVIDUALS = frozenset(
    {Dimension.INNOVATION, Dimension.TRADE, Dimension.FINANCE, Dimension.HOUSING_FUND}
)
_INDIVIDUAL_WEIGHTS = {
    Dimension.STABILITY: 0.08,
    Dimension.OPERATIONS: 0.26,
    Dimension.TAX: 0.18,
    Dimension.EMPLOYMENT: 0.10,
    Dimension.UTILITIES: 0.10,
    Dimension.JUDICIAL: 0.14,
    Dimension.PENALTIES: 0.06,
    Dimension.PUBLIC_CREDIT: 0.08,
}


def default_knockouts() -> tuple[KnockOut, ...]:
    """The platform's knock-out rules: a dishonest judgment debtor, a closed firm, a firm on both the
    financial-risk list and the black list gets the lowest grade whatever its score."""
    return (
        KnockOut("on_dishonest_list", "D", "列入失信被执行人名单"),
        KnockOut("not is_active", "D", "企业已吊销或注销"),
        KnockOut("on_financial_risk_list and on_black_list", "D", "同时列入金融风险名单和黑名单"),
    )


def individual_business_scorecard() -> ExpertScorecard:
    """The shipped scorecard for individual businesses: the default one without innovation, trade,
    financial position (annual reports) and housing fund, and without registered capital; the weight
    moves to operations, tax, utilities and judicial risk."""
    base = default_scorecard()
    dimensions = tuple(
        DimensionWeight(
            d.dimension,
            _INDIVIDUAL_WEIGHTS[d.dimension],
            tuple(f for f in d.factors if f.indicator != "registered_capital"),
        )
        for d in base.dimensions
        if d.dimension not in _NOT_FOR_INDIVIDUALS
    )
    return ExpertScorecard(dimensions, base.knockouts, base.cutoffs, base.min_completeness).validate()


def scored_rows(scorecard: ExpertScorecard, scored: Scored, rows: Sequence[int]) -> list[dict[str, Any]]:
    """Reasons for some firms of a scored snapshot (for storing and showing)."""
    return [scorecard.reasons(scored, r) for r in rows]
