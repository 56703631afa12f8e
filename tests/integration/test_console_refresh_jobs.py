"""Refreshes of the console statistics as jobs (SQLite and PostgreSQL): tonight's slot added once however
many processes find it due, a job claimed by one worker and one job running at a time, a failed refresh
recorded with its reason without blocking the next, a dead worker's job given up after two hours, the
operator's button deduplicated and refused to others, the command recorded as a job, and the scheduler
thread running what falls due."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.consoles import refresh_jobs as jobs
from xinyidai.consoles import statistics as stats
from xinyidai.consoles.statistics_models import ConsoleRefresh, ConsoleRefreshJob
from xinyidai.consoles.statistics_refresh import refresh
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.audit import AuditRecord
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.errors import Conflict, PermissionDenied
from xinyidai.core.settings import Settings

# 18:30 UTC on 1 December is 02:30 on 2 December in Beijing: past the default 02:00.
AFTER_TWO = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
BEFORE_TWO = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 01:30 in Beijing


def principal(db: Session, kind: OrgKind, role: Role, username: str) -> Principal:
    org = Organisation(kind=kind.value, name=f"{username} 单位")
    db.add(org)
    db.flush()
    return Principal(
        user_id=None, organisation_id=org.id, org_kind=kind, roles=frozenset({role}), username=username
    )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No nightly job unless a test asks for one: what runs must not depend on the hour the tests run."""
    return settings.model_copy(update={"consoles_refresh_at": ""})


def jobs_in(engine: Engine) -> list[ConsoleRefreshJob]:
    with session_scope(engine) as db:
        return list(db.scalars(select(ConsoleRefreshJob).order_by(ConsoleRefreshJob.id)))


def queue(engine: Engine, slot: str, **values: Any) -> int:
    with session_scope(engine) as db:
        job = ConsoleRefreshJob(slot=slot, requested_by="test", **values)
        db.add(job)
        db.flush()
        return job.id


def failing(message: str) -> Callable[..., ConsoleRefresh]:
    def refresh_that_fails(session: Session, lake_root: Path, *, triggered_by: str) -> ConsoleRefresh:
        raise RuntimeError(message)

    return refresh_that_fails


def test_the_nightly_slot_is_today_in_beijing_once_past_the_hour_and_empty_disables_it() -> None:
    assert jobs.nightly_slot(BEFORE_TWO, "02:00") is None
    assert jobs.nightly_slot(AFTER_TWO, "02:00") == "nightly:2026-12-02"
    assert jobs.nightly_slot(AFTER_TWO, "03:15") is None
    assert jobs.nightly_slot(AFTER_TWO, "") is None


def test_the_time_setting_is_checked() -> None:
    assert Settings(consoles_refresh_at="").consoles_refresh_at == ""
    assert Settings().consoles_refresh_at == "02:00"
    for bad in ("25:00", "2:00", "02:60", "two"):
        with pytest.raises(ValidationError):
            Settings(consoles_refresh_at=bad)


def test_the_nightly_job_is_added_once_however_often_it_is_found_due(engine: Engine) -> None:
    with session_scope(engine) as db:
        assert jobs.due_nightly(db, BEFORE_TWO) is None
        added = jobs.due_nightly(db, AFTER_TWO)
        assert added is not None and added.slot == "nightly:2026-12-02" and added.status == "queued"
        assert jobs.due_nightly(db, AFTER_TWO + timedelta(minutes=1)) is None
    with session_scope(engine) as other:  # another process, later that night
        assert jobs.due_nightly(other, AFTER_TWO + timedelta(hours=3)) is None
    assert [j.slot for j in jobs_in(engine)] == ["nightly:2026-12-02"]
    with session_scope(engine) as db:  # the next night is another slot
        assert jobs.due_nightly(db, AFTER_TWO + timedelta(days=1)) is not None
    assert len(jobs_in(engine)) == 2


def test_two_processes_adding_the_same_night_at_once_give_one_job_and_no_error(engine: Engine) -> None:
    first_added = threading.Event()
    done = threading.Event()

    def first() -> None:
        with session_scope(engine) as db:
            assert jobs.due_nightly(db, AFTER_TWO) is not None
            first_added.set()
            time.sleep(0.5)  # the second process inserts meanwhile, before this commits
        done.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_added.wait(10)
    with session_scope(engine) as second:
        assert jobs.due_nightly(second, AFTER_TWO) is None  # its insert met the first's row: no error
    thread.join(10)
    assert done.is_set()
    assert [j.slot for j in jobs_in(engine)] == ["nightly:2026-12-02"]


