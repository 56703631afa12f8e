"""An enterprise sees its own grade, the reasons and its history; a downgrade reaches it as a message."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn
from tests.rating_city import City, build_city
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.settings import Settings
from xinyidai.data import service as data
from xinyidai.rating import service as rating
from xinyidai.rating.models import RatingModel

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
    # the shipped expert scorecard and its variant for individual businesses
    assert page.status_code == 200 and page.text.count('data-testid="model-row"') == 2
    assert 'data-testid="rating-run-row"' in page.text and "个体工商户专家评分卡" in page.text
    with session_scope(engine) as db:
        model_id = rating.active_model(db).id  # type: ignore[union-attr]
    card = auditor.client.get(f"/operator/models/{model_id}")
    assert card.text.count('data-testid="model-dimension"') == 12 and "失信被执行人" in card.text
    assert 'data-testid="backtest"' not in card.text and 'data-testid="edit-form"' not in card.text
    assert auditor.client.get("/operator/models/999999").status_code == 404
    assert login("bank_admin").client.get("/operator/models").status_code == 403


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return build_city(tmp_path_factory.mktemp("city"), enterprises=800)


def install_city(city: City, settings: Settings, engine: Engine) -> int:
    """The city's lake as the installation's; the shipped models installed. The default model's id."""
    shutil.copytree(city.lake, data.open_lake(settings).root)
    with session_scope(engine) as db:
        return rating.ensure_default_model(db).id


def model_status(engine: Engine, model_id: int) -> str:
    with session_scope(engine) as db:
        model = db.get(RatingModel, model_id)
        assert model is not None
        return model.status


def test_the_operator_edits_backtests_and_activates_a_version(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, city: City
) -> None:
    default_id = install_city(city, settings, engine)
    admin = login("op_admin")
    card = admin.client.get(f"/operator/models/{default_id}")
    assert 'data-testid="edit-form"' in card.text and 'data-testid="no-evidence"' in card.text
    # A new version: less weight on tax, more on operations.
    saved = admin.post_form(f"/operator/models/{default_id}/versions",
                            {"weight.tax": "10", "weight.operations": "26", "note": "降低纳税增长权重"},
                            follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    new_id = int(saved.headers["location"].rsplit("/", 1)[1])
    page = admin.client.get(f"/operator/models/{new_id}")
    assert "专家评分卡 v2" in page.text and "权重 10.0%" in page.text
    assert model_status(engine, default_id) == "active" and model_status(engine, new_id) == "draft"

    not_tested = admin.post_form(f"/operator/models/{new_id}/activate")
    assert not_tested.status_code == 409 and 'data-testid="form-error"' in not_tested.text
    assert admin.post_form(f"/operator/models/{new_id}/backtest", follow_redirects=False).status_code == 303
    page = admin.client.get(f"/operator/models/{new_id}")
    assert 'data-testid="auc"' in page.text and page.text.count('data-testid="grade-rate-row"') == 4
    assert 'data-testid="check-auc"' in page.text

    strict = {"min_auc": "0.99", "min_ks": "0.1", "max_psi": "1", "monotone_default_rate": "on"}
    assert admin.post_form("/operator/models/thresholds", strict, follow_redirects=False).status_code == 303
    refused = admin.post_form(f"/operator/models/{new_id}/activate")
    assert refused.status_code == 409
    error = re.search(r'data-testid="form-error">([^<]+)<', refused.text).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"AUC 为 0\.\d+，低于阈值 0\.99", error), error  # the threshold it failed, in Chinese
    assert model_status(engine, new_id) == "draft" and model_status(engine, default_id) == "active"

    lenient = {**strict, "min_auc": "0.6"}
    assert admin.post_form("/operator/models/thresholds", lenient, follow_redirects=False).status_code == 303
    activated = admin.post_form(f"/operator/models/{new_id}/activate", {"effective_from": "2026-12-01"},
                                follow_redirects=False)  # fmt: skip
    assert activated.status_code == 303
    assert model_status(engine, new_id) == "active" and model_status(engine, default_id) == "retired"
    listing = admin.client.get("/operator/models")
    assert listing.text.count('data-testid="model-row"') == 3 and "2026-12-01" in listing.text


def test_an_invalid_edit_is_refused_in_the_form_and_nothing_is_saved(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as db:
        default_id = rating.ensure_default_model(db).id
        before = db.scalar(select(func.count()).select_from(RatingModel))
    admin = login("op_admin")
    refused = admin.post_form(f"/operator/models/{default_id}/versions", {"points.tax_paid_12m.1": "150"})
    assert refused.status_code == 422
    assert "tax_paid_12m 的得分必须在 0 到 100 之间" in refused.text
    assert 'name="points.tax_paid_12m.1" inputmode="numeric" size="3" value="150"' in refused.text
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(RatingModel)) == before


def test_the_operator_trains_a_statistical_model_and_reads_its_card(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, city: City
) -> None:
    install_city(city, settings, engine)
    admin = login("op_admin")
    trained = admin.post_form("/operator/models/train", {"segment": "enterprise"}, follow_redirects=False)
    assert trained.status_code == 303
    card = admin.client.get(trained.headers["location"])
    assert "统计评分卡 v1" in card.text and 'data-testid="model-feature"' in card.text
    assert 'data-testid="iv-row"' in card.text and 'data-testid="auc"' in card.text
    assert 'data-testid="edit-form"' not in card.text  # retrained, not edited
    auditor = login("op_audit")
    thresholds = auditor.client.get("/operator/models/thresholds")
    assert (
        thresholds.status_code == 200
        and 'name="min_auc" inputmode="decimal" required value="0.700" disabled' in thresholds.text
    )
    bad = admin.post_form("/operator/models/thresholds", {"min_auc": "2", "min_ks": "0.3", "max_psi": "0.25"})
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
