"""Retention: the audit trail keeps verifying after its oldest records are removed (and still catches
tampering), report queries and negative records older than their periods are removed, a dry run only
counts, and an audit period under six months is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.integration.test_cli import cli_env  # noqa: F401 — the CLI's environment fixture
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.cli import app as cli_app
from xinyidai.core import audit
from xinyidai.core.audit import AuditCheckpoint, AuditRecord, record_event, verify_chain
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.settings import Settings
from xinyidai.data import service as data
from xinyidai.data.models import IngestPart
from xinyidai.market import retention
from xinyidai.market.models import ReportQuery

TODAY = date(2026, 12, 1)
OLD = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)  # nine months before TODAY
RECENT = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The audit trail's clock, set by the test (records are hashed with their time, so they are written
    at the time wanted rather than changed afterwards)."""
    now = [OLD]
    monkeypatch.setattr(audit, "utcnow", lambda: now[0])
    yield now


def write_trail(engine: Engine, clock: list[datetime]) -> None:
    with session_scope(engine) as db:
        clock[0] = OLD
        for n in range(5):
            record_event(db, "login", actor_username=f"old{n}")
        clock[0] = RECENT
        for n in range(3):
            record_event(db, "login", result="failure", actor_username=f"new{n}")


def test_the_trail_verifies_after_retention_and_still_catches_tampering(
    engine: Engine, clock: list[datetime]
) -> None:
    write_trail(engine, clock)
    with session_scope(engine) as db:
        dry = audit.enforce_retention(db, months=6, today=TODAY, dry_run=True)
        assert dry.expired == 5 and dry.removed == 0
        assert db.scalar(select(func.count()).select_from(AuditRecord)) == 8
    with session_scope(engine) as db:
        run = audit.enforce_retention(db, months=6, today=TODAY)
        assert run.removed == 5
    with session_scope(engine) as db:
        kept = db.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        assert [r.actor_username for r in kept[:3]] == ["new0", "new1", "new2"]
        assert kept[-1].event_type == "audit.retention" and kept[-1].detail["removed"] == 5
        checkpoint = db.scalars(select(AuditCheckpoint)).one()
        assert checkpoint.before_id == kept[0].id and checkpoint.anchor_hash == kept[0].prev_hash
        assert verify_chain(db) == (True, None)
        # the chain goes on: new records after the run verify too, and a second run removes nothing more
        record_event(db, "logout")
    with session_scope(engine) as db:
        assert audit.enforce_retention(db, months=6, today=TODAY).removed == 0
        assert verify_chain(db) == (True, None)
    first_kept = checkpoint.before_id
    if engine.dialect.name == "postgresql":
        # the database itself refuses to change a kept record, or to remove one no checkpoint covers
        with pytest.raises(DBAPIError), session_scope(engine) as db:
            db.execute(update(AuditRecord).where(AuditRecord.id == first_kept).values(result="success"))
        with pytest.raises(DBAPIError), session_scope(engine) as db:
            db.execute(delete(AuditRecord).where(AuditRecord.id == first_kept))
        with pytest.raises(DBAPIError), session_scope(engine) as db:
            db.execute(delete(AuditCheckpoint))
        with session_scope(engine) as db:
            assert verify_chain(db) == (True, None)
        return
    # SQLite relies on the chain alone: changing or removing a kept record breaks the walk
    with session_scope(engine) as db:
        db.execute(update(AuditRecord).where(AuditRecord.id == first_kept + 1).values(result="success"))
    with session_scope(engine) as db:
        assert verify_chain(db) == (False, first_kept + 1)
        db.execute(update(AuditRecord).where(AuditRecord.id == first_kept + 1).values(result="failure"))
    with session_scope(engine) as db:
        assert verify_chain(db) == (True, None)
        db.execute(delete(AuditRecord).where(AuditRecord.id == first_kept))
    with session_scope(engine) as db:
        assert verify_chain(db)[0] is False


def test_a_forged_checkpoint_does_not_verify(engine: Engine, clock: list[datetime]) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL refuses the deletion outright (see the test above)")
    write_trail(engine, clock)
    with session_scope(engine) as db:
        first = db.scalars(select(AuditRecord).order_by(AuditRecord.id).offset(5).limit(1)).one()
        # someone removes the old records and writes a checkpoint without the attesting record
        db.add(
            AuditCheckpoint(
                before_id=first.id, anchor_hash=first.prev_hash, removed=5, cutoff=RECENT, event_id=first.id
            )
        )
        db.execute(delete(AuditRecord).where(AuditRecord.id < first.id))
    with session_scope(engine) as db:
        assert verify_chain(db) == (False, first.id)


