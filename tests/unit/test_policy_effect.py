"""Policy effect: the difference-in-differences estimate, its interval and the matching, on known numbers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from xinyidai.policies.effect import Firm, _estimate, did_estimate, match, nearest, t_quantile_975


def firm(uscc: str, tax: tuple[float, float], division: str = "13", size: str = "small") -> Firm:
    return Firm(
        uscc,
        division,
        size,
        {"tax": tax[0], "insured": 20.0, "patents": 0.0},
        {"tax": tax[1], "insured": 20.0, "patents": 0.0},
    )


def test_t_quantiles_match_the_tables() -> None:
    assert t_quantile_975(1) == pytest.approx(12.706)
    assert t_quantile_975(10) == pytest.approx(2.228)
    assert t_quantile_975(30) == pytest.approx(2.042)
    assert t_quantile_975(40) == pytest.approx(2.021, abs=1e-3)  # Cornish–Fisher beyond the table
    assert t_quantile_975(120) == pytest.approx(1.980, abs=1e-3)
    assert t_quantile_975(10_000) == pytest.approx(1.96, abs=1e-3)
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_did_estimate_is_the_mean_difference_with_a_t_interval() -> None:
    effect, se, low, high = did_estimate([1.0, 2.0, 3.0, 4.0])
    assert effect == 2.5
    assert se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert low == pytest.approx(2.5 - 3.182 * se)  # type: ignore[operator]
    assert high == pytest.approx(2.5 + 3.182 * se)  # type: ignore[operator]
    assert did_estimate([]) == (None, None, None, None)
    assert did_estimate([5.0]) == (5.0, None, None, None)


def test_the_interval_covers_a_known_effect() -> None:
    rng = random.Random(3)
    treated, groups = [], []
    for i in range(60):
        base = rng.uniform(1000, 5000)
        trend = rng.gauss(100, 30)
        treated.append(firm(f"T{i}", (base, base + trend + 500 + rng.gauss(0, 50))))
        groups.append([firm(f"C{i}{j}", (base, base + trend + rng.gauss(0, 50))) for j in range(3)])
    estimate = _estimate("tax", "Tax", treated, groups)
    assert estimate.n == 60
    assert estimate.low is not None and estimate.high is not None
    assert estimate.low < 500 < estimate.high and estimate.significant
    assert estimate.treated_post - estimate.treated_pre - (estimate.control_post - estimate.control_pre) == (  # type: ignore[operator]
        pytest.approx(estimate.effect)
    )


def test_no_effect_is_not_significant() -> None:
    rng = random.Random(5)
    treated = [firm(f"T{i}", (1000.0, 1100 + rng.gauss(0, 80))) for i in range(40)]
    groups = [[firm(f"C{i}", (1000.0, 1100 + rng.gauss(0, 80)))] for i in range(40)]
    estimate = _estimate("tax", "Tax", treated, groups)
    assert estimate.low is not None and estimate.low < 0 < estimate.high  # type: ignore[operator]


def test_missing_data_leaves_a_pair_out() -> None:
    treated = [firm("T1", (100.0, 200.0)), Firm("T2", "13", "small", {"tax": None}, {"tax": 5.0})]
    groups = [[firm("C1", (100.0, 150.0))], [firm("C2", (100.0, 150.0))]]
    estimate = _estimate("tax", "Tax", treated, groups)
    assert estimate.n == 1 and estimate.effect == 50.0 and estimate.low is None


def test_nearest_orders_by_distance() -> None:
    features = np.array([[0.0, 0.0], [5.0, 5.0], [1.0, 1.0], [2.0, 2.0]])
    assert nearest(features, np.array([0.9, 0.9]), 2).tolist() == [2, 0]
    assert nearest(features, np.array([9.0, 9.0]), 10).tolist() == [1, 3, 2, 0]
    assert nearest(np.zeros((0, 2)), np.array([0.0, 0.0]), 3).tolist() == []


def test_matching_keeps_industry_and_size_and_widens_when_too_few() -> None:
    target = firm("T", (1000.0, 1200.0), "13", "small")
    pool = [
        firm("same-near", (1010.0, 1100.0), "13", "small"),
        firm("same-far", (9000.0, 9100.0), "13", "small"),
        firm("other-industry-nearest", (1000.0, 1000.0), "52", "small"),
        firm("same-division-other-size", (1001.0, 1000.0), "13", "medium"),
    ]
    [picked] = match([target], pool, 2)
    assert [f.uscc for f in picked] == ["same-near", "same-far"]
    [widened] = match([target], pool, 3)  # too few of the same size: the whole division
    assert {f.uscc for f in widened} == {"same-near", "same-far", "same-division-other-size"}
    [everyone] = match([target], pool, 4)
    assert len(everyone) == 4
