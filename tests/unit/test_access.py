from __future__ import annotations

import pytest

from xinyidai.core.access import (
    ROLE_ORG_KIND,
    ROLE_PERMISSIONS,
    OrgKind,
    Permission,
    Principal,
    Role,
    can,
    require,
)
from xinyidai.core.errors import AuthenticationRequired, PermissionDenied


def principal(*roles: Role, machine: bool = False, scopes: tuple[str, ...] = ()) -> Principal:
    return Principal(
        user_id=None if machine else 1,
        organisation_id=1,
        org_kind=ROLE_ORG_KIND[roles[0]],
        roles=frozenset(roles),
        username="x",
        api_client_id=7 if machine else None,
        scopes=frozenset(scopes),
    )


def test_every_permission_is_declared() -> None:
    assert set(ROLE_PERMISSIONS) == set(Permission)


def test_anonymous_may_do_nothing_protected() -> None:
    assert not any(can(None, p) for p in Permission)
    with pytest.raises(AuthenticationRequired):
        require(None, Permission.AUTHENTICATED)


def test_only_the_auditor_reads_the_audit_trail() -> None:
    assert ROLE_PERMISSIONS[Permission.AUDIT_READ] == {Role.AUDITOR}
    with pytest.raises(PermissionDenied):
        require(principal(Role.OPERATOR_ADMIN), Permission.AUDIT_READ)


def test_auditor_reads_but_changes_nothing() -> None:
    auditor = principal(Role.AUDITOR)
    assert can(auditor, Permission.ORGANISATIONS_READ)
    changing = [Permission.ORGANISATIONS_MANAGE, Permission.ORG_STAFF_MANAGE, Permission.API_CLIENTS_MANAGE]
    assert not any(can(auditor, p) for p in changing)


def test_each_role_belongs_to_one_kind_and_each_kind_has_an_admin() -> None:
    assert set(ROLE_ORG_KIND) == set(Role)
    assert {ROLE_ORG_KIND[r] for r in Role} == set(OrgKind)


def test_machine_clients_are_limited_to_their_scopes() -> None:
    bank_system = principal(Role.ACCOUNT_MANAGER, machine=True, scopes=(Permission.AUTHENTICATED.value,))
    assert can(bank_system, Permission.AUTHENTICATED)
    assert not can(bank_system, Permission.INSTITUTION_HOME)
