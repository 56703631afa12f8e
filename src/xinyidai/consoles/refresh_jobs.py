"""Refreshes of the console statistics as jobs: the nightly slot, the operator's button, the command.

Each web process runs ``run_scheduler`` in a thread: every ``consoles_refresh_poll_seconds`` it adds
tonight's job once Beijing time is past ``consoles_refresh_at`` (02:00; empty = no nightly job), claims
the oldest queued job and runs ``statistics_refresh.refresh``. Several processes are safe:

- the nightly job's slot ``nightly:<local date>`` is unique, so all the processes that find it due add one;
- a job is claimed by a conditional UPDATE (of two claimants one changes the row, the other none), and a
  partial unique index lets one job at most be ``running``: two refreshes at once would prune each
  other's half-written sets;
- a job whose process on this host is gone (a restart mid-refresh), or running for more than
  ``STALE_AFTER`` (a refresh takes minutes), is taken for dead and marked failed, so it does not hold the
  queue.

``xinyidai consoles refresh`` records its run as a job too (``cli:<uuid>``), so the page shows it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyidai.consoles import statistics_refresh
from xinyidai.consoles.statistics_models import ConsoleRefresh, ConsoleRefreshJob
from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.audit import record_event
from xinyidai.core.clock import to_local, utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.errors import Conflict
from xinyidai.core.i18n import N_
from xinyidai.core.settings import Settings
from xinyidai.data.service import open_lake

log = logging.getLogger(__name__)

STALE_AFTER: Final = timedelta(hours=2)
WORKER_STOPPED: Final = N_("The worker stopped before the refresh finished")
ERROR_CHARS: Final = 2000

# ``statistics_refresh.refresh``'s shape; tests pass one that fails.
Refresh = Callable[..., ConsoleRefresh]


def worker_name() -> str:
    """This process as ``host:pid``: who ran a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(now: datetime) -> Any:
    """Queued, or running and not yet taken for dead."""
    return or_(
        ConsoleRefreshJob.status == "queued",
        and_(ConsoleRefreshJob.status == "running", ConsoleRefreshJob.started_at >= now - STALE_AFTER),
    )


def active_job(session: Session, now: datetime | None = None) -> ConsoleRefreshJob | None:
    """The job running now, else the oldest queued one (None when nothing is to be done)."""
    return session.scalars(
        select(ConsoleRefreshJob)
        .where(_alive(now or utcnow()))
        .order_by(ConsoleRefreshJob.status.desc(), ConsoleRefreshJob.id)  # "running" before "queued"
        .limit(1)
    ).first()


def last_finished(session: Session) -> ConsoleRefreshJob | None:
    """The job that finished last, done or failed."""
    return session.scalars(
        select(ConsoleRefreshJob)
        .where(ConsoleRefreshJob.status.in_(("done", "failed")))
        .order_by(ConsoleRefreshJob.finished_at.desc(), ConsoleRefreshJob.id.desc())
        .limit(1)
    ).first()


def request_refresh(session: Session, principal: Principal) -> ConsoleRefreshJob:
    """Queue a refresh now for an operator (the page's button); audited.

    If a refresh is already queued or running that job is returned instead: a double click, or a second
    administrator asking meanwhile, gives one job.
    """
    require(principal, Permission.CONSOLES_REFRESH)
    now = utcnow()
    job = active_job(session, now)
    if job is not None:
        return job
    job = ConsoleRefreshJob(slot=f"manual:{uuid.uuid4()}", requested_at=now, requested_by=principal.username)
    session.add(job)
    session.flush()
    record_event(
        session,
        "consoles.refresh.request",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type="console_refresh_job",
        object_id=job.id,
    )
    return job


def nightly_slot(now: datetime, at: str) -> str | None:
    """The slot of today's nightly job once Beijing time is past ``at`` (``HH:MM``); None before or if
    ``at`` is empty (no nightly job)."""
    if not at:
        return None
    local = to_local(now)
    hour, minute = (int(part) for part in at.split(":"))
    if local.time() < time(hour, minute):
        return None
    return f"nightly:{local.date():%Y-%m-%d}"


def due_nightly(session: Session, now: datetime, *, at: str = "02:00") -> ConsoleRefreshJob | None:
    """Queue today's nightly job once it is due; returns it if this call added it.

    Every web process calls this on each poll: the slot is unique, so one of them adds it and the others'
    inserts fail quietly (a process that starts late in the day runs the day's refresh then).
    """
    slot = nightly_slot(now, at)
    if slot is None or session.scalar(select(ConsoleRefreshJob.id).where(ConsoleRefreshJob.slot == slot)):
        return None
    job = ConsoleRefreshJob(slot=slot, requested_at=now, requested_by="nightly")
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        return None  # another process added it first
    return job


