"""Peer percentiles: read off quantile breakpoints, mid-rank for ties, the registry's size bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyidai.data.service import _size_class as registry_size_class
from xinyidai.indicators.peers import QUANTILES, division_of, percentile, size_class

UNIFORM = [float(k) for k in range(21)]  # 0, 1, …, 20 at 0 %, 5 %, …, 100 %


def breakpoints_of(values: list[float]) -> list[float]:
    """What DuckDB's quantile_cont gives: numpy's linear interpolation."""
    return [float(q) for q in np.quantile(values, QUANTILES)]


def test_values_at_the_breakpoints_take_their_share() -> None:
    assert percentile(0.0, UNIFORM) == 0.0
    assert percentile(10.0, UNIFORM) == 50.0
    assert percentile(20.0, UNIFORM) == 100.0
    assert percentile(3.0, UNIFORM) == 15.0


def test_values_between_breakpoints_are_interpolated() -> None:
    assert percentile(2.5, UNIFORM) == pytest.approx(12.5)
    assert percentile(19.9, UNIFORM) == pytest.approx(99.5)


def test_values_outside_the_range_are_0_or_100() -> None:
    assert percentile(-1.0, UNIFORM) == 0.0
    assert percentile(21.0, UNIFORM) == 100.0


def test_ties_take_the_middle_of_their_shares() -> None:
    # 60 % of the peers have no penalty at all: a firm without one sits in the middle of them, at 30 %
    mostly_zero = [0.0] * 13 + [1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 6.0, 9.0]
    assert percentile(0.0, mostly_zero) == 30.0
    assert percentile(1.0, mostly_zero) == 67.5
    assert percentile(5.0, [5.0] * 21) == 50.0


def test_no_value_or_no_peers_has_no_percentile() -> None:
    assert percentile(None, UNIFORM) is None
    assert percentile(float("nan"), UNIFORM) is None
    assert percentile(1.0, []) is None
    assert percentile(1.0, [1.0]) == 50.0
    assert percentile(0.0, [1.0]) == 0.0 and percentile(2.0, [1.0]) == 100.0


def test_evenly_spread_peers_give_the_rank() -> None:
    # 30 firms at 10, 20, …, 300: the k-th smallest (from 0) is at 100·k/29 %
    values = [10.0 * (k + 1) for k in range(30)]
    points = breakpoints_of(values)
    for k, value in enumerate(values):
        assert percentile(value, points) == pytest.approx(100 * k / 29, abs=1e-9)


@given(
    st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=200),
    st.floats(-2e9, 2e9, allow_nan=False),
)
def test_percentiles_stay_between_0_and_100(values: list[float], value: float) -> None:
    result = percentile(value, breakpoints_of(values))
    assert result is not None and 0.0 <= result <= 100.0


@given(
    st.lists(st.integers(0, 50).map(float), min_size=2, max_size=200),
    st.integers(-5, 55).map(float),
    st.integers(-5, 55).map(float),
)
def test_a_higher_value_never_has_a_lower_percentile(values: list[float], a: float, b: float) -> None:
    points = breakpoints_of(values)
    low, high = sorted((a, b))
    assert percentile(low, points) <= percentile(high, points)  # type: ignore[operator]


@given(st.lists(st.integers(0, 1_000_000).map(float), min_size=20, max_size=300, unique=True))
def test_the_percentile_is_within_one_step_of_the_exact_share(values: list[float]) -> None:
    # without ties, the exact share below a firm is rank / (n - 1); 21 breakpoints are 5 points apart
    points = breakpoints_of(values)
    ranked = sorted(values)
    for rank, value in enumerate(ranked):
        exact = 100 * rank / (len(ranked) - 1)
        assert abs(percentile(value, points) - exact) <= 5.0 + 1e-9  # type: ignore[operator]


@pytest.mark.parametrize("employees", [None, 0, 1, 9, 10, 11, 99, 100, 101, 299, 300, 301, 10_000])
def test_size_classes_follow_the_registry(employees: int | None) -> None:
    assert size_class(employees) == registry_size_class(employees)


def test_size_class_of_an_average_headcount() -> None:
    assert size_class(9.5) == "micro" and size_class(99.9) == "small" and size_class(math.nan) == "micro"


def test_industry_codes_reduce_to_their_division() -> None:
    assert division_of("C13") == "13" and division_of("1311") == "13"
    assert division_of("ZZ") is None and division_of(None) is None and division_of("") is None
