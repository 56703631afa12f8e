"""Real-browser check of the operator's one-screen monitoring and the enterprise home (issue #9).

The screen shows a stale source red with its reason, then refreshes itself from /operator/screen.json
(the poll counter moves) without any script blocked by the content security policy; the enterprise home
shows its attention list with links. Screenshots go to ``docs/screenshots/`` (from the SQLite run) for
the README, and to ``var/artifacts/screenshots/`` for every backend.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.conftest import PASSWORD, totp_for
from tests.e2e.conftest import REPO_ROOT, LiveServer
from tests.e2e.test_browser import submit_form, submit_login
from tests.web.test_enterprise_home import _bank, _enterprises, _facts, _product, _uscc
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.data.catalogue import Frequency, catalogue
from xinyidai.data.models import IngestBatch
from xinyidai.market.models import Product

pytestmark = pytest.mark.e2e

DOCS = REPO_ROOT / "docs" / "screenshots"


def _watch(page: Page) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )
    return problems, failed


def _keep(site: LiveServer, name: str, shot: Path) -> None:
    if site.backend == "sqlite":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / f"{name}.png")


def test_the_screen_shows_red_with_its_reason_and_refreshes(page: Page, demo_site: LiveServer) -> None:
    monthly = next(s for s in catalogue().sources.values() if s.frequency is Frequency.MONTHLY)
    with session_scope(demo_site.engine) as db:
        batch_id = f"e2e-stale-{monthly.id}"
        if db.get(IngestBatch, batch_id) is None:
            received = utcnow() - timedelta(days=120)
            db.add(
                IngestBatch(
                    id=batch_id,
                    source_id=monthly.id,
                    status="published",
                    mode="replace",
                    received_at=received,
                    started_at=received,
                    published_at=received,
                )
            )
    problems, failed = _watch(page)
    page.goto("/login")
    submit_login(page, "op_audit", PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/totp(\?.*)?$"))
    submit_form(page, "/login/totp", {"code": totp_for(demo_site.engine, "op_audit")})
    page.goto("/operator/screen")
    expect(page.get_by_test_id("screen-title")).to_be_visible()
    sources = page.get_by_test_id("tile-sources")
    expect(sources).to_have_attribute("data-status", "red")
    expect(page.get_by_test_id("reasons-sources")).to_contain_text(monthly.name_zh)
    expect(page.get_by_test_id("reasons-sources")).to_contain_text("120")
    # the script polls the JSON every 10 seconds and rebuilds the tiles from it
    expect(page.get_by_test_id("screen-polls")).to_have_text("1", timeout=25_000)
    expect(page.get_by_test_id("tile-sources")).to_have_attribute("data-status", "red")
    expect(page.get_by_test_id("reasons-sources")).to_contain_text(monthly.name_zh)
    expect(page.get_by_test_id("tile-traffic").locator("tbody tr").first).to_be_visible()
    shot = demo_site.screenshot_path("operator-screen")
    page.screenshot(path=shot, full_page=True)
    _keep(demo_site, "operator-screen", shot)
    assert not [p for p in problems if not p.startswith("Failed to load resource")], problems
    assert not failed, failed


def _rating_history(site: LiveServer, uscc: str) -> None:
    """Six monthly ratings of the enterprise in the live server's lake (C, then B from the fourth)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xinyidai.data.lake import Lake
    from xinyidai.indicators.compute import indicator_catalogue, write_snapshot
    from xinyidai.rating import service as rating
    from xinyidai.rating.models import RatingChange, RatingRun

    lake = Lake(site.log_path.parent / "lake")  # the server's XYD_HOME holds its log and its lake
    days = [date(2026, month, 28) for month in range(6, 12)]
    columns: dict[str, pa.Array] = {"uscc": pa.array([uscc])}
    for spec in indicator_catalogue().values():
        kind = spec.arrow_type
        if pa.types.is_boolean(kind):
            columns[spec.name] = pa.array([spec.name == "is_active"])  # an active firm, on no list
        elif pa.types.is_integer(kind):
            columns[spec.name] = pa.array([3], type=kind)
        elif pa.types.is_decimal(kind):
            columns[spec.name] = pa.array([Decimal("150000")], type=kind)
        elif pa.types.is_floating(kind):
            columns[spec.name] = pa.array([1.0], type=kind)
        else:
            columns[spec.name] = pa.array([None], type=kind)
    write_snapshot(lake, days[-1], pa.table(columns))
    with session_scope(site.engine) as db:
        model = rating.ensure_default_model(db)
        folder = lake.root / rating.RATINGS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        for n, day in enumerate(days):
            grade, score = ("C", 520.0) if n < 3 else ("B", 690.0)
            table = pa.table({"uscc": [uscc], "score": [score], "grade": [grade], "model_id": [model.id]})
            pq.write_table(table, folder / f"as_of={day.isoformat()}.parquet")
        if not db.scalars(select(RatingChange).where(RatingChange.uscc == uscc)).first():
            run = RatingRun(as_of=days[3], model_id=model.id, enterprises=1)
            db.add(run)
            db.flush()
            db.add(
                RatingChange(
                    uscc=uscc,
                    as_of=days[3],
                    run_id=run.id,
                    previous_grade="C",
                    grade="B",
                    previous_score=Decimal("520"),
                    score=Decimal("690"),
                )
            )


def test_the_enterprise_home_lists_what_needs_attention(page: Page, demo_site: LiveServer) -> None:
    with session_scope(demo_site.engine) as db:
        mine, _ = _enterprises(db)
        if db.scalars(select(Product).where(Product.external_id == "H-1")).first() is None:
            bank = _bank(db)
            _facts(db, mine, bank, _product(db, bank), amount="123456")
        uscc = _uscc(db, mine)
    _rating_history(demo_site, uscc)
    problems, failed = _watch(page)
    page.goto("/login")
    submit_login(page, "ent_admin", PASSWORD)
    expect(page).to_have_url(demo_site.url("/enterprise"))
    attention = page.get_by_test_id("attention")
    expect(attention).to_be_visible()
    expect(page.get_by_test_id("attention-loan")).to_contain_text("123,456.00")
    expect(page.get_by_test_id("attention-consent")).to_be_visible()
    expect(page.get_by_test_id("grade-chart").locator("circle")).to_have_count(6)
    expect(page.get_by_test_id("grade")).to_have_text("B")
    shot = demo_site.screenshot_path("enterprise-home")
    page.screenshot(path=shot, full_page=True)
    _keep(demo_site, "enterprise-home", shot)
    with page.expect_navigation():
        page.get_by_test_id("attention-loan").locator("a").click()
    expect(page).to_have_url(demo_site.url("/enterprise/loans"))
    assert not [p for p in problems if not p.startswith("Failed to load resource")], problems
    assert not failed, failed
