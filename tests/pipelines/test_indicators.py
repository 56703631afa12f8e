"""Indicators over small lakes: the library is sound, values are right, and nothing looks ahead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from sqlalchemy.orm import Session
from sqlglot import exp

from tests.pipelines.conftest import usccs
from tests.pipelines.test_quality import registration
from xinyidai.core.database import get_engine, session_factory
from xinyidai.core.expressions import compile_expression
from xinyidai.core.migrations import upgrade
from xinyidai.data.ingest import BatchResult, ingest_files
from xinyidai.data.lake import Lake
from xinyidai.indicators import service
from xinyidai.indicators.compute import compute_indicators, read_snapshot, window_params
from xinyidai.indicators.definitions import INDICATORS, Dimension

Write = Callable[..., Path]
Ingest = Callable[..., BatchResult]
CODES = usccs(12, seed=5)
AS_OF = date(2024, 6, 20)
TAX = ["统一社会信用代码", "所属期", "销售收入", "实缴税额", "欠税余额"]
SS = ["统一社会信用代码", "所属期", "参保人数", "新增参保人数", "减少参保人数", "缴费金额", "欠费金额"]


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def months(first: str, count: int) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def row_of(lake: Lake, as_of: date, uscc: str) -> dict[str, object]:
    table = compute_indicators(lake, as_of)
    return next(r for r in table.to_pylist() if r["uscc"] == uscc)


def test_the_library_is_declared_once_and_soundly() -> None:
    ids = [i.id for i in INDICATORS]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)
    assert {i.dimension for i in INDICATORS} == set(Dimension)
    known = set(ids)
    for item in INDICATORS:
        assert item.name_zh and item.name_en and item.type in ("float", "integer", "boolean")
        tree = sqlglot.parse_one(item.sql.replace("$", "_p_"), dialect="duckdb")
        if item.source == "derived":
            names = {c.name for c in tree.find_all(exp.Column)}
            assert names <= known, (item.id, names - known)
        else:
            assert not list(tree.find_all(exp.Select)), f"{item.id}: sub-queries are not allowed"
    rule = compile_expression(
        "sales_growth_12m > 0 and turnover_rate_12m < 0.3 and not on_dishonest_list",
        service.field_catalogue(),
    )
    assert rule.matches({"sales_growth_12m": 0.1, "turnover_rate_12m": 0.1, "on_dishonest_list": False})


def test_windows_are_whole_months_before_the_as_of_month() -> None:
    params = window_params(date(2026, 1, 15))
    assert params["m0"] == date(2026, 1, 1) and params["m3"] == date(2025, 10, 1)
    assert params["m12"] == date(2025, 1, 1) and params["m24"] == date(2024, 1, 1)
    assert params["d24"] == date(2024, 1, 16)


def test_values_follow_the_definitions(write: Write, ingest: Ingest, lake: Lake) -> None:
    ingest("registration", write("reg.csv", registration(CODES[:3])))
    tax = [TAX]
    for n, period in enumerate(months("2022-06", 24)):  # 2022-06 … 2024-05
        tax.append([CODES[0], period, 1000 if n < 12 else 1500, 30, 0 if n < 23 else 500])
    ingest("tax_monthly", write("tax.csv", tax))
    ss = [SS]
    for n, period in enumerate(months("2023-06", 12)):
        ss.append([CODES[0], period, 20 if n < 11 else 10, 0, 1 if n < 6 else 2, 1000, 0])
    ingest("social_security", write("ss.csv", ss))
    dishonest = [["uscc", "case_number", "listed_on", "removed_on", "amount"]]
    dishonest += [[CODES[1], "(2023)鲁1002执1号", "2023-05-01", "", 10000]]
    dishonest += [[CODES[2], "(2022)鲁1002执9号", "2022-05-01", "2023-01-01", 10000]]
    ingest("dishonest_debtors", write("dd.csv", dishonest))

    first = row_of(lake, AS_OF, CODES[0])
    assert first["sales_12m"] == 18000 and first["sales_prev_12m"] == 12000
    assert first["sales_growth_12m"] == pytest.approx(0.5)
    assert first["months_with_sales_12m"] == 12 and first["tax_arrears_latest"] == 500
    assert first["tax_burden_12m"] == pytest.approx(360 / 18000)
    assert first["insured_latest"] == 10 and first["separations_12m"] == 18
    assert first["turnover_rate_12m"] == pytest.approx(18 / ((11 * 20 + 10) / 12))
    assert first["turnover_trend_6m"] == pytest.approx((12 + 1) / (6 + 1) - 1)
    assert first["cases_24m"] == 0 and first["on_dishonest_list"] is False  # "zero": no rows, none
    assert first["invoice_sales_12m"] is None  # "null": no invoices, unknown
    assert row_of(lake, AS_OF, CODES[1])["on_dishonest_list"] is True
    assert row_of(lake, AS_OF, CODES[2])["on_dishonest_list"] is False  # removed in 2023


def test_nothing_received_after_the_as_of_date_is_used(write: Write, tmp_path: Path, db: Session) -> None:
    """Two installations: one got every delivery, the other only those received by D. As of D they agree."""
    full, early = Lake(tmp_path / "full", fsync=False), Lake(tmp_path / "early", fsync=False)
    early_url = f"sqlite:///{tmp_path / 'early.db'}"
    upgrade(early_url)
    early_db = session_factory(get_engine(early_url))()
    deliveries = [("registration", write("reg.csv", registration(CODES)), at("2024-01-05"))]
    for n, period in enumerate(months("2023-01", 18)):  # the month's data arrives on the 12th of the next
        rows = [[code, period, 1000 + 10 * n + i, 20, 0] for i, code in enumerate(CODES)]
        received = datetime.fromisoformat(f"{months(period, 2)[1]}-12T02:00:00").replace(tzinfo=UTC)
        deliveries.append(("tax_monthly", write(f"tax-{period}.csv", [TAX, *rows]), received))
    cases = [["uscc", "case_number", "role", "case_type", "filed_on"]]
    cases.append([CODES[3], "(2024)鲁01民1号", "被告", "民事", "2024-03-02"])
    deliveries.append(("court_cases", write("cases.csv", cases), at("2024-03-20")))
    as_of = date(2024, 3, 15)
    for source_id, path, received in deliveries:
        ingest_files(source_id, [path], lake=full, session=db, received_at=received)
        if received <= datetime(2024, 3, 15, 15, 59, tzinfo=UTC):
            ingest_files(source_id, [path], lake=early, session=early_db, received_at=received)
    early_db.close()

    seen_by_full = compute_indicators(full, as_of)
    seen_by_early = compute_indicators(early, as_of)
    for name in seen_by_full.column_names:  # floats may differ in the last bit (parallel sums), no more
        a, b = seen_by_full[name].to_pylist(), seen_by_early[name].to_pylist()
        if pa.types.is_floating(seen_by_full[name].type):
            a, b = (
                [None if v is None else round(v, 9) for v in a],
                [None if v is None else round(v, 9) for v in b],
            )
        assert a == b, name
    row = next(r for r in seen_by_full.to_pylist() if r["uscc"] == CODES[3])
    assert row["cases_24m"] == 0  # the case filed on 2 March was only received on 20 March
    assert row["sales_3m"] == sum(1000 + 10 * n + 3 for n in (11, 12, 13))  # Dec–Feb, not March
    later = next(r for r in compute_indicators(full, date(2024, 3, 21)).to_pylist() if r["uscc"] == CODES[3])
    assert later["cases_24m"] == 1


def test_a_snapshot_is_written_and_read_back(write: Write, ingest: Ingest, lake: Lake) -> None:
    ingest("registration", write("reg.csv", registration(CODES[:4])))
    run = service.run_indicators(lake, AS_OF)
    assert run.enterprises == 4 and run.indicators == len(INDICATORS) and run.path.is_file()
    assert read_snapshot(lake, AS_OF + timedelta(days=3)).num_rows == 4  # the newest on or before
    assert service.enterprise_indicators(lake, CODES[0], AS_OF)["is_active"] is True  # type: ignore[index]
    assert service.snapshot_dates(lake) == [AS_OF]
    with pytest.raises(LookupError):
        read_snapshot(lake, AS_OF - timedelta(days=1))
