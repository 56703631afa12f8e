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
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.funds import ledger, sharing
from xinyidai.funds.ledger import Line
from xinyidai.funds.models import JournalEntry, JournalLine, LedgerAccount
from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund, RiskScheme, SharingScheme
from xinyidai.funds.sharing import WEIHAI_SCHEME, Tier
from xinyidai.market import service as market
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
    """The bands of the scheme version the fund uses now, by grade and amount."""
    return sharing.bands_of(
        session, session.scalar(select(GuaranteeFund.scheme_id).where(GuaranteeFund.id == fund_id))
    )


def scheme_of(session: Session, fund: GuaranteeFund) -> SharingScheme | None:
    """The scheme version the fund uses now."""
    return session.get(SharingScheme, fund.scheme_id) if fund.scheme_id is not None else None


def use_scheme(session: Session, principal: Principal, fund_id: int, scheme_id: int) -> GuaranteeFund:
    """The fund manager chooses the scheme the fund uses for loans that join from now on (the newest
    version of one of its department's schemes). Loans covered already keep their terms."""
    fund = get_fund(session, principal, fund_id, manage=True)
    scheme = sharing.get_scheme(session, principal, scheme_id, manage=True)
    if not scheme.is_current:
        raise ValidationFailed("Choose the newest version of a scheme", field="scheme_id")
    fund.scheme_id = scheme.id
    session.flush()
    return fund


# ----------------------------------------------------------------------------------------- set-up


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
    scheme_id: int | None = None,
    fee_rate: Decimal = Decimal(0),
) -> GuaranteeFund:
    """Set up a fund managed by the principal's department, with its scheme and ledger accounts.

    ``leverage``: the covered balance may reach this multiple of the capital contributed. ``product_ids``:
    the loan products covered (empty: every product). ``scheme_id``: one of the department's schemes (its
    newest version); without it the fund gets a scheme of its own from ``tiers`` (Weihai's unless given)
    and ``fee_rate`` (annual % of each covered loan).
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
    scheme: SharingScheme | None = None
    if scheme_id is not None:
        scheme = sharing.get_scheme(session, principal, scheme_id, manage=True)
        if not scheme.is_current:
            raise ValidationFailed("Choose the newest version of a scheme", field="scheme_id")
    else:
        scheme = sharing.write_version(session, principal, name=name, tiers=tiers, fee_rate=fee_rate)
    fund = GuaranteeFund(
        name=name,
        kind=kind,
        manager_id=principal.organisation_id,
        leverage=leverage,
        product_ids=products,
        description=description.strip()[:500],
        scheme_id=scheme.id,
        created_by=principal.username,
    )
    session.add(fund)
    session.flush()
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


def _collateral_value(app: Application, product: Product, amount: Decimal) -> Decimal:
    # The value the bank stated when it approved (or later, on the application page). Without one, an
    # unsecured product counts as no collateral and a secured product as fully secured (100 %).
    if app.collateral_value is not None:
        return Decimal(app.collateral_value)
    return Decimal(0) if product.collateral == "none" else Decimal(amount)


def collateral_pct(collateral_value: Decimal, amount: Decimal) -> Decimal:
    """The collateral's value as a percentage of the loan (two decimals)."""
    return (collateral_value * HUNDRED / amount).quantize(CENT) if amount > 0 else Decimal(0)


def _lock_fund(session: Session, fund: GuaranteeFund) -> None:
    # The lock first, then the covered balance is read: concurrent approvals queue here.
    session.execute(
        update(GuaranteeFund)
        .where(GuaranteeFund.id == fund.id)
        .values(version=GuaranteeFund.version + 1)
        .execution_options(synchronize_session=False)
    )


def _band_for(bands: Sequence[RiskScheme], grade: str, amount: Decimal) -> RiskScheme | Refusal:
    mine = [b for b in bands if b.grade == (grade or "")]
    if not any(b.covered for b in mine):
        return Refusal(N_("Grade %(grade)s is not covered by this fund"), {"grade": grade or "—"})
    for band in mine:
        if band.amount_min < amount and (band.amount_max is None or amount <= band.amount_max):
            if not band.covered:
                return Refusal(
                    N_("Loans of grade %(grade)s from %(min)s to %(max)s yuan are not covered by this fund"),
                    {
                        "grade": grade,
                        "min": f"{band.amount_min:,.2f}",
                        "max": "∞" if band.amount_max is None else f"{band.amount_max:,.2f}",
                    },
                )
            return band
    tops = [b.amount_max for b in mine if b.covered]
    if all(t is not None for t in tops) and amount > max(t for t in tops if t is not None):
        top = max(t for t in tops if t is not None)
        return Refusal(
            N_("The loan of %(amount)s yuan is above the %(max)s yuan this fund covers for grade %(grade)s"),
            {"amount": f"{amount:,.2f}", "max": f"{top:,.2f}", "grade": grade},
        )
    return Refusal(
        N_("The loan of %(amount)s yuan is outside the amounts this fund covers for grade %(grade)s"),
        {"amount": f"{amount:,.2f}", "grade": grade},
    )