def test_a_queued_job_goes_to_one_claimant_only(engine: Engine) -> None:
    job_id = queue(engine, "manual:a")
    claimed = threading.Event()
    results: dict[str, ConsoleRefreshJob | None] = {}

    def first() -> None:
        with session_scope(engine) as db:
            results["first"] = jobs.claim_next(db, "host-a:1")
            claimed.set()
            time.sleep(0.5)  # the second claimant tries while this claim is not yet committed

    thread = threading.Thread(target=first)
    thread.start()
    assert claimed.wait(10)
    with session_scope(engine) as db:
        results["second"] = jobs.claim_next(db, "host-b:2")
    thread.join(10)
    first_job = results["first"]
    assert first_job is not None and first_job.id == job_id
    assert results["second"] is None
    [job] = jobs_in(engine)
    assert (job.status, job.worker) == ("running", "host-a:1") and job.started_at is not None


def test_one_job_runs_at_a_time(engine: Engine) -> None:
    queue(engine, "manual:a")
    second = queue(engine, "manual:b")
    with session_scope(engine) as db:
        assert jobs.claim_next(db, "host-a:1") is not None
    with session_scope(engine) as db:
        assert jobs.claim_next(db, "host-b:2") is None  # the first is running
    # and the database itself refuses a second running job, whoever writes it
    with pytest.raises(IntegrityError), session_scope(engine) as db:
        job = db.get(ConsoleRefreshJob, second)
        assert job is not None
        job.status = "running"
    assert [j.status for j in jobs_in(engine)] == ["running", "queued"]


def test_a_failed_refresh_is_recorded_with_its_reason_and_the_next_job_still_runs(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    queue(engine, "manual:a")
    queue(engine, "manual:b")
    first = jobs.run_once(engine, settings, "host-a:1", refresh=failing("the lake's disk is full"))
    assert first is not None
    assert "refreshing the console statistics failed" in caplog.text
    second = jobs.run_once(engine, settings, "host-a:1")  # the real refresh
    assert second is not None and second != first
    failed, done = jobs_in(engine)
    assert (failed.status, failed.error, failed.refresh_id) == ("failed", "the lake's disk is full", None)
    assert failed.finished_at is not None
    assert done.status == "done" and done.refresh_id is not None and done.error == ""
    with session_scope(engine) as db:
        record = stats.latest_refresh(db)
        assert record is not None and record.id == done.refresh_id and record.triggered_by == "test"
        status = jobs.refresh_status(db)
        assert status.state == "idle" and status.failure == ""  # the last one finished well
    assert jobs.run_once(engine, settings, "host-a:1") is None  # nothing left


def test_a_job_running_for_over_two_hours_is_given_up_and_no_longer_blocks(
    engine: Engine, settings: Settings
) -> None:
    stale = queue(
        engine, "manual:dead", status="running", started_at=utcnow() - timedelta(hours=2, minutes=1)
    )
    recent = queue(engine, "manual:alive", status="queued")
    with session_scope(engine) as db:
        status = jobs.refresh_status(db)
        assert status.active is not None and status.active.id == recent  # the dead one is not "running"
    assert jobs.run_once(engine, settings, "host-a:1") == recent
    by_id = {j.id: j for j in jobs_in(engine)}
    assert by_id[stale].status == "failed" and by_id[stale].error == jobs.WORKER_STOPPED
    assert by_id[recent].status == "done"
    with session_scope(engine) as db:
        assert jobs.refresh_status(db).failure == ""  # the newest finished job is the good one


def test_a_running_job_younger_than_two_hours_is_left_alone(engine: Engine) -> None:
    running = queue(engine, "manual:slow", status="running", started_at=utcnow() - timedelta(minutes=90))
    with session_scope(engine) as db:
        assert jobs.expire_stale(db, utcnow()) == 0
        assert jobs.claim_next(db, "host-b:2") is None
    assert [(j.id, j.status) for j in jobs_in(engine)] == [(running, "running")]


def test_asking_twice_gives_one_job_and_one_audit_record(engine: Engine) -> None:
    with session_scope(engine) as db:
        operator = principal(db, OrgKind.OPERATOR, Role.OPERATOR_ADMIN, "op_admin")
        first = jobs.request_refresh(db, operator)
        again = jobs.request_refresh(db, operator)
        assert again.id == first.id and first.slot.startswith("manual:")
        assert first.requested_by == "op_admin" and first.status == "queued"
    with session_scope(engine) as db:
        other = principal(db, OrgKind.OPERATOR, Role.OPERATOR_ADMIN, "op_admin2")
        assert jobs.request_refresh(db, other).id == first.id  # another admin meanwhile: the same job
        events = db.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.event_type == "consoles.refresh.request")
        )
        assert events == 1
    assert len(jobs_in(engine)) == 1


