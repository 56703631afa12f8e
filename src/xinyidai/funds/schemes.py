"""Risk-sharing funds and their schemes: set up a fund, record contributions and fees, decide which
approved loans it covers, and read its figures (capital, cash, covered balance against the leverage limit,
exposure by grade).

Rules (issue: public money; Weihai's 信保基金 in DOMAIN.md):
- a fund's money is in the ledger: ``guarantee_fund:<id>:cash`` (asset, never below zero), ``…:capital``
  (contributors' equity), ``…:payouts`` (expense), ``…:recoveries`` and ``…:fees`` (income);
- covered exposure is not money: it is the table of covered loans, and the covered balance is their
  outstanding principal (the approved amount until disbursed);
- a loan joins a fund when its application is approved, if the fund covers its product, has a tier for its
  grade, the amount and collateral fit the tier, and the covered balance stays within leverage × capital.
  A refusal is recorded with its reason; it never stops the bank's approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, false, func, or_, select, update
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Permission, Principal, require, sees_all_organisations
from xinyidai.core.errors import NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.funds import ledger
from xinyidai.funds.ledger import Line
from xinyidai.funds.models import JournalEntry, JournalLine, LedgerAccount
from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund, RiskScheme
from xinyidai.market.models import Application, Loan, Product

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ACCOUNTS: dict[str, tuple[str, str]] = {  # key → (kind, name suffix)
    "cash": ("asset", "银行存款"),
    "capital": ("equity", "出资"),
    "payouts": ("expense", "代偿支出"),
    "recoveries": ("income", "追偿收入"),
    "fees": ("income", "担保费收入"),
}
ACCOUNT_LABELS: dict[str, str] = {
    "cash": N_("Cash"),
    "capital": N_("Capital contributed"),
    "payouts": N_("Claims paid"),
    "recoveries": N_("Recoveries"),
    "fees": N_("Fees"),
}
KIND_LABELS: dict[str, str] = {
    "guarantee": N_("Credit guarantee fund"),
    "compensation": N_("Risk compensation pool"),
}
COVERAGE_LABELS: dict[str, str] = {
    "covered": N_("Covered"),
    "claimed": N_("Claim under review"),
    "paid": N_("Claim paid"),
    "refused": N_("Not covered"),
}
LIVE = ("covered", "claimed")  # coverage that still counts towards the covered balance
MAX_LEVERAGE = Decimal(100)
S = TypeVar("S", bound=Select[Any])


def money(value: Any) -> Decimal:
    """A database sum or a product of shares as 元 with two decimals (half up)."""
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def share(amount: Decimal, pct: Decimal) -> Decimal:
    """``pct`` % of ``amount`` 元, to the fen (half up)."""
    return (Decimal(amount) * Decimal(pct) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Tier:
    """One tier of a scheme to set up: grade, the largest amount (元, None: any), the most collateral (% of
    the loan), the fund's and a third party's share of a loss (%)."""

    grade: str
    amount_max: Decimal | None
    collateral_max_pct: Decimal
    fund_pct: Decimal
    third_party_pct: Decimal = Decimal(0)
    third_party_id: int | None = None


# Weihai 信保基金: A ≤ 5 M unsecured 80:20; B collateral ≤ 70 % 60:40; C ≤ 100 % 40:60; D not covered.
WEIHAI_SCHEME: tuple[Tier, ...] = (
    Tier("A", Decimal(5_000_000), Decimal(0), Decimal(80)),
    Tier("B", Decimal(5_000_000), Decimal(70), Decimal(60)),
    Tier("C", Decimal(5_000_000), Decimal(100), Decimal(40)),
)


def account_code(fund_id: int, key: str) -> str:
    """The ledger code of one of a fund's accounts (``cash``, ``capital``, ``payouts``, …)."""
    return f"guarantee_fund:{fund_id}:{key}"


# ----------------------------------------------------------------------------------------- scoping


def scoped_funds(stmt: S, principal: Principal) -> S:
    """Restrict a query joined to ``GuaranteeFund`` to the funds the principal may see: the funds its
    department manages; the operator's staff read across."""
    if sees_all_organisations(principal):
        return stmt
    if principal.org_kind is OrgKind.DEPARTMENT:
        return stmt.where(GuaranteeFund.manager_id == principal.organisation_id)
    return stmt.where(false())


