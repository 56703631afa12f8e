"""A statistical scorecard version as pure data, and scoring as a pure function of it.

A ``Scorecard`` is what gets stored as a model-version record: for each feature its bins, the weight of
evidence (WOE) and the points of each bin, the points for a missing value; the logistic-regression
intercept and coefficients; the points scaling; the SHA-256 of the training data; when it was fitted and
the evidence measured then. Nothing else is needed to score: ``score`` and ``contributions`` look each
value's bin up with ``numpy.searchsorted`` (millions of enterprises per second, no per-row Python).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from xinyidai.rating.statistical.columns import (
    FeatureData,
    FloatArray,
    IntArray,
    category_column,
    numeric_column,
    row_count,
)
from xinyidai.rating.statistical.errors import ScorecardConfigError
from xinyidai.rating.statistical.evidence import Evidence

FORMAT_VERSION = 1
"""Version of the ``to_dict`` layout; ``from_dict`` refuses layouts it does not know."""

FeatureKind = Literal["numerical", "categorical"]


@dataclass(frozen=True)
class Scaling:
    """How log-odds become points (the conventional "points to double the odds" scaling).

    An enterprise with odds repaid:defaulted of ``base_odds``:1 scores ``base_score`` points, and every
    ``pdo`` more points doubles those odds. With the defaults (600 points at 50:1, pdo 20), 620 points
    means 100:1 (PD ≈ 1.0 %), 580 means 25:1 (PD ≈ 3.8 %).

    ``score = offset + factor · ln(odds repaid:defaulted)`` with ``factor = pdo / ln 2`` and
    ``offset = base_score − factor · ln(base_odds)``.
    """

    pdo: float = 20.0
    base_score: float = 600.0
    base_odds: float = 50.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.pdo) and self.pdo > 0):
            raise ScorecardConfigError(
                "Points to double the odds (pdo) must be positive; got %(value)s", field="pdo", value=self.pdo
            )
        if not (math.isfinite(self.base_odds) and self.base_odds > 0):
            raise ScorecardConfigError(
                "The base odds must be positive; got %(value)s", field="base_odds", value=self.base_odds
            )
        if not math.isfinite(self.base_score):
            raise ScorecardConfigError(
                "The base score must be a finite number; got %(value)s",
                field="base_score",
                value=self.base_score,
            )

    @property
    def factor(self) -> float:
        """Points per unit of log-odds."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """The score at even odds (1:1, PD 50 %)."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def score_for_probability(self, probability_of_default: float) -> float:
        """The score at which the model's probability of default equals ``probability_of_default``."""
        p = float(probability_of_default)
        if not 0.0 < p < 1.0:
            raise ScorecardConfigError(
                "A probability of default must be strictly between 0 and 1; got %(value)s",
                field="probability_of_default",
                value=p,
            )
        return self.offset + self.factor * math.log((1.0 - p) / p)


