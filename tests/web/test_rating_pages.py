"""An enterprise sees its own grade, the reasons and its history; a downgrade reaches it as a message."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from tests.conftest import LoggedIn
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.settings import Settings
from xinyidai.data import service as data
from xinyidai.rating import service as rating

TAX = "统一社会信用代码,所属期,销售收入,实缴税额,欠税余额\n"
CASES = "统一社会信用代码,案号,诉讼地位,案件类型,立案日期\n"


def deliver(engine: Engine, settings: Settings, tmp_path: Path, name: str, source: str, text: str,
            received: datetime) -> None:  # fmt: skip
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    session = session_factory(engine)()
    try:
        data.ingest_files(
            source, [path], lake=data.open_lake(settings), session=session, received_at=received
        )
    finally:
        session.close()


def test_the_enterprise_sees_its_rating_and_is_told_of_a_downgrade(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with session_scope(engine) as db:
        uscc = db.scalars(select(User).where(User.username == "ent_admin")).one().organisation.enterprise.uscc
    registration = f"uscc,name,founded_on,region_code,industry_code,legal_rep_name,status\n{uscc},演示企业,2012-05-01,371002,C13,王海燕,存续\n"  # noqa: E501
    deliver(
        engine, settings, tmp_path, "reg.csv", "registration", registration, datetime(2026, 1, 5, tzinfo=UTC)
    )
    months = "".join(f"{uscc},2025-{m:02d},800000,40000,0\n" for m in range(1, 13))
    deliver(
        engine, settings, tmp_path, "tax.csv", "tax_monthly", TAX + months, datetime(2026, 1, 12, tzinfo=UTC)
    )
    lake = data.open_lake(settings)
    with session_scope(engine) as db:
        rating.rate_all(db, lake, date(2026, 1, 20))
    ent = login("ent_admin")
    home = ent.client.get("/enterprise")
    first_grade = re.search(r'data-testid="grade">(\w)<', home.text).group(1)  # type: ignore[union-attr]
    page = ent.client.get("/enterprise/rating")
    assert page.status_code == 200 and 'data-testid="reasons-down"' in page.text
    assert page.text.count('data-testid="indicator-row"') > 60 and "近12个月销售收入" in page.text
    assert 'data-testid="incomplete"' in page.text  # only tax and registration data: flagged

    # Lawsuits arrive and the court lists it as a dishonest debtor: the next rating falls to D, the change
    # is kept, and the enterprise is told.
    listed = f"统一社会信用代码,执行案号,发布日期\n{uscc},(2026)鲁1002执1号,2026-02-08\n"
    deliver(
        engine, settings, tmp_path, "dd.csv", "dishonest_debtors", listed, datetime(2026, 2, 10, tzinfo=UTC)
    )
    cases = "".join(f"{uscc},(2026)鲁1002民初{n}号,被告,民事,2026-02-0{n}\n" for n in range(1, 6))
    deliver(
        engine,
        settings,
        tmp_path,
        "cases.csv",
        "court_cases",
        CASES + cases,
        datetime(2026, 2, 10, tzinfo=UTC),
    )
    with session_scope(engine) as db:
        rated = rating.rate_all(db, lake, date(2026, 2, 20))
        assert [c.uscc for c in rated.downgrades] == [uscc]
        assert accounts.notify_downgrades(db, rated.changes) == 1
    page = ent.client.get("/enterprise/rating")
    assert 'data-testid="history-row"' in page.text and f"{first_grade} → D" in page.text
    assert 'data-testid="knock-out"' in page.text and "列入失信被执行人名单" in page.text
    assert "近24个月被告案件数" in page.text
    inbox = ent.client.get("/notifications")
    assert "您的信用等级由" in inbox.text and 'data-testid="unread-count">1<' in inbox.text
    assert login("bank_admin").client.get("/api/v1/notifications").json() == []


def test_the_operator_reads_the_models_and_runs(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as db:
        rating.rate_all(db, data.open_lake(settings), date(2026, 1, 20))  # an empty lake: nobody to rate
    auditor = login("op_audit")
    page = auditor.client.get("/operator/models")
    assert page.status_code == 200 and page.text.count('data-testid="model-row"') == 1
    assert 'data-testid="rating-run-row"' in page.text and "专家评分卡" in page.text
    model_id = re.search(r'href="/operator/models/(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    card = auditor.client.get(f"/operator/models/{model_id}")
    assert card.text.count('data-testid="model-dimension"') == 12 and "失信被执行人" in card.text
    assert auditor.client.get("/operator/models/999999").status_code == 404
    assert login("bank_admin").client.get("/operator/models").status_code == 403
