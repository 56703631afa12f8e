"""Statistical scorecards trained on outcomes (信用评分卡): fit, score, explain, back-test.

A scorecard turns an enterprise's indicators into points: each indicator is cut into a few bins (an
interval of values or a group of labels, missing values in a bin of their own), each bin earns points,
and the credit score is the sum. Higher scores mean less risk; the points come from a logistic regression
on the weight of evidence of the bins, scaled so that ``pdo`` points double the odds of repayment.

- ``fit_scorecard`` — train a version on enterprises with known outcomes (optbinning + scikit-learn);
- ``Scorecard`` — the version as pure data (``to_dict``/``from_dict`` for the model-version record),
  ``score`` and ``contributions`` vectorised with numpy;
- ``backtest`` and the evidence functions — AUC, KS, Gini, IV, PSI and default rate per grade.
"""

from xinyidai.rating.statistical.backtest import backtest
from xinyidai.rating.statistical.columns import FeatureData, training_data_sha256
from xinyidai.rating.statistical.errors import ScorecardConfigError
from xinyidai.rating.statistical.evidence import (
    Cutoffs,
    Evidence,
    GradeRate,
    assign_grades,
    auc,
    default_rate_by_grade,
    gini,
    information_value,
    ks,
    psi,
    psi_from_shares,
)
from xinyidai.rating.statistical.fit import MONOTONIC_TRENDS, fit_scorecard
from xinyidai.rating.statistical.model import FeatureBins, Scaling, Scorecard

__all__ = [
    "MONOTONIC_TRENDS",
    "Cutoffs",
    "Evidence",
    "FeatureBins",
    "FeatureData",
    "GradeRate",
    "Scaling",
    "Scorecard",
    "ScorecardConfigError",
    "assign_grades",
    "auc",
    "backtest",
    "default_rate_by_grade",
    "fit_scorecard",
    "gini",
    "information_value",
    "ks",
    "psi",
    "psi_from_shares",
    "training_data_sha256",
]
