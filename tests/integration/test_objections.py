"""Objections (异议) to report data: raised by the enterprise on its own report only, routed to the supplying
department, marked in every report while open, answered by the deadline (reminders, escalation), closed when
the corrected data arrives."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import PASSWORD
from tests.integration.test_cli import cli_env  # noqa: F401 — the CLI's environment fixture
from tests.web.test_credit_report import city  # noqa: F401 — the rated small city fixture
from xinyidai import demo_compliance
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.cli import app as cli_app
from xinyidai.core import i18n, notifications
from xinyidai.core.access import Principal
from xinyidai.core.audit import AuditRecord
from xinyidai.core.clock import SHANGHAI, utcnow
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.settings import Settings
from xinyidai.data import service as data
from xinyidai.data.models import IngestBatch
from xinyidai.rating import objections
from xinyidai.rating import report as reports
from xinyidai.rating.objection_models import DataObjection
from xinyidai.web.problems import describe_error

CASE_KEY = "(2025)鲁1002民初77号|被告"  # the demo enterprise's court case in the city fixture
OTHER_USCC = "91110000600037341L"


@pytest.fixture
def rated(request: pytest.FixtureRequest) -> str:
    """The small rated city of the credit-report tests; the demo enterprise's USCC."""
    return str(request.getfixturevalue("city"))


