"""Products through Excel: export, import unchanged (no change at all), a broken row (nothing written,
the row named), a new product created, an edit of a product under review refused by row."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.access import Principal
from xinyidai.core.database import session_scope
from xinyidai.core.errors import PermissionDenied, ValidationFailed
from xinyidai.core.i18n import translate
from xinyidai.market import product_excel
from xinyidai.market import service as market
from xinyidai.market.models import Product
from xinyidai.market.schemas import ProductInput


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def product_input(**overrides: object) -> ProductInput:
    fields: dict[str, object] = {
        "external_id": "WH-CREDIT-01",
        "name": "鲸e贷",
        "product_type": "credit",
        "description": "面向威海小微企业的纯信用贷款",
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000.50"),
        "term_min": 3,
        "term_max": 36,
        "rate_min": Decimal("3.45"),
        "rate_max": Decimal("6.00"),
        "repayment_methods": ["interest_first", "equal_installment"],
        "regions": ["371000", "371002"],
        "industries": ["C", "F"],
        "sizes": ["micro", "small"],
        "grades": ["A", "B"],
        "pure_credit": True,
        "online": True,
        "instant": True,
        "admission_rule": "grade in ('A', 'B')",
        "limit_formula": "500000",
        "pricing": {"A": Decimal("3.45"), "B": Decimal("4.20")},
    }
    fields.update(overrides)
    return ProductInput.model_validate(fields)


@pytest.fixture
def people(world: list[demo.DemoLogin], engine: Engine) -> dict[str, Principal]:
    with session_scope(engine) as db:
        return {name: who(db, name) for name in ("bank_admin", "bank_manager", "bank_risk", "op_admin")}


def _products(db: Session) -> dict[str, tuple[str, dict[str, object]]]:
    return {p.external_id: (p.status, market.product_values(p)) for p in db.scalars(select(Product)).all()}


def test_export_then_import_unchanged_changes_nothing(engine: Engine, people: dict[str, Principal]) -> None:
    bank, op = people["bank_manager"], people["op_admin"]
    with session_scope(engine) as db:
        first = market.upsert_product(db, bank, product_input()).product
        market.submit_product(db, bank, first.id)
        market.review_product(db, op, first.id, approve=True)
        market.upsert_product(
            db,
            bank,
            product_input(
                external_id="WH-MORT-02",
                name="房抵快贷",
                product_type="mortgage",
                pure_credit=False,
                instant=False,
                collateral="mortgage",
                regions=[],
                grades=[],
                admission_rule="",
                limit_formula="",
                pricing={},
                description="",
            ),
        )
    with session_scope(engine) as db:
        before = _products(db)
        content = product_excel.export_products(db, bank)
    sheet = load_workbook(io.BytesIO(content))["产品"]
    assert [c.value for c in sheet[1]][:3] == ["产品编号", "产品名称", "产品类型"]
    assert sheet.max_row == 3
    with session_scope(engine) as db:
        report = product_excel.import_products(db, bank, content)
    assert report.ok and (report.rows, report.created, report.updated, report.unchanged) == (2, 0, 0, 2)
    with session_scope(engine) as db:
        assert _products(db) == before  # the listed product stayed listed: nothing changed
        assert before["WH-CREDIT-01"][0] == "listed"


def test_a_broken_row_writes_nothing_and_is_named(engine: Engine, people: dict[str, Principal]) -> None:
    bank = people["bank_admin"]
    with session_scope(engine) as db:
        market.upsert_product(db, bank, product_input())
        content = product_excel.export_products(db, bank)
        before = _products(db)
    book = load_workbook(io.BytesIO(content))
    sheet = book["产品"]
    headers = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=headers.index("产品名称") + 1, value="鲸e贷（新版）")  # a good change
    good_new = ["NEW-1", "税易贷", "信用贷款", "", 50000, 1000000, 6, 12, 4, 5, "等额本息、先息后本"]
    sheet.append(good_new)
    broken = ["NEW-2", "错误产品", "信用贷款", "", 800000, 100000, 6, 12, 4, 5, "按月付息"]
    sheet.append(broken)
    bad_rule = list(good_new)
    bad_rule[0] = "NEW-3"
    sheet.append(bad_rule)
    sheet.cell(row=5, column=headers.index("准入规则") + 1, value="no_such_indicator > 1")
    sheet.append(good_new)  # the same product id twice
    buffer = io.BytesIO()
    book.save(buffer)
    with session_scope(engine) as db:
        report = product_excel.import_products(db, bank, buffer.getvalue())
    assert not report.ok
    by_row = {(e.row, e.column) for e in report.errors}
    assert (4, "还款方式") in by_row  # "按月付息" is not a repayment method
    assert (5, "准入规则") in by_row
    assert (6, "产品编号") in by_row
    assert 2 not in {e.row for e in report.errors} and 3 not in {e.row for e in report.errors}
    messages = {e.row: translate(e.message, e.params, "en") for e in report.errors}
    assert "At character" in messages[5]
    assert "row 3" in messages[6]
    with session_scope(engine) as db:
        assert _products(db) == before
        assert db.scalar(select(func.count()).select_from(Product)) == 1

    # the file fixed: every row written
    book = load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = book["产品"]
    sheet.delete_rows(4, 3)
    fixed = io.BytesIO()
    book.save(fixed)
    with session_scope(engine) as db:
        report = product_excel.import_products(db, bank, fixed.getvalue())
    assert report.ok and (report.created, report.updated, report.unchanged) == (1, 1, 0)
    with session_scope(engine) as db:
        products = _products(db)
        assert products["WH-CREDIT-01"][1]["name"] == "鲸e贷（新版）"
        assert products["NEW-1"][0] == "draft"
        assert products["NEW-1"][1]["repayment_methods"] == ["equal_installment", "interest_first"]


def test_editing_a_product_under_review_is_refused_by_row(
    engine: Engine, people: dict[str, Principal]
) -> None:
    bank = people["bank_admin"]
    with session_scope(engine) as db:
        product = market.upsert_product(db, bank, product_input()).product
        market.submit_product(db, bank, product.id)
        content = product_excel.export_products(db, bank)
    book = load_workbook(io.BytesIO(content))
    book["产品"].cell(row=2, column=2, value="改名")
    buffer = io.BytesIO()
    book.save(buffer)
    with session_scope(engine) as db:
        report = product_excel.import_products(db, bank, buffer.getvalue())
        assert [(e.row, e.message) for e in report.errors] == [
            (2, "You cannot %(action_label)s now: it is %(state_label)s")
        ]
        assert db.scalar(select(Product.name)) == "鲸e贷"


def test_bad_files_and_who_may_import(engine: Engine, people: dict[str, Principal]) -> None:
    with session_scope(engine) as db:
        with pytest.raises(ValidationFailed):
            product_excel.import_products(db, people["bank_admin"], b"not a workbook")
        with pytest.raises(PermissionDenied):
            product_excel.import_products(db, people["bank_risk"], product_excel.product_template())
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["产品名称", "备注"])
        sheet.append(["缺编号", "x"])
        buffer = io.BytesIO()
        book.save(buffer)
        report = product_excel.import_products(db, people["bank_admin"], buffer.getvalue())
        assert not report.ok and {e.column for e in report.errors} >= {"产品编号", "最低金额（元）"}
        template = load_workbook(io.BytesIO(product_excel.product_template()))
        assert template.sheetnames == ["产品", "填写说明"] and template["产品"].max_row == 1
