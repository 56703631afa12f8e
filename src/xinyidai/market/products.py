"""Loan products: an institution drafts, submits, the operator lists or sends back, the institution delists.

An institution's own systems keep products current by upserting on their own product id
(``external_id``): the same id twice updates, never duplicates. A listed product that is changed goes
back to review, so what enterprises see has always been reviewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.audit import record_event
from xinyidai.core.clock import utcnow
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.expressions import FieldCatalogue, compile_expression
from xinyidai.market import states
from xinyidai.market.models import Product
from xinyidai.market.repository import get_scoped, scoped
from xinyidai.market.schemas import ProductInput

PRODUCT_FIELDS = (
    "name",
    "product_type",
    "description",
    "amount_min",
    "amount_max",
    "term_min",
    "term_max",
    "rate_min",
    "rate_max",
    "repayment_methods",
    "regions",
    "industries",
    "sizes",
    "grades",
    "collateral",
    "pure_credit",
    "online",
    "instant",
    "auto_disburse",
    "admission_rule",
    "limit_formula",
)


@dataclass(frozen=True)
class Upserted:
    """The product written and whether it was created (True) or updated (False)."""

    product: Product
    created: bool


def decision_catalogue() -> FieldCatalogue:
    """The fields a product's decision strategy may use: the indicators, the grade and the score."""
    from xinyidai.market.precredit import decision_fields  # local: precredit imports this module

    return decision_fields()


def check_strategy(data: ProductInput) -> None:
    """Compile the admission rule and the limit formula; an error names the rule and the position."""
    catalogue = decision_catalogue()
    if data.admission_rule:
        try:
            compile_expression(data.admission_rule, catalogue, result_type="boolean")
        except ValidationFailed as exc:
            exc.field = "admission_rule"
            raise
    if data.limit_formula:
        try:
            compile_expression(data.limit_formula, catalogue, result_type="number")
        except ValidationFailed as exc:
            exc.field = "limit_formula"
            raise


def _apply(product: Product, data: ProductInput) -> None:
    for name in PRODUCT_FIELDS:
        setattr(product, name, getattr(data, name))
    product.pricing = {grade: str(rate) for grade, rate in sorted(data.pricing.items())}


def upsert_product(session: Session, principal: Principal, data: ProductInput) -> Upserted:
    """Create or update the principal's institution's product with this ``external_id``.

    A listed product that changes goes back to operator review (status pending_review); a draft stays a
    draft. Unchanged input changes nothing (idempotent).
    """
    require(principal, Permission.PRODUCTS_MANAGE)
    check_strategy(data)
    product = session.scalars(
        select(Product)
        .where(Product.institution_id == principal.organisation_id, Product.external_id == data.external_id)
        .with_for_update()
    ).first()
    if product is None:
        product = Product(
            institution_id=principal.organisation_id, external_id=data.external_id, status="draft"
        )
        _apply(product, data)
        session.add(product)
        session.flush()
        _audit(session, principal, "product.created", product)
        return Upserted(product, True)
    before = product_values(product)
    _apply(product, data)
    if product_values(product) != before:
        product.status = states.next_state("product", product.status, "edit")
        product.updated_at = utcnow()
        _audit(session, principal, "product.updated", product)
    return Upserted(product, False)


def product_values(product: Product) -> dict[str, Any]:
    """The product's business fields as plain values (comparison, export)."""
    values = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    for name in ("amount_min", "amount_max", "rate_min", "rate_max"):
        values[name] = Decimal(values[name]).normalize()
    values["pricing"] = {k: Decimal(v).normalize() for k, v in (product.pricing or {}).items()}
    return values


def _move(session: Session, principal: Principal, product: Product, action: str, note: str = "") -> Product:
    product.status = states.next_state("product", product.status, action)
    product.updated_at = utcnow()
    if action == "list":
        product.listed_at = utcnow()
    if note:
        product.review_note = note
    _audit(session, principal, f"product.{action}", product, {"note": note} if note else None)
    return product


def submit_product(session: Session, principal: Principal, product_id: int) -> Product:
    """The institution sends a draft (or delisted) product to the operator for review."""
    require(principal, Permission.PRODUCTS_MANAGE)
    return _move(session, principal, get_scoped(session, principal, Product, product_id, lock=True), "submit")


def delist_product(session: Session, principal: Principal, product_id: int) -> Product:
    """The institution takes a listed product off the supermarket (open applications continue)."""
    require(principal, Permission.PRODUCTS_MANAGE)
    return _move(session, principal, get_scoped(session, principal, Product, product_id, lock=True), "delist")


def review_product(
    session: Session, principal: Principal, product_id: int, *, approve: bool, note: str = ""
) -> Product:
    """The operator lists a submitted product, or sends it back with a note saying what to fix."""
    require(principal, Permission.PRODUCTS_REVIEW)
    if not approve and len(note.strip()) < 2:
        raise ValidationFailed("Say what the institution should change", field="note")
    product = get_scoped(session, principal, Product, product_id, lock=True)
    return _move(session, principal, product, "list" if approve else "send_back", note.strip())


def get_product(session: Session, principal: Principal, product_id: int) -> Product:
    """A product: listed ones for everybody, any of its own for the institution, all for the operator."""
    require(principal, Permission.PRODUCTS_BROWSE)
    product = session.get(Product, product_id)
    if product is not None and product.status == "listed":
        return product
    return get_scoped(session, principal, Product, product_id)


def listed_product(session: Session, product_id: int) -> Product:
    """A product enterprises may apply to now, else a clear error."""
    product = session.get(Product, product_id)
    if product is None or product.status != "listed":
        raise ValidationFailed("This product is not on offer", field="product_id")
    return product


def list_products(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    own: bool = False,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Product], int]:
    """Products the principal may see, newest first, with the total.

    ``own``: the institution's own products in every status (the operator: all products); otherwise the
    listed products of every institution (the supermarket).
    """
    require(principal, Permission.PRODUCTS_BROWSE)
    stmt = select(Product)
    stmt = scoped(stmt, principal, Product) if own else stmt.where(Product.status == "listed")
    if status:
        stmt = stmt.where(Product.status == status)
    if search:
        pattern = f"%{search.strip()}%"
        stmt = stmt.where(or_(Product.name.like(pattern), Product.description.like(pattern)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Product.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


def _audit(
    session: Session, principal: Principal, event: str, product: Product, detail: dict[str, Any] | None = None
) -> None:
    record_event(
        session,
        event,
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type="product",
        object_id=product.id,
        detail={"external_id": product.external_id, "status": product.status, **(detail or {})},
    )
