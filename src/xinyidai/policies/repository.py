"""Every query on the policy and fund supermarkets' tables that returns one tenant's objects, scoped.

A department sees its own policies, their applications and objections (``department_id``); a fund
manager's organisation its own funds and their applications (``manager_id``); an enterprise its own
applications (``enterprise_id``) and the published policies and open funds everybody may read. The
operator's staff read across. Another tenant's object answers NotFound, so its existence does not leak.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Principal, sees_all_organisations
from xinyidai.core.errors import NotFound
from xinyidai.policies.models import (
    InvestmentApplication,
    InvestmentFund,
    Policy,
    PolicyApplication,
    PolicyObjection,
)

T = TypeVar("T", Policy, PolicyApplication, PolicyObjection, InvestmentFund, InvestmentApplication)
S = TypeVar("S", bound=Select[Any])

# the column naming each table's owning organisation, by the kind of organisation that owns it
_OWNER: dict[type[Any], tuple[OrgKind, str]] = {
    Policy: (OrgKind.DEPARTMENT, "department_id"),
    PolicyApplication: (OrgKind.DEPARTMENT, "department_id"),
    PolicyObjection: (OrgKind.DEPARTMENT, "department_id"),
    InvestmentFund: (OrgKind.DEPARTMENT, "manager_id"),
    InvestmentApplication: (OrgKind.DEPARTMENT, "manager_id"),
}


def scoped(stmt: S, principal: Principal, model: type[Any]) -> S:
    """Restrict ``stmt`` to the rows of ``model`` the principal's organisation may see."""
    if sees_all_organisations(principal):
        return stmt
    kind, column = _OWNER[model]
    if principal.org_kind is kind:
        return stmt.where(getattr(model, column) == principal.organisation_id)
    if principal.org_kind is OrgKind.ENTERPRISE:
        if hasattr(model, "enterprise_id"):
            return stmt.where(model.enterprise_id == principal.organisation_id)
        if model is Policy:
            return stmt.where(Policy.status == "published")
        if model is InvestmentFund:
            return stmt.where(InvestmentFund.status == "open")
    return stmt.where(false())


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
