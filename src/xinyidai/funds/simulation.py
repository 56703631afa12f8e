"""Fund simulation (Monte Carlo): how much a risk-sharing fund would pay out over a loan book, and when it
would run out, so a government can size a fund or compare schemes before it adopts one.

``simulate`` is a pure function — arrays in, a result out, seeded. Model:

- loan *i* of grade *g* defaults within the horizon of *T* months with probability
  ``q_g = 1 − (1 − pd_g)^(T/12)`` (``pd_g``: annual default rate), at a time spread by a constant hazard;
  a loan cannot default after it matures (``maturity_months``, if given);
- defaults are tied by one systematic factor per path (Vasicek's one-factor model, ``correlation`` ρ): in a
  path with factor Z the grade's rate is ``Φ((Φ⁻¹(q_g) − √ρ·Z) / √(1 − ρ))``. With ρ = 0 defaults are
  independent and the tail is thin — real books default together in bad years, so the default is 0.10;
- a default costs the fund ``exposure × LGD_g × fund share_g`` (Weihai: 80/60/40/0 % for A/B/C/D);
- the fund runs out in the first month its cumulative payouts exceed its capital.

Speed: the defaulters of a grade on a path are drawn as the positions of a Bernoulli process — geometric
gaps, cumulated — so the work is proportional to the number of defaults, not paths × loans: 10,000 paths
over a 100,000-loan book is a few hundred million numbers, not ten billion (``bench/simulation_bench.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

WEIHAI_GRADES = ("A", "B", "C", "D")
WEIHAI_SHARES = (0.80, 0.60, 0.40, 0.0)
DEFAULT_PD = (0.01, 0.03, 0.08, 0.20)  # annual, by grade — an assumption to replace with the city's own
DEFAULT_LGD = 0.6
DEFAULT_CORRELATION = 0.10
MAX_PATHS = 100_000
MAX_MONTHS = 120
_CHUNK_NUMBERS = 4_000_000  # numbers drawn at once: bounds memory (≈ 100 MB of temporaries)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SimulationResult:
    """The distribution of the fund's payouts over the horizon, in 元, and its ruin.

    ``monthly_mean`` / ``monthly_p95``: cumulative payouts at the end of each month (mean, 95th percentile);
    ``ruin_month_mean``: the mean month (1-based) the fund ran out, over the paths where it did.
    """

    paths: int
    months: int
    loans: int
    capital: float
    exposure: float
    covered_exposure: float
    mean: float
    p50: float
    p95: float
    p99: float
    max: float
    defaults_mean: float
    ruin_probability: float
    ruin_month_mean: float | None
    ruin_month_p50: float | None
    monthly_mean: list[float]
    monthly_p95: list[float]
    histogram_counts: list[int]
    histogram_edges: list[float]

    @property
    def capital_for_99(self) -> float:
        """Capital that would have lasted in 99 % of paths."""
        return self.p99


def _validate(
    exposure: FloatArray,
    grade: IntArray,
    pd: FloatArray,
    lgd: FloatArray,
    share: FloatArray,
    capital: float,
    months: int,
    paths: int,
    correlation: float,
    maturity: IntArray | None,
) -> None:
    if exposure.ndim != 1 or grade.shape != exposure.shape:
        raise ValueError("exposure and grade must be 1-D arrays of the same length")
    if maturity is not None and maturity.shape != exposure.shape:
        raise ValueError("maturity_months must have one value per loan")
    grades = len(pd)
    if len(lgd) != grades or len(share) != grades:
        raise ValueError("pd, lgd and fund_share need one value per grade")
    if exposure.size and (grade.min() < 0 or grade.max() >= grades):
        raise ValueError("a grade index is outside the grades given")
    if np.any(exposure < 0) or not np.all(np.isfinite(exposure)):
        raise ValueError("exposures are finite amounts ≥ 0")
    for name, values in (("pd", pd), ("lgd", lgd), ("fund_share", share)):
        if np.any(values < 0) or np.any(values > 1):
            raise ValueError(f"{name} values lie between 0 and 1")
    if np.any(pd >= 1):
        raise ValueError("an annual default rate must be below 1")
    if capital < 0:
        raise ValueError("capital is ≥ 0")
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"the horizon is 1 to {MAX_MONTHS} months")
    if not 1 <= paths <= MAX_PATHS:
        raise ValueError(f"1 to {MAX_PATHS} paths")
    if not 0 <= correlation < 1:
        raise ValueError("the correlation lies in [0, 1)")


def _conditional_pd(q: float, factor: FloatArray, correlation: float) -> FloatArray:
    """The grade's horizon default rate on each path given its systematic factor (Vasicek)."""
    if correlation == 0 or q <= 0:
        return np.full(factor.shape, q)
    normal = NormalDist()
    threshold = normal.inv_cdf(q)
    x = (threshold - math.sqrt(correlation) * factor) / math.sqrt(1 - correlation)
    cdf = np.frompyfunc(normal.cdf, 1, 1)
    values = np.asarray(cdf(x), dtype=np.float64)
    return np.clip(values, 0.0, 1 - 1e-12)