def test_asking_while_a_job_runs_gives_that_job(engine: Engine) -> None:
    running = queue(engine, "nightly:2026-12-02", status="running", started_at=utcnow())
    with session_scope(engine) as db:
        operator = principal(db, OrgKind.OPERATOR, Role.OPERATOR_ADMIN, "op_admin")
        assert jobs.request_refresh(db, operator).id == running


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        (OrgKind.DEPARTMENT, Role.DEPARTMENT_ADMIN),
        (OrgKind.DEPARTMENT, Role.FUND_MANAGER),
        (OrgKind.OPERATOR, Role.AUDITOR),
        (OrgKind.OPERATOR, Role.DATA_ADMIN),
        (OrgKind.INSTITUTION, Role.INSTITUTION_ADMIN),
    ],
)
def test_only_the_operator_admin_may_ask(engine: Engine, kind: OrgKind, role: Role) -> None:
    with session_scope(engine) as db:
        someone = principal(db, kind, role, "someone")
        with pytest.raises(PermissionDenied):
            jobs.request_refresh(db, someone)
    assert jobs_in(engine) == []


def test_the_command_is_recorded_as_a_job_and_refused_while_another_runs(
    engine: Engine, settings: Settings
) -> None:
    job = jobs.refresh_now(engine, settings)
    assert job.slot.startswith("cli:") and job.status == "done" and job.refresh_id is not None
    assert job.requested_by == "cli" and job.worker.endswith(f":{os.getpid()}")
    queue(engine, "manual:busy", status="running", started_at=utcnow())
    with pytest.raises(Conflict):
        jobs.refresh_now(engine, settings)
    assert [j.status for j in jobs_in(engine)] == ["done", "running"]  # nothing half-written


def test_the_scheduler_thread_runs_tonights_refresh_and_stops(engine: Engine, settings: Settings) -> None:
    fast = settings.model_copy(update={"consoles_refresh_at": "00:00", "consoles_refresh_poll_seconds": 0.05})
    stop = threading.Event()
    thread = threading.Thread(target=jobs.run_scheduler, args=(engine, fast, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = [j for j in jobs_in(engine) if j.status == "done"]
            if done:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    [job] = jobs_in(engine)
    assert job.slot.startswith("nightly:") and job.status == "done" and job.requested_by == "nightly"


def test_a_refresh_published_by_a_job_reads_like_any_other(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as db:
        operator = principal(db, OrgKind.OPERATOR, Role.OPERATOR_ADMIN, "op_admin")
        jobs.request_refresh(db, operator)
    assert jobs.run_once(engine, settings, "host-a:1", refresh=refresh) is not None
    with session_scope(engine) as db:
        assert stats.open_store(db, settings.home / "lake") is not None
        record = stats.latest_refresh(db)
        assert record is not None and record.triggered_by == "op_admin"


def test_a_job_whose_process_on_this_host_is_gone_is_failed_at_the_next_poll(engine: Engine) -> None:
    """A restart mid-refresh: the job's process no longer runs, so the queue moves on at once instead of
    waiting two hours; a job of a live process (this one) or of another host is left running."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    host = socket.gethostname()
    dead = queue(engine, "manual:dead", status="running", started_at=utcnow(), worker=f"{host}:{ended.pid}")
    with session_scope(engine) as db:
        assert jobs.expire_stale(db, utcnow()) == 1
    with session_scope(engine) as db:
        job = db.get(ConsoleRefreshJob, dead)
        assert job is not None and (job.status, job.error) == ("failed", jobs.WORKER_STOPPED)
    alive = queue(engine, "manual:alive", status="running", started_at=utcnow(), worker=jobs.worker_name())
    elsewhere = queue(engine, "manual:far", status="queued", worker=f"other-host:{ended.pid}")
    with session_scope(engine) as db:
        assert jobs.expire_stale(db, utcnow()) == 0
    statuses = {j.id: j.status for j in jobs_in(engine)}
    assert (statuses[alive], statuses[elsewhere]) == ("running", "queued")
