"""Interest subsidies (贴息): a department pays back part of the interest on platform loans.

A policy sets the points subsidised, the highest loan rate that qualifies and a cap per enterprise per
calendar year (Shanghai: rate ≤ 4 %, 1–1.5 points). For a period, ``compute`` reads the platform's loans
and their records and accrues, loan by loan, the interest on the outstanding balance between records:

- interest runs per night on the balance at the end of the day (a repayment on day D lowers the balance
  from D), actual days over a 360-day year (the PBoC convention for RMB loans), from disbursement to
  maturity — never past maturity, and not from the day a default is reported;
- the subsidy of a balance segment is balance × min(points, rate) % × days / 360, each segment rounded
  half up to the fen, so the working shown adds up to the amount exactly;
- an enterprise's subsidy is the sum over its loans, capped by what the cap leaves in the period's year
  after its other lists of the same policy.

Paying out a list posts one ledger entry per line (the policy's budget → the enterprise), keyed by the line:
paying twice, or two clerks at once, posts once. The budget may not go below zero.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.core.access import OrgKind, Permission, Principal, require, sees_all_organisations
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.funds import ledger
from xinyidai.funds.ledger import Line
from xinyidai.funds.programmes_models import SubsidyLine, SubsidyPolicy, SubsidyRun
from xinyidai.market.models import Loan, LoanRecord

CENT = Decimal("0.01")
YEAR_DAYS = 360
RUN_LABELS = {"computed": N_("Computed"), "paid": N_("Paid"), "discarded": N_("Discarded")}
LINE_LABELS = {"pending": N_("To be paid"), "paid": N_("Paid"), "capped": N_("Cap reached")}


def _budget(policy_id: int) -> str:
    return f"subsidy:{policy_id}:budget"


def _appropriation(policy_id: int) -> str:
    return f"subsidy:{policy_id}:appropriation"


def _paid_to(policy_id: int, enterprise_id: int) -> str:
    return f"subsidy:{policy_id}:paid:{enterprise_id}"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------- policies


def create_policy(
    session: Session,
    principal: Principal,
    *,
    name: str,
    points: Decimal,
    max_loan_rate: Decimal,
    cap_per_enterprise_year: Decimal,
    starts_on: date,
    ends_on: date,
) -> SubsidyPolicy:
    """A department's subsidy policy; opens its budget accounts.

    Args:
        points: percentage points of annual interest subsidised (e.g. 1.5).
        max_loan_rate: the highest annual rate (%) a loan may carry to qualify (e.g. 4).
        cap_per_enterprise_year: 元 one enterprise may receive a calendar year.
    """
    require(principal, Permission.SUBSIDIES_MANAGE)
    if not name.strip():
        raise ValidationFailed("Enter a name", field="name")
    if not Decimal(0) < max_loan_rate <= Decimal(24):
        raise ValidationFailed("The highest loan rate is between 0 and 24 %", field="max_loan_rate")
    if not Decimal(0) < points <= max_loan_rate:
        raise ValidationFailed(
            "The points subsidised are above zero and at most the highest loan rate", field="points"
        )
    if cap_per_enterprise_year <= 0 or cap_per_enterprise_year != _cents(cap_per_enterprise_year):
        raise ValidationFailed("Enter an amount in yuan above zero", field="cap_per_enterprise_year")
    if ends_on < starts_on:
        raise ValidationFailed("The end is before the start", field="ends_on")
    policy = SubsidyPolicy(
        department_id=principal.organisation_id,
        name=name.strip(),
        points=points,
        max_loan_rate=max_loan_rate,
        cap_per_enterprise_year=cap_per_enterprise_year,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=principal.username,
    )
    session.add(policy)
    session.flush()
    ledger.open_account(
        session,
        _budget(policy.id),
        f"{policy.name} 贴息资金",
        "asset",
        owner_type="subsidy_policy",
        owner_id=policy.id,
    )
    ledger.open_account(
        session,
        _appropriation(policy.id),
        f"{policy.name} 预算安排",
        "equity",
        owner_type="subsidy_policy",
        owner_id=policy.id,
    )
    return policy


def list_policies(session: Session, principal: Principal) -> list[SubsidyPolicy]:
    require(principal, Permission.SUBSIDIES_MANAGE)
    stmt = select(SubsidyPolicy).order_by(SubsidyPolicy.id.desc())
    if not sees_all_organisations(principal):
        stmt = stmt.where(SubsidyPolicy.department_id == principal.organisation_id)
    return list(session.scalars(stmt))


def get_policy(session: Session, principal: Principal, policy_id: int) -> SubsidyPolicy:
    require(principal, Permission.SUBSIDIES_MANAGE)
    policy = session.get(SubsidyPolicy, policy_id)
    if policy is None or (
        not sees_all_organisations(principal) and policy.department_id != principal.organisation_id
    ):
        raise NotFound()
    return policy


def fund_budget(
    session: Session, principal: Principal, policy_id: int, *, amount: Decimal, key: str
) -> Decimal:
    """Put money into the policy's budget (posted once per ``key``); returns the budget balance."""
    policy = get_policy(session, principal, policy_id)
    if principal.org_kind is not OrgKind.DEPARTMENT:
        raise NotFound()
    if amount <= 0 or amount != _cents(amount):
        raise ValidationFailed("Enter an amount in yuan above zero", field="amount")
    ledger.post(
        session,
        key=f"subsidy:{policy.id}:budget:{key}",
        kind="contribution",
        lines=[Line(_budget(policy.id), debit=amount), Line(_appropriation(policy.id), credit=amount)],
        posted_by=principal.username,
        memo=f"{policy.name} 预算拨入",
        reference=("subsidy_policy", policy.id),
    )
    return ledger.balance(session, _budget(policy.id))