def _gone(worker: str) -> bool:
    """Whether ``worker`` (``host:pid``) was a process of this host that no longer runs: a restart
    mid-refresh is seen at the next poll rather than after ``STALE_AFTER``."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, but another user's
        return False
    return False


def expire_stale(session: Session, now: datetime) -> int:
    """Mark failed the running jobs whose worker stopped: running for longer than ``STALE_AFTER``, or
    whose process on this host is gone. Returns how many."""
    running = session.execute(
        select(ConsoleRefreshJob.id, ConsoleRefreshJob.worker).where(ConsoleRefreshJob.status == "running")
    ).all()
    gone = [job_id for job_id, worker in running if worker and _gone(worker)]
    result = session.execute(
        update(ConsoleRefreshJob)
        .where(
            ConsoleRefreshJob.status == "running",
            or_(ConsoleRefreshJob.started_at < now - STALE_AFTER, ConsoleRefreshJob.id.in_(gone)),
        )
        .values(status="failed", finished_at=now, error=WORKER_STOPPED)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.warning("%s console statistics refresh(es) lost their worker: marked failed", count)
    return count


def claim_next(session: Session, worker: str, now: datetime | None = None) -> ConsoleRefreshJob | None:
    """Claim the oldest queued job for ``worker`` unless a job is running; commit soon after.

    A conditional UPDATE: of two workers claiming the same job one changes the row, the other's UPDATE
    matches none; a worker claiming another job while one runs hits the index of running jobs.
    """
    now = now or utcnow()
    expire_stale(session, now)
    if session.scalar(select(ConsoleRefreshJob.id).where(ConsoleRefreshJob.status == "running")):
        return None
    job_id = session.scalar(
        select(ConsoleRefreshJob.id)
        .where(ConsoleRefreshJob.status == "queued")
        .order_by(ConsoleRefreshJob.requested_at, ConsoleRefreshJob.id)
        .limit(1)
    )
    if job_id is None:
        return None
    try:
        with session.begin_nested():
            result = session.execute(
                update(ConsoleRefreshJob)
                .where(ConsoleRefreshJob.id == job_id, ConsoleRefreshJob.status == "queued")
                .values(status="running", started_at=now, worker=worker)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        return None  # another worker started a job meanwhile
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.get(ConsoleRefreshJob, job_id, populate_existing=True)


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:ERROR_CHARS]


def run_job(
    engine: Engine, settings: Settings, job_id: int, *, refresh: Refresh = statistics_refresh.refresh
) -> ConsoleRefreshJob:
    """Run a claimed job: refresh and mark it done with the set it published, or failed with the reason
    (logged). The refresh and its job's "done" are one unit of work."""
    lake_root: Path = open_lake(settings).root
    try:
        with session_scope(engine) as session:
            job = session.get(ConsoleRefreshJob, job_id)
            if job is None:
                raise LookupError(f"no console refresh job {job_id}")
            record = refresh(session, lake_root, triggered_by=job.requested_by)
            job.status, job.finished_at, job.refresh_id, job.error = "done", utcnow(), record.id, ""
        return job
    except Exception as exc:
        log.exception("refreshing the console statistics failed (job %s)", job_id)
        with session_scope(engine) as session:
            failed = session.get(ConsoleRefreshJob, job_id)
            if failed is None:
                raise
            failed.status, failed.finished_at, failed.error = "failed", utcnow(), _describe(exc)
        return failed


def refresh_now(engine: Engine, settings: Settings, requested_by: str = "cli") -> ConsoleRefreshJob:
    """Refresh at once in this process (the command), recorded as a running job ``cli:<uuid>``.

    Raises ``Conflict`` if a refresh is already running.
    """
    now = utcnow()
    with session_scope(engine) as session:
        expire_stale(session, now)
        job = ConsoleRefreshJob(
            slot=f"cli:{uuid.uuid4()}",
            requested_at=now,
            requested_by=requested_by,
            status="running",
            started_at=now,
            worker=worker_name(),
        )
        try:
            with session.begin_nested():
                session.add(job)
        except IntegrityError:
            raise Conflict(
                "Another refresh of the statistics is running; try again when it has finished"
            ) from None
        job_id = job.id
    return run_job(engine, settings, job_id)


def run_once(
    engine: Engine,
    settings: Settings,
    worker: str,
    now: datetime | None = None,
    *,
    refresh: Refresh = statistics_refresh.refresh,
) -> int | None:
    """One pass of the scheduler: queue tonight's job when due, claim the oldest queued job and run it.
    Returns the id of the job run, if any."""
    now = now or utcnow()
    with session_scope(engine) as session:
        due_nightly(session, now, at=settings.consoles_refresh_at)
    with session_scope(engine) as session:
        job = claim_next(session, worker, now)
        job_id = job.id if job is not None else None
    if job_id is not None:
        run_job(engine, settings, job_id, refresh=refresh)
    return job_id


def run_scheduler(engine: Engine, settings: Settings, stop: threading.Event) -> None:
    """Run refreshes as they fall due until ``stop`` is set (a thread of each web process, outside tests)."""
    worker = worker_name()
    while not stop.wait(settings.consoles_refresh_poll_seconds):
        try:
            run_once(engine, settings, worker)
        except Exception:  # the database may be briefly unreachable: say so, go on
            log.exception("the console statistics scheduler's pass failed")


@dataclass(frozen=True)
class RefreshStatus:
    """What the statistics page says about refreshing: the job under way (if any) and the last finished."""

    active: ConsoleRefreshJob | None
    last: ConsoleRefreshJob | None
    now: datetime

    @property
    def state(self) -> str:
        """``queued``, ``running`` or ``idle``."""
        return self.active.status if self.active is not None else "idle"

    @property
    def seconds(self) -> int:
        """Seconds since the active job started (or was asked for, while it waits)."""
        if self.active is None:
            return 0
        since = self.active.started_at or self.active.requested_at
        return max(0, int((self.now - since).total_seconds()))

    @property
    def failure(self) -> str:
        """The reason the last job failed, or empty."""
        return self.last.error if self.last is not None and self.last.status == "failed" else ""


def refresh_status(session: Session, now: datetime | None = None) -> RefreshStatus:
    """The refresh status every viewer of the statistics sees (the failure reason is for operators)."""
    now = now or utcnow()
    return RefreshStatus(active_job(session, now), last_finished(session), now)
