"""The institution's need pool and applications queue with 100,000 open needs and 100,000 applications
(``bench/run.py --only market`` runs it).

    .venv/bin/python bench/market_pages_bench.py [--needs 100000] [--requests 200] [--database-url URL]

Set-up (not timed): the demo organisations and users, the bank's listed products, ``--needs`` open needs
of the registered enterprises (amounts, terms and grades spread so that about two thirds fit the bank's
products) and as many applications to the bank, bulk-inserted. Then, in-process (FastAPI TestClient, as
``bench/web_bench.py``), the bank's account manager opens the first page, a later page and a filtered
page of each, ``--requests`` times; median and p99 in ms. The issue's target: p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def timed(samples: int, call: Callable[[], object]) -> tuple[float, float]:
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    return statistics.median(durations), durations[min(len(durations) - 1, int(len(durations) * 0.99))]


def fill(url: str, needs: int) -> None:
    from sqlalchemy import insert, select, text

    from xinyidai import demo, demo_market
    from xinyidai.accounts.models import EnterpriseProfile, Organisation
    from xinyidai.core.clock import today_local, utcnow
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.migrations import upgrade
    from xinyidai.market.models import Application, Need, Product

    upgrade(url)
    engine = get_engine(url)
    with session_scope(engine) as db:
        demo.build(db)
    with session_scope(engine) as db:
        people = demo_market._people(db)
        acting = {"bank": people["bank_admin"]}
        from xinyidai.market import service as market
        from xinyidai.market.schemas import ProductInput

        for key, fields in demo_market.PRODUCTS:
            if key in acting:
                product = market.upsert_product(db, acting[key], ProductInput.model_validate(fields)).product
                market.submit_product(db, acting[key], product.id)
                market.review_product(db, people["op_admin"], product.id, approve=True)
    with session_scope(engine) as db:
        firms = db.execute(select(Organisation, EnterpriseProfile).join(EnterpriseProfile)).all()
        product = db.scalars(select(Product).where(Product.external_id == "WHCB-SHUIE")).one()
        bank_id = product.institution_id
        rng = random.Random(5)  # noqa: S311 — synthetic data
        expires = today_local() + timedelta(days=30)
        now = utcnow()
        need_rows, app_rows = [], []
        for n in range(needs):
            org, profile = firms[n % len(firms)]
            common = {"enterprise_id": org.id, "uscc": profile.uscc, "enterprise_name": org.name}
            need_rows.append(
                {
                    **common,
                    "amount": Decimal(rng.choice((80_000, 300_000, 800_000, 1_500_000, 5_000_000))),
                    "term_months": rng.choice((6, 12, 24, 36)),
                    "purpose": "working_capital",
                    "collateral": "none",
                    "region_code": org.region_code or "371002",
                    "industry_section": profile.industry_section,
                    "size_class": profile.size_class,
                    "grade": rng.choice("AABBBCCD"),
                    "status": "open",
                    "holders": 0,
                    "max_holders": 3,
                    "expires_on": expires,
                    "created_at": now,
                }
            )
            app_rows.append(
                {
                    **common,
                    "institution_id": bank_id,
                    "product_id": product.id,
                    "channel": "product",
                    "amount": Decimal(300_000),
                    "term_months": 12,
                    "purpose": "",
                    "grade": "B",
                    "status": rng.choice(("submitted", "accepted", "approved", "rejected", "disbursed")),
                    "created_at": now,
                    "updated_at": now,
                    "due_at": now + timedelta(days=3),
                    "decision": {},
                }
            )
        for start in range(0, needs, 10_000):
            db.execute(insert(Need), need_rows[start : start + 10_000])
            db.execute(insert(Application), app_rows[start : start + 10_000])
    with engine.connect() as conn:  # statistics after a bulk load, as autovacuum would gather them
        conn.execute(text("ANALYZE"))
        conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL (its schema is replaced); SQLite if empty"
    )
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from xinyidai import demo
    from xinyidai.core.settings import Settings
    from xinyidai.web.app import create_app

    home = Path(tempfile.mkdtemp(prefix="xyd-market-bench-"))
    url = args.database_url or f"sqlite:///{home / 'bench.db'}"
    if args.database_url:
        from sqlalchemy import create_engine, text

        with create_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    started = time.perf_counter()
    fill(url, args.needs)
    print(
        f"set-up: {args.needs:,} open needs and as many applications in {time.perf_counter() - started:.0f} s"
    )
    settings = Settings(
        home=home, database_url=url, environment="test", secret_key="b" * 48, log_level="WARNING"
    )
    client = TestClient(create_app(settings), base_url="https://testserver")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/login",
        data={"username": "bank_manager", "password": demo.DEMO_PASSWORD, "csrf_token": token.group(1)},
    )
    first = client.get("/institution/pool")
    assert first.status_code == 200, first.text[:500]
    total = re.search(r"共\s*([\d,]+)", first.text)
    print(f"the pool shows {total.group(1) if total else '?'} needs that fit the bank's products")
    measured = {
        "GET /institution/pool": "/institution/pool",
        "GET /institution/pool?page=500": "/institution/pool?page=500",
        "GET /institution/pool?grade=A&min_amount=500000": "/institution/pool?grade=A&min_amount=500000",
        "GET /institution/applications": "/institution/applications",
        "GET /institution/applications?page=500": "/institution/applications?page=500",
        "GET /institution/applications?status=submitted": "/institution/applications?status=submitted",
    }
    print(f"\n{'sqlite' if not args.database_url else 'postgresql'}, {args.requests} requests each\n")
    print("| page | median ms | p99 ms |")
    print("|---|---|---|")
    for name, path in measured.items():
        assert client.get(path).status_code == 200
        median, p99 = timed(args.requests, lambda path=path: client.get(path))
        print(f"| {name} | {median:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
