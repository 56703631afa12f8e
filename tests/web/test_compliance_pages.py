"""Pages of credit-reporting compliance: objections raised from the report and answered by the department,
the operator's objections, report-query records and their Excel export, retention, and the security audit
trail (what is recorded, the auditor's search and export)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import Engine, select, update

from tests.conftest import PASSWORD, LoggedIn, csrf_from, new_client
from tests.web.test_credit_report import city, peer_usccs  # noqa: F401 — the rated small city fixture
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core import i18n
from xinyidai.core.audit import AuditRecord, verify_chain
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.market.models import ReportQuery
from xinyidai.rating import objections
from xinyidai.rating.objection_models import DataObjection

CASE_KEY = "(2025)鲁1002民初77号|被告"
UNDER_OBJECTION = 'data-testid="under-objection"'


@pytest.fixture
def rated(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("city"))


def org_id(engine: Engine, username: str) -> int:
    with session_scope(engine) as db:
        return db.scalars(select(User).where(User.username == username)).one().organisation_id


def events(engine: Engine, event_type: str) -> list[AuditRecord]:
    with session_scope(engine) as db:
        rows = list(db.scalars(select(AuditRecord).where(AuditRecord.event_type == event_type)))
        db.expunge_all()
        return rows


def raise_from_report(ent: LoggedIn, uscc: str) -> None:
    report = ent.client.get("/enterprise/report")
    assert report.status_code == 200
    link = "/enterprise/objections?" + urlencode({"source": "court_cases", "key": CASE_KEY})
    assert link.replace("&", "&amp;") in report.text  # the report offers to object to the case
    form = ent.client.get(link)
    assert form.status_code == 200 and 'data-testid="objection-form"' in form.text
    response = ent.post_form(
        "/enterprise/objections",
        {
            "uscc": uscc,
            "source_id": "court_cases",
            "item_key": CASE_KEY,
            "explanation": "该案已调解撤诉，本企业不是被告",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_an_objection_from_the_report_to_the_department_and_back(
    login: Callable[[str], LoggedIn], engine: Engine, rated: str
) -> None:
    with session_scope(engine) as db:
        objections.assign_source(db, "court_cases", org_id(engine, "gov_admin"))
    ent = login("ent_admin")
    raise_from_report(ent, rated)
    listing = ent.client.get("/enterprise/objections")
    assert listing.text.count('data-testid="objection-row"') == 1
    # every rendering marks the case: the enterprise's page, the institution's page, the JSON
    assert ent.client.get("/enterprise/report").text.count(UNDER_OBJECTION) == 1
    bank = login("bank_manager")
    page = bank.client.get(f"/reports/{rated}?purpose=loan_review")
    assert page.status_code == 200 and page.text.count(UNDER_OBJECTION) == 1
    assert 'data-testid="object-link"' not in page.text  # only the enterprise objects
    document = login("op_admin").client.get(f"/api/v1/reports/{rated}").json()
    cases = next(s for s in document["records"] if s["source"] == "court_cases")
    assert cases["disputed"] == [True] and document["objections_open"] == 1
    # the department answers from its queue; a rejection without a reason is refused in Chinese
    gov = login("gov_staff")
    queue = gov.client.get("/government/objections")
    assert queue.text.count('data-testid="queue-row"') == 1
    objection_id = int(re.search(r'data-objection="(\d+)"', queue.text).group(1))  # type: ignore[union-attr]
    refused = gov.post_form(f"/objections/{objection_id}/answer", {"decision": "reject", "reason": ""})
    assert refused.status_code == 422
    assert (
        i18n.translate("Give the reason for rejecting in 5 to 2000 characters", None, "zh_CN") in refused.text
    )
    answered = gov.post_form(
        f"/objections/{objection_id}/answer",
        {"decision": "reject", "reason": "经核实，法院判决书载明贵司为被告"},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    # the enterprise sees the answer; the mark is gone
    listing = ent.client.get("/enterprise/objections")
    assert "经核实，法院判决书载明贵司为被告" in listing.text
    assert UNDER_OBJECTION not in ent.client.get("/enterprise/report").text
    # an answered objection cannot be answered again
    again = gov.post_form(f"/objections/{objection_id}/answer", {"decision": "accept", "reason": ""})
    assert again.status_code == 409


def test_an_objection_on_somebody_elses_report_is_refused(
    login: Callable[[str], LoggedIn], engine: Engine, rated: str
) -> None:
    ent = login("ent_admin")
    other = peer_usccs()[0]
    response = ent.post_form(
        "/enterprise/objections",
        {"uscc": other, "source_id": "court_cases", "item_key": CASE_KEY, "explanation": "别人的报告也有错"},
    )
    assert response.status_code == 422
    assert (
        i18n.translate("You may object only to data in your own credit report", None, "zh_CN")
        in response.text
    )
    with session_scope(engine) as db:
        assert db.scalars(select(DataObjection)).all() == []


def test_the_operator_sees_overdue_objections_highlighted(
    login: Callable[[str], LoggedIn], engine: Engine, rated: str
) -> None:
    raise_from_report(login("ent_admin"), rated)
    with session_scope(engine) as db:
        db.execute(update(DataObjection).values(due_at=utcnow() - timedelta(days=1)))
    with session_scope(engine) as db:
        assert objections.remind_and_escalate(db).escalated == 1
    for username in ("op_admin", "op_audit"):
        page = login(username).client.get("/operator/objections")
        assert page.status_code == 200
        assert 'class="overdue"' in page.text and 'data-testid="overdue"' in page.text
    only_overdue = login("op_audit").client.get("/operator/objections?overdue=1")
    assert only_overdue.text.count('data-testid="objection-row"') == 1
    # no department answers for court cases here: the operator admin's queue has it
    assert login("op_admin").client.get("/government/objections").text.count('data-testid="queue-row"') == 1


def test_report_queries_are_searched_and_exported(
    login: Callable[[str], LoggedIn], engine: Engine, rated: str
) -> None:
    bank = login("bank_manager")
    assert bank.client.get(f"/reports/{rated}?purpose=loan_review").status_code == 200
    assert bank.client.get(f"/reports/{peer_usccs()[0]}?purpose=loan_review").status_code == 403
    # the enterprise's own list: who, which institution, under which authorisation, for what purpose
    looks = login("ent_admin").client.get("/enterprise/consents/looks")
    assert looks.text.count('data-testid="look-row"') == 1 and "刘洋" in looks.text
    with session_scope(engine) as db:
        consent_id = db.scalars(select(ReportQuery.consent_id).where(ReportQuery.uscc == rated)).one()
    assert i18n.translate("Authorisation No. %(id)s", {"id": consent_id}, "zh_CN") in looks.text
    op = login("op_audit")
    refused = op.client.get("/operator/report-queries?result=refused")
    assert refused.text.count('data-testid="query-row"') == 1 and peer_usccs()[0] in refused.text
    mine = op.client.get(f"/operator/report-queries?uscc={rated}")
    assert mine.text.count('data-testid="query-row"') == 1
    bad = op.client.get("/operator/report-queries?date_from=yesterday")
    assert bad.status_code == 422
    export = op.client.get(f"/operator/report-queries.xlsx?uscc={rated}")
    assert export.status_code == 200 and export.headers["content-disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "时间" and len(rows) == 2 and rows[1][1] == rated and rows[1][5] == consent_id
    recorded = events(engine, "export")
    assert [(r.actor_username, r.object_id) for r in recorded] == [
        ("op_audit", "/operator/report-queries.xlsx")
    ]
    assert events(engine, "report_queries.export")[0].detail["uscc"] == rated


def test_retention_page_shows_each_kind(login: Callable[[str], LoggedIn], world: object) -> None:
    page = login("op_admin").client.get("/operator/retention")
    assert page.status_code == 200
    for kind in ("negative_records", "report_queries", "audit_records"):
        assert f'data-testid="retention-{kind}"' in page.text
    assert i18n.translate("%(n)s months", {"n": 6}, "zh_CN") in page.text
    assert i18n.translate("%(n)s years after the conduct ended", {"n": 5}, "zh_CN") in page.text


def test_logins_failures_and_lock_outs_are_recorded(app: FastAPI, engine: Engine, world: object) -> None:
    client = new_client(app)
    for _ in range(5):
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"username": "ent_staff", "password": "wrong", "csrf_token": token})
    failures = [
        r for r in events(engine, "login") if r.result == "failure" and r.actor_username == "ent_staff"
    ]
    assert len(failures) == 5
    locked = events(engine, "account.locked")
    assert [(r.actor_username, r.result) for r in locked] == [("ent_staff", "denied")]
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "ent_staff", "password": PASSWORD, "csrf_token": token})
    assert [r.detail for r in events(engine, "login") if r.result == "denied"] == [{"reason": "locked"}]


def test_role_changes_are_recorded_and_nobody_changes_their_own(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    admin = login("ent_admin")
    with session_scope(engine) as db:
        staff_id = db.scalars(select(User.id).where(User.username == "ent_staff")).one()
        admin_id = db.scalars(select(User.id).where(User.username == "ent_admin")).one()
    response = admin.post_form(
        f"/org/staff/{staff_id}/roles",
        {"roles": ["enterprise_admin", "enterprise_staff"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    changed = events(engine, "user.roles")
    assert [(r.object_id, r.detail) for r in changed] == [
        (
            str(staff_id),
            {"before": ["enterprise_staff"], "after": ["enterprise_admin", "enterprise_staff"]},
        )
    ]
    own = admin.post_form(f"/org/staff/{admin_id}/roles", {"roles": ["enterprise_staff"]})
    assert own.status_code == 422
    assert i18n.translate("You cannot change your own roles", None, "zh_CN") in own.text
    # another organisation's user is not found
    with session_scope(engine) as db:
        bank_user = db.scalars(select(User.id).where(User.username == "bank_manager")).one()
    assert (
        admin.post_form(f"/org/staff/{bank_user}/roles", {"roles": ["enterprise_staff"]}).status_code == 404
    )


def test_api_client_use_is_recorded_once_a_day(app: FastAPI, engine: Engine, world: object) -> None:
    with session_scope(engine) as db:
        admin = accounts.principal_for(db.scalars(select(User).where(User.username == "bank_admin")).one())
        client_row, secret = accounts.create_api_client(db, admin, "信贷系统", ["authenticated"])
        client_id = client_row.client_id
    api = new_client(app)
    token = api.post("/api/v1/auth/token", data={"client_id": client_id, "client_secret": secret}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for _ in range(3):
        assert api.get("/api/v1/me", headers=headers).status_code == 200
    used = events(engine, "api.use")
    assert len(used) == 1 and used[0].actor_username == client_id and used[0].object_type == "api_client"
    assert [r.result for r in events(engine, "api.token")] == ["success"]


def test_the_auditor_searches_and_exports_the_trail(
    app: FastAPI, login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    client = new_client(app)
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "bank_risk", "password": "wrong", "csrf_token": token})
    auditor = login("op_audit")
    page = auditor.client.get("/operator/audit?event_type=login&result=failure")
    assert page.status_code == 200
    assert page.text.count('data-testid="audit-row"') == 1 and "bank_risk" in page.text
    by_user = auditor.client.get("/operator/audit?username=op_audit&event_type=login")
    assert by_user.text.count('data-testid="audit-row"') >= 1 and "bank_risk" not in by_user.text
    export = auditor.client.get("/operator/audit.xlsx?event_type=login&result=failure")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "login" and rows[1][3] == "bank_risk"
    assert events(engine, "audit.export")[0].detail["result"] == "failure"
    assert [r.object_id for r in events(engine, "export")] == ["/operator/audit.xlsx"]
    with session_scope(engine) as db:
        assert verify_chain(db) == (True, None)
    # only the auditor reads or exports the trail
    assert login("op_admin").client.get("/operator/audit.xlsx").status_code == 403
