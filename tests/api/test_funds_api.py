# ruff: noqa: F811 — pytest fixtures imported from the integration tests are parameters here
"""The funds and policies API: an institution's system files a claim (once per idempotency key) and reads
its claims and covered loans; a fund manager reads funds, exposure and the claims queue; an enterprise
reads the policies, those it qualifies for, and its own policy applications."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from tests.api.test_market_api import assert_problem, machine
from tests.conftest import LoggedIn
from tests.integration.test_fund_settings import lend, set_up
from tests.integration.test_funds_schemes import products, report, team  # noqa: F401
from tests.integration.test_market import people  # noqa: F401
from tests.integration.test_policies import policy_input, published, uploads
from xinyidai.core.access import Permission, Principal
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.funds.schemes_models import Claim, CoveredLoan
from xinyidai.market import service as market
from xinyidai.policies import service as policies

D = Decimal
SCOPES = [
    Permission.AUTHENTICATED,
    Permission.CLAIMS_FILE,
    Permission.INSTITUTION_WORKBENCH,
    Permission.CREDIT_DECIDE,
]


def test_an_institution_files_a_claim_once_and_reads_its_claims_and_covered_loans(
    app: FastAPI,
    engine: Engine,
    team: dict[str, Principal],
    products: dict[str, int],
    login: Callable[[str], LoggedIn],
) -> None:
    fund_id = set_up(engine, team, fee_rate="1")
    app_id = lend(engine, team, products["credit"], "1000000", "A")
    refused_id = lend(engine, team, products["credit"], "300000", "D")
    with session_scope(engine) as db:
        loan_id = db.scalars(select(CoveredLoan.loan_id).where(CoveredLoan.application_id == app_id)).one()
    assert loan_id is not None
    report(engine, team, loan_id, "default")
    bank = machine(app, engine, SCOPES)

    too_much = bank.post("/api/v1/claims", json={"loan_id": loan_id, "loss": "2000000.00"})
    assert_problem(too_much, 422, "validation_failed")
    body = {"loan_id": loan_id, "loss": "500000.00", "note": "处置抵押物后仍有损失"}
    first = bank.post("/api/v1/claims", json=body, headers={"Idempotency-Key": "claim-2026-001"})
    assert first.status_code == 201, first.text
    assert (first.json()["fund_amount"], first.json()["institution_amount"]) == ("400000.00", "100000.00")
    retry = bank.post("/api/v1/claims", json=body, headers={"Idempotency-Key": "claim-2026-001"})
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    second = bank.post("/api/v1/claims", json=body, headers={"Idempotency-Key": "claim-2026-002"})
    assert_problem(second, 409, "conflict")  # one live claim per default
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 1

    claims = bank.get("/api/v1/claims").json()
    assert [c["id"] for c in claims] == [first.json()["id"]] and claims[0]["status"] == "submitted"
    covered = {c["application_id"]: c for c in bank.get("/api/v1/covered-loans").json()}
    assert covered[app_id]["status"] == "claimed" and covered[app_id]["fee_amount"] == "10000.00"
    assert covered[refused_id]["status"] == "refused" and covered[refused_id]["reason"].startswith("Grade")
    assert (
        bank.get("/api/v1/covered-loans", params={"status": "refused"}).json()[0]["application_id"]
        == refused_id
    )
    assert bank.get("/api/v1/funds").status_code == 403  # not a fund manager

    # the bank's system approves a secured grade-B loan stating its collateral: 80 % is above B's 70 %
    with session_scope(engine) as db:
        secured = market.open_application(
            db,
            team["ent_admin"],
            product_id=products["mortgage"],
            amount=D("1000000"),
            term_months=12,
            grade="B",
        )
        market.accept(db, team["bank_manager"], secured.id)
    decision = {"decision": "approve", "amount": "1000000", "rate": "4.2", "term_months": 12}
    approved = bank.post(
        f"/api/v1/market/applications/{secured.id}/decision", json={**decision, "collateral_value": "800000"}
    )
    assert approved.status_code == 200, approved.text
    refused = next(c for c in bank.get("/api/v1/covered-loans").json() if c["application_id"] == secured.id)
    assert refused["status"] == "refused" and refused["reason_params"] == {
        "pct": "80",
        "max": "70",
        "grade": "B",
    }

    manager = login("fund_manager").client
    funds_list = manager.get("/api/v1/funds").json()
    assert [f["id"] for f in funds_list] == [fund_id]
    assert funds_list[0]["capital"] == "10000000.00" and funds_list[0]["fees"] == "10000.00"
    detail = manager.get(f"/api/v1/funds/{fund_id}").json()
    assert detail["exposure"] == [
        {"grade": "A", "loans": 1, "balance": "1000000.00", "fund_share": "800000.00"}
    ]
    assert next((b["grade"], b["covered"], b["bank_pct"]) for b in detail["bands"]) == ("A", True, "20.00")
    queue = manager.get("/api/v1/fund-claims").json()
    assert [c["id"] for c in queue] == [first.json()["id"]]
    assert manager.get("/api/v1/fund-claims", params={"status": "paid"}).json() == []
    assert len(manager.get(f"/api/v1/funds/{fund_id}/covered-loans").json()) == 3  # covered, refused × 2
    assert manager.get("/api/v1/funds/999999").status_code == 404
    assert login("gov_admin").client.get("/api/v1/funds").status_code == 403


def test_an_enterprise_reads_policies_those_it_qualifies_for_and_its_applications(
    app: FastAPI,
    engine: Engine,
    people: dict[str, Principal],
    settings: Settings,
    login: Callable[[str], LoggedIn],
) -> None:
    gov, ent = people["gov_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        open_to_all = published(db, gov, title="首贷贴息", eligibility="")
        strict = published(
            db, gov, title="专精特新奖励", eligibility="grade in ('A') and insured_latest >= 1000"
        )
        draft = policies.save_policy(db, gov, policy_input(title="草稿政策"))
        applied = policies.apply(
            db, None, ent, open_to_all.id, uploads(open_to_all), settings.home, amount_requested=D("10000")
        )
        ids = (open_to_all.id, strict.id, draft.id, applied.id)
    enterprise = login("ent_admin").client
    titles = {p["title"] for p in enterprise.get("/api/v1/policies").json()}
    assert titles == {"首贷贴息", "专精特新奖励"}  # published only
    bank_titles = {p["title"] for p in login("bank_manager").client.get("/api/v1/policies").json()}
    assert bank_titles == titles
    department = {p["title"] for p in login("gov_admin").client.get("/api/v1/policies").json()}
    assert "草稿政策" in department
    judged = {p["id"]: p for p in enterprise.get("/api/v1/policies/eligible").json()}
    assert judged[ids[0]]["eligible"] is True and judged[ids[0]]["reasons"] == []
    assert judged[ids[1]]["eligible"] is False and judged[ids[1]]["reasons"]
    only = enterprise.get("/api/v1/policies/eligible", params={"eligible_only": "true"}).json()
    assert [p["id"] for p in only] == [ids[0]]
    mine = enterprise.get("/api/v1/policy-applications").json()
    assert [(a["id"], a["policy_title"], a["amount_requested"]) for a in mine] == [
        (ids[3], "首贷贴息", "10000.00")
    ]
    assert login("bank_manager").client.get("/api/v1/policy-applications").status_code == 403
