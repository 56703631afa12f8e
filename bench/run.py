"""Run the benchmarks: ``make bench`` runs this with its defaults (about 15 minutes on 2 cores).

    .venv/bin/python bench/run.py                        # every benchmark, default sizes
    .venv/bin/python bench/run.py --only ingest,synth    # some of them
    .venv/bin/python bench/run.py --full                 # the issues' sizes: a 1,000,000-firm city
    .venv/bin/python bench/run.py --home /tmp/xyd-home-1m   # quality and rating over a lake built before

Benchmarks (each runs as its own process, so its memory and start-up are its own):

- ``web``: the skeleton's request latencies and USCC validation (``bench/web_bench.py``);
- ``ingest``: CSV ingestion with validation, rows per second, beside a naive row-by-row pandas
  version of the same checks (``bench/ingest_bench.py``);
- ``synth``: the synthetic city generator, wall time and peak memory (``bench/synth_bench.py``);
- ``synth-naive``: one source generated row by row in plain Python against the vectorised generator;
- ``quality``: every data-quality rule over one month (``bench/quality_bench.py``);
- ``rating``: every indicator for every firm, then scoring (``bench/rating_bench.py``);
- ``report``: credit report page, JSON and PDF latency (``bench/report_bench.py``);
- ``scorecard``: fitting the statistical scorecard beside other libraries (``bench/scorecard_bench.py``;
  100,000 rows without toad by default, its own defaults with ``--full``).
- ``precredit``: instant pre-credit (秒批) in-process and over HTTP with 100 concurrent clients
  (``bench/precredit_bench.py``);
- ``market``: need pool and applications queue with 100,000 open needs (``bench/market_pages_bench.py``);
- ``dispatch``: dispatch (派单) of 100,000 needs to 50 institutions, median of 5 runs with the optimality
  gap (``bench/dispatch_bench.py``, no database).
- ``simulation``: the fund simulation, 10,000 Monte Carlo paths over a 100,000-loan book, median of 3
  runs (``bench/simulation_bench.py``, no database).
- ``funds``: a claim (file, approve, payout posting) and a plain ledger posting over 100,000 prior entries,
  in-process on SQLite, median and p99 (``bench/funds_bench.py``).
- ``evidence``: the evidence log at 10,000,000 entries on SQLite: append overhead, inclusion proof and a full
  verify, median and p99 (``bench/evidence_bench.py``; about 10 minutes, most of it building the log).
- ``monitoring``: 1,000 active rules over 1,000,000 firms' three snapshots, median of 3
  (``bench/monitoring_bench.py``, no database). The pushed court case to an alert is measured by hand on a
  built demo: ``XYD_HOME=var .venv/bin/python bench/monitoring_push_bench.py``.
- ``console-ops``: the operator's one-screen monitoring JSON and page and the enterprise home at a
  1,000,000-firm city with a year of operational records, median and p99 (``bench/console_ops_bench.py``).
- ``console``: the government console's pages, Excel export and PDFs over a statistics set of a
  1,000,000-firm city (``bench/console_bench.py``, set built in bulk, SQLite for the rest).

Without ``--home``, quality and rating build a small city of their own first (not timed).

The machine is shared and has 2 cores: the load average is printed before and after each benchmark,
next to its wall time, CPU time and peak resident memory (measured by this process with ``wait4``).
Quote medians, with the load average.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "web",
    "ingest",
    "synth",
    "synth-naive",
    "quality",
    "rating",
    "report",
    "scorecard",
    "dispatch",
    "precredit",
    "market",
    "simulation",
    "funds",
    "evidence",
    "monitoring",
    "console",
    "console-ops",
)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each benchmark for these options."""
    python = sys.executable
    enterprises = 1_000_000 if args.full else args.enterprises
    home = ["--home", str(args.home)] if args.home else []
    scorecard = [] if args.full else ["--rows", "100000", "--holdout", "50000", "--skip", "toad"]
    return {
        "web": [python, str(HERE / "web_bench.py"), "--requests", str(args.requests)],
        "ingest": [
            python,
            str(HERE / "ingest_bench.py"),
            "--rows",
            str(args.rows),
            "--repeat",
            str(args.repeat),
        ],
        "synth": [
            python,
            str(HERE / "synth_bench.py"),
            "--enterprises",
            str(enterprises),
            "--months",
            "24",
            "--seed",
            "1",
        ],
        "synth-naive": [python, str(HERE / "synth_bench.py"), "--naive", "--naive-enterprises", "20000"],
        "quality": [python, str(HERE / "quality_bench.py"), *home],
        "rating": [python, str(HERE / "rating_bench.py"), *home],
        "report": [python, str(HERE / "report_bench.py")],
        "scorecard": [python, str(HERE / "scorecard_bench.py"), *scorecard],
        "dispatch": [python, str(HERE / "dispatch_bench.py"), "--repeat", "5"],
        "precredit": [python, str(HERE / "precredit_bench.py"), "--enterprises", str(enterprises)],
        "market": [python, str(HERE / "market_pages_bench.py"), "--needs", "100000"],
        "simulation": [python, str(HERE / "simulation_bench.py"), "--repeat", "3"],
        "funds": [python, str(HERE / "funds_bench.py")],
        "evidence": [python, str(HERE / "evidence_bench.py"), "--entries", "10000000"],
        "monitoring": [python, str(HERE / "monitoring_bench.py"), "--firms", "1000000", "--repeat", "3"],
        "console-ops": [python, str(HERE / "console_ops_bench.py"), "--enterprises", str(enterprises)],
        "console": [python, str(HERE / "console_bench.py"), "--enterprises", "1000000"],
    }


def run(name: str, argv: list[str]) -> tuple[float, float, float, int]:
    """Run one benchmark, its output passed through; returns wall s, CPU s, peak RSS MB, exit code."""
    print(f"\n=== {name}: {' '.join(argv)}", flush=True)
    print(f"    load average before: {load()}", flush=True)
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env)  # noqa: S603 — our own scripts, with our interpreter
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    peak = usage.ru_maxrss / 1024
    print(
        f"    {name}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:,.0f} MB, exit {child.returncode};"
        f" load average after: {load()}",
        flush=True,
    )
    return wall, cpu, peak, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(ORDER)} (default: all)")
    parser.add_argument("--full", action="store_true", help="the synthetic city at 1,000,000 firms")
    parser.add_argument("--enterprises", type=int, default=250_000, help="synthetic city size without --full")
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the ingestion benchmark")
    parser.add_argument("--repeat", type=int, default=5, help="timed ingestions (the median is quoted)")
    parser.add_argument("--requests", type=int, default=300, help="requests per web measurement")
    parser.add_argument("--home", type=Path, help="an XYD_HOME whose lake holds a city (quality, rating)")
    args = parser.parse_args()
    chosen = ORDER if not args.only else tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = [n for n in chosen if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}")

    print(f"{os.cpu_count()} CPUs; load average {load()}; python {sys.version.split()[0]}")
    argv = commands(args)
    results = {name: run(name, argv[name]) for name in ORDER if name in chosen}
    print("\n| benchmark | wall s | CPU s | peak RSS MB | exit |")
    print("|---|---|---|---|---|")
    for name, (wall, cpu, peak, code) in results.items():
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {peak:,.0f} | {code} |")
    if any(code for *_, code in results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
