"""Real-browser check of a sub-platform's landing page (issue #9): its theme colour reaches the page through
the same-origin stylesheet (no inline style, nothing blocked by the content security policy), the
featured items show, and an enterprise that logs in from it comes back to it and sees where it came in.

The screenshot goes to ``docs/screenshots/subplatform.png`` (from the SQLite run) and to
``var/artifacts/screenshots/`` for every backend."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.e2e.conftest import REPO_ROOT, LiveServer
from tests.e2e.test_browser import submit_login
from tests.web.test_subplatform_pages import make_subplatform, policy_title, product_name
from xinyidai.consoles.subplatform_models import Subplatform
from xinyidai.core.database import session_scope

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
