"""Fund simulation (Monte Carlo) benchmark: 10,000 paths over a 100,000-loan book, no database.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/simulation_bench.py      # 10,000 × 100,000, 3 runs
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/simulation_bench.py --paths 2000 --repeat 5

The book: loans log-normal around 500,000 yuan, grades A 40 %, B 35 %, C 20 %, D 5 %, 1–36 months to
maturity; annual default rates 1/3/8/20 %, LGD 60 %, Weihai's scheme (80/60/40/0), a 36-month horizon,
default correlation 10 % and a capital of 300 M yuan. Each run times ``funds.simulation.simulate`` whole
(drawing, timing, accumulation, percentiles) and prints the median of the runs with the result, so a
change in speed can be told apart from a change in what is computed. Target (issue 6): ≤ 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from xinyidai.funds.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--correlation", type=float, default=0.10)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    exposure = rng.lognormal(np.log(500_000) - 0.32, 0.8, args.loans)
    grade = rng.choice(4, args.loans, p=[0.40, 0.35, 0.20, 0.05])
    maturity = rng.integers(1, 37, args.loans)
    print(
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}; {args.loans:,} loans "
        f"({exposure.sum() / 1e8:,.1f} 亿元), {args.paths:,} paths, {args.months} months"
    )
    times = []
    result = None
    for n in range(args.repeat):
        started = time.perf_counter()
        result = simulate(
            exposure,
            grade,
            pd=[0.01, 0.03, 0.08, 0.20],
            lgd=0.6,
            capital=3e8,
            months=args.months,
            paths=args.paths,
            seed=n,
            correlation=args.correlation,
            maturity_months=maturity,
        )
        times.append(time.perf_counter() - started)
        print(f"  run {n + 1}: {times[-1]:.2f} s (load {os.getloadavg()[0]:.2f})", flush=True)
    assert result is not None
    print(
        f"median {statistics.median(times):.2f} s; defaults a path {result.defaults_mean:,.0f}; payouts mean "
        f"{result.mean / 1e6:,.1f} M, p50 {result.p50 / 1e6:,.1f} M, p95 {result.p95 / 1e6:,.1f} M, "
        f"p99 {result.p99 / 1e6:,.1f} M yuan; ruin {result.ruin_probability:.1%}"
        + (f", mean month {result.ruin_month_mean:.1f}" if result.ruin_month_mean else "")
    )


if __name__ == "__main__":
    main()