def get_fund(session: Session, principal: Principal, fund_id: int, *, manage: bool = False) -> GuaranteeFund:
    """One fund the principal may read (``manage``: may run), else NotFound."""
    require(principal, Permission.FUNDS_MANAGE if manage else Permission.FUNDS_READ)
    fund = session.scalars(scoped_funds(select(GuaranteeFund).where(GuaranteeFund.id == fund_id), principal))
    found = fund.first()
    if found is None:
        raise NotFound()
    if manage and found.manager_id != principal.organisation_id:
        raise NotFound()
    return found


def list_funds(session: Session, principal: Principal) -> Sequence[GuaranteeFund]:
    """The funds the principal may read, oldest first."""
    require(principal, Permission.FUNDS_READ)
    return session.scalars(scoped_funds(select(GuaranteeFund), principal).order_by(GuaranteeFund.id)).all()


def schemes_of(session: Session, fund_id: int) -> Sequence[RiskScheme]:
    """The fund's tiers, by grade."""
    return session.scalars(
        select(RiskScheme).where(RiskScheme.fund_id == fund_id).order_by(RiskScheme.grade)
    ).all()


# ----------------------------------------------------------------------------------------- set-up


def _check_tiers(tiers: Sequence[Tier]) -> None:
    grades = [t.grade for t in tiers]
    if len(set(grades)) != len(grades):
        raise ValidationFailed("Each grade may have only one tier", field="schemes")
    for tier in tiers:
        for value in (tier.collateral_max_pct, tier.fund_pct, tier.third_party_pct):
            if not Decimal(0) <= value <= HUNDRED:
                raise ValidationFailed("Percentages lie between 0 and 100", field="schemes")
        if tier.fund_pct + tier.third_party_pct > HUNDRED:
            raise ValidationFailed(
                "For grade %(grade)s the fund's and the third party's shares exceed 100%%",
                field="schemes",
                grade=tier.grade,
            )
        if tier.amount_max is not None and tier.amount_max <= 0:
            raise ValidationFailed("The largest amount must be positive", field="schemes")
        if tier.third_party_pct > 0 and tier.third_party_id is None:
            raise ValidationFailed("Name the third party that takes a share", field="schemes")


def create_fund(
    session: Session,
    principal: Principal,
    *,
    name: str,
    leverage: Decimal,
    kind: str = "guarantee",
    product_ids: Sequence[int] = (),
    description: str = "",
    tiers: Sequence[Tier] = WEIHAI_SCHEME,
) -> GuaranteeFund:
    """Set up a fund managed by the principal's department, with its scheme and ledger accounts.

    ``leverage``: the covered balance may reach this multiple of the capital contributed. ``product_ids``:
    the loan products covered (empty: every product). ``tiers``: Weihai's scheme unless given.
    """
    require(principal, Permission.FUNDS_MANAGE)
    if principal.org_kind is not OrgKind.DEPARTMENT:
        raise PermissionDenied()
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Give the fund a name of at most 200 characters", field="name")
    if kind not in KIND_LABELS:
        raise ValidationFailed("Choose the kind of fund", field="kind")
    if not Decimal(0) < leverage <= MAX_LEVERAGE:
        raise ValidationFailed(
            "The leverage limit is a multiple above 0 and at most %(max)s", field="leverage", max=MAX_LEVERAGE
        )
    products = sorted(set(product_ids))
    if products:
        known = set(session.scalars(select(Product.id).where(Product.id.in_(products))))
        missing = [p for p in products if p not in known]
        if missing:
            raise ValidationFailed("No product No. %(id)s", field="product_ids", id=missing[0])
    _check_tiers(tiers)
    fund = GuaranteeFund(
        name=name,
        kind=kind,
        manager_id=principal.organisation_id,
        leverage=leverage,
        product_ids=products,
        description=description.strip()[:500],
        created_by=principal.username,
    )
    session.add(fund)
    session.flush()
    for tier in tiers:
        session.add(
            RiskScheme(
                fund_id=fund.id,
                grade=tier.grade,
                amount_max=tier.amount_max,
                collateral_max_pct=tier.collateral_max_pct,
                fund_pct=tier.fund_pct,
                third_party_pct=tier.third_party_pct,
                third_party_id=tier.third_party_id,
            )
        )
    for key, (account_kind, suffix) in ACCOUNTS.items():
        ledger.open_account(
            session,
            account_code(fund.id, key),
            f"{name} {suffix}",
            account_kind,
            owner_type="guarantee_fund",
            owner_id=fund.id,
        )
    session.flush()
    return fund


