"""Back-testing a stored scorecard version on enterprises whose outcome is now known."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from xinyidai.rating.statistical.columns import FeatureData
from xinyidai.rating.statistical.errors import ScorecardConfigError
from xinyidai.rating.statistical.evidence import Cutoffs, Evidence, iv_from_bins, measure, psi_from_shares
from xinyidai.rating.statistical.model import Scorecard


def backtest(
    scorecard: Scorecard,
    features: FeatureData,
    target: ArrayLike,
    *,
    cutoffs: Cutoffs | None = None,
) -> Evidence:
    """How a scorecard version performs on a later period: AUC, KS, Gini, IV, PSI, grades.

    Args:
        scorecard: the model version.
        features: the enterprises' features in the later period.
        target: 1 defaulted, 0 repaid, per enterprise.
        cutoffs: grade → minimum score, to report the default rate per grade.

    PSI compares this period's scores with the training scores stored in the version; IV is each
    feature's information value over the scorecard's own bins on this period.
    """
    y = np.asarray(target).ravel()
    if not np.all((y == 0) | (y == 1)):
        raise ScorecardConfigError(
            "The target must contain only 0 (repaid) and 1 (defaulted); found %(value)s",
            field="target",
            value=str(y[~((y == 0) | (y == 1))][0]),
        )
    bad = y == 1
    scores = scorecard.score(features)
    iv = {
        f.name: iv_from_bins(f.bin_index(features, y.size), bad, len(f.points) + 2)
        for f in scorecard.features
    }
    stability = (
        psi_from_shares(scorecard.score_edges, scorecard.score_shares, scores)
        if scorecard.score_shares
        else None
    )
    return measure(scores, y, iv=iv, psi=stability, cutoffs=cutoffs)
