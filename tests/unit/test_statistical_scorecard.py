"""The statistical scorecard: fitting on a known signal, scoring as pure data, evidence, bad configuration."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from xinyidai.core.errors import ValidationFailed
from xinyidai.rating.statistical import (
    Scaling,
    Scorecard,
    ScorecardConfigError,
    assign_grades,
    auc,
    backtest,
    default_rate_by_grade,
    fit_scorecard,
    gini,
    information_value,
    ks,
    psi,
)

N = 6000


def _synthetic(n: int = N, seed: int = 7) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Enterprises whose default risk falls with tax paid, rises with overdue days, and with sector."""
    rng = np.random.default_rng(seed)
    tax = rng.lognormal(10, 1, n)
    overdue = rng.poisson(3, n).astype(float)
    noise = rng.normal(size=n)
    sector = rng.choice(np.array(["retail", "factory", "software"], dtype=object), n)
    sector_risk = np.select([sector == "retail", sector == "factory"], [0.6, 0.0], -0.6)
    logit = -1.2 - 0.9 * (np.log(tax) - 10) + 0.35 * (overdue - 3) + sector_risk
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    tax[rng.random(n) < 0.08] = np.nan  # not reported by the tax bureau
    return {"tax_paid_12m": tax, "overdue_days": overdue, "noise": noise, "sector": sector}, target


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, dict[str, np.ndarray], np.ndarray]:
    features, target = _synthetic()
    card = fit_scorecard(
        features,
        target,
        feature_names=["tax_paid_12m", "overdue_days", "noise", "sector"],
        grade_cutoffs={"A": 620, "B": 590, "C": 560, "D": 0},
        fitted_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    return card, features, target


def test_ranks_a_known_signal_out_of_sample(fitted):
    card, _, _ = fitted
    features, target = _synthetic(seed=8)
    scores = card.score(features)
    assert auc(scores, target) > 0.72
    assert card.evidence is not None and card.evidence.auc > 0.72
    assert {"tax_paid_12m", "overdue_days", "sector"} <= set(card.feature_names)
    assert ("noise", "iv_below_minimum") in card.dropped


def test_scores_are_monotone_in_a_monotone_feature(fitted):
    card, _, _ = fitted
    grid = np.linspace(1e3, 5e5, 400)
    features = {
        "tax_paid_12m": grid,
        "overdue_days": np.full(grid.size, 3.0),
        "sector": np.full(grid.size, "factory", dtype=object),
    }
    scores = card.score(features)
    assert np.all(np.diff(scores) >= 0)
    assert scores[-1] > scores[0]
    tax = next(f for f in card.features if f.name == "tax_paid_12m")
    assert list(tax.points) == sorted(tax.points)
    assert tax.coefficient < 0


def test_round_trip_through_json_scores_identically(fitted):
    card, features, _ = fitted
    stored = json.loads(json.dumps(card.to_dict(), allow_nan=False))
    again = Scorecard.from_dict(stored)
    assert again == card
    np.testing.assert_array_equal(again.score(features), card.score(features))
    assert len(card.training_sha256) == 64
    assert card.fitted_at == "2026-12-01T00:00:00+00:00"


def test_same_data_same_hash_and_model(fitted):
    card, features, target = fitted
    again = fit_scorecard(
        features,
        target,
        feature_names=["tax_paid_12m", "overdue_days", "noise", "sector"],
        grade_cutoffs={"A": 620, "B": 590, "C": 560, "D": 0},
        fitted_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert again.training_sha256 == card.training_sha256
    np.testing.assert_allclose(again.score(features), card.score(features))


def test_contributions_sum_to_the_score(fitted):
    card, features, _ = fitted
    parts = card.contributions(features)
    assert set(parts) == set(card.feature_names)
    np.testing.assert_allclose(card.base_points + sum(parts.values()), card.score(features))


def test_missing_values_score_with_their_own_bin(fitted):
    card, _, _ = fitted
    tax = next(f for f in card.features if f.name == "tax_paid_12m")
    assert tax.missing_count > 0
    values = np.array([np.nan, 1e4, np.nan])
    points = tax.points_of({"tax_paid_12m": values})
    assert points[0] == points[2] == tax.missing_points
    # None in an object column and a null in Arrow are missing too.
    as_objects = tax.points_of({"tax_paid_12m": np.array([None, 1e4], dtype=object)})
    as_arrow = tax.points_of(pa.table({"tax_paid_12m": pa.array([None, 1e4], pa.float64())}))
    np.testing.assert_array_equal(as_objects, points[:2])
    np.testing.assert_array_equal(as_arrow, points[:2])


def test_unseen_category_scores_as_the_average(fitted):
    card, _, _ = fitted
    sector = next(f for f in card.features if f.name == "sector")
    points = sector.points_of({"sector": np.array(["mining", "retail"], dtype=object)})
    assert points[0] == 0.0
    assert points[1] < 0  # retail is the riskiest sector in the synthetic data


def test_table_and_mapping_score_the_same(fitted):
    card, features, _ = fitted
    table = pa.table({name: pa.array(values, from_pandas=True) for name, values in features.items()})
    np.testing.assert_allclose(card.score(table), card.score(features))


def test_points_follow_the_scaling(fitted):
    card, features, _ = fitted
    scaling = card.scaling
    assert scaling.score_for_probability(1 / 51) == pytest.approx(600.0)
    assert scaling.score_for_probability(1 / 101) - scaling.score_for_probability(1 / 51) == pytest.approx(
        20.0, abs=0.3
    )
    # The score is the logistic regression's prediction on the points scale.
    scores = card.score(features)
    pd_ = card.probability_of_default(scores)
    np.testing.assert_allclose(scaling.score_for_probability(float(pd_[0])), scores[0])


def test_backtest_reports_evidence(fitted):
    card, _, _ = fitted
    features, target = _synthetic(seed=9)
    evidence = backtest(card, features, target, cutoffs=[("A", 620), ("B", 590), ("C", 560), ("D", 0)])
    assert evidence.n == N and evidence.n_bad == int(target.sum())
    assert evidence.auc > 0.72 and evidence.ks > 0.3
    assert evidence.gini == pytest.approx(2 * evidence.auc - 1)
    assert evidence.psi is not None and evidence.psi < 0.05
    assert set(evidence.iv) == set(card.feature_names)
    rates = [g.default_rate for g in evidence.grades if g.n > 0]
    assert rates == sorted(rates)  # better grades default less


def test_auc_ks_gini_match_scikit_learn():
    rng = np.random.default_rng(3)
    target = rng.integers(0, 2, 3000)
    scores = np.round(rng.normal(size=3000) - 0.8 * target, 1)  # rounded: ties are counted half
    assert auc(scores, target) == pytest.approx(roc_auc_score(target, -scores))
    fpr, tpr, _ = roc_curve(target, -scores)
    assert ks(scores, target) == pytest.approx(np.max(tpr - fpr))
    assert gini(scores, target) == pytest.approx(2 * roc_auc_score(target, -scores) - 1)


def test_psi_of_identical_and_shifted_distributions():
    rng = np.random.default_rng(4)
    before = rng.normal(600, 40, 20_000)
    assert psi(before, before) == pytest.approx(0.0, abs=1e-12)
    assert psi(before, rng.normal(600, 40, 20_000)) < 0.01
    assert psi(before, rng.normal(640, 40, 20_000)) > 0.25


def test_information_value_finds_the_signal():
    rng = np.random.default_rng(5)
    x = rng.normal(size=5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-2 * x))).astype(int)
    assert information_value(x, y) > 0.5
    assert information_value(rng.normal(size=5000), y) < 0.02


