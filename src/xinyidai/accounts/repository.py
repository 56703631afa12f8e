"""Every query on the accounts tables. Tenant lists go through ``scope_to_organisation``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from xinyidai.accounts.models import (
    ApiClient,
    ApiToken,
    EnterpriseProfile,
    LoginSession,
    Organisation,
    RecoveryCode,
    User,
)
from xinyidai.core.access import Principal, ensure_same_organisation, scope_to_organisation
from xinyidai.core.errors import NotFound


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.username) == username.strip().lower())).first()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def session_by_token_hash(session: Session, token_hash: str) -> LoginSession | None:
    return session.scalars(select(LoginSession).where(LoginSession.token_hash == token_hash)).first()


def sessions_of_user(session: Session, user_id: int) -> Sequence[LoginSession]:
    return session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)).all()


def unused_recovery_codes(session: Session, user_id: int) -> Sequence[RecoveryCode]:
    return session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ).all()


def enterprise_by_uscc(session: Session, uscc: str) -> EnterpriseProfile | None:
    return session.scalars(select(EnterpriseProfile).where(EnterpriseProfile.uscc == uscc)).first()


def organisation_visible(session: Session, principal: Principal, organisation_id: int) -> Organisation:
    """An organisation the principal may see; another tenant's answers NotFound."""
    ensure_same_organisation(principal, organisation_id)
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound()
    return org


def list_users(session: Session, principal: Principal, organisation_id: int | None = None) -> Sequence[User]:
    """Users the principal may list: its own organisation's (the operator may pick any)."""
    stmt = scope_to_organisation(select(User), principal, User.organisation_id)
    if organisation_id is not None:
        stmt = stmt.where(User.organisation_id == organisation_id)
    return session.scalars(stmt.order_by(User.id)).all()


def user_in_scope(session: Session, principal: Principal, user_id: int) -> User | None:
    stmt = scope_to_organisation(select(User).where(User.id == user_id), principal, User.organisation_id)
    return session.scalars(stmt).first()


def list_organisations(
    session: Session, principal: Principal, kind: str | None = None, limit: int = 200, offset: int = 0
) -> Sequence[Organisation]:
    stmt = scope_to_organisation(select(Organisation), principal, Organisation.id).options(
        selectinload(Organisation.enterprise), selectinload(Organisation.institution)
    )
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    return session.scalars(stmt.order_by(Organisation.id).limit(limit).offset(offset)).all()


def count_organisations_by_kind(session: Session) -> dict[str, int]:
    rows = session.execute(select(Organisation.kind, func.count()).group_by(Organisation.kind)).all()
    return {kind: int(n) for kind, n in rows}


def branches_of(session: Session, organisation_id: int) -> Sequence[Organisation]:
    return session.scalars(
        select(Organisation).where(Organisation.parent_id == organisation_id).order_by(Organisation.id)
    ).all()


def list_api_clients(session: Session, principal: Principal) -> Sequence[ApiClient]:
    stmt = scope_to_organisation(select(ApiClient), principal, ApiClient.organisation_id)
    return session.scalars(stmt.order_by(ApiClient.id)).all()


def api_client_by_client_id(session: Session, client_id: str) -> ApiClient | None:
    return session.scalars(select(ApiClient).where(ApiClient.client_id == client_id)).first()


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()