@dataclass(frozen=True)
class FeatureBins:
    """One feature of a scorecard: its bins and the points each bin earns.

    Attributes:
        name: the indicator, e.g. ``tax_paid_12m``.
        kind: ``numerical`` (bins are intervals) or ``categorical`` (bins are sets of labels).
        edges: numerical split points; a value ``v`` is in bin ``i`` when ``edges[i-1] ≤ v < edges[i]``.
        categories: categorical labels of each bin; a label never seen in training scores 0 points
            (the population average).
        woe: weight of evidence of each bin, ``ln(%repaid / %defaulted)``: positive = safer than average.
        points: points of each bin (already multiplied by the coefficient and the scaling factor).
        missing_woe, missing_points: the bin of a missing value; WOE 0 (the population average) when
            training had fewer missing values than the minimum bin size, too few to estimate.
        coefficient: logistic-regression coefficient on the WOE (negative: higher WOE, lower PD).
        iv: information value on the training data.
        counts, bad_rates: enterprises and observed default rate per bin in training.
        missing_count, missing_bad_rate: the same for missing values.
    """

    name: str
    kind: FeatureKind
    woe: tuple[float, ...]
    points: tuple[float, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[tuple[str, ...], ...] = ()
    missing_woe: float = 0.0
    missing_points: float = 0.0
    coefficient: float = 0.0
    iv: float = 0.0
    counts: tuple[int, ...] = ()
    bad_rates: tuple[float, ...] = ()
    missing_count: int = 0
    missing_bad_rate: float | None = None

    def __post_init__(self) -> None:
        n_bins = len(self.points)
        if self.kind not in ("numerical", "categorical"):
            raise ScorecardConfigError(
                "The stored scorecard is malformed: %(problem)s", problem=f"{self.name}: kind {self.kind!r}"
            )
        expected = len(self.edges) + 1 if self.kind == "numerical" else len(self.categories)
        if n_bins == 0 or len(self.woe) != n_bins or expected != n_bins:
            raise ScorecardConfigError(
                "The stored scorecard is malformed: %(problem)s",
                problem=f"{self.name}: {n_bins} points for {expected} bins",
            )
        if list(self.edges) != sorted(set(self.edges)):
            raise ScorecardConfigError(
                "The stored scorecard is malformed: %(problem)s",
                problem=f"{self.name}: edges not strictly increasing",
            )

    def bin_labels(self) -> list[str]:
        """Readable bin names, e.g. ``[-inf, 3.5)``, ``[3.5, 10)``, ``[10, inf)`` or ``A, B``."""
        if self.kind == "categorical":
            return [", ".join(labels) for labels in self.categories]
        bounds = [-math.inf, *self.edges, math.inf]
        return [f"[{bounds[i]:.6g}, {bounds[i + 1]:.6g})" for i in range(len(self.points))]

    def index_values(self, values: FloatArray) -> IntArray:
        """Bin of each numeric value: ``0 … n_bins−1``, ``n_bins`` for missing (NaN)."""
        index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), values, side="right")
        index[np.isnan(values)] = len(self.points)
        return index.astype(np.int64, copy=False)

    def index_codes(self, codes: IntArray, labels: Sequence[str]) -> IntArray:
        """Bin of each encoded label: ``n_bins`` for missing (code −1), ``n_bins+1`` for an unseen label."""
        n_bins = len(self.points)
        bin_of_label = {label: i for i, members in enumerate(self.categories) for label in members}
        # Python only over the distinct labels (a handful); the rows are mapped by numpy indexing.
        lookup = np.array(
            [bin_of_label.get(label, n_bins + 1) for label in labels] + [n_bins], dtype=np.int64
        )
        return lookup[codes]

    def bin_index(self, data: FeatureData, rows: int | None = None) -> IntArray:
        """Bin of each enterprise: ``0 … n_bins−1``, ``n_bins`` for missing, ``n_bins+1`` unseen label."""
        if self.kind == "numerical":
            return self.index_values(numeric_column(data, self.name, rows))
        return self.index_codes(*category_column(data, self.name, rows))

    def points_of(self, data: FeatureData, rows: int | None = None) -> FloatArray:
        """Points each enterprise earns on this feature."""
        table = np.array([*self.points, self.missing_points, 0.0], dtype=np.float64)
        return table[self.bin_index(data, rows)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (no NaN/inf: bin edges are finite split points)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "edges": list(self.edges),
            "categories": [list(c) for c in self.categories],
            "woe": list(self.woe),
            "points": list(self.points),
            "missing_woe": self.missing_woe,
            "missing_points": self.missing_points,
            "coefficient": self.coefficient,
            "iv": self.iv,
            "counts": list(self.counts),
            "bad_rates": list(self.bad_rates),
            "missing_count": self.missing_count,
            "missing_bad_rate": self.missing_bad_rate,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureBins:
        """Inverse of ``to_dict``."""
        kind = str(data["kind"])
        if kind not in ("numerical", "categorical"):
            raise ScorecardConfigError(
                "The stored scorecard is malformed: %(problem)s", problem=f"kind {kind!r}"
            )
        return cls(
            name=str(data["name"]),
            kind="numerical" if kind == "numerical" else "categorical",
            edges=tuple(float(e) for e in data.get("edges", [])),
            categories=tuple(tuple(str(c) for c in members) for members in data.get("categories", [])),
            woe=tuple(float(w) for w in data["woe"]),
            points=tuple(float(p) for p in data["points"]),
            missing_woe=float(data.get("missing_woe", 0.0)),
            missing_points=float(data.get("missing_points", 0.0)),
            coefficient=float(data.get("coefficient", 0.0)),
            iv=float(data.get("iv", 0.0)),
            counts=tuple(int(c) for c in data.get("counts", [])),
            bad_rates=tuple(float(r) for r in data.get("bad_rates", [])),
            missing_count=int(data.get("missing_count", 0)),
            missing_bad_rate=None
            if data.get("missing_bad_rate") is None
            else float(data["missing_bad_rate"]),
        )


@dataclass(frozen=True)
class Scorecard:
    """One version of a statistical scorecard, as data (store it with ``to_dict``).

    ``score = base_points + Σ points of the bin each feature falls in``; higher = less risk. The
    probability of default implied by a score is ``1 / (1 + exp((score − offset) / factor))``
    (see ``Scaling``), exactly the logistic regression's prediction.

    Attributes:
        features: the features kept, in model order.
        intercept: logistic-regression intercept (log-odds of default at WOE 0 everywhere).
        base_points: points everyone starts with, ``offset − factor · intercept``.
        scaling: points scaling.
        training_sha256: SHA-256 of the training data (see ``columns.training_data_sha256``).
        fitted_at: ISO 8601 UTC time of fitting.
        n_train, n_bad: training rows and defaults among them.
        dropped: features left out and why (``single_bin``, ``iv_below_minimum``, ``correlated``,
            ``wrong_sign``).
        config: the fitting parameters, so the version can be re-fitted.
        score_edges, score_shares: the training score distribution (deciles), for PSI later.
        evidence: AUC, KS, Gini, IV and grades measured on the training data.
        versions: library versions used to fit.
    """

    features: tuple[FeatureBins, ...]
    intercept: float
    base_points: float
    scaling: Scaling = field(default_factory=Scaling)
    training_sha256: str = ""
    fitted_at: str = ""
    n_train: int = 0
    n_bad: int = 0
    dropped: tuple[tuple[str, str], ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    score_edges: tuple[float, ...] = ()
    score_shares: tuple[float, ...] = ()
    evidence: Evidence | None = None
    versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Names of the features the scorecard reads, in model order."""
        return [f.name for f in self.features]

    def _rows(self, data: FeatureData) -> int:
        return row_count(data, self.features[0].name) if self.features else 0

    def contributions(self, data: FeatureData) -> dict[str, FloatArray]:
        """Points each feature adds for each enterprise (``score = base_points + Σ contributions``).

        Positive points pull the score up (safer than average on that feature), negative pull it down:
        sorting them gives "the factors that pulled the score down or up most".
        """
        rows = self._rows(data)
        return {f.name: f.points_of(data, rows) for f in self.features}

    def score(self, data: FeatureData) -> FloatArray:
        """Credit score of each enterprise (float64 array, higher = less risk)."""
        rows = self._rows(data)
        total = np.full(rows, self.base_points, dtype=np.float64)
        for f in self.features:
            total += f.points_of(data, rows)
        return total

    def probability_of_default(self, scores: ArrayLike) -> FloatArray:
        """The model's probability of default (0–1) for given scores."""
        s = np.asarray(scores, dtype=np.float64)
        return np.asarray(1.0 / (1.0 + np.exp((s - self.scaling.offset) / self.scaling.factor)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for a model-version record (``json.dumps`` works on it as is)."""
        return {
            "format": FORMAT_VERSION,
            "features": [f.to_dict() for f in self.features],
            "intercept": self.intercept,
            "base_points": self.base_points,
            "scaling": {
                "pdo": self.scaling.pdo,
                "base_score": self.scaling.base_score,
                "base_odds": self.scaling.base_odds,
            },
            "training_sha256": self.training_sha256,
            "fitted_at": self.fitted_at,
            "n_train": self.n_train,
            "n_bad": self.n_bad,
            "dropped": [list(d) for d in self.dropped],
            "config": dict(self.config),
            "score_edges": list(self.score_edges),
            "score_shares": list(self.score_shares),
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
            "versions": dict(self.versions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        """Rebuild a stored version; it scores exactly as the one that was stored.

        Raises:
            ScorecardConfigError: the record is not a scorecard of a known layout.
        """
        if data.get("format") != FORMAT_VERSION:
            raise ScorecardConfigError(
                "The stored scorecard is malformed: %(problem)s", problem=f"format {data.get('format')!r}"
            )
        try:
            scaling = data["scaling"]
            return cls(
                features=tuple(FeatureBins.from_dict(f) for f in data["features"]),
                intercept=float(data["intercept"]),
                base_points=float(data["base_points"]),
                scaling=Scaling(
                    float(scaling["pdo"]), float(scaling["base_score"]), float(scaling["base_odds"])
                ),
                training_sha256=str(data.get("training_sha256", "")),
                fitted_at=str(data.get("fitted_at", "")),
                n_train=int(data.get("n_train", 0)),
                n_bad=int(data.get("n_bad", 0)),
                dropped=tuple((str(a), str(b)) for a, b in data.get("dropped", [])),
                config=dict(data.get("config", {})),
                score_edges=tuple(float(e) for e in data.get("score_edges", [])),
                score_shares=tuple(float(s) for s in data.get("score_shares", [])),
                evidence=None if data.get("evidence") is None else Evidence.from_dict(data["evidence"]),
                versions={str(k): str(v) for k, v in data.get("versions", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScorecardConfigError(
                "The stored scorecard is malformed: %(problem)s", problem=f"{type(exc).__name__}: {exc}"
            ) from None
