"""Financing needs: an enterprise publishes one, institutions whose products fit see it in their pool.

A need copies the enterprise's region, industry, size and newest grade when it is published, so that the
need pool is one indexed query. A need is open until it expires (``expires_on``), is withdrawn, or an
offer on it is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select, update
from sqlalchemy.orm import Session

from xinyidai.accounts.models import EnterpriseProfile, Organisation
from xinyidai.core.access import OrgKind, Permission, Principal, require
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.codes import region_prefix
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied
from xinyidai.core.settings import Settings
from xinyidai.data.lake import Lake
from xinyidai.market import states
from xinyidai.market.models import Consent, Need, Order, Product
from xinyidai.market.repository import get_scoped, scoped
from xinyidai.market.schemas import NeedInput
from xinyidai.rating import service as rating

OPEN_STATUSES = ("open", "full")


@dataclass(frozen=True)
class EnterpriseProfileView:
    """What the marketplace needs to know of an enterprise to match it: where, what, how big, how rated."""

    organisation_id: int
    uscc: str
    name: str
    region_code: str
    industry_section: str
    size_class: str
    grade: str | None
    score: float | None

    def as_profile(self) -> dict[str, Any]:
        return {
            "region_code": self.region_code,
            "industry_section": self.industry_section,
            "size_class": self.size_class,
            "grade": self.grade,
            "score": self.score,
        }


def enterprise_profile(session: Session, lake: Lake | None, organisation_id: int) -> EnterpriseProfileView:
    """The enterprise organisation's matching profile, with its newest grade when the lake has one."""
    row = session.execute(
        select(Organisation, EnterpriseProfile)
        .join(EnterpriseProfile, EnterpriseProfile.organisation_id == Organisation.id)
        .where(Organisation.id == organisation_id)
    ).first()
    if row is None:
        raise NotFound()
    org, profile = row
    current = rating.current_rating(lake, profile.uscc) if lake is not None else None
    return EnterpriseProfileView(
        organisation_id=org.id,
        uscc=profile.uscc,
        name=org.name,
        region_code=org.region_code or "",
        industry_section=profile.industry_section,
        size_class=profile.size_class,
        grade=current.grade if current else None,
        score=current.score if current else None,
    )


def own_enterprise(session: Session, lake: Lake | None, principal: Principal) -> EnterpriseProfileView:
    """The principal's own enterprise (PermissionDenied for anybody else)."""
    if principal.org_kind is not OrgKind.ENTERPRISE:
        raise PermissionDenied()
    return enterprise_profile(session, lake, principal.organisation_id)


def publish_need(
    session: Session,
    lake: Lake | None,
    principal: Principal,
    data: NeedInput,
    settings: Settings,
    *,
    idempotency_key: str | None = None,
    signed_text: str | None = None,
) -> Need:
    """Publish a financing need (a second submit with the same idempotency key returns the first).

    With ``authorise_takers`` the enterprise also authorises every institution that takes the need up
    to see its full report until the need expires (the consent is signed by the publishing user).
    """
    require(principal, Permission.ENTERPRISE_FINANCE)
    if idempotency_key:
        earlier = session.scalars(
            select(Need).where(
                Need.enterprise_id == principal.organisation_id, Need.idempotency_key == idempotency_key
            )
        ).first()
        if earlier is not None:
            return earlier
    me = own_enterprise(session, lake, principal)
    need = Need(
        enterprise_id=me.organisation_id,
        uscc=me.uscc,
        enterprise_name=me.name,
        amount=data.amount,
        term_months=data.term_months,
        purpose=data.purpose + (f": {data.description}" if data.description else ""),
        collateral=data.collateral,
        region_code=me.region_code,
        industry_section=me.industry_section,
        size_class=me.size_class,
        grade=me.grade or "",
        status="open",
        holders=0,
        max_holders=settings.market_max_holders,
        expires_on=today_local() + timedelta(days=data.valid_days),
        idempotency_key=idempotency_key,
    )
    session.add(need)
    session.flush()
    if data.authorise_takers:
        from xinyidai.market.consents import sign_for_need  # local: consents imports this module

        require(principal, Permission.CONSENT_SIGN)
        sign_for_need(session, principal, need, signed_text=signed_text)
    return need


