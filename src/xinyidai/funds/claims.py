"""Claims on covered loans that defaulted, their review and payout, and recoveries shared back.

- The lending institution files a claim with its loss (元): at most the loan's outstanding principal,
  one live claim per default (a second one is refused, also when two arrive at once: the covered loan is
  locked first).
- The fund manager approves (the fund's share is posted at once: payouts ← cash; the ledger refuses to
  take the fund's cash below zero, so two approvals at once cannot overdraw) or rejects with a reason.
- Money the institution recovers later (a repayment on the defaulted loan) is shared back the same way:
  the fund's percentage of it, never more in total than the fund paid, posted cash ← recoveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, false, func, select, update
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Permission, Principal, Role, require, sees_all_organisations
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import notify_role
from xinyidai.funds import ledger
from xinyidai.funds.ledger import InsufficientFunds, Line
from xinyidai.funds.schemes import CENT, account_code, share
from xinyidai.funds.schemes_models import Claim, CoveredLoan, GuaranteeFund, Recovery
from xinyidai.market import service as market
from xinyidai.market.models import Loan, LoanRecord
from xinyidai.market.schemas import LoanReportInput

CLAIM_LABELS: dict[str, str] = {
    "submitted": N_("Under review"),
    "paid": N_("Paid"),
    "rejected": N_("Rejected"),
}
LIVE_CLAIMS = ("submitted", "paid")
RECOVERY_KINDS = ("repayment", "recovered")
S = TypeVar("S", bound=Select[Any])


def scoped_claims(stmt: S, principal: Principal) -> S:
    """Claims the principal may see: an institution its own, a fund manager those on its department's
    funds, the operator's staff all. ``stmt`` selects from ``Claim``."""
    if sees_all_organisations(principal):
        return stmt
    if principal.org_kind is OrgKind.INSTITUTION:
        return stmt.where(Claim.institution_id == principal.organisation_id)
    if principal.org_kind is OrgKind.DEPARTMENT:
        managed = select(GuaranteeFund.id).where(GuaranteeFund.manager_id == principal.organisation_id)
        return stmt.where(Claim.fund_id.in_(managed))
    return stmt.where(false())


def get_claim(session: Session, principal: Principal, claim_id: int) -> Claim:
    """One claim the principal may see, else NotFound."""
    require(principal, Permission.AUTHENTICATED)
    found = session.scalars(scoped_claims(select(Claim).where(Claim.id == claim_id), principal)).first()
    if found is None:
        raise NotFound()
    return found


def claim_by_key(session: Session, principal: Principal, idempotency_key: str) -> Claim | None:
    """The institution's claim filed with this idempotency key, if any (to answer a retry)."""
    return session.scalars(
        select(Claim).where(
            Claim.institution_id == principal.organisation_id, Claim.idempotency_key == idempotency_key
        )
    ).first()


