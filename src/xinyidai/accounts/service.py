"""Use cases of the accounts capability: the only entry point for routers, the CLI and other capabilities.

Services flush; the caller's unit of work commits. Every state change writes an audit record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts import repository as repo
from xinyidai.accounts.errors import (
    DuplicateRegistration,
    RegistrationRejected,
    SecondFactorFailed,
    UsernameTaken,
)
from xinyidai.accounts.models import (
    ApiClient,
    ApiToken,
    DepartmentProfile,
    EnterpriseProfile,
    InstitutionProfile,
    LoginSession,
    Organisation,
    RecoveryCode,
    User,
    UserRole,
)
from xinyidai.accounts.schemas import (
    USERNAME_RE,
    EnterpriseRegistration,
    Invited,
    LoginOutcome,
    OrganisationCreate,
    StaffInvite,
)
from xinyidai.core import notifications, security
from xinyidai.core.access import (
    MFA_ROLES,
    ORG_ADMIN_ROLE,
    ROLE_ORG_KIND,
    OrgKind,
    Permission,
    Principal,
    Role,
    require,
)
from xinyidai.core.audit import ActorFields, AuditRecord, record_event
from xinyidai.core.clock import SHANGHAI, today_local, utcnow
from xinyidai.core.codes import industry_division, is_known_region
from xinyidai.core.errors import (
    AccountLocked,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from xinyidai.core.i18n import N_
from xinyidai.core.uscc import InvalidUSCC, validate_uscc
from xinyidai.data import service as data_service
from xinyidai.data.models import RegistryEnterprise
from xinyidai.rating.service import GradeChange


@dataclass(frozen=True)
class SecurityPolicy:
    """The login rules in force (from settings)."""

    max_failed_logins: int = 5
    lockout_minutes: int = 15
    session_idle_minutes: int = 30
    api_token_minutes: int = 60
    # MLPS level 3: passwords changed regularly. 0 turns the rule off.
    password_max_age_days: int = 90


# --- principals -------------------------------------------------------------------------------


def principal_for(user: User) -> Principal:
    """The principal a logged-in user acts as."""
    org = user.organisation
    return Principal(
        user_id=user.id,
        organisation_id=org.id,
        org_kind=OrgKind(org.kind),
        roles=frozenset(Role(r) for r in user.roles),
        username=user.username,
        region_code=org.region_code,
    )


def requires_second_factor(user: User) -> bool:
    """Administrators confirm with a TOTP code (MLPS level 3: two factors for admins)."""
    return any(Role(r) in MFA_ROLES for r in user.roles)


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


# --- users ------------------------------------------------------------------------------------


def _check_username(session: Session, username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "The username must be 3-32 characters: letters, digits, '_', '.' or '-', starting with a letter"
            " or digit",
            field="username",
        )
    if repo.user_by_username(session, username) is not None:
        raise UsernameTaken(field="username")
    return username


def _check_roles(roles: Iterable[str], org_kind: OrgKind) -> list[Role]:
    checked: list[Role] = []
    for raw in roles:
        try:
            role = Role(raw)
        except ValueError:
            raise ValidationFailed("Unknown role: %(role)s", field="roles", role=raw) from None
        if ROLE_ORG_KIND[role] is not org_kind:
            raise ValidationFailed(
                "The role %(role)s does not belong to this kind of organisation", field="roles", role=raw
            )
        checked.append(role)
    if not checked:
        raise ValidationFailed("Choose at least one role", field="roles")
    return sorted(set(checked))


def create_user(
    session: Session,
    organisation: Organisation,
    *,
    username: str,
    display_name: str,
    roles: Iterable[str],
    password: str | None = None,
    phone: str | None = None,
    must_change_password: bool = False,
    password_hash: str | None = None,
) -> Invited:
    """Create a user in an organisation. Without a password, a temporary one is generated.

    ``password_hash`` lets a bulk loader (the demo city) hash a shared password once.

    Raises:
        ValidationFailed: bad username, role or password. UsernameTaken: duplicate username.
    """
    username = _check_username(session, username)
    checked_roles = _check_roles(roles, OrgKind(organisation.kind))
    if password is None:
        password = security.temporary_password()
        must_change_password = True
    else:
        security.check_password_policy(password, username)
    user = User(
        organisation_id=organisation.id,
        username=username,
        display_name=display_name.strip(),
        phone=(phone or "").strip() or None,
        password_hash=password_hash or security.hash_password(password),
        must_change_password=must_change_password,
        password_changed_at=utcnow(),
        failed_logins=0,
        is_active=True,
        totp_enabled=False,
    )
    user.organisation = organisation
    user.role_links = [UserRole(role=r.value) for r in checked_roles]
    session.add(user)
    session.flush()
    return Invited(user=user, temporary_password=password)


def invite_staff(session: Session, principal: Principal, data: StaffInvite) -> Invited:
    """An organisation admin adds staff to their own organisation; they change the password at first login."""
    require(principal, Permission.ORG_STAFF_MANAGE)
    org = session.get(Organisation, principal.organisation_id)
    if org is None:
        raise NotFound()
    invited = create_user(
        session,
        org,
        username=data.username,
        display_name=data.display_name,
        roles=data.roles,
        phone=data.phone,
    )
    _audit(session, principal, "user.invite", "user", invited.user.id, {"roles": invited.user.roles})
    return invited


def list_staff(session: Session, principal: Principal, organisation_id: int | None = None) -> Sequence[User]:
    """Users of the principal's organisation (operator staff may look at any organisation's)."""
    require(principal, Permission.ORG_STAFF_READ)
    return repo.list_users(session, principal, organisation_id or principal.organisation_id)


def _staff_member(session: Session, principal: Principal, user_id: int) -> User:
    require(principal, Permission.ORG_STAFF_MANAGE)
    user = repo.user_in_scope(session, principal, user_id)
    # Admins manage only their own organisation, also the operator admin.
    if user is None or user.organisation_id != principal.organisation_id:
        raise NotFound()
    return user


def set_user_active(session: Session, principal: Principal, user_id: int, active: bool) -> User:
    """Disable or re-enable a member of staff; disabling ends all their sessions."""
    user = _staff_member(session, principal, user_id)
    if user.id == principal.user_id and not active:
        raise ValidationFailed("You cannot disable your own account")
    user.is_active = active
    if not active:
        _end_sessions(session, user.id)
    _audit(session, principal, "user.enable" if active else "user.disable", "user", user.id)
    return user


def change_roles(session: Session, principal: Principal, user_id: int, roles: Iterable[str]) -> User:
    """An organisation admin changes the roles of a member of staff (recorded with before and after).

    Admins cannot change their own roles (nobody grants themselves rights, nor locks the organisation
    out of its only admin by mistake).
    """
    user = _staff_member(session, principal, user_id)
    if user.id == principal.user_id:
        raise ValidationFailed("You cannot change your own roles", field="roles")
    checked = _check_roles(roles, OrgKind(user.organisation.kind))
    before = user.roles
    wanted = {r.value for r in checked}
    for link in list(user.role_links):
        if link.role not in wanted:
            user.role_links.remove(link)
    for role in sorted(wanted - set(before)):
        user.role_links.append(UserRole(role=role))
    session.flush()
    if before != user.roles:
        _end_sessions(session, user.id)  # the new rights apply from the next login
    _audit(session, principal, "user.roles", "user", user.id, {"before": before, "after": user.roles})
    return user


def reset_password(session: Session, principal: Principal, user_id: int) -> str:
    """Give a member of staff a new temporary password (and unlock them); returns it once."""
    user = _staff_member(session, principal, user_id)
    temporary = security.temporary_password()
    user.password_hash = security.hash_password(temporary)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    _end_sessions(session, user.id)
    _audit(session, principal, "user.reset_password", "user", user.id)
    return temporary


def change_password(
    session: Session, user: User, current: str, new: str, *, keep: LoginSession | None = None
) -> None:
    """The user changes their own password; every session but ``keep`` (the one in use) ends.

    Raises:
        AuthenticationFailed: the current password is wrong. ValidationFailed: policy or reuse.
    """
    if not security.verify_password(user.password_hash, current):
        record_event(session, "user.change_password", result="failure", **_who(user))
        raise AuthenticationFailed("The current password is incorrect", field="current_password")
    security.check_password_policy(new, user.username)
    if security.verify_password(user.password_hash, new):
        raise ValidationFailed("The new password must differ from the current one", field="new_password")
    user.password_hash = security.hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    for other in repo.sessions_of_user(session, user.id):
        if keep is None or other.id != keep.id:
            session.delete(other)
    record_event(session, "user.change_password", **_who(user))


# --- login, sessions, second factor ----------------------------------------------------------


def login(
    session: Session,
    username: str,
    password: str,
    policy: SecurityPolicy,
    *,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> LoginOutcome:
    """Check a username and password and open a session.

    The failure message never says whether the user exists. After ``max_failed_logins`` failures in
    a row the account is locked for ``lockout_minutes``.

    Raises:
        AuthenticationFailed, AccountLocked.
    """
    user = repo.user_by_username(session, username)
    now = utcnow()
    if user is not None and is_locked(user):
        security.verify_password(None, password)
        record_event(session, "login", result="denied", detail={"reason": "locked"}, **_who(user))
        raise AccountLocked(
            "Too many failed logins: the account is locked; try again in %(minutes)s minutes",
            minutes=_minutes_left(user),
        )
    # Always one hash check, also for an unknown user, so response time does not reveal who exists.
    password_ok = security.verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= policy.max_failed_logins:
                user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
                user.failed_logins = 0
                record_event(session, "login", result="failure", detail={"locked": True}, **_who(user))
                record_event(
                    session,
                    "account.locked",
                    result="denied",
                    object_type="user",
                    object_id=user.id,
                    detail={"minutes": policy.lockout_minutes, "after": "password"},
                    **_who(user),
                )
                raise AccountLocked(
                    "Too many failed logins: the account is locked; try again in %(minutes)s minutes",
                    minutes=policy.lockout_minutes,
                )
            record_event(session, "login", result="failure", **_who(user))
        else:
            record_event(session, "login", result="failure", detail={"username": username[:64]})
        raise AuthenticationFailed()
    user.failed_logins = 0
    user.locked_until = None
    if password_expired(user, policy):
        user.must_change_password = True
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    token = security.new_token()
    needs_mfa = requires_second_factor(user)
    session.add(
        LoginSession(
            token_hash=security.token_digest(token),
            user_id=user.id,
            csrf_token=security.new_token(24),
            mfa_passed=not needs_mfa,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:300],
            created_at=now,
            last_seen_at=now,
        )
    )
    if not needs_mfa:
        _record_successful_login(user, ip_address)
    record_event(session, "login", detail={"stage": "password"}, **_who(user))
    return LoginOutcome(
        user=user,
        session_token=token,
        needs_second_factor=needs_mfa and user.totp_enabled,
        needs_totp_enrolment=needs_mfa and not user.totp_enabled,
        must_change_password=user.must_change_password,
    )


def password_expired(user: User, policy: SecurityPolicy) -> bool:
    """True when the password is older than ``password_max_age_days``."""
    if not policy.password_max_age_days or user.password_changed_at is None:
        return False
    return utcnow() - user.password_changed_at > timedelta(days=policy.password_max_age_days)


def _record_successful_login(user: User, ip_address: str | None) -> None:
    """Move the last login to "previous" (shown to the user) and record this one."""
    user.previous_login_at, user.previous_login_ip = user.last_login_at, user.last_login_ip
    user.last_login_at, user.last_login_ip = utcnow(), ip_address


def _minutes_left(user: User) -> int:
    assert user.locked_until is not None
    return max(1, int((user.locked_until - utcnow()).total_seconds() // 60) + 1)


LAST_SEEN_RESOLUTION = timedelta(seconds=30)


def resolve_session(session: Session, token: str | None, policy: SecurityPolicy) -> LoginSession | None:
    """The live session for a cookie token; ends and forgets it after the idle timeout."""
    if not token:
        return None
    login_session = repo.session_by_token_hash(session, security.token_digest(token))
    if login_session is None:
        return None
    now = utcnow()
    user = login_session.user
    if (
        now - login_session.last_seen_at > timedelta(minutes=policy.session_idle_minutes)
        or not user.is_active
    ):
        session.delete(login_session)
        record_event(session, "session.expire", **_who(user))
        return None
    # The idle clock needs minute precision, not a write per request: under many concurrent requests of one
    # session every write would queue on the same row (and on SQLite's single writer).
    if now - login_session.last_seen_at > LAST_SEEN_RESOLUTION:
        login_session.last_seen_at = now
    return login_session


def pass_second_factor(session: Session, login_session: LoginSession, code: str) -> None:
    """Confirm an administrator's session with a TOTP code or an unused recovery code.

    Failures count towards the same lockout as passwords.
    """
    user = login_session.user
    ok = bool(user.totp_secret) and security.verify_totp(user.totp_secret or "", code)
    used_recovery = False
    if not ok:
        wanted = security.normalise_recovery_code(code)
        for rc in repo.unused_recovery_codes(session, user.id):
            if security.verify_password(rc.code_hash, wanted):
                rc.used_at = utcnow()
                ok = used_recovery = True
                break
    if not ok:
        user.failed_logins += 1
        record_event(session, "login.second_factor", result="failure", **_who(user))
        if user.failed_logins >= SecurityPolicy.max_failed_logins:
            user.locked_until = utcnow() + timedelta(minutes=SecurityPolicy.lockout_minutes)
            user.failed_logins = 0
            session.delete(login_session)
            record_event(
                session,
                "account.locked",
                result="denied",
                object_type="user",
                object_id=user.id,
                detail={"minutes": SecurityPolicy.lockout_minutes, "after": "second_factor"},
                **_who(user),
            )
        raise SecondFactorFailed(field="code")
    user.failed_logins = 0
    _record_successful_login(user, login_session.ip_address)
    login_session.mfa_passed = True
    record_event(session, "login.second_factor", detail={"recovery_code": used_recovery}, **_who(user))


def begin_totp_enrolment(user: User) -> str:
    """A new secret for the user to add to an authenticator app (not active until confirmed)."""
    return security.new_totp_secret()


def confirm_totp_enrolment(
    session: Session, login_session: LoginSession, secret: str, code: str
) -> list[str]:
    """Activate TOTP once the app shows a correct code; returns recovery codes to show once."""
    user = login_session.user
    if not security.verify_totp(secret, code):
        raise SecondFactorFailed(field="code")
    user.totp_secret = secret
    user.totp_enabled = True
    codes = security.new_recovery_codes()
    for old in repo.unused_recovery_codes(session, user.id):
        session.delete(old)
    session.add_all(RecoveryCode(user_id=user.id, code_hash=security.hash_password(c)) for c in codes)
    login_session.mfa_passed = True
    _record_successful_login(user, login_session.ip_address)
    record_event(session, "user.totp_enrol", **_who(user))
    return codes


def session_count(session: Session, user_id: int) -> int:
    """How many live sessions (browsers, devices) the user has."""
    return len(repo.sessions_of_user(session, user_id))


def logout(session: Session, token: str | None) -> None:
    if not token:
        return
    login_session = repo.session_by_token_hash(session, security.token_digest(token))
    if login_session is not None:
        record_event(session, "logout", **_who(login_session.user))
        session.delete(login_session)


def logout_everywhere(session: Session, user: User) -> int:
    """End every session of the user (all browsers and devices); returns how many ended."""
    n = _end_sessions(session, user.id)
    record_event(session, "logout.all", detail={"sessions": n}, **_who(user))
    return n


def _end_sessions(session: Session, user_id: int) -> int:
    sessions = repo.sessions_of_user(session, user_id)
    for s in sessions:
        session.delete(s)
    return len(sessions)


# --- organisations ----------------------------------------------------------------------------


def register_enterprise(session: Session, data: EnterpriseRegistration) -> User:
    """An enterprise registers itself and becomes its own admin.

    Verified against the enterprise registry: the USCC must exist, be in business (存续), and the
    legal representative's name must match.

    Raises:
        ValidationFailed (bad USCC, naming what is wrong), RegistrationRejected, DuplicateRegistration.
    """
    try:
        uscc = validate_uscc(data.uscc).value
    except InvalidUSCC as exc:
        raise ValidationFailed(exc.message, field="uscc", **exc.params) from None
    record = data_service.find_registered_enterprise(session, uscc)
    if record is None or record.legal_representative.strip() != data.legal_representative:
        record_event(session, "enterprise.register", result="failure", object_type="uscc", object_id=uscc)
        raise RegistrationRejected(
            "No enterprise with this unified social credit code and legal representative is in the registry",
            field="uscc",
        )
    if record.status != data_service.ACTIVE_STATUS:
        raise RegistrationRejected(
            "The registry shows this enterprise as %(status)s; only enterprises in business can register",
            field="uscc",
            status=record.status,
        )
    if repo.enterprise_by_uscc(session, uscc) is not None:
        raise DuplicateRegistration(field="uscc")
    _check_username(session, data.username)
    security.check_password_policy(data.password, data.username)
    org = enterprise_from_registry(record)
    session.add(org)
    session.flush()
    user = create_user(
        session,
        org,
        username=data.username,
        display_name=data.display_name,
        roles=[Role.ENTERPRISE_ADMIN],
        password=data.password,
        phone=data.phone,
    ).user
    record_event(session, "enterprise.register", object_type="organisation", object_id=org.id, **_who(user))
    return user


def enterprise_from_registry(record: RegistryEnterprise) -> Organisation:
    """A verified enterprise organisation built from its registry master record (not yet added)."""
    division = industry_division(record.industry_division)
    org = Organisation(kind=OrgKind.ENTERPRISE.value, name=record.name, region_code=record.region_code)
    org.enterprise = EnterpriseProfile(
        uscc=record.uscc,
        industry_section=division.section,
        industry_division=division.code,
        size_class=record.size_class,
        legal_representative=record.legal_representative,
        registry_status=record.status,
        verified_at=utcnow(),
    )
    return org


def onboard_organisation(
    session: Session, principal: Principal, data: OrganisationCreate
) -> tuple[Organisation, Invited]:
    """The operator onboards a financial institution or a department and invites its first admin."""
    require(principal, Permission.ORGANISATIONS_MANAGE)
    if not is_known_region(data.region_code):
        raise ValidationFailed(
            "Unknown administrative division code %(code)s", field="region_code", code=data.region_code
        )
    kind = OrgKind(data.kind)
    if kind is OrgKind.INSTITUTION and not data.institution_type:
        raise ValidationFailed("Choose the type of financial institution", field="institution_type")
    if data.parent_id is not None:
        parent = session.get(Organisation, data.parent_id)
        if parent is None or parent.kind != kind.value:
            raise ValidationFailed("The parent organisation must be of the same kind", field="parent_id")
    org = Organisation(
        kind=kind.value, name=data.name.strip(), region_code=data.region_code, parent_id=data.parent_id
    )
    if kind is OrgKind.INSTITUTION:
        org.institution = InstitutionProfile(institution_type=data.institution_type or "bank")
    else:
        org.department = DepartmentProfile(provides_data=False)
    session.add(org)
    session.flush()
    invited = create_user(
        session,
        org,
        username=data.admin_username,
        display_name=data.admin_display_name,
        roles=[ORG_ADMIN_ROLE[kind]],
        phone=data.admin_phone,
    )
    _audit(session, principal, "organisation.onboard", "organisation", org.id, {"kind": kind.value})
    return org, invited


def list_organisations(
    session: Session, principal: Principal, kind: str | None = None, limit: int = 200, offset: int = 0
) -> Sequence[Organisation]:
    require(principal, Permission.ORGANISATIONS_READ)
    return repo.list_organisations(session, principal, kind, limit, offset)


def organisation_of(session: Session, principal: Principal) -> Organisation:
    """The principal's own organisation."""
    return repo.organisation_visible(session, principal, principal.organisation_id)