def test_the_audit_period_is_at_least_six_months(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(home=tmp_path, retention_audit_months=5)
    with pytest.raises(ValueError, match="six months"):
        retention.RetentionPolicy(audit_months=3)
    assert Settings(home=tmp_path).retention_audit_months == 6


def queries(db: Session, when: list[datetime]) -> None:
    bank = db.scalars(select(User).where(User.username == "bank_manager")).one()
    for at in when:
        db.add(
            ReportQuery(
                uscc="91110000600037341L",
                institution_id=bank.organisation_id,
                user_id=bank.id,
                username=bank.username,
                person_name=bank.display_name,
                purpose="loan_review",
                version="full",
                channel="page",
                result="allowed",
                queried_at=at,
            )
        )
    db.flush()


def deliver_old_cases(engine: Engine, settings: Settings, folder: Path) -> None:
    """Two court cases: one judged nine years ago (expired under the 5 years), one judged last year."""
    path = folder / "court_cases.csv"
    path.write_text(
        "uscc,case_number,role,case_type,cause,amount,filed_on,outcome,judged_on\n"
        "91110000600037341L,(2017)鲁1002民初1号,被告,民事,买卖合同纠纷,1000,2017-03-01,败诉,2017-06-01\n"
        "91110000600037341L,(2025)鲁1002民初2号,被告,民事,买卖合同纠纷,2000,2025-03-01,败诉,2025-06-01\n",
        encoding="utf-8",
    )
    session = session_factory(engine)()
    try:
        data.ingest_files(
            "court_cases", [path], lake=data.open_lake(settings), session=session, received_at=RECENT
        )
    finally:
        session.close()


def test_enforcement_removes_expired_queries_and_negative_records(
    engine: Engine, settings: Settings, world: object, tmp_path: Path
) -> None:
    deliver_old_cases(engine, settings, tmp_path)
    lake = data.open_lake(settings)
    with session_scope(engine) as db:
        queries(db, [datetime(2020, 1, 5, tzinfo=UTC), datetime(2022, 1, 10, tzinfo=UTC), RECENT])
    policy = retention.RetentionPolicy(negative_years=5, query_years=5, audit_months=6)
    with session_scope(engine) as db:
        auditor = accounts.principal_for(db.scalars(select(User).where(User.username == "op_audit")).one())
        kinds = {k.kind: k for k in retention.overview(db, lake, auditor, policy, today=TODAY)}
        assert kinds["report_queries"].expired == 1  # 2020-01-05 (the period started 2021-12-01)
        assert kinds["report_queries"].next_expiry == date(2027, 1, 10)
        assert kinds["report_queries"].oldest == date(2020, 1, 5)
        assert kinds["negative_records"].records == 2 and kinds["negative_records"].expired == 1
        assert kinds["negative_records"].oldest == date(2017, 6, 1)
        assert kinds["negative_records"].next_expiry == date(2030, 6, 1)
        assert kinds["audit_records"].period_value == 6
        dry = retention.enforce(db, lake, policy, today=TODAY, dry_run=True)
        assert dry.expired["report_queries"] == 1 and dry.removed["report_queries"] == 0
        assert dry.expired["negative_records"] == 1 and dry.removed["negative_records"] == 0
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(ReportQuery)) == 3
        assert lake.query("court_cases").count("*").fetchall() == [(2,)]
        run = retention.enforce(db, lake, policy, today=TODAY)
        assert run.removed["report_queries"] == 1 and run.removed["negative_records"] == 1
    with session_scope(engine) as db:
        kept = db.scalars(select(ReportQuery.queried_at).order_by(ReportQuery.queried_at)).all()
        assert [k.date() for k in kept] == [date(2022, 1, 10), RECENT.date()]
        assert db.scalar(select(func.sum(IngestPart.rows)).where(IngestPart.source_id == "court_cases")) == 1
        assert verify_chain(db) == (True, None)
        recorded = db.scalars(select(AuditRecord).where(AuditRecord.event_type == "retention.enforce")).one()
        assert recorded.detail["report_queries"] == 1 and recorded.detail["negative_records"] == 1
    fresh = data.open_lake(settings)
    rows = fresh.query("court_cases").project("case_number").fetchall()
    assert rows == [("(2025)鲁1002民初2号",)]  # the expired case is gone from the lake's files


def test_the_cli_dry_run_prints_counts(
    cli_env: dict[str, str],  # noqa: F811
    engine: Engine,
    world: object,
) -> None:
    with session_scope(engine) as db:
        queries(db, [datetime(2015, 1, 5, tzinfo=UTC)])
    result = CliRunner().invoke(cli_app, ["retention", "enforce", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "报告查询记录：已过期 1 条（试运行，未删除）" in result.output
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(ReportQuery)) == 1
    result = CliRunner().invoke(cli_app, ["retention", "enforce"])
    assert result.exit_code == 0, result.output
    assert "报告查询记录：已过期 1 条，已删除 1 条" in result.output
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(ReportQuery)) == 0
