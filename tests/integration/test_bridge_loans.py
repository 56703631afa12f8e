"""Emergency bridge loans on both databases: contributions, the bank's confirmation, approval, disbursement,
the daily fee and repayment — and the refusals: a district drawing more than half of what it gave, an
enterprise above its limits, moves out of order, and concurrent disbursements that would overdraw the cash."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import IllegalTransition, NotFound, ValidationFailed
from xinyidai.funds import bridge, ledger
from xinyidai.funds.ledger import InsufficientFunds
from xinyidai.funds.models import JournalEntry
from xinyidai.funds.programmes_models import BridgeLoan
from xinyidai.market.models import Application, Loan, Product

D = Decimal
DISTRICT = "371002"  # 环翠区, Weihai


def people(db: Session) -> dict[str, Principal]:
    demo.build(db)
    return {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}


def enterprises(db: Session, count: int) -> list[Principal]:
    """Registered enterprises acting through stand-in principals (the demo enterprise first)."""
    orgs = db.scalars(
        select(Organisation)
        .join(EnterpriseProfile, EnterpriseProfile.organisation_id == Organisation.id)
        .order_by(Organisation.id)
        .limit(count)
    ).all()
    return [
        Principal(
            None, o.id, OrgKind.ENTERPRISE, frozenset({Role.ENTERPRISE_ADMIN}), f"ent{o.id}", o.region_code
        )
        for o in orgs
    ]


def make_loan(
    db: Session,
    enterprise: Principal,
    institution_id: int,
    *,
    amount: str = "1000000",
    rate: str = "4.35",
    disbursed_on: date | None = None,
    maturity_on: date | None = None,
    grade: str = "B",
) -> Loan:
    """A platform loan as the marketplace would have made it (product, application, loan)."""
    profile = db.get(EnterpriseProfile, enterprise.organisation_id)
    assert profile is not None
    product = db.scalars(select(Product).where(Product.institution_id == institution_id)).first()
    if product is None:
        product = Product(
            institution_id=institution_id,
            external_id="T-1",
            name="测试贷",
            product_type="credit",
            amount_min=D(10000),
            amount_max=D(10_000_000),
            term_min=1,
            term_max=36,
            rate_min=D("3"),
            rate_max=D("8"),
            status="listed",
        )
        db.add(product)
        db.flush()
    start = disbursed_on or today_local() - timedelta(days=355)
    application = Application(
        enterprise_id=enterprise.organisation_id,
        uscc=profile.uscc,
        enterprise_name="x",
        institution_id=institution_id,
        product_id=product.id,
        amount=D(amount),
        term_months=12,
        status="disbursed",
    )
    db.add(application)
    db.flush()
    loan = Loan(
        application_id=application.id,
        institution_id=institution_id,
        enterprise_id=enterprise.organisation_id,
        uscc=profile.uscc,
        product_id=product.id,
        contract_no=f"C-{application.id}",
        amount=D(amount),
        rate=D(rate),
        term_months=12,
        grade=grade,
        disbursed_on=start,
        maturity_on=maturity_on or today_local() + timedelta(days=10),
        outstanding=D(amount),
        status="current",
    )
    db.add(loan)
    db.flush()
    return loan


def set_region(db: Session, who: Principal, region: str) -> Principal:
    org = db.get(Organisation, who.organisation_id)
    assert org is not None
    org.region_code = region
    db.flush()
    return Principal(who.user_id, who.organisation_id, who.org_kind, who.roles, who.username, region)


def setup_fund(db: Session, p: dict[str, Principal], *, city: str, district: str | None = None) -> int:
    fund = bridge.create_fund(
        db,
        p["fund_manager"],
        name="郑州应急转贷资金",
        daily_fee_per_mille=D("0.1"),
        max_amount_per_enterprise=D("3000000"),
        max_times_per_year=2,
        max_days=15,
    )
    bridge.contribute(db, p["fund_manager"], fund.id, contributor="city", amount=D(city), key="city-1")
    if district:
        bridge.contribute(db, p["fund_manager"], fund.id, contributor=DISTRICT, amount=D(district), key="d-1")
    return fund.id


def through_to_approval(
    db: Session, p: dict[str, Principal], ent: Principal, fund_id: int, loan: Loan, amount: str
) -> int:
    b = bridge.apply(db, ent, fund_id=fund_id, loan_id=loan.id, amount=D(amount), days=10)
    bridge.confirm_renewal(db, p["bank_risk"], b.id, renewal_amount=D(amount))
    bridge.approve(db, p["fund_manager"], b.id)
    return b.id


def test_a_bridge_loan_from_application_to_repayment_with_its_fee(engine: Engine) -> None:
    with session_scope(engine) as db:
        p = people(db)
        ent = set_region(db, p["ent_admin"], DISTRICT)
        fund_id = setup_fund(db, p, city="5000000", district="2000000")
        loan = make_loan(db, ent, p["bank_admin"].organisation_id)
        b = bridge.apply(
            db, ent, fund_id=fund_id, loan_id=loan.id, amount=D("800000"), days=10, idempotency_key="k"
        )
        again = bridge.apply(
            db, ent, fund_id=fund_id, loan_id=loan.id, amount=D("800000"), days=10, idempotency_key="k"
        )
        assert again.id == b.id and b.district == DISTRICT and b.status == "applied"
        with pytest.raises(IllegalTransition):  # the fund may not approve before the bank confirms
            bridge.approve(db, p["fund_manager"], b.id)
        with pytest.raises(ValidationFailed):  # the bank must renew at least the bridged amount
            bridge.confirm_renewal(db, p["bank_risk"], b.id, renewal_amount=D("500000"))
        bridge.confirm_renewal(db, p["bank_risk"], b.id, renewal_amount=D("1000000"), note="续贷已审批")
        bridge.approve(db, p["fund_manager"], b.id)
        bridge.disburse(db, p["fund_manager"], b.id, on=today_local() - timedelta(days=7))
        fund = bridge.get_fund(db, p["fund_manager"], fund_id)
        position = bridge.fund_position(db, fund)
        assert position.cash == D("6200000.00") and position.in_use == D("800000.00")
        assert {c.contributor: c.may_draw for c in position.contributors}[DISTRICT] == D("200000.00")
        with pytest.raises(IllegalTransition):
            bridge.withdraw(db, ent, b.id)  # the money is out: too late to withdraw
        done = bridge.record_repayment(db, p["fund_manager"], b.id, on=today_local())
        # 800,000 × 0.1 ‰ × 7 days = 560.00
        assert done.status == "repaid" and done.days_used == 7 and done.fee == D("560.00")
        position = bridge.fund_position(db, fund)
        assert position.cash == D("7000560.00") and position.in_use == 0 and position.fees == D("560.00")
        with pytest.raises(IllegalTransition):
            bridge.record_repayment(db, p["fund_manager"], b.id)
        assert [e.to_status for e in bridge.bridge_events(db, ent, b.id)] == [
            "applied",
            "confirmed",
            "approved",
            "in_use",
            "repaid",
        ]
        assert ledger.check_books(db).ok


def test_a_district_may_draw_at_most_half_of_what_it_contributed(engine: Engine) -> None:
    with session_scope(engine) as db:
        p = people(db)
        ent = set_region(db, p["ent_admin"], DISTRICT)
        fund_id = setup_fund(db, p, city="50000000", district="1000000")  # the district may draw 500,000
        loan = make_loan(db, ent, p["bank_admin"].organisation_id)
        bid = through_to_approval(db, p, ent, fund_id, loan, "600000")
    with session_scope(engine) as db:
        entries = db.scalar(select(func.count()).select_from(JournalEntry))
        with pytest.raises(ValidationFailed, match="half"):
            bridge.disburse(db, p["fund_manager"], bid)
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(JournalEntry)) == entries
        assert db.get(BridgeLoan, bid).status == "approved"  # type: ignore[union-attr]
        assert ledger.balance(db, f"bridge:{fund_id}:drawn:{DISTRICT}") == 0


def test_an_enterprise_above_its_limits_is_refused(engine: Engine) -> None:
    with session_scope(engine) as db:
        p = people(db)
        ent = p["ent_admin"]
        fund_id = setup_fund(db, p, city="50000000")
        bank = p["bank_admin"].organisation_id
        big = make_loan(db, ent, bank, amount="5000000")
        with pytest.raises(ValidationFailed, match="at most"):  # 3,000,000 per enterprise at once
            bridge.apply(db, ent, fund_id=fund_id, loan_id=big.id, amount=D("3000000.01"), days=10)
        with pytest.raises(ValidationFailed):  # more days than the fund allows
            bridge.apply(db, ent, fund_id=fund_id, loan_id=big.id, amount=D("100000"), days=16)
        with pytest.raises(ValidationFailed):  # more than the loan owes
            bridge.apply(
                db,
                ent,
                fund_id=fund_id,
                loan_id=make_loan(db, ent, bank, amount="1000").id,
                amount=D("2000"),
                days=3,
            )
        far = make_loan(db, ent, bank, maturity_on=today_local() + timedelta(days=90))
        with pytest.raises(ValidationFailed):  # not about to mature
            bridge.apply(db, ent, fund_id=fund_id, loan_id=far.id, amount=D("1000"), days=3)
        # Twice a year: two disbursed, the third refused.
        for n in range(2):
            bid = through_to_approval(db, p, ent, fund_id, make_loan(db, ent, bank), "100000")
            bridge.disburse(db, p["fund_manager"], bid)
            bridge.record_repayment(db, p["fund_manager"], bid)
            assert n < 2
        with pytest.raises(ValidationFailed, match="times a year"):
            bridge.apply(
                db, ent, fund_id=fund_id, loan_id=make_loan(db, ent, bank).id, amount=D("1000"), days=3
            )
        other = enterprises(db, 2)[1]
        with pytest.raises(NotFound):  # another enterprise's loan
            bridge.apply(db, other, fund_id=fund_id, loan_id=big.id, amount=D("1000"), days=3)
        with pytest.raises(NotFound):  # another bank does not see it
            ccb = db.scalars(select(Organisation).where(Organisation.name == "中国建设银行威海分行")).one()
            stranger = Principal(None, ccb.id, OrgKind.INSTITUTION, frozenset({Role.RISK_OFFICER}), "x")
            bridge.confirm_renewal(db, stranger, bid, renewal_amount=D("1"))


def test_concurrent_disbursements_cannot_overdraw_the_fund(engine: Engine) -> None:
    with session_scope(engine) as db:
        p = people(db)
        fund_id = setup_fund(db, p, city="1000000")  # room for three 300,000 bridge loans, not four
        bank = p["bank_admin"].organisation_id
        firms = enterprises(db, 6)
        ids = [through_to_approval(db, p, f, fund_id, make_loan(db, f, bank), "300000") for f in firms]
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(bid: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as db:
                bridge.disburse(db, p["fund_manager"], bid)
            result = "paid"
        except InsufficientFunds:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(bid,)) for bid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["paid"] * 3 + ["refused"] * 3
    with session_scope(engine) as db:
        assert ledger.balance(db, f"bridge:{fund_id}:cash") == D("100000.00")
        statuses = sorted(b.status for b in db.scalars(select(BridgeLoan)))
        assert statuses == ["approved"] * 3 + ["in_use"] * 3
        assert ledger.check_books(db).ok


def test_only_the_right_people_move_a_bridge_loan(engine: Engine) -> None:
    with session_scope(engine) as db:
        p = people(db)
        fund_id = setup_fund(db, p, city="1000000")
        loan = make_loan(db, p["ent_admin"], p["bank_admin"].organisation_id)
        b = bridge.apply(db, p["ent_admin"], fund_id=fund_id, loan_id=loan.id, amount=D("1000"), days=3)
        from xinyidai.core.errors import PermissionDenied

        with pytest.raises(PermissionDenied):  # the account manager brings business, does not decide
            bridge.confirm_renewal(db, p["bank_manager"], b.id, renewal_amount=D("1000"))
        with pytest.raises(PermissionDenied):
            bridge.approve(db, p["gov_admin"], b.id)
        with pytest.raises(ValidationFailed):
            bridge.decline_renewal(db, p["bank_risk"], b.id, note="")
        assert bridge.decline_renewal(db, p["bank_risk"], b.id, note="不再续贷").status == "declined"
        with pytest.raises(ValidationFailed):  # an unknown district
            bridge.contribute(db, p["fund_manager"], fund_id, contributor="999999", amount=D("1"), key="z")
