"""Data quality over small lakes: each kind of rule catches what it is for, and runs are kept and alerted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.pipelines.conftest import RECEIVED, usccs
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.expressions import compile_expression
from xinyidai.core.notifications import Notification, count_unread, inbox
from xinyidai.data import service
from xinyidai.data.ingest import BatchResult
from xinyidai.data.lake import Lake
from xinyidai.data.models import QualityResult
from xinyidai.data.quality.engine import RuleOutcome, check_lake, field_catalogue
from xinyidai.data.quality.rules import ROW_KINDS, RuleKind, rule_library

Write = Callable[..., Path]
Ingest = Callable[..., BatchResult]
CODES = usccs(40, seed=3)
AS_OF = date(2024, 6, 1)
REGISTRATION = ["uscc", "name", "founded_on", "region_code", "industry_code", "legal_rep_name", "status"]
REGISTRATION.append("status_changed_on")


def registration(codes: list[str], deregistered: dict[str, str] | None = None) -> list[list[object]]:
    rows: list[list[object]] = [REGISTRATION]
    for i, code in enumerate(codes):
        changed = (deregistered or {}).get(code, "")
        rows.append([code, f"威海测试企业{i}有限公司", "2015-03-01", "371002", "C13", "张三",
                     "注销" if changed else "存续", changed])  # fmt: skip
    return rows


def outcomes_by_id(outcomes: list[RuleOutcome]) -> dict[str, RuleOutcome]:
    return {o.rule.id: o for o in outcomes}


def test_the_library_has_over_300_rules_and_every_expression_checks() -> None:
    rules = rule_library()
    assert len(rules) >= 300
    assert len({r.id for r in rules}) == len(rules)
    assert {r.kind for r in rules} == set(RuleKind)
    for rule in rules:
        if rule.kind in ROW_KINDS:
            assert rule.expression is not None
            compile_expression(rule.expression, field_catalogue(rule.source_id))  # raises if wrong


def test_row_rules_count_lake_rows_and_refused_rows(write: Write, ingest: Ingest, lake: Lake) -> None:
    ingest("registration", write("reg.csv", registration(CODES[:10])))
    tax = [["统一社会信用代码", "所属期", "销售收入", "实缴税额", "欠税余额"]]
    tax += [[code, "2024-05", 100000, 3000, 0] for code in CODES[:6]]
    tax.append([CODES[6], "2024-05", 1000, 5000, 0])  # tax paid above sales: implausible, still accepted
    tax.append(["91110000600037341N", "2024-05", 100, 1, 0])  # wrong check character: refused
    tax.append([CODES[20], "2024-05", 100, 1, 0])  # valid code, but not in the registry
    ingest("tax_monthly", write("tax.csv", tax))

    result = outcomes_by_id(check_lake(lake, as_of=AS_OF, sources=["tax_monthly"]))

    plausible = result["tax_monthly.plausibility.tax_below_sales"]
    assert (plausible.rows_checked, plausible.rows_failed) == (9, 1)
    assert plausible.period == "2024-05"
    code_check = result["tax_monthly.validity.uscc"]
    assert code_check.rows_failed == 1 and code_check.detail == {"lake_failed": 0, "refused": 1}
    assert not code_check.passed  # an error-level rule with a threshold of 100 %
    registry = result["tax_monthly.referential.registry"]
    assert (registry.rows_checked, registry.rows_failed) == (8, 1)
    assert result["tax_monthly.completeness.sales"].rows_failed == 0
    assert result["tax_monthly.uniqueness.key"].passed


def test_a_period_is_checked_alone_and_dates_after_as_of_are_not_seen(
    write: Write, ingest: Ingest, lake: Lake
) -> None:
    header = ["统一社会信用代码", "所属期", "销售收入", "实缴税额", "欠税余额"]
    ingest("tax_monthly", write("apr.csv", [header, *([c, "2024-04", 10, 50, 0] for c in CODES[:3])]))
    ingest(
        "tax_monthly",
        write("may.csv", [header, *([c, "2024-05", 100, 1, 0] for c in CODES[:3])]),
        received_at=RECEIVED + timedelta(days=30),
    )
    may = outcomes_by_id(check_lake(lake, as_of=date(2024, 7, 2), sources=["tax_monthly"]))
    assert may["tax_monthly.plausibility.tax_below_sales"].period == "2024-05"
    assert may["tax_monthly.plausibility.tax_below_sales"].rows_failed == 0
    april = outcomes_by_id(
        check_lake(lake, as_of=date(2024, 7, 2), period="2024-04", sources=["tax_monthly"])
    )
    assert april["tax_monthly.plausibility.tax_below_sales"].rows_failed == 3
    # As of 2024-06-02 the May delivery had not arrived: the default period is April.
    before = outcomes_by_id(check_lake(lake, as_of=date(2024, 6, 2), sources=["tax_monthly"]))
    assert before["tax_monthly.plausibility.tax_below_sales"].period == "2024-04"


def test_cross_source_consistency_joins_the_partner_rows(write: Write, ingest: Ingest, lake: Lake) -> None:
    ingest("registration", write("reg.csv", registration(CODES[:5], {CODES[4]: "2023-01-10"})))
    ss = [["统一社会信用代码", "所属期", "参保人数"]] + [[c, "2024-05", 10] for c in CODES[:5]]
    ingest("social_security", write("ss.csv", ss))
    hf = [["统一社会信用代码", "所属期", "缴存人数", "缴存金额"]]
    hf += [[CODES[0], "2024-05", 10, 15000], [CODES[1], "2024-05", 30, 45000], [CODES[2], "2024-05", 13, 1]]
    ingest("housing_fund", write("hf.csv", hf))

    result = outcomes_by_id(check_lake(lake, as_of=AS_OF, sources=["housing_fund", "social_security"]))

    insured = result["housing_fund.consistency.insured"]
    assert (insured.rows_checked, insured.rows_failed) == (3, 1)  # 30 contributors vs 10 insured
    per_person = result["housing_fund.plausibility.amount_per_person"]
    assert per_person.rows_failed == 1  # 1 yuan for 13 people
    alive = result["social_security.consistency.alive"]
    assert alive.rows_failed == 1  # deregistered in January 2023, still paying staff in May 2024


def test_timeliness_and_volume_look_at_the_source_history(write: Write, ingest: Ingest, lake: Lake) -> None:
    header = ["统一社会信用代码", "所属期", "用电量", "应缴费用", "欠费金额"]
    for month, count in (("2024-01", 30), ("2024-02", 31), ("2024-03", 29), ("2024-04", 30), ("2024-05", 5)):
        rows = [[c, month, 1000, 800, 0] for c in CODES[:count]]
        ingest("electricity", write(f"e{month}.csv", [header, *rows]))

    current = outcomes_by_id(check_lake(lake, as_of=AS_OF, sources=["electricity"]))
    volume = current["electricity.volume.rows"]
    assert not volume.passed and volume.detail["rows"] == 5 and volume.detail["median"] == 30
    assert current["electricity.timeliness.latest"].passed
    assert current["electricity.timeliness.latest"].detail["lag_days"] == 1
    april = outcomes_by_id(check_lake(lake, as_of=AS_OF, period="2024-04", sources=["electricity"]))
    assert april["electricity.volume.rows"].passed
    late = outcomes_by_id(check_lake(lake, as_of=date(2024, 9, 1), sources=["electricity"]))
    assert not late["electricity.timeliness.latest"].passed
    assert late["electricity.timeliness.latest"].detail["lag_days"] == 93


def data_admin() -> Principal:
    return Principal(1, 1, OrgKind.OPERATOR, frozenset({Role.DATA_ADMIN}), "op_data")


def test_a_run_is_saved_reported_and_alerted_once(
    write: Write, ingest: Ingest, lake: Lake, db: Session, tmp_path: Path
) -> None:
    ingest("registration", write("reg.csv", registration(CODES[:10])))
    tax = [["统一社会信用代码", "所属期", "销售收入", "实缴税额", "欠税余额"]]
    tax += [[code, "2024-05", 100, 500, 0] for code in CODES[:10]]  # every row implausible
    ingest("tax_monthly", write("tax.csv", tax))

    run = service.run_quality(
        db, lake, as_of=AS_OF, triggered_by="test", report_dir=tmp_path / "reports", home=tmp_path
    )
    db.commit()

    assert run.period == "2024-05" and run.rules_total == len(rule_library())
    stored = db.scalars(select(QualityResult).where(QualityResult.run_id == run.id)).all()
    assert len(stored) == run.rules_total
    failed = {r.rule_id: r for r in stored if not r.passed}
    assert failed["tax_monthly.plausibility.tax_below_sales"].rows_failed == 10
    assert run.rules_failed == len(failed) and 0 < float(run.score) < 100

    workbook = load_workbook(tmp_path / str(run.report_path))
    assert workbook.sheetnames == ["概览", "数据源", "规则明细"]
    rule_rows = list(workbook["规则明细"].iter_rows(min_row=2, values_only=True))
    assert len(rule_rows) == run.rules_total
    assert rule_rows[0][7] == "未通过"  # failing rules first

    admin = data_admin()
    alerts = [n for n, _ in inbox(db, admin) if n.topic == "data_quality"]
    assert any(n.params["source"] == "纳税申报月度数据" for n in alerts)
    assert count_unread(db, admin) == len(alerts)
    # The same failures the next day: shown on the pages, but no second alert.
    service.run_quality(db, lake, as_of=AS_OF + timedelta(days=1), triggered_by="test")
    db.commit()
    assert sorted(n.id for n in db.scalars(select(Notification))) == sorted(n.id for n in alerts)
    latest = service.latest_quality_by_source(db)["tax_monthly"]
    assert latest.rules_passed < latest.rules_total
    assert [q.run_id for q in service.quality_trend(db)["tax_monthly"]] == [run.id, run.id + 1]


@pytest.mark.parametrize("period", ["2024-13", "May"])
def test_a_malformed_period_is_refused(lake: Lake, period: str) -> None:
    with pytest.raises(ValueError):
        check_lake(lake, as_of=AS_OF, period=period, sources=["tax_monthly"])


def test_an_empty_lake_fails_timeliness_and_passes_the_rest(lake: Lake) -> None:
    result = outcomes_by_id(check_lake(lake, as_of=AS_OF, sources=["water"]))
    assert not result["water.timeliness.latest"].passed
    assert all(o.passed for rule_id, o in result.items() if rule_id != "water.timeliness.latest")