def _defaulters(rng: np.random.Generator, n: int, q: FloatArray) -> tuple[IntArray, IntArray]:
    """Which of ``n`` loans default on each row, each independently with the row's probability ``q``.

    Returns (row, loan position) pairs. Gaps between defaults are geometric; rows whose gaps did not
    reach past the last loan are extended (never redrawn, which would bias them).
    """
    rows_out: list[IntArray] = []
    pos_out: list[IntArray] = []
    active = np.flatnonzero(q > 0)
    if active.size == 0 or n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    qa = q[active]
    expected = n * qa
    width = int(np.ceil(expected.max() + 6 * np.sqrt(expected.max()) + 16))
    gaps = rng.geometric(qa[:, None], size=(active.size, width))
    positions = np.cumsum(gaps, axis=1) - 1  # 0-based index of each default
    last = positions[:, -1]
    rows_idx, cols = np.nonzero(positions < n)
    rows_out.append(active[rows_idx])
    pos_out.append(positions[rows_idx, cols])
    short = np.flatnonzero(last < n - 1)
    while short.size:  # rare: a row with more defaults than the width allowed — extend it
        more = np.cumsum(rng.geometric(qa[short][:, None], size=(short.size, width)), axis=1)
        more += last[short][:, None]
        r, c = np.nonzero(more < n)
        rows_out.append(active[short[r]])
        pos_out.append(more[r, c])
        last[short] = more[:, -1]
        short = short[more[:, -1] < n - 1]
    return np.concatenate(rows_out), np.concatenate(pos_out)