def _positive(amount: Decimal, field_name: str) -> Decimal:
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValidationFailed("Enter a positive amount in yuan, at most two decimals", field=field_name)
    return amount


def contribute(
    session: Session,
    principal: Principal,
    fund_id: int,
    *,
    amount: Decimal,
    contributor: str,
    key: str,
    contributor_id: int | None = None,
) -> JournalEntry:
    """Record a capital contribution (元) to the fund: fund cash ← contributor's equity, posted once per
    ``key`` (a resent form posts once)."""
    fund = get_fund(session, principal, fund_id, manage=True)
    _positive(amount, "amount")
    contributor = contributor.strip()
    if not contributor:
        raise ValidationFailed("Say who contributes", field="contributor")
    return ledger.post(
        session,
        key=f"{account_code(fund.id, 'contribution')}:{key}",
        kind="contribution",
        lines=[
            Line(account_code(fund.id, "cash"), debit=amount),
            Line(account_code(fund.id, "capital"), credit=amount),
        ],
        posted_by=principal.username,
        memo=contributor[:200],
        reference=("organisation", contributor_id) if contributor_id else ("guarantee_fund", fund.id),
    )


def record_fee(
    session: Session, principal: Principal, fund_id: int, *, amount: Decimal, memo: str, key: str
) -> JournalEntry:
    """Record a guarantee fee (元) the fund received: cash ← fee income, once per ``key``."""
    fund = get_fund(session, principal, fund_id, manage=True)
    _positive(amount, "amount")
    return ledger.post(
        session,
        key=f"{account_code(fund.id, 'fee')}:{key}",
        kind="fee",
        lines=[
            Line(account_code(fund.id, "cash"), debit=amount),
            Line(account_code(fund.id, "fees"), credit=amount),
        ],
        posted_by=principal.username,
        memo=memo[:500],
        reference=("guarantee_fund", fund.id),
    )


# ----------------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class GradeExposure:
    """Covered loans of one grade: how many, their covered balance and the fund's share of it (元)."""

    grade: str
    loans: int
    balance: Decimal
    fund_share: Decimal


@dataclass(frozen=True)
class FundFigures:
    """A fund's figures now (元): from the ledger and from the covered loans."""

    capital: Decimal
    cash: Decimal
    payouts: Decimal
    recoveries: Decimal
    fees: Decimal
    covered_balance: Decimal
    limit: Decimal
    exposure: list[GradeExposure] = field(default_factory=list)

    @property
    def headroom(self) -> Decimal:
        return max(Decimal(0), self.limit - self.covered_balance)

    @property
    def used_pct(self) -> Decimal:
        if self.limit <= 0:
            return Decimal(0)
        return (self.covered_balance * HUNDRED / self.limit).quantize(Decimal("0.1"))

    @property
    def fund_exposure(self) -> Decimal:
        return sum((g.fund_share for g in self.exposure), Decimal(0))


def _balance_expr() -> Any:
    return case((Loan.id.is_(None), CoveredLoan.amount), else_=Loan.outstanding)


def _live_coverage(fund_id: int) -> Any:
    return and_(
        CoveredLoan.fund_id == fund_id,
        CoveredLoan.status.in_(LIVE),
        or_(
            and_(Loan.id.is_(None), Application.status == "approved"),
            Loan.status.in_(("current", "overdue", "defaulted")),
        ),
    )


def covered_balance(session: Session, fund_id: int) -> Decimal:
    """The outstanding principal (元) of the loans the fund covers (approved amount until disbursed)."""
    total = session.scalar(
        select(func.coalesce(func.sum(_balance_expr()), 0))
        .select_from(CoveredLoan)
        .join(Application, Application.id == CoveredLoan.application_id)
        .outerjoin(Loan, Loan.id == CoveredLoan.loan_id)
        .where(_live_coverage(fund_id))
    )
    return money(total)


