"""The market API for institutions' own systems: idempotent product upsert, the applications queue and
decisions, loans and loan reports posted once per idempotency key — as a machine client with scopes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import LoggedIn
from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.core.access import OrgKind, Permission, Principal, Role
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.market import service as market
from xinyidai.market.models import LoanRecord, Product
from xinyidai.market.schemas import ApplicationInput, DisbursementInput, ProductInput

SETTINGS = Settings(market_max_holders=3)

PRODUCT: dict[str, Any] = {
    "name": "鲸e贷",
    "product_type": "credit",
    "amount_min": "100000",
    "amount_max": "3000000",
    "term_min": 3,
    "term_max": 36,
    "rate_min": "3.45",
    "rate_max": "6.00",
    "repayment_methods": ["interest_first", "equal_installment"],
    "pure_credit": True,
    "pricing": {"A": "3.45", "B": "4.2"},
}
SCOPES = [
    Permission.AUTHENTICATED,
    Permission.PRODUCTS_MANAGE,
    Permission.PRODUCTS_BROWSE,
    Permission.INSTITUTION_WORKBENCH,
    Permission.CREDIT_DECIDE,
]


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def machine(app: FastAPI, engine: Engine, scopes: list[Permission]) -> TestClient:
    """A machine client of the demo bank with these scopes, holding a bearer token."""
    with session_scope(engine) as db:
        client, secret = accounts.create_api_client(
            db, who(db, "bank_admin"), "信贷核心系统", [s.value for s in scopes]
        )
        client_id = client.client_id
    http = TestClient(app, base_url="https://testserver")
    token = http.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200, token.text
    http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return http


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


@pytest.fixture
def system(app: FastAPI, engine: Engine, world: list[demo.DemoLogin]) -> TestClient:
    return machine(app, engine, SCOPES)


def test_product_upsert_is_idempotent(system: TestClient, engine: Engine) -> None:
    created = system.put("/api/v1/market/products/WH-CREDIT-01", json=PRODUCT)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["external_id"] == "WH-CREDIT-01" and body["status"] == "draft"
    assert Decimal(body["amount_max"]) == Decimal("3000000")
    again = system.put("/api/v1/market/products/WH-CREDIT-01", json=PRODUCT)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert again.json()["updated_at"] == body["updated_at"]  # unchanged: nothing written
    changed = system.put("/api/v1/market/products/WH-CREDIT-01", json={**PRODUCT, "rate_max": "6.5"})
    assert changed.status_code == 200 and Decimal(changed.json()["rate_max"]) == Decimal("6.5")
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Product)) == 1
    listed = system.get("/api/v1/market/products")
    assert listed.status_code == 200 and [p["external_id"] for p in listed.json()] == ["WH-CREDIT-01"]

    mismatch = system.put("/api/v1/market/products/WH-CREDIT-01", json={**PRODUCT, "external_id": "OTHER"})
    assert_problem(mismatch, 422, "validation_failed")
    bad_range = system.put("/api/v1/market/products/P2", json={**PRODUCT, "amount_min": "9000000"})
    assert assert_problem(bad_range, 422, "validation_failed")["errors"][0]["field"] == "amount_min"
    bad_rule = system.put("/api/v1/market/products/P3", json={**PRODUCT, "admission_rule": "nope > 1"})
    problem = assert_problem(bad_rule, 422, "invalid_expression")
    assert problem["errors"][0]["field"] == "admission_rule"
    bad_id = system.put("/api/v1/market/products/bad id!", json=PRODUCT)
    assert_problem(bad_id, 422, "validation_failed")
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Product)) == 1


def test_scopes_and_roles_are_enforced(
    app: FastAPI, engine: Engine, world: list[demo.DemoLogin], login: Callable[[str], LoggedIn]
) -> None:
    reader = machine(app, engine, [Permission.AUTHENTICATED, Permission.INSTITUTION_WORKBENCH])
    assert reader.get("/api/v1/market/applications").status_code == 200
    assert_problem(reader.put("/api/v1/market/products/X1", json=PRODUCT), 403, "forbidden")
    assert_problem(
        reader.post(
            "/api/v1/market/applications/1/decision", json={"decision": "reject", "reason": "不符合"}
        ),
        403,
        "forbidden",
    )
    anonymous = TestClient(app, base_url="https://testserver")
    assert_problem(anonymous.get("/api/v1/market/loans"), 401, "unauthenticated")
    enterprise = login("ent_admin")
    assert_problem(enterprise.client.get("/api/v1/market/products"), 403, "forbidden")
    # a browser session writes only with the CSRF header
    manager = login("bank_manager")
    no_csrf = manager.client.put("/api/v1/market/products/X1", json=PRODUCT)
    assert_problem(no_csrf, 403, "csrf_failed")
    with_csrf = manager.client.put(
        "/api/v1/market/products/X1", json=PRODUCT, headers={"X-CSRF-Token": manager.csrf}
    )
    assert with_csrf.status_code == 201


def _loan_setup(engine: Engine) -> tuple[int, int]:
    """A listed product of the demo bank, an application to it, and another bank's application."""
    with session_scope(engine) as db:
        bank, op, ent = who(db, "bank_admin"), who(db, "op_admin"), who(db, "ent_admin")
        fields = {**PRODUCT, "external_id": "WH-CREDIT-01"}
        product = market.upsert_product(db, bank, ProductInput.model_validate(fields)).product
        market.submit_product(db, bank, product.id)
        market.review_product(db, op, product.id, approve=True)
        mine = market.apply(
            db,
            None,
            ent,
            ApplicationInput(product_id=product.id, amount=Decimal("500000"), term_months=12),
            SETTINGS,
        ).application
        ccb = db.scalars(select(Organisation).where(Organisation.name == "中国建设银行威海分行")).one()
        other = Principal(None, ccb.id, OrgKind.INSTITUTION, frozenset({Role.INSTITUTION_ADMIN}), "ccb")
        theirs_product = market.upsert_product(
            db, other, ProductInput.model_validate({**fields, "external_id": "CCB-1"})
        ).product
        market.submit_product(db, other, theirs_product.id)
        market.review_product(db, op, theirs_product.id, approve=True)
        theirs = market.apply(
            db,
            None,
            ent,
            ApplicationInput(product_id=theirs_product.id, amount=Decimal("200000"), term_months=6),
            SETTINGS,
        ).application
        return mine.id, theirs.id


