"""Instant pre-credit (秒批) latency: the decision in-process over random firms, and over HTTP with 100
concurrent clients against a real uvicorn server (``bench/run.py --only precredit`` runs it).

    .venv/bin/python bench/precredit_bench.py [--enterprises 1000000] [--requests 3000] [--clients 100]

Set-up (not timed): a temporary installation with the demo organisations, one listed instant product
(admission rule and limit formula in the expression language), and a synthetic indicator snapshot and
rating of ``--enterprises`` firms (random values of every indicator's type) that includes the registered
demo enterprises, written the way the pipeline writes them (Parquet plus the point-lookup copy).

1. In-process: ``market.decide`` with the firm's indicators and grade read through the point lookup, for
   random firms of the whole snapshot: median and p99 in ms.
2. HTTP: ``--clients`` concurrent connections (asyncio + httpx), each enterprise user's session, posting
   ``/api/v1/market/products/{id}/precredit`` until ``--requests`` answers arrived. Server-side time is
   the ``Server-Timing: app;dur=`` the platform puts on each response (from the first byte of the request
   in the ASGI middleware to the response start); client-side time includes the client's own queueing on
   the same 2 cores. The issue's target: server-side p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

AS_OF = date(2026, 11, 12)
PRODUCT = {
    "external_id": "BENCH-JINGE",
    "name": "鲸e贷",
    "product_type": "credit",
    "amount_min": "50000",
    "amount_max": "3000000",
    "term_min": 3,
    "term_max": 12,
    "rate_min": "3.45",
    "rate_max": "5.20",
    "repayment_methods": ["interest_first"],
    "grades": ["A", "B", "C"],
    "pure_credit": True,
    "instant": True,
    "admission_rule": "not coalesce(on_dishonest_list, false) and coalesce(tax_arrears_latest, 0) = 0 "
    "and coalesce(age_years, 0) >= 1",
    "limit_formula": "least(coalesce(tax_paid_12m, 0) * 8 + coalesce(sales_12m, 0) * 0.1, 3000000)",
    "pricing": {"A": "3.45", "B": "4.35", "C": "5.20"},
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def snapshot(home: Path, registered: list[str], enterprises: int) -> list[str]:
    """Write a synthetic indicator snapshot and rating of ``enterprises`` firms; returns their USCCs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xinyidai.core.uscc import ALPHABET, make_uscc
    from xinyidai.data import point_lookup
    from xinyidai.data.lake import Lake
    from xinyidai.indicators.compute import indicator_catalogue, write_snapshot

    rng = np.random.default_rng(7)
    codes = set(registered)
    n = 0
    while len(codes) < enterprises:
        body, k = "", n
        for _ in range(7):
            body, k = ALPHABET[k % 31] + body, k // 31
        codes.add(make_uscc("371002", "N" + body))
        n += 1
    usccs = sorted(codes)
    size = len(usccs)
    columns: dict[str, pa.Array] = {"uscc": pa.array(usccs)}
    for spec in indicator_catalogue().values():
        kind = spec.arrow_type
        if pa.types.is_boolean(kind):
            columns[spec.name] = pa.array(rng.random(size) < 0.03)
        elif pa.types.is_integer(kind):
            columns[spec.name] = pa.array(rng.integers(0, 30, size))
        elif pa.types.is_decimal(kind):
            columns[spec.name] = pa.array((rng.random(size) * 2e5).round(2)).cast(kind)
        elif pa.types.is_floating(kind):
            columns[spec.name] = pa.array(rng.random(size) * 10)
        else:
            columns[spec.name] = pa.array(rng.integers(0, 9, size).astype(str))
    lake = Lake(home / "lake")
    write_snapshot(lake, AS_OF, pa.table(columns))
    ratings = pa.table(
        {
            "uscc": pa.array(usccs),
            "score": pa.array(rng.random(size) * 1000),
            "grade": pa.array(np.array(list("ABCD"))[rng.integers(0, 4, size)]),
            "model_id": pa.array(np.ones(size, dtype=np.int64)),
        }
    )
    path = lake.root / "_ratings" / f"as_of={AS_OF.isoformat()}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(ratings, path, row_group_size=50_000)
    point_lookup.write_sidecar(path, ratings)
    return usccs


def set_up(home: Path, enterprises: int) -> tuple[str, int, list[str], list[str]]:
    """The installation: returns the database URL, the product id, the enterprise usernames and all USCCs."""
    from sqlalchemy import select

    from xinyidai import demo
    from xinyidai.accounts import service as accounts
    from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
    from xinyidai.core import security
    from xinyidai.core.access import Role
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.migrations import upgrade
    from xinyidai.market import service as market
    from xinyidai.market.schemas import ProductInput

    url = f"sqlite:///{home / 'xinyidai.db'}"
    upgrade(url)
    engine = get_engine(url)
    with session_scope(engine) as db:
        demo.build(db)
        people = {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}
        product = market.upsert_product(
            db, people["bank_admin"], ProductInput.model_validate(PRODUCT)
        ).product
        market.submit_product(db, people["bank_admin"], product.id)
        market.review_product(db, people["op_admin"], product.id, approve=True)
        product_id = product.id
        firms = db.execute(select(Organisation, EnterpriseProfile).join(EnterpriseProfile)).all()
        shared = security.hash_password(demo.DEMO_PASSWORD)
        users = []
        for n, (org, _profile) in enumerate(firms):  # one staff login per registered enterprise
            name = f"bench_ent{n:02d}"
            accounts.create_user(
                db,
                org,
                username=name,
                display_name="压测",
                roles=[Role.ENTERPRISE_STAFF],
                password=demo.DEMO_PASSWORD,
                password_hash=shared,
            )
            users.append(name)
        registered = [p.uscc for _o, p in firms]
    return url, product_id, users, snapshot(home, registered, enterprises)


