"""The demo city's guarantee fund: Weihai's 信保基金 (200 M yuan from the finance bureau, leverage 10×) under
the finance bureau's risk-sharing scheme (Weihai's bands, a 0.75 % a year guarantee fee charged when a loan
joins), the demo loans that qualify covered, secured loans refused for want of a collateral value covered
once the bank states it, the scheme then revised (version 2: an insurer takes 10 % of grade A losses — the
loans already covered keep their terms), and one claim on a defaulted covered loan filed by the bank,
approved and paid by the fund manager, with a first recovery shared back.

Built once, after the marketplace (``demo_market.fill_market``), through the funds' own services.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.core.access import Principal
from xinyidai.core.clock import today_local
from xinyidai.core.settings import Settings
from xinyidai.funds import service as funds
from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund
from xinyidai.market import service as market
from xinyidai.market.models import Loan
from xinyidai.market.schemas import LoanReportInput

FUND_NAME = "威海市信保基金"
SCHEME_NAME = "威海市信保基金风险分担方案"
FEE_RATE = Decimal("0.75")  # % a year
INSURER = "中国人民财产保险威海市分公司"
CAPITAL = Decimal("200000000.00")  # 2 亿元
LEVERAGE = Decimal(10)


def _principal(session: Session, username: str) -> Principal:
    return accounts.principal_for(session.scalars(select(User).where(User.username == username)).one())


def fill_funds(session: Session, settings: Settings) -> GuaranteeFund | None:
    """Set up the demo guarantee fund, cover the qualifying loans and pay one claim (once).

    Returns the fund, or None when the demo organisations are missing.
    """
    del settings  # the same signature as the other demo steps
    existing = session.scalars(select(GuaranteeFund).where(GuaranteeFund.name == FUND_NAME)).first()
    if existing is not None:
        return existing
    finance = session.scalars(select(Organisation).where(Organisation.name == "威海市财政局")).first()
    if finance is None:
        return None
    manager = _principal(session, "fund_manager")
    scheme = funds.create_scheme(
        session,
        manager,
        name=SCHEME_NAME,
        tiers=funds.WEIHAI_SCHEME,
        fee_rate=FEE_RATE,
        note="威海模式：A 级 500 万元以内纯信用 8:2，B 级抵押率 ≤ 70% 6:4，C 级 ≤ 100% 4:6，D 级不纳入。",
    )
    fund = funds.create_fund(
        session,
        manager,
        name=FUND_NAME,
        leverage=LEVERAGE,
        description="市财政出资 2 亿元设立，按企业信用等级与合作银行分担贷款损失"
        "（A 级 8:2，B 级 6:4，C 级 4:6），按年 0.75% 收取担保费。",
        scheme_id=scheme.id,
    )
    funds.contribute(
        session,
        manager,
        fund.id,
        amount=CAPITAL,
        contributor=finance.name,
        key="demo-capital",
        contributor_id=finance.id,
    )
    funds.cover_approved(session, manager, fund.id)
    _state_collateral(session, fund)
    _revise_scheme(session, manager, scheme.id)
    _one_claim(session, manager, fund)
    session.flush()
    return fund


def _state_collateral(session: Session, fund: GuaranteeFund) -> None:
    """The bank states what the collateral of its secured loans refused for a 100 % collateral ratio is
    worth (60 % of the loan); the fund decides again and covers those whose grade allows it."""
    bank_risk = _principal(session, "bank_risk")
    refused = session.scalars(
        select(CoveredLoan).where(
            CoveredLoan.fund_id == fund.id,
            CoveredLoan.status == "refused",
            CoveredLoan.institution_id == bank_risk.organisation_id,
            CoveredLoan.reason.startswith("Collateral of"),
        )
    ).all()
    for decision in refused[:3]:
        value = (Decimal(decision.amount) * Decimal("0.6")).quantize(Decimal("0.01"))
        funds.record_collateral(session, bank_risk, decision.application_id, value)


def _revise_scheme(session: Session, manager: Principal, scheme_id: int) -> None:
    """Version 2 of the scheme: an insurer takes 10 % of grade A losses (fund 70 %, bank 20 %)."""
    tiers = [
        funds.Tier(
            "A", t.amount_max, t.collateral_max_pct, Decimal(70), Decimal(10), third_party_name=INSURER
        )
        if t.grade == "A"
        else t
        for t in funds.WEIHAI_SCHEME
    ]
    funds.revise_scheme(
        session,
        manager,
        scheme_id,
        name=SCHEME_NAME,
        tiers=tiers,
        fee_rate=FEE_RATE,
        note="引入保险公司分担 A 级贷款损失 10%；此前已纳入的贷款仍按原比例分担。",
    )


def _one_claim(session: Session, manager: Principal, fund: GuaranteeFund) -> None:
    """A covered loan of the demo bank in default (one is reported in default if none is), claimed at 60 %
    of its outstanding principal, paid, and a first recovery reported."""
    rows = session.execute(
        select(CoveredLoan, Loan)
        .join(Loan, Loan.id == CoveredLoan.loan_id)
        .where(CoveredLoan.fund_id == fund.id, CoveredLoan.status == "covered")
        .order_by(Loan.status != "defaulted", Loan.status != "overdue", Loan.id)
    ).all()
    bank_risk = _principal(session, "bank_risk")
    bank_manager = _principal(session, "bank_manager")
    mine = [(c, loan) for c, loan in rows if loan.institution_id == bank_risk.organisation_id]
    if not mine:
        return
    _coverage, loan = mine[0]
    if loan.status != "defaulted":
        market.report_loan(
            session,
            bank_manager,
            loan.id,
            LoanReportInput(kind="default", occurred_on=today_local(), note="逾期超过 90 天，已转入不良"),
        )
    loss = (Decimal(loan.outstanding) * Decimal("0.6")).quantize(Decimal("0.01"))
    claim = funds.file_claim(
        session,
        bank_risk,
        loan_id=loan.id,
        loss=loss,
        note="抵质押物处置后仍有损失，申请信保基金代偿",
        idempotency_key="demo-claim",
    )
    funds.approve_claim(session, manager, claim.id, note="材料齐全，同意代偿")
    funds.report_recovery(
        session,
        bank_risk,
        claim.id,
        amount=(loss / 10).quantize(Decimal("0.01")),
        note="法院执行回款",
        idempotency_key="demo-recovery",
    )
