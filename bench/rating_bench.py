"""Indicators and rating at city scale: every indicator for every firm, then scoring everyone.

    .venv/bin/python bench/rating_bench.py --home /tmp/xyd-home-1m     # a lake with the city already in it
    .venv/bin/python bench/rating_bench.py --enterprises 50000          # builds a city first (not timed)

Targets (issue #4): all indicators for a 1,000,000-firm, 24-month city in ≤ 120 s and ≤ 8 GB on 2 cores;
scoring ≥ 1,000,000 enterprises per second once the indicators exist.

Measured: ``compute_indicators`` (one DuckDB statement over the lake as of the date of its last delivery)
``--repeat`` times, median; peak resident memory of this process (``ru_maxrss``, which includes DuckDB's);
then the expert scorecard over the snapshot (``ExpertScorecard.score``, vectorised numpy plus the knock-out
rules in DuckDB), median of ``--repeat`` runs, as firms per second. Beside it, the naive alternative a first
version would write — scoring each firm in a Python loop over its factors — timed on ``--naive-rows`` firms
and scaled. The load average is printed with each figure: two busy processes run at half speed each.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from city import build_city, load_average


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def naive_score(card: object, rows: list[dict[str, object]]) -> float:
    """Seconds to score ``rows`` one firm at a time in Python, band by band."""
    from xinyidai.rating.expert import ExpertScorecard

    assert isinstance(card, ExpertScorecard)
    factors = card.factors
    started = time.perf_counter()
    for row in rows:
        total = 0.0
        for _, weight, factor in factors:
            value = row.get(factor.indicator)
            if value is None:
                points = factor.missing_points
            else:
                points = factor.bands[-1].points
                for band in factor.bands:
                    if band.upper is not None and float(value) < band.upper:  # type: ignore[arg-type]
                        points = band.points
                        break
            total += 10.0 * weight * points
    return time.perf_counter() - started


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--home", type=Path, help="an XYD_HOME whose lake holds the city")
    parser.add_argument(
        "--enterprises", type=int, default=50_000, help="firms in the city built without --home"
    )
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--as-of", type=date.fromisoformat, help="default: the day of the last delivery")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=20_000)
    args = parser.parse_args()

    from xinyidai.data import service as data
    from xinyidai.data.lake import Lake
    from xinyidai.indicators.compute import compute_indicators
    from xinyidai.rating.expert import default_scorecard

    home = args.home or build_city(args.enterprises, args.months, prefix="xyd-rating-bench-")
    lake = Lake(home / "lake", fsync=False)
    as_of = args.as_of or data.last_receipt_date(lake)
    if as_of is None:
        raise SystemExit(f"the lake under {home} is empty")
    print(f"lake {home / 'lake'}; as of {as_of}; peak memory before {_peak_gb():.2f} GB; {load_average()}")

    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        snapshot = compute_indicators(lake, as_of)
        timings.append(time.perf_counter() - started)
        print(f"  indicators: {timings[-1]:.1f} s, peak memory {_peak_gb():.2f} GB ({load_average()})")
    print(
        f"all {snapshot.num_columns - 1} indicators for {snapshot.num_rows:,} firms: "
        f"median {statistics.median(timings):.1f} s over {args.repeat} runs; peak memory {_peak_gb():.2f} GB"
    )

    card = default_scorecard()
    card.score(snapshot.slice(0, 1000))  # warm-up: the knock-out rules compile once
    score_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        card.score(snapshot, details=False)
        score_times.append(time.perf_counter() - started)
    median = statistics.median(score_times)
    print(f"scoring: median {median:.2f} s → {snapshot.num_rows / median:,.0f} firms/s ({load_average()})")
    sample = snapshot.slice(0, min(args.naive_rows, snapshot.num_rows)).to_pylist()
    naive = naive_score(card, sample) * snapshot.num_rows / len(sample)
    print(
        f"naive per-firm Python loop: {snapshot.num_rows / naive:,.0f} firms/s "
        f"(scaled from {len(sample):,}); ratio {naive / median:.0f}×"
    )


if __name__ == "__main__":
    main()
