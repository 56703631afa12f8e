"""Emergency bridge loans (应急转贷, Zhengzhou): a fund lends an enterprise the money to repay its maturing
bank loan for a few days, and is repaid (with a daily fee) when the bank renews the loan.

The fund's money is in the ledger, never in these tables:

- ``bridge:<fund>:cash`` (asset, never below zero): contributions in, disbursements out, repayments in;
- ``bridge:<fund>:capital:<contributor>`` (equity): what the city (``city``) or a district (its GB/T 2260
  code) contributed;
- ``bridge:<fund>:drawn:<contributor>`` (asset): bridge money in use by enterprises of that district (or of
  no contributing district: ``city``), never below zero;
- ``bridge:<fund>:fees`` (income): the daily fees earned.

Rules: a district's enterprises may have at most half of what the district contributed in use (districts
contribute at least 2× what they draw); an enterprise at most ``max_amount_per_enterprise`` 元 in use and
``max_times_per_year`` disbursements a calendar year; a bridge loan needs its bank's confirmation that the
loan will be renewed, then the fund manager's approval. Disbursements of one fund queue on the fund's row,
so two at once cannot both pass a district's limit; the ledger refuses to take the cash below zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xinyidai.accounts.models import EnterpriseProfile, Organisation
from xinyidai.core import codes
from xinyidai.core.access import OrgKind, Permission, Principal, Role, require, sees_all_organisations
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import notify_role
from xinyidai.funds import ledger
from xinyidai.funds.ledger import Line
from xinyidai.funds.programmes_models import BridgeContribution, BridgeFund, BridgeLoan, BridgeLoanEvent
from xinyidai.market.models import Loan

CENT = Decimal("0.01")
CITY = "city"
APPLY_WINDOW_DAYS = 30  # a loan maturing within this many days may be bridged
LIVE = ("applied", "confirmed", "approved", "in_use")

STATE_LABELS: Mapping[str, str] = {
    "applied": N_("Waiting for the bank"),
    "confirmed": N_("Bank confirmed renewal"),
    "declined": N_("Bank declined"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "in_use": N_("In use"),
    "repaid": N_("Repaid"),
}
ACTION_LABELS: Mapping[str, str] = {
    "confirm": N_("confirm the renewal"),
    "decline": N_("decline"),
    "approve": N_("approve"),
    "reject": N_("reject"),
    "withdraw": N_("withdraw"),
    "disburse": N_("disburse"),
    "repay": N_("record the repayment"),
}
# state -> {action: next state}
BRIDGE: Mapping[str, Mapping[str, str]] = {
    "applied": {"confirm": "confirmed", "decline": "declined", "withdraw": "withdrawn"},
    "confirmed": {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"},
    "approved": {"disburse": "in_use", "withdraw": "withdrawn"},
    "in_use": {"repay": "repaid"},
}


def next_state(state: str, action: str) -> str:
    """The state after ``action``; IllegalTransition (nothing changes) if the move is not allowed."""
    target = BRIDGE.get(state, {}).get(action)
    if target is None:
        raise IllegalTransition(
            "You cannot %(action_label)s now: it is %(state_label)s",
            action_label=ACTION_LABELS.get(action, action),
            state_label=STATE_LABELS.get(state, state),
        )
    return target


def allowed_actions(state: str) -> list[str]:
    return list(BRIDGE.get(state, {}))


def _cash(fund_id: int) -> str:
    return f"bridge:{fund_id}:cash"


def _capital(fund_id: int, contributor: str) -> str:
    return f"bridge:{fund_id}:capital:{contributor}"


def _drawn(fund_id: int, contributor: str) -> str:
    return f"bridge:{fund_id}:drawn:{contributor}"


def _fees(fund_id: int) -> str:
    return f"bridge:{fund_id}:fees"


def _money(value: Decimal, field_name: str) -> Decimal:
    if value <= 0 or value != value.quantize(CENT):
        raise ValidationFailed("Enter an amount in yuan above zero", field=field_name)
    return value


# ------------------------------------------------------------------------------------------- funds


def create_fund(
    session: Session,
    principal: Principal,
    *,
    name: str,
    daily_fee_per_mille: Decimal,
    max_amount_per_enterprise: Decimal,
    max_times_per_year: int = 3,
    max_days: int = 15,
) -> BridgeFund:
    """Set up a bridge fund of the fund manager's department and open its ledger accounts.

    Args:
        daily_fee_per_mille: the fee, ‰ of the amount per calendar day used (Zhengzhou: about 0.1 ‰).
        max_amount_per_enterprise: 元 one enterprise may have in use at once.
    """
    require(principal, Permission.FUNDS_MANAGE)
    if not name.strip():
        raise ValidationFailed("Enter a name", field="name")
    if not Decimal(0) <= daily_fee_per_mille <= Decimal(10):
        raise ValidationFailed("The daily fee is between 0 and 10 ‰", field="daily_fee_per_mille")
    _money(max_amount_per_enterprise, "max_amount_per_enterprise")
    if not 1 <= max_times_per_year <= 52:
        raise ValidationFailed("Between 1 and 52 times a year", field="max_times_per_year")
    if not 1 <= max_days <= 90:
        raise ValidationFailed("Between 1 and 90 days", field="max_days")
    department = session.get(Organisation, principal.organisation_id)
    fund = BridgeFund(
        department_id=principal.organisation_id,
        name=name.strip(),
        region_code=(department.region_code if department else "") or "",
        daily_fee_per_mille=daily_fee_per_mille,
        max_days=max_days,
        max_amount_per_enterprise=max_amount_per_enterprise,
        max_times_per_year=max_times_per_year,
        created_by=principal.username,
    )
    session.add(fund)
    session.flush()
    ledger.open_account(
        session, _cash(fund.id), f"{fund.name} 银行存款", "asset", owner_type="bridge_fund", owner_id=fund.id
    )
    ledger.open_account(
        session,
        _fees(fund.id),
        f"{fund.name} 转贷服务费收入",
        "income",
        owner_type="bridge_fund",
        owner_id=fund.id,
    )
    _contributor_accounts(session, fund, CITY)
    return fund


def _contributor_name(contributor: str) -> str:
    if contributor == CITY:
        return "市级"
    try:
        return codes.region_name(contributor)
    except (KeyError, ValueError, LookupError):
        return contributor


def _contributor_accounts(session: Session, fund: BridgeFund, contributor: str) -> None:
    name = _contributor_name(contributor)
    ledger.open_account(
        session,
        _capital(fund.id, contributor),
        f"{fund.name} 出资（{name}）",
        "equity",
        owner_type="bridge_fund",
        owner_id=fund.id,
    )
    ledger.open_account(
        session,
        _drawn(fund.id, contributor),
        f"{fund.name} 在用转贷资金（{name}）",
        "asset",
        owner_type="bridge_fund",
        owner_id=fund.id,
    )


def _fund_scoped(session: Session, principal: Principal, fund_id: int) -> BridgeFund:
    fund = session.get(BridgeFund, fund_id)
    if fund is None:
        raise NotFound()
    if principal.org_kind is OrgKind.DEPARTMENT and fund.department_id != principal.organisation_id:
        raise NotFound()
    return fund


def list_funds(session: Session, principal: Principal) -> list[BridgeFund]:
    """The department's own funds; enterprises see the active funds they may apply to."""
    stmt = select(BridgeFund).order_by(BridgeFund.id)
    if principal.org_kind is OrgKind.DEPARTMENT:
        stmt = stmt.where(BridgeFund.department_id == principal.organisation_id)
    elif not sees_all_organisations(principal):
        stmt = stmt.where(BridgeFund.status == "active")
    return list(session.scalars(stmt))


