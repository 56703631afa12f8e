"""Every worker's traffic in one table: workers flush their minutes, the operator's screen reads them all.

Each worker is a ``RequestWindow`` with its own worker id and a shared fake clock; all write to the test
database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import LoggedIn, new_client
from xinyidai.consoles import operations
from xinyidai.core import i18n
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.request_metrics import RequestMinute, flush, run_flusher, shared_snapshot
from xinyidai.core.request_window import RequestWindow, TrafficSnapshot
from xinyidai.data.catalogue import catalogue
from xinyidai.data.models import IngestBatch

OPERATOR = Principal(1, 1, OrgKind.OPERATOR, frozenset({Role.OPERATOR_ADMIN}), "op")
START = 1_800_000_030.0  # half a minute into a minute


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _workers(clock: Clock, *names: str) -> list[RequestWindow]:
    return [RequestWindow(worker=name, clock=clock) for name in names]


def _traffic(clock: Clock, a: RequestWindow, b: RequestWindow, everything: RequestWindow) -> None:
    """Worker a answers fast, worker b slowly on the same route; ``everything`` records both."""
    for i in range(100):
        clock.now += 0.1
        for window in (a, everything):
            window.record("GET", "/api/r", 200, 0.005 + i / 10_000)
        for window in (b, everything):
            window.record("GET", "/api/r", 503 if i < 3 else 200, 0.8 + i / 100, request_id=f"b{i}")
    for i in range(40):
        for window in (b, everything):
            window.record("POST", "/api/x", 200, 0.05)


def _read(engine: Engine, window: RequestWindow, minutes: int = 5) -> TrafficSnapshot:
    with session_scope(engine) as session:
        return shared_snapshot(session, window, minutes)


def _rows(engine: Engine) -> list[tuple[str, str, int, int]]:
    with session_scope(engine) as session:
        stmt = select(RequestMinute.worker, RequestMinute.route, RequestMinute.requests, RequestMinute.errors)
        return sorted((worker, route, n, errors) for worker, route, n, errors in session.execute(stmt))


def _routes(engine: Engine) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        return [(m, r) for m, r in session.execute(select(RequestMinute.method, RequestMinute.route))]


def test_the_screen_shows_the_sum_and_quantiles_over_every_worker(engine: Engine) -> None:
    clock = Clock()
    a, b, screen, everything = _workers(clock, "host-a:1", "host-b:2", "host-c:3", "all")
    _traffic(clock, a, b, everything)
    assert flush(engine, a) == 1 and flush(engine, b) == 2
    clock.now += 30  # the next minute: the flushed one is still in the last five
    expected = everything.snapshot(5)
    seen = _read(engine, screen)  # a worker that answered nothing itself
    assert seen.routes == expected.routes  # counts, 5xx and p50/p95/p99 as if one window saw it all
    assert (seen.requests, seen.errors, seen.p99_ms) == (240, 3, expected.p99_ms)
    get = seen.routes[0]
    assert (get.route, get.requests, get.errors) == ("/api/r", 200, 3)
    assert get.p50_ms < 100 < 800 < get.p99_ms  # half fast (worker a), the tail slow (worker b)
    assert seen.workers == 3
    assert [e.request_id for e in seen.last_errors] == ["b2", "b1", "b0"]
    # worker a reads its own minutes from memory and b's from the table: nothing counted twice
    assert _read(engine, a).routes == expected.routes


def test_a_repeated_flush_does_not_double_count(engine: Engine) -> None:
    clock = Clock()
    (a,) = _workers(clock, "host-a:1")
    for _ in range(10):
        a.record("GET", "/api/r", 200, 0.01)
    assert flush(engine, a) == 1
    assert flush(engine, a) == 0  # nothing changed since
    a.mark_changed([int(START // 60)])  # as after a failed write: the minute is written again
    assert flush(engine, a) == 1
    a.record("GET", "/api/r", 500, 0.01)
    flush(engine, a)
    assert _rows(engine) == [("host-a:1", "/api/r", 11, 1)]
    (reader,) = _workers(clock, "host-b:2")
    assert _read(engine, reader).requests == 11


def test_a_failed_write_is_retried_by_the_next_flush(engine: Engine) -> None:
    clock = Clock()
    (a,) = _workers(clock, "host-a:1")
    a.record("GET", "/api/r", 200, 0.01)
    broken = create_engine("sqlite://")  # no tables: the write fails
    with pytest.raises(OperationalError, match="request_minutes"):
        flush(broken, a)
    broken.dispose()
    assert _rows(engine) == []
    assert flush(engine, a) == 1
    assert _rows(engine) == [("host-a:1", "/api/r", 1, 0)]


def test_rows_older_than_the_window_are_deleted(engine: Engine) -> None:
    clock = Clock()
    a, b = _workers(clock, "host-a:1", "host-b:2")
    a.record("GET", "/api/old", 200, 0.01)
    b.record("GET", "/api/old", 200, 0.01)
    flush(engine, a)
    flush(engine, b)
    clock.now += 59 * 60
    a.record("GET", "/api/new", 200, 0.01)
    flush(engine, a)
    assert [r[1] for r in _rows(engine)] == ["/api/new", "/api/old", "/api/old"]  # 60 minutes kept
    clock.now += 60
    a.record("GET", "/api/new", 200, 0.01)
    flush(engine, a)  # also deletes worker b's old row: b may be gone for good
    assert _rows(engine) == [("host-a:1", "/api/new", 1, 0)] * 2  # its two minutes


def test_only_the_last_minutes_count_and_only_recent_workers_report(engine: Engine) -> None:
    clock = Clock()
    a, b, screen = _workers(clock, "host-a:1", "host-b:2", "host-c:3")
    a.record("GET", "/api/r", 200, 0.01)
    flush(engine, a)
    clock.now += 3 * 60
    b.record("GET", "/api/r", 200, 0.01)
    flush(engine, b)
    seen = _read(engine, screen)
    assert seen.requests == 2 and seen.workers == 2  # a's minute counts, but a has said nothing since
    clock.now += 2 * 60
    assert _read(engine, screen).requests == 1  # a's minute is now six minutes old
    ahead = RequestWindow(worker="host-d:4", clock=lambda: clock.now + 60)  # its clock a minute fast
    ahead.record("GET", "/api/r", 200, 0.01)
    flush(engine, ahead)
    assert _read(engine, screen).requests == 1  # its minute has not begun here yet
    clock.now += 60
    assert _read(engine, screen).requests == 2


def test_the_flusher_writes_its_last_minutes_when_stopped(engine: Engine) -> None:
    (a,) = _workers(Clock(), "host-a:1")
    stop = threading.Event()
    thread = threading.Thread(target=run_flusher, args=(engine, a, stop), kwargs={"seconds": 3600})
    thread.start()
    a.record("GET", "/api/r", 200, 0.01)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert _rows(engine) == [("host-a:1", "/api/r", 1, 0)]


def test_the_app_writes_its_last_minutes_when_it_shuts_down(app: FastAPI, engine: Engine) -> None:
    # the thread create_app starts outside tests, started here by hand (stopped by the shutdown)
    stop = threading.Event()
    app.state.background_stops = [stop]
    app.state.traffic_flusher = threading.Thread(
        target=run_flusher, args=(engine, app.state.metrics.window, stop), kwargs={"seconds": 3600}
    )
    app.state.traffic_flusher.start()
    with new_client(app) as client:
        assert client.get("/healthz").status_code == 200
    assert not app.state.traffic_flusher.is_alive()
    assert ("GET", "/healthz") in _routes(engine)


def test_the_tiles_show_every_workers_traffic_and_errors(engine: Engine) -> None:
    clock = Clock()
    a, b = _workers(clock, "host-a:1", "host-b:2")
    _traffic(clock, a, b, RequestWindow())
    flush(engine, b)
    with session_scope(engine) as session:
        built = operations.build_screen(session, None, a, OPERATOR)
    traffic, errors = built.tile("traffic"), built.tile("errors")
    routes = {r.cells[0]: r.cells[1] for r in traffic.rows}
    assert routes == {"GET /api/r": 200, "POST /api/x": 40}
    assert next(f.value for f in traffic.figures if f.label == "Workers reporting") == 2
    assert next(f.value for f in errors.figures if f.label == "5xx answers") == 3
    assert [r.cells[3] for r in errors.rows] == ["b2", "b1", "b0"]  # worker b's, read from the table


def test_the_json_adds_the_other_workers_traffic(
    app: FastAPI, engine: Engine, login: Callable[[str], LoggedIn]
) -> None:
    other = RequestWindow(worker="elsewhere:9")
    for _ in range(7):
        other.record("GET", "/api/v1/elsewhere", 200, 0.02)
    flush(engine, other)
    body = login("op_admin").client.get("/operator/screen.json").json()
    traffic = next(t for t in body["tiles"] if t["id"] == "traffic")
    routes = {row["cells"][0]: row["cells"][1] for row in traffic["rows"]}
    assert routes["GET /api/v1/elsewhere"] == "7"
    label = i18n.gettext("Workers reporting", i18n.DEFAULT_LOCALE)  # the page's language
    workers = next(f for f in traffic["figures"] if f["label"] == label)
    assert workers["value"] == "2"


# -- the data sources tile on the (source_id, received_at) index ------------------------------------------
def test_the_newest_published_delivery_of_each_source_is_found(engine: Engine) -> None:
    first, second = list(catalogue().sources)[:2]
    now = utcnow()
    with session_scope(engine) as session:
        for n, (source_id, status, days) in enumerate(
            (
                (first, "published", 40),
                (first, "superseded", 20),
                (first, "failed", 1),  # refused: not a delivery received
                (first, "pending", 0),
                (second, "published", 400),
                (second, "published", 3),
                (second, "published", 90),
            )
        ):
            received = now - timedelta(days=days)
            session.add(
                IngestBatch(
                    id=f"b{n}", source_id=source_id, status=status, mode="replace", received_at=received
                )
            )
    with session_scope(engine) as session:
        tile = operations.build_screen(session, None, None, OPERATOR).tile("sources")
        days = {r.link: r.cells[3] for r in tile.rows}
        assert days[f"/operator/data/{first}"] == 20
        assert days[f"/operator/data/{second}"] == 3
        assert sum(1 for d in days.values() if d is None) == len(catalogue().sources) - 2
    names = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("ingest_batches")}
    assert names["ix_ingest_batches_source_received"] == ["source_id", "received_at"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            plan = " ".join(
                str(row[-1])
                for row in connection.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT received_at FROM ingest_batches WHERE source_id = 'x' "
                        "AND status IN ('published', 'superseded') ORDER BY received_at DESC LIMIT 1"
                    )
                )
            )
        assert "ix_ingest_batches_source_received" in plan and "TEMP B-TREE" not in plan
