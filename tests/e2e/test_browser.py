"""Real-browser journeys through the pages: login (with TOTP), logout, lockout, self-registration.

Run alone with ``pytest tests/e2e``; screenshots go to ``var/artifacts/screenshots``.
The lockout test stays last in this module: it locks ``ent_staff`` (``demo_site`` unlocks it again).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, totp_for
from tests.e2e.conftest import LiveServer
from xinyidai import demo
from xinyidai.core.database import session_scope

pytestmark = pytest.mark.e2e

CJK = re.compile(r"[\u4e00-\u9fff]")
WRONG_PASSWORD = "Wrong#Pass2026"
LOGIN_PAGE = re.compile(r"/login(\?.*)?$")

# username → (home page by organisation kind, needs the TOTP second factor)
DEMO_HOMES: dict[str, tuple[str, bool]] = {
    "ent_admin": ("/enterprise", False),
    "ent_staff": ("/enterprise", False),
    "bank_admin": ("/institution", True),
    "bank_manager": ("/institution", False),
    "bank_risk": ("/institution", False),
    "gov_admin": ("/government", True),
    "gov_staff": ("/government", False),
    "fund_manager": ("/government", False),
    "op_admin": ("/operator", True),
    "op_data": ("/operator", True),
    "op_audit": ("/operator", True),
}


def submit_form(page: Page, action: str, fields: dict[str, str]) -> None:
    """Fill the form posting to ``action`` and submit it, waiting for the answer page to load."""
    form = page.locator(f'form[action="{action}"]')
    for name, value in fields.items():
        form.locator(f'[name="{name}"]').fill(value)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()


def submit_login(page: Page, username: str, password: str) -> None:
    submit_form(page, "/login", {"username": username, "password": password})


def form_error(page: Page) -> str:
    """The visible form error's text (fails if there is none)."""
    error = page.get_by_test_id("form-error")
    expect(error).to_be_visible()
    return error.inner_text().strip()


def test_demo_city_has_the_expected_users() -> None:
    assert sorted(DEMO_HOMES) == sorted(username for username, *_ in demo.DEMO_USERS)


@pytest.mark.parametrize("username", list(DEMO_HOMES))
def test_demo_user_logs_in_and_out(page: Page, demo_site: LiveServer, username: str) -> None:
    home, needs_totp = DEMO_HOMES[username]
    page.goto("/login")
    submit_login(page, username, PASSWORD)
    if needs_totp:
        expect(page).to_have_url(re.compile(r"/login/totp(\?.*)?$"))
        submit_form(page, "/login/totp", {"code": totp_for(demo_site.engine, username)})

    expect(page).to_have_url(demo_site.url(home))
    title = page.get_by_test_id("home-title")
    expect(title).to_be_visible()
    title_text = title.inner_text().strip()
    assert title_text, "the home page title is empty"
    assert CJK.search(title_text), f"the home page title is not Chinese: {title_text!r}"
    expect(page.get_by_test_id("current-user")).to_contain_text(username)
    page.screenshot(path=demo_site.screenshot_path(f"{username}-home"), full_page=True)

    with page.expect_navigation():
        page.get_by_test_id("logout").click()
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.get_by_test_id("logged-out")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)

    page.goto(home)
    expect(page).to_have_url(LOGIN_PAGE)


def test_wrong_password_message_does_not_reveal_whether_the_user_exists(page: Page) -> None:
    page.goto("/login")
    submit_login(page, "ent_admin", WRONG_PASSWORD)
    known = form_error(page)
    submit_login(page, "no_such_user", WRONG_PASSWORD)
    unknown = form_error(page)
    assert known == unknown
    expect(page).to_have_url(LOGIN_PAGE)


def test_enterprise_registers_itself_and_logs_in(page: Page, demo_site: LiveServer) -> None:
    with session_scope(demo_site.engine) as session:
        record = demo.unregistered_example(session)
        assert record is not None, "the demo registry has no unregistered enterprise left"
        uscc, legal_representative, name = record.uscc, record.legal_representative, record.name
    fields = {
        "uscc": "91110000600037341N",  # check character should be L
        "legal_representative": legal_representative,
        "username": "qy_newcorp",
        "display_name": "钱新",
        "password": "Qy!reg2026x",
        "confirm_password": "Qy!reg2026x",
    }
    page.goto("/register")
    submit_form(page, "/register", fields)
    assert form_error(page)
    form = page.locator('form[action="/register"]')
    for field in ("uscc", "legal_representative", "username", "display_name"):
        expect(form.locator(f'[name="{field}"]')).to_have_value(fields[field])
    for secret in ("password", "confirm_password"):
        expect(form.locator(f'[name="{secret}"]')).to_have_value("")

    submit_form(page, "/register", {**fields, "uscc": uscc})
    expect(page.get_by_test_id("form-error")).to_have_count(0)
    expect(page.get_by_test_id("registered-org")).to_have_text(name)
    page.screenshot(path=demo_site.screenshot_path("registered"), full_page=True)

    page.goto("/login")
    submit_login(page, "qy_newcorp", "Qy!reg2026x")
    expect(page).to_have_url(demo_site.url("/enterprise"))
    expect(page.get_by_test_id("current-user")).to_contain_text("qy_newcorp")
    expect(page.get_by_test_id("org-name")).to_have_text(name)


def test_five_wrong_passwords_lock_the_account(page: Page, demo_site: LiveServer) -> None:
    """Keep last: ``ent_staff`` stays locked for 15 minutes until ``demo_site`` unlocks it."""
    page.goto("/login")
    messages = []
    for _attempt in range(5):
        submit_login(page, "ent_staff", WRONG_PASSWORD)
        messages.append(form_error(page))
    wrong_password = messages[0]
    assert messages[:4] == [wrong_password] * 4
    locked = messages[4]
    assert locked != wrong_password, "the fifth failure must say that the account is locked"

    submit_login(page, "ent_staff", PASSWORD)
    still_locked = form_error(page)
    assert still_locked != wrong_password
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    page.screenshot(path=demo_site.screenshot_path("lockout"), full_page=True)
    page.goto("/enterprise")
    expect(page).to_have_url(LOGIN_PAGE)
