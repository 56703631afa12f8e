"""The institution's workbench and the operator's product review, through the pages.

A product drafted, submitted and listed; a need grabbed from the pool and offered on; the enterprise
accepts; the application accepted, approved by the risk officer (not the account manager), disbursed; a
repayment reported once although the form was sent twice; illegal moves and other institutions' objects
refused with a clear message and nothing changed; products exported and imported as Excel.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import LoggedIn
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.market import service as market
from xinyidai.market.models import Application, ApplicationEvent, LoanRecord, Order, Product
from xinyidai.market.schemas import ApplicationInput, NeedInput, ProductInput

SETTINGS = Settings(market_max_holders=3)
CJK = re.compile(r"[\u4e00-\u9fff]")

PRODUCT_FORM = {
    "external_id": "WH-CREDIT-01",
    "name": "鲸e贷",
    "product_type": "credit",
    "amount_min": "100000",
    "amount_max": "3000000",
    "term_min": "3",
    "term_max": "36",
    "rate_min": "3.45",
    "rate_max": "6.00",
    "repayment_methods": ["interest_first", "equal_installment"],
    "pure_credit": "on",
    "pricing_A": "3.45",
    "pricing_B": "4.20",
    "collateral": "none",
    "admission_rule": "",
    "limit_formula": "",
}


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def form_error(html: str) -> str:
    match = re.search(r'data-testid="form-error">([^<]*)<', html)
    assert match, "no form error shown"
    return match.group(1)


def listed_product(manager: LoggedIn, operator: LoggedIn, engine: Engine, **overrides: object) -> int:
    """Draft a product on the page, submit it, and have the operator list it."""
    created = manager.post_form(
        "/institution/products", {**PRODUCT_FORM, **overrides}, follow_redirects=False
    )
    assert created.status_code == 303, created.text
    product_id = int(created.headers["location"].rsplit("/", 1)[1])
    submitted = manager.post_form(f"/institution/products/{product_id}/submit", follow_redirects=False)
    assert submitted.status_code == 303
    queue = operator.client.get("/operator/products")
    assert queue.status_code == 200 and "鲸e贷" in queue.text
    listed = operator.post_form(f"/operator/products/{product_id}/list", follow_redirects=False)
    assert listed.status_code == 303
    with session_scope(engine) as db:
        product = db.get(Product, product_id)
        assert product is not None and product.status == "listed"
    return product_id


def test_product_form_review_and_strategy_errors(login: Callable[[str], LoggedIn], engine: Engine) -> None:
    manager, operator, risk = login("bank_manager"), login("op_admin"), login("bank_risk")
    bad = manager.post_form(
        "/institution/products",
        {**PRODUCT_FORM, "admission_rule": "grade in ('A','B') and no_such_indicator > 0"},
    )
    assert bad.status_code == 422
    shown = re.search(r'data-testid="admission-rule-error">([^<]*)<', bad.text)
    assert shown and "no_such_indicator" in shown.group(1) and re.search(r"\d", shown.group(1))
    assert CJK.search(shown.group(1))  # "第 N 个字符处：未知字段…"
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Product)) == 0
    # the typed values are kept
    assert "鲸e贷" in bad.text and "no_such_indicator" in bad.text

    assert manager.client.get("/institution/products/new").status_code == 200
    product_id = listed_product(manager, operator, engine)
    review = operator.client.get(f"/operator/products/{product_id}")
    assert review.status_code == 200 and 'data-testid="send-back-form"' not in review.text  # listed already
    page = manager.client.get("/institution/products")
    assert page.status_code == 200 and "WH-CREDIT-01" in page.text
    # the same id again from the "new" form is refused, not silently merged
    again = manager.post_form("/institution/products", PRODUCT_FORM)
    assert again.status_code == 409 and CJK.search(form_error(again.text))
    # the risk officer sees the product but cannot change it
    seen = risk.client.get(f"/institution/products/{product_id}")
    assert seen.status_code == 200 and 'data-testid="save-product"' not in seen.text
    assert risk.post_form(f"/institution/products/{product_id}/delist").status_code == 403
    # changing a listed product sends it back to review; the operator sends it back with a note
    changed = manager.post_form(
        f"/institution/products/{product_id}", {**PRODUCT_FORM, "rate_max": "6.50"}, follow_redirects=False
    )
    assert changed.status_code == 303
    no_note = operator.post_form(f"/operator/products/{product_id}/send-back", {"note": ""})
    assert no_note.status_code == 422 and CJK.search(form_error(no_note.text))
    sent_back = operator.post_form(
        f"/operator/products/{product_id}/send-back", {"note": "请补充准入规则"}, follow_redirects=False
    )
    assert sent_back.status_code == 303
    detail = manager.client.get(f"/institution/products/{product_id}")
    assert "请补充准入规则" in detail.text
    with session_scope(engine) as db:
        product = db.get(Product, product_id)
        assert product is not None and product.status == "draft" and product.rate_max == Decimal("6.5")
    # a draft cannot be delisted: a clear message, nothing changed
    illegal = manager.post_form(f"/institution/products/{product_id}/delist")
    assert illegal.status_code == 409 and CJK.search(form_error(illegal.text))


def test_pool_grab_offer_approve_disburse_and_report(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    manager, risk, operator = login("bank_manager"), login("bank_risk"), login("op_admin")
    product_id = listed_product(manager, operator, engine)
    with session_scope(engine) as db:
        ent = who(db, "ent_admin")
        need = market.publish_need(
            db,
            None,
            ent,
            NeedInput(amount=Decimal("500000"), term_months=12, purpose="working_capital"),
            SETTINGS,
        )
        need_id = need.id

    pool = manager.client.get("/institution/pool?grade=&min_amount=100000&max_amount=")
    assert pool.status_code == 200 and pool.text.count('data-testid="pool-row"') == 1
    assert manager.client.get("/institution/pool?min_amount=900000").text.count('data-testid="pool-row"') == 0
    assert (
        'data-testid="grab"' not in risk.client.get("/institution/pool").text
    )  # the risk officer only looks
    grabbed = manager.post_form(f"/institution/pool/{need_id}/grab", follow_redirects=False)
    assert grabbed.status_code == 303 and grabbed.headers["location"].startswith("/institution/orders")
    twice = manager.post_form(f"/institution/pool/{need_id}/grab")
    assert twice.status_code == 409 and CJK.search(form_error(twice.text))  # already held
    with session_scope(engine) as db:
        order = db.scalars(select(Order).where(Order.need_id == need_id)).one()
        order_id = order.id

    orders = manager.client.get("/institution/orders")
    assert 'data-testid="offer-form"' in orders.text
    offer = {
        "product_id": str(product_id),
        "amount": "500000",
        "rate": "4.2",
        "term_months": "12",
        "collateral": "none",
        "fees": "0",
        "repayment_method": "interest_first",
        "note": "",
    }
    too_much = manager.post_form(f"/institution/orders/{order_id}/offer", {**offer, "amount": "9000000"})
    assert too_much.status_code == 422 and CJK.search(form_error(too_much.text))
    made = manager.post_form(f"/institution/orders/{order_id}/offer", offer, follow_redirects=False)
    assert made.status_code == 303

    with session_scope(engine) as db:
        application_id = market.accept_offer(db, who(db, "ent_admin"), order_id).id

    queue = manager.client.get("/institution/applications")
    assert queue.status_code == 200 and f"/institution/applications/{application_id}" in queue.text
    page = manager.client.get(f"/institution/applications/{application_id}")
    assert 'data-testid="accept"' in page.text and 'data-testid="approve-form"' not in page.text
    assert 'data-testid="credit-report-link"' in page.text
    accepted = manager.post_form(f"/institution/applications/{application_id}/accept", follow_redirects=False)
    assert accepted.status_code == 303
    approval = {"amount": "450000", "rate": "4.2", "term_months": "12", "note": ""}
    forbidden = manager.post_form(f"/institution/applications/{application_id}/approve", approval)
    assert forbidden.status_code == 403  # the account manager does not decide credit
    assert 'data-testid="approve-form"' in risk.client.get(f"/institution/applications/{application_id}").text
    approved = risk.post_form(
        f"/institution/applications/{application_id}/approve", approval, follow_redirects=False
    )
    assert approved.status_code == 303
    disbursed = manager.post_form(
        f"/institution/applications/{application_id}/disburse", {"contract_no": "C-1"}, follow_redirects=False
    )
    assert disbursed.status_code == 303 and disbursed.headers["location"].startswith("/institution/loans/")
    loan_url = disbursed.headers["location"]

    # an illegal move: a clear Chinese message, and nothing changed
    with session_scope(engine) as db:
        events_before = db.scalar(select(func.count()).select_from(ApplicationEvent))
    illegal = manager.post_form(f"/institution/applications/{application_id}/accept")
    assert illegal.status_code == 409
    assert CJK.search(form_error(illegal.text))
    with session_scope(engine) as db:
        app = db.get(Application, application_id)
        assert app is not None and app.status == "disbursed"
        assert db.scalar(select(func.count()).select_from(ApplicationEvent)) == events_before

    timeline = manager.client.get(f"/institution/applications/{application_id}").text
    assert timeline.count('data-testid="event"') == 4 and "bank_risk" in timeline

    loan_page = manager.client.get(loan_url)
    assert loan_page.status_code == 200 and 'data-testid="loan-report-form"' in loan_page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', loan_page.text)
    assert key
    report = {"kind": "repayment", "amount": "50000", "occurred_on": "", "idempotency_key": key.group(1)}
    report["occurred_on"] = re.search(r'name="occurred_on"[^>]*value="([^"]+)"', loan_page.text).group(1)  # type: ignore[union-attr]
    loan_id = int(loan_url.rsplit("/", 1)[1])
    for _ in range(2):  # a double-submitted form reports once
        sent = manager.post_form(f"{loan_url}/reports", report, follow_redirects=False)
        assert sent.status_code == 303
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).where(LoanRecord.loan_id == loan_id)) == 1
    shown = manager.client.get(loan_url).text
    assert "400,000.00" in shown and shown.count('data-testid="loan-record"') == 1
    too_much = manager.post_form(
        f"{loan_url}/reports", {**report, "amount": "999999", "idempotency_key": "x"}
    )
    assert too_much.status_code == 422 and CJK.search(form_error(too_much.text))
    assert manager.client.get("/institution/loans").text.count('data-testid="loan-row"') == 1
    consents = manager.client.get("/institution/consents")
    assert consents.status_code == 200 and consents.text.count('data-testid="consent-row"') == 1


def test_another_institutions_objects_are_not_found(login: Callable[[str], LoggedIn], engine: Engine) -> None:
    manager, risk = login("bank_manager"), login("bank_risk")
    with session_scope(engine) as db:
        ccb = db.scalars(select(Organisation).where(Organisation.name == "中国建设银行威海分行")).one()
        other = Principal(None, ccb.id, OrgKind.INSTITUTION, frozenset({Role.INSTITUTION_ADMIN}), "ccb")
        product = market.upsert_product(
            db,
            other,
            ProductInput.model_validate(
                {
                    **{k: v for k, v in PRODUCT_FORM.items() if not k.startswith("pricing_")},
                    "external_id": "CCB-1",
                    "pure_credit": True,
                }
            ),
        ).product
        market.submit_product(db, other, product.id)
        market.review_product(db, who(db, "op_admin"), product.id, approve=True)
        applied = market.apply(
            db,
            None,
            who(db, "ent_admin"),
            ApplicationInput(product_id=product.id, amount=Decimal("200000"), term_months=6),
            SETTINGS,
        )
        application_id, product_id = applied.application.id, product.id
    assert manager.client.get(f"/institution/applications/{application_id}").status_code == 404
    assert manager.post_form(f"/institution/applications/{application_id}/accept").status_code == 404
    reject = risk.post_form(f"/institution/applications/{application_id}/reject", {"reason": "不符合条件"})
    assert reject.status_code == 404
    assert manager.client.get(f"/institution/products/{product_id}").status_code == 404
    assert manager.post_form(f"/institution/products/{product_id}/delist").status_code == 404
    assert "CCB-1" not in manager.client.get("/institution/products").text
    assert (
        f"/institution/applications/{application_id}"
        not in manager.client.get("/institution/applications").text
    )
    with session_scope(engine) as db:
        app = db.get(Application, application_id)
        assert app is not None and app.status == "submitted"


def test_excel_export_import_and_a_broken_file_through_the_page(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    manager, operator = login("bank_manager"), login("op_admin")
    listed_product(manager, operator, engine)
    exported = manager.client.get("/institution/products/export.xlsx")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    template = manager.client.get("/institution/products/template.xlsx")
    assert template.status_code == 200
    files = {"file": ("products.xlsx", exported.content, "application/octet-stream")}
    same = manager.client.post(
        "/institution/products/import", data={"csrf_token": manager.csrf}, files=files, follow_redirects=False
    )
    assert same.status_code == 303 and "unchanged=1" in same.headers["location"]
    assert "created=0" in same.headers["location"] and "updated=0" in same.headers["location"]

    book = load_workbook(io.BytesIO(exported.content))
    sheet = book["产品"]
    sheet.append(["NEW-1", "新产品", "信用贷款", "", "abc", 200000, 3, 12, 4, 5, "先息后本"])
    buffer = io.BytesIO()
    book.save(buffer)
    broken = manager.client.post(
        "/institution/products/import",
        data={"csrf_token": manager.csrf},
        files={"file": ("products.xlsx", buffer.getvalue(), "application/octet-stream")},
    )
    assert broken.status_code == 422 and 'data-testid="import-errors"' in broken.text
    assert re.search(r'data-testid="import-error"><td>3</td><td>最低金额（元）</td>', broken.text)
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Product)) == 1
    not_excel = manager.client.post(
        "/institution/products/import",
        data={"csrf_token": manager.csrf},
        files={"file": ("products.xlsx", b"not a workbook", "application/octet-stream")},
    )
    assert not_excel.status_code == 422 and CJK.search(form_error(not_excel.text))
