"""The risk-monitoring pages (issue #7) for the demo bank's risk officer, in Chinese.

With nothing watched and no alert the board, the queue, the rule sets and a timeline render; the rule
editor checks a rule as it is typed through the API (position of the error, the fields read, the fields a
department may not use); a rule set is made, given a rule, refused switching on before a backtest of its
version, and switched on once one is on record; an alert is shown with the exact rule text and the values
read, acknowledged, refused resolution without a note, and resolved with one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn
from xinyidai.accounts.models import User
from xinyidai.core import i18n
from xinyidai.core.database import session_scope
from xinyidai.data.models import RegistryEnterprise
from xinyidai.monitoring import service as monitoring_service
from xinyidai.monitoring.models import Alert, MonitoringRun, Rule, RuleSet

CHECK = "/api/v1/monitoring/rules/check"


def zh(msgid: str) -> str:
    """A message as the Chinese pages show it."""
    return i18n.gettext(msgid, "zh_CN")


def title(page: str) -> str:
    match = re.search(r"<title>([^<]*)</title>", page)
    assert match, "page has no title"
    return html.unescape(match.group(1))


def shown(page: str, name: str) -> str:
    """The text inside the first element with this data-testid (tags stripped)."""
    match = re.search(rf'data-testid="{re.escape(name)}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no element {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def form_error(page: str) -> str:
    return shown(page, "form-error")


def org_of(engine: Engine, username: str) -> int:
    with session_scope(engine) as db:
        return db.scalars(select(User).where(User.username == username)).one().organisation_id


def check(who: LoggedIn, expression: str, trigger: str = "batch") -> dict[str, object]:
    response = who.client.post(
        CHECK, json={"expression": expression, "trigger": trigger}, headers={"X-CSRF-Token": who.csrf}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def backtest_summary(version: int) -> dict[str, object]:
    """A backtest's summary as ``monitoring.backtest`` keeps it on the set (one rule, two examples)."""
    examples = [
        {"uscc": "91371000MA3C000001", "first_alert": "2026-03-31", "defaulted": "2026-07-02"},
        {"uscc": "91371000MA3C000002", "first_alert": "2026-04-30", "defaulted": None},
    ]
    rule = {"code": "INS-30", "name": "参保人数三个月降三成", "severity": "high", "alerts": 40, "firms": 20}
    rule |= {"hits": 6, "hit_rate": 0.3, "lift": 6.0, "median_lead_days": 92, "examples": examples}
    return {
        "version": version,
        "backtested_at": "2026-11-30T02:00:00+00:00",
        "from": "2025-12-31",
        "to": "2026-11-30",
        "months": 12,
        "firms": 300,
        "base_rate": 0.05,
        "alerts": 40,
        "firms_alerted": 20,
        "hits": 6,
        "hit_rate": 0.3,
        "lift": 6.0,
        "median_lead_days": 92,
        "defaulters_warned": 0.4,
        "event_rules": 0,
        "rules": [rule],
    }


