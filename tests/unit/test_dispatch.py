"""The dispatch model (派单): eligibility, coverage, capacity, fairness, optimality against brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from xinyidai.market.dispatch import (
    GRADE_BASE,
    InstitutionSpec,
    Items,
    ProductSpec,
    dual_bound,
    fair_limits,
    optimise,
    score,
)


def items(rows: list[tuple[str, str, str, str, float, int]], collateral: str = "none") -> Items:
    """(region, industry, size, grade, amount, term) per item."""
    return Items(
        region=np.array([r[0] for r in rows], dtype=object),
        industry=np.array([r[1] for r in rows], dtype=object),
        size=np.array([r[2] for r in rows], dtype=object),
        grade=np.array([r[3] for r in rows], dtype=object),
        amount=np.array([r[4] for r in rows], dtype=np.float64),
        term=np.array([r[5] for r in rows], dtype=np.int64),
        collateral=np.array([collateral] * len(rows), dtype=object),
    )


def product(inst: int, **kw: object) -> ProductSpec:
    values: dict[str, object] = {
        "institution": inst,
        "product_id": 100 + inst,
        "name": f"P{inst}",
        "amount_min": 10_000.0,
        "amount_max": 1_000_000.0,
        "term_min": 1,
        "term_max": 36,
    }
    values.update(kw)
    return ProductSpec(**values)  # type: ignore[arg-type]


def brute_force(p: np.ndarray, limits: np.ndarray) -> float:
    """Best Σ p over every placement (each item to one institution or none) within the limits."""
    n, m = p.shape
    best = 0.0
    for choice in itertools.product(range(-1, m), repeat=n):
        load = np.zeros(m, dtype=int)
        total = 0.0
        ok = True
        for i, j in enumerate(choice):
            if j < 0:
                continue
            if p[i, j] <= 0:
                ok = False
                break
            load[j] += 1
            total += p[i, j]
        if ok and (load <= limits).all():
            best = max(best, total)
    return best


def test_eligibility_follows_the_products_amount_term_industry_size_grade() -> None:
    its = items(
        [
            ("371002", "C", "small", "A", 500_000, 12),  # fits
            ("371002", "C", "small", "A", 5_000_000, 12),  # amount above the range
            ("371002", "C", "small", "A", 500_000, 60),  # term too long
            ("371002", "F", "small", "A", 500_000, 12),  # industry not targeted
            ("371002", "C", "large", "A", 500_000, 12),  # size not targeted
            ("371002", "C", "small", "D", 500_000, 12),  # grade outside the appetite
            ("371002", "C", "small", "B", math.nan, 0),  # whitelisted: no amount or term, fits
        ]
    )
    inst = [InstitutionSpec(1, "银行", (), 10)]
    p = product(0, industries=("C",), sizes=("micro", "small"), grades=("A", "B"))
    s = score(its, inst, [p])
    eligible = s.probability[:, 0] > 0
    assert eligible.tolist() == [True, False, False, False, False, False, True]
    # fit 0.6 + 0.1 × (industry, size, grade targeted) = 0.9; grade A prior 0.8
    assert s.probability[0, 0] == pytest.approx(GRADE_BASE["A"] * 0.9)
    assert s.targeted[0, 0] == 2 | 4 | 8


def test_coverage_is_by_region_prefix_and_collateral_halves_the_chance() -> None:
    its = items([("371002", "C", "small", "A", 100_000, 12), ("370202", "C", "small", "A", 100_000, 12)])
    insts = [InstitutionSpec(1, "威海", ("371000",), 10), InstitutionSpec(2, "全省", (), 10)]
    s = score(its, insts, [product(0), product(1, collateral="mortgage")])
    assert (s.probability[:, 0] > 0).tolist() == [True, False]  # Qingdao is outside Weihai
    assert (s.probability[:, 1] > 0).tolist() == [True, True]
    assert s.probability[0, 1] == pytest.approx(s.probability[0, 0] * 0.5)
    assert s.collateral_short[0, 1]


def test_capacity_is_never_exceeded_and_ineligible_pairs_never_chosen() -> None:
    rng = np.random.default_rng(7)
    p = np.where(rng.random((400, 6)) < 0.4, rng.random((400, 6)), 0.0)
    capacity = np.array([10, 50, 0, 30, 5, 80])
    sol = optimise(p, capacity, slack=None)
    placed = sol.institution >= 0
    load = np.bincount(sol.institution[placed], minlength=6)
    assert (load <= capacity).all() and load[2] == 0
    assert (p[np.flatnonzero(placed), sol.institution[placed]] > 0).all()
    assert sol.objective <= sol.bound + 1e-9 and sol.gap < 1e-6


def test_fairness_limits_each_institution_to_its_share_plus_the_slack() -> None:
    # Everyone fits institution 0 best; with room to spare it would take everything.
    p = np.tile(np.array([[0.9, 0.5, 0.5]]), (100, 1))
    capacity = np.array([100, 100, 100])
    unfair = optimise(p, capacity, slack=None)
    assert (unfair.institution == 0).all()
    fair = optimise(p, capacity, slack=0.2)
    load = np.bincount(fair.institution[fair.institution >= 0], minlength=3)
    assert load[0] == math.ceil(1.2 * 100 / 3) and load.sum() == 100
    assert fair_limits(p > 0, capacity, 0.2).tolist() == [40, 40, 40]


@pytest.mark.parametrize("seed", range(12))
def test_objective_equals_the_brute_force_optimum_on_tiny_cases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 6, 3
    p = np.where(rng.random((n, m)) < 0.6, np.round(rng.random((n, m)), 3), 0.0)
    capacity = rng.integers(0, 4, m)
    sol = optimise(p, capacity, slack=None)
    best = brute_force(p, capacity)
    assert sol.objective == pytest.approx(best, abs=1e-5)
    assert sol.bound >= best - 1e-9
    assert sol.bound == pytest.approx(best, abs=1e-4)  # the dual prices are exact
    # and any prices give a valid bound
    assert dual_bound(p, capacity, np.full(m, 0.3)) >= best - 1e-9


def test_ties_go_to_the_earliest_items_and_nothing_to_place_is_fine() -> None:
    p = np.full((5, 1), 0.5)
    sol = optimise(p, np.array([2]), slack=None)
    assert sol.institution.tolist() == [0, 0, -1, -1, -1]
    empty = optimise(np.zeros((0, 3)), np.array([1, 1, 1]))
    assert empty.objective == 0 and empty.gap == 0