def test_grades_and_default_rates():
    scores = np.array([700, 650, 600, 550, 500, 10])
    outcomes = np.array([0, 0, 0, 1, 1, 1])
    cutoffs = {"A": 640, "B": 590, "C": 0}
    assert list(assign_grades(scores, cutoffs)) == ["A", "A", "B", "C", "C", "C"]
    rows = default_rate_by_grade(scores, outcomes, cutoffs)
    assert [(r.grade, r.n, r.n_bad, r.default_rate) for r in rows] == [
        ("A", 2, 0, 0.0),
        ("B", 1, 0, 0.0),
        ("C", 3, 3, 1.0),
    ]


def test_scores_many_enterprises_at_once(fitted):
    card, _, _ = fitted
    n = 200_000
    rng = np.random.default_rng(6)
    features = {
        "tax_paid_12m": rng.lognormal(10, 1, n),
        "overdue_days": rng.poisson(3, n).astype(float),
        "sector": rng.choice(np.array(["retail", "factory", "software"], dtype=object), n),
    }
    scores = card.score(features)
    assert scores.shape == (n,) and np.isfinite(scores).all()


BAD_CONFIGURATIONS = [
    ({"feature_names": ["tax_paid_12m", "turnover"]}, "turnover"),
    ({"feature_names": []}, "empty"),
    ({"feature_names": ["noise", "noise"]}, "more than once"),
    ({"pdo": 0}, "pdo"),
    ({"pdo": -20}, "pdo"),
    ({"base_odds": 0}, "base odds"),
    ({"min_bin_size": 0.0}, "minimum bin size"),
    ({"min_bin_size": 0.7}, "minimum bin size"),
    ({"max_n_bins": 1}, "maximum number of bins"),
    ({"monotonic_trend": "sideways"}, "sideways"),
    ({"monotonic_trend": {"turnover": "ascending"}}, "turnover"),
    ({"min_iv": -0.1}, "information value"),
    ({"c": 0}, "regularisation"),
    ({"prebinning": "magic"}, "magic"),
    ({"min_iv": 5.0}, "No feature reaches"),
]