def simulate(
    exposure: Sequence[float] | FloatArray,
    grade: Sequence[int] | IntArray,
    *,
    pd: Sequence[float],
    lgd: float | Sequence[float] = DEFAULT_LGD,
    fund_share: Sequence[float] = WEIHAI_SHARES,
    capital: float,
    months: int = 36,
    paths: int = 10_000,
    seed: int = 0,
    correlation: float = DEFAULT_CORRELATION,
    maturity_months: Sequence[int] | IntArray | None = None,
) -> SimulationResult:
    """Simulate a fund's payouts over ``months`` on ``paths`` paths.

    Args:
        exposure: each loan's outstanding amount in 元.
        grade: each loan's grade as an index into ``pd``/``lgd``/``fund_share`` (0 = A …).
        pd: annual default rate per grade (0.03 = 3 %).
        lgd: loss given default, one for all or per grade (share of the exposure lost).
        fund_share: the fund's share of a loss per grade (Weihai: 0.8, 0.6, 0.4, 0).
        capital: the fund's capital in 元.
        maturity_months: months until each loan matures (a loan cannot default afterwards).
    """
    e = np.asarray(exposure, dtype=np.float64)
    g = np.asarray(grade, dtype=np.int64)
    pd_a = np.asarray(pd, dtype=np.float64)
    lgd_a = np.broadcast_to(np.asarray(lgd, dtype=np.float64), pd_a.shape).copy()
    share = np.asarray(fund_share, dtype=np.float64)
    mat = None if maturity_months is None else np.asarray(maturity_months, dtype=np.int64)
    _validate(e, g, pd_a, lgd_a, share, capital, months, paths, correlation, mat)
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal(paths)
    monthly = np.zeros(paths * months, dtype=np.float64)
    defaults = np.zeros(paths, dtype=np.int64)
    covered = 0.0
    for k in range(len(pd_a)):
        members = np.flatnonzero(g == k)
        loss = e[members] * lgd_a[k] * share[k]
        if members.size == 0 or share[k] == 0 or lgd_a[k] == 0 or pd_a[k] == 0:
            continue
        covered += float(e[members].sum())
        q = min(1 - (1 - pd_a[k]) ** (months / 12), 1 - 1e-12)  # 1 would make the hazard infinite
        q_path = _conditional_pd(q, factor, correlation)
        # Paths in order of their rate, in chunks of similar width: little is drawn in vain.
        order = np.argsort(q_path, kind="stable")
        step = max(1, int(_CHUNK_NUMBERS // max(1.0, members.size * float(q_path.max()) + 16)))
        for begin in range(0, paths, step):
            rows = order[begin : begin + step]
            r, pos = _defaulters(rng, members.size, q_path[rows])
            if r.size == 0:
                continue
            path = rows[r]
            qd = q_path[path]
            # Time of default given default within the horizon, constant hazard: inverse of the CDF.
            hazard = -np.log1p(-qd) / months
            u = rng.random(r.size)
            t = -np.log1p(-u * qd) / hazard
            month = np.minimum(t.astype(np.int64), months - 1)
            if mat is not None:
                alive = month < mat[members[pos]]
                path, pos, month = path[alive], pos[alive], month[alive]
            defaults += np.bincount(path, minlength=paths)
            monthly += np.bincount(path * months + month, weights=loss[pos], minlength=paths * months)
    cumulative = np.cumsum(monthly.reshape(paths, months), axis=1)
    total = cumulative[:, -1]
    over = cumulative > capital
    ruined = over[:, -1]  # cumulative payouts only grow: ruined at the end iff ever
    first = np.argmax(over, axis=1) + 1
    ruin_months = first[ruined]
    counts, edges = np.histogram(total, bins=30)
    return SimulationResult(
        paths=paths,
        months=months,
        loans=int(e.size),
        capital=float(capital),
        exposure=float(e.sum()),
        covered_exposure=covered,
        mean=float(total.mean()),
        p50=float(np.percentile(total, 50)),
        p95=float(np.percentile(total, 95)),
        p99=float(np.percentile(total, 99)),
        max=float(total.max()),
        defaults_mean=float(defaults.mean()),
        ruin_probability=float(ruined.mean()),
        ruin_month_mean=float(ruin_months.mean()) if ruin_months.size else None,
        ruin_month_p50=float(np.median(ruin_months)) if ruin_months.size else None,
        monthly_mean=[float(x) for x in cumulative.mean(axis=0)],
        monthly_p95=[float(x) for x in np.percentile(cumulative, 95, axis=0)],
        histogram_counts=[int(c) for c in counts],
        histogram_edges=[float(x) for x in edges],
    )


def grade_index(grades: Sequence[str], names: Sequence[str] = WEIHAI_GRADES) -> IntArray:
    """Grades as indices into ``names``; an unknown or missing grade counts as the last (worst)."""
    lookup = {name: i for i, name in enumerate(names)}
    worst = len(names) - 1
    return np.fromiter((lookup.get(x, worst) for x in grades), dtype=np.int64, count=len(grades))
