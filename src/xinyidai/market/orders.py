"""Grabbing orders (抢单) and offers: at most K institutions hold one need; each makes an offer; the
enterprise compares them side by side and accepts one, which closes the others with a reason.

Concurrency: the slot is taken by one conditional ``UPDATE needs SET holders = holders + 1 WHERE
holders < max_holders AND status = 'open'``. The database serialises writers on the row (PostgreSQL
re-checks the condition after a concurrent commit; SQLite has one writer at a time), so 20 simultaneous
grabs of a need with K slots give exactly K winners. The unique (need, institution) pair stops one
institution from holding a need twice; the error rolls back its increment with the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Permission, Principal, Role, require
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import notify_role
from xinyidai.market import states
from xinyidai.market.models import Application, Need, Order, Product
from xinyidai.market.needs import close_need, fit_clause
from xinyidai.market.repository import get_scoped, scoped
from xinyidai.market.schemas import OfferInput


def grab(session: Session, principal: Principal, need_id: int) -> Order:
    """Take one of the need's K slots for the principal's institution.

    Raises:
        NotFound: no such need, or it does not fit any of the institution's listed products.
        Conflict: the institution already holds it; every slot is taken; it expired or was closed.
    """
    require(principal, Permission.ORDERS_WORK)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    me = principal.organisation_id
    fits = session.scalar(select(Need.id).where(Need.id == need_id, fit_clause(session, me)))
    if fits is None:
        raise NotFound()
    if (
        session.scalar(select(Order.id).where(Order.need_id == need_id, Order.institution_id == me))
        is not None
    ):
        raise Conflict("Your institution already holds this need")
    taken = session.execute(
        update(Need)
        .where(
            Need.id == need_id,
            Need.status == "open",
            Need.expires_on >= today_local(),
            Need.holders < Need.max_holders,
        )
        .values(
            holders=Need.holders + 1,
            status=case((Need.holders + 1 >= Need.max_holders, "full"), else_="open"),
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        need = session.get(Need, need_id)
        assert need is not None
        session.refresh(need)
        if need.expires_on < today_local() or need.status == "expired":
            raise Conflict("This need has expired")
        if need.status == "full" or need.holders >= need.max_holders:
            raise Conflict(
                "This need is already held by %(count)s institutions, the most allowed",
                count=need.max_holders,
            )
        raise Conflict("This need is no longer open")
    order = Order(need_id=need_id, institution_id=me, grabbed_by=principal.username, status="held")
    session.add(order)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Your institution already holds this need") from None
    need = session.get(Need, need_id)
    assert need is not None
    session.refresh(need)
    _tell_enterprise(
        session,
        need,
        N_("An institution has taken up your financing need"),
        N_("%(count)s of at most %(max)s institutions now hold need No. %(need)s."),
        {"count": need.holders, "max": need.max_holders, "need": need.id},
    )
    return order


def release(session: Session, principal: Principal, order_id: int) -> Order:
    """The institution gives its slot back; the need reopens if it was full."""
    require(principal, Permission.ORDERS_WORK)
    order = get_scoped(session, principal, Order, order_id, lock=True)
    order.status = states.next_state("order", order.status, "release")
    order.closed_reason = "released"
    order.closed_at = utcnow()
    need = session.get(Need, order.need_id, with_for_update=True)
    assert need is not None
    need.holders = max(0, need.holders - 1)
    if need.status == "full":
        need.status = states.next_state("need", need.status, "release")
    return order


def make_offer(session: Session, principal: Principal, order_id: int, data: OfferInput) -> Order:
    """The holder offers amount, rate, term, collateral, fees and repayment from one of its listed products.

    The offer must lie within that product's ranges; a second offer replaces the first until accepted.
    """
    require(principal, Permission.ORDERS_WORK)
    order = get_scoped(session, principal, Order, order_id, lock=True)
    product = session.get(Product, data.product_id)
    if product is None or product.institution_id != principal.organisation_id or product.status != "listed":
        raise ValidationFailed("Choose one of your listed products", field="product_id")
    check_within_product(product, data.amount, data.term_months, data.rate)
    if data.repayment_method not in (product.repayment_methods or []):
        raise ValidationFailed("The product does not offer this repayment method", field="repayment_method")
    order.status = states.next_state("order", order.status, "offer")
    order.product_id = product.id
    order.amount = data.amount
    order.rate = data.rate
    order.term_months = data.term_months
    order.collateral = data.collateral
    order.fees = data.fees
    order.repayment_method = data.repayment_method
    order.note = data.note
    order.offered_at = utcnow()
    need = session.get(Need, order.need_id)
    assert need is not None
    _tell_enterprise(
        session,
        need,
        N_("You have a new offer"),
        N_("An institution made an offer on need No. %(need)s."),
        {"need": need.id},
    )
    return order


def check_within_product(
    product: Product, amount: Decimal, term_months: int, rate: Decimal | None = None
) -> None:
    """Refuse an amount, term or rate outside the product's ranges, naming the range."""
    if not Decimal(product.amount_min) <= amount <= Decimal(product.amount_max):
        raise ValidationFailed(
            "The amount must be between %(low)s and %(high)s yuan",
            field="amount",
            low=f"{product.amount_min:,.2f}",
            high=f"{product.amount_max:,.2f}",
        )
    if not product.term_min <= term_months <= product.term_max:
        raise ValidationFailed(
            "The term must be between %(low)s and %(high)s months",
            field="term_months",
            low=product.term_min,
            high=product.term_max,
        )
    if rate is not None and not Decimal(product.rate_min) <= rate <= Decimal(product.rate_max):
        raise ValidationFailed(
            "The rate must be between %(low)s%% and %(high)s%%",
            field="rate",
            low=product.rate_min,
            high=product.rate_max,
        )


