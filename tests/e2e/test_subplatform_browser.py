"""Real-browser check of a sub-platform's landing page (issue #9): its theme colour reaches the page through
the same-origin stylesheet (no inline style, nothing blocked by the content security policy), the
featured items show, and an enterprise that logs in from it comes back to it and sees where it came in.

The screenshot goes to ``docs/screenshots/subplatform.png`` (from the SQLite run) and to
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
from tests.web.test_subplatform_pages import make_subplatform, policy_title, product_name
from xinyidai.accounts.models import Organisation
from xinyidai.consoles.statistics_refresh import refresh
from xinyidai.consoles.subplatform_models import Subplatform
from xinyidai.core.database import session_scope
from xinyidai.market.models import Product

pytestmark = pytest.mark.e2e

DOCS = REPO_ROOT / "docs" / "screenshots"
TEAL = "rgb(15, 118, 110)"  # #0f766e


def test_a_subplatform_landing_page_in_a_browser(page: Page, demo_site: LiveServer) -> None:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    failed: list[str] = []
    page.on(
        "response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )
    with session_scope(demo_site.engine) as db:
        exists = db.scalars(select(Subplatform).where(Subplatform.slug == "huancui")).first() is not None
    if not exists:
        make_subplatform(demo_site.engine)

    page.goto("/s/huancui")
    expect(page.get_by_test_id("subplatform-name")).to_have_text("环翠区信易贷子平台")
    expect(page.get_by_test_id("featured-product")).to_contain_text(product_name("huancui"))
    expect(page.get_by_test_id("featured-policy")).to_contain_text(policy_title("huancui"))
    # the theme colour is applied: the top bar and the hero's top border take it
    topbar = page.locator(".topbar")
    expect(topbar).to_have_css("background-color", TEAL)
    expect(page.locator(".subplatform-hero")).to_have_css("border-top-color", TEAL)
    shot = demo_site.screenshot_path("subplatform")
    page.screenshot(path=shot, full_page=True)
    if demo_site.backend == "sqlite":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / "subplatform.png")

    page.get_by_test_id("subplatform-login").click()
    page.wait_for_url("**/login?next=/s/huancui")
    submit_login(page, "ent_admin", PASSWORD)
    page.wait_for_url("**/s/huancui")
    expect(page.get_by_test_id("subplatform-home")).to_be_visible()
    page.get_by_test_id("subplatform-home").click()
    page.wait_for_url("**/enterprise")
    expect(page.get_by_test_id("entered-through")).to_contain_text("环翠区信易贷子平台")
    assert not [p for p in problems if not p.startswith("Failed to load resource")], problems
    assert not failed, failed


def test_a_subplatforms_staff_open_its_scoped_console(page: Page, demo_site: LiveServer) -> None:
    """The owning department's staff open the sub-platform's console: the district's figures with the
    government console's charts, drill-down that stays on the sub-platform's address, and its exports."""
    with session_scope(demo_site.engine) as db:
        sp = db.scalars(select(Subplatform).where(Subplatform.slug == "huancui")).first()
        owner = db.get(Organisation, sp.owner_id).name if sp is not None else None  # type: ignore[union-attr]
    if owner is None:
        make_subplatform(demo_site.engine)
        owner = "威海市发展和改革委员会"
    with session_scope(demo_site.engine) as db:
        built = db.scalars(select(Product).where(Product.external_id == "ST-CREDIT-01")).first() is not None
    if not built:
        build_market(demo_site.engine)  # the console test's small market: a loan, a rejection, a default
    with session_scope(demo_site.engine) as db:
        refresh(db, demo_site.log_path.parent / "lake", triggered_by="e2e")
    staff = {"威海市发展和改革委员会": "gov_staff", "威海市财政局": "fund_manager"}[owner]
    failed: list[str] = []
    page.on(
        "response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )
    page.goto("/login")
    submit_login(page, staff, PASSWORD)
    page.goto("/s/huancui/statistics?dim=industry")
    expect(page.get_by_test_id("subplatform-statistics-title")).to_contain_text("环翠区")
    expect(page.get_by_test_id("scope-enterprises")).to_be_visible()
    expect(page.get_by_test_id("headline")).to_be_visible()
    expect(page.get_by_test_id("breakdown")).to_be_visible()
    expect(page.get_by_test_id("export-xlsx")).to_have_attribute("href", re.compile(r"^/s/huancui/"))
    shot = demo_site.screenshot_path("subplatform-statistics")
    page.screenshot(path=shot, full_page=True)
    if demo_site.backend == "sqlite":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / "subplatform-statistics.png")
    page.get_by_test_id("dimensions").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/s/huancui/statistics\?"))
    assert not failed, failed
