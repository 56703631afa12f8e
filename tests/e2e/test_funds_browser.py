"""Real-browser journeys through public money and policies.

- The fund manager sees the funds and their exposure, reviews and approves a claim and sees the ledger
  change, then edits the fund's risk-sharing scheme (a bad split is refused; a good one is a new version).
- A department publishes a policy, reviews an enterprise's application and starts its publicity.
- An enterprise sees the policies it qualifies for and applies with a material uploaded.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser import submit_login
from tests.e2e.test_market_browser import list_a_product, log_out
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.access import Principal
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.demo_policies import DEMO_PDF
from xinyidai.funds import service as funds
from xinyidai.funds import subscriptions
from xinyidai.funds.schemes_models import GuaranteeFund
from xinyidai.market import service as market
from xinyidai.market.models import Product
from xinyidai.market.schemas import ApprovalInput, DisbursementInput, LoanReportInput
from xinyidai.policies import service as policies
from xinyidai.policies.models import Policy
from xinyidai.policies.schemas import PolicyInput

pytestmark = pytest.mark.e2e
D = Decimal
FUND = "E2E信保基金"
POLICY = "E2E稳岗补贴"
subscriptions.register()


def _people(server: LiveServer) -> dict[str, Principal]:
    with session_scope(server.engine) as db:
        return {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}


def a_claim_waiting(server: LiveServer) -> int:
    """A fund (1 % guarantee fee) covering a 1,000,000 yuan grade-A loan that defaulted, and the bank's
    claim of 500,000 yuan on it (the fund's 80 %: 400,000): the fund's id."""
    list_a_product(server)
    people = _people(server)
    with session_scope(server.engine) as db:
        existing = db.scalars(select(GuaranteeFund).where(GuaranteeFund.name == FUND)).first()
        if existing is not None:
            return existing.id
        manager = people["fund_manager"]
        fund = funds.create_fund(db, manager, name=FUND, leverage=D(10), fee_rate=D(1))
        funds.contribute(db, manager, fund.id, amount=D("5000000.00"), contributor="威海市财政局", key="e2e")
        product_id = db.scalars(select(Product.id).where(Product.external_id == "E2E-SHUIE")).one()
        app = market.open_application(
            db, people["ent_admin"], product_id=product_id, amount=D("1000000"), term_months=12, grade="A"
        )
        market.accept(db, people["bank_manager"], app.id)
        market.approve(
            db,
            people["bank_risk"],
            app.id,
            ApprovalInput(amount=D("1000000"), rate=D("4.00"), term_months=12),
        )
        loan = market.disburse(
            db,
            people["bank_manager"],
            app.id,
            DisbursementInput(disbursed_on=today_local() - timedelta(days=120)),
        )
        market.report_loan(
            db, people["bank_manager"], loan.id, LoanReportInput(kind="default", occurred_on=today_local())
        )
        funds.file_claim(db, people["bank_risk"], loan_id=loan.id, loss=D("500000.00"), note="E2E")
        return fund.id


def test_the_fund_manager_reviews_a_claim_and_edits_the_scheme(page: Page, demo_site: LiveServer) -> None:
    fund_id = a_claim_waiting(demo_site)
    page.goto("/login")
    submit_login(page, "fund_manager", PASSWORD)
    page.goto("/government/funds")
    with page.expect_navigation():
        page.get_by_test_id("fund-row").filter(has_text=FUND).get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/government/funds/{fund_id}$"))
    # 5,000,000 contributed + 10,000 guarantee fee charged when the loan joined
    expect(page.get_by_test_id("cash")).to_have_text("5,010,000.00")
    expect(page.get_by_test_id("exposure-row")).to_contain_text("1,000,000.00")
    expect(page.get_by_test_id("exposure-row")).to_contain_text("800,000.00")

    page.goto("/government/claims")
    with page.expect_navigation():
        page.get_by_test_id("claim-row").filter(has_text="500,000.00").get_by_role("link").first.click()
    expect(page.get_by_test_id("fund-amount")).to_contain_text("400,000.00")
    page.get_by_test_id("approve-form").locator('[name="note"]').fill("材料齐全，同意代偿")
    with page.expect_navigation():
        page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("approve")).to_have_count(0)

    page.goto(f"/government/funds/{fund_id}/ledger")
    expect(page.get_by_test_id("entry-row").first).to_contain_text("payout")
    expect(page.get_by_test_id("account-row").first).to_contain_text("4,610,000.00")
    page.screenshot(path=demo_site.screenshot_path("fund-ledger"), full_page=True)

    page.goto(f"/government/funds/{fund_id}")
    with page.expect_navigation():
        page.get_by_test_id("fund-scheme-name").get_by_role("link").click()
    expect(page.get_by_test_id("scheme-version")).to_contain_text("1")
    form = page.get_by_test_id("scheme-form")
    form.locator('[name="band-0-fund"]').fill("70")
    form.locator('[name="band-0-third_name"]').fill("人保财险威海分公司")
    form.locator('[name="band-0-third"]').fill("10")
    form.locator('[name="band-0-bank"]').fill("30")  # 70 + 30 + 10 = 110
    with page.expect_navigation():
        page.get_by_test_id("save-scheme").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("110")
    page.get_by_test_id("scheme-form").locator('[name="band-0-bank"]').fill("20")
    with page.expect_navigation():
        page.get_by_test_id("save-scheme").click()
    expect(page.get_by_test_id("scheme-version")).to_contain_text("2")
    expect(page.get_by_test_id("scheme-bands")).to_contain_text("人保财险威海分公司")
    page.screenshot(path=demo_site.screenshot_path("fund-scheme"), full_page=True)


def a_published_policy(server: LiveServer) -> int:
    people = _people(server)
    with session_scope(server.engine) as db:
        existing = db.scalars(select(Policy).where(Policy.title == POLICY)).first()
        if existing is not None:
            return existing.id
        policy = policies.save_policy(
            db,
            people["gov_staff"],
            PolicyInput.model_validate(
                {
                    "issuer": "威海市发展和改革委员会",
                    "title": POLICY,
                    "benefit": "最高20万元",
                    "benefit_max": "200000",
                    "materials": ["申请表"],
                    "opens_on": (today_local() - timedelta(days=10)).isoformat(),
                    "closes_on": (today_local() + timedelta(days=30)).isoformat(),
                    "eligibility": "",
                }
            ),
        )
        policies.move_policy(db, people["gov_staff"], policy.id, "publish")
        return policy.id


def test_an_enterprise_applies_for_a_policy_with_a_material(page: Page, demo_site: LiveServer) -> None:
    policy_id = a_published_policy(demo_site)
    page.goto("/login")
    submit_login(page, "ent_admin", PASSWORD)
    page.goto("/enterprise/policies")
    row = page.get_by_test_id("eligible-policy").filter(has_text=POLICY)
    expect(row).to_have_count(1)
    with page.expect_navigation():
        row.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/enterprise/policies/{policy_id}$"))
    form = page.get_by_test_id("apply-form")
    form.locator('[name="amount_requested"]').fill("50000")
    form.locator('[name="material_0"]').set_input_files(
        {"name": "申请表.pdf", "mimeType": "application/pdf", "buffer": DEMO_PDF}
    )
    with page.expect_navigation():
        page.get_by_test_id("apply").click()
    expect(page).to_have_url(re.compile(r"/enterprise/policy-applications/\d+$"))
    expect(page.locator("body")).to_contain_text("申请表.pdf")
    page.screenshot(path=demo_site.screenshot_path("policy-applied"), full_page=True)


def test_a_department_publishes_a_policy_reviews_and_starts_the_publicity(
    page: Page, demo_site: LiveServer
) -> None:
    page.goto("/login")
    submit_login(page, "gov_staff", PASSWORD)
    page.goto("/government/policies")
    form = page.get_by_test_id("policy-form")
    form.locator('[name="title"]').fill("E2E首贷贴息")
    form.locator('[name="issuer"]').fill("威海市发展和改革委员会")
    form.locator('[name="benefit"]').fill("最高10万元")
    form.locator('[name="closes_on"]').fill((today_local() + timedelta(days=20)).isoformat())
    form.get_by_test_id("materials").fill("申请表")
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/government/policies/\d+$"))
    policy_id = int(page.url.rsplit("/", 1)[1])
    with page.expect_navigation():
        page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("policy-status")).to_have_text("已发布")

    # an enterprise applies (its own journey is the test above)
    people = _people(demo_site)
    with session_scope(demo_site.engine) as db:
        policy = policies.get_policy(db, people["gov_staff"], policy_id)
        applied = policies.apply(
            db,
            None,
            people["ent_admin"],
            policy_id,
            [policies.MaterialUpload(m, f"{m}.pdf", DEMO_PDF) for m in policy.materials],
            demo_site.log_path.parent,
            amount_requested=D("80000"),
        )
        application_id = applied.id

    page.goto("/government/policy-applications")
    page.goto(f"/government/policy-applications/{application_id}")
    decide = page.get_by_test_id("decide")
    decide.locator('[name="reason"]').first.fill("材料齐全，符合条件")
    with page.expect_navigation():
        decide.get_by_test_id("approve").click()
    expect(page.get_by_test_id("application-status")).to_have_text("公示中")
    page.goto("/policies/publicity")
    expect(page.locator("body")).to_contain_text("E2E首贷贴息")
    page.screenshot(path=demo_site.screenshot_path("policy-publicity"), full_page=True)
    log_out(page)