def offers_on(session: Session, principal: Principal, need_id: int) -> Sequence[Order]:
    """The orders on the enterprise's need, offers first, for the side-by-side comparison."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    get_scoped(session, principal, Need, need_id)
    return session.scalars(
        select(Order)
        .where(Order.need_id == need_id)
        .order_by(Order.offered_at.is_(None), Order.rate, Order.id)
    ).all()


def accept_offer(session: Session, principal: Principal, order_id: int) -> Application:
    """The enterprise accepts one offer: its need is matched, the other orders close with the reason
    "another offer accepted", and an application with the offer's terms goes to that institution."""
    require(principal, Permission.ENTERPRISE_FINANCE)
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        raise NotFound()
    need = get_scoped(session, principal, Need, order.need_id, lock=True)
    order.status = states.next_state("order", order.status, "accept")  # only an offer can be accepted
    need_action = "match"
    states.next_state("need", need.status, need_action)
    order.closed_at = utcnow()
    session.flush()
    close_need(session, need, need_action, "another_offer_accepted")
    from xinyidai.market.applications import open_application  # local: applications imports orders

    assert order.product_id is not None and order.amount is not None and order.term_months is not None
    application = open_application(
        session,
        principal,
        product_id=order.product_id,
        amount=order.amount,
        term_months=order.term_months,
        purpose=need.purpose,
        channel="offer",
        need_id=need.id,
        order_id=order.id,
        grade=need.grade,
    )
    application.approved_rate = order.rate
    return application


def list_orders(
    session: Session, principal: Principal, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> Sequence[tuple[Order, Need]]:
    """The institution's orders with their needs, newest first."""
    require(principal, Permission.INSTITUTION_WORKBENCH)
    stmt = scoped(select(Order), principal, Order)
    if status:
        stmt = stmt.where(Order.status == status)
    orders = session.scalars(stmt.order_by(Order.id.desc()).limit(limit).offset(offset)).all()
    needs = {n.id: n for n in session.scalars(select(Need).where(Need.id.in_({o.need_id for o in orders})))}
    return [(o, needs[o.need_id]) for o in orders]


def _tell_enterprise(session: Session, need: Need, title: str, body: str, params: dict[str, object]) -> None:
    for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF):
        notify_role(
            session,
            role,
            topic="market.need",
            title=title,
            body=body,
            params=params,
            link=f"/enterprise/needs/{need.id}",
            organisation_id=need.enterprise_id,
            key=f"need:{need.id}",
        )
