"""Real-browser check of the rule editor: a rule is checked as it is typed (issue #7).

The risk officer starts a rule set and types a rule: a broken one shows the message with a caret under
the position, a valid one the fields it reads, a batch rule switched to "on each push" the reason it may
not run there; no script is blocked by the content security policy.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer
from tests.e2e.test_browser import submit_form, submit_login
from xinyidai.core import i18n

pytestmark = pytest.mark.e2e


def test_the_rule_editor_checks_a_rule_as_it_is_typed(page: Page, demo_site: LiveServer) -> None:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    failed: list[str] = []
    page.on(
        "response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )
    page.goto("/login")
    submit_login(page, "bank_risk", PASSWORD)
    page.goto("/monitoring/rule-sets")
    code = f"e2e-{demo_site.backend}"
    submit_form(page, "/monitoring/rule-sets", {"code": code, "name": "浏览器测试规则集"})
    expect(page).to_have_url(re.compile(r"/monitoring/rule-sets/\d+$"))
    expect(page.get_by_test_id("rule-set-title")).to_contain_text("浏览器测试规则集")

    expression = page.get_by_test_id("rule-expression")
    check = page.get_by_test_id("rule-check")
    expression.press_sequentially("grade = ", delay=20)
    caret = page.get_by_test_id("rule-caret")
    expect(caret).to_be_visible()
    expect(check.locator(".invalid")).to_have_text(re.compile(r"\S"))
    lines = caret.inner_text().split("\n")
    assert lines[0] == "grade = " and lines[1] == " " * 6 + "^"  # under the "=" (character 7)

    expression.fill("")
    expression.press_sequentially("insured_latest < 0.7 * insured_latest_3m_ago", delay=5)
    valid = check.locator(".valid")
    expect(valid).to_contain_text("insured_latest、insured_latest_3m_ago")
    expect(caret).to_have_count(0)
    assert expression.get_attribute("aria-invalid") is None

    page.locator("#rule-trigger").select_option("event")
    expect(check.locator(".invalid")).to_have_text(
        i18n.gettext("A rule run on each push must read the pushed record's event_ fields", "zh_CN")
    )
    page.screenshot(path=demo_site.screenshot_path("rule-editor"), full_page=True)
    # nothing refused by the content security policy, no script error, every request answered
    assert not [p for p in problems if not p.startswith("Failed to load resource")], problems
    assert not failed, failed