def test_the_pages_render_with_nothing_watched_and_no_alert(login: Callable[[str], LoggedIn]) -> None:
    risk = login("bank_risk")
    board = risk.client.get("/monitoring")
    assert board.status_code == 200
    assert title(board.text).startswith("风险看板")
    for colour in ("red", "orange", "yellow", "green"):
        assert f'data-testid="light-count-{colour}"' in board.text
        assert f'href="/monitoring?light={colour}"' in board.text
        assert shown(board.text, f"light-number-{colour}") == "0"
    assert 'data-testid="board-row"' not in board.text and 'data-testid="board-empty"' in board.text
    assert shown(board.text, "freshness") == zh(
        "No monitoring run yet: the rules run after each pipeline run once a rule set is switched on."
    )
    assert 'href="/monitoring/alerts"' in board.text
    filtered = risk.client.get("/monitoring?light=red")
    assert filtered.status_code == 200 and 'class="light-count current" href="/monitoring"' in filtered.text
    assert risk.client.get("/monitoring?light=purple&page=x").status_code == 200

    queue = risk.client.get("/monitoring/alerts")
    assert queue.status_code == 200 and title(queue.text).startswith(zh("Risk alerts"))
    assert 'data-testid="alert-row"' not in queue.text and 'data-testid="alerts-empty"' in queue.text
    for status in ("open", "new", "acknowledged", "resolved", "all"):
        assert f'data-testid="status-{status}"' in queue.text
    assert risk.client.get("/monitoring/alerts?status=all&severity=high").status_code == 200

    sets = risk.client.get("/monitoring/rule-sets")
    assert sets.status_code == 200 and title(sets.text).startswith("风险规则")
    assert 'data-testid="rule-sets-empty"' in sets.text
    assert sets.text.count('data-testid="library-row"') >= 3  # the library, for an institution
    assert 'action="/monitoring/rule-sets/adopt"' in sets.text and 'data-testid="new-set-form"' in sets.text

    timeline = risk.client.get("/monitoring/enterprises/91371000MA3C000000")
    assert timeline.status_code == 200 and 'data-testid="timeline-empty"' in timeline.text
    assert risk.client.get("/monitoring/alerts/999999").status_code == 404
    assert risk.client.get("/monitoring/rule-sets/999999").status_code == 404

    script = risk.client.get("/static/rule_editor.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.text


def test_the_rule_check_api_gives_the_position_or_the_fields(
    login: Callable[[str], LoggedIn],
) -> None:
    risk = login("bank_risk")
    broken = check(risk, "grade = ")
    assert broken["valid"] is False and broken["position"] == 7 and broken["fields"] == []
    assert broken["message"] == i18n.translate(
        "At character %(position)s: something is missing after “%(token)s”", {"position": 7, "token": "="}
    )
    assert "第 7 个字符" in str(broken["message"])  # in Chinese
    fine = check(risk, "insured_latest < 0.7 * insured_latest_3m_ago")
    assert fine == {
        "valid": True,
        "message": "",
        "position": None,
        "fields": ["insured_latest", "insured_latest_3m_ago"],
    }
    # the session's CSRF token is required for a browser's JSON post
    forged = risk.client.post(CHECK, json={"expression": "grade = 'A'"})
    assert forged.status_code == 403

    department = login("gov_admin")
    barred = check(department, "loan_overdue_days > 30")
    assert barred["valid"] is False and barred["position"] == 1
    assert barred["message"] == i18n.translate(
        "Field %(name)s (at character %(position)s) may not be used in your rules",
        {"name": "loan_overdue_days", "position": 1},
    )
    assert check(risk, "loan_overdue_days > 30")["valid"] is True  # a bank may read the loan book
    # the department's own pages: its whitelists' board, and only the library sets meant for it
    assert department.client.get("/monitoring").status_code == 200
    sets = department.client.get("/monitoring/rule-sets")
    assert sets.status_code == 200 and 'data-testid="library-row"' in sets.text
    assert 'value="whitelist"' in sets.text and 'value="financing"' not in sets.text
    bank = risk.client.get("/monitoring/rule-sets").text
    assert 'value="financing"' in bank and 'value="whitelist"' not in bank


def test_a_rule_set_is_written_backtested_and_switched_on_from_its_pages(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    risk = login("bank_risk")
    bad = risk.post_form("/monitoring/rule-sets", {"code": "有 空格", "name": "贷后预警"})
    assert bad.status_code == 422 and form_error(bad.text)
    assert 'value="贷后预警"' in bad.text  # what was typed is kept
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(RuleSet)) == 0

    created = risk.post_form(
        "/monitoring/rule-sets", {"code": "post-loan", "name": "贷后预警", "description": "本行自定义"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303
    url = created.headers["location"]
    page = risk.client.get(url)
    assert page.status_code == 200 and title(page.text).startswith("贷后预警")
    assert 'id="rule-form"' in page.text and 'src="/static/rule_editor.js"' in page.text
    assert 'data-check-url="/api/v1/monitoring/rules/check"' in page.text
    assert 'data-testid="rules-empty"' in page.text and 'data-testid="needs-rules"' in page.text
    assert 'data-testid="no-backtest"' in page.text

    rule = {"code": "INS-30", "name": "参保人数三个月降三成", "severity": "high", "trigger": "batch"}
    wrong = risk.post_form(f"{url}/rules", {**rule, "expression": "insured_latest < 0.7 *"})
    assert wrong.status_code == 422 and form_error(wrong.text)
    assert "insured_latest &lt; 0.7 *</textarea>" in wrong.text
    saved = risk.post_form(
        f"{url}/rules",
        {**rule, "expression": "insured_latest_3m_ago > 0 and insured_latest < 0.7 * insured_latest_3m_ago"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = risk.client.get(url)
    assert page.text.count('data-testid="rule-row"') == 1 and "参保人数三个月降三成" in page.text
    assert 'data-testid="needs-backtest"' in page.text
    assert re.search(r'data-testid="activate"[^>]* disabled', page.text)
    editing = risk.client.get(f"{url}?edit=INS-30")
    assert re.search(r'name="code"[^>]*value="INS-30"[^>]* readonly', editing.text)
    assert "insured_latest &lt; 0.7 * insured_latest_3m_ago</textarea>" in editing.text

    refused = risk.post_form(f"{url}/activate", {"active": "1"})
    assert refused.status_code == 422
    assert form_error(refused.text) == zh(
        "Backtest this version of the rule set on history before switching it on"
    )
    no_history = risk.post_form(f"{url}/backtest")
    assert no_history.status_code == 422 and form_error(no_history.text)

    set_id = int(url.rsplit("/", 1)[1])
    with session_scope(engine) as db:
        rule_set = db.get(RuleSet, set_id)
        assert rule_set is not None and not rule_set.active
        rule_set.backtest = backtest_summary(rule_set.version)
    page = risk.client.get(url)
    assert shown(page.text, "hit-rate") == "30.0%" and shown(page.text, "lift") == "6.0×"
    assert shown(page.text, "defaulters-warned") == "40.0%" and shown(page.text, "base-rate") == "5.0%"
    assert page.text.count('data-testid="backtest-rule"') == 1 and "91371000MA3C000002" in page.text
    assert 'data-testid="backtest-stale"' not in page.text
    assert not re.search(r'data-testid="activate"[^>]* disabled', page.text)
    switched = risk.post_form(f"{url}/activate", {"active": "1"}, follow_redirects=False)
    assert switched.status_code == 303
    page = risk.client.get(url)
    assert shown(page.text, "rule-set-state").startswith(zh("Switched on"))
    listing = risk.client.get("/monitoring/rule-sets")
    assert listing.text.count('data-testid="rule-set-row"') == 1 and "30.0%" in listing.text

    retired = risk.post_form(f"{url}/rules/INS-30/retire", follow_redirects=False)
    assert retired.status_code == 303
    page = risk.client.get(url)
    assert 'data-testid="rules-empty"' in page.text and page.text.count('data-testid="history-row"') == 1
    assert 'data-testid="backtest-stale"' in page.text  # the version moved on


def test_an_alert_is_read_acknowledged_and_resolved_with_a_note(
    login: Callable[[str], LoggedIn], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    risk = login("bank_risk")
    adopted = risk.post_form("/monitoring/rule-sets/adopt", {"library_code": "nope"})
    assert adopted.status_code == 404 and form_error(adopted.text)
    sets = risk.client.get("/monitoring/rule-sets")
    code = re.findall(r'name="library_code" value="([^"]+)"', sets.text)[0]
    adopted = risk.post_form("/monitoring/rule-sets/adopt", {"library_code": code}, follow_redirects=False)
    assert adopted.status_code == 303
    assert 'data-testid="library-adopted"' in risk.client.get("/monitoring/rule-sets").text

    org = org_of(engine, "bank_risk")
    with session_scope(engine) as db:
        firms = [
            (u, n) for u, n in db.execute(select(RegistryEnterprise.uscc, RegistryEnterprise.name).limit(2))
        ]
    (uscc, name), (other, other_name) = firms
    with session_scope(engine) as db:
        rule = db.scalars(select(Rule).where(Rule.retired_at.is_(None)).order_by(Rule.code)).first()
        assert rule is not None
        alert = Alert(
            organisation_id=org,
            uscc=uscc,
            enterprise_name=name,
            rule_set_id=rule.rule_set_id,
            rule_id=rule.id,
            rule_code=rule.code,
            rule_name=rule.name,
            severity="high",
            dedup_key=f"{org}:{rule.rule_set_id}:{rule.code}:{uscc}",
            open_key=f"{org}:{rule.rule_set_id}:{rule.code}:{uscc}",
            as_of=date(2026, 11, 30),
            values={"insured_latest": 12, "insured_latest_3m_ago": 40},
        )
        db.add(alert)
        db.add(
            MonitoringRun(
                as_of=date(2026, 11, 30),
                trigger="pipeline",
                finished_at=datetime(2026, 11, 30, 18, 0, tzinfo=UTC),
                seconds=2.5,
                alerts_raised=1,
            )
        )
        db.flush()
        alert_id, expression = alert.id, rule.expression

    queue = risk.client.get("/monitoring/alerts")
    assert (
        queue.text.count('data-testid="alert-row"') == 1
        and f'href="/monitoring/alerts/{alert_id}"' in queue.text
    )
    assert 'data-testid="alert-row"' not in risk.client.get("/monitoring/alerts?status=resolved").text
    # the board: the two firms the bank watches (its borrowers), the one with the alert red and first
    monkeypatch.setattr(monitoring_service, "watched", lambda _db, _org=None: {org: {uscc, other}})
    board = risk.client.get("/monitoring")
    assert 'data-testid="board-alert"' in board.text
    freshness = shown(board.text, "freshness")
    assert "2026-11-30" in freshness and "2026-12-01 02:00" in freshness and "2.5" in freshness
    counts = {c: shown(board.text, f"light-number-{c}") for c in ("red", "orange", "yellow", "green")}
    assert counts == {"red": "1", "orange": "0", "yellow": "0", "green": "1"}
    rows = re.findall(r'data-testid="board-row">(.*?)</tr>', board.text, re.S)
    assert len(rows) == 2 and "light-red" in rows[0] and name in rows[0] and "light-green" in rows[1]
    assert f'href="/monitoring/enterprises/{other}">{other_name}</a>' in rows[1]
    green = risk.client.get("/monitoring?light=green")
    assert green.text.count('data-testid="board-row"') == 1 and other in green.text

    page = risk.client.get(f"/monitoring/alerts/{alert_id}")
    assert page.status_code == 200 and name in page.text
    assert shown(page.text, "rule-expression") == expression
    assert page.text.count('data-testid="alert-value"') == 2 and "insured_latest_3m_ago" in page.text
    assert f'href="/monitoring/enterprises/{uscc}"' in page.text
    assert 'data-testid="acknowledge"' in page.text and 'data-testid="resolve-form"' in page.text

    # an account manager sees the alert but may not act on it
    manager = login("bank_manager")
    seen = manager.client.get(f"/monitoring/alerts/{alert_id}")
    assert seen.status_code == 200 and 'data-testid="resolve-form"' not in seen.text
    assert manager.post_form(f"/monitoring/alerts/{alert_id}/resolve", {"note": "看过了"}).status_code == 403

    no_note = risk.post_form(f"/monitoring/alerts/{alert_id}/resolve", {"note": "  "})
    assert no_note.status_code == 422
    assert form_error(no_note.text) == zh("Say what was done about the alert before resolving it")
    acked = risk.post_form(f"/monitoring/alerts/{alert_id}/acknowledge", follow_redirects=False)
    assert acked.status_code == 303
    page = risk.client.get(f"/monitoring/alerts/{alert_id}")
    assert (
        shown(page.text, "alert-status") == zh("Acknowledged")
        and 'data-testid="acknowledge"' not in page.text
    )
    again = risk.post_form(f"/monitoring/alerts/{alert_id}/acknowledge")
    assert again.status_code in (409, 422) and form_error(again.text)

    resolved = risk.post_form(
        f"/monitoring/alerts/{alert_id}/resolve",
        {"note": "已电话核实，企业已补缴社保"},
        follow_redirects=False,
    )
    assert resolved.status_code == 303
    page = risk.client.get(f"/monitoring/alerts/{alert_id}")
    assert shown(page.text, "alert-status") == zh("Resolved")
    assert shown(page.text, "resolution-note") == "已电话核实，企业已补缴社保"
    assert 'data-testid="resolve-form"' not in page.text

    timeline = risk.client.get(f"/monitoring/enterprises/{uscc}")
    assert timeline.text.count('data-testid="timeline-item"') == 1 and "已电话核实" in timeline.text
    assert shown(timeline.text, "timeline-status") == zh("Resolved")
    # another organisation does not see it
    department = login("gov_admin")
    assert department.client.get(f"/monitoring/alerts/{alert_id}").status_code == 404
    assert department.post_form(f"/monitoring/alerts/{alert_id}/acknowledge").status_code == 404
    assert 'data-testid="timeline-item"' not in department.client.get(f"/monitoring/enterprises/{uscc}").text