def evaluate(
    session: Session, fund: GuaranteeFund, grade: str, amount: Decimal, collateral_value: Decimal
) -> RiskScheme | Refusal:
    """The band a loan joins under the scheme version the fund uses, or why it does not; locks the fund
    before reading its covered balance."""
    band = _band_for(schemes_of(session, fund.id), grade, amount)
    if isinstance(band, Refusal):
        return band
    pct = collateral_pct(collateral_value, amount)
    if pct > band.collateral_max_pct:
        return Refusal(
            N_("Collateral of %(pct)s%% of the loan is above the %(max)s%% allowed for grade %(grade)s"),
            {
                "pct": f"{pct.normalize():f}",
                "max": f"{band.collateral_max_pct.normalize():f}",
                "grade": grade,
            },
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
    return band


def guarantee_fee(amount: Decimal, fee_rate: Decimal, term_months: int) -> Decimal:
    """The guarantee fee (元) on a covered loan: amount × annual rate × term in years, to the fen."""
    return money(Decimal(amount) * Decimal(fee_rate) / HUNDRED * Decimal(term_months) / Decimal(12))


def charge_fee(session: Session, coverage: CoveredLoan, *, posted_by: str = "system") -> JournalEntry | None:
    """Post the guarantee fee of a covered loan once: fund cash ← fee income, keyed by the fund and the
    application, so a retried request, an event delivered twice or a re-run posts it once. None: no fee."""
    if coverage.status == "refused" or coverage.fee_amount <= 0:
        return None
    entry = ledger.post(
        session,
        key=f"{account_code(coverage.fund_id, 'fee')}:application:{coverage.application_id}",
        kind="fee",
        lines=[
            Line(account_code(coverage.fund_id, "cash"), debit=coverage.fee_amount),
            Line(account_code(coverage.fund_id, "fees"), credit=coverage.fee_amount),
        ],
        posted_by=posted_by,
        memo=f"{coverage.enterprise_name} {coverage.fee_rate.normalize():f}%"[:500],
        reference=("covered_loan", coverage.id),
    )
    coverage.fee_entry_id = entry.id
    session.flush()
    return entry


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
    posted_by: str = "system",
) -> CoveredLoan:
    amount = Decimal(app.approved_amount if app.approved_amount is not None else app.amount)
    collateral = _collateral_value(app, product, amount) if collateral_value is None else collateral_value
    outcome = evaluate(session, fund, app.grade, amount, collateral)
    scheme = scheme_of(session, fund)
    fee_rate = scheme.fee_rate if scheme is not None else Decimal(0)
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
        decision.third_party_name = ""
        decision.fee_rate = Decimal(0)
        decision.fee_amount = Decimal(0)
        session.flush()
        return decision
    decision.status = "covered"
    decision.scheme_id = outcome.id
    decision.reason = ""
    decision.reason_params = {}
    decision.fund_pct = outcome.fund_pct
    decision.third_party_pct = outcome.third_party_pct
    decision.third_party_id = outcome.third_party_id
    decision.third_party_name = outcome.third_party_name
    decision.fee_rate = fee_rate
    decision.fee_amount = guarantee_fee(amount, fee_rate, app.approved_term or app.term_months)
    session.flush()
    charge_fee(session, decision, posted_by=posted_by)
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
        if _decide(session, fund, app, product, posted_by=principal.username).status == "covered":
            covered += 1
        else:
            refused += 1
    return CoverSummary(covered, refused)


def record_collateral(
    session: Session, principal: Principal, application_id: int, value: Decimal
) -> CoveredLoan | None:
    """The bank states the collateral value (元) of an approved loan that no fund covers yet; the funds
    decide again with it (the first that takes it covers it). A covered loan keeps the terms it joined
    with: its collateral cannot be restated (Conflict). Returns the newest decision, None if no fund
    covers the loan's product."""
    if _already_covered(session, application_id):
        market.get_application(session, principal, application_id)  # another bank's: 404 first
        raise Conflict("This loan is covered already: it keeps the terms it joined with")
    app = market.record_collateral_value(session, principal, application_id, value)
    product = session.get(Product, app.product_id)
    assert product is not None
    last: CoveredLoan | None = None
    for fund in _funds_for(session, product.id):
        last = _decide(session, fund, app, product, posted_by=principal.username)
        if last.status == "covered":
            break
    return last


def decisions_for(session: Session, principal: Principal, application_id: int) -> Sequence[CoveredLoan]:
    """The funds' decisions on one of the bank's applications (what its application page shows)."""
    app = market.get_application(session, principal, application_id)
    return session.scalars(
        select(CoveredLoan).where(CoveredLoan.application_id == app.id).order_by(CoveredLoan.id)
    ).all()


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


def institution_coverage(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[CoveredLoan]:
    """The funds' decisions on the institution's own loans (covered, claimed, paid, refused), newest first."""
    require(principal, Permission.INSTITUTION_WORKBENCH)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    stmt = select(CoveredLoan).where(CoveredLoan.institution_id == principal.organisation_id)
    if status:
        stmt = stmt.where(CoveredLoan.status == status)
    return session.scalars(stmt.order_by(CoveredLoan.id.desc()).limit(limit).offset(offset)).all()


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
