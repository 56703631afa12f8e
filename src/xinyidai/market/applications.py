"""Applications and loans: apply → accept → approve | reject → disburse → repayments, overdue, default.

Each move goes through ``states`` (an illegal one is refused and changes nothing) and is recorded as an
``ApplicationEvent`` with who and when. The institution has ``market_sla_working_days`` working days
(Chinese public holidays counted) for each of its moves; ``remind_overdue`` tells it when a deadline
passes. Instant products decide on the spot with the product's strategy (``precredit``) and, where the
product says so, disburse without any manual step (Zhengzhou's "310").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.core import events, evidence
from xinyidai.core.access import OrgKind, Permission, Principal, Role, require
from xinyidai.core.clock import add_months, today_local, utcnow
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import notify_role
from xinyidai.core.settings import Settings
from xinyidai.core.workdays import deadline_after
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.market import states
from xinyidai.market.consents import sign_for_application
from xinyidai.market.models import Application, ApplicationEvent, Loan, LoanRecord, Product
from xinyidai.market.needs import COUNT_CAP, EnterpriseProfileView, capped_count, own_enterprise
from xinyidai.market.orders import check_within_product
from xinyidai.market.precredit import Decision, decide
from xinyidai.market.products import listed_product
from xinyidai.market.repository import get_scoped, scoped
from xinyidai.market.schemas import (
    ApplicationInput,
    ApprovalInput,
    DisbursementInput,
    LoanReportInput,
    RejectionInput,
)
from xinyidai.rating.service import GradeChange

SLA_WORKING_DAYS = 3
SYSTEM = "system"


def _event(
    session: Session, app: Application, before: str, principal: Principal | None, note: str = ""
) -> None:
    session.add(
        ApplicationEvent(
            application_id=app.id,
            from_status=before,
            to_status=app.status,
            actor_user_id=principal.user_id if principal else None,
            actor_username=principal.username if principal else SYSTEM,
            actor_organisation_id=principal.organisation_id if principal else None,
            note=note,
        )
    )
    evidence.append(
        session,
        f"application.{app.status}",
        {
            "application_id": app.id,
            "product_id": app.product_id,
            "amount": app.amount,
            "term_months": app.term_months,
            "from": before,
            "to": app.status,
            "note_sha256": evidence.sha256_text(note) if note else None,
            "by": evidence.actor(principal),
        },
        subject=f"application:{app.id}",
        enterprise_uscc=app.uscc,
        organisation_id=app.institution_id,
    )


def _move(
    session: Session,
    app: Application,
    action: str,
    principal: Principal | None,
    note: str = "",
    sla_days: int | None = SLA_WORKING_DAYS,
) -> None:
    before = app.status
    app.status = states.next_state("application", before, action)
    app.updated_at = utcnow()
    waiting = app.status in ("submitted", "accepted", "approved")
    app.due_at = deadline_after(app.updated_at, sla_days) if waiting and sla_days else None
    app.reminded_at = None
    session.flush()
    _event(session, app, before, principal, note)


def open_application(
    session: Session,
    principal: Principal,
    *,
    product_id: int,
    amount: Decimal,
    term_months: int,
    purpose: str = "",
    channel: str = "product",
    need_id: int | None = None,
    order_id: int | None = None,
    grade: str = "",
    idempotency_key: str | None = None,
    sla_days: int = SLA_WORKING_DAYS,
    enterprise: EnterpriseProfileView | None = None,
) -> Application:
    """Create the enterprise's application (submitted) and tell the institution; no decision yet.
    ``enterprise``: the principal's enterprise when the caller has read it already."""
    product = listed_product(session, product_id)
    check_within_product(product, amount, term_months)
    me = enterprise or own_enterprise(session, None, principal)
    app = Application(
        enterprise_id=me.organisation_id,
        uscc=me.uscc,
        enterprise_name=me.name,
        institution_id=product.institution_id,
        product_id=product.id,
        need_id=need_id,
        order_id=order_id,
        channel=channel,
        amount=amount,
        term_months=term_months,
        purpose=purpose,
        grade=grade,
        status="submitted",
        idempotency_key=idempotency_key,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    app.due_at = deadline_after(app.created_at, sla_days)
    session.add(app)
    session.flush()
    _event(session, app, "", principal)
    for role in (Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER):
        notify_role(
            session,
            role,
            topic="market.application",
            title=N_("A new financing application"),
            body=N_("%(enterprise)s applied for %(amount)s yuan."),
            params={"enterprise": me.name, "amount": f"{amount:,.2f}"},
            link=f"/institution/applications/{app.id}",
            organisation_id=product.institution_id,
            key=f"application:{app.id}",
        )
    return app


@dataclass(frozen=True)
class Applied:
    """An application and, for an instant product, the decision taken on the spot."""

    application: Application
    decision: Decision | None
    loan: Loan | None = None


def apply(
    session: Session,
    lake: Lake | None,
    principal: Principal,
    data: ApplicationInput,
    settings: Settings,
    *,
    idempotency_key: str | None = None,
    authorise: bool = True,
) -> Applied:
    """The enterprise applies to a listed product.

    The same idempotency key twice returns the first application (a double-submitted form applies once).
    Applying authorises the product's institution to see the full report for loan review (90 days)
    unless ``authorise`` is False. An instant product decides at once (秒批): approved with the limit
    and rate of its strategy, or rejected with the reasons; with ``auto_disburse`` the loan follows.
    """
    require(principal, Permission.ENTERPRISE_FINANCE)
    if idempotency_key:
        earlier = session.scalars(
            select(Application).where(
                Application.enterprise_id == principal.organisation_id,
                Application.idempotency_key == idempotency_key,
            )
        ).first()
        if earlier is not None:
            return Applied(earlier, None, _loan_of(session, earlier))
    product = listed_product(session, data.product_id)
    me = own_enterprise(session, lake, principal)
    decision: Decision | None = None
    if product.instant:
        decision = _decide_for(lake, me, product, data.amount, data.term_months)
    else:
        check_within_product(product, data.amount, data.term_months)
    if authorise:
        require(principal, Permission.CONSENT_SIGN)
        sign_for_application(session, principal, product.institution_id)
    app = open_application(
        session,
        principal,
        product_id=product.id,
        amount=data.amount
        if decision is None or not decision.eligible or decision.limit is None
        else min(data.amount, decision.limit),
        term_months=data.term_months,
        purpose=data.purpose,
        channel="instant" if product.instant else "product",
        grade=me.grade or "",
        idempotency_key=idempotency_key,
        sla_days=settings.market_sla_working_days,
        enterprise=me,
    )
    if decision is None:
        return Applied(app, None)
    app.decision = decision.to_dict()
    if not decision.eligible:
        app.reject_reason = "; ".join(
            r.message % r.params if r.params else r.message for r in decision.reasons
        )
        _move(session, app, "reject", None, "instant pre-credit")
        return Applied(app, decision)
    app.approved_amount = decision.limit
    app.approved_rate = decision.rate
    app.approved_term = data.term_months
    _move(session, app, "approve", None, "instant pre-credit", settings.market_sla_working_days)
    events.publish(session, "market.application.approved", application_id=app.id)
    loan = (
        _disburse(session, app, product, None, contract_no=f"AUTO-{app.id}")
        if product.auto_disburse
        else None
    )
    return Applied(app, decision, loan)


def precredit_for(
    session: Session,
    lake: Lake | None,
    principal: Principal,
    product: Product,
    amount: Decimal,
    term_months: int,
) -> tuple[Decision, str | None]:
    """The product's strategy applied to the principal's enterprise now, and the grade it used."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    me = own_enterprise(session, lake, principal)
    return _decide_for(lake, me, product, amount, term_months), me.grade


def _decide_for(
    lake: Lake | None, me: EnterpriseProfileView, product: Product, amount: Decimal, term_months: int
) -> Decision:
    """One instant decision: the enterprise's newest indicators and grade through the product's strategy."""
    values = indicators.enterprise_indicators(lake, me.uscc) if lake is not None else None
    return decide(product, me.as_profile(), values, amount=amount, term_months=term_months)


def request_review(session: Session, principal: Principal, application_id: int) -> Application:
    """The enterprise asks a person to review an instant refusal (PIPL Art. 24: a decision made only by
    automation may be refused). A new application with the same terms goes to the institution's queue,
    carrying the automated decision and its reasons; the refused one stays as it was.

    Raises:
        Conflict: the application was not refused by the instant decision, or a review was already asked.
    """
    require(principal, Permission.ENTERPRISE_FINANCE)
    refused = get_scoped(session, principal, Application, application_id)
    if refused.channel != "instant" or refused.status != "rejected":
        raise Conflict("Only an instant refusal can be reviewed by a person")
    key = f"review-of-{refused.id}"
    asked = select(Application.id).where(
        Application.enterprise_id == refused.enterprise_id, Application.idempotency_key == key
    )
    if session.scalar(asked) is not None:
        raise Conflict("A person is already reviewing this refusal")
    review = open_application(
        session,
        principal,
        product_id=refused.product_id,
        amount=refused.amount,
        term_months=refused.term_months,
        purpose=refused.purpose,
        channel="review",
        grade=refused.grade,
        idempotency_key=key,
    )
    review.decision = {**(refused.decision or {}), "review_of": refused.id}
    return review


def _loan_of(session: Session, app: Application) -> Loan | None:
    return session.scalars(select(Loan).where(Loan.application_id == app.id)).first()


def _institution_app(session: Session, principal: Principal, application_id: int) -> Application:
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    return get_scoped(session, principal, Application, application_id, lock=True)


def accept(session: Session, principal: Principal, application_id: int) -> Application:
    """The institution takes the application into review (受理)."""
    require(principal, Permission.ORDERS_WORK)
    app = _institution_app(session, principal, application_id)
    _move(session, app, "accept", principal)
    return app


def approve(session: Session, principal: Principal, application_id: int, data: ApprovalInput) -> Application:
    """The institution approves: amount, rate and term within the product's ranges."""
    require(principal, Permission.CREDIT_DECIDE)
    app = _institution_app(session, principal, application_id)
    product = session.get(Product, app.product_id)
    assert product is not None
    check_within_product(product, data.amount, data.term_months, data.rate)
    _move(session, app, "approve", principal, data.note)
    app.approved_amount = data.amount
    app.approved_rate = data.rate
    app.approved_term = data.term_months
    app.collateral_value = data.collateral_value
    session.flush()
    events.publish(session, "market.application.approved", application_id=app.id)
    _tell_enterprise(
        session,
        app,
        N_("Your application was approved"),
        N_("%(institution)s approved %(amount)s yuan for %(term)s months at %(rate)s%%."),
        {"amount": f"{data.amount:,.2f}", "term": data.term_months, "rate": str(data.rate)},
    )
    return app


def record_collateral_value(
    session: Session, principal: Principal, application_id: int, value: Decimal
) -> Application:
    """The institution states what an approved (or disbursed) loan's collateral is worth (元); a fund
    scheme checks it against the loan. Published as ``market.application.collateral``."""
    require(principal, Permission.CREDIT_DECIDE)
    app = _institution_app(session, principal, application_id)
    if app.status not in ("approved", "disbursed"):
        raise Conflict("State the collateral's value once the application is approved")
    if (
        not value.is_finite()
        or value < 0
        or value != value.quantize(Decimal("0.01"))
        or value > Decimal(10) ** 11
    ):
        raise ValidationFailed(
            "Enter the collateral's value in yuan, at most two decimals", field="collateral_value"
        )
    app.collateral_value = value
    session.flush()
    return app


def reject(session: Session, principal: Principal, application_id: int, data: RejectionInput) -> Application:
    """The institution declines, with the reason the enterprise will read."""
    require(principal, Permission.CREDIT_DECIDE)
    app = _institution_app(session, principal, application_id)
    _move(session, app, "reject", principal, data.reason)
    app.reject_reason = data.reason
    _tell_enterprise(
        session,
        app,
        N_("Your application was declined"),
        N_("%(institution)s: %(reason)s"),
        {"reason": data.reason},
    )
    return app


def withdraw(session: Session, principal: Principal, application_id: int) -> Application:
    """The enterprise withdraws an application that has not been disbursed."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    app = get_scoped(session, principal, Application, application_id, lock=True)
    _move(session, app, "withdraw", principal)
    return app


def disburse(session: Session, principal: Principal, application_id: int, data: DisbursementInput) -> Loan:
    """The institution pays out the approved amount: a loan starts."""
    require(principal, Permission.ORDERS_WORK)
    app = _institution_app(session, principal, application_id)
    product = session.get(Product, app.product_id)
    assert product is not None
    return _disburse(session, app, product, principal, contract_no=data.contract_no, on=data.disbursed_on)


def _disburse(
    session: Session,
    app: Application,
    product: Product,
    principal: Principal | None,
    *,
    contract_no: str = "",
    on: date | None = None,
) -> Loan:
    _move(session, app, "disburse", principal)
    day = on or today_local()
    if day > today_local():
        raise ValidationFailed("The disbursement date is in the future", field="disbursed_on")
    assert app.approved_amount is not None and app.approved_rate is not None and app.approved_term is not None
    loan = Loan(
        application_id=app.id,
        institution_id=app.institution_id,
        enterprise_id=app.enterprise_id,
        uscc=app.uscc,
        product_id=app.product_id,
        contract_no=contract_no or f"XYD-{app.id:08d}",
        amount=app.approved_amount,
        rate=app.approved_rate,
        term_months=app.approved_term,
        pure_credit=product.pure_credit,
        grade=app.grade,
        disbursed_on=day,
        maturity_on=add_months(day, app.approved_term),
        outstanding=app.approved_amount,
        status="current",
    )
    session.add(loan)
    session.flush()
    events.publish(session, "market.loan.disbursed", loan_id=loan.id, application_id=app.id)
    _tell_enterprise(
        session,
        app,
        N_("Your loan was disbursed"),
        N_("%(institution)s paid out %(amount)s yuan."),
        {"amount": f"{loan.amount:,.2f}"},
    )
    return loan


def report_loan(session: Session, principal: Principal, loan_id: int, data: LoanReportInput) -> LoanRecord:
    """The institution reports a repayment, an overdue, a cure, a default or a recovery.

    A repayment lowers the outstanding principal (never below zero; the last one marks the loan repaid).
    The same idempotency key twice records once and returns the first record.
    """
    require(principal, Permission.INSTITUTION_WORKBENCH)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    loan = get_scoped(session, principal, Loan, loan_id, lock=True)
    if data.idempotency_key:
        earlier = session.scalars(
            select(LoanRecord).where(
                LoanRecord.loan_id == loan.id, LoanRecord.idempotency_key == data.idempotency_key
            )
        ).first()
        if earlier is not None:
            return earlier
    if data.occurred_on > today_local() or data.occurred_on < loan.disbursed_on:
        raise ValidationFailed("The date must lie between the disbursement and today", field="occurred_on")
    action: str = data.kind
    if data.kind == "repayment":
        if data.amount <= 0:
            raise ValidationFailed("A repayment needs an amount", field="amount")
        if data.amount > loan.outstanding:
            raise ValidationFailed(
                "The repayment is larger than the outstanding %(outstanding)s yuan",
                field="amount",
                outstanding=f"{loan.outstanding:,.2f}",
            )
        if data.amount == loan.outstanding:
            action = "repaid" if loan.status != "defaulted" else "recovered"
    elif data.kind == "overdue" and data.days_overdue <= 0:
        raise ValidationFailed("Say how many days the loan is overdue", field="days_overdue")
    loan.status = states.next_state("loan", loan.status, action)
    if data.kind == "repayment":
        loan.outstanding = Decimal(loan.outstanding) - data.amount
    if data.kind == "overdue":
        loan.days_overdue = data.days_overdue
    elif data.kind == "cured":
        loan.days_overdue = 0
    record = LoanRecord(
        loan_id=loan.id,
        kind=data.kind,
        amount=data.amount,
        occurred_on=data.occurred_on,
        days_overdue=data.days_overdue,
        note=data.note,
        reported_by=principal.username,
        idempotency_key=data.idempotency_key,
    )
    session.add(record)
    session.flush()
    evidence.append(
        session,
        f"loan.{data.kind}",
        {
            "loan_id": loan.id,
            "application_id": loan.application_id,
            "record_id": record.id,
            "amount": data.amount,
            "occurred_on": data.occurred_on,
            "days_overdue": data.days_overdue,
            "status": loan.status,
            "note_sha256": evidence.sha256_text(data.note) if data.note else None,
            "by": evidence.actor(principal),
        },
        subject=f"loan:{loan.id}",
        enterprise_uscc=loan.uscc,
        organisation_id=loan.institution_id,
    )
    # funds (claims on defaults, recoveries shared back) and monitoring listen
    events.publish(session, f"market.loan.{data.kind}", loan_id=loan.id, record_id=record.id)
    return record


def remind_overdue(session: Session) -> int:
    """Tell institutions of applications past their deadline (once per deadline); returns how many."""
    now = utcnow()
    late = session.scalars(
        select(Application).where(
            Application.due_at.is_not(None),
            Application.due_at < now,
            Application.reminded_at.is_(None),
            Application.status.in_(("submitted", "accepted", "approved")),
        )
    ).all()
    for app in late:
        app.reminded_at = now
        for role in (Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER):
            notify_role(
                session,
                role,
                topic="market.sla",
                severity="warning",
                title=N_("An application is waiting past its deadline"),
                body=N_("Application No. %(id)s from %(enterprise)s has waited past its deadline."),
                params={"id": app.id, "enterprise": app.enterprise_name},
                link=f"/institution/applications/{app.id}",
                organisation_id=app.institution_id,
                key=f"sla:{app.id}:{app.status}",
            )
    return len(late)


def list_applications(
    session: Session, principal: Principal, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[Sequence[Application], int]:
    """Applications the principal may see (its own side), newest first, with the total."""
    require(principal, Permission.AUTHENTICATED)
    stmt = scoped(select(Application), principal, Application)
    if status:
        stmt = stmt.where(Application.status == status)
    total = min(capped_count(session, stmt), COUNT_CAP)
    return session.scalars(stmt.order_by(Application.id.desc()).limit(limit).offset(offset)).all(), total


def get_application(session: Session, principal: Principal, application_id: int) -> Application:
    """One application of the principal's side (NotFound for anybody else's)."""
    return get_scoped(session, principal, Application, application_id)


def application_events(
    session: Session, principal: Principal, application_id: int
) -> Sequence[ApplicationEvent]:
    """Every move of the application, oldest first."""
    get_scoped(session, principal, Application, application_id)
    return session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application_id)
        .order_by(ApplicationEvent.id)
    ).all()


def list_loans(
    session: Session, principal: Principal, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[Sequence[Loan], int]:
    """Loans of the principal's side, newest first, with the total."""
    require(principal, Permission.AUTHENTICATED)
    stmt = scoped(select(Loan), principal, Loan)
    if status:
        stmt = stmt.where(Loan.status == status)
    total = min(capped_count(session, stmt), COUNT_CAP)
    return session.scalars(stmt.order_by(Loan.id.desc()).limit(limit).offset(offset)).all(), total


