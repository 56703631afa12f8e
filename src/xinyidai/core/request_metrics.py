"""Every worker's API traffic in one table, so the operator's screen shows the platform, not one process.

``xinyidai serve --workers N`` runs N processes, each recording its own requests in its own
``RequestWindow`` — a screen answered by one worker would show about 1/N of the traffic. So each worker
writes the minutes it recorded into since its last flush to ``request_minutes`` every ``FLUSH_SECONDS``
(and once more when it shuts down): one row per worker, minute and route holding the minute's whole
figures — counts and the sparse latency histogram — written as an upsert, so a repeated write changes
nothing. Rows older than ``KEEP_MINUTES`` are deleted by whichever worker flushes.

The screen (``shared_snapshot``) reads the other workers' rows of the last minutes and adds its own
worker's window from memory (fresher than its rows, and never counted twice); histograms add bin by bin,
so the quantiles over all workers are exact to the window's 5 % bins. Another worker's traffic reaches the
screen at most ``FLUSH_SECONDS`` late.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Engine, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from xinyidai.core.database import Base, UTCDateTime, session_scope
from xinyidai.core.request_window import (
    RequestWindow,
    RouteKey,
    RouteMinute,
    ServerError,
    TrafficSnapshot,
    summarise,
)

log = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
KEEP_MINUTES = 60
REPORTING_MINUTES = 2  # a worker with a row in the last two minutes counts as reporting
_ROUTE_LENGTH = 300


class RequestMinute(Base):
    """One worker's requests to one route in one minute, as its ``RequestWindow`` counted them.

    ``worker`` is ``host:pid``; ``minute`` the minute's start (UTC). ``latency_bins`` maps the window's
    log-scale bin index (as text: JSON keys) to requests; ``last_errors`` holds the minute's last 5xx
    answers on the route as ``[epoch seconds, status, request id]``. Written by its worker, deleted
    after ``KEEP_MINUTES``.
    """

    __tablename__ = "request_minutes"
    __table_args__ = (UniqueConstraint("worker", "minute", "method", "route"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(200))
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    method: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(_ROUTE_LENGTH))
    requests: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    latency_bins: Mapped[dict[str, int]] = mapped_column(JSON)
    last_errors: Mapped[list[list[Any]]] = mapped_column(JSON)


def _moment(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _row(worker: str, minute: int, key: RouteKey, entry: RouteMinute) -> dict[str, Any]:
    method, route = key
    return {
        "worker": worker,
        "minute": _moment(minute),
        "method": method,
        "route": route[:_ROUTE_LENGTH],
        "requests": entry.count,
        "errors": entry.errors,
        "latency_bins": {str(index): n for index, n in entry.bins.items()},
        "last_errors": [[e.at, e.status, e.request_id] for e in entry.last_errors],
    }


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert each row, or replace the figures of the row already there for its worker, minute and route."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(RequestMinute)
    stmt = stmt.on_conflict_do_update(
        index_elements=["worker", "minute", "method", "route"],
        set_={name: stmt.excluded[name] for name in ("requests", "errors", "latency_bins", "last_errors")},
    )
    session.execute(stmt, rows)


def flush(engine: Engine, window: RequestWindow, *, keep_minutes: int = KEEP_MINUTES) -> int:
    """Write the window's minutes changed since its last flush; delete every worker's rows older than
    ``keep_minutes``. Returns the rows written.

    A failed write hands its minutes back to the window, so the next flush writes them.
    """
    changes = window.take_changes()
    worker = window.worker
    rows = [
        _row(worker, minute, key, entry)
        for minute, routes in changes.items()
        for key, entry in routes.items()
    ]
    try:
        if rows:
            with session_scope(engine) as session:
                _upsert(session, rows)
    except Exception:
        window.mark_changed(changes)
        raise
    cutoff = _moment(int(window.clock() // 60) - keep_minutes + 1)
    with session_scope(engine) as session:  # its own transaction: a failed clean-up keeps the write
        session.execute(delete(RequestMinute).where(RequestMinute.minute < cutoff))
    return len(rows)


def run_flusher(
    engine: Engine, window: RequestWindow, stop: threading.Event, *, seconds: float = FLUSH_SECONDS
) -> None:
    """Flush every ``seconds`` until ``stop`` is set, then once more (a worker shutting down leaves its
    last minutes). Started by the web app outside tests, one per worker process."""
    while not stop.wait(seconds):
        _flush_logged(engine, window)
    _flush_logged(engine, window)


def _flush_logged(engine: Engine, window: RequestWindow) -> None:
    try:
        flush(engine, window)
    except Exception:  # the database may be briefly unreachable: the minutes wait for the next flush
        log.exception("writing the request minutes failed")


def shared_snapshot(session: Session, window: RequestWindow, minutes: int | None = None) -> TrafficSnapshot:
    """The last ``minutes`` minutes of every worker: the other workers' rows plus this worker's window.

    ``workers`` counts this worker and every other with a row in the last ``REPORTING_MINUTES`` minutes.
    """
    span = window.span(minutes)
    now = int(window.clock() // 60)
    first, reporting_since = _moment(now - span + 1), _moment(now - REPORTING_MINUTES + 1)
    others = (
        RequestMinute.worker != window.worker,
        RequestMinute.minute >= min(first, reporting_since),
        RequestMinute.minute <= _moment(now),  # a worker whose clock runs ahead waits for this one's
    )
    merged = window.routes(span)
    reporting = {window.worker}
    figures = select(
        RequestMinute.worker,
        RequestMinute.minute,
        RequestMinute.method,
        RequestMinute.route,
        RequestMinute.requests,
        RequestMinute.errors,
        RequestMinute.latency_bins,
    ).where(*others)
    for worker, minute, method, route, requests, errors, bins in session.execute(figures):
        if minute >= reporting_since:
            reporting.add(worker)
        if minute >= first:
            row = RouteMinute(requests, errors, {int(index): n for index, n in bins.items()})
            merged.setdefault((method, route), RouteMinute()).add(row)
    # 5xx answers are rare: only the rows that have some are asked for their list
    answers = select(RequestMinute.method, RequestMinute.route, RequestMinute.last_errors).where(
        *others, RequestMinute.minute >= first, RequestMinute.errors > 0
    )
    for method, route, last in session.execute(answers):
        merged[(method, route)].last_errors.extend(
            ServerError(float(at), method, route, int(status), str(rid)) for at, status, rid in last
        )
    return summarise(merged, span, workers=len(reporting))