def organisation_counts(session: Session, principal: Principal) -> dict[str, int]:
    require(principal, Permission.ORGANISATIONS_READ)
    return repo.count_organisations_by_kind(session)


def organisation_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The names of organisations by id (to label records that refer to them by id)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted)))
    return {org_id: name for org_id, name in rows}


def branches(session: Session, principal: Principal) -> Sequence[Organisation]:
    return repo.branches_of(session, principal.organisation_id)


# --- API clients (machine access) ------------------------------------------------------------


def create_api_client(
    session: Session, principal: Principal, name: str, scopes: Sequence[str]
) -> tuple[ApiClient, str]:
    """An institution or department admin registers one of its own systems; the secret is shown once."""
    require(principal, Permission.API_CLIENTS_MANAGE)
    name = name.strip()
    if not 2 <= len(name) <= 100:
        raise ValidationFailed("The name must be 2-100 characters", field="name")
    valid = {p.value for p in Permission}
    for scope in scopes:
        if scope not in valid:
            raise ValidationFailed("Unknown scope: %(scope)s", field="scopes", scope=scope)
    secret = security.new_token(32)
    # The client acts with the organisation's non-admin roles; an API client never administers.
    kind = principal.org_kind
    roles = [r.value for r, k in ROLE_ORG_KIND.items() if k is kind and r is not ORG_ADMIN_ROLE[kind]]
    client = ApiClient(
        organisation_id=principal.organisation_id,
        name=name,
        client_id="xyd_" + security.new_token(12),
        secret_hash=security.hash_password(secret),
        scopes=sorted(set(scopes)),
        roles=roles,
        is_active=True,
        created_by=principal.user_id,
    )
    session.add(client)
    session.flush()
    _audit(session, principal, "api_client.create", "api_client", client.id, {"scopes": client.scopes})
    return client, secret