def principal(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def org_of(db: Session, username: str) -> int:
    return db.scalars(select(User).where(User.username == username)).one().organisation_id


def other_department_staff(db: Session) -> Principal:
    """A member of staff of another department (the tax bureau) than the one answering for court cases."""
    tax = db.scalars(select(Organisation).where(Organisation.name == "国家税务总局威海市税务局")).one()
    user = accounts.create_user(
        db, tax, username="tax_staff", display_name="钱税", roles=["department_staff"], password=PASSWORD
    ).user
    return accounts.principal_for(user)


def raise_case(db: Session, settings: Settings, own: str, **kw: str) -> DataObjection:
    data_in = objections.ObjectionInput(
        uscc=kw.get("uscc", own),
        source_id=kw.get("source_id", "court_cases"),
        item_key=kw.get("item_key", CASE_KEY),
        field=kw.get("field", ""),
        explanation=kw.get("explanation", "该案已于2025年8月调解撤诉，不应显示为被告"),
    )
    return objections.raise_objection(
        db, data.open_lake(settings), principal(db, "ent_admin"), data_in, own_uscc=own, working_days=14
    )


def test_an_objection_is_routed_to_the_department_and_marks_the_report(
    engine: Engine, settings: Settings, rated: str
) -> None:
    with session_scope(engine) as db:
        objections.assign_source(db, "court_cases", org_of(db, "gov_admin"))
        objection = raise_case(db, settings, rated)
        assert objection.status == "open" and objection.department_id == org_of(db, "gov_admin")
        assert objection.item_label.startswith("司法案件") or "(2025)鲁1002民初77号" in objection.item_label
        # the legal limit: answered within 20 days (Art. 25)
        assert objection.due_at - objection.raised_at <= timedelta(days=21)
    with session_scope(engine) as db:
        inbox = notifications.inbox(db, principal(db, "gov_staff"))
        assert any(n.topic == "objections" and n.params["id"] == objection.id for n, _ in inbox)
        # nobody else's department hears of it
        assert not [
            n for n, _ in notifications.inbox(db, principal(db, "fund_manager")) if n.topic == "objections"
        ]
        statements: list[str] = []

        def count(conn: object, cursor: object, statement: str, *args: object) -> None:
            if "data_objections" in statement:
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            report = reports.build_report(db, data.open_lake(settings), rated, version="full")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 1  # one query per report, whatever the number of sections
        cases = next(s for s in report.records if s.source == "court_cases")
        assert cases.keys == [CASE_KEY] and cases.disputed == [True]
        assert report.objections_open == 1
        document = report.to_dict()  # the JSON the API serves carries the mark too
        section = next(s for s in document["records"] if s["source"] == "court_cases")
        assert section["disputed"] == [True]
        mortgages = next(s for s in report.records if s.source == "real_estate_mortgages")
        assert mortgages.disputed == [False]


def test_an_objection_to_somebody_elses_report_is_refused(
    engine: Engine, settings: Settings, rated: str
) -> None:
    with session_scope(engine) as db:
        with pytest.raises(PermissionDenied) as refused:
            raise_case(db, settings, rated, uscc=OTHER_USCC)
        _status, _field, message = describe_error(refused.value, "zh_CN")
        assert message == i18n.translate(
            "You may object only to data in your own credit report", None, "zh_CN"
        )
        # an institution cannot raise one at all
        bank = principal(db, "bank_admin")
        with pytest.raises(PermissionDenied):
            objections.raise_objection(
                db,
                data.open_lake(settings),
                bank,
                objections.ObjectionInput(
                    uscc=rated, source_id="court_cases", item_key=CASE_KEY, explanation="x" * 10
                ),
                own_uscc=rated,
            )
    with session_scope(engine) as db:
        assert db.scalars(select(DataObjection)).all() == []


def test_bad_items_and_duplicates_are_refused(engine: Engine, settings: Settings, rated: str) -> None:
    with session_scope(engine) as db:
        with pytest.raises(ValidationFailed) as no_item:
            raise_case(db, settings, rated, item_key="(2099)不存在|被告")
        assert no_item.value.field == "item_key"
        with pytest.raises(ValidationFailed) as short:
            raise_case(db, settings, rated, explanation="错")
        assert short.value.field == "explanation"
        with pytest.raises(ValidationFailed):
            raise_case(
                db, settings, rated, source_id="registration", item_key="", field="legal_rep_id_number"
            )
        raise_case(db, settings, rated)
        with pytest.raises(Conflict):
            raise_case(db, settings, rated)
        # a registration field shown in the report can be objected to, and is marked in the basics
        raise_case(db, settings, rated, source_id="registration", item_key="", field="address")
    with session_scope(engine) as db:
        report = reports.build_report(db, data.open_lake(settings), rated)
        assert report.disputed_fields == ["address"] and report.objections_open == 2


def test_the_department_answers_and_the_correction_closes_it(
    engine: Engine, settings: Settings, rated: str, tmp_path: Path
) -> None:
    with session_scope(engine) as db:
        objections.assign_source(db, "court_cases", org_of(db, "gov_admin"))
        objection_id = raise_case(db, settings, rated).id
    # another department's staff does not even see it
    with session_scope(engine) as db, pytest.raises(NotFound):
        objections.answer_objection(db, other_department_staff(db), objection_id, accept=True, reason="")
    with session_scope(engine) as db, pytest.raises(ValidationFailed):  # a rejection needs its reason
        objections.answer_objection(db, principal(db, "gov_staff"), objection_id, accept=False, reason="")
    with session_scope(engine) as db:
        answered = objections.answer_objection(
            db, principal(db, "gov_staff"), objection_id, accept=True, reason="核实有误，下期更正"
        )
        assert answered.status == "accepted" and answered.answered_by == "gov_staff"
    with session_scope(engine) as db:
        # still marked until the corrected data arrives
        assert reports.open_objection_marks(db, rated) == {("court_cases", CASE_KEY, "")}
        ent_inbox = notifications.inbox(db, principal(db, "ent_staff"))
        assert any(n.topic == "objections" and n.params["id"] == objection_id for n, _ in ent_inbox)
        # accepted objections cannot be withdrawn any more: refused in Chinese, nothing changes
        with pytest.raises(IllegalTransition) as illegal:
            objections.withdraw_objection(db, principal(db, "ent_admin"), objection_id, own_uscc=rated)
        message = describe_error(illegal.value, "zh_CN")[2]
        assert message.startswith("当前状态为") and "不能" in message
    # nothing delivered yet: the daily job leaves it open
    with session_scope(engine) as db:
        assert objections.close_corrected(db, data.open_lake(settings)) == 0
    # the court delivers the corrected case
    path = tmp_path / "court_cases.csv"
    path.write_text(
        f"uscc,case_number,role,case_type,cause,amount,filed_on,outcome,judged_on\n{rated},(2025)鲁1002民初77号,被告,民事,"
        "买卖合同纠纷,56000,2025-06-01,撤诉,2025-08-01\n",
        encoding="utf-8",
    )
    session = session_factory(engine)()
    try:
        data.ingest_files("court_cases", [path], lake=data.open_lake(settings), session=session)
    finally:
        session.close()
    with session_scope(engine) as db:
        assert objections.close_corrected(db, data.open_lake(settings)) == 1
    with session_scope(engine) as db:
        closed = db.get(DataObjection, objection_id)
        assert closed is not None and closed.status == "corrected" and closed.correction_batch_id
        assert reports.open_objection_marks(db, rated) == set()


def test_a_rejection_and_the_operator_for_sources_without_a_department(
    engine: Engine, settings: Settings, rated: str
) -> None:
    with session_scope(engine) as db:
        objection_id = raise_case(db, settings, rated).id  # no department assigned: the operator answers
    with session_scope(engine) as db:
        assert db.get(DataObjection, objection_id).department_id is None  # type: ignore[union-attr]
        with pytest.raises(NotFound):
            objections.answer_objection(db, principal(db, "gov_admin"), objection_id, accept=True, reason="")
    with session_scope(engine) as db:
        queue = objections.department_queue(db, principal(db, "op_admin"))
        assert [o.id for o in queue] == [objection_id]
        rejected = objections.answer_objection(
            db, principal(db, "op_admin"), objection_id, accept=False, reason="经向法院核实，案件信息无误"
        )
        assert rejected.status == "rejected" and rejected.closed_at is not None
    with session_scope(engine) as db:
        assert reports.open_objection_marks(db, rated) == set()
        with pytest.raises(IllegalTransition):
            objections.answer_objection(db, principal(db, "op_admin"), objection_id, accept=True, reason="")
        records = db.scalars(
            select(AuditRecord.event_type).where(AuditRecord.object_type == "objection")
        ).all()
        assert records == ["objection.raise", "objection.reject"]


def test_reminders_before_the_deadline_and_escalation_after(
    engine: Engine, settings: Settings, rated: str
) -> None:
    with session_scope(engine) as db:
        objections.assign_source(db, "court_cases", org_of(db, "gov_admin"))
        objection = raise_case(db, settings, rated)
        objection_id, due = objection.id, objection.due_at
    with session_scope(engine) as db:
        early = objections.remind_and_escalate(db, remind_working_days=3, now=utcnow())
        assert early.reminded == 0 and early.escalated == 0
    day_before = datetime.combine(due.astimezone(SHANGHAI).date(), time(9), tzinfo=SHANGHAI) - timedelta(
        days=1
    )
    with session_scope(engine) as db:
        assert objections.remind_and_escalate(db, remind_working_days=3, now=day_before).reminded == 1
    with session_scope(engine) as db:  # once
        assert objections.remind_and_escalate(db, remind_working_days=3, now=day_before).reminded == 0
    late = due + timedelta(hours=1)
    with session_scope(engine) as db:
        run = objections.remind_and_escalate(db, remind_working_days=3, now=late)
        assert run.escalated == 1
    with session_scope(engine) as db:
        assert objections.remind_and_escalate(db, remind_working_days=3, now=late).escalated == 0
        escalated = db.get(DataObjection, objection_id)
        assert escalated is not None and escalated.escalated_at is not None
        op_inbox = notifications.inbox(db, principal(db, "op_admin"))
        assert any(n.key == f"overdue:{objection_id}" and n.severity == "alert" for n, _ in op_inbox)
        assert objections.is_overdue(escalated, late)


def test_the_deadline_counts_working_days_but_never_passes_twenty_days() -> None:
    ordinary = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
    assert objections.answer_deadline(ordinary, 14).date() == datetime(2026, 3, 20).date()
    # across the Spring Festival (2026-02-15 … 02-23) 14 working days would pass the legal 20 days
    festival = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
    due = objections.answer_deadline(festival, 14)
    assert due.astimezone(SHANGHAI).date() == datetime(2026, 3, 2).date()
    assert objections.working_days_left(datetime(2026, 3, 2).date(), datetime(2026, 3, 6).date()) == 4


def test_only_its_own_organisation_sees_department_queues(
    engine: Engine, settings: Settings, rated: str
) -> None:
    with session_scope(engine) as db:
        objections.assign_source(db, "court_cases", org_of(db, "gov_admin"))
        raise_case(db, settings, rated)
        assert len(objections.department_queue(db, principal(db, "gov_staff"))) == 1
        assert objections.department_queue(db, principal(db, "op_admin")) == []
        assert objections.department_queue(db, other_department_staff(db)) == []


def test_the_department_names_the_correcting_delivery(
    engine: Engine, settings: Settings, rated: str, tmp_path: Path
) -> None:
    with session_scope(engine) as db:
        objections.assign_source(db, "court_cases", org_of(db, "gov_admin"))
        objection_id = raise_case(db, settings, rated).id
        objections.answer_objection(db, principal(db, "gov_admin"), objection_id, accept=True, reason="")
        old_batch = db.scalars(select(IngestBatch.id).where(IngestBatch.source_id == "court_cases")).one()
        tax_batch = db.scalars(select(IngestBatch.id).where(IngestBatch.source_id == "tax_monthly")).one()
    for wrong in (old_batch, tax_batch, "no-such-batch"):  # before the objection, another source, unknown
        with session_scope(engine) as db, pytest.raises(ValidationFailed) as refused:
            objections.mark_corrected(db, principal(db, "gov_admin"), objection_id, wrong)
        assert refused.value.field == "batch_id"
    path = tmp_path / "court_cases.csv"
    path.write_text(
        f"uscc,case_number,role,case_type,cause,amount,filed_on,outcome\n{rated},(2024)鲁1002民初9号,原告,民事,"
        "借款合同纠纷,1000,2024-06-01,胜诉\n",
        encoding="utf-8",
    )
    session = session_factory(engine)()
    try:
        batch = data.ingest_files("court_cases", [path], lake=data.open_lake(settings), session=session)
    finally:
        session.close()
    with session_scope(engine) as db:
        corrected = objections.mark_corrected(db, principal(db, "gov_admin"), objection_id, batch.batch_id)
        assert corrected.status == "corrected" and corrected.correction_batch_id == batch.batch_id
    with session_scope(engine) as db, pytest.raises(IllegalTransition):
        objections.mark_corrected(db, principal(db, "gov_admin"), objection_id, batch.batch_id)


def test_the_daily_command(cli_env: dict[str, str], engine: Engine, world: object) -> None:  # noqa: F811
    result = CliRunner().invoke(cli_app, ["compliance", "daily"])
    assert result.exit_code == 0, result.output
    assert "异议：已更正关闭 0 件；已提醒 0 件；已超期上报 0 件" in result.output


def test_the_demo_raises_its_objections_once(engine: Engine, settings: Settings, rated: str) -> None:
    with session_scope(engine) as db:
        assert demo_compliance.fill_compliance(db, data.open_lake(settings), settings) == 1
    with session_scope(engine) as db:
        assert demo_compliance.fill_compliance(db, data.open_lake(settings), settings) == 0
        objection = db.scalars(select(DataObjection)).one()
        # the registry is the market regulator's: the demo routes it there
        market = db.scalars(select(Organisation).where(Organisation.name == "威海市市场监督管理局")).one()
        assert objection.field == "address" and objection.department_id == market.id
