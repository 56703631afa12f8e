"""The fund manager's pages (funds, claims queue, ledger) and the institution's claims page, in Chinese.

A fund set up and funded through its page; a covered loan defaults; the bank files its claim (a loss above
the covered outstanding is refused by the field, nothing saved); the fund manager approves it from the
queue; the ledger shows the postings and each account's statement; the bank reports a recovery.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn
from tests.integration.test_funds_schemes import lend, products, report, team  # noqa: F401
from tests.integration.test_market import people  # noqa: F401
from xinyidai.core.access import Principal
from xinyidai.core.database import session_scope
from xinyidai.funds.models import JournalEntry
from xinyidai.funds.schemes_models import Claim, GuaranteeFund

D = Decimal


def form_error(html: str) -> str:
    match = re.search(r'data-testid="form-error">([^<]*)<', html)
    assert match, "no form error shown"
    return match.group(1)


def test_fund_manager_runs_a_fund_and_pays_a_claim_the_bank_filed(
    login: Callable[[str], LoggedIn],
    engine: Engine,
    team: dict[str, Principal],  # noqa: F811
    products: dict[str, int],  # noqa: F811
) -> None:
    manager = login("fund_manager")
    home = manager.client.get("/government")
    assert 'href="/government/funds"' in home.text and "信保基金" in home.text
    page = manager.client.get("/government/funds")
    assert page.status_code == 200 and 'data-testid="fund-form"' in page.text
    bad = manager.post_form("/government/funds", {"name": "威海市信保基金", "leverage": "abc"})
    assert bad.status_code == 422
    created = manager.post_form(
        "/government/funds",
        {
            "name": "威海市信保基金",
            "kind": "guarantee",
            "leverage": "10",
            "product_ids": [str(products["credit"])],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    fund_url = created.headers["location"]
    detail = manager.client.get(fund_url)
    # Weihai's bands A, B, C and grade D explicitly not covered
    assert detail.text.count('data-testid="scheme-row"') == 4 and "80" in detail.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', detail.text)
    assert key
    for _ in range(2):  # the form sent twice posts once
        sent = manager.post_form(
            f"{fund_url}/contributions",
            {"contributor": "威海市财政局", "amount": "2,000,000", "idempotency_key": key.group(1)},
            follow_redirects=False,
        )
        assert sent.status_code == 303
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(JournalEntry)) == 1
        fund_id = db.scalars(select(GuaranteeFund.id)).one()

    _, loan_id = lend(engine, team, products["credit"], "1000000", "A")
    _, refused_loan = lend(engine, team, products["credit"], "200000", "D")
    assert loan_id is not None
    report(engine, team, loan_id, "default")
    detail = manager.client.get(fund_url)
    assert 'data-testid="covered-balance">1,000,000.00' in detail.text
    assert detail.text.count('data-testid="coverage-row"') == 2  # the grade D loan refused, with its reason

    bank = login("bank_risk")
    claims_page = bank.client.get("/institution/claims")
    assert claims_page.text.count('data-testid="claimable-row"') == 1
    too_much = bank.post_form("/institution/claims", {"loan_id": str(loan_id), "loss": "1000000.01"})
    assert too_much.status_code == 422
    assert "1,000,000.00" in form_error(too_much.text)
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 0
    filed = bank.post_form(
        "/institution/claims",
        {"loan_id": str(loan_id), "loss": "600000", "note": "已起诉", "idempotency_key": "c-1"},
        follow_redirects=False,
    )
    assert filed.status_code == 303
    second = bank.post_form("/institution/claims", {"loan_id": str(loan_id), "loss": "1000"})
    with session_scope(engine) as db:
        claim_id = db.scalars(select(Claim.id)).one()
    assert second.status_code == 409 and str(claim_id) in form_error(second.text)  # same default again
    assert (
        login("bank_manager")
        .post_form("/institution/claims", {"loan_id": str(loan_id), "loss": "1000"})
        .status_code
        == 403
    )

    queue = manager.client.get("/government/claims")
    assert queue.text.count('data-testid="claim-row"') == 1
    claim_url = re.search(r'href="(/government/claims/\d+)"', queue.text)
    assert claim_url
    claim_page = manager.client.get(claim_url.group(1))
    assert 'data-testid="fund-amount">480,000.00' in claim_page.text
    reject_without_reason = manager.post_form(f"{claim_url.group(1)}/reject", {"reason": ""})
    assert reject_without_reason.status_code == 422
    paid = manager.post_form(f"{claim_url.group(1)}/approve", {"note": "同意代偿"}, follow_redirects=False)
    assert paid.status_code == 303
    again = manager.post_form(f"{claim_url.group(1)}/approve", {})
    assert again.status_code == 409 and form_error(again.text)

    ledger = manager.client.get(f"{fund_url}/ledger")
    assert ledger.text.count('data-testid="entry-row"') == 2
    statement = manager.client.get(f"{fund_url}/ledger?account=cash")
    assert statement.text.count('data-testid="statement-row"') == 2 and "1,520,000.00" in statement.text

    recovered = bank.post_form(
        f"/institution/claims/{claim_url.group(1).rsplit('/', 1)[1]}/recoveries",
        {"amount": "100000", "idempotency_key": "r-1"},
        follow_redirects=False,
    )
    assert recovered.status_code == 303
    detail = manager.client.get(fund_url)
    assert 'data-testid="cash">1,600,000.00' in detail.text  # 80 % of 100,000 came back
    with session_scope(engine) as db:
        assert db.get(GuaranteeFund, fund_id) is not None
    assert refused_loan is not None


def test_others_cannot_see_the_funds(
    login: Callable[[str], LoggedIn],
    engine: Engine,
    team: dict[str, Principal],  # noqa: F811
) -> None:
    gov = login("gov_admin")
    assert gov.client.get("/government/funds").status_code == 403
    assert 'href="/government/funds"' not in gov.client.get("/government").text
    manager = login("fund_manager")
    assert manager.client.get("/government/funds/999999").status_code == 404
    assert manager.client.get("/government/claims/999999").status_code == 404
    bank = login("bank_admin")
    assert 'href="/institution/claims"' in bank.client.get("/institution").text