@pytest.mark.parametrize(("override", "named"), BAD_CONFIGURATIONS)
def test_bad_configuration_is_refused_naming_the_problem(override, named):
    features, target = _synthetic(n=300)
    options = {"feature_names": ["tax_paid_12m", "noise"], **override}
    with pytest.raises(ScorecardConfigError) as caught:
        fit_scorecard(features, target, **options)
    assert named in str(caught.value)
    assert isinstance(caught.value, ValidationFailed)


@pytest.mark.parametrize(
    ("target", "named"),
    [
        (np.full(300, 2), "only 0 (repaid) and 1 (defaulted)"),
        (np.array(["good"] * 300, dtype=object), "only 0 (repaid) and 1 (defaulted)"),
        (np.zeros(300), "both defaulted and repaid"),
        (np.ones(300), "both defaulted and repaid"),
        (np.r_[np.zeros(10), np.ones(10)], "At least"),
        (np.r_[np.zeros(100), np.ones(100)], "has 300 values but the target has 200"),
    ],
)
def test_bad_target_is_refused(target, named):
    features, _ = _synthetic(n=300)
    if target.size == 20:
        features = {k: v[:20] for k, v in features.items()}
    with pytest.raises(ScorecardConfigError, match=re.escape(named)):
        fit_scorecard(features, target, feature_names=["tax_paid_12m"])


def test_text_in_a_numeric_bin_is_refused(fitted):
    card, _, _ = fitted
    tax = next(f for f in card.features if f.name == "tax_paid_12m")
    with pytest.raises(ScorecardConfigError, match="must be numeric"):
        tax.points_of({"tax_paid_12m": np.array(["a lot"], dtype=object)})
    with pytest.raises(ScorecardConfigError, match="does not exist"):
        card.score({"tax_paid_12m": np.ones(3)})


def test_malformed_record_and_scaling_are_refused(fitted):
    card, _, _ = fitted
    record = card.to_dict()
    with pytest.raises(ScorecardConfigError, match="malformed"):
        Scorecard.from_dict({**record, "format": 99})
    broken = json.loads(json.dumps(record))
    broken["features"][0]["points"] = broken["features"][0]["points"][:-1]
    with pytest.raises(ScorecardConfigError, match="malformed"):
        Scorecard.from_dict(broken)
    with pytest.raises(ScorecardConfigError, match="pdo"):
        Scaling(pdo=float("nan"))
