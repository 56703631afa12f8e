"""Demo data of the public-money programmes: a Zhengzhou-style emergency bridge fund with city and district
contributions, one bridge loan repaid and one in use (and one waiting for the bank), and a Shanghai-style
interest-subsidy policy with a budget and a computed list. Runs after the marketplace demo (it needs loans).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local
from xinyidai.core.settings import Settings
from xinyidai.funds import bridge, subsidies
from xinyidai.funds.programmes_models import BridgeFund
from xinyidai.market.models import Loan

DISTRICT = "371002"  # 环翠区


def fill_programmes(session: Session, settings: Settings) -> None:
    """Fill the bridge-loan and subsidy pages (once; a no-op when a bridge fund exists)."""
    del settings  # same signature as the other demo steps; nothing here depends on it
    if session.scalars(select(BridgeFund)).first() is not None:
        return
    people = {u.username: accounts.principal_for(u) for u in session.scalars(select(User))}
    manager = people["fund_manager"]
    fund = bridge.create_fund(
        session,
        manager,
        name="应急转贷资金",
        daily_fee_per_mille=Decimal("0.1"),
        max_amount_per_enterprise=Decimal("5000000"),
        max_times_per_year=3,
        max_days=15,
    )
    today = today_local()
    bridge.contribute(
        session,
        manager,
        fund.id,
        contributor="city",
        amount=Decimal("50000000"),
        contributed_on=today - timedelta(days=90),
        key="demo-city",
    )
    bridge.contribute(
        session,
        manager,
        fund.id,
        contributor=DISTRICT,
        amount=Decimal("20000000"),
        contributed_on=today - timedelta(days=80),
        key="demo-district",
    )
    _bridge_loans(session, people, fund.id)
    _subsidies(session, people)
    session.flush()


def _stand_in(org: Organisation) -> Principal:
    return Principal(
        None, org.id, OrgKind.ENTERPRISE, frozenset({Role.ENTERPRISE_ADMIN}), "demo", org.region_code
    )


def _bridge_loans(session: Session, people: dict[str, Principal], fund_id: int) -> None:
    """Live loans brought close to maturity: one bridged and repaid, one in use, one waiting for the bank."""
    today = today_local()
    loans = session.scalars(
        select(Loan).where(Loan.status == "current", Loan.outstanding > 0).order_by(Loan.id).limit(3)
    ).all()
    manager, risk = people["fund_manager"], people["bank_risk"]
    for n, loan in enumerate(loans):
        org = session.get(Organisation, loan.enterprise_id)
        if org is None:
            continue
        who = people["ent_admin"] if org.id == people["ent_admin"].organisation_id else _stand_in(org)
        loan.maturity_on = today + timedelta(days=5 + n)
        session.flush()
        amount = min(Decimal(loan.outstanding), Decimal("1000000"))
        b = bridge.apply(session, who, fund_id=fund_id, loan_id=loan.id, amount=amount, days=7)
        if n == 2:
            continue  # waiting for the bank's confirmation
        bank = (
            risk
            if loan.institution_id == risk.organisation_id
            else Principal(
                None, loan.institution_id, OrgKind.INSTITUTION, frozenset({Role.RISK_OFFICER}), "demo"
            )
        )
        bridge.confirm_renewal(
            session, bank, b.id, renewal_amount=Decimal(loan.outstanding), note="续贷已获批"
        )
        bridge.approve(session, manager, b.id, note="资料齐全")
        bridge.disburse(session, manager, b.id, on=today - timedelta(days=12 - 6 * n))
        if n == 0:
            bridge.record_repayment(session, manager, b.id, on=today - timedelta(days=4))


def _subsidies(session: Session, people: dict[str, Principal]) -> None:
    today = today_local()
    manager = people["fund_manager"]
    policy = subsidies.create_policy(
        session,
        manager,
        name="小微企业贷款贴息（利率不高于4%，贴息1.5个百分点）",
        points=Decimal("1.5"),
        max_loan_rate=Decimal("4"),
        cap_per_enterprise_year=Decimal("200000"),
        starts_on=today.replace(month=1, day=1) - timedelta(days=365),
        ends_on=today.replace(month=12, day=31),
    )
    subsidies.fund_budget(session, manager, policy.id, amount=Decimal("5000000"), key="demo-budget")
    end = today - timedelta(days=1)
    subsidies.compute(
        session,
        manager,
        policy.id,
        period_start=max(policy.starts_on, end - timedelta(days=89)),
        period_end=end,
    )
