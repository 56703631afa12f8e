"""Pages over HTTP: login and its protections, forms that fail cleanly, language, error pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from tests.conftest import PASSWORD, LoggedIn, csrf_from, log_in, new_client
from xinyidai import demo
from xinyidai.accounts.models import LoginSession, Organisation, User
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope

ERROR_RE = re.compile(r'data-testid="form-error">([^<]+)<')


def form_error(html: str) -> str:
    match = ERROR_RE.search(html)
    assert match, "no form error shown"
    return match.group(1)


def post_login(client: TestClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, **extra},
        follow_redirects=False,
    )


def test_pages_are_chinese_by_default(client: TestClient) -> None:
    page = client.get("/login")
    assert '<html lang="zh-CN">' in page.text
    assert "登录" in page.text and "Log in" not in page.text


def test_english_is_selectable(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    client.post("/locale", data={"locale": "en", "next": "/login", "csrf_token": token})
    page = client.get("/login")
    assert '<html lang="en">' in page.text and "Log in" in page.text


def test_session_cookie_flags(client: TestClient, world: object) -> None:
    response = post_login(client, "ent_admin", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/enterprise"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in headers["content-security-policy"]


def test_wrong_password_does_not_reveal_whether_the_user_exists(client: TestClient, world: object) -> None:
    known = post_login(client, "ent_admin", "Wrong#pass1")
    unknown = post_login(client, "no_such_user", "Wrong#pass1")
    assert known.status_code == unknown.status_code == 422
    assert form_error(known.text) == form_error(unknown.text) == "用户名或密码错误"


def test_five_failures_lock_the_account(client: TestClient, world: object) -> None:
    for _ in range(4):
        assert form_error(post_login(client, "ent_staff", "Wrong#pass1").text) == "用户名或密码错误"
    locked = post_login(client, "ent_staff", "Wrong#pass1")
    assert locked.status_code == 423 and "锁定" in form_error(locked.text) and "15" in form_error(locked.text)
    still = post_login(client, "ent_staff", PASSWORD)
    assert still.status_code == 423 and "锁定" in form_error(still.text)


def test_form_without_csrf_token_is_refused(client: TestClient, world: object) -> None:
    response = client.post("/login", data={"username": "ent_admin", "password": PASSWORD})
    assert response.status_code == 403
    assert "表单已过期" in response.text or "刷新" in response.text
    assert "xyd_session" not in response.headers.get("set-cookie", "")


def test_csrf_token_of_another_session_is_refused(login: Callable[[str], LoggedIn]) -> None:
    bank = login("bank_admin")
    other = login("gov_admin")
    response = bank.client.post(
        "/org/staff",
        data={
            "csrf_token": other.csrf,
            "username": "x_user",
            "display_name": "x",
            "roles": "account_manager",
        },
    )
    assert response.status_code == 403


def test_next_parameter_cannot_redirect_off_site(client: TestClient, world: object) -> None:
    response = post_login(client, "ent_admin", PASSWORD, next="https://evil.example/")
    assert response.headers["location"] == "/enterprise"
    response = post_login(new_client(client.app), "ent_admin", PASSWORD, next="//evil.example/")  # type: ignore[arg-type]
    assert response.headers["location"] == "/enterprise"


def test_anonymous_pages_redirect_to_login(client: TestClient) -> None:
    response = client.get("/institution", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/institution"


def test_each_role_lands_on_its_home_with_its_navigation(login: Callable[[str], LoggedIn]) -> None:
    expectations = {
        "ent_admin": ("/enterprise", "企业首页", "人员管理"),
        "bank_manager": ("/institution", "金融机构工作台", "抢单大厅"),
        "fund_manager": ("/government", "政府部门工作台", "信保基金"),
        "op_audit": ("/operator", "运营管理台", "审计日志"),
    }
    for username, (path, title, nav_item) in expectations.items():
        user = login(username)
        page = user.client.get("/home")
        assert page.url.path == path
        assert title in page.text and nav_item in page.text, username


def test_not_yet_built_features_are_marked_coming_soon(login: Callable[[str], LoggedIn]) -> None:
    page = login("bank_manager").client.get("/institution").text
    assert "即将上线" in page
    assert 'href="/org/staff"' not in page  # staff management is for the institution admin only


def test_forbidden_and_missing_pages_are_friendly(
    login: Callable[[str], LoggedIn], client: TestClient
) -> None:
    forbidden = login("ent_admin").client.get("/operator")
    assert (
        forbidden.status_code == 403
        and "您没有执行此操作的权限" in forbidden.text
        and "返回首页" in forbidden.text
    )
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "不存在" in missing.text


def test_invalid_uscc_registration_says_why_and_keeps_the_form(
    client: TestClient, engine: Engine, world: object
) -> None:
    with session_scope(engine) as session:
        before = session.scalar(select(func.count()).select_from(Organisation))
    token = csrf_from(client.get("/register").text)
    response = client.post(
        "/register",
        data={
            "csrf_token": token,
            "uscc": "91110000600037341N",
            "legal_representative": "张三",
            "username": "firm_x",
            "display_name": "张三",
            "password": "Qy!reg2026x",
            "confirm_password": "Qy!reg2026x",
        },
    )
    assert response.status_code == 422
    message = form_error(response.text)
    assert "校验" in message and "L" in message
    assert 'value="firm_x"' in response.text and "Qy!reg2026x" not in response.text
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == before


def test_registration_then_login(client: TestClient, engine: Engine, world: object) -> None:
    with session_scope(engine) as session:
        example = demo.unregistered_example(session)
        assert example is not None
        uscc, legal, name = example.uscc, example.legal_representative, example.name
    token = csrf_from(client.get("/register").text)
    response = client.post(
        "/register",
        data={
            "csrf_token": token,
            "uscc": uscc.lower(),
            "legal_representative": legal,
            "username": "firm_ok",
            "display_name": "<b>财务</b>",
            "password": "Qy!reg2026x",
            "confirm_password": "Qy!reg2026x",
        },
    )
    assert response.status_code == 200 and name in response.text
    home = post_login(client, "firm_ok", "Qy!reg2026x")
    assert home.headers["location"] == "/enterprise"
    page = client.get("/enterprise").text
    assert uscc in page
    assert "&lt;b&gt;财务&lt;/b&gt;" in page and "<b>财务</b>" not in page


def test_html_in_staff_names_is_shown_as_text(login: Callable[[str], LoggedIn]) -> None:
    admin = login("bank_admin")
    page = admin.post_form(
        "/org/staff",
        {
            "username": "xss_user",
            "display_name": "<img src=x onerror=alert(1)>",
            "roles": ["account_manager"],
        },
    )
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and "<img src=x" not in page.text


def test_invited_user_must_change_password_first(
    app: FastAPI, engine: Engine, login: Callable[[str], LoggedIn]
) -> None:
    admin = login("bank_admin")
    page = admin.post_form(
        "/org/staff", {"username": "new_manager", "display_name": "新经理", "roles": ["account_manager"]}
    )
    temporary = re.search(r'data-testid="temporary-password">[^<]*<code>([^<]+)</code>', page.text)
    assert temporary, page.text
    client = new_client(app)
    response = post_login(client, "new_manager", temporary.group(1))
    assert response.headers["location"] == "/account/password"
    assert client.get("/institution", follow_redirects=False).headers["location"] == "/account/password"
    form = client.get("/account/password")
    assert "临时密码" in form.text
    token = csrf_from(form.text)
    weak = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": temporary.group(1),
            "new_password": "abc",
            "confirm_password": "abc",
        },
    )
    assert weak.status_code == 422 and "8" in form_error(weak.text)
    done = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": temporary.group(1),
            "new_password": "Mgr#2026new",
            "confirm_password": "Mgr#2026new",
        },
    )
    assert done.status_code == 200
    assert client.get("/institution").status_code == 200


def test_staff_form_errors_keep_nothing(login: Callable[[str], LoggedIn], engine: Engine) -> None:
    admin = login("bank_admin")
    with session_scope(engine) as session:
        before = session.scalar(select(func.count()).select_from(User))
    no_role = admin.post_form("/org/staff", {"username": "norole", "display_name": "无角色"})
    assert no_role.status_code == 422 and 'data-testid="form-error"' in no_role.text
    taken = admin.post_form(
        "/org/staff", {"username": "bank_risk", "display_name": "重名", "roles": ["risk_officer"]}
    )
    assert taken.status_code == 409 and "已被占用" in form_error(taken.text)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == before


def test_idle_session_expires(login: Callable[[str], LoggedIn], engine: Engine) -> None:
    user = login("ent_admin")
    with session_scope(engine) as session:
        session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    response = user.client.get("/enterprise", follow_redirects=False)
    assert response.headers["location"].startswith("/login")


def test_logout_everywhere(app: FastAPI, engine: Engine, world: object) -> None:
    first = log_in(app, engine, "ent_admin")
    second = log_in(app, engine, "ent_admin")
    response = first.post_form("/logout/all", follow_redirects=False)
    assert response.headers["location"] == "/login?logged_out=all"
    assert second.client.get("/enterprise", follow_redirects=False).status_code == 303


def test_admin_without_totp_enrols_first(app: FastAPI, engine: Engine, world: object) -> None:
    import pyotp

    with session_scope(engine) as session:
        session.execute(
            update(User).where(User.username == "gov_admin").values(totp_enabled=False, totp_secret=None)
        )
    client = new_client(app)
    response = post_login(client, "gov_admin", PASSWORD)
    assert response.headers["location"] == "/account/totp/setup"
    assert client.get("/government", follow_redirects=False).headers["location"] == "/account/totp/setup"
    setup = client.get("/account/totp/setup")
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', setup.text).group(1)  # type: ignore[union-attr]
    assert "<svg" in setup.text
    wrong = client.post("/account/totp/setup", data={"csrf_token": csrf_from(setup.text), "code": "000000"})
    assert wrong.status_code == 422
    done = client.post(
        "/account/totp/setup", data={"csrf_token": csrf_from(setup.text), "code": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 200 and done.text.count("<li><code>") == 10
    assert client.get("/government").status_code == 200


def test_auditor_sees_an_intact_audit_trail(login: Callable[[str], LoggedIn]) -> None:
    page = login("op_audit").client.get("/operator/audit")
    assert page.status_code == 200
    assert 'data-testid="chain-intact"' in page.text and page.text.count('data-testid="audit-row"') >= 2


def test_unexpected_errors_show_a_friendly_page_with_a_reference(
    app: FastAPI, login: Callable[[str], LoggedIn], monkeypatch: object
) -> None:
    from xinyidai.accounts import service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    user = login("bank_manager")
    monkeypatch.setattr(service, "branches", broken)  # type: ignore[attr-defined]
    client = TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False, cookies=user.client.cookies
    )
    page = client.get("/institution")
    assert page.status_code == 500
    assert "系统出现错误" in page.text and "database on fire" not in page.text
    assert re.search(r"<code>[0-9a-f]{32}</code>", page.text)


def test_home_shows_the_previous_login(app: FastAPI, engine: Engine, world: object) -> None:
    first = log_in(app, engine, "bank_manager").client.get("/institution").text
    assert "这是您的首次登录" in first
    second = log_in(app, engine, "bank_manager").client.get("/institution").text
    assert re.search(r'data-testid="previous-login">\d{4}-\d{2}-\d{2} \d{2}:\d{2}（testclient）', second)


def test_passwords_older_than_ninety_days_must_be_changed(
    app: FastAPI, engine: Engine, world: object
) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(User)
            .where(User.username == "gov_staff")
            .values(password_changed_at=utcnow() - timedelta(days=91))
        )
    client = new_client(app)
    response = post_login(client, "gov_staff", PASSWORD)
    assert response.headers["location"] == "/account/password"
    page = client.get("/account/password").text
    assert "超过 90 天未修改" in page
    assert client.get("/government", follow_redirects=False).headers["location"] == "/account/password"
