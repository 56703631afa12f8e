"""Risk monitoring on a real city and both databases: rules checked for their owner, backtested before
they are switched on, evaluated over the watched firms only, alerts de-duplicated with a lifecycle, a pushed
court case raising an alert at once, and nobody seeing alerts on firms that are not theirs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import LoggedIn
from tests.integration.test_market import listed, who
from tests.rating_city import City, build_city
from xinyidai import demo
from xinyidai.core.access import Principal
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.evidence.models import EvidenceEntry
from xinyidai.core.expressions import ExpressionError
from xinyidai.core.notifications import Notification
from xinyidai.core.settings import Settings
from xinyidai.data import service as data_service
from xinyidai.data.lake import Lake
from xinyidai.data.models import RegistryEnterprise
from xinyidai.market import service as market
from xinyidai.market.models import Whitelist, WhitelistEntry
from xinyidai.market.schemas import ApprovalInput, DisbursementInput
from xinyidai.monitoring import service as monitoring
from xinyidai.monitoring.backtest import ensure_history, history_dates
from xinyidai.monitoring.fields import FieldNotAllowed
from xinyidai.monitoring.models import Alert

D = Decimal


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """600 firms × 12 months, with the backtest's month ends replayed once (each test copies them)."""
    built = build_city(tmp_path_factory.mktemp("monitoring-city"), enterprises=600, months=12, seed=5)
    lake = Lake(built.lake, fsync=False)
    ensure_history(lake, history_dates(lake))
    return built


@pytest.fixture
def lake(city: City, tmp_path: Path) -> Lake:
    shutil.copytree(city.lake, tmp_path / "lake")
    return Lake(tmp_path / "lake", fsync=False)


@pytest.fixture
def world(engine: Engine, lake: Lake) -> list[demo.DemoLogin]:
    """The demo organisations over the city's registry, so the demo enterprise is a firm of the lake."""
    with session_scope(engine) as session:
        data_service.refresh_registry_from_lake(session, lake)
    with session_scope(engine) as session:
        return demo.build(session)


@pytest.fixture
def team(world: list[demo.DemoLogin], engine: Engine) -> dict[str, Principal]:
    with session_scope(engine) as db:
        return {
            n: who(db, n)
            for n in ("ent_admin", "bank_admin", "bank_manager", "bank_risk", "gov_admin", "op_admin")
        }


def borrow(engine: Engine, team: dict[str, Principal]) -> str:
    """The demo enterprise borrows from the demo bank; its USCC."""
    with session_scope(engine) as db:
        product = listed(db, team["bank_admin"], team["op_admin"], amount_max=D("8000000"))
        app = market.open_application(
            db, team["ent_admin"], product_id=product.id, amount=D("500000"), term_months=12, grade="B"
        )
        market.accept(db, team["bank_manager"], app.id)
        market.approve(
            db, team["bank_risk"], app.id, ApprovalInput(amount=D("500000"), rate=D("4"), term_months=12)
        )
        market.disburse(
            db,
            team["bank_manager"],
            app.id,
            DisbursementInput(disbursed_on=today_local() - timedelta(days=30)),
        )
        return app.uscc


def switched_on(
    db: Session, lake: Lake, who: Principal, rules: list[tuple[str, str, str]], trigger: str = "batch"
) -> int:
    rule_set = monitoring.create_set(db, who, code=f"t-{len(rules)}-{trigger}", name="测试规则集")
    for code, expression, severity in rules:
        monitoring.save_rule(
            db,
            who,
            rule_set.id,
            code=code,
            name=f"规则{code}",
            expression=expression,
            severity=severity,
            trigger=trigger,
        )
    if trigger == "batch":
        monitoring.backtest_set(db, lake, who, rule_set.id)
    else:
        rule_set.backtest = {"version": rule_set.version}
    monitoring.activate_set(db, who, rule_set.id)
    return rule_set.id


ALWAYS = "sales_12m >= 0 or sales_12m is null"


def test_rules_are_checked_for_their_owner_with_the_position(db: Session, team: dict[str, Principal]) -> None:
    rule_set = monitoring.create_set(db, team["gov_admin"], code="gov", name="白名单")
    with pytest.raises(FieldNotAllowed) as refused:
        monitoring.save_rule(
            db,
            team["gov_admin"],
            rule_set.id,
            code="R1",
            name="逾期",
            expression="grade = 'D' and loan_overdue_days > 30",
            severity="high",
        )
    assert refused.value.params == {"name": "loan_overdue_days", "position": 17}
    with pytest.raises(ExpressionError) as bad:
        monitoring.save_rule(
            db, team["gov_admin"], rule_set.id, code="R1", name="坏", expression="grade = ", severity="high"
        )
    assert bad.value.position >= 7
    bank_set = monitoring.create_set(db, team["bank_risk"], code="bank", name="银行")
    with pytest.raises(FieldNotAllowed):
        monitoring.save_rule(
            db,
            team["bank_risk"],
            bank_set.id,
            code="R1",
            name="投资",
            expression="fund_invested > 0",
            severity="low",
        )
    with pytest.raises(ValidationFailed, match="event_"):
        monitoring.save_rule(
            db,
            team["bank_risk"],
            bank_set.id,
            code="R2",
            name="事件",
            expression="event_amount > 1",
            severity="low",
        )
    assert monitoring.set_rules(db, team["bank_risk"], bank_set.id) == []


