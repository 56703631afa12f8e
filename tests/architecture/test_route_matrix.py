"""Every route × every role (anonymous included) against a declared matrix.

The matrix is written here, apart from the code, on purpose: a route whose guard changes, or a new
route nobody declared, fails this test. Add each new route to ``MATRIX``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from xinyidai.core.access import Role
from xinyidai.demo import DEMO_USERS

ANON = "anonymous"
EVERYONE = frozenset({ANON, *Role})
LOGGED_IN = frozenset(Role)
ENTERPRISE = frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF})
INSTITUTION = frozenset({Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER, Role.RISK_OFFICER})
GOVERNMENT = frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.FUND_MANAGER})
OPERATOR = frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR})
ORG_ADMINS = frozenset(
    {Role.ENTERPRISE_ADMIN, Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN, Role.OPERATOR_ADMIN}
)

# (method, path) → who may use it.
MATRIX: dict[tuple[str, str], frozenset[object]] = {
    ("GET", "/"): EVERYONE,
    ("GET", "/home"): LOGGED_IN,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("GET", "/login/totp"): LOGGED_IN,
    ("POST", "/login/totp"): LOGGED_IN,
    ("GET", "/account/totp/setup"): LOGGED_IN,
    ("POST", "/account/totp/setup"): LOGGED_IN,
    ("GET", "/account/password"): LOGGED_IN,
    ("POST", "/account/password"): LOGGED_IN,
    ("GET", "/account"): LOGGED_IN,
    ("GET", "/register"): EVERYONE,
    ("POST", "/register"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("POST", "/logout/all"): LOGGED_IN,
    ("POST", "/locale"): EVERYONE,
    ("GET", "/enterprise"): ENTERPRISE,
    ("GET", "/enterprise/rating"): ENTERPRISE,
    ("GET", "/enterprise/report"): ENTERPRISE,
    ("GET", "/enterprise/report.pdf"): ENTERPRISE,
    ("GET", "/reports/{uscc}"): INSTITUTION | OPERATOR,
    ("GET", "/reports/{uscc}.pdf"): INSTITUTION | OPERATOR,
    ("GET", "/api/v1/reports/{uscc}"): INSTITUTION | OPERATOR,
    ("GET", "/institution"): INSTITUTION,
    ("GET", "/government"): GOVERNMENT,
    ("GET", "/operator"): OPERATOR,
    ("GET", "/org/staff"): ORG_ADMINS,
    ("POST", "/org/staff"): ORG_ADMINS,
    ("POST", "/org/staff/{user_id}/disable"): ORG_ADMINS,
    ("POST", "/org/staff/{user_id}/enable"): ORG_ADMINS,
    ("POST", "/org/staff/{user_id}/reset-password"): ORG_ADMINS,
    ("GET", "/org/api-clients"): frozenset({Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}),
    ("POST", "/org/api-clients"): frozenset({Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}),
    ("POST", "/org/api-clients/{client_pk}/revoke"): frozenset(
        {Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}
    ),
    ("GET", "/operator/organisations"): OPERATOR,
    ("POST", "/operator/organisations"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/operator/registry"): frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN}),
    ("GET", "/operator/audit"): frozenset({Role.AUDITOR}),
    ("POST", "/api/v1/auth/token"): EVERYONE,
    ("GET", "/api/v1/me"): LOGGED_IN,
    ("GET", "/api/v1/uscc/{code}"): EVERYONE,
    ("POST", "/api/v1/enterprises/register"): EVERYONE,
    ("GET", "/api/v1/organisations"): OPERATOR,
    ("POST", "/api/v1/organisations"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/api/v1/organisation"): LOGGED_IN,
    ("GET", "/api/v1/staff"): ORG_ADMINS | {Role.AUDITOR},
    ("GET", "/operator/data"): OPERATOR,
    ("GET", "/operator/data/{source_id}"): OPERATOR,
    ("GET", "/operator/data/{source_id}/quarantine"): frozenset({Role.DATA_ADMIN}),
    ("GET", "/operator/data/batches/{batch_id}"): OPERATOR,
    ("GET", "/api/v1/data/sources"): OPERATOR,
    ("GET", "/api/v1/data/sources/{source_id}"): OPERATOR,
    ("GET", "/api/v1/data/batches"): OPERATOR,
    ("POST", "/api/v1/ingest/{source_id}"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("GET", "/operator/quality"): OPERATOR,
    ("GET", "/operator/models"): OPERATOR,
    ("GET", "/operator/models/{model_id}"): OPERATOR,
    ("POST", "/operator/quality/run"): frozenset({Role.DATA_ADMIN}),
    ("GET", "/operator/quality/{run_id}"): OPERATOR,
    ("GET", "/operator/quality/{run_id}/report"): OPERATOR,
    ("GET", "/api/v1/data/quality/runs"): OPERATOR,
    ("GET", "/api/v1/data/quality/runs/{run_id}"): OPERATOR,
    ("GET", "/notifications"): LOGGED_IN,
    ("POST", "/notifications/{notification_id}/read"): LOGGED_IN,
    ("POST", "/notifications/read-all"): LOGGED_IN,
    ("GET", "/api/v1/notifications"): LOGGED_IN,
    ("GET", "/api/docs"): EVERYONE,
    ("GET", "/api/openapi.json"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): EVERYONE,
}

PATH_VALUES = {
    "user_id": "999999",
    "client_pk": "999999",
    "code": "91110000600037341L",
    "source_id": "tax_monthly",
    "run_id": "999999",
    "model_id": "999999",
    "uscc": "91110000600037341L",
    "batch_id": "no-such-batch",
    "notification_id": "999999",
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, included routers flattened; static mounts aside."""
    routes = set()
    for route in iter_route_contexts(app.routes):
        methods = getattr(route, "methods", None) or set()
        routes |= {(method, route.path) for method in methods if method != "HEAD"}
    return routes