def budget_balance(session: Session, policy: SubsidyPolicy) -> Decimal:
    return ledger.balance(session, _budget(policy.id))


# ------------------------------------------------------------------------------------ computation


@dataclass(frozen=True)
class Segment:
    """A stretch of days at one outstanding balance: ``start`` inclusive, ``end`` exclusive."""

    start: date
    end: date
    balance: Decimal
    interest: Decimal
    subsidy: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def accrue(
    *,
    amount: Decimal,
    rate: Decimal,
    points: Decimal,
    disbursed_on: date,
    maturity_on: date,
    records: Sequence[tuple[date, str, Decimal]],
    period_start: date,
    period_end: date,
) -> list[Segment]:
    """The balance segments of one loan inside ``[period_start, period_end]`` with interest and subsidy.

    ``records``: (date, kind, amount) of the loan, in order; repayments (and recoveries) lower the balance
    from their date, a default stops the accrual from its date. Pure: no database.
    """
    window_start = max(period_start, disbursed_on)
    window_end = min(period_end + timedelta(days=1), maturity_on)
    subsidised = min(points, rate)
    changes: list[tuple[date, Decimal | None]] = []
    for day, kind, value in records:
        if kind in ("repayment", "recovered"):
            changes.append((day, Decimal(value)))
        elif kind == "default":
            changes.append((day, None))
    balance = Decimal(amount)
    segments: list[Segment] = []
    cursor = disbursed_on
    stopped = False
    for day, change in [*sorted(changes, key=lambda c: c[0]), (date.max, Decimal(0))]:
        start, end = max(cursor, window_start), min(day, window_end)
        if end > start and balance > 0 and not stopped:
            days = (end - start).days
            segments.append(
                Segment(
                    start,
                    end,
                    balance,
                    _cents(balance * rate / 100 * days / YEAR_DAYS),
                    _cents(balance * subsidised / 100 * days / YEAR_DAYS),
                )
            )
        if day == date.max or day >= window_end:
            break
        cursor = max(cursor, day)
        if change is None:
            stopped = True
        else:
            balance = max(Decimal(0), balance - change)
    return segments


