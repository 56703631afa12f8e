"""Real-browser journey of the data admin: a delivered city, "run the checks now", the results, the alert."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, totp_for
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser import submit_form, submit_login
from xinyidai.core.database import session_factory
from xinyidai.data import service as data
from xinyidai.data.lake import Lake
from xinyidai.data.synth import generate_city

pytestmark = pytest.mark.e2e


def test_data_admin_runs_the_quality_checks(page: Page, demo_site: LiveServer) -> None:
    home = demo_site.log_path.parent
    city = home / "city"
    if not city.exists():
        generate_city(city, enterprises=200, months=3, seed=11)
    session = session_factory(demo_site.engine)()
    try:
        data.ingest_directory(city, lake=Lake(home / "lake"), session=session)
    finally:
        session.close()

    page.goto("/login")
    submit_login(page, "op_data", PASSWORD)
    submit_form(page, "/login/totp", {"code": totp_for(demo_site.engine, "op_data")})
    page.get_by_role("link", name="数据质量").click()
    expect(page).to_have_url(demo_site.url("/operator/quality"))
    with page.expect_navigation():
        page.get_by_test_id("run-quality").click()
    expect(page).to_have_url(re.compile(r"/operator/quality/\d+$"))
    expect(page.get_by_test_id("quality-run-title")).to_contain_text("质量检查")
    assert page.get_by_test_id("quality-source-row").count() == 25
    failed = int(page.get_by_test_id("rules-failed").inner_text())
    assert failed > 0  # the synthetic city is delivered with dirt on purpose
    page.screenshot(path=demo_site.screenshot_path("quality-run"), full_page=True)

    # The failures reached the data admin as messages, counted in the top bar.
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    page.get_by_test_id("notifications-link").click()
    expect(page.get_by_test_id("notification").first).to_contain_text("数据质量异常")
    page.screenshot(path=demo_site.screenshot_path("quality-alerts"), full_page=True)
    with page.expect_navigation():
        page.get_by_test_id("open-notification").first.click()
    expect(page).to_have_url(re.compile(r"/operator/quality/\d+\?source=\w+&failed=1$"))
    assert page.get_by_test_id("quality-result-row").count() >= 1