def in_process(home: Path, product_id: int, usccs: list[str], samples: int) -> tuple[float, float]:
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.data.lake import Lake
    from xinyidai.indicators import service as indicators
    from xinyidai.market import service as market
    from xinyidai.market.models import Product
    from xinyidai.rating import service as rating

    lake = Lake(home / "lake")
    with session_scope(get_engine(f"sqlite:///{home / 'xinyidai.db'}")) as db:
        product = db.get(Product, product_id)
        assert product is not None
        db.expunge(product)
    durations = []
    random.seed(3)
    for uscc in random.sample(usccs, min(samples, len(usccs))):
        started = time.perf_counter()
        values = indicators.enterprise_indicators(lake, uscc)
        current = rating.current_rating(lake, uscc)
        profile = {
            "region_code": "371002",
            "industry_section": "C",
            "size_class": "small",
            "grade": current.grade if current else None,
            "score": current.score if current else None,
        }
        market.decide(product, profile, values, amount=Decimal("300000"), term_months=12)
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations), pct(durations, 0.99)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def load(
    base: str,
    users: list[str],
    password: str,
    product_id: int,
    requests: int,
    clients: int,
    rate: float = 0.0,
) -> dict[str, float]:
    """``clients`` concurrent connections; each sends its next request at once (``rate`` 0: saturation) or
    after a random pause (Poisson arrivals of ``rate`` requests per second in all)."""
    import httpx2 as httpx  # the dev extra (Starlette test client transport); same API as httpx

    sessions = []
    for name in users:
        client = httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=clients))
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"username": name, "password": password, "csrf_token": token.group(1)}
        done = await client.post("/login", data=form)
        home = await client.get(done.headers.get("location", "/enterprise")) if done.is_redirect else done
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert csrf is not None, "login failed"
        sessions.append((client, csrf.group(1)))
    server: list[float] = []
    observed: list[float] = []
    statuses: dict[int, int] = {}
    left = requests

    async def worker(i: int) -> None:
        nonlocal left
        client, csrf = sessions[i % len(sessions)]
        while left > 0:
            left -= 1
            if rate:
                await asyncio.sleep(random.expovariate(rate / clients))
            amount = random.choice(("100000", "300000", "800000", "2000000"))  # noqa: S311 — load, not secrets
            started = time.perf_counter()
            answer = await client.post(
                f"/api/v1/market/products/{product_id}/precredit",
                json={"amount": amount, "term_months": 12},
                headers={"X-CSRF-Token": csrf},
            )
            observed.append((time.perf_counter() - started) * 1000)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            timing = re.search(r"app;dur=([0-9.]+)", answer.headers.get("server-timing", ""))
            if timing:
                server.append(float(timing.group(1)))

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    for client, _ in sessions:
        await client.aclose()
    assert statuses.get(200) == len(observed), f"not every answer was 200: {statuses}"
    return {
        "server_median": statistics.median(server),
        "server_p99": pct(server, 0.99),
        "client_median": statistics.median(observed),
        "client_p99": pct(observed, 0.99),
        "throughput": len(observed) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--enterprises", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes (xinyidai serve --workers)"
    )
    parser.add_argument("--samples", type=int, default=2000, help="in-process decisions over random firms")
    parser.add_argument(
        "--rates",
        type=float,
        nargs="*",
        default=[25.0, 50.0],
        help="offered loads (requests/s in all) to measure besides saturation",
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="xyd-precredit-"))
    started = time.perf_counter()
    url, product_id, users, usccs = set_up(home, args.enterprises)
    print(
        f"set-up: {len(usccs):,} firms, {len(users)} enterprise logins, {time.perf_counter() - started:.0f} s"
    )
    median, p99 = in_process(home, product_id, usccs, args.samples)
    print(
        f"in-process decision (lookup + rules + limit + price), random firms: median {median:.2f} ms, "
        f"p99 {p99:.2f} ms"
    )
    port = free_port()
    env = {
        **os.environ,
        "XYD_HOME": str(home),
        "XYD_DATABASE_URL": url,
        "XYD_ENVIRONMENT": "test",
        "XYD_COOKIE_SECURE": "false",
        "XYD_LOG_LEVEL": "WARNING",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    server = subprocess.Popen(  # noqa: S603 — our own interpreter and module
        [
            sys.executable,
            "-m",
            "uvicorn",
            "xinyidai.web.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(args.workers),
        ],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        from xinyidai.demo import DEMO_PASSWORD as password

        asyncio.run(
            load(base, users, password, product_id, 200, args.clients)
        )  # warm-up: mapped pages, rules
        figures = {
            rate: asyncio.run(load(base, users, password, product_id, args.requests, args.clients, rate))
            for rate in (*args.rates, 0.0)
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    for rate, f in figures.items():
        offered = f"{rate:.0f} requests/s offered" if rate else "saturation (no pause between requests)"
        print(
            f"HTTP, {args.clients} concurrent clients, {offered}, {args.requests} requests, "
            f"{args.workers} uvicorn worker(s): "
            f"server-side median {f['server_median']:.1f} ms, p99 {f['server_p99']:.1f} ms (target ≤ 50); "
            f"client-observed median {f['client_median']:.1f} ms, p99 {f['client_p99']:.1f} ms; "
            f"{f['throughput']:.0f} answers/s"
        )


if __name__ == "__main__":
    main()