def test_a_set_is_switched_on_only_after_a_backtest_of_its_version(
    db: Session, lake: Lake, team: dict[str, Principal]
) -> None:
    bank = team["bank_risk"]
    rule_set = monitoring.create_set(db, bank, code="s", name="用工")
    monitoring.save_rule(
        db,
        bank,
        rule_set.id,
        code="E1",
        name="参保人数三个月降30%",
        severity="high",
        expression="insured_latest_3m_ago > 0 and insured_latest < 0.7 * insured_latest_3m_ago",
    )
    with pytest.raises(ValidationFailed, match="Backtest"):
        monitoring.activate_set(db, bank, rule_set.id)
    summary = monitoring.backtest_set(db, lake, bank, rule_set.id)
    assert summary["months"] == 12 and summary["firms"] > 500
    rule = summary["rules"][0]
    assert rule["alerts"] >= rule["firms"] > 0 and 0 <= rule["hits"] <= rule["firms"]
    assert 0 < summary["base_rate"] < 1
    if rule["hits"]:
        assert rule["median_lead_days"] > 0
    assert all(e["defaulted"] is None or e["defaulted"] > e["first_alert"] for e in rule["examples"])
    monitoring.save_rule(
        db,
        bank,
        rule_set.id,
        code="E1",
        name="参保人数三个月降40%",
        severity="high",
        expression="insured_latest_3m_ago > 0 and insured_latest < 0.6 * insured_latest_3m_ago",
    )
    with pytest.raises(ValidationFailed, match="Backtest"):
        monitoring.activate_set(db, bank, rule_set.id)  # the edit made a new version
    monitoring.backtest_set(db, lake, bank, rule_set.id)
    assert monitoring.activate_set(db, bank, rule_set.id).active
    versions = monitoring.rule_history(db, bank, rule_set.id)
    assert [(r.code, r.version, r.retired_at is None) for r in versions] == [
        ("E1", 2, True),
        ("E1", 1, False),
    ]
    assert db.scalar(
        select(func.count()).select_from(EvidenceEntry).where(EvidenceEntry.kind == "monitoring.rule")
    )


def test_alerts_only_on_watched_firms_deduplicated_with_a_lifecycle(
    engine: Engine, lake: Lake, team: dict[str, Principal]
) -> None:
    uscc = borrow(engine, team)
    bank = team["bank_risk"]
    as_of = data_service.last_receipt_date(lake)
    assert as_of is not None
    with session_scope(engine) as db:
        switched_on(db, lake, bank, [("A1", ALWAYS, "high")])
        run = monitoring.run_monitoring(db, lake, as_of)
        assert (run.enterprises, run.alerts_raised) == (1, 1)
    with session_scope(engine) as db:
        alerts = list(db.scalars(select(Alert)))
        assert [(a.uscc, a.organisation_id, a.status) for a in alerts] == [
            (uscc, bank.organisation_id, "new")
        ]
        assert db.scalar(select(Notification).where(Notification.topic == "monitoring.alert")) is not None
        again = monitoring.run_monitoring(db, lake, as_of)
        assert again.alerts_raised == 0
        alert = db.scalars(select(Alert)).one()
        assert alert.times_seen == 2
        with pytest.raises(ValidationFailed, match="Say what was done"):
            monitoring.resolve_alert(db, bank, alert.id, "  ")
        monitoring.acknowledge_alert(db, bank, alert.id)
        with pytest.raises(IllegalTransition):
            monitoring.acknowledge_alert(db, bank, alert.id)
        monitoring.resolve_alert(db, bank, alert.id, "已核实")
    with session_scope(engine) as db:
        monitoring.run_monitoring(db, lake, as_of)  # still holds: the resolution stands
        assert db.scalar(select(func.count()).select_from(Alert)) == 1
        rule_set_id = db.scalars(select(Alert)).one().rule_set_id
        monitoring.save_rule(
            db, bank, rule_set_id, code="A1", name="规则A1", expression="sales_12m < 0", severity="high"
        )
        monitoring.run_monitoring(db, lake, as_of)  # the condition clears
        assert db.scalars(select(Alert)).one().cleared_at is not None
        monitoring.save_rule(
            db, bank, rule_set_id, code="A1", name="规则A1", expression=ALWAYS, severity="high"
        )
        monitoring.run_monitoring(db, lake, as_of)  # and holds again: a new alert
        assert [a.status for a in db.scalars(select(Alert).order_by(Alert.id))] == ["resolved", "new"]