def list_api_clients(session: Session, principal: Principal) -> Sequence[ApiClient]:
    require(principal, Permission.API_CLIENTS_MANAGE)
    return repo.list_api_clients(session, principal)


def revoke_api_client(session: Session, principal: Principal, client_pk: int) -> None:
    require(principal, Permission.API_CLIENTS_MANAGE)
    client = session.get(ApiClient, client_pk)
    if client is None or client.organisation_id != principal.organisation_id:
        raise NotFound()
    client.is_active = False
    _audit(session, principal, "api_client.revoke", "api_client", client.id)


def issue_api_token(session: Session, client_id: str, secret: str, policy: SecurityPolicy) -> tuple[str, int]:
    """Client-credentials grant: a bearer token and its lifetime in seconds."""
    client = repo.api_client_by_client_id(session, client_id)
    # An unknown client id still costs one hash check, so timing does not reveal which ids exist.
    secret_ok = security.verify_password(client.secret_hash if client else None, secret)
    if client is None or not client.is_active or not secret_ok:
        record_event(session, "api.token", result="failure", detail={"client_id": client_id[:64]})
        raise AuthenticationFailed("Invalid client credentials")
    token = security.new_token()
    lifetime = timedelta(minutes=policy.api_token_minutes)
    session.add(
        ApiToken(token_hash=security.token_digest(token), client_id=client.id, expires_at=utcnow() + lifetime)
    )
    record_event(
        session,
        "api.token",
        actor_organisation_id=client.organisation_id,
        object_type="api_client",
        object_id=client.id,
    )
    return token, int(lifetime.total_seconds())


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The principal behind a bearer token, or None if unknown, expired or revoked."""
    api_token = repo.api_token_by_hash(session, security.token_digest(token))
    if api_token is None or api_token.expires_at <= utcnow() or not api_token.client.is_active:
        return None
    client = api_token.client
    org = session.get(Organisation, client.organisation_id)
    if org is None or org.status != "active":
        return None
    _record_api_use(session, client)
    return Principal(
        user_id=None,
        organisation_id=org.id,
        org_kind=OrgKind(org.kind),
        roles=frozenset(Role(r) for r in client.roles),
        username=client.client_id,
        region_code=org.region_code,
        api_client_id=client.id,
        scopes=frozenset(client.scopes),
    )


def _record_api_use(session: Session, client: ApiClient) -> None:
    """Record an API client's use in the audit trail once per client and day (Asia/Shanghai).

    One indexed look-up per API request keeps it cheap; the per-request detail (route, time, status) is
    in the access log. The token issue itself is recorded by ``issue_api_token``.
    """
    day_start = datetime.combine(today_local(), time(0), tzinfo=SHANGHAI)
    seen = session.scalar(
        select(AuditRecord.id)
        .where(
            AuditRecord.event_type == "api.use",
            AuditRecord.occurred_at >= day_start,
            AuditRecord.object_id == str(client.id),
        )
        .limit(1)
    )
    if seen is None:
        record_event(
            session,
            "api.use",
            actor_username=client.client_id,
            actor_organisation_id=client.organisation_id,
            object_type="api_client",
            object_id=client.id,
            detail={"name": client.name},
        )


# --- helpers ----------------------------------------------------------------------------------


def _who(user: User) -> ActorFields:
    return {
        "actor_user_id": user.id,
        "actor_username": user.username,
        "actor_organisation_id": user.organisation_id,
    }


def _audit(
    session: Session,
    principal: Principal,
    event_type: str,
    object_type: str,
    object_id: int,
    detail: dict[str, object] | None = None,
) -> None:
    if principal.user_id is None and principal.api_client_id is None:
        raise PermissionDenied()
    record_event(
        session,
        event_type,
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )


def notify_downgrades(session: Session, changes: Iterable[GradeChange]) -> int:
    """Tell each downgraded enterprise on the platform (its admin and staff) that its grade fell.

    Enterprises that have not registered on the platform have nobody to tell. Returns how many
    enterprises were notified. (Once loans exist, the lending banks are told too.)
    """
    downgraded = {c.uscc: c for c in changes if c.is_downgrade}
    if not downgraded:
        return 0
    profiles = session.scalars(select(EnterpriseProfile).where(EnterpriseProfile.uscc.in_(list(downgraded))))
    count = 0
    for profile in profiles:
        change = downgraded[profile.uscc]
        for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF):
            notifications.notify_role(
                session,
                role,
                organisation_id=profile.organisation_id,
                topic="rating",
                key=f"downgrade:{profile.uscc}",
                severity="warning",
                title=N_("Your credit grade fell from %(previous)s to %(grade)s"),
                body=N_(
                    "In the rating of %(as_of)s your score went from %(previous_score)s to %(score)s. "
                    "See the reasons on your rating page; if data about you is wrong, raise an objection."
                ),
                params={
                    "previous": change.previous_grade,
                    "grade": change.grade,
                    "previous_score": f"{change.previous_score:.0f}",
                    "score": f"{change.score:.0f}",
                    "as_of": change.as_of.isoformat(),
                },
                link="/enterprise",
            )
        count += 1
    return count
