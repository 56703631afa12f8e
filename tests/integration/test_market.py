"""The marketplace's use cases on a real database (SQLite and PostgreSQL): products, needs, grabbing
orders under concurrency, offers, consents, applications and loans, and every refusal changing nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import InstitutionProfile, Organisation, User
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.settings import Settings
from xinyidai.market import service as market
from xinyidai.market.models import Application, Consent, Need, Order, Product, ReportQuery
from xinyidai.market.schemas import (
    ApplicationInput,
    ApprovalInput,
    ConsentInput,
    DisbursementInput,
    LoanReportInput,
    NeedInput,
    OfferInput,
    ProductInput,
    RejectionInput,
)

SETTINGS = Settings(market_max_holders=3)


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def product_input(**overrides: object) -> ProductInput:
    fields: dict[str, object] = {
        "external_id": "WH-CREDIT-01",
        "name": "鲸e贷",
        "product_type": "credit",
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000"),
        "term_min": 3,
        "term_max": 36,
        "rate_min": Decimal("3.45"),
        "rate_max": Decimal("6.00"),
        "repayment_methods": ["interest_first", "equal_installment"],
        "pure_credit": True,
        "pricing": {"A": Decimal("3.45"), "B": Decimal("4.20"), "C": Decimal("5.50")},
    }
    fields.update(overrides)
    return ProductInput.model_validate(fields)


def listed(db: Session, institution: Principal, operator: Principal, **overrides: object) -> Product:
    product = market.upsert_product(db, institution, product_input(**overrides)).product
    market.submit_product(db, institution, product.id)
    market.review_product(db, operator, product.id, approve=True)
    return product


@pytest.fixture
def people(world: list[demo.DemoLogin], engine: Engine) -> dict[str, Principal]:
    with session_scope(engine) as db:
        return {
            name: who(db, name)
            for name in (
                "ent_admin",
                "ent_staff",
                "bank_admin",
                "bank_manager",
                "bank_risk",
                "op_admin",
                "gov_admin",
            )
        }


def test_product_lifecycle_upsert_review_and_illegal_moves(
    engine: Engine, people: dict[str, Principal]
) -> None:
    bank, op = people["bank_admin"], people["op_admin"]
    with session_scope(engine) as db:
        first = market.upsert_product(db, bank, product_input())
        assert first.created and first.product.status == "draft"
        again = market.upsert_product(db, bank, product_input())
        assert not again.created and again.product.id == first.product.id
        with pytest.raises(IllegalTransition):
            market.delist_product(db, bank, first.product.id)  # a draft cannot be delisted
        market.submit_product(db, bank, first.product.id)
        with pytest.raises(PermissionDenied):
            market.review_product(db, bank, first.product.id, approve=True)  # only the operator reviews
        with pytest.raises(ValidationFailed):
            market.review_product(
                db, op, first.product.id, approve=False, note=""
            )  # sending back needs a note
        market.review_product(db, op, first.product.id, approve=True)
        assert first.product.status == "listed"
        changed = market.upsert_product(db, bank, product_input(rate_max=Decimal("6.50")))
        assert changed.product.status == "pending_review"  # a changed listed product is reviewed again
        assert db.scalar(select(func.count()).select_from(Product)) == 1


def test_bad_product_input_is_refused_by_name(engine: Engine, people: dict[str, Principal]) -> None:
    bank = people["bank_admin"]
    with pytest.raises(ValidationFailed) as excinfo:
        product_input(amount_min=Decimal("5000000"))
    assert "minimum amount" in excinfo.value.message
    with pytest.raises(ValidationFailed):
        product_input(pricing={"A": Decimal("9.99")})  # outside the rate range
    with session_scope(engine) as db, pytest.raises(ValidationFailed) as bad:
        market.upsert_product(
            db, bank, product_input(admission_rule="grade in ('A','B') and tax_paid_12mm > 0")
        )
    assert bad.value.field == "admission_rule"
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Product)) == 0


def test_need_pool_grab_offer_accept_and_the_loan(engine: Engine, people: dict[str, Principal]) -> None:
    bank, manager, risk, op, ent = (
        people[k] for k in ("bank_admin", "bank_manager", "bank_risk", "op_admin", "ent_admin")
    )
    with session_scope(engine) as db:
        product = listed(db, bank, op)
        need = market.publish_need(
            db,
            None,
            ent,
            NeedInput(amount=Decimal("500000"), term_months=12, purpose="working_capital"),
            SETTINGS,
            idempotency_key="k1",
        )
        twice = market.publish_need(
            db,
            None,
            ent,
            NeedInput(amount=Decimal("500000"), term_months=12, purpose="working_capital"),
            SETTINGS,
            idempotency_key="k1",
        )
        assert twice.id == need.id
        pool = market.need_pool(db, manager)
        assert [n.id for n in pool.needs] == [need.id]
        order = market.grab(db, manager, need.id)
        with pytest.raises(Conflict):
            market.grab(db, bank, need.id)  # the same institution cannot hold it twice
        with pytest.raises(ValidationFailed):  # outside the product's amount range
            market.make_offer(
                db,
                manager,
                order.id,
                OfferInput(
                    product_id=product.id,
                    amount=Decimal("9000000"),
                    rate=Decimal("4.2"),
                    term_months=12,
                    repayment_method="interest_first",
                ),
            )
        assert order.status == "held"
        market.make_offer(
            db,
            manager,
            order.id,
            OfferInput(
                product_id=product.id,
                amount=Decimal("500000"),
                rate=Decimal("4.2"),
                term_months=12,
                repayment_method="interest_first",
            ),
        )
        offers = market.offers_on(db, ent, need.id)
        assert [o.id for o in offers] == [order.id]
        application = market.accept_offer(db, ent, order.id)
        assert need.status == "matched" and order.status == "accepted"
        assert application.status == "submitted" and application.due_at is not None
        with pytest.raises(IllegalTransition):
            market.disburse(db, manager, application.id, DisbursementInput())  # not approved yet
        market.accept(db, manager, application.id)
        with pytest.raises(PermissionDenied):  # the account manager does not decide credit
            market.approve(
                db,
                manager,
                application.id,
                ApprovalInput(amount=Decimal("500000"), rate=Decimal("4.2"), term_months=12),
            )
        market.approve(
            db,
            risk,
            application.id,
            ApprovalInput(amount=Decimal("450000"), rate=Decimal("4.2"), term_months=12),
        )
        loan = market.disburse(db, manager, application.id, DisbursementInput(contract_no="C-1"))
        assert loan.amount == Decimal("450000") and loan.status == "current"
        events = market.application_events(db, ent, application.id)
        assert [e.to_status for e in events] == ["submitted", "accepted", "approved", "disbursed"]
        assert {e.actor_username for e in events} == {"ent_admin", "bank_manager", "bank_risk"}
        pay = LoanReportInput(
            kind="repayment", amount=Decimal("50000"), occurred_on=today_local(), idempotency_key="r1"
        )
        first = market.report_loan(db, manager, loan.id, pay)
        assert market.report_loan(db, manager, loan.id, pay).id == first.id  # retried: posted once
        assert loan.outstanding == Decimal("400000")
        with pytest.raises(ValidationFailed):
            market.report_loan(
                db,
                manager,
                loan.id,
                LoanReportInput(kind="repayment", amount=Decimal("999999"), occurred_on=today_local()),
            )
        market.report_loan(
            db, manager, loan.id, LoanReportInput(kind="overdue", occurred_on=today_local(), days_overdue=31)
        )
        market.report_loan(db, manager, loan.id, LoanReportInput(kind="default", occurred_on=today_local()))
        assert loan.status == "defaulted"
        with pytest.raises(IllegalTransition):
            market.report_loan(db, manager, loan.id, LoanReportInput(kind="cured", occurred_on=today_local()))


def test_enterprise_sees_only_its_own_and_institutions_only_theirs(
    engine: Engine, people: dict[str, Principal]
) -> None:
    bank, op, ent = people["bank_admin"], people["op_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        product = listed(db, bank, op)
        applied = market.apply(
            db,
            None,
            ent,
            ApplicationInput(product_id=product.id, amount=Decimal("200000"), term_months=6),
            SETTINGS,
            idempotency_key="a1",
        )
        other_bank = Organisation(kind=OrgKind.INSTITUTION.value, name="别家银行", region_code="371000")
        other_bank.institution = InstitutionProfile(institution_type="bank")
        db.add(other_bank)
        db.flush()
        stranger = Principal(
            None, other_bank.id, OrgKind.INSTITUTION, frozenset({Role.INSTITUTION_ADMIN}), "x"
        )
        with pytest.raises(NotFound):
            market.get_application(db, stranger, applied.application.id)
        assert market.list_applications(db, stranger)[1] == 0
        with pytest.raises(NotFound):
            market.accept(db, stranger, applied.application.id)
        with pytest.raises(ValidationFailed):  # outside the product's range: refused, nothing written
            market.apply(
                db,
                None,
                ent,
                ApplicationInput(product_id=product.id, amount=Decimal("50"), term_months=6),
                SETTINGS,
            )
        assert db.scalar(select(func.count()).select_from(Application)) == 1
        again = market.apply(
            db,
            None,
            ent,
            ApplicationInput(product_id=product.id, amount=Decimal("200000"), term_months=6),
            SETTINGS,
            idempotency_key="a1",
        )
        assert again.application.id == applied.application.id
        market.reject(db, people["bank_risk"], applied.application.id, RejectionInput(reason="经营年限不足"))
        with pytest.raises(IllegalTransition):
            market.withdraw(db, ent, applied.application.id)


def test_consent_decides_every_look_and_the_enterprise_sees_who_looked(
    engine: Engine, people: dict[str, Principal]
) -> None:
    bank, ent = people["bank_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        uscc = market.own_enterprise(db, None, ent).uscc
        with pytest.raises(market.ConsentRequired):
            market.check_report_access(db, bank, uscc, "full", purpose="loan_review", channel="page")
        text = market.preview_text(
            db,
            ent,
            ConsentInput(institution_id=bank.organisation_id, expires_on=today_local() + timedelta(days=30)),
        )
        with pytest.raises(Conflict):  # the text signed must be the text recorded
            market.give_consent(
                db,
                ent,
                ConsentInput(
                    institution_id=bank.organisation_id, expires_on=today_local() + timedelta(days=30)
                ),
                signed_text=text + "x",
            )
        consent = market.give_consent(
            db,
            ent,
            ConsentInput(institution_id=bank.organisation_id, expires_on=today_local() + timedelta(days=30)),
            signed_text=text,
        )
        assert consent.text == text and len(consent.text_sha256) == 64
        assert (
            market.check_report_access(db, bank, uscc, "full", purpose="loan_review", channel="page")
            == consent
        )
        assert [c.id for c in market.consents_received(db, bank, expiring_within=31)] == [consent.id]
        with pytest.raises(PermissionDenied):
            market.revoke_consent(db, people["ent_staff"], consent.id)  # the admin signs and revokes
        market.revoke_consent(db, ent, consent.id)
        with pytest.raises(IllegalTransition):
            market.revoke_consent(db, ent, consent.id)
    with session_scope(engine) as db, pytest.raises(market.ConsentRequired):
        market.check_report_access(db, bank, uscc, "full", purpose="loan_review", channel="pdf")
    with session_scope(engine) as db:  # the refused attempt stays recorded although its request failed
        looks = market.who_looked(db, ent)
        assert [(q.result, q.channel) for q, _ in looks] == [
            ("refused", "pdf"),
            ("allowed", "page"),
            ("refused", "page"),
        ]
        assert {(q.person_name, name) for q, name in looks} == {("张建国", "威海市商业银行")}  # who, for whom
        with pytest.raises(ValidationFailed):
            market.give_consent(
                db,
                ent,
                ConsentInput(
                    institution_id=bank.organisation_id, expires_on=today_local() - timedelta(days=1)
                ),
            )
        assert db.scalar(select(func.count()).select_from(Consent)) == 1
        assert db.scalar(select(func.count()).select_from(ReportQuery)) == 3


def test_twenty_simultaneous_grabs_give_exactly_k_winners(
    engine: Engine, people: dict[str, Principal]
) -> None:
    op, ent = people["op_admin"], people["ent_admin"]
    grabbers: list[Principal] = []
    with session_scope(engine) as db:
        for i in range(20):
            org = Organisation(kind=OrgKind.INSTITUTION.value, name=f"银行{i:02d}", region_code="371000")
            org.institution = InstitutionProfile(institution_type="bank")
            db.add(org)
            db.flush()
            principal = Principal(
                None, org.id, OrgKind.INSTITUTION, frozenset({Role.INSTITUTION_ADMIN}), f"b{i}"
            )
            listed(db, principal, op, external_id=f"P{i}")
            grabbers.append(principal)
        need = market.publish_need(
            db, None, ent, NeedInput(amount=Decimal("800000"), term_months=12, purpose="equipment"), SETTINGS
        )
        need_id = need.id
    barrier = threading.Barrier(len(grabbers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(principal: Principal) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as db:
                market.grab(db, principal, need_id)
            result = "won"
        except Conflict:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in grabbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("won") == SETTINGS.market_max_holders
    assert outcomes.count("refused") == len(grabbers) - SETTINGS.market_max_holders
    with session_scope(engine) as db:
        need = db.get(Need, need_id)
        assert need is not None and need.holders == 3 and need.status == "full"
        assert db.scalar(select(func.count()).select_from(Order).where(Order.need_id == need_id)) == 3


def test_an_instant_refusal_can_be_reviewed_by_a_person(engine: Engine, people: dict[str, Principal]) -> None:
    bank, op, ent = people["bank_admin"], people["op_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        instant = listed(
            db, bank, op, external_id="INSTANT", instant=True, limit_formula="coalesce(tax_paid_12m, 0) * 8"
        )
        refused = market.apply(
            db,
            None,
            ent,
            ApplicationInput(product_id=instant.id, amount=Decimal("300000"), term_months=12),
            SETTINGS,
        ).application
        assert refused.status == "rejected" and refused.channel == "instant"  # no data: the rules cannot lend
        review = market.request_review(db, ent, refused.id)
        assert review.status == "submitted" and review.channel == "review"
        assert review.decision["review_of"] == refused.id and review.decision["reasons"]
        assert review.id in {a.id for a in market.list_applications(db, bank)[0]}  # in the bank's queue
        with pytest.raises(Conflict):
            market.request_review(db, ent, refused.id)  # asked once
        with pytest.raises(Conflict):
            market.request_review(db, ent, review.id)  # only an instant refusal


def test_lenders_hear_when_a_borrower_is_downgraded(engine: Engine, people: dict[str, Principal]) -> None:
    from datetime import date

    from xinyidai.core.notifications import Notification
    from xinyidai.rating.service import GradeChange

    bank, manager, risk, op, ent = (
        people[k] for k in ("bank_admin", "bank_manager", "bank_risk", "op_admin", "ent_admin")
    )
    with session_scope(engine) as db:
        product = listed(db, bank, op)
        app = market.apply(
            db,
            None,
            ent,
            ApplicationInput(product_id=product.id, amount=Decimal("200000"), term_months=6),
            SETTINGS,
        ).application
        market.accept(db, manager, app.id)
        market.approve(
            db, risk, app.id, ApprovalInput(amount=Decimal("200000"), rate=Decimal("4.2"), term_months=6)
        )
        market.disburse(db, manager, app.id, DisbursementInput())
        uscc = app.uscc
        down = GradeChange(uscc, date(2026, 11, 12), "B", "C", 640.0, 580.0)
        up = GradeChange("91110000600037341L", date(2026, 11, 12), "C", "B", 500.0, 650.0)
        assert market.notify_lenders_of_downgrades(db, [down, up]) == 1
        sent = db.scalars(select(Notification).where(Notification.topic == "rating")).all()
        assert {n.organisation_id for n in sent} == {bank.organisation_id}
        assert {n.role for n in sent} == {"institution_admin", "account_manager", "risk_officer"}
        assert all(n.params["grade"] == "C" and n.link == f"/reports/{uscc}?purpose=post_loan" for n in sent)