def test_an_institution_sees_only_its_own_alerts(
    engine: Engine, lake: Lake, team: dict[str, Principal]
) -> None:
    borrow(engine, team)
    as_of = data_service.last_receipt_date(lake)
    with session_scope(engine) as db:
        switched_on(db, lake, team["bank_risk"], [("A1", ALWAYS, "medium")])
        monitoring.run_monitoring(db, lake, as_of)
        alert = db.scalars(select(Alert)).one()
        other = who(db, "gov_admin")
        rows, total = monitoring.alert_queue(db, other)
        assert (rows, total) == ([], 0)
        with pytest.raises(NotFound):
            monitoring.get_alert(db, other, alert.id)
        with pytest.raises(NotFound):
            monitoring.resolve_alert(db, other, alert.id, "不是我的")
        board, counts = monitoring.board(db, team["bank_risk"])
        assert [(r.uscc, r.light) for r in board] == [(alert.uscc, "orange")] and counts["orange"] == 1
        with pytest.raises(PermissionDenied):
            monitoring.alert_queue(db, team["ent_admin"])


def test_a_department_watches_its_whitelist(db: Session, lake: Lake, team: dict[str, Principal]) -> None:
    gov = team["gov_admin"]
    listing = Whitelist(
        department_id=gov.organisation_id, programme="专精特新", uploaded_by="gov_admin", entries=2
    )
    db.add(listing)
    db.flush()
    chosen = list(db.scalars(select(RegistryEnterprise.uscc).order_by(RegistryEnterprise.uscc).limit(2)))
    for u in chosen:
        db.add(WhitelistEntry(whitelist_id=listing.id, uscc=u))
    db.flush()
    switched_on(db, lake, gov, [("W1", ALWAYS, "low")])
    run = monitoring.run_monitoring(db, lake, data_service.last_receipt_date(lake) or date.today())
    assert run.alerts_raised == 2
    assert sorted(a.uscc for a in monitoring.alert_queue(db, gov)[0]) == sorted(chosen)


def test_a_pushed_court_case_raises_an_alert_at_once(
    engine: Engine, lake: Lake, team: dict[str, Principal]
) -> None:
    uscc = borrow(engine, team)
    with session_scope(engine) as db:
        switched_on(
            db,
            lake,
            team["bank_risk"],
            [
                (
                    "E1",
                    "event_source = 'court_cases' and event_role = '被告' and event_amount >= 1000000",
                    "high",
                )
            ],
            trigger="event",
        )
    case = {
        "uscc": uscc,
        "case_number": "(2026)鲁1002民初1号",
        "role": "被告",
        "case_type": "民事",
        "amount": 2500000,
        "filed_on": "2026-11-20",
    }
    with session_scope(engine) as db:
        assert monitoring.on_push(db, lake, "court_cases", [{**case, "amount": 10000}]) == 0
        assert monitoring.on_push(db, lake, "court_cases", [{**case, "uscc": "91110000600037341L"}]) == 0
        assert monitoring.on_push(db, lake, "court_cases", [case]) == 1
        alert = db.scalars(select(Alert)).one()
        assert (alert.source, alert.severity, alert.values["event_amount"]) == ("event", "high", 2500000.0)


def test_a_court_pushing_a_case_over_http_alerts_the_lender(
    engine: Engine,
    city: City,
    settings: Settings,
    team: dict[str, Principal],
    login: Callable[[str], LoggedIn],
) -> None:
    """A court's system pushes a case through the API; the bank's alert exists when the push returns."""
    lake = Lake(settings.home / "lake", fsync=False)
    shutil.copytree(city.lake, lake.root, dirs_exist_ok=True)
    uscc = borrow(engine, team)
    with session_scope(engine) as db:
        switched_on(
            db,
            lake,
            team["bank_risk"],
            [
                (
                    "E1",
                    "event_source = 'court_cases' and event_role = '被告' and event_amount >= 1000000",
                    "high",
                )
            ],
            trigger="event",
        )
    court = login("gov_admin")
    row = {
        "统一社会信用代码": uscc,
        "案号": "(2026)鲁1002民初77号",
        "诉讼地位": "被告",
        "案件类型": "民事",
        "标的金额": "2600000",
        "立案日期": "2026-11-20",
    }
    response = court.client.post(
        "/api/v1/ingest/court_cases", json={"rows": [row]}, headers={"X-CSRF-Token": court.csrf}
    )
    assert response.status_code == 201, response.text
    with session_scope(engine) as db:
        alert = db.scalars(select(Alert)).one()
        assert (alert.uscc, alert.organisation_id, alert.source) == (
            uscc,
            team["bank_risk"].organisation_id,
            "event",
        )
    risk = login("bank_risk")
    page = risk.client.get("/monitoring/alerts")
    assert page.status_code == 200 and uscc in page.text
