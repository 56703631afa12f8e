"""Product recommendation (智能推荐): every listed product judged for one enterprise, ranked by fit.

Each product's own strategy is applied with ``precredit.decide`` to the enterprise's newest indicators
and grade — the same decision an instant application would get — asking for:

- with an open financing need: the need's amount and term, brought within the product's ranges (how
  well the product then covers the need is its *amount fit*);
- otherwise: the product's largest amount and a term of 12 months within its range, so the limit shown
  is the most the product's limit formula would grant.

Ranking (Weihai's supermarket: eligible enterprises are pushed, the others are shown what they lack):

1. eligible products first, by a fit score that weighs, in this order of importance, the likely approval
   (the enterprise's grade; an instant product's decision is binding), the rate (lower is better: the
   best eligible rate scores 1, each point above it a fifth less) and the amount fit;
2. then the products it is not eligible for, those with the fewest refusal reasons first: the ones that
   come *closest*, with the reasons as what it lacks.

The ranking itself (``rank``) is pure and works on products already loaded: hundreds of products take a
few milliseconds (the strategies' expressions are compiled once and cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.core.access import OrgKind, Permission, Principal, require
from xinyidai.core.clock import today_local
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.market.models import Need, Product
from xinyidai.market.needs import OPEN_STATUSES, own_enterprise
from xinyidai.market.precredit import Decision, Refusal, decide, price
from xinyidai.market.repository import scoped

# How likely an eligible enterprise of each grade is approved by a product decided by people.
GRADE_APPROVAL: dict[str, float] = {"A": 0.95, "B": 0.8, "C": 0.6, "D": 0.3}
UNRATED_APPROVAL = 0.5
WEIGHTS = (0.5, 0.3, 0.2)  # approval, rate, amount fit
RATE_SPAN = 5.0  # percentage points above the best eligible rate at which the rate scores nothing
DEFAULT_TERM = 12
CLOSEST = 5


@dataclass(frozen=True)
class Recommendation:
    """One product judged for the enterprise.

    Attributes:
        amount, term_months: what was asked for in the decision.
        rate: the rate the enterprise would get (its grade's price; the product's highest rate if the
            product has no price for it) — an estimate also when it is not eligible.
        approval: 0–1, how likely an application is approved.
        amount_fit: 0–1, how well the limit covers the need (1 without a need).
        fit: the score eligible products are ranked by (0 when not eligible).
    """

    product: Product
    decision: Decision
    amount: Decimal
    term_months: int
    rate: Decimal
    approval: float
    amount_fit: float
    fit: float = 0.0

    @property
    def eligible(self) -> bool:
        return self.decision.eligible

    @property
    def limit(self) -> Decimal | None:
        return self.decision.limit

    @property
    def reasons(self) -> tuple[Refusal, ...]:
        return self.decision.reasons


@dataclass(frozen=True)
class Recommendations:
    """Every product judged, in ranked order, and the need the amounts were asked for (if any)."""

    items: list[Recommendation]
    need: Need | None = None

    @property
    def eligible(self) -> list[Recommendation]:
        return [r for r in self.items if r.eligible]

    @property
    def ineligible(self) -> list[Recommendation]:
        return [r for r in self.items if not r.eligible]

    def closest(self, count: int = CLOSEST) -> list[Recommendation]:
        """When the enterprise is eligible for nothing: the products with the fewest refusal reasons."""
        if self.eligible:
            return []
        return self.ineligible[:count]


def ask_for(product: Product, need_amount: Decimal | None, need_term: int | None) -> tuple[Decimal, int]:
    """The amount and term asked of ``product``: the need's, within the product's ranges, else its most."""
    low, high = Decimal(product.amount_min), Decimal(product.amount_max)
    amount = high if need_amount is None else min(max(Decimal(need_amount), low), high)
    term = min(max(need_term or DEFAULT_TERM, product.term_min), product.term_max)
    return amount, term


def amount_fit(limit: Decimal | None, need_amount: Decimal | None) -> float:
    """How well ``limit`` matches the need: 1 exact, lower when it covers less or makes one borrow more."""
    if need_amount is None or need_amount <= 0:
        return 1.0
    if limit is None or limit <= 0:
        return 0.0
    return float(min(limit, need_amount) / max(limit, need_amount))


def approval_likelihood(product: Product, grade: str | None) -> float:
    """The chance an eligible enterprise is approved: certain for an instant product, else by grade."""
    if product.instant:
        return 1.0
    return GRADE_APPROVAL.get(grade or "", UNRATED_APPROVAL)


def judge(
    product: Product,
    profile: dict[str, Any],
    values: dict[str, Any] | None,
    *,
    need_amount: Decimal | None = None,
    need_term: int | None = None,
) -> Recommendation:
    """One product's decision for the enterprise, unranked (``fit`` is set by ``rank``)."""
    amount, term = ask_for(product, need_amount, need_term)
    decision = decide(product, profile, values, amount=amount, term_months=term)
    grade = profile.get("grade")
    return Recommendation(
        product=product,
        decision=decision,
        amount=amount,
        term_months=term,
        rate=decision.rate if decision.rate is not None else price(product, grade),
        approval=approval_likelihood(product, grade) if decision.eligible else 0.0,
        amount_fit=amount_fit(decision.limit if decision.eligible else amount, need_amount),
    )


