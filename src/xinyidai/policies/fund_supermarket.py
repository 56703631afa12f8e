"""The government fund supermarket (基金超市): investment funds, enterprises' applications, investments.

A fund manager's organisation lists its government investment funds (manager, focus, size); enterprises
apply with the investment they seek and their plan; the manager reviews each application with the
platform's data — the enterprise's newest grade and score and its key indicators — and approves or
rejects it with a reason; the investments made are recorded (amount, date, stake). ``investments_of``
gives an enterprise's recorded investments, for investment-loan linkage (投贷联动).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.core.access import Permission, Principal, Role, require
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import Conflict, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import notify_role
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.market import service as market
from xinyidai.policies import states
from xinyidai.policies.models import Investment, InvestmentApplication, InvestmentFund
from xinyidai.policies.repository import get_scoped, scoped
from xinyidai.policies.schemas import FundApplicationInput, FundInput, InvestmentInput
from xinyidai.rating import service as rating

# What a fund manager sees of an applicant besides its grade: growth, scale, innovation, risk.
KEY_INDICATORS = (
    "sales_12m",
    "sales_growth_12m",
    "tax_paid_12m",
    "insured_latest",
    "patents_valid",
    "invention_patents",
    "defendant_cases_24m",
    "penalties_24m",
)


def create_fund(session: Session, principal: Principal, data: FundInput) -> InvestmentFund:
    """List a fund of the manager's organisation in the fund supermarket (open for applications)."""
    require(principal, Permission.INVESTMENT_FUNDS_MANAGE)
    fund = InvestmentFund(
        manager_id=principal.organisation_id,
        name=data.name,
        manager_name=data.manager_name,
        focus=data.focus,
        size=data.size,
        description=data.description,
        status="open",
        created_by=principal.username,
        created_at=utcnow(),
    )
    session.add(fund)
    session.flush()
    return fund


def move_fund(session: Session, principal: Principal, fund_id: int, action: str) -> InvestmentFund:
    """Close a fund to new applications, or reopen it."""
    require(principal, Permission.INVESTMENT_FUNDS_MANAGE)
    fund = get_scoped(session, principal, InvestmentFund, fund_id, lock=True)
    fund.status = states.next_state("fund", fund.status, action)
    session.flush()
    return fund


def list_funds(session: Session, principal: Principal) -> Sequence[InvestmentFund]:
    """The manager's own funds, or for an enterprise every open fund."""
    return session.scalars(
        scoped(select(InvestmentFund), principal, InvestmentFund).order_by(InvestmentFund.id)
    ).all()