def test_decisions_and_loan_reports_post_once(system: TestClient, engine: Engine) -> None:
    mine, theirs = _loan_setup(engine)
    queue = system.get("/api/v1/market/applications", params={"status": "submitted"})
    assert queue.status_code == 200
    assert [a["id"] for a in queue.json()] == [mine]
    assert queue.json()[0]["product_external_id"] == "WH-CREDIT-01" and queue.json()[0]["due_at"]
    other = system.post(
        f"/api/v1/market/applications/{theirs}/decision", json={"decision": "reject", "reason": "x" * 5}
    )
    assert_problem(other, 404, "not_found")
    outside = system.post(
        f"/api/v1/market/applications/{mine}/decision",
        json={"decision": "approve", "amount": "9000000", "rate": "4.2", "term_months": 12},
    )
    assert_problem(outside, 422, "validation_failed")
    missing = system.post(f"/api/v1/market/applications/{mine}/decision", json={"decision": "approve"})
    assert_problem(missing, 422, "validation_failed")
    approved = system.post(
        f"/api/v1/market/applications/{mine}/decision",
        json={"decision": "approve", "amount": "450000", "rate": "4.2", "term_months": 12, "note": "同意"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and Decimal(approved.json()["approved_amount"]) == 450000
    twice = system.post(
        f"/api/v1/market/applications/{mine}/decision", json={"decision": "reject", "reason": "改变主意"}
    )
    assert_problem(twice, 409, "illegal_transition")

    with session_scope(engine) as db:
        loan = market.disburse(db, who(db, "bank_manager"), mine, DisbursementInput(contract_no="C-1"))
        loan_id, day = loan.id, loan.disbursed_on.isoformat()
    loans = system.get("/api/v1/market/loans")
    assert [loan["id"] for loan in loans.json()] == [loan_id]

    repayment = {"kind": "repayment", "amount": "50000", "occurred_on": day}
    first = system.post(
        f"/api/v1/market/loans/{loan_id}/reports", json=repayment, headers={"Idempotency-Key": "r-1"}
    )
    assert first.status_code == 201, first.text
    assert Decimal(first.json()["outstanding"]) == Decimal("400000")
    retry = system.post(
        f"/api/v1/market/loans/{loan_id}/reports", json=repayment, headers={"Idempotency-Key": "r-1"}
    )
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    in_body = system.post(
        f"/api/v1/market/loans/{loan_id}/reports", json={**repayment, "idempotency_key": "r-1"}
    )
    assert in_body.status_code == 200 and in_body.json()["id"] == first.json()["id"]
    differ = system.post(
        f"/api/v1/market/loans/{loan_id}/reports",
        json={**repayment, "idempotency_key": "r-2"},
        headers={"Idempotency-Key": "r-3"},
    )
    assert_problem(differ, 422, "validation_failed")
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(LoanRecord)) == 1
    overdue = system.post(
        f"/api/v1/market/loans/{loan_id}/reports",
        json={"kind": "overdue", "occurred_on": day, "days_overdue": 31},
        headers={"Idempotency-Key": "o-1"},
    )
    assert overdue.status_code == 201 and overdue.json()["loan_status"] == "overdue"
    default = system.post(
        f"/api/v1/market/loans/{loan_id}/reports", json={"kind": "default", "occurred_on": day}
    )
    assert default.status_code == 201 and default.json()["loan_status"] == "defaulted"
    illegal = system.post(
        f"/api/v1/market/loans/{loan_id}/reports", json={"kind": "cured", "occurred_on": day}
    )
    assert_problem(illegal, 409, "illegal_transition")
    assert_problem(
        system.post("/api/v1/market/loans/999999/reports", json=repayment, headers={"Idempotency-Key": "z"}),
        404,
        "not_found",
    )
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(LoanRecord)) == 3