def get_fund(session: Session, principal: Principal, fund_id: int) -> BridgeFund:
    require(principal, Permission.FUNDS_MANAGE)
    return _fund_scoped(session, principal, fund_id)


def contribute(
    session: Session,
    principal: Principal,
    fund_id: int,
    *,
    contributor: str,
    amount: Decimal,
    contributed_on: date | None = None,
    key: str,
) -> BridgeContribution:
    """Record money paid into the fund by the city (``"city"``) or a district (its 6-digit code).

    One ledger entry (cash ↑, the contributor's capital ↑); the same ``key`` twice records once.
    """
    require(principal, Permission.FUNDS_MANAGE)
    fund = _fund_scoped(session, principal, fund_id)
    contributor = contributor.strip()
    if contributor != CITY and not (len(contributor) == 6 and codes.is_known_region(contributor)):
        raise ValidationFailed("Choose the city or a district by its 6-digit code", field="contributor")
    _money(amount, "amount")
    day = contributed_on or today_local()
    if day > today_local():
        raise ValidationFailed("The date is in the future", field="contributed_on")
    entry_key = f"bridge:{fund.id}:contribution:{key}"
    _contributor_accounts(session, fund, contributor)
    entry = ledger.post(
        session,
        key=entry_key,
        kind="contribution",
        lines=[Line(_cash(fund.id), debit=amount), Line(_capital(fund.id, contributor), credit=amount)],
        posted_by=principal.username,
        memo=f"{_contributor_name(contributor)}出资",
        reference=("bridge_fund", fund.id),
    )
    earlier = session.scalars(
        select(BridgeContribution).where(BridgeContribution.entry_id == entry.id)
    ).first()
    if earlier is not None:
        return earlier
    row = BridgeContribution(
        fund_id=fund.id,
        contributor=contributor,
        contributor_name=_contributor_name(contributor),
        amount=amount,
        contributed_on=day,
        entry_id=entry.id,
        recorded_by=principal.username,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ContributorPosition:
    """One contributor's money in the fund: contributed, in use by its enterprises, still drawable."""

    contributor: str
    name: str
    contributed: Decimal
    drawn: Decimal
    may_draw: Decimal | None  # None: the city (limited by the cash only)


@dataclass(frozen=True)
class FundPosition:
    """A bridge fund's balances, all derived from the ledger."""

    cash: Decimal
    in_use: Decimal
    fees: Decimal
    contributors: list[ContributorPosition] = field(default_factory=list)


def _contributors(session: Session, fund_id: int) -> list[str]:
    rows = session.scalars(
        select(BridgeContribution.contributor).where(BridgeContribution.fund_id == fund_id).distinct()
    )
    found = sorted(set(rows) - {CITY})
    return [CITY, *found]


def _may_draw(contributed: Decimal, drawn: Decimal) -> Decimal:
    return max(Decimal(0), (contributed / 2).quantize(CENT, rounding=ROUND_DOWN) - drawn)


def fund_position(session: Session, fund: BridgeFund) -> FundPosition:
    """Cash, money in use, fee income and each contributor's position (districts: may draw half)."""
    people = []
    in_use = Decimal(0)
    for contributor in _contributors(session, fund.id):
        contributed = ledger.balance(session, _capital(fund.id, contributor))
        drawn = ledger.balance(session, _drawn(fund.id, contributor))
        in_use += drawn
        people.append(
            ContributorPosition(
                contributor,
                _contributor_name(contributor),
                contributed,
                drawn,
                None if contributor == CITY else _may_draw(contributed, drawn),
            )
        )
    return FundPosition(
        cash=ledger.balance(session, _cash(fund.id)),
        in_use=in_use,
        fees=ledger.balance(session, _fees(fund.id)),
        contributors=people,
    )


def list_contributions(session: Session, fund: BridgeFund) -> list[BridgeContribution]:
    return list(
        session.scalars(
            select(BridgeContribution)
            .where(BridgeContribution.fund_id == fund.id)
            .order_by(BridgeContribution.id.desc())
        )
    )


# ------------------------------------------------------------------------------------ bridge loans


def loans_to_bridge(session: Session, principal: Principal) -> list[Loan]:
    """The enterprise's platform loans that mature within ``APPLY_WINDOW_DAYS`` and are still owed."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    today = today_local()
    return list(
        session.scalars(
            select(Loan)
            .where(
                Loan.enterprise_id == principal.organisation_id,
                Loan.status.in_(("current", "overdue")),
                Loan.outstanding > 0,
                Loan.maturity_on >= today,
                Loan.maturity_on <= today + timedelta(days=APPLY_WINDOW_DAYS),
            )
            .order_by(Loan.maturity_on)
        )
    )


def _in_use_by(session: Session, fund_id: int, enterprise_id: int, exclude: int | None = None) -> Decimal:
    stmt = select(func.coalesce(func.sum(BridgeLoan.amount), 0)).where(
        BridgeLoan.fund_id == fund_id,
        BridgeLoan.enterprise_id == enterprise_id,
        BridgeLoan.status.in_(LIVE),
    )
    if exclude is not None:
        stmt = stmt.where(BridgeLoan.id != exclude)
    return Decimal(session.scalar(stmt) or 0)


def _times_this_year(session: Session, fund_id: int, enterprise_id: int, year: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(BridgeLoan)
            .where(
                BridgeLoan.fund_id == fund_id,
                BridgeLoan.enterprise_id == enterprise_id,
                BridgeLoan.disbursed_on >= date(year, 1, 1),
                BridgeLoan.disbursed_on <= date(year, 12, 31),
            )
        )
        or 0
    )


def _check_enterprise_limits(
    session: Session, fund: BridgeFund, enterprise_id: int, amount: Decimal, *, on: date, exclude: int | None
) -> None:
    in_use = _in_use_by(session, fund.id, enterprise_id, exclude)
    if in_use + amount > fund.max_amount_per_enterprise:
        raise ValidationFailed(
            "An enterprise may have at most %(limit)s yuan of bridge loans at once; %(in_use)s yuan are"
            " already applied for or in use",
            field="amount",
            limit=f"{fund.max_amount_per_enterprise:,.2f}",
            in_use=f"{in_use:,.2f}",
        )
    if _times_this_year(session, fund.id, enterprise_id, on.year) >= fund.max_times_per_year:
        raise ValidationFailed(
            "An enterprise may use the fund at most %(times)s times a year",
            field="amount",
            times=fund.max_times_per_year,
        )


def apply(
    session: Session,
    principal: Principal,
    *,
    fund_id: int,
    loan_id: int,
    amount: Decimal,
    days: int,
    idempotency_key: str | None = None,
) -> BridgeLoan:
    """The enterprise applies to bridge its maturing loan; its bank is asked to confirm the renewal.

    The same idempotency key twice applies once (a double click).
    """
    require(principal, Permission.ENTERPRISE_FINANCE)
    if principal.org_kind is not OrgKind.ENTERPRISE:
        raise PermissionDenied()
    if idempotency_key:
        earlier = session.scalars(
            select(BridgeLoan).where(
                BridgeLoan.enterprise_id == principal.organisation_id,
                BridgeLoan.idempotency_key == idempotency_key,
            )
        ).first()
        if earlier is not None:
            return earlier
    fund = session.get(BridgeFund, fund_id)
    if fund is None or fund.status != "active":
        raise NotFound()
    loan = session.get(Loan, loan_id)
    if loan is None or loan.enterprise_id != principal.organisation_id:
        raise NotFound()
    today = today_local()
    if loan.status not in ("current", "overdue") or loan.outstanding <= 0:
        raise ValidationFailed("This loan is no longer owed", field="loan_id")
    if not today <= loan.maturity_on <= today + timedelta(days=APPLY_WINDOW_DAYS):
        raise ValidationFailed(
            "Only a loan maturing within %(days)s days can be bridged",
            field="loan_id",
            days=APPLY_WINDOW_DAYS,
        )
    _money(amount, "amount")
    if amount > loan.outstanding:
        raise ValidationFailed(
            "The amount is larger than the loan's outstanding %(outstanding)s yuan",
            field="amount",
            outstanding=f"{loan.outstanding:,.2f}",
        )
    if not 1 <= days <= fund.max_days:
        raise ValidationFailed("Between 1 and %(days)s days", field="days", days=fund.max_days)
    live = session.scalars(
        select(BridgeLoan.id).where(BridgeLoan.loan_id == loan.id, BridgeLoan.status.in_(LIVE))
    ).first()
    if live is not None:
        raise Conflict("This loan already has a bridge loan under way")
    _check_enterprise_limits(session, fund, principal.organisation_id, amount, on=today, exclude=None)
    org = session.get(Organisation, principal.organisation_id)
    profile = session.get(EnterpriseProfile, principal.organisation_id)
    if org is None or profile is None:
        raise NotFound()
    region = org.region_code or ""
    district = region if region in _contributors(session, fund.id) else CITY
    bridge = BridgeLoan(
        fund_id=fund.id,
        enterprise_id=org.id,
        uscc=profile.uscc,
        enterprise_name=org.name,
        district=district,
        institution_id=loan.institution_id,
        loan_id=loan.id,
        loan_maturity_on=loan.maturity_on,
        amount=amount,
        days_requested=days,
        daily_fee_per_mille=fund.daily_fee_per_mille,
        idempotency_key=idempotency_key,
    )
    session.add(bridge)
    session.flush()
    _event(session, bridge, "", "applied", principal, "")
    for role in (Role.INSTITUTION_ADMIN, Role.RISK_OFFICER):
        notify_role(
            session,
            role,
            topic="funds.bridge",
            title=N_("An enterprise asks you to confirm a loan renewal"),
            body=N_("%(enterprise)s applied for a %(amount)s yuan bridge loan to repay its loan with you."),
            params={"enterprise": org.name, "amount": f"{amount:,.2f}"},
            link=f"/institution/bridge-loans/{bridge.id}",
            organisation_id=loan.institution_id,
            key=f"bridge:{bridge.id}:applied",
        )
    return bridge


def _event(
    session: Session, bridge: BridgeLoan, before: str, after: str, principal: Principal, note: str
) -> None:
    session.add(
        BridgeLoanEvent(
            bridge_loan_id=bridge.id,
            from_status=before,
            to_status=after,
            actor_username=principal.username,
            actor_organisation_id=principal.organisation_id,
            note=note[:500],
        )
    )
    session.flush()


def _move(session: Session, bridge: BridgeLoan, action: str, principal: Principal, note: str = "") -> None:
    before = bridge.status
    bridge.status = next_state(before, action)
    bridge.updated_at = utcnow()
    _event(session, bridge, before, bridge.status, principal, note)
    if bridge.status in ("declined", "approved", "rejected", "in_use", "repaid"):
        for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF):
            notify_role(
                session,
                role,
                topic="funds.bridge",
                title=N_("Your bridge loan: %(state)s"),
                params={"state": STATE_LABELS[bridge.status]},
                link=f"/enterprise/bridge-loans/{bridge.id}",
                organisation_id=bridge.enterprise_id,
                key=f"bridge:{bridge.id}:{bridge.status}",
            )


def _locked(session: Session, bridge_id: int) -> BridgeLoan:
    bridge = session.scalars(select(BridgeLoan).where(BridgeLoan.id == bridge_id).with_for_update()).first()
    if bridge is None:
        raise NotFound()
    return bridge


def get_bridge_loan(session: Session, principal: Principal, bridge_id: int) -> BridgeLoan:
    """One bridge loan the principal may see: the enterprise's own, its bank's, its fund's department's."""
    bridge = session.get(BridgeLoan, bridge_id)
    if bridge is None or not _may_see(session, principal, bridge):
        raise NotFound()
    return bridge


def _may_see(session: Session, principal: Principal, bridge: BridgeLoan) -> bool:
    if sees_all_organisations(principal):
        return True
    if principal.org_kind is OrgKind.ENTERPRISE:
        return bridge.enterprise_id == principal.organisation_id
    if principal.org_kind is OrgKind.INSTITUTION:
        return bridge.institution_id == principal.organisation_id
    fund = session.get(BridgeFund, bridge.fund_id)
    return fund is not None and fund.department_id == principal.organisation_id


def list_bridge_loans(
    session: Session, principal: Principal, *, status: str | None = None, fund_id: int | None = None
) -> list[BridgeLoan]:
    """The bridge loans the principal may see, newest first."""
    stmt = select(BridgeLoan).order_by(BridgeLoan.id.desc())
    if principal.org_kind is OrgKind.ENTERPRISE:
        stmt = stmt.where(BridgeLoan.enterprise_id == principal.organisation_id)
    elif principal.org_kind is OrgKind.INSTITUTION:
        stmt = stmt.where(BridgeLoan.institution_id == principal.organisation_id)
    elif principal.org_kind is OrgKind.DEPARTMENT:
        own = select(BridgeFund.id).where(BridgeFund.department_id == principal.organisation_id)
        stmt = stmt.where(BridgeLoan.fund_id.in_(own))
    if status:
        stmt = stmt.where(BridgeLoan.status == status)
    if fund_id is not None:
        stmt = stmt.where(BridgeLoan.fund_id == fund_id)
    return list(session.scalars(stmt.limit(500)))


def bridge_events(session: Session, principal: Principal, bridge_id: int) -> list[BridgeLoanEvent]:
    get_bridge_loan(session, principal, bridge_id)
    return list(
        session.scalars(
            select(BridgeLoanEvent)
            .where(BridgeLoanEvent.bridge_loan_id == bridge_id)
            .order_by(BridgeLoanEvent.id)
        )
    )


def confirm_renewal(
    session: Session, principal: Principal, bridge_id: int, *, renewal_amount: Decimal, note: str = ""
) -> BridgeLoan:
    """The bank confirms it will renew the loan (at least the bridged amount) once it is repaid."""
    require(principal, Permission.CREDIT_DECIDE)
    bridge = get_bridge_loan(session, principal, bridge_id)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    bridge = _locked(session, bridge.id)
    _money(renewal_amount, "renewal_amount")
    next_state(bridge.status, "confirm")
    if renewal_amount < bridge.amount:
        raise ValidationFailed(
            "The renewal must cover at least the bridged %(amount)s yuan",
            field="renewal_amount",
            amount=f"{bridge.amount:,.2f}",
        )
    bridge.renewal_amount = renewal_amount
    bridge.bank_note = note[:500]
    _move(session, bridge, "confirm", principal, note)
    return bridge


def decline_renewal(session: Session, principal: Principal, bridge_id: int, *, note: str) -> BridgeLoan:
    """The bank will not renew the loan: the fund cannot bridge it."""
    require(principal, Permission.CREDIT_DECIDE)
    bridge = get_bridge_loan(session, principal, bridge_id)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    if not note.strip():
        raise ValidationFailed("Say why", field="note")
    bridge = _locked(session, bridge.id)
    bridge.bank_note = note[:500]
    _move(session, bridge, "decline", principal, note)
    return bridge


def _managed(session: Session, principal: Principal, bridge_id: int) -> tuple[BridgeLoan, BridgeFund]:
    require(principal, Permission.FUNDS_MANAGE)
    bridge = get_bridge_loan(session, principal, bridge_id)
    fund = _fund_scoped(session, principal, bridge.fund_id)
    return _locked(session, bridge.id), fund


def approve(session: Session, principal: Principal, bridge_id: int, *, note: str = "") -> BridgeLoan:
    """The fund manager approves a bank-confirmed application (the limits are checked again)."""
    bridge, fund = _managed(session, principal, bridge_id)
    next_state(bridge.status, "approve")
    _check_enterprise_limits(
        session, fund, bridge.enterprise_id, bridge.amount, on=today_local(), exclude=bridge.id
    )
    bridge.decision_note = note[:500]
    _move(session, bridge, "approve", principal, note)
    return bridge


def reject(session: Session, principal: Principal, bridge_id: int, *, note: str) -> BridgeLoan:
    bridge, _fund = _managed(session, principal, bridge_id)
    if not note.strip():
        raise ValidationFailed("Say why", field="note")
    bridge.decision_note = note[:500]
    _move(session, bridge, "reject", principal, note)
    return bridge


def withdraw(session: Session, principal: Principal, bridge_id: int) -> BridgeLoan:
    """The enterprise withdraws its application (before the money is paid out)."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    if principal.org_kind is not OrgKind.ENTERPRISE:
        raise PermissionDenied()
    bridge = get_bridge_loan(session, principal, bridge_id)
    bridge = _locked(session, bridge.id)
    _move(session, bridge, "withdraw", principal)
    return bridge


def disburse(session: Session, principal: Principal, bridge_id: int, *, on: date | None = None) -> BridgeLoan:
    """Pay the bridge loan into the enterprise's loan account at its bank: cash ↓, drawn ↑.

    Refused (nothing posted) if the district would draw more than half of what it contributed, the
    enterprise would pass its limits, or the cash is short (``InsufficientFunds``, also under concurrency).
    """
    bridge, fund = _managed(session, principal, bridge_id)
    next_state(bridge.status, "disburse")
    day = on or today_local()
    if day > today_local():
        raise ValidationFailed("The date is in the future", field="disbursed_on")
    # Disbursements of a fund queue here: the limits below are read after the one before committed.
    session.execute(
        update(BridgeFund)
        .where(BridgeFund.id == fund.id)
        .values(version=BridgeFund.version + 1)
        .execution_options(synchronize_session=False)
    )
    _check_enterprise_limits(session, fund, bridge.enterprise_id, bridge.amount, on=day, exclude=bridge.id)
    if bridge.district != CITY:
        contributed = ledger.balance(session, _capital(fund.id, bridge.district))
        drawn = ledger.balance(session, _drawn(fund.id, bridge.district))
        if drawn + bridge.amount > contributed / 2:
            raise ValidationFailed(
                "%(district)s may draw at most half of what it contributed: %(may)s yuan more, not"
                " %(amount)s",
                district=_contributor_name(bridge.district),
                may=f"{_may_draw(contributed, drawn):,.2f}",
                amount=f"{bridge.amount:,.2f}",
            )
    entry = ledger.post(
        session,
        key=f"bridge:{bridge.id}:disburse",
        kind="bridge_disbursement",
        lines=[
            Line(_drawn(fund.id, bridge.district), debit=bridge.amount),
            Line(_cash(fund.id), credit=bridge.amount),
        ],
        posted_by=principal.username,
        memo=f"应急转贷 {bridge.enterprise_name} 贷款 {bridge.loan_id}",
        reference=("bridge_loan", bridge.id),
    )
    bridge.disbursed_on = day
    _move(session, bridge, "disburse", principal, f"entry {entry.id}")
    return bridge


def fee_for(amount: Decimal, per_mille_per_day: Decimal, days: int) -> Decimal:
    """The fee in 元: amount × ‰ per day × days, rounded half up to the fen."""
    return (amount * per_mille_per_day / 1000 * days).quantize(CENT, rounding=ROUND_HALF_UP)


def days_used(disbursed_on: date, repaid_on: date) -> int:
    """Calendar days the money was out; a same-day return counts one day."""
    return max(1, (repaid_on - disbursed_on).days)


def record_repayment(
    session: Session, principal: Principal, bridge_id: int, *, on: date | None = None
) -> BridgeLoan:
    """The bank renewed the loan and the bridge money came back with its fee: cash ↑, drawn ↓, fees ↑."""
    bridge, fund = _managed(session, principal, bridge_id)
    next_state(bridge.status, "repay")
    assert bridge.disbursed_on is not None
    day = on or today_local()
    if day > today_local() or day < bridge.disbursed_on:
        raise ValidationFailed("The date must lie between the disbursement and today", field="repaid_on")
    used = days_used(bridge.disbursed_on, day)
    fee = fee_for(Decimal(bridge.amount), Decimal(bridge.daily_fee_per_mille), used)
    lines = [
        Line(_cash(fund.id), debit=bridge.amount + fee),
        Line(_drawn(fund.id, bridge.district), credit=bridge.amount),
    ]
    if fee > 0:
        lines.append(Line(_fees(fund.id), credit=fee))
    ledger.post(
        session,
        key=f"bridge:{bridge.id}:repay",
        kind="bridge_repayment",
        lines=lines,
        posted_by=principal.username,
        memo=f"应急转贷归还 {bridge.enterprise_name}，{used} 天，服务费 {fee}",
        reference=("bridge_loan", bridge.id),
    )
    bridge.repaid_on = day
    bridge.days_used = used
    bridge.fee = fee
    _move(session, bridge, "repay", principal)
    return bridge