def exposure_by_grade(session: Session, fund_id: int) -> list[GradeExposure]:
    """The covered balance by grade, and the fund's share of it at each loan's terms."""
    rows = session.execute(
        select(CoveredLoan.grade, CoveredLoan.fund_pct, func.count(), func.sum(_balance_expr()))
        .select_from(CoveredLoan)
        .join(Application, Application.id == CoveredLoan.application_id)
        .outerjoin(Loan, Loan.id == CoveredLoan.loan_id)
        .where(_live_coverage(fund_id))
        .group_by(CoveredLoan.grade, CoveredLoan.fund_pct)
    ).all()
    by_grade: dict[str, tuple[int, Decimal, Decimal]] = {}
    for grade, pct, count, total in rows:
        loans, balance, fund_share = by_grade.get(grade, (0, Decimal(0), Decimal(0)))
        by_grade[grade] = (loans + count, balance + money(total), fund_share + share(money(total), pct))
    return [GradeExposure(g, *by_grade[g]) for g in sorted(by_grade)]


def figures(session: Session, fund: GuaranteeFund) -> FundFigures:
    """Capital, cash, payouts, recoveries and fees from the ledger; covered balance and limit."""
    balances = {key: ledger.balance(session, account_code(fund.id, key)) for key in ACCOUNTS}
    return FundFigures(
        capital=balances["capital"],
        cash=balances["cash"],
        payouts=balances["payouts"],
        recoveries=balances["recoveries"],
        fees=balances["fees"],
        covered_balance=covered_balance(session, fund.id),
        limit=money(balances["capital"] * Decimal(fund.leverage)),
        exposure=exposure_by_grade(session, fund.id),
    )


# ----------------------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Refusal:
    """Why a fund does not cover a loan: an English message id and its parameters."""

    message: str
    params: dict[str, Any]


def _collateral_value(product: Product, amount: Decimal) -> Decimal:
    # The platform does not know what a secured loan's collateral is worth: a secured product counts as
    # fully secured (100 %) unless the fund manager states the value when covering by hand.
    return Decimal(0) if product.collateral == "none" else Decimal(amount)


def _lock_fund(session: Session, fund: GuaranteeFund) -> None:
    # The lock first, then the covered balance is read: concurrent approvals queue here.
    session.execute(
        update(GuaranteeFund)
        .where(GuaranteeFund.id == fund.id)
        .values(version=GuaranteeFund.version + 1)
        .execution_options(synchronize_session=False)
    )


def evaluate(
    session: Session, fund: GuaranteeFund, grade: str, amount: Decimal, collateral_value: Decimal
) -> RiskScheme | Refusal:
    """The tier a loan joins, or why it does not; locks the fund before reading its covered balance."""
    tiers = {s.grade: s for s in schemes_of(session, fund.id)}
    tier = tiers.get(grade or "")
    if tier is None:
        return Refusal(N_("Grade %(grade)s is not covered by this fund"), {"grade": grade or "—"})
    if tier.amount_max is not None and amount > tier.amount_max:
        return Refusal(
            N_("The loan of %(amount)s yuan is above the %(max)s yuan this fund covers for grade %(grade)s"),
            {"amount": f"{amount:,.2f}", "max": f"{tier.amount_max:,.2f}", "grade": grade},
        )
    pct = (collateral_value * HUNDRED / amount).quantize(Decimal("0.01")) if amount > 0 else Decimal(0)
    if pct > tier.collateral_max_pct:
        return Refusal(
            N_("Collateral of %(pct)s%% of the loan is above the %(max)s%% allowed for grade %(grade)s"),
            {"pct": f"{pct:.0f}", "max": f"{tier.collateral_max_pct:.0f}", "grade": grade},
        )
    _lock_fund(session, fund)
    capital = ledger.balance(session, account_code(fund.id, "capital"))
    limit = money(capital * Decimal(fund.leverage))
    balance = covered_balance(session, fund.id)
    if balance + amount > limit:
        return Refusal(
            N_("The fund's covered balance would reach %(balance)s yuan, above its limit of %(limit)s yuan"),
            {"balance": f"{balance + amount:,.2f}", "limit": f"{limit:,.2f}"},
        )
    return tier