def _check_period(policy: SubsidyPolicy, start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed("The end is before the start", field="period_end")
    if start < policy.starts_on or end > policy.ends_on:
        raise ValidationFailed(
            "The period must lie within the policy's %(start)s – %(end)s",
            field="period_start",
            start=policy.starts_on.isoformat(),
            end=policy.ends_on.isoformat(),
        )
    if end >= today_local():
        raise ValidationFailed("The period must have ended (up to yesterday)", field="period_end")


def compute(
    session: Session, principal: Principal, policy_id: int, *, period_start: date, period_end: date
) -> SubsidyRun:
    """Compute the subsidy list of a period from the platform's loans and their records.

    Raises:
        Conflict: a list of this policy already covers part of the period (discard it first).
    """
    policy = get_policy(session, principal, policy_id)
    _check_period(policy, period_start, period_end)
    overlapping = session.scalars(
        select(SubsidyRun.id).where(
            SubsidyRun.policy_id == policy.id,
            SubsidyRun.status != "discarded",
            SubsidyRun.period_start <= period_end,
            SubsidyRun.period_end >= period_start,
        )
    ).first()
    if overlapping is not None:
        raise Conflict("A list of this policy already covers part of this period")
    loans = list(
        session.scalars(
            select(Loan)
            .where(
                Loan.rate <= policy.max_loan_rate,
                Loan.disbursed_on <= period_end,
                Loan.maturity_on > period_start,
            )
            .order_by(Loan.enterprise_id, Loan.id)
        )
    )
    records: dict[int, list[tuple[date, str, Decimal]]] = {}
    ids = [loan.id for loan in loans]
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for r in session.scalars(
            select(LoanRecord)
            .where(LoanRecord.loan_id.in_(chunk), LoanRecord.occurred_on <= period_end)
            .order_by(LoanRecord.occurred_on, LoanRecord.id)
        ):
            records.setdefault(r.loan_id, []).append((r.occurred_on, r.kind, Decimal(r.amount)))
    run = SubsidyRun(
        policy_id=policy.id, period_start=period_start, period_end=period_end, computed_by=principal.username
    )
    session.add(run)
    session.flush()
    per_enterprise: dict[int, list[dict[str, Any]]] = {}
    usccs: dict[int, str] = {}
    for loan in loans:
        segments = accrue(
            amount=Decimal(loan.amount),
            rate=Decimal(loan.rate),
            points=Decimal(policy.points),
            disbursed_on=loan.disbursed_on,
            maturity_on=loan.maturity_on,
            records=records.get(loan.id, []),
            period_start=period_start,
            period_end=period_end,
        )
        if not segments:
            continue
        usccs[loan.enterprise_id] = loan.uscc
        per_enterprise.setdefault(loan.enterprise_id, []).append(
            {
                "loan_id": loan.id,
                "contract_no": loan.contract_no,
                "rate": str(loan.rate),
                "points": str(min(Decimal(policy.points), Decimal(loan.rate))),
                "segments": [
                    {
                        "from": s.start.isoformat(),
                        "to": (s.end - timedelta(days=1)).isoformat(),
                        "days": s.days,
                        "balance": str(s.balance),
                        "interest": str(s.interest),
                        "subsidy": str(s.subsidy),
                    }
                    for s in segments
                ],
                "interest": str(sum((s.interest for s in segments), Decimal(0))),
                "subsidy": str(sum((s.subsidy for s in segments), Decimal(0))),
            }
        )
    names = {
        row.id: row.name
        for row in session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(list(per_enterprise)))
        )
    }
    year = period_end.year
    total = Decimal(0)
    count = 0
    for enterprise_id, working in per_enterprise.items():
        interest = sum((Decimal(w["interest"]) for w in working), Decimal(0))
        computed = sum((Decimal(w["subsidy"]) for w in working), Decimal(0))
        if computed <= 0:
            continue
        before = _granted_in_year(session, policy.id, enterprise_id, year, exclude_run=run.id)
        amount = max(Decimal(0), min(computed, Decimal(policy.cap_per_enterprise_year) - before))
        session.add(
            SubsidyLine(
                run_id=run.id,
                enterprise_id=enterprise_id,
                uscc=usccs[enterprise_id],
                enterprise_name=names.get(enterprise_id, ""),
                loans=len(working),
                interest=interest,
                computed=computed,
                amount=amount,
                working=[{"cap_before": str(before), "year": year}, *working],
                status="pending" if amount > 0 else "capped",
            )
        )
        total += amount
        count += 1
    run.total = total
    run.enterprises = count
    session.flush()
    return run


def _granted_in_year(
    session: Session, policy_id: int, enterprise_id: int, year: int, exclude_run: int
) -> Decimal:
    """What the enterprise was granted by other live lists of the policy ending in ``year``."""
    granted = session.scalar(
        select(func.coalesce(func.sum(SubsidyLine.amount), 0))
        .join(SubsidyRun, SubsidyRun.id == SubsidyLine.run_id)
        .where(
            SubsidyRun.policy_id == policy_id,
            SubsidyRun.id != exclude_run,
            SubsidyRun.status != "discarded",
            SubsidyRun.period_end >= date(year, 1, 1),
            SubsidyRun.period_end <= date(year, 12, 31),
            SubsidyLine.enterprise_id == enterprise_id,
        )
    )
    return Decimal(granted or 0)


def list_runs(session: Session, principal: Principal, policy_id: int) -> list[SubsidyRun]:
    policy = get_policy(session, principal, policy_id)
    return list(
        session.scalars(
            select(SubsidyRun).where(SubsidyRun.policy_id == policy.id).order_by(SubsidyRun.id.desc())
        )
    )