def apply_to_fund(
    session: Session, principal: Principal, fund_id: int, data: FundApplicationInput
) -> InvestmentApplication:
    """The enterprise applies to an open fund (one application under way per fund)."""
    require(principal, Permission.POLICY_APPLY)
    fund = get_scoped(session, principal, InvestmentFund, fund_id)
    if data.amount_sought > fund.size:
        raise ValidationFailed(
            "The fund's whole size is %(size)s yuan", field="amount_sought", size=f"{fund.size:,.2f}"
        )
    under_way = session.scalars(
        select(InvestmentApplication.id).where(
            InvestmentApplication.fund_id == fund.id,
            InvestmentApplication.enterprise_id == principal.organisation_id,
            InvestmentApplication.status.in_(("submitted", "approved")),
        )
    ).first()
    if under_way is not None:
        raise Conflict("You already applied to this fund (application No. %(id)s)", id=under_way)
    me = market.own_enterprise(session, None, principal)
    app = InvestmentApplication(
        fund_id=fund.id,
        manager_id=fund.manager_id,
        enterprise_id=me.organisation_id,
        uscc=me.uscc,
        enterprise_name=me.name,
        amount_sought=data.amount_sought,
        plan=data.plan,
        status="submitted",
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(app)
    session.flush()
    notify_role(
        session,
        Role.FUND_MANAGER,
        topic="policies.fund_application",
        title=N_("A new fund application"),
        body=N_("%(enterprise)s applied to %(fund)s for %(amount)s yuan."),
        params={"enterprise": me.name, "fund": fund.name, "amount": f"{data.amount_sought:,.2f}"},
        link=f"/government/investment-applications/{app.id}",
        organisation_id=fund.manager_id,
        key=f"fund_application:{app.id}",
    )
    return app


def list_fund_applications(
    session: Session, principal: Principal, *, status: str | None = None
) -> Sequence[InvestmentApplication]:
    """The manager's applications (or the enterprise's own), newest first."""
    stmt = scoped(select(InvestmentApplication), principal, InvestmentApplication)
    if status:
        stmt = stmt.where(InvestmentApplication.status == status)
    return session.scalars(stmt.order_by(InvestmentApplication.id.desc()).limit(500)).all()


@dataclass(frozen=True)
class ApplicantView:
    """An application with the platform's data on the applicant, for the manager's review."""

    application: InvestmentApplication
    fund: InvestmentFund
    grade: str | None
    score: float | None
    rated_on: date | None
    indicators: list[tuple[indicators.Indicator, Any]]
    investments: Sequence[Investment]


def review_view(
    session: Session, lake: Lake | None, principal: Principal, application_id: int
) -> ApplicantView:
    """One application of the manager's funds with the applicant's grade and key indicators."""
    require(principal, Permission.INVESTMENT_FUNDS_MANAGE)
    app = get_scoped(session, principal, InvestmentApplication, application_id)
    fund = session.get(InvestmentFund, app.fund_id)
    assert fund is not None
    current = rating.current_rating(lake, app.uscc) if lake is not None else None
    values = indicators.enterprise_indicators(lake, app.uscc) if lake is not None else None
    by_id = {i.id: i for i in indicators.INDICATORS}
    shown = [(by_id[k], (values or {}).get(k)) for k in KEY_INDICATORS if k in by_id]
    return ApplicantView(
        application=app,
        fund=fund,
        grade=current.grade if current else None,
        score=current.score if current else None,
        rated_on=current.as_of if current else None,
        indicators=shown,
        investments=investments_of(session, app.uscc),
    )


def decide_fund_application(
    session: Session, principal: Principal, application_id: int, *, approve: bool, reason: str
) -> InvestmentApplication:
    """The manager approves or rejects an application (a rejection needs the reason)."""
    require(principal, Permission.INVESTMENT_FUNDS_MANAGE)
    app = get_scoped(session, principal, InvestmentApplication, application_id, lock=True)
    action = "approve" if approve else "reject"
    app.status = states.next_state("fund_application", app.status, action)
    reason = reason.strip()
    if not approve and len(reason) < 2:
        raise ValidationFailed("Give the reason the enterprise will read", field="reason")
    app.decision_reason = reason[:1000]
    app.decided_by = principal.username
    app.decided_at = utcnow()
    app.updated_at = utcnow()
    session.flush()
    for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF):
        notify_role(
            session,
            role,
            topic="policies.fund_application",
            title=N_("Your fund application was approved")
            if approve
            else N_("Your fund application was rejected"),
            body=N_("Application No. %(id)s: %(reason)s"),
            params={"id": app.id, "reason": reason or "—"},
            link="/enterprise/funds",
            organisation_id=app.enterprise_id,
            key=f"fund_application:{app.id}:{app.status}",
        )
    return app


def record_investment(
    session: Session,
    principal: Principal,
    application_id: int,
    data: InvestmentInput,
    *,
    today: date | None = None,
) -> Investment:
    """Record an investment the fund made on an approved application (follow-on rounds allowed).

    Refused for a date in the future, or when the fund's investments would pass its size.
    """
    require(principal, Permission.INVESTMENT_FUNDS_MANAGE)
    app = get_scoped(session, principal, InvestmentApplication, application_id, lock=True)
    fund = get_scoped(session, principal, InvestmentFund, app.fund_id, lock=True)
    app.status = states.next_state("fund_application", app.status, "invest")
    if data.invested_on > (today or today_local()):
        raise ValidationFailed("The date cannot be in the future", field="invested_on")
    invested = Decimal(
        session.scalar(
            select(func.coalesce(func.sum(Investment.amount), 0)).where(Investment.fund_id == fund.id)
        )
        or 0
    )
    if invested + data.amount > fund.size:
        raise ValidationFailed(
            "The fund has %(left)s yuan left to invest",
            field="amount",
            left=f"{max(fund.size - invested, Decimal(0)):,.2f}",
        )
    investment = Investment(
        fund_id=fund.id,
        application_id=app.id,
        enterprise_id=app.enterprise_id,
        uscc=app.uscc,
        amount=data.amount,
        invested_on=data.invested_on,
        stake=data.stake,
        recorded_by=principal.username,
        recorded_at=utcnow(),
    )
    session.add(investment)
    app.updated_at = utcnow()
    session.flush()
    return investment


def investments_of(session: Session, uscc: str) -> Sequence[Investment]:
    """Every investment government funds recorded in the enterprise ``uscc``, oldest first (投贷联动)."""
    return session.scalars(
        select(Investment).where(Investment.uscc == uscc).order_by(Investment.invested_on, Investment.id)
    ).all()


def fund_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(InvestmentFund.id, InvestmentFund.name).where(InvestmentFund.id.in_(set(ids)))
    )
    return {row.id: row.name for row in rows}
