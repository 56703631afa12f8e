"""The government console at a 1,000,000-enterprise city: page latency and the 100,000-row Excel export
(``bench/run.py --only console`` runs it).

    .venv/bin/python bench/console_bench.py [--enterprises 1000000] [--requests 100]

Set-up (not timed): the demo organisations and users on SQLite, then a statistics set as
``xinyidai consoles refresh`` would publish it for a city of ``--enterprises`` firms over 24 months, built
in bulk in DuckDB (not through the services): per firm and 24 months 0.30 needs, 0.45 grabs, 0.35 offers,
0.40 applications, 0.30 decisions, 0.15 loans, 0.05 whitelist entries, 0.05 policy applications, 0.05
covered loans and a few claims, each on a random month, firm (16 districts, 97 industry divisions, 4 size
classes, 5 grades) and product (400 products of 40 institutions), aggregated to the same
(month, district, division, size, institution, product, grade) cells with the same SQL as the refresh.
Timed, in-process through the ASGI app (FastAPI TestClient, as ``bench/web_bench.py``), ``--requests``
times each: the main console views (by city, drilled to a city's districts and a district's industries,
by institution, by product, by quarter, filtered by size and industry), median and p99 in ms; then the
Excel export of the current view limited to 100,000 detail rows (in-process function and over HTTP), and
the monthly report PDF. Targets (issue 9): page p99 ≤ 1 s, 100,000-row export ≤ 10 s.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# events per firm over the 24 months, and the measures each event adds
RATES: dict[str, float] = {
    "need": 0.30,
    "grab": 0.45,
    "offer": 0.35,
    "application": 0.40,
    "approval": 0.22,
    "rejection": 0.08,
    "loan": 0.15,
    "whitelist": 0.05,
    "policy": 0.05,
    "covered": 0.05,
    "claim": 0.002,
}
EVENT_MEASURES: dict[str, dict[str, str]] = {
    "need": {"needs": "1", "needs_amount": "amount"},
    "grab": {"grabs": "1"},
    "offer": {"offers": "1"},
    "application": {"applications": "1", "applied_amount": "amount"},
    "approval": {"approvals": "1", "approved_amount": "amount"},
    "rejection": {"rejections": "1"},
    "loan": {
        "loans": "1",
        "disbursed_amount": "amount",
        "rate_amount": "amount * (3 + (h % 300) / 100.0)",
        "pure_credit_loans": "CASE WHEN h % 3 = 0 THEN 1 ELSE 0 END",
        "pure_credit_amount": "CASE WHEN h % 3 = 0 THEN amount ELSE 0 END",
        "npl_loans": "CASE WHEN h % 50 < grade_i + 1 THEN 1 ELSE 0 END",
        "npl_amount": "CASE WHEN h % 50 < grade_i + 1 THEN amount ELSE 0 END",
    },
    "whitelist": {"whitelist_entries": "1", "whitelist_financed": "CASE WHEN h % 4 = 0 THEN 1 ELSE 0 END"},
    "policy": {
        "policy_applications": "1",
        "policy_approved": "CASE WHEN h % 2 = 0 THEN 1 ELSE 0 END",
        "policy_disbursed_amount": "CASE WHEN h % 2 = 0 THEN amount / 20 ELSE 0 END",
    },
    "covered": {"covered_loans": "1", "covered_amount": "amount", "covered_outstanding": "amount * 0.6"},
    "claim": {"claims_paid": "1", "claims_paid_amount": "amount * 0.4"},
}
DISTRICTS = ["371002", "371003", "371082", "371083"] + [f"3710{n:02d}" for n in range(10, 22)]
GRADES = ["A", "B", "C", "D", ""]
SIZES = ["micro", "small", "medium", "large"]


def build_cells(enterprises: int, first_month: date, scoped_id: int, scopes: object) -> object:
    """The set of a city of ``enterprises`` firms (``statistics_refresh.Cells``), with the cells of the
    foreign-trade sub-platform ``scoped_id`` (its members: one firm in ten) aggregated as the refresh
    does; ``scopes`` is the set's record of the sub-platforms' scopes."""
    import duckdb
    import pyarrow as pa

    from xinyidai.consoles.statistics import DIMS, MEASURES
    from xinyidai.consoles.statistics_refresh import (
        SCOPE,
        Cells,
        aggregate_sql,
        lead_sql,
        scoped_source,
    )
    from xinyidai.core import codes

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    divisions = list(codes.DIVISIONS)
    sections = [codes.DIVISIONS[d].section for d in divisions]
    selects = []
    for kind, rate in RATES.items():
        n = max(1, int(enterprises * rate))
        measures = EVENT_MEASURES[kind]
        cols = []
        for m, mkind in MEASURES.items():
            expr = measures.get(m, "0")
            cols.append(
                f"CAST({expr} AS BIGINT) AS {m}"
                if mkind == "count"
                else f"CAST({expr} AS DECIMAL(28, 6)) AS {m}"
            )
        none = "'need', 'policy', 'whitelist'"
        size = "CASE WHEN h % 10 < 6 THEN 0 WHEN h % 10 < 9 THEN 1 ELSE 2 + h % 2 END"
        # a benchmark's own generated SQL, no outside input
        selects.append(
            f"""SELECT firm AS enterprise_id, month, region_code, industry_section, industry_division,
                       size_class, institution_id, product_id, grade, {", ".join(cols)}
                FROM (SELECT *, $divs[1 + firm % 97] AS industry_division,
                             $secs[1 + firm % 97] AS industry_section,
                             $districts[1 + (firm // 97) % {len(DISTRICTS)}] AS region_code,
                             $sizes[1 + {size}] AS size_class,
                             grade_i, $grades[1 + grade_i] AS grade,
                             CASE WHEN '{kind}' IN ({none}) THEN 0 ELSE product % 40 + 1000 END
                                 AS institution_id,
                             CASE WHEN '{kind}' IN ({none}) THEN 0 ELSE product + 2000 END AS product_id,
                             CAST(date_add($first, INTERVAL (h % 24) MONTH) AS DATE) AS month,
                             CAST(100000 + (h % 50) * 20000 AS DECIMAL(18, 2)) AS amount
                      FROM (SELECT i, CAST(hash(i, '{kind}') % 1000003 AS BIGINT) AS h,
                                   CAST(hash(i, '{kind}', 'f') % {enterprises} AS BIGINT) AS firm,
                                   CAST(hash(i, '{kind}', 'p') % 400 AS BIGINT) AS product,
                                   CAST(hash(i, '{kind}', 'g') % 5 AS BIGINT) AS grade_i
                            FROM range({n}) t(i)))"""  # noqa: S608
        )
    params = {
        "divs": divisions,
        "secs": sections,
        "districts": DISTRICTS,
        "sizes": SIZES,
        "grades": GRADES,
        "first": first_month,
    }
    con.execute("CREATE TABLE events AS " + " UNION ALL ".join(selects), params)
    con.execute(
        "CREATE TABLE members AS SELECT $id::BIGINT AS subplatform_id, i::BIGINT AS enterprise_id "
        "FROM range(0, $n, 10) t(i)",
        {"id": scoped_id, "n": enterprises},
    )
    facts = con.sql(aggregate_sql("events")).to_arrow_table()
    scoped = con.sql(aggregate_sql(scoped_source("events"), (SCOPE, *DIMS))).to_arrow_table()
    con.register("facts", facts)
    con.register("scoped_facts", scoped)
    # days from need to loan: a made-up spread over the loan cells (the histogram's size is what matters)
    lead_rows = "CAST(hash(month, product_id) % 60 AS BIGINT) AS days, CAST(loans AS BIGINT) AS loans"
    lead = con.sql(f"SELECT {', '.join(DIMS)}, {lead_rows} FROM facts WHERE loans > 0").to_arrow_table()  # noqa: S608
    scoped_lead_in = con.sql(
        f"SELECT {SCOPE}, {', '.join(DIMS)}, {lead_rows} FROM scoped_facts WHERE loans > 0"  # noqa: S608
    ).to_arrow_table()
    con.register("scoped_lead_in", scoped_lead_in)
    scoped_lead = con.sql(lead_sql("scoped_lead_in", (SCOPE, *DIMS))).to_arrow_table()
    names = con.sql(
        """SELECT 'institution' AS kind, CAST(1000 + i AS BIGINT) AS id, '银行' || i AS name
           FROM range(40) t(i)
           UNION ALL SELECT 'product', CAST(2000 + i AS BIGINT), '产品' || i FROM range(400) t(i)"""
    ).to_arrow_table()
    assert isinstance(scopes, pa.Table)
    return Cells(facts, lead, names, scoped, scoped_lead, scopes)


def make_subplatforms(db: object, enterprises: int) -> object:
    """The 环翠区 district sub-platform and the foreign-trade one (``exports_12m > 0``), run by the
    development and reform commission, and the set's record of their scopes (firm counts as the bench's
    city has them: one in 16 firms per district, one in ten exporting)."""
    import pyarrow as pa
    from sqlalchemy import select

    from xinyidai.accounts import service as accounts
    from xinyidai.accounts.models import Organisation, User
    from xinyidai.consoles import subplatforms as sub
    from xinyidai.consoles.statistics_refresh import SCOPES_SCHEMA
    from xinyidai.core.clock import today_local

    op = accounts.principal_for(db.scalars(select(User).where(User.username == "op_admin")).one())  # type: ignore[attr-defined]
    ndrc = db.scalars(select(Organisation.id).where(Organisation.name == "威海市发展和改革委员会")).one()  # type: ignore[attr-defined]
    common = {"owner_id": ndrc, "colour": "#0f766e"}
    district = sub.create_subplatform(
        db,
        op,
        sub.SubplatformInput(
            slug="huancui", name="环翠区子平台", kind="district", region_code="371002", **common
        ),  # type: ignore[arg-type]
    )
    trade = sub.create_subplatform(
        db,
        op,
        sub.SubplatformInput(
            slug="waimao", name="外贸子平台", kind="theme", scope_expression="exports_12m > 0", **common
        ),  # type: ignore[arg-type]
    )
    return pa.table(
        {
            "subplatform_id": [district.id, trade.id],
            "fingerprint": [sub.scope_fingerprint(district), sub.scope_fingerprint(trade)],
            "enterprises": [enterprises // len(DISTRICTS), enterprises // 10],
            "indicators_as_of": [None, today_local()],
            "expression": ["", trade.scope_expression],
        },
        schema=SCOPES_SCHEMA,
    )


def timed(samples: int, call: Callable[[], object]) -> tuple[float, float]:
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    return statistics.median(durations), durations[min(len(durations) - 1, int(len(durations) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from xinyidai import demo
    from xinyidai.consoles import statistics as stats
    from xinyidai.consoles.statistics_export import export_xlsx
    from xinyidai.consoles.statistics_refresh import write_set
    from xinyidai.core import i18n
    from xinyidai.core.clock import today_local, utcnow
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.migrations import upgrade
    from xinyidai.core.settings import Settings
    from xinyidai.web.app import create_app

    home = Path(tempfile.mkdtemp(prefix="xyd-console-bench-"))
    url = f"sqlite:///{home / 'bench.db'}"
    upgrade(url)
    engine = get_engine(url)
    with session_scope(engine) as db:
        demo.build(db)
        scopes = make_subplatforms(db, args.enterprises)
        waimao = scopes.column("subplatform_id")[1].as_py()
    end = today_local().replace(day=1)
    first = stats.add_months(end, -23)
    started = time.perf_counter()
    cells = build_cells(args.enterprises, first, waimao, scopes)
    with session_scope(engine) as db:
        record = write_set(
            db,
            home / "lake",
            cells,  # type: ignore[arg-type]
            as_of=utcnow(),
            started=started,
            triggered_by="bench",
        )
        print(
            f"set-up: {args.enterprises:,} firms over 24 months → {record.fact_rows:,} fact cells, "
            f"{cells.lead.num_rows:,} lead-time cells, {cells.scoped.num_rows:,} cells of the "  # type: ignore[attr-defined]
            f"foreign-trade sub-platform in {time.perf_counter() - started:.0f} s"
        )
    settings = Settings(
        home=home, database_url=url, environment="test", secret_key="b" * 48, log_level="WARNING"
    )
    client = TestClient(create_app(settings), base_url="https://testserver")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/login", data={"username": "gov_staff", "password": demo.DEMO_PASSWORD, "csrf_token": token.group(1)}
    )
    started = time.perf_counter()
    first_page = client.get("/government/statistics")
    assert first_page.status_code == 200, first_page.text[:500]
    print(f"first view (loads the set into memory): {(time.perf_counter() - started) * 1000:.0f} ms")
    measured = {
        "by city (default, last 12 months)": "/government/statistics",
        "a city's districts": "/government/statistics?region=371000&dim=region",
        "a district's industries": "/government/statistics?region=371002&dim=industry",
        "a section's divisions": "/government/statistics?region=371002&industry=C&dim=industry",
        "by institution, 24 months": f"/government/statistics?from={first:%Y-%m}&dim=institution",
        "by product": "/government/statistics?dim=product",
        "by quarter, 24 months": f"/government/statistics?from={first:%Y-%m}&granularity=quarter&dim=period",
        "small firms in manufacturing, by size": "/government/statistics?size=small&industry=C&dim=size",
    }
    print(f"\nsqlite + DuckDB in memory, {args.requests} requests each\n")
    print("| view | median ms | p99 ms |")
    print("|---|---|---|")
    for name, path in measured.items():
        assert client.get(path).status_code == 200
        median, p99 = timed(args.requests, lambda path=path: client.get(path))
        print(f"| {name} | {median:.1f} | {p99:.1f} |")

    span = f"from={first:%Y-%m}"
    scoped_views = {
        "district sub-platform, by industry": "/s/huancui/statistics?dim=industry",
        "district sub-platform, by institution, 24 months": f"/s/huancui/statistics?{span}&dim=institution",
        "foreign-trade sub-platform (rule scope), by region": "/s/waimao/statistics",
        "foreign-trade sub-platform, a district's industries": (
            "/s/waimao/statistics?region=371002&dim=industry"
        ),
        "foreign-trade sub-platform, by quarter, 24 months": (
            f"/s/waimao/statistics?{span}&granularity=quarter&dim=period"
        ),
    }
    for name, path in scoped_views.items():
        answer = client.get(path)
        assert answer.status_code == 200 and 'data-testid="headline"' in answer.text, answer.text[:300]
        median, p99 = timed(args.requests, lambda path=path: client.get(path))
        print(f"| {name} | {median:.1f} | {p99:.1f} |")

    store = stats.FactStore(home / "lake" / record.path, record.as_of)
    view = stats.Filters(start=first, end=end)
    rows = sum(1 for _ in stats.detail_rows(store, view, 100_000))
    gettext = i18n.translations("zh_CN").gettext
    durations = []
    for _ in range(3):
        started = time.perf_counter()
        content = export_xlsx(store, view, "region", gettext, detail_limit=100_000)
        durations.append(time.perf_counter() - started)
    print(
        f"\nExcel export of the 24-month view, {rows:,} detail rows: "
        f"median {statistics.median(durations):.2f} s "
        f"({', '.join(f'{d:.2f}' for d in durations)}), {len(content) / 2**20:.1f} MB"
    )
    started = time.perf_counter()
    response = client.get(f"/government/statistics/export.xlsx?from={end:%Y-%m}")
    assert response.status_code == 200
    print(
        f"over HTTP, one month's view: {time.perf_counter() - started:.2f} s, "
        f"{len(response.content) / 2**20:.1f} MB"
    )
    started = time.perf_counter()
    report = client.get(f"/government/statistics/monthly-report.pdf?month={end:%Y-%m}")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    print(f"monthly report PDF: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    pdf = client.get("/government/statistics/export.pdf")
    assert pdf.status_code == 200
    print(f"view PDF: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