def list_claims(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    fund_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Claim], int]:
    """Claims the principal may see, newest first, with the total (the review queue: ``submitted``)."""
    if principal.org_kind is OrgKind.INSTITUTION:
        require(principal, Permission.INSTITUTION_WORKBENCH)
    else:
        require(principal, Permission.FUNDS_READ)
    stmt = scoped_claims(select(Claim), principal)
    if status:
        stmt = stmt.where(Claim.status == status)
    if fund_id is not None:
        stmt = stmt.where(Claim.fund_id == fund_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return session.scalars(stmt.order_by(Claim.id.desc()).limit(limit).offset(offset)).all(), total


@dataclass(frozen=True)
class Claimable:
    """A covered loan of the institution that defaulted and has no live claim: what it may claim."""

    coverage: CoveredLoan
    loan: Loan
    fund_name: str


def claimable_loans(session: Session, principal: Principal) -> list[Claimable]:
    """The institution's covered loans in default without a live claim, oldest first."""
    require(principal, Permission.INSTITUTION_WORKBENCH)
    if principal.org_kind is not OrgKind.INSTITUTION:
        return []
    rows = session.execute(
        select(CoveredLoan, Loan, GuaranteeFund.name)
        .join(Loan, Loan.id == CoveredLoan.loan_id)
        .join(GuaranteeFund, GuaranteeFund.id == CoveredLoan.fund_id)
        .where(
            CoveredLoan.institution_id == principal.organisation_id,
            CoveredLoan.status == "covered",
            Loan.status == "defaulted",
        )
        .order_by(CoveredLoan.id)
    ).all()
    return [Claimable(c, loan, name) for c, loan, name in rows]


def _split(loss: Decimal, coverage: CoveredLoan) -> tuple[Decimal, Decimal, Decimal]:
    fund = share(loss, coverage.fund_pct)
    third = share(loss, coverage.third_party_pct)
    return fund, third, loss - fund - third


def _notify_managers(session: Session, claim: Claim, fund: GuaranteeFund, loan: Loan) -> None:
    notify_role(
        session,
        Role.FUND_MANAGER,
        topic="funds.claim",
        title=N_("A claim waits for review"),
        body=N_("A claim of %(loss)s yuan on loan %(contract)s was filed against %(fund)s."),
        params={"loss": f"{claim.loss:,.2f}", "contract": loan.contract_no, "fund": fund.name},
        link=f"/government/claims/{claim.id}",
        organisation_id=fund.manager_id,
        key=f"claim:{claim.id}",
    )


def _notify_institution(
    session: Session, claim: Claim, title: str, body: str, params: dict[str, Any]
) -> None:
    for role in (Role.INSTITUTION_ADMIN, Role.RISK_OFFICER):
        notify_role(
            session,
            role,
            topic="funds.claim",
            title=title,
            body=body,
            params=params,
            link="/institution/claims",
            organisation_id=claim.institution_id,
            key=f"claim:{claim.id}:{claim.status}",
        )


def file_claim(
    session: Session,
    principal: Principal,
    *,
    loan_id: int,
    loss: Decimal,
    note: str = "",
    idempotency_key: str | None = None,
) -> Claim:
    """The lending institution claims its loss (元) on a covered loan that defaulted.

    Raises:
        NotFound: not the institution's loan.
        Conflict: the loan is not covered, not in default, or a claim on this default is under review or
            paid (also when two are filed at once).
        ValidationFailed: the loss is not positive or is above the loan's outstanding principal.
    """
    require(principal, Permission.CLAIMS_FILE)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    if idempotency_key:
        earlier = session.scalars(
            select(Claim).where(
                Claim.institution_id == principal.organisation_id, Claim.idempotency_key == idempotency_key
            )
        ).first()
        if earlier is not None:
            return earlier
    loan = market.get_loan(session, principal, loan_id)
    coverage = session.scalars(
        select(CoveredLoan).where(CoveredLoan.loan_id == loan.id, CoveredLoan.status != "refused")
    ).first()
    if coverage is None:
        raise Conflict("This loan is not covered by a fund")
    # The lock first, then the state is read again: two claims filed at once queue here.
    session.execute(
        update(CoveredLoan)
        .where(CoveredLoan.id == coverage.id)
        .values(version=CoveredLoan.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(coverage)
    session.refresh(loan)
    if loan.status != "defaulted":
        raise Conflict("Only a loan in default can be claimed on; report the default first")
    default = session.scalars(
        select(LoanRecord)
        .where(LoanRecord.loan_id == loan.id, LoanRecord.kind == "default")
        .order_by(LoanRecord.id.desc())
    ).first()
    assert default is not None  # a defaulted loan has its default report
    live = session.scalars(
        select(Claim).where(Claim.covered_loan_id == coverage.id, Claim.status.in_(LIVE_CLAIMS))
    ).first()
    if live is not None:
        raise Conflict("A claim on this default was already filed (No. %(id)s)", id=live.id)
    if loss <= 0 or loss != loss.quantize(CENT):
        raise ValidationFailed("Enter the loss in yuan, above zero, at most two decimals", field="loss")
    outstanding = Decimal(loan.outstanding)
    if loss > outstanding:
        raise ValidationFailed(
            "The loss of %(loss)s yuan is above the covered outstanding %(outstanding)s yuan",
            field="loss",
            loss=f"{loss:,.2f}",
            outstanding=f"{outstanding:,.2f}",
        )
    fund_amount, third, own = _split(loss, coverage)
    claim = Claim(
        fund_id=coverage.fund_id,
        covered_loan_id=coverage.id,
        loan_id=loan.id,
        default_record_id=default.id,
        institution_id=principal.organisation_id,
        loss=loss,
        outstanding=outstanding,
        fund_amount=fund_amount,
        third_party_amount=third,
        institution_amount=own,
        note=note.strip()[:500],
        idempotency_key=idempotency_key or None,
        filed_by=principal.username,
        filed_at=utcnow(),
    )
    session.add(claim)
    coverage.status = "claimed"
    session.flush()
    fund = session.get(GuaranteeFund, coverage.fund_id)
    assert fund is not None
    _notify_managers(session, claim, fund, loan)
    return claim


def _review(session: Session, principal: Principal, claim_id: int, status: str, note: str) -> Claim:
    require(principal, Permission.FUNDS_MANAGE)
    claim = get_claim(session, principal, claim_id)
    fund = session.get(GuaranteeFund, claim.fund_id)
    if fund is None or fund.manager_id != principal.organisation_id:
        raise NotFound()
    # One review per claim: the conditional update is the lock, and a second reviewer finds it decided.
    moved = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == "submitted")
        .values(status=status, review_note=note, reviewed_by=principal.username, reviewed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(claim)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "This claim was already reviewed: it is %(status)s",
            status=CLAIM_LABELS.get(claim.status, claim.status),
        )
    return claim


def approve_claim(session: Session, principal: Principal, claim_id: int, *, note: str = "") -> Claim:
    """The fund manager approves a claim: the fund's share is paid (payouts ← cash) at once.

    Raises:
        Conflict: the claim was already reviewed.
        InsufficientFunds: the fund's cash does not cover its share (nothing is posted or changed).
    """
    claim = _review(session, principal, claim_id, "paid", note.strip()[:500])
    fund_id = claim.fund_id
    try:
        entry = ledger.post(
            session,
            key=f"{account_code(fund_id, 'claim')}:{claim.id}:payout",
            kind="payout",
            lines=[
                Line(account_code(fund_id, "payouts"), debit=claim.fund_amount),
                Line(account_code(fund_id, "cash"), credit=claim.fund_amount),
            ],
            posted_by=principal.username,
            memo=f"claim {claim.id} loan {claim.loan_id}",
            reference=("fund_claim", claim.id),
        )
    except InsufficientFunds:
        cash = ledger.balance(session, account_code(fund_id, "cash"))
        raise InsufficientFunds(
            "The fund has %(cash)s yuan in cash, not enough to pay its share of %(amount)s yuan",
            cash=f"{cash:,.2f}",
            amount=f"{claim.fund_amount:,.2f}",
        ) from None
    claim.payout_entry_id = entry.id
    coverage = session.get(CoveredLoan, claim.covered_loan_id)
    assert coverage is not None
    coverage.status = "paid"
    session.flush()
    # money recovered between the default and the payout is shared back now
    later = session.scalars(
        select(LoanRecord.id)
        .where(
            LoanRecord.loan_id == claim.loan_id,
            LoanRecord.id > claim.default_record_id,
            LoanRecord.kind.in_(RECOVERY_KINDS),
            LoanRecord.amount > 0,
        )
        .order_by(LoanRecord.id)
    ).all()
    for record_id in later:
        share_back(session, claim.loan_id, record_id)
    _notify_institution(
        session,
        claim,
        N_("Your claim was paid"),
        N_("The fund paid %(amount)s yuan on claim No. %(id)s."),
        {"amount": f"{claim.fund_amount:,.2f}", "id": claim.id},
    )
    return claim


def reject_claim(session: Session, principal: Principal, claim_id: int, *, reason: str) -> Claim:
    """The fund manager rejects a claim with the reason the institution reads; the loan stays covered
    (the institution may file again)."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Give the reason for the rejection", field="reason")
    claim = _review(session, principal, claim_id, "rejected", reason[:500])
    coverage = session.get(CoveredLoan, claim.covered_loan_id)
    assert coverage is not None
    coverage.status = "covered"
    session.flush()
    _notify_institution(
        session,
        claim,
        N_("Your claim was rejected"),
        N_("Claim No. %(id)s: %(reason)s"),
        {"id": claim.id, "reason": reason},
    )
    return claim


def share_back(session: Session, loan_id: int, record_id: int) -> Recovery | None:
    """Share back the fund's part of money recovered on a loan whose claim was paid (once per report).

    The fund gets its percentage of the amount recovered, never more in total than it paid; posted
    cash ← recoveries. None when the loan has no paid claim or the report is not a recovery after its
    default. Called by the ``market.loan.repayment`` / ``market.loan.recovered`` subscriptions.
    """
    claim = session.scalars(select(Claim).where(Claim.loan_id == loan_id, Claim.status == "paid")).first()
    record = session.get(LoanRecord, record_id)
    if claim is None or record is None or record.loan_id != loan_id:
        return None
    if record.kind not in RECOVERY_KINDS or record.amount <= 0 or record.id <= claim.default_record_id:
        return None
    earlier = session.scalars(select(Recovery).where(Recovery.loan_record_id == record.id)).first()
    if earlier is not None:
        return earlier
    coverage = session.get(CoveredLoan, claim.covered_loan_id)
    assert coverage is not None
    already = session.scalar(
        select(func.coalesce(func.sum(Recovery.fund_amount), 0)).where(Recovery.claim_id == claim.id)
    )
    room = Decimal(claim.fund_amount) - Decimal(str(already or 0))
    fund_amount = max(Decimal(0), min(share(Decimal(record.amount), coverage.fund_pct), room))
    recovery = Recovery(
        claim_id=claim.id, loan_record_id=record.id, amount=record.amount, fund_amount=fund_amount
    )
    if fund_amount > 0:
        entry = ledger.post(
            session,
            key=f"{account_code(claim.fund_id, 'recovery')}:{record.id}",
            kind="recovery",
            lines=[
                Line(account_code(claim.fund_id, "cash"), debit=fund_amount),
                Line(account_code(claim.fund_id, "recoveries"), credit=fund_amount),
            ],
            posted_by=record.reported_by,
            memo=f"claim {claim.id} loan {loan_id} record {record.id}",
            reference=("fund_claim", claim.id),
        )
        recovery.entry_id = entry.id
    session.add(recovery)
    session.flush()
    return recovery


def report_recovery(
    session: Session,
    principal: Principal,
    claim_id: int,
    *,
    amount: Decimal,
    occurred_on: date | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> Recovery | None:
    """The institution reports money recovered on a claimed loan (元): recorded on the loan as a repayment
    (the marketplace's report), and the fund's share is shared back through its subscription."""
    require(principal, Permission.CLAIMS_FILE)
    claim = get_claim(session, principal, claim_id)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    if claim.status != "paid":
        raise Conflict("Recoveries are shared back once the claim is paid")
    if amount <= 0:
        raise ValidationFailed("Enter the amount recovered", field="amount")
    record = market.report_loan(
        session,
        principal,
        claim.loan_id,
        LoanReportInput(
            kind="repayment",
            amount=amount,
            occurred_on=occurred_on or today_local(),
            note=note or "recovery",
            idempotency_key=idempotency_key,
        ),
    )
    # the subscription has shared it back; without subscriptions (a bare script) share it here
    return share_back(session, claim.loan_id, record.id)


def recoveries_of(session: Session, claim: Claim) -> Sequence[Recovery]:
    """The recoveries shared back on a claim, oldest first."""
    return session.scalars(select(Recovery).where(Recovery.claim_id == claim.id).order_by(Recovery.id)).all()


def claim_coverage(session: Session, claim: Claim) -> CoveredLoan:
    """The covered loan a claim (already found for the principal) is filed on: enterprise, grade, terms."""
    coverage = session.get(CoveredLoan, claim.covered_loan_id)
    assert coverage is not None
    return coverage