def _funds_for(session: Session, product_id: int) -> list[GuaranteeFund]:
    funds = session.scalars(
        select(GuaranteeFund).where(GuaranteeFund.status == "active").order_by(GuaranteeFund.id)
    ).all()
    return [f for f in funds if not f.product_ids or product_id in f.product_ids]


def _decide(
    session: Session,
    fund: GuaranteeFund,
    app: Application,
    product: Product,
    collateral_value: Decimal | None = None,
) -> CoveredLoan:
    amount = Decimal(app.approved_amount if app.approved_amount is not None else app.amount)
    collateral = _collateral_value(product, amount) if collateral_value is None else collateral_value
    outcome = evaluate(session, fund, app.grade, amount, collateral)
    loan_id = session.scalar(select(Loan.id).where(Loan.application_id == app.id))
    decision = session.scalars(
        select(CoveredLoan).where(CoveredLoan.fund_id == fund.id, CoveredLoan.application_id == app.id)
    ).first()
    if decision is None:
        decision = CoveredLoan(fund_id=fund.id, application_id=app.id)
        session.add(decision)
    decision.loan_id = loan_id
    decision.institution_id = app.institution_id
    decision.uscc = app.uscc
    decision.enterprise_name = app.enterprise_name
    decision.grade = app.grade
    decision.amount = amount
    decision.collateral_value = collateral
    if isinstance(outcome, Refusal):
        decision.status = "refused"
        decision.scheme_id = None
        decision.reason = outcome.message
        decision.reason_params = outcome.params
        decision.fund_pct = Decimal(0)
        decision.third_party_pct = Decimal(0)
        decision.third_party_id = None
    else:
        decision.status = "covered"
        decision.scheme_id = outcome.id
        decision.reason = ""
        decision.reason_params = {}
        decision.fund_pct = outcome.fund_pct
        decision.third_party_pct = outcome.third_party_pct
        decision.third_party_id = outcome.third_party_id
    session.flush()
    return decision


def _already_covered(session: Session, application_id: int) -> bool:
    return (
        session.scalars(
            select(CoveredLoan.id).where(
                CoveredLoan.application_id == application_id, CoveredLoan.status != "refused"
            )
        ).first()
        is not None
    )


def cover_application(session: Session, application_id: int) -> CoveredLoan | None:
    """Decide, for an approved application, which fund covers its loan (the first that takes it, in the
    order the funds were set up) and record every refusal with its reason. None: no fund covers its
    product. Called by the ``market.application.approved`` subscription; never raises for a refusal."""
    app = session.get(Application, application_id)
    if app is None or app.status not in ("approved", "disbursed") or _already_covered(session, app.id):
        return None
    product = session.get(Product, app.product_id)
    if product is None:
        return None
    last: CoveredLoan | None = None
    for fund in _funds_for(session, product.id):
        decided = session.scalars(
            select(CoveredLoan).where(CoveredLoan.fund_id == fund.id, CoveredLoan.application_id == app.id)
        ).first()
        if decided is not None:  # this fund has decided already (an event delivered twice)
            last = decided
            continue
        last = _decide(session, fund, app, product)
        if last.status == "covered":
            return last
    return last


@dataclass(frozen=True)
class CoverSummary:
    """What ``cover_approved`` did: loans covered and refused (with reasons) by the fund."""

    covered: int
    refused: int


def cover_approved(session: Session, principal: Principal, fund_id: int) -> CoverSummary:
    """Decide for every approved or disbursed application of the fund's products that no fund has decided
    on yet (loans approved before the fund was set up), oldest first."""
    fund = get_fund(session, principal, fund_id, manage=True)
    decided = select(CoveredLoan.application_id).where(
        or_(CoveredLoan.fund_id == fund.id, CoveredLoan.status != "refused")
    )
    stmt = (
        select(Application)
        .outerjoin(Loan, Loan.application_id == Application.id)
        .where(
            Application.status.in_(("approved", "disbursed")),
            Application.id.not_in(decided),
            or_(Loan.id.is_(None), Loan.status.in_(("current", "overdue", "defaulted"))),
        )
        .order_by(Application.id)
    )
    if fund.product_ids:
        stmt = stmt.where(Application.product_id.in_(fund.product_ids))
    covered = refused = 0
    for app in session.scalars(stmt).all():
        product = session.get(Product, app.product_id)
        assert product is not None
        if _decide(session, fund, app, product).status == "covered":
            covered += 1
        else:
            refused += 1
    return CoverSummary(covered, refused)