def rank(
    products: Iterable[Product],
    profile: dict[str, Any],
    values: dict[str, Any] | None,
    *,
    need_amount: Decimal | None = None,
    need_term: int | None = None,
) -> list[Recommendation]:
    """Every product judged and ranked: eligible ones by fit, then the rest by fewest reasons."""
    judged = [judge(p, profile, values, need_amount=need_amount, need_term=need_term) for p in products]
    eligible = [r for r in judged if r.eligible]
    best = min((float(r.rate) for r in eligible), default=0.0)
    w_approval, w_rate, w_amount = WEIGHTS
    scored = []
    for r in eligible:
        rate_score = max(0.0, 1.0 - (float(r.rate) - best) / RATE_SPAN)
        fit = w_approval * r.approval + w_rate * rate_score + w_amount * r.amount_fit
        scored.append(
            Recommendation(
                r.product, r.decision, r.amount, r.term_months, r.rate, r.approval, r.amount_fit, fit
            )
        )
    scored.sort(key=lambda r: (-r.fit, r.rate, r.product.id))
    rest = sorted(
        (r for r in judged if not r.eligible),
        key=lambda r: (len(r.reasons), -r.amount_fit, r.rate, r.product.id),
    )
    return scored + rest


def newest_open_need(session: Session, principal: Principal) -> Need | None:
    """The enterprise's newest need still open (not expired, withdrawn or matched), or None."""
    return session.scalars(
        scoped(select(Need), principal, Need)
        .where(Need.status.in_(OPEN_STATUSES), Need.expires_on >= today_local())
        .order_by(Need.id.desc())
        .limit(1)
    ).first()


def _enterprise_inputs(
    session: Session, lake: Lake | None, principal: Principal
) -> tuple[dict[str, Any], dict[str, Any] | None, Need | None]:
    me = own_enterprise(session, lake, principal)
    values = indicators.enterprise_indicators(lake, me.uscc) if lake is not None else None
    return me.as_profile(), values, newest_open_need(session, principal)


def recommend_products(
    session: Session,
    lake: Lake | None,
    principal: Principal,
    *,
    product_type: str | None = None,
    limit: int = 1000,
) -> Recommendations:
    """The listed products (of one type if given) judged for the principal's enterprise and ranked.

    The amounts asked are those of its newest open need when it has one.
    """
    require(principal, Permission.ENTERPRISE_FINANCE)
    profile, values, need = _enterprise_inputs(session, lake, principal)
    stmt = select(Product).where(Product.status == "listed")
    if product_type:
        stmt = stmt.where(Product.product_type == product_type)
    products = session.scalars(stmt.order_by(Product.id).limit(limit)).all()
    items = rank(
        products,
        profile,
        values,
        need_amount=Decimal(need.amount) if need else None,
        need_term=need.term_months if need else None,
    )
    return Recommendations(items, need)


def evaluate_product(
    session: Session, lake: Lake | None, principal: Principal, product: Product
) -> Recommendation:
    """One product judged for the principal's enterprise (the product page's estimate)."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    profile, values, need = _enterprise_inputs(session, lake, principal)
    return judge(
        product,
        profile,
        values,
        need_amount=Decimal(need.amount) if need else None,
        need_term=need.term_months if need else None,
    )


def institution_choices(session: Session) -> Sequence[tuple[int, str]]:
    """Every active financial institution (id, name), by name: whom an enterprise may authorise."""
    rows = session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.kind == OrgKind.INSTITUTION.value, Organisation.status == "active")
        .order_by(Organisation.name)
    ).all()
    return [(row.id, row.name) for row in rows]


def organisation_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the organisations ``ids`` (institutions on offers, applications, loans, consents)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def product_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the products ``ids`` (whatever their status: an application outlives a listing)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Product.id, Product.name).where(Product.id.in_(wanted)))
    return {row.id: row.name for row in rows}
