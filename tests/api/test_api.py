"""The JSON API: problem+json errors, machine clients, limits, operations endpoints."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn
from xinyidai import demo
from xinyidai.accounts.models import Organisation
from xinyidai.core.database import session_scope


def assert_problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"] and body["request_id"]
    return body


def organisation_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Organisation)) or 0)


def test_anonymous_gets_401_problem_in_chinese(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/me"), 401, "unauthenticated")
    assert body["title"] == "请先登录"


def test_english_on_request(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/me", headers={"Accept-Language": "en"}), 401, "unauthenticated")
    assert body["title"] == "Please log in first"


def test_forbidden_is_403_problem(login: Callable[[str], LoggedIn]) -> None:
    bank = login("bank_manager")
    assert_problem(bank.client.get("/api/v1/organisations"), 403, "forbidden")


def test_cookie_session_api_writes_need_the_csrf_header(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    op = login("op_admin")
    payload = {
        "kind": "department",
        "name": "威海市科学技术局",
        "region_code": "371000",
        "admin_username": "sci_admin",
        "admin_display_name": "科技局管理员",
    }
    before = organisation_count(engine)
    assert_problem(op.client.post("/api/v1/organisations", json=payload), 403, "csrf_failed")
    assert organisation_count(engine) == before
    created = op.client.post("/api/v1/organisations", json=payload, headers={"X-CSRF-Token": op.csrf})
    assert created.status_code == 201, created.text
    assert created.json()["temporary_password"]
    assert organisation_count(engine) == before + 1


def test_validation_errors_name_the_fields(login: Callable[[str], LoggedIn]) -> None:
    op = login("op_admin")
    response = op.client.post(
        "/api/v1/organisations", json={"kind": "bank", "name": "x"}, headers={"X-CSRF-Token": op.csrf}
    )
    body = assert_problem(response, 422, "validation_failed")
    fields = {e["field"] for e in body["errors"]}
    assert {"kind", "name", "region_code", "admin_username"} <= fields


def test_broken_json_is_a_clear_422(login: Callable[[str], LoggedIn]) -> None:
    op = login("op_admin")
    response = op.client.post(
        "/api/v1/organisations",
        content=b'{"kind": ',
        headers={"X-CSRF-Token": op.csrf, "content-type": "application/json"},
    )
    assert_problem(response, 422, "validation_failed")


def test_oversized_body_is_413_and_changes_nothing(client: TestClient, engine: Engine, world: object) -> None:
    before = organisation_count(engine)
    response = client.post(
        "/api/v1/enterprises/register",
        content=b"x" * (11 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 413, "payload_too_large")
    assert organisation_count(engine) == before


def test_oversized_chunked_body_is_413(client: TestClient, world: object) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(12):
            yield b"y" * (1024 * 1024)

    response = client.post(
        "/api/v1/enterprises/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_register_by_api_reports_a_bad_code_precisely(
    client: TestClient, engine: Engine, world: object
) -> None:
    before = organisation_count(engine)
    response = client.post(
        "/api/v1/enterprises/register",
        json={
            "uscc": "91350100M000100Y4O",
            "legal_representative": "张三",
            "username": "api_firm",
            "display_name": "张三",
            "password": "Qy!reg2026x",
        },
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "uscc"
    assert "O" in body["detail"] and "18" in body["detail"]
    assert organisation_count(engine) == before


def test_register_by_api_then_duplicate_is_409(client: TestClient, engine: Engine, world: object) -> None:
    with session_scope(engine) as session:
        example = demo.unregistered_example(session)
        assert example is not None
        uscc, legal = example.uscc, example.legal_representative
    payload = {
        "uscc": uscc,
        "legal_representative": legal,
        "username": "api_firm",
        "display_name": "财务",
        "password": "Qy!reg2026x",
    }
    created = client.post("/api/v1/enterprises/register", json=payload)
    assert created.status_code == 201, created.text
    assert created.json()["organisation"]["uscc"] == uscc
    again = client.post("/api/v1/enterprises/register", json={**payload, "username": "api_firm2"})
    assert_problem(again, 409, "duplicate_registration")


def test_uscc_check_endpoint(client: TestClient) -> None:
    good = client.get("/api/v1/uscc/91310115MA1K3BTP2B").json()
    assert good["valid"] and good["division_code"] == "310115" and good["entity_kind"] == "enterprise"
    bad = client.get("/api/v1/uscc/91110000600037341N").json()
    assert not bad["valid"] and bad["reason"] == "check_character" and "L" in bad["message"]


def test_machine_client_flow(login: Callable[[str], LoggedIn], app) -> None:  # type: ignore[no-untyped-def]
    bank = login("bank_admin")
    page = bank.post_form("/org/api-clients", {"name": "信贷核心系统", "scopes": ["authenticated"]})
    assert page.status_code == 200
    import re

    client_id = re.search(r"<code>(xyd_[^<]+)</code>", page.text).group(1)  # type: ignore[union-attr]
    secret = re.search(
        r'data-testid="client-secret">.*?<code>[^<]+</code>.*?<code>([^<]+)</code>', page.text, re.S
    ).group(1)  # type: ignore[union-attr]
    machine = TestClient(app, base_url="https://testserver")
    wrong = machine.post(
        "/api/v1/auth/token",
        data={"client_id": client_id, "client_secret": "nope", "grant_type": "client_credentials"},
    )
    assert_problem(wrong, 401, "login_failed")
    token = machine.post(
        "/api/v1/auth/token",
        data={"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"},
    )
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    me = machine.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200 and me.json()["organisation_kind"] == "institution"
    assert "institution_admin" not in me.json()["roles"]
    # Scoped: the client was granted only "authenticated", not staff listing.
    staff = machine.get("/api/v1/staff", headers={"Authorization": f"Bearer {access}"})
    assert_problem(staff, 403, "forbidden")
    bogus = machine.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(bogus, 401, "unauthenticated")


def test_staff_api_masks_phones(login: Callable[[str], LoggedIn]) -> None:
    bank = login("bank_admin")
    staff = bank.client.get("/api/v1/staff").json()
    assert staff and all("*" in s["phone_masked"] for s in staff)
    assert all("phone" not in s for s in staff)


def test_health_ready_metrics_and_request_id(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "migrations": "current"}
    response = client.get("/login", headers={"X-Request-ID": "abcdef123456"})
    assert response.headers["x-request-id"] == "abcdef123456"
    metrics = client.get("/metrics").text
    assert 'xyd_http_requests_total{method="GET",route="/login",status="200"}' in metrics
    assert "xyd_http_request_duration_seconds_bucket" in metrics


def test_openapi_and_docs_are_served_locally(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/me" in spec["paths"]
    docs = client.get("/api/docs").text
    assert "/api/docs-assets/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()
    assert client.get("/api/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_each_organisation_is_offered_its_scopes(login: Callable[[str], LoggedIn]) -> None:
    bank = login("bank_admin").client.get("/org/api-clients").text
    assert 'value="market.products.manage"' in bank and 'value="market.credit.decide"' in bank
    assert 'value="data.push"' not in bank  # only departments deliver data
    department = login("gov_admin").client.get("/org/api-clients").text
    assert 'value="data.push"' in department and 'value="market.products.manage"' not in department


def test_a_nul_character_is_refused_not_a_server_error(client: TestClient) -> None:
    """PostgreSQL cannot store NUL; a request carrying one gets a 422 problem, on both databases."""
    response = client.post("/api/v1/auth/token", data={"client_id": "\x00", "client_secret": "x"})
    assert response.status_code in (401, 422), response.text
    assert response.status_code != 500