def test_every_route_is_declared(app: FastAPI) -> None:
    assert app_routes(app) == set(MATRIX), "declare new routes in MATRIX (and remove deleted ones)"


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def _denied(method: str, path: str, status: int, location: str, anonymous: bool) -> bool:
    if status in (401, 403):
        return True
    # A page answers an anonymous visitor by sending them to the login page.
    return anonymous and status in (302, 303) and location.startswith("/login")


def test_route_role_matrix(app: FastAPI, login: Callable[[str], object]) -> None:
    from tests.conftest import new_client

    clients: dict[object, object] = {ANON: None}
    for username, _name, role, _org in DEMO_USERS:
        clients[role] = login(username)
    problems = []
    for (method, path), allowed in sorted(MATRIX.items()):
        if path in ("/logout", "/logout/all"):
            continue  # checked separately: logging out would end the clients' sessions
        for who, logged_in in clients.items():
            if logged_in is None:
                client = new_client(app)
                client.get("/login")
                headers = {"X-CSRF-Token": client.cookies.get("xyd_csrf", "")}
            else:
                client, headers = logged_in.client, {"X-CSRF-Token": logged_in.csrf}  # type: ignore[attr-defined]
            response = client.request(method, _url(path), headers=headers, follow_redirects=False)
            denied = _denied(
                method, path, response.status_code, response.headers.get("location", ""), who == ANON
            )
            if denied == (who in allowed):
                problems.append(f"{method} {path} as {who}: {response.status_code}")
            if denied and who != ANON and response.status_code != 403:
                problems.append(f"{method} {path} as {who}: expected 403, got {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/logout/all"])
def test_logout_all_needs_a_session(app: FastAPI, path: str) -> None:
    from tests.conftest import csrf_from, new_client

    client = new_client(app)
    token = csrf_from(client.get("/login").text)
    response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
