"""Real-browser check of the government console (issue #9): a department's staff opens the financing
statistics, sees the figures beside the inline-SVG charts with their freshness, clicks the city's bar to
drill down to its districts, and nothing is blocked by the content security policy (no script at all).
The screenshot goes to ``docs/screenshots/government-console.png`` (from the SQLite run) and to
``var/artifacts/screenshots/`` for every backend."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.e2e.conftest import REPO_ROOT, LiveServer
from tests.e2e.test_browser import submit_login
from tests.integration.test_statistics import build_market
from xinyidai.consoles.statistics_refresh import refresh
from xinyidai.core.database import session_scope
from xinyidai.market.models import Product

pytestmark = pytest.mark.e2e

DOCS = REPO_ROOT / "docs" / "screenshots"


def test_the_console_drills_down_from_the_city_to_its_districts(page: Page, demo_site: LiveServer) -> None:
    with session_scope(demo_site.engine) as db:
        built = db.scalars(select(Product).where(Product.external_id == "ST-CREDIT-01")).first() is not None
    if not built:
        build_market(demo_site.engine)
    with session_scope(demo_site.engine) as db:
        refresh(db, demo_site.log_path.parent / "lake", triggered_by="e2e")
    problems: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )
    page.goto("/login")
    submit_login(page, "gov_staff", PASSWORD)
    page.goto("/government/statistics")
    expect(page.get_by_test_id("freshness")).to_be_visible()
    expect(page.get_by_test_id("kpi-loans")).to_contain_text("2")
    expect(page.get_by_test_id("chart-dimension")).to_be_visible()
    page.get_by_test_id("drill").first.click()
    expect(page).to_have_url(re.compile(r"region=\d{4}00"))
    expect(page.get_by_test_id("breakdown-row").first).to_have_attribute("data-key", re.compile(r"^\d{6}$"))
    expect(page.get_by_test_id("breadcrumbs")).to_contain_text("威海市")
    shot = demo_site.screenshot_path("government-console")
    page.screenshot(path=shot, full_page=True)
    if demo_site.backend == "sqlite":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / "government-console.png")
    assert not [p for p in problems if not p.startswith("Failed to load resource")], problems  # favicon
    assert not failed, failed