def link_loan(session: Session, application_id: int, loan_id: int) -> None:
    """A covered application was disbursed: its coverage follows the loan (``market.loan.disbursed``)."""
    session.execute(
        update(CoveredLoan)
        .where(CoveredLoan.application_id == application_id)
        .values(loan_id=loan_id)
        .execution_options(synchronize_session=False)
    )


def coverage_of_loan(session: Session, loan_id: int) -> CoveredLoan | None:
    """The live coverage of a loan (covered, claimed or paid), if a fund covers it."""
    return session.scalars(
        select(CoveredLoan).where(CoveredLoan.loan_id == loan_id, CoveredLoan.status != "refused")
    ).first()


def list_coverage(
    session: Session,
    principal: Principal,
    fund_id: int,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[CoveredLoan], int]:
    """The fund's decisions on loans (covered and refused), newest first, with the total."""
    fund = get_fund(session, principal, fund_id)
    stmt = select(CoveredLoan).where(CoveredLoan.fund_id == fund.id)
    if status:
        stmt = stmt.where(CoveredLoan.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(CoveredLoan.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


# ----------------------------------------------------------------------------------------- the books


@dataclass(frozen=True)
class AccountView:
    """One of a fund's ledger accounts and its balance (元, in the account's normal sign)."""

    key: str
    code: str
    name: str
    kind: str
    balance: Decimal


@dataclass(frozen=True)
class EntryLine:
    """One line of an entry as shown: the account's key and name, debit, credit (元)."""

    key: str
    name: str
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class EntryView:
    """One posting on a fund's accounts with its lines."""

    entry: JournalEntry
    lines: list[EntryLine]


def _fund_accounts(session: Session, fund_id: int) -> dict[int, LedgerAccount]:
    return {
        a.id: a
        for a in session.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.owner_type == "guarantee_fund", LedgerAccount.owner_id == fund_id)
            .order_by(LedgerAccount.id)
        )
    }


def _key(account: LedgerAccount) -> str:
    return account.code.rsplit(":", 1)[-1]


def fund_accounts(session: Session, principal: Principal, fund_id: int) -> list[AccountView]:
    """The fund's ledger accounts with their balances."""
    fund = get_fund(session, principal, fund_id)
    return [
        AccountView(_key(a), a.code, a.name, a.kind, ledger.balance_of(session, a.id))
        for a in _fund_accounts(session, fund.id).values()
    ]


def fund_statement(
    session: Session, principal: Principal, fund_id: int, key: str, *, limit: int = 100, offset: int = 0
) -> list[tuple[JournalLine, JournalEntry]]:
    """One of the fund's accounts line by line (with the balance after each), newest first."""
    fund = get_fund(session, principal, fund_id)
    if key not in ACCOUNTS:
        raise NotFound()
    return ledger.statement(session, account_code(fund.id, key), limit=limit, offset=offset)


def fund_entries(
    session: Session, principal: Principal, fund_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[EntryView], int]:
    """The postings on the fund's accounts, newest first, with their lines, and how many there are."""
    fund = get_fund(session, principal, fund_id)
    accounts = _fund_accounts(session, fund.id)
    touching = select(JournalLine.entry_id).where(JournalLine.account_id.in_(list(accounts)))
    total = session.scalar(select(func.count(func.distinct(touching.subquery().c.entry_id)))) or 0
    entries = session.scalars(
        select(JournalEntry)
        .where(JournalEntry.id.in_(touching))
        .order_by(JournalEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    lines: dict[int, list[EntryLine]] = {e.id: [] for e in entries}
    for line in session.scalars(
        select(JournalLine).where(JournalLine.entry_id.in_(list(lines))).order_by(JournalLine.id)
    ):
        account = accounts.get(line.account_id) or session.get(LedgerAccount, line.account_id)
        assert account is not None
        lines[line.entry_id].append(EntryLine(_key(account), account.name, line.debit, line.credit))
    return [EntryView(e, lines[e.id]) for e in entries], total
