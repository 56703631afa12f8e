"""Instant pre-credit over the API: the product's strategy over the enterprise's indicators and grade, an
offer or the reasons in Chinese, nothing written; only enterprises ask, only instant products answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.data import point_lookup
from xinyidai.data import service as data
from xinyidai.indicators.compute import write_snapshot
from xinyidai.market import service as market
from xinyidai.market.models import Application
from xinyidai.market.schemas import ProductInput

AS_OF = date(2026, 11, 12)


def rate(settings: Settings, uscc: str, grade: str, tax_paid: str) -> None:
    """The enterprise's indicator snapshot and rating, as the pipeline would have left them."""
    lake = data.open_lake(settings)
    write_snapshot(
        lake,
        AS_OF,
        pa.table(
            {
                "uscc": [uscc],
                "tax_paid_12m": pa.array([Decimal(tax_paid)], pa.decimal128(38, 2)),
                "on_dishonest_list": [False],
            }
        ),
    )
    path = lake.root / "_ratings" / f"as_of={AS_OF.isoformat()}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    ratings = pa.table({"uscc": [uscc], "score": [812.0], "grade": [grade], "model_id": [1]})
    pq.write_table(ratings, path)
    point_lookup.write_sidecar(path, ratings)


@pytest.fixture
def instant(engine: Engine, world: object) -> int:
    with session_scope(engine) as db:
        people = {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}
        product = market.upsert_product(
            db,
            people["bank_admin"],
            ProductInput.model_validate(
                {
                    "external_id": "JINGE",
                    "name": "鲸e贷",
                    "product_type": "credit",
                    "amount_min": "50000",
                    "amount_max": "3000000",
                    "term_min": 3,
                    "term_max": 12,
                    "rate_min": "3.45",
                    "rate_max": "5.20",
                    "repayment_methods": ["interest_first"],
                    "grades": ["A", "B"],
                    "pure_credit": True,
                    "instant": True,
                    "admission_rule": "not coalesce(on_dishonest_list, false)",
                    "limit_formula": "coalesce(tax_paid_12m, 0) * 8",
                    "pricing": {"A": "3.45", "B": "4.35"},
                }
            ),
        ).product
        market.submit_product(db, people["bank_admin"], product.id)
        market.review_product(db, people["op_admin"], product.id, approve=True)
        return product.id


def own_uscc(engine: Engine) -> str:
    with session_scope(engine) as db:
        return db.scalars(select(User).where(User.username == "ent_staff")).one().organisation.enterprise.uscc


def ask(who: LoggedIn, product_id: int, amount: str = "300000", term: int = 12):  # type: ignore[no-untyped-def]
    return who.client.post(
        f"/api/v1/market/products/{product_id}/precredit",
        json={"amount": amount, "term_months": term},
        headers={"X-CSRF-Token": who.csrf},
    )


def test_an_eligible_enterprise_gets_a_limit_and_its_grades_rate(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, instant: int
) -> None:
    rate(settings, own_uscc(engine), "B", "30000.00")
    answer = ask(login("ent_staff"), instant)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["eligible"] is True and body["grade"] == "B"
    assert Decimal(body["limit"]) == Decimal("240000.00")  # 8 × tax paid, below the amount asked
    assert Decimal(body["rate"]) == Decimal("4.35")
    assert "app;dur=" in answer.headers["server-timing"]
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Application)) == 0  # a question, not an application


def test_a_refusal_says_why_in_chinese(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, instant: int
) -> None:
    rate(settings, own_uscc(engine), "C", "30000.00")
    body = ask(login("ent_staff"), instant, amount="9000000").json()
    assert body["eligible"] is False and body["limit"] is None
    assert "该产品要求信用等级为 A/B，贵企业为 C" in body["reasons"]
    assert any("金额须在" in reason for reason in body["reasons"])


def test_only_enterprises_ask_and_only_instant_products_answer(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, instant: int
) -> None:
    assert ask(login("bank_manager"), instant).status_code == 403
    assert ask(login("ent_staff"), 999_999).status_code == 404
    bad = ask(login("ent_staff"), instant, amount="-5")
    assert bad.status_code == 422
