"""The fund simulation: seeded, unbiased against the expected loss, ruin found, inputs checked."""

from __future__ import annotations

import numpy as np
import pytest

from xinyidai.funds import simulation
from xinyidai.funds.simulation import simulate


def book(n: int = 20_000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.lognormal(13, 0.8, n), rng.choice(4, n, p=[0.4, 0.35, 0.2, 0.05])


def test_independent_defaults_average_to_the_expected_loss() -> None:
    exposure, grade = book()
    pd = np.array([0.01, 0.03, 0.08, 0.2])
    result = simulate(
        exposure, grade, pd=pd, lgd=0.6, capital=1e12, months=24, paths=400, seed=1, correlation=0
    )
    q = 1 - (1 - pd) ** 2
    share = np.array(simulation.WEIHAI_SHARES)
    expected = sum(exposure[grade == k].sum() * 0.6 * share[k] * q[k] for k in range(4))
    assert result.mean == pytest.approx(expected, rel=0.01)
    assert result.p50 <= result.p95 <= result.p99 <= result.max
    assert result.ruin_probability == 0 and result.ruin_month_mean is None
    assert result.monthly_mean[-1] == pytest.approx(result.mean)
    # grade D has no fund share under Weihai's scheme: not counted as covered
    assert result.covered_exposure == pytest.approx(exposure[grade < 3].sum())


def test_seeded_and_correlation_fattens_the_tail() -> None:
    exposure, grade = book()
    kwargs = {"pd": [0.01, 0.03, 0.08, 0.2], "capital": 5e8, "months": 36, "paths": 500}
    a = simulate(exposure, grade, seed=7, **kwargs)  # type: ignore[arg-type]
    b = simulate(exposure, grade, seed=7, **kwargs)  # type: ignore[arg-type]
    assert a == b
    flat = simulate(exposure, grade, seed=7, correlation=0, **kwargs)  # type: ignore[arg-type]
    assert a.p99 - a.p50 > 3 * (flat.p99 - flat.p50)


def test_a_small_fund_runs_out_and_we_say_when() -> None:
    exposure, grade = book()
    result = simulate(exposure, grade, pd=[0.05] * 4, capital=1e6, months=12, paths=200, seed=2)
    assert result.ruin_probability == 1.0
    assert result.ruin_month_mean is not None and 1 <= result.ruin_month_mean <= 3


def test_loans_cannot_default_after_they_mature() -> None:
    exposure, grade = book(5000)
    matured = simulate(
        exposure,
        grade,
        pd=[0.1] * 4,
        capital=1,
        months=12,
        paths=50,
        maturity_months=np.zeros(5000, dtype=np.int64),
    )
    assert matured.mean == 0 and matured.ruin_probability == 0


def test_many_defaults_on_a_path_are_all_drawn() -> None:
    # pd close to 1 forces rows past the first width: every loan must default exactly once
    exposure = np.ones(3000)
    result = simulate(
        exposure,
        np.zeros(3000, dtype=np.int64),
        pd=[0.999999],
        lgd=1.0,
        fund_share=[1.0],
        capital=1e9,
        months=120,
        paths=20,
        correlation=0,
    )
    assert result.mean == pytest.approx(3000, abs=1)


@pytest.mark.parametrize(
    "change",
    [
        {"pd": [0.1, 0.2]},
        {"pd": [1.0, 0.1, 0.1, 0.1]},
        {"capital": -1},
        {"months": 0},
        {"paths": 0},
        {"correlation": 1.0},
        {"fund_share": [1.2, 0.6, 0.4, 0.0]},
    ],
)
def test_bad_parameters_are_refused(change: dict[str, object]) -> None:
    exposure, grade = book(100)
    args: dict[str, object] = {"pd": [0.01, 0.03, 0.08, 0.2], "capital": 1e6, "paths": 10}
    args.update(change)
    with pytest.raises(ValueError):
        simulate(exposure, grade, **args)  # type: ignore[arg-type]


def test_grade_names_map_to_indices() -> None:
    assert list(simulation.grade_index(["A", "C", "", "X", "D"])) == [0, 2, 3, 3, 3]