def get_loan(session: Session, principal: Principal, loan_id: int) -> Loan:
    return get_scoped(session, principal, Loan, loan_id)


def loan_records(session: Session, principal: Principal, loan_id: int) -> Sequence[LoanRecord]:
    get_scoped(session, principal, Loan, loan_id)
    return session.scalars(
        select(LoanRecord).where(LoanRecord.loan_id == loan_id).order_by(LoanRecord.id)
    ).all()


def _tell_enterprise(
    session: Session, app: Application, title: str, body: str, params: dict[str, object]
) -> None:
    from xinyidai.accounts.models import Organisation

    institution = session.get(Organisation, app.institution_id)
    if institution is None:
        raise NotFound()
    for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF):
        notify_role(
            session,
            role,
            topic="market.application",
            title=title,
            body=body,
            params={"institution": institution.name, **params},
            link=f"/enterprise/applications/{app.id}",
            organisation_id=app.enterprise_id,
            key=f"application:{app.id}:{app.status}",
        )


def notify_lenders_of_downgrades(session: Session, changes: Iterable[GradeChange]) -> int:
    """Tell each institution with an unrepaid loan to a downgraded enterprise (its admin, account managers
    and risk officers) that the borrower's grade fell. Returns how many institution notices were made."""
    downgraded = {c.uscc: c for c in changes if c.is_downgrade}
    if not downgraded:
        return 0
    rows = session.execute(
        select(Loan.institution_id, Loan.uscc, func.count())
        .where(Loan.uscc.in_(list(downgraded)), Loan.status.in_(("current", "overdue", "defaulted")))
        .group_by(Loan.institution_id, Loan.uscc)
    ).all()
    names = dict(
        session.execute(
            select(Application.uscc, Application.enterprise_name).where(
                Application.uscc.in_({uscc for _, uscc, _ in rows})
            )
        ).all()
    )
    for institution_id, uscc, loans in rows:
        change = downgraded[uscc]
        for role in (Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER, Role.RISK_OFFICER):
            notify_role(
                session,
                role,
                organisation_id=institution_id,
                topic="rating",
                key=f"borrower-downgrade:{uscc}:{change.as_of.isoformat()}",
                severity="warning",
                title=N_("A borrower's credit grade fell: %(enterprise)s"),
                body=N_(
                    "%(enterprise)s (%(loans)s loans with you) fell from %(previous)s to %(grade)s "
                    "on %(as_of)s."
                ),
                params={
                    "enterprise": names.get(uscc, uscc),
                    "loans": loans,
                    "previous": change.previous_grade,
                    "grade": change.grade,
                    "as_of": change.as_of.isoformat(),
                },
                link=f"/reports/{uscc}?purpose=post_loan",
            )
    return len(rows)
