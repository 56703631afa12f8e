"""Real-browser journey through the marketplace: an enterprise publishes a need, the bank's account manager
grabs it from the order hall and makes an offer, the enterprise compares the offers and accepts one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser import submit_login
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.database import session_scope
from xinyidai.market import service as market
from xinyidai.market.models import Product
from xinyidai.market.schemas import ProductInput

pytestmark = pytest.mark.e2e


def list_a_product(server: LiveServer) -> None:
    """The bank's credit product, reviewed and listed (the setting the journey starts from)."""
    with session_scope(server.engine) as db:
        if db.scalars(select(Product).where(Product.external_id == "E2E-SHUIE")).first() is not None:
            return
        people = {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}
        product = market.upsert_product(
            db,
            people["bank_admin"],
            ProductInput.model_validate(
                {
                    "external_id": "E2E-SHUIE",
                    "name": "税e贷",
                    "product_type": "credit",
                    "amount_min": "100000",
                    "amount_max": "2000000",
                    "term_min": 3,
                    "term_max": 24,
                    "rate_min": "3.85",
                    "rate_max": "6.00",
                    "repayment_methods": ["interest_first"],
                    "pure_credit": True,
                }
            ),
        ).product
        market.submit_product(db, people["bank_admin"], product.id)
        market.review_product(db, people["op_admin"], product.id, approve=True)


def log_out(page: Page) -> None:
    page.context.clear_cookies()


def test_a_need_is_grabbed_offered_and_accepted(page: Page, demo_site: LiveServer) -> None:
    list_a_product(demo_site)
    page.goto("/login")
    submit_login(page, "ent_admin", PASSWORD)
    page.goto("/enterprise/needs")
    form = page.get_by_test_id("need-form")
    form.locator('[name="amount"]').fill("600000")
    form.locator('[name="term_months"]').fill("12")
    form.locator('[name="description"]').fill("采购原材料")
    with page.expect_navigation():
        page.get_by_test_id("publish").click()
    expect(page).to_have_url(re.compile(r"/enterprise/needs/\d+$"))
    need_url = page.url
    expect(page.get_by_test_id("need-status")).to_have_text("开放中")

    log_out(page)
    page.goto("/login")
    submit_login(page, "bank_manager", PASSWORD)
    page.goto("/institution/pool")
    row = page.get_by_test_id("pool-row").filter(has_text="600,000.00").first
    with page.expect_navigation():
        row.get_by_test_id("grab").click()
    expect(page).to_have_url(re.compile(r"/institution/orders"))
    order = page.get_by_test_id("order").filter(has_text="采购原材料").first
    order.locator('[name="rate"]').fill("4.35")
    order.locator('[name="repayment_method"]').select_option("interest_first")
    with page.expect_navigation():
        order.get_by_test_id("make-offer").click()
    expect(
        page.get_by_test_id("order").filter(has_text="采购原材料").first.get_by_test_id("offer")
    ).to_contain_text("4.35")
    page.screenshot(path=demo_site.screenshot_path("market-orders"), full_page=True)

    log_out(page)
    page.goto("/login")
    submit_login(page, "ent_admin", PASSWORD)
    page.goto(need_url)
    expect(page.get_by_test_id("offer-rate").first).to_have_text("4.35%")
    expect(page.get_by_test_id("offer-institution").first).to_contain_text("威海市商业银行")
    page.screenshot(path=demo_site.screenshot_path("market-offers"), full_page=True)
    with page.expect_navigation():
        page.get_by_test_id("accept-offer").first.click()
    expect(page).to_have_url(re.compile(r"/enterprise/applications/\d+$"))
    expect(page.locator("body")).to_contain_text("已提交")
