"""The `xinyidai` command: init-db, create-user, demo --no-serve, verify-audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from xinyidai.accounts.models import User
from xinyidai.cli import app
from xinyidai.core.database import get_engine, session_scope
from xinyidai.core.settings import get_settings
from xinyidai.data.models import QualityRun
from xinyidai.demo import DEMO_USERS


@pytest.fixture
def cli_env(
    tmp_path: Path, database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("XYD_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XYD_DATABASE_URL", database_url)
    monkeypatch.setenv("XYD_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield {}
    get_settings.cache_clear()


def test_init_db_creates_the_state_folder(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init-db"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "state" / "secret_key").exists()


def test_create_user_bootstraps_the_operator(cli_env: dict[str, str], database_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "create-user",
            "--username",
            "root_admin",
            "--role",
            "operator_admin",
            "--display-name",
            "管理员",
            "--password-stdin",
        ],
        input="Root#Admin2026\n",
    )
    assert result.exit_code == 0, result.output
    with session_scope(get_engine(database_url)) as session:
        user = session.scalars(select(User).where(User.username == "root_admin")).one()
        assert user.roles == ["operator_admin"] and user.organisation.kind == "operator"
    weak = runner.invoke(
        app,
        [
            "create-user",
            "--username",
            "weak_admin",
            "--role",
            "auditor",
            "--display-name",
            "审计",
            "--password-stdin",
        ],
        input="weak\n",
    )
    assert weak.exit_code == 1 and "8" in weak.output


def test_demo_prints_a_login_for_every_role(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for username, *_ in DEMO_USERS:
        assert username in result.output
    assert "Xyd#Demo2026" in result.output
    # the demo city's last six months were quality-checked, each run with its report
    with session_scope(get_engine(get_settings().database_url)) as session:
        runs = session.scalars(select(QualityRun).order_by(QualityRun.id)).all()
        assert [r.triggered_by for r in runs] == ["demo"] * 6
        assert [r.period for r in runs] == sorted({str(r.period) for r in runs})
        assert all((get_settings().home / str(r.report_path)).is_file() for r in runs)
    # the platform's own loan book was delivered to the lake, for the financing-history indicators
    from xinyidai.data import service as data_service

    lake = data_service.open_lake(get_settings())
    assert data_service.last_receipt_date(lake, "platform_loans") is not None
    again = CliRunner().invoke(app, ["demo", "--no-serve"], env={"COLUMNS": "200"})
    assert again.exit_code == 0  # idempotent
    with session_scope(get_engine(get_settings().database_url)) as session:
        assert len(session.scalars(select(QualityRun)).all()) == 6


def test_verify_audit(cli_env: dict[str, str]) -> None:
    CliRunner().invoke(app, ["demo", "--no-serve"])
    assert CliRunner().invoke(app, ["verify-audit"]).exit_code == 0


def test_synth_writes_a_delivery_per_source(tmp_path: Path) -> None:
    out = tmp_path / "city"
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--enterprises", "300", "--months", "3"])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists() and (out / "_truth").is_dir()
    assert (out / "tax_monthly").is_dir() and any((out / "tax_monthly").iterdir())
    again = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), "--enterprises", "10", "--months", "1"])
    assert again.exit_code == 1  # refuses to write into a folder that is not a synthetic city


def test_ingest_a_synthetic_delivery_then_resend_is_unchanged(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "city"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["synth", "--out", str(out), "--enterprises", "200", "--months", "2"]).exit_code
        == 0
    )
    first = runner.invoke(app, ["ingest", "--all", str(out)], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "tax_monthly" in first.output and "已发布" in first.output
    files = sorted((out / "tax_monthly").glob("*.csv"))
    again = runner.invoke(app, ["ingest", "tax_monthly", str(files[0])], env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert "已跳过" in again.output or "already" in again.output


def test_ingest_refuses_an_empty_file_with_a_clear_message(cli_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "2025-01.csv"
    empty.write_bytes(b"")
    result = CliRunner().invoke(app, ["ingest", "tax_monthly", str(empty)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "2025-01.csv" in result.output


def test_quality_run_checks_the_lake_and_writes_the_report(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "city"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["synth", "--out", str(out), "--enterprises", "200", "--months", "4"]).exit_code
        == 0
    )
    assert runner.invoke(app, ["ingest", "--all", str(out)]).exit_code == 0
    result = runner.invoke(app, ["quality", "run", "--as-of", "2026-11-20"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "所属期 2026-10" in result.output and "条规则" in result.output
    reports = list((tmp_path / "state" / "reports" / "quality").glob("quality-2026-11-20-run*.xlsx"))
    assert len(reports) == 1
    listing = runner.invoke(app, ["quality", "rules"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and "tax_monthly" in listing.output
    for bad in (["--as-of", "2026-11-31"], ["--period", "2026-13"]):
        refused = runner.invoke(app, ["quality", "run", *bad], env={"COLUMNS": "200"})
        assert refused.exit_code == 2 and "日期格式不正确" in refused.output


def test_market_daily_expires_needs_and_reminds_late_institutions(cli_env: dict[str, str]) -> None:
    from datetime import timedelta

    from xinyidai import demo
    from xinyidai.accounts import service as accounts
    from xinyidai.core.clock import today_local
    from xinyidai.core.settings import Settings
    from xinyidai.market import service as market
    from xinyidai.market.models import Application, Need
    from xinyidai.market.schemas import NeedInput

    CliRunner().invoke(app, ["init-db"])
    with session_scope(get_engine(get_settings().database_url)) as session:
        demo.build(session)
        ent = accounts.principal_for(session.scalars(select(User).where(User.username == "ent_admin")).one())
        need = market.publish_need(session, None, ent, NeedInput(amount=100000, term_months=6,  # type: ignore[arg-type]
                                                                 purpose="trade"), Settings())  # fmt: skip
        need.expires_on = today_local() - timedelta(days=1)
    result = CliRunner().invoke(app, ["market", "daily"])
    assert result.exit_code == 0, result.output
    assert "已过期需求 1 条" in result.output
    with session_scope(get_engine(get_settings().database_url)) as session:
        assert session.scalars(select(Need)).one().status == "expired"
        assert session.scalars(select(Application)).all() == []
