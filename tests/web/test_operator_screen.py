"""The operator's one-screen monitoring: tiles computed on a known state, the JSON it polls, who sees it,
and the in-process traffic window its latency figures come from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.conftest import LoggedIn, new_client
from xinyidai.accounts.models import Organisation
from xinyidai.consoles import operations
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.delivery.models import Delivery
from xinyidai.core.errors import PermissionDenied
from xinyidai.core.request_window import RequestWindow
from xinyidai.data.catalogue import Frequency, catalogue
from xinyidai.data.models import IngestBatch, QualityResult, QualityRun
from xinyidai.rating.objection_models import DataObjection

OPERATOR = Principal(1, 1, OrgKind.OPERATOR, frozenset({Role.DATA_ADMIN}), "op")
ENTERPRISE = Principal(2, 2, OrgKind.ENTERPRISE, frozenset({Role.ENTERPRISE_ADMIN}), "ent")


def _source(frequency: Frequency) -> str:
    return next(s.id for s in catalogue().sources.values() if s.frequency is frequency)


def _batch(db: Session, source_id: str, received_days_ago: int, status: str = "published") -> None:
    received = utcnow() - timedelta(days=received_days_ago)
    db.add(
        IngestBatch(
            id=f"{source_id}-{received_days_ago}-{status}",
            source_id=source_id,
            status=status,
            mode="replace",
            received_at=received,
            started_at=received,
            published_at=received + timedelta(seconds=3) if status == "published" else None,
        )
    )
    db.flush()


def _row(tile: operations.Tile, name: str) -> operations.Row:
    return next(r for r in tile.rows if isinstance(r.cells[0], operations.Named) and r.cells[0].zh == name)


def _reasons(screen: operations.Screen, tile_id: str) -> list[str]:
    return next(t for t in operations.present(screen, "en")["tiles"] if t["id"] == tile_id)["reasons"]


def test_a_stale_source_turns_red_with_its_reason(db: Session) -> None:
    monthly, daily = _source(Frequency.MONTHLY), _source(Frequency.DAILY)
    _batch(db, monthly, 100)
    _batch(db, daily, 0)
    screen = operations.build_screen(db, None, None, OPERATOR)
    tile = screen.tile("sources")
    stale = _row(tile, catalogue().get(monthly).name_zh)
    fresh = _row(tile, catalogue().get(daily).name_zh)
    assert stale.status == operations.RED and stale.cells[3] == 100
    assert fresh.status == operations.OK and fresh.cells[3] == 0
    assert tile.status == operations.RED
    assert tile.rows[0] is stale  # the red rows first
    reasons = _reasons(screen, "sources")
    assert any(catalogue().get(monthly).name_zh in r and "100" in r and "45" in r for r in reasons)
    assert not any(catalogue().get(daily).name_zh in r for r in reasons)
    overdue = next(f for f in tile.figures if f.label == "Overdue")
    assert overdue.value == 1 and overdue.status == operations.RED


def test_a_source_within_its_frequency_is_green(db: Session) -> None:
    monthly = _source(Frequency.MONTHLY)
    _batch(db, monthly, 30)
    screen = operations.build_screen(db, None, None, OPERATOR)
    assert _row(screen.tile("sources"), catalogue().get(monthly).name_zh).status == operations.OK


def test_refused_deliveries_and_a_failed_quality_run_turn_red(db: Session) -> None:
    daily = _source(Frequency.DAILY)
    _batch(db, daily, 0)
    _batch(db, daily, 0, status="failed")
    run = QualityRun(
        as_of=date.today(),
        period="2026-11",
        finished_at=utcnow(),
        rules_total=3,
        rules_failed=1,
        rules_blocking=1,
        score=Decimal("66.67"),
    )
    db.add(run)
    db.flush()
    db.add(
        QualityResult(
            run_id=run.id,
            rule_id=f"{daily}.not_null",
            source_id=daily,
            kind="completeness",
            severity="error",
            rows_checked=10,
            rows_failed=2,
            pass_rate=Decimal("0.8"),
            passed=False,
            blocking=True,
        )
    )
    db.flush()
    screen = operations.build_screen(db, None, None, OPERATOR)
    row = _row(screen.tile("sources"), catalogue().get(daily).name_zh)
    assert row.status == operations.RED
    text = " ".join(t.render("en") for t in row.reasons)
    assert "1 deliveries refused" in text and "blocking quality rules failed" in text
    pipeline = screen.tile("pipeline")
    assert pipeline.status == operations.RED
    assert any("blocking" in r for r in _reasons(screen, "pipeline"))


def test_dead_deliveries_and_overdue_objections_need_a_person(db: Session, world: object) -> None:
    db.add(Delivery(channel="sms", event="test", status="dead", attempts=5))
    enterprise = db.query(Organisation).filter(Organisation.kind == "enterprise").first()
    assert enterprise is not None
    db.add(
        DataObjection(
            uscc="91110000600037341L",
            enterprise_id=enterprise.id,
            source_id="tax_monthly",
            explanation="wrong",
            raised_by="ent",
            status="open",
            due_at=utcnow() - timedelta(days=1),
        )
    )
    db.add(
        DataObjection(
            uscc="91110000600037341L",
            enterprise_id=enterprise.id,
            source_id="tax_monthly",
            explanation="wrong",
            raised_by="ent",
            status="open",
            due_at=utcnow() + timedelta(days=5),
        )
    )
    db.flush()
    screen = operations.build_screen(db, None, None, OPERATOR)
    alerts = screen.tile("alerts")
    assert alerts.status == operations.RED
    reasons = _reasons(screen, "alerts")
    assert any("1 notifications could not be delivered" in r for r in reasons)
    assert any("1 objections are past their answer deadline" in r for r in reasons)
    objections = next(r for r in alerts.rows if r.link and "objections" in r.link)
    assert objections.cells[1:] == [2, 1]
    needing = next(f for f in alerts.figures if f.label == "Need a person")
    assert needing.value == 2


def test_quiet_platform_is_not_red(db: Session) -> None:
    screen = operations.build_screen(db, None, RequestWindow(), OPERATOR)
    for tile_id in ("pipeline", "traffic", "alerts", "users", "errors"):
        assert screen.tile(tile_id).status != operations.RED, tile_id


def test_slow_routes_and_server_errors_turn_traffic_red() -> None:
    window = RequestWindow()
    for _ in range(50):
        window.record("GET", "/fast", 200, 0.01)
    for _ in range(20):
        window.record("GET", "/slow", 200, 1.8)
    window.record("POST", "/broken", 500, 0.02, request_id="abc123")
    limits = operations.Thresholds()
    traffic, errors = operations._traffic_tiles(window.snapshot(limits.traffic_minutes), limits)
    slow = next(r for r in traffic.rows if r.cells[0] == "GET /slow")
    fast = next(r for r in traffic.rows if r.cells[0] == "GET /fast")
    assert slow.status == operations.RED and fast.status == operations.OK
    assert "p99" in slow.reasons[0].render("en")
    broken = next(r for r in traffic.rows if r.cells[0] == "POST /broken")
    assert broken.status == operations.RED
    assert errors.status == operations.RED
    assert errors.rows[0].cells[1:] == ["POST /broken", 500, "abc123"]


def test_only_operator_staff_build_the_screen(db: Session) -> None:
    with pytest.raises(PermissionDenied):
        operations.build_screen(db, None, None, ENTERPRISE)


def test_the_cache_rebuilds_after_ten_seconds_and_the_sources_every_minute() -> None:
    now = [0.0]
    cache = operations.ScreenCache(clock=lambda: now[0])
    reused: list[set[str]] = []

    def build(reuse: Mapping[str, operations.Tile]) -> operations.Screen:
        reused.append(set(reuse))
        sources = reuse.get("sources") or operations.Tile("sources", "Data sources", [])
        return operations.Screen(utcnow(), [sources, operations.Tile("alerts", "Open alerts", [])])

    first = cache.get(build)
    now[0] = 9.9
    assert cache.get(build) is first
    now[0] = 10.0
    second = cache.get(build)
    assert second is not first and second.tile("sources") is first.tile("sources")
    now[0] = 60.0
    third = cache.get(build)
    assert third.tile("sources") is not first.tile("sources")
    assert reused == [set(), {"sources"}, set()]


# -- the traffic window -----------------------------------------------------------------------------------
def test_window_quantiles_are_within_five_percent() -> None:
    window = RequestWindow()
    for ms in range(1, 1001):  # 1 … 1000 ms
        window.record("GET", "/r", 200, ms / 1000)
    route = window.snapshot().routes[0]
    assert route.requests == 1000 and route.errors == 0
    for measured, true in ((route.p50_ms, 500), (route.p95_ms, 950), (route.p99_ms, 990)):
        assert true <= measured <= true * 1.06


def test_window_forgets_old_minutes_and_stays_bounded() -> None:
    now = [1_000_000.0]
    window = RequestWindow(minutes=5, clock=lambda: now[0])
    window.record("GET", "/old", 500, 0.1)
    now[0] += 6 * 60
    window.record("GET", "/new", 200, 0.1)
    snap = window.snapshot()
    assert [r.route for r in snap.routes] == ["/new"]
    assert snap.errors == 0 and snap.last_errors == []
    for i in range(10_000):
        window.record("GET", "/new", 200, (i % 100) / 100)
    assert len(window._minutes) <= 5
    assert all(len(e.bins) < 300 for m in window._minutes.values() for e in m.values())


# -- over HTTP --------------------------------------------------------------------------------------------
def test_the_page_and_its_json(app: FastAPI, engine: Engine, login: Callable[[str], LoggedIn]) -> None:
    with session_scope(engine) as db:
        _batch(db, _source(Frequency.MONTHLY), 200)
    op = login("op_data")
    page = op.client.get("/operator/screen")
    assert page.status_code == 200
    assert 'src="/static/operator_screen.js"' in page.text
    assert 'data-testid="tile-sources"' in page.text and 'data-status="red"' in page.text
    assert "200" in page.text  # the days since the stale delivery, on the tile
    data = op.client.get("/operator/screen.json")
    assert data.status_code == 200 and data.headers["content-type"].startswith("application/json")
    body = data.json()
    assert [t["id"] for t in body["tiles"]] == ["sources", "pipeline", "traffic", "alerts", "users", "errors"]
    sources = body["tiles"][0]
    assert sources["status"] == "red" and sources["reasons"]
    assert body["status"] == "red"
    users = next(t for t in body["tiles"] if t["id"] == "users")
    assert users["figures"][0]["value"] != "0"  # the operator's own session is active
    script = op.client.get("/static/operator_screen.js")
    assert script.status_code == 200 and 'getAttribute("data-refresh-url")' in script.text


def test_the_json_counts_the_platforms_own_traffic(app: FastAPI, login: Callable[[str], LoggedIn]) -> None:
    op = login("op_admin")
    for _ in range(3):
        op.client.get("/operator/screen")
    app.state.operations_screen = None  # skip the 10-second cache for the test
    body = op.client.get("/operator/screen.json").json()
    traffic = next(t for t in body["tiles"] if t["id"] == "traffic")
    routes = {row["cells"][0]: row["cells"][1] for row in traffic["rows"]}
    assert int(routes["GET /operator/screen"]) >= 3


@pytest.mark.parametrize("username", ["op_admin", "op_data", "op_audit"])
def test_operator_roles_see_it(login: Callable[[str], LoggedIn], username: str) -> None:
    client = login(username).client
    assert client.get("/operator/screen").status_code == 200
    assert client.get("/operator/screen.json").status_code == 200


@pytest.mark.parametrize("username", ["ent_admin", "bank_admin", "gov_admin", "fund_manager"])
def test_nobody_else_does(login: Callable[[str], LoggedIn], username: str) -> None:
    client = login(username).client
    assert client.get("/operator/screen").status_code == 403
    assert client.get("/operator/screen.json").status_code == 403


def test_anonymous_is_sent_to_log_in(app: FastAPI) -> None:
    response = new_client(app).get("/operator/screen.json", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")


def test_a_red_alert_untouched_for_a_day_turns_red(db: Session, world: object) -> None:
    from xinyidai.monitoring.models import Alert, Rule, RuleSet

    bank = db.query(Organisation).filter(Organisation.kind == "institution").first()
    assert bank is not None
    rule_set = RuleSet(organisation_id=bank.id, code="t", name="t", created_by="t")
    db.add(rule_set)
    db.flush()
    rule = Rule(
        rule_set_id=rule_set.id, code="r", name="r", expression="true", severity="high", created_by="t"
    )
    db.add(rule)
    db.flush()
    for n, (severity, status, hours) in enumerate(
        (("high", "new", 30), ("high", "new", 2), ("high", "acknowledged", 50), ("low", "new", 90))
    ):
        key = f"k{n}"
        db.add(
            Alert(
                organisation_id=bank.id,
                uscc="91110000600037341L",
                rule_set_id=rule_set.id,
                rule_id=rule.id,
                rule_code="r",
                rule_name="r",
                severity=severity,
                status=status,
                dedup_key=key,
                open_key=key,
                as_of=date.today(),
                raised_at=utcnow() - timedelta(hours=hours),
            )
        )
    db.flush()
    screen = operations.build_screen(db, None, None, OPERATOR)
    alerts = screen.tile("alerts")
    red = next(r for r in alerts.rows if r.link and r.link.endswith("severity=high"))
    assert red.cells[1:] == [3, 1] and red.status == operations.RED
    assert any("1 red alerts untouched for more than a day" in r for r in _reasons(screen, "alerts"))
    open_alerts = next(f for f in alerts.figures if f.label == "Open risk alerts")
    assert open_alerts.value == 4
