"""The demo city's guarantee fund: Weihai's 信保基金 (200 M yuan from the finance bureau, leverage 10×, the
default scheme), the demo loans that qualify covered, and one claim on a defaulted covered loan filed by the
bank, approved and paid by the fund manager, with a first recovery shared back.

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
    fund = funds.create_fund(
        session,
        manager,
        name=FUND_NAME,
        leverage=LEVERAGE,
        description="市财政出资 2 亿元设立，按企业信用等级与合作银行分担贷款损失"
        "（A 级 8:2，B 级 6:4，C 级 4:6）。",
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
    _one_claim(session, manager, fund)
    session.flush()
    return fund


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
