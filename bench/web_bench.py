"""Baseline benchmarks for the platform skeleton (``bench/run.py --only web`` runs it).

    .venv/bin/python bench/web_bench.py [--requests N]

Measures, in-process (FastAPI TestClient over a demo city in a temporary SQLite database):
median and p95 latency of common requests, and the USCC validator's throughput. Each figure is the
median of its samples; run it twice side by side with a baseline before quoting a ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def timed(samples: int, call: Callable[[], object]) -> tuple[float, float]:
    durations = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        durations.append((time.perf_counter() - start) * 1000)
    durations.sort()
    return statistics.median(durations), durations[int(len(durations) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    import re

    from fastapi.testclient import TestClient

    from xinyidai import demo
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.migrations import upgrade
    from xinyidai.core.settings import Settings
    from xinyidai.core.uscc import is_valid_uscc, make_uscc
    from xinyidai.web.app import create_app

    home = Path(tempfile.mkdtemp(prefix="xyd-bench-"))
    url = f"sqlite:///{home / 'bench.db'}"
    upgrade(url)
    with session_scope(get_engine(url)) as session:
        demo.build(session)
    settings = Settings(
        home=home, database_url=url, environment="test", secret_key="b" * 48, log_level="WARNING"
    )
    client = TestClient(create_app(settings), base_url="https://testserver")

    def login() -> None:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        client.post(
            "/login",
            data={"username": "bank_manager", "password": demo.DEMO_PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )

    rows = [
        ("GET /healthz", *timed(args.requests, lambda: client.get("/healthz"))),
        ("GET /login (page)", *timed(args.requests, lambda: client.get("/login"))),
        ("login: GET form + POST (argon2id)", *timed(max(10, args.requests // 10), login)),
    ]
    rows += [
        ("GET /institution (logged in)", *timed(args.requests, lambda: client.get("/institution"))),
        ("GET /api/v1/me (logged in)", *timed(args.requests, lambda: client.get("/api/v1/me"))),
    ]
    codes = [make_uscc("371002", f"MA{i:06d}") for i in range(100_000)]
    start = time.perf_counter()
    valid = sum(is_valid_uscc(c) for c in codes)
    per_second = len(codes) / (time.perf_counter() - start)
    assert valid == len(codes)

    print("| measurement | median ms | p95 ms |")
    print("|---|---|---|")
    for name, median, p95 in rows:
        print(f"| {name} | {median:.2f} | {p95:.2f} |")
    print(f"\nUSCC validation: {per_second:,.0f} codes/s ({len(codes):,} codes)")


if __name__ == "__main__":
    main()
