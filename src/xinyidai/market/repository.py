"""Every query on the marketplace's tables that returns one tenant's objects, scoped to the actor.

An institution's objects (products, orders, applications, loans) are found through ``scope_to_organisation``
on their ``institution_id``; an enterprise's (needs, consents, applications, loans) on ``enterprise_id``.
Another tenant's object answers NotFound, so its existence does not leak. The operator's staff read across.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Principal, scope_to_organisation, sees_all_organisations
from xinyidai.core.errors import NotFound
from xinyidai.market.models import Application, Consent, Loan, Need, Order, Product

T = TypeVar("T", Product, Need, Consent, Order, Application, Loan)
S = TypeVar("S", bound=Select[Any])  # any select, of one entity or several


def scoped(stmt: S, principal: Principal, model: type[Any]) -> S:
    """Restrict ``stmt`` to the principal's side of ``model``: the institution's or the enterprise's rows."""
    if principal.org_kind is OrgKind.ENTERPRISE and hasattr(model, "enterprise_id"):
        return stmt.where(model.enterprise_id == principal.organisation_id)
    if principal.org_kind is OrgKind.INSTITUTION and hasattr(model, "institution_id"):
        return scope_to_organisation(stmt, principal, model.institution_id)
    if sees_all_organisations(principal):
        return stmt
    return stmt.where(false())  # nobody else reads these tables' rows directly


def get_scoped(
    session: Session, principal: Principal, model: type[T], object_id: int, *, lock: bool = False
) -> T:
    """One object the principal may see, else NotFound (``lock``: held FOR UPDATE until commit)."""
    stmt = scoped(select(model).where(model.id == object_id), principal, model)
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound()
    return found