def get_run(session: Session, principal: Principal, run_id: int) -> tuple[SubsidyRun, SubsidyPolicy]:
    run = session.get(SubsidyRun, run_id)
    if run is None:
        raise NotFound()
    return run, get_policy(session, principal, run.policy_id)


def run_lines(session: Session, run: SubsidyRun) -> list[SubsidyLine]:
    return list(
        session.scalars(
            select(SubsidyLine)
            .where(SubsidyLine.run_id == run.id)
            .order_by(SubsidyLine.amount.desc(), SubsidyLine.id)
        )
    )


def discard(session: Session, principal: Principal, run_id: int) -> SubsidyRun:
    """Set aside a computed list that was not paid (to compute it again)."""
    run, _policy = get_run(session, principal, run_id)
    run = session.scalars(select(SubsidyRun).where(SubsidyRun.id == run.id).with_for_update()).one()
    if run.status != "computed" or any(line.entry_id is not None for line in run_lines(session, run)):
        raise IllegalTransition("Only a list that was not paid can be discarded")
    run.status = "discarded"
    session.flush()
    return run


def pay_out(session: Session, principal: Principal, run_id: int) -> SubsidyRun:
    """Pay every line of the list: one ledger entry per line, budget → enterprise, posted once.

    Paying a paid list again changes nothing. If the budget is short, nothing is paid
    (``InsufficientFunds``; the caller's unit of work rolls back).
    """
    run, policy = get_run(session, principal, run_id)
    if principal.org_kind is not OrgKind.DEPARTMENT:
        raise NotFound()
    run = session.scalars(select(SubsidyRun).where(SubsidyRun.id == run.id).with_for_update()).one()
    if run.status == "paid":
        return run
    if run.status != "computed":
        raise IllegalTransition("Only a computed list can be paid")
    now = utcnow()
    for line in run_lines(session, run):
        if line.status == "paid" or line.amount <= 0:
            continue
        ledger.open_account(
            session,
            _paid_to(policy.id, line.enterprise_id),
            f"{policy.name} 贴息支出（{line.enterprise_name}）",
            "expense",
            owner_type="enterprise",
            owner_id=line.enterprise_id,
        )
        entry = ledger.post(
            session,
            key=f"subsidy:line:{line.id}",
            kind="subsidy",
            lines=[
                Line(_paid_to(policy.id, line.enterprise_id), debit=Decimal(line.amount)),
                Line(_budget(policy.id), credit=Decimal(line.amount)),
            ],
            posted_by=principal.username,
            memo=f"{policy.name} {run.period_start}–{run.period_end} {line.enterprise_name}",
            reference=("subsidy_line", line.id),
        )
        line.entry_id = entry.id
        line.status = "paid"
        line.paid_at = now
    run.status = "paid"
    run.paid_by = principal.username
    run.paid_at = now
    session.flush()
    return run


EXPORT_HEADERS = (
    N_("Credit code"),
    N_("Enterprise"),
    N_("Loans"),
    N_("Interest accrued (yuan)"),
    N_("Subsidy computed (yuan)"),
    N_("Subsidy after the cap (yuan)"),
    N_("Status"),
)
WORKING_HEADERS = (
    N_("Credit code"),
    N_("Enterprise"),
    N_("Contract"),
    N_("Annual rate"),
    N_("Points subsidised"),
    N_("From"),
    N_("To"),
    N_("Days"),
    N_("Outstanding (yuan)"),
    N_("Interest (yuan)"),
    N_("Subsidy (yuan)"),
)


def export_xlsx(lines: Iterable[SubsidyLine], translate: Callable[[str], str]) -> bytes:
    """The list as an Excel workbook: one sheet per enterprise line, one with the working per segment."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = translate(N_("Subsidy list"))
    summary.append([translate(h) for h in EXPORT_HEADERS])
    detail = book.create_sheet(translate(N_("Working")))
    detail.append([translate(h) for h in WORKING_HEADERS])
    for sheet in (summary, detail):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 22
        sheet.column_dimensions["B"].width = 36
    for line in lines:
        summary.append(
            [
                line.uscc,
                line.enterprise_name,
                line.loans,
                float(line.interest),
                float(line.computed),
                float(line.amount),
                translate(LINE_LABELS.get(line.status, line.status)),
            ]
        )
        for loan in line.working:
            for s in loan.get("segments", []):
                detail.append(
                    [
                        line.uscc,
                        line.enterprise_name,
                        loan["contract_no"],
                        float(loan["rate"]),
                        float(loan["points"]),
                        s["from"],
                        s["to"],
                        s["days"],
                        float(s["balance"]),
                        float(s["interest"]),
                        float(s["subsidy"]),
                    ]
                )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
