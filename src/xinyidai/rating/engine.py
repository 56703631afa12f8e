"""One way to rate with any model version: an expert scorecard or a statistical scorecard.

A ``RatingModel`` record becomes a *rater* (``rater_of``): something that scores an indicator snapshot
to 0–1000 with grades, knock-outs and completeness (``Scored``) and explains one firm (``reasons``).

A statistical scorecard (``rating.statistical``) earns log-odds points around its base score (600 at
odds 50:1 by default). As a rating model its points are rescaled linearly so that the worst bin of every
feature sums to 0 and the best to 1000: the ranking, and so AUC and KS, are unchanged, and each feature
becomes a factor worth its span of points, with 0–100 "points" of its own like an expert factor. Reasons
then read the same for both kinds: the factors with the largest weighted shortfall and contribution.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from xinyidai.core.expressions import compile_expression
from xinyidai.indicators.service import field_catalogue
from xinyidai.rating.expert import (
    ExpertScorecard,
    KnockOut,
    ModelConfigError,
    Scored,
    apply_knockouts,
    explain,
    grade_indices,
)
from xinyidai.rating.models import RatingModel
from xinyidai.rating.statistical import Scorecard, ScorecardConfigError

__all__ = ["Rater", "StatisticalRating", "columns_read", "explain_values", "quantile_cutoffs", "rater_of"]


class Rater(Protocol):
    """What rating needs of a model version."""

    @property
    def knockouts(self) -> tuple[KnockOut, ...]: ...

    @property
    def cutoffs(self) -> tuple[tuple[str, float], ...]: ...

    @property
    def indicator_ids(self) -> list[str]: ...

    def score(self, snapshot: pa.Table, *, details: bool = True) -> Scored: ...

    def reasons(self, scored: Scored, row: int, *, top: int = 3) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StatisticalRating:
    """A statistical scorecard as a rating model: 0–1000 points, grade cut-offs, the knock-out rules."""

    card: Scorecard
    cutoffs: tuple[tuple[str, float], ...]
    knockouts: tuple[KnockOut, ...] = ()
    min_completeness: float = 0.6

    @cached_property
    def spans(self) -> list[tuple[float, float]]:
        """Each feature's lowest and highest points (any bin, missing, or an unseen label's 0)."""
        out = []
        for f in self.card.features:
            candidates = [*f.points, f.missing_points, *([0.0] if f.kind == "categorical" else [])]
            out.append((min(candidates), max(candidates)))
        return out

    @property
    def weights(self) -> list[float]:
        """Each feature's share of the 1000 points (its span over the sum of spans)."""
        widths = [high - low for low, high in self.spans]
        total = sum(widths)
        return [w / total if total > 0 else 1.0 / len(widths) for w in widths]

    @property
    def indicator_ids(self) -> list[str]:
        return self.card.feature_names

    def raw_to_score(self, raw: np.ndarray) -> np.ndarray:
        """Scorecard points → 0–1000."""
        low = self.card.base_points + sum(lo for lo, _ in self.spans)
        total = sum(high - lo for lo, high in self.spans)
        return np.asarray(np.round(1000.0 * (raw - low) / total, 1) if total > 0 else np.zeros(raw.shape))

    def score(self, snapshot: pa.Table, *, details: bool = True) -> Scored:
        """Score every firm of an indicator snapshot (vectorised, like the expert scorecard)."""
        n = snapshot.num_rows
        features = self.card.features
        raw = np.full(n, self.card.base_points, dtype=np.float64)
        completeness = np.zeros(n, dtype=np.float64)
        points = np.empty((len(features), n) if details else (0, 0), dtype=np.float64)
        values: dict[str, np.ndarray] = {}
        for j, (f, (low, high)) in enumerate(zip(features, self.spans, strict=True)):
            index = f.bin_index(snapshot, n)
            contribution = np.array([*f.points, f.missing_points, 0.0], dtype=np.float64)[index]
            raw += contribution
            completeness += (index != len(f.points)) / len(features)
            if details:
                points[j] = 100.0 * (contribution - low) / (high - low) if high > low else 100.0
                values[f.name] = _as_float(snapshot, f.name)
        score = self.raw_to_score(raw)
        grades = tuple(g for g, _ in self.cutoffs)
        grade_index = grade_indices(score, self.cutoffs)
        knocked = apply_knockouts(snapshot, self.knockouts, grades, grade_index)
        return Scored(snapshot["uscc"], score, grade_index, grades, knocked, completeness, points, values)

    def reasons(self, scored: Scored, row: int, *, top: int = 3) -> dict[str, Any]:
        """Reasons in the expert scorecard's shape (the points are each feature's 0–100 standing)."""
        factors = list(zip(self.card.feature_names, self.weights, strict=True))
        knocked = int(scored.knocked_out[row])
        knock_out = self.knockouts[knocked].reason if knocked >= 0 else None
        return explain(factors, scored, row, knock_out, self.min_completeness, top=top)

    def to_config(self) -> dict[str, Any]:
        """The stored form: the scorecard's own record plus the grading (cut-offs, knock-outs)."""
        return {
            **self.card.to_dict(),
            "cutoffs": [[g, m] for g, m in self.cutoffs],
            "knockouts": [{"rule": k.rule, "grade": k.grade, "reason": k.reason} for k in self.knockouts],
            "min_completeness": self.min_completeness,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StatisticalRating:
        """Inverse of ``to_config``; ModelConfigError if the record cannot be used."""
        try:
            card = Scorecard.from_dict(config)
            cutoffs = tuple((str(g), float(m)) for g, m in config["cutoffs"])
            knockouts = tuple(
                KnockOut(str(k["rule"]), str(k["grade"]), str(k["reason"]))
                for k in config.get("knockouts", [])
            )
            min_completeness = float(config.get("min_completeness", 0.6))
        except (KeyError, TypeError, ValueError, ScorecardConfigError) as exc:
            raise ModelConfigError(
                "The rating model configuration cannot be read: %(detail)s", detail=str(exc)
            ) from None
        if not card.features:
            raise ModelConfigError("A statistical scorecard needs at least one feature")
        # The cut-offs and knock-outs are checked exactly as an expert scorecard's are.
        ExpertScorecard((), knockouts, cutoffs, min_completeness).validate_grading()
        return cls(card, cutoffs, knockouts, min_completeness)


def quantile_cutoffs(
    scores: np.ndarray, shares: Sequence[tuple[str, float]]
) -> tuple[tuple[str, float], ...]:
    """Cut-offs that put about the given shares of ``scores`` in each grade, best grade first.

    E.g. ``(("A", 0.25), ("B", 0.35), ("C", 0.25), ("D", 0.15))``: the best quarter is A. Used for a newly
    fitted statistical scorecard, whose scores have no meaning on the 0–1000 scale until graded.
    """
    cutoffs: list[tuple[str, float]] = []
    above = 0.0
    for grade, share in shares[:-1]:
        above += share
        minimum = float(np.round(np.quantile(scores, 1.0 - above), 1)) if scores.size else 0.0
        if cutoffs and minimum >= cutoffs[-1][1]:
            minimum = cutoffs[-1][1] - 0.1  # ties: keep the cut-offs strictly falling
        cutoffs.append((grade, minimum))
    cutoffs.append((shares[-1][0], min(0.0, cutoffs[-1][1] - 0.1) if cutoffs else 0.0))
    return tuple(cutoffs)


def columns_read(rater: ExpertScorecard | StatisticalRating) -> list[str]:
    """The snapshot columns a rater reads: its indicators, its knock-out rules' fields, the credit code."""
    fields = {f for k in rater.knockouts for f in compile_expression(k.rule, field_catalogue()).fields}
    return sorted({"uscc", *rater.indicator_ids, *fields})


def rater_of(model: RatingModel) -> ExpertScorecard | StatisticalRating:
    """The rater of a stored model version (ModelConfigError if its record is unsound)."""
    if model.kind == "expert":
        return ExpertScorecard.from_dict(model.config)
    if model.kind == "statistical":
        return StatisticalRating.from_config(model.config)
    raise ModelConfigError("The model kind %(kind)s is unknown", kind=model.kind)


def explain_values(
    rater: ExpertScorecard | StatisticalRating, values: Mapping[str, Any], knocked_out: int
) -> dict[str, Any]:
    """One firm's reasons from its stored indicator values and the knock-out its rating run found.

    The rater is applied without its knock-out rules (no rule evaluation per view): the same points,
    weights and completeness as the run.
    """
    one = pa.table({name: pa.array([values.get(name)]) for name in rater.indicator_ids})
    one = one.append_column("uscc", pa.array([""]))
    scored = dataclasses.replace(rater, knockouts=()).score(one)
    scored = dataclasses.replace(scored, knocked_out=np.array([knocked_out], dtype=np.int16))
    return rater.reasons(scored, 0)


def _as_float(snapshot: pa.Table, name: str) -> np.ndarray:
    column = snapshot[name]
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return np.full(snapshot.num_rows, np.nan)
    return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
