"""Dispatch (派单) benchmark: 100,000 needs to 50 institutions, no database.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/dispatch_bench.py              # 100,000 × 50, 5 runs
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/dispatch_bench.py --needs 20000 --repeat 3

A synthetic city of one prefecture (16 districts): needs with a district, an industry section, a size,
a grade (A 20 %, B 35 %, C 30 %, D 10 %, unrated 5 %), an amount (log-normal around 500,000 yuan) and a
term; 50 institutions (a third city-wide, the rest covering 2–6 districts), each with 2–6 listed products
with amount and term ranges and random region, industry, size and grade targets; 4–40 account managers each,
with the needs a manager takes a day set so that the institutions can take ``--capacity`` × the needs
(0.7 by default: a backlog, capacity binds; with 1.5 there is room to spare and the fairness limit —
share + 20 % — binds instead).

Each run times the whole pure pipeline the page runs: ``score`` (eligibility and probabilities,
vectorised) and ``optimise`` (min-cost flow over classes of identical items, then the dual bound). Prints
the median of the runs, the gap, and an LP check with GLOP on a 2,000-need sample (``--lp-check``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from xinyidai.market.dispatch import (
    DEFAULT_SLACK,
    InstitutionSpec,
    Items,
    ProductSpec,
    fair_limits,
    optimise,
    score,
)

DISTRICTS = tuple(f"3710{d:02d}" for d in range(1, 17))
SECTIONS = tuple("ABCDEFGHIJKLMNOPQRS")
SIZES = ("micro", "small", "medium")
GRADES = ("A", "B", "C", "D", "")


def city(
    needs: int, institutions: int, seed: int, ratio: float = 0.7
) -> tuple[Items, list[InstitutionSpec], list[ProductSpec]]:
    rng = np.random.default_rng(seed)
    items = Items(
        region=rng.choice(np.array(DISTRICTS, dtype=object), needs),
        industry=rng.choice(np.array(SECTIONS, dtype=object), needs),
        size=rng.choice(np.array(SIZES, dtype=object), needs, p=[0.5, 0.35, 0.15]),
        grade=rng.choice(np.array(GRADES, dtype=object), needs, p=[0.2, 0.35, 0.3, 0.1, 0.05]),
        amount=np.round(rng.lognormal(np.log(500_000), 0.9, needs), -3),
        term=rng.choice(np.array([6, 12, 24, 36, 60]), needs, p=[0.15, 0.4, 0.25, 0.15, 0.05]).astype(
            np.int64
        ),
        collateral=rng.choice(
            np.array(["none", "mortgage", "guarantor"], dtype=object), needs, p=[0.6, 0.3, 0.1]
        ),
    )
    insts: list[InstitutionSpec] = []
    products: list[ProductSpec] = []
    managers = rng.integers(4, 41, institutions)
    per_manager = max(1, int(np.ceil(ratio * needs / managers.sum())))  # capacity / needs ≈ ratio
    for j in range(institutions):
        coverage: tuple[str, ...] = ()
        if j % 3:
            coverage = tuple(sorted(rng.choice(DISTRICTS, int(rng.integers(2, 7)), replace=False)))
        insts.append(
            InstitutionSpec(
                j + 1, f"机构{j + 1}", coverage, int(managers[j]) * per_manager, int(managers[j]), per_manager
            )
        )
        for k in range(int(rng.integers(2, 7))):
            low = float(rng.choice([10_000, 50_000, 100_000, 300_000]))
            products.append(
                ProductSpec(
                    institution=j,
                    product_id=j * 10 + k,
                    name=f"产品{j}-{k}",
                    amount_min=low,
                    amount_max=low * float(rng.choice([10, 30, 100])),
                    term_min=int(rng.choice([1, 6, 12])),
                    term_max=int(rng.choice([12, 36, 60])),
                    regions=tuple(rng.choice(DISTRICTS, 4, replace=False)) if rng.random() < 0.2 else (),
                    industries=tuple(rng.choice(SECTIONS, 6, replace=False)) if rng.random() < 0.4 else (),
                    sizes=("micro", "small") if rng.random() < 0.3 else (),
                    grades=("A", "B", "C") if rng.random() < 0.5 else (),
                    collateral="mortgage" if rng.random() < 0.25 else "none",
                )
            )
    return items, insts, products


def lp_check(probability: np.ndarray, limits: np.ndarray) -> float:
    """The LP optimum of the same placement problem with GLOP (no fairness re-computation)."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    x = {}
    for i, j in zip(*np.nonzero(probability > 0), strict=True):
        x[i, j] = solver.NumVar(0, 1, "")
    rows: dict[int, list] = {}
    cols: dict[int, list] = {}
    for (i, j), var in x.items():
        rows.setdefault(int(i), []).append(var)
        cols.setdefault(int(j), []).append(var)
    for vars_ in rows.values():
        solver.Add(sum(vars_) <= 1)
    for j, vars_ in cols.items():
        solver.Add(sum(vars_) <= int(limits[j]))
    solver.Maximize(sum(float(probability[i, j]) * var for (i, j), var in x.items()))
    solver.Solve()
    return float(solver.Objective().Value())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--institutions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--capacity", type=float, default=0.7, help="total capacity / needs")
    parser.add_argument("--lp-check", type=int, default=2000, help="needs in the GLOP cross-check (0: none)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    items, insts, products = city(args.needs, args.institutions, args.seed, args.capacity)
    capacity = np.array([i.capacity for i in insts], dtype=np.int64)
    walls, scores_t, solves = [], [], []
    for run in range(args.repeat):
        started = time.perf_counter()
        scores = score(items, insts, products)
        scored = time.perf_counter()
        solution = optimise(scores.probability, capacity, DEFAULT_SLACK)
        wall = time.perf_counter() - started
        walls.append(wall)
        scores_t.append(scored - started)
        solves.append(solution.elapsed)
        placed = int((solution.institution >= 0).sum())
        print(
            f"run {run + 1}: {wall:.2f} s (score {scored - started:.2f} s,"
            f" optimise {solution.elapsed:.2f} s);"
            f" {placed:,} of {args.needs:,} placed, {solution.classes:,} classes;"
            f" objective {solution.objective:,.3f}, bound {solution.bound:,.3f}, gap {solution.gap:.2e}",
            flush=True,
        )
    eligible = (scores.probability > 0).sum(axis=1)
    print(
        f"eligible institutions per need: median {int(np.median(eligible))},"
        f" none for {(eligible == 0).sum():,};"
        f" total capacity {capacity.sum():,}, after fairness {solution.limits.sum():,}"
    )
    print(
        f"median of {args.repeat}: {statistics.median(walls):.2f} s"
        f" (score {statistics.median(scores_t):.2f} s, optimise {statistics.median(solves):.2f} s);"
        f" gap {solution.gap:.2e}"
    )
    if args.lp_check:
        sample = city(args.lp_check, args.institutions, args.seed + 1, args.capacity)
        s = score(*sample)
        cap = np.array([i.capacity for i in sample[1]], dtype=np.int64)
        sol = optimise(s.probability, cap, DEFAULT_SLACK)
        lp = lp_check(s.probability, fair_limits(s.probability > 0, cap, DEFAULT_SLACK))
        print(
            f"GLOP cross-check on {args.lp_check:,} needs: LP optimum {lp:.4f},"
            f" min-cost flow {sol.objective:.4f},"
            f" dual bound {sol.bound:.4f}"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