def withdraw_need(session: Session, principal: Principal, need_id: int) -> Need:
    """The enterprise withdraws its need; the institutions holding it see their orders closed."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    need = get_scoped(session, principal, Need, need_id, lock=True)
    close_need(session, need, "withdraw", "need_withdrawn")
    return need


def close_need(session: Session, need: Need, action: str, reason: str) -> None:
    """Move ``need`` by ``action`` and close every order still open on it with ``reason``."""
    need.status = states.next_state("need", need.status, action)
    need.closed_at = utcnow()
    session.execute(
        update(Order)
        .where(Order.need_id == need.id, Order.status.in_(("held", "offered")))
        .values(status="closed", closed_reason=reason, closed_at=utcnow())
    )
    if action != "match":
        session.execute(
            update(Consent)
            .where(Consent.need_id == need.id, Consent.status == "given")
            .values(status="revoked", revoked_at=utcnow())
        )


def expire_needs(session: Session, today: date | None = None) -> int:
    """Expire every open need whose date has passed (the daily job); returns how many."""
    day = today or today_local()
    due = session.scalars(select(Need).where(Need.status.in_(OPEN_STATUSES), Need.expires_on < day)).all()
    for need in due:
        close_need(session, need, "expire", "need_expired")
    return len(due)


def list_own_needs(
    session: Session, principal: Principal, *, limit: int = 50, offset: int = 0
) -> Sequence[Need]:
    """The enterprise's needs, newest first."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    stmt = scoped(select(Need), principal, Need).order_by(Need.id.desc()).limit(limit).offset(offset)
    return session.scalars(stmt).all()


def get_need(session: Session, principal: Principal, need_id: int) -> Need:
    """A need, for its enterprise, an institution that holds it or may see it in its pool, the operator."""
    need = session.get(Need, need_id)
    if need is None:
        raise NotFound()
    if principal.org_kind is OrgKind.INSTITUTION:
        held = session.scalar(
            select(func.count()).where(
                Order.need_id == need_id, Order.institution_id == principal.organisation_id
            )
        )
        fits = session.scalar(
            select(func.count())
            .select_from(Need)
            .where(Need.id == need_id, fit_clause(session, principal.organisation_id))
        )
        if held or fits:
            return need
        raise NotFound()
    return get_scoped(session, principal, Need, need_id)


def fit_clause(session: Session, institution_id: int) -> Any:
    """SQL condition: the need fits at least one of the institution's listed products.

    Amount and term within the product's ranges; region, industry, size and grade within its targets
    (an empty target list means all). One OR branch per product — institutions have a handful.
    """
    products = session.scalars(
        select(Product).where(Product.institution_id == institution_id, Product.status == "listed")
    ).all()
    branches = []
    for p in products:
        conds = [
            Need.amount >= p.amount_min,
            Need.amount <= p.amount_max,
            Need.term_months >= p.term_min,
            Need.term_months <= p.term_max,
        ]
        if p.regions:
            conds.append(or_(*[Need.region_code.like(region_prefix(code) + "%") for code in p.regions]))
        if p.industries:
            conds.append(Need.industry_section.in_(p.industries))
        if p.sizes:
            conds.append(Need.size_class.in_(p.sizes))
        if p.grades:
            conds.append(Need.grade.in_(p.grades))
        branches.append(and_(*conds))
    return or_(*branches) if branches else false()


@dataclass(frozen=True)
class PoolPage:
    """One page of the need pool with the total and which of the needs the institution already holds."""

    needs: Sequence[Need]
    total: int
    held: frozenset[int]
    capped: bool = False  # more than ``total`` needs fit: counting stops at COUNT_CAP


def need_pool(
    session: Session,
    principal: Principal,
    *,
    grade: str | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PoolPage:
    """Open, unexpired needs that fit the institution's listed products, newest first (抢单池).

    Needs already held by the most institutions allowed (status ``full``) cannot be grabbed and are left
    out; the count stops at ``COUNT_CAP`` (a pool of 100,000 needs is paged, not read to the end).
    """
    require(principal, Permission.INSTITUTION_WORKBENCH)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    stmt = select(Need).where(
        Need.status == "open",
        Need.expires_on >= today_local(),
        fit_clause(session, principal.organisation_id),
    )
    if grade:
        stmt = stmt.where(Need.grade == grade)
    if min_amount is not None:
        stmt = stmt.where(Need.amount >= min_amount)
    if max_amount is not None:
        stmt = stmt.where(Need.amount <= max_amount)
    total = capped_count(session, stmt)
    needs = session.scalars(stmt.order_by(Need.id.desc()).limit(limit).offset(offset)).all()
    held = session.scalars(
        select(Order.need_id).where(
            Order.institution_id == principal.organisation_id, Order.need_id.in_([n.id for n in needs])
        )
    ).all()
    return PoolPage(needs, min(total, COUNT_CAP), frozenset(held), total > COUNT_CAP)


COUNT_CAP = 10_000


def capped_count(session: Session, stmt: Any, cap: int = COUNT_CAP) -> int:
    """How many rows ``stmt`` has, counting no further than ``cap + 1`` (cheap on large tables)."""
    return session.scalar(select(func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0


def holds(session: Session, institution_id: int, need_id: int) -> bool:
    """Does the institution hold (or has it an offer on) this need?"""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Order.need_id == need_id,
                    Order.institution_id == institution_id,
                    Order.status.in_(("held", "offered", "accepted")),
                )
            )
        )
    )


__all__ = [
    "Conflict",
    "EnterpriseProfileView",
    "PoolPage",
    "enterprise_profile",
    "expire_needs",
    "fit_clause",
    "get_need",
    "holds",
    "list_own_needs",
    "need_pool",
    "own_enterprise",
    "publish_need",
    "withdraw_need",
]
