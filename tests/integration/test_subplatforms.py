"""Sub-platforms (issue #9): the operator's validation (in Chinese, nothing half-written), featured items,
enable/disable, and statistics that count only the enterprises in the sub-platform's scope."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai import demo, demo_subplatforms
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.consoles import subplatforms as sub
from xinyidai.consoles.subplatform_models import Subplatform, SubplatformFeature
from xinyidai.core import i18n
from xinyidai.core.access import Principal
from xinyidai.core.audit import AuditRecord
from xinyidai.core.errors import NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.expressions import ExpressionError
from xinyidai.core.settings import Settings
from xinyidai.data.models import RegistryEnterprise
from xinyidai.demo_policies import fill_policies
from xinyidai.market.models import Application, Loan, Need, Order, Product
from xinyidai.policies.models import Policy
from xinyidai.web.problems import describe_error

HUANCUI = "371002"  # 环翠区
RONGCHENG = "371082"  # 荣成市, another county of Weihai


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def org(db: Session, name: str) -> Organisation:
    return db.scalars(select(Organisation).where(Organisation.name == name)).one()


def ndrc(db: Session) -> int:
    return org(db, "威海市发展和改革委员会").id


def data(db: Session, **overrides: Any) -> sub.SubplatformInput:
    fields: dict[str, Any] = {
        "slug": "huancui",
        "name": "环翠区信易贷子平台",
        "kind": "district",
        "owner_id": ndrc(db),
        "colour": "#0F766E",
        "tagline": "环翠区企业融资专区",
        "region_code": HUANCUI,
    }
    fields.update(overrides)
    return sub.SubplatformInput(**fields)


def zh(error: Exception) -> tuple[str | None, str]:
    _status, field, message = describe_error(error, "zh_CN")
    return field, message


@pytest.fixture
def built(db: Session, world: list[demo.DemoLogin]) -> Session:
    return db


def test_the_operator_creates_a_district_subplatform(built: Session) -> None:
    db = built
    sp = sub.create_subplatform(db, who(db, "op_admin"), data(db, slug="HuanCui "))
    assert (sp.slug, sp.colour, sp.enabled, sp.kind) == ("huancui", "#0f766e", True, "district")
    assert sub.by_slug(db, "huancui").id == sp.id
    assert db.scalar(
        select(func.count()).select_from(AuditRecord).where(AuditRecord.object_type == "subplatform")
    )
    assert "0f766e" in sub.colour_css(sp)


@pytest.mark.parametrize(
    ("overrides", "field", "msgid", "params"),
    [
        (
            {"slug": "环翠"},
            "slug",
            "The address may contain only lowercase letters, digits and hyphens (2 to 40 characters, "
            "not starting or ending with a hyphen)",
            None,
        ),
        (
            {"slug": "-huancui"},
            "slug",
            "The address may contain only lowercase letters, digits and hyphens (2 to 40 characters, "
            "not starting or ending with a hyphen)",
            None,
        ),
        (
            {"slug": "api"},
            "slug",
            "The address may contain only lowercase letters, digits and hyphens (2 to 40 characters, "
            "not starting or ending with a hyphen)",
            None,
        ),
        (
            {"colour": "blue"},
            "colour",
            "The colour must be written as # and six hexadecimal digits, e.g. #1f5fbf",
            None,
        ),
        (
            {"colour": "#12345"},
            "colour",
            "The colour must be written as # and six hexadecimal digits, e.g. #1f5fbf",
            None,
        ),
        ({"name": "  "}, "name", "Enter a name of at most 100 characters", None),
        ({"region_code": ""}, "region_code", "A district sub-platform needs its region", None),
        (
            {"region_code": "379999"},
            "region_code",
            "%(code)s is not a known administrative division code.",
            {"code": "379999"},
        ),
        (
            {"kind": "theme", "region_code": "", "industry_divisions": ["99"]},
            "industry_divisions",
            "%(code)s is not an industry division code of GB/T 4754-2017 (01 to 97).",
            {"code": "99"},
        ),
        (
            {"product_types": ["crypto"]},
            "product_types",
            "%(type)s is not a product type",
            {"type": "crypto"},
        ),
        ({"owner_id": None}, "owner_id", "Choose the department that runs the sub-platform", None),
    ],
)
def test_bad_input_is_refused_in_chinese_and_nothing_is_written(
    built: Session, overrides: dict[str, Any], field: str, msgid: str, params: dict[str, Any] | None
) -> None:
    db = built
    with pytest.raises(ValidationFailed) as refused:
        sub.create_subplatform(db, who(db, "op_admin"), data(db, **overrides))
    got_field, message = zh(refused.value)
    assert got_field == field
    assert message == i18n.translate(msgid, params, "zh_CN")
    assert db.scalar(select(func.count()).select_from(Subplatform)) == 0


def test_an_owner_that_is_not_a_department_is_refused(built: Session) -> None:
    db = built
    bank = org(db, "威海市商业银行")
    with pytest.raises(ValidationFailed) as refused:
        sub.create_subplatform(db, who(db, "op_admin"), data(db, owner_id=bank.id))
    assert refused.value.field == "owner_id"


def test_a_taken_address_is_refused_also_when_editing(built: Session) -> None:
    db = built
    op = who(db, "op_admin")
    first = sub.create_subplatform(db, op, data(db))
    with pytest.raises(ValidationFailed) as refused:
        sub.create_subplatform(db, op, data(db, name="另一个"))
    field, message = zh(refused.value)
    assert field == "slug"
    assert message == i18n.translate("The address /s/%(slug)s is already taken", {"slug": "huancui"}, "zh_CN")
    other = sub.create_subplatform(db, op, data(db, slug="waimao", name="外贸子平台"))
    with pytest.raises(ValidationFailed):
        sub.update_subplatform(db, op, other.id, data(db, slug="huancui", name="外贸子平台"))
    # saving a sub-platform under its own address is no conflict
    sub.update_subplatform(db, op, first.id, data(db, tagline="新的标语"))
    assert first.tagline == "新的标语"


def test_an_invalid_scope_expression_names_the_position_in_chinese(built: Session) -> None:
    db = built
    bad = data(db, slug="waimao", kind="theme", region_code="", scope_expression="exports_12m >")
    with pytest.raises(ExpressionError) as refused:
        sub.create_subplatform(db, who(db, "op_admin"), bad)
    assert refused.value.field == "scope_expression"
    field, message = zh(refused.value)
    assert field == "scope_expression"
    assert str(refused.value.position) in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), (
        message
    )  # the language's own messages are Chinese
    unknown = data(db, slug="waimao", kind="theme", region_code="", scope_expression="export_12m > 0")
    with pytest.raises(ExpressionError) as misspelt:
        sub.create_subplatform(db, who(db, "op_admin"), unknown)
    assert misspelt.value.position == 1
    assert "exports_12m" in zh(misspelt.value)[1]  # did you mean
    assert db.scalar(select(func.count()).select_from(Subplatform)) == 0


def test_only_the_operator_admin_manages_subplatforms(built: Session) -> None:
    db = built
    for username in ("gov_admin", "op_data", "bank_admin", "ent_admin"):
        with pytest.raises(PermissionDenied):
            sub.create_subplatform(db, who(db, username), data(db))


def _product(
    db: Session, name: str, status: str, product_type: str = "credit", pure: bool = False
) -> Product:
    bank = org(db, "威海市商业银行")
    product = Product(
        institution_id=bank.id,
        external_id=name,
        name=name,
        product_type=product_type,
        amount_min=Decimal(10000),
        amount_max=Decimal(1000000),
        term_min=3,
        term_max=12,
        rate_min=Decimal("3.5"),
        rate_max=Decimal("6"),
        pure_credit=pure,
        status=status,
    )
    db.add(product)
    db.flush()
    return product


def _policy(db: Session, title: str, status: str) -> Policy:
    policy = Policy(
        department_id=ndrc(db),
        issuer="威海市发展和改革委员会",
        title=title,
        benefit="最高 10 万元",
        opens_on=date(2026, 1, 1),
        closes_on=date(2026, 12, 31),
        status=status,
        created_by="gov_admin",
    )
    db.add(policy)
    db.flush()
    return policy


def test_featured_items_are_listed_products_and_published_policies(built: Session) -> None:
    db = built
    op = who(db, "op_admin")
    sp = sub.create_subplatform(db, op, data(db))
    listed, delisted = _product(db, "鲸e贷", "listed"), _product(db, "小微快贷", "delisted")
    published, draft = _policy(db, "稳岗补贴", "published"), _policy(db, "草稿政策", "draft")
    with pytest.raises(ValidationFailed) as refused:
        sub.set_features(db, op, sp.id, [listed.id, delisted.id], [published.id])
    field, message = zh(refused.value)
    assert field == "products"
    assert message == i18n.translate(
        "The product %(name)s is not listed and cannot be featured", {"name": "小微快贷"}, "zh_CN"
    )
    assert sp.features == []
    with pytest.raises(ValidationFailed) as not_published:
        sub.set_features(db, op, sp.id, [listed.id], [draft.id])
    assert not_published.value.field == "policies"
    sub.set_features(db, op, sp.id, [listed.id, listed.id], [published.id])
    assert [p.name for p in sub.featured_products(db, sp)] == ["鲸e贷"]
    assert [p.title for p in sub.featured_policies(db, sp)] == ["稳岗补贴"]
    assert db.scalar(select(func.count()).select_from(SubplatformFeature)) == 2
    # a product delisted later drops off the landing page by itself
    listed.status = "delisted"
    db.flush()
    assert sub.featured_products(db, sp) == []


def test_a_disabled_subplatform_answers_404_and_is_not_remembered(built: Session) -> None:
    db = built
    op = who(db, "op_admin")
    sp = sub.create_subplatform(db, op, data(db))
    assert sub.entered_through(db, "huancui") is sp
    sub.set_enabled(db, op, sp.id, False)
    with pytest.raises(NotFound):
        sub.by_slug(db, "huancui")
    assert sub.entered_through(db, "huancui") is None
    assert sub.entered_through(db, "../etc") is None
    sub.set_enabled(db, op, sp.id, True)
    assert sub.by_slug(db, "HUANCUI") is sp


# --- scoped statistics -------------------------------------------------------------------------------------


def _firm(db: Session, uscc: str, region: str, division: str) -> None:
    db.add(
        RegistryEnterprise(
            uscc=uscc,
            name=f"测试企业{uscc[-4:]}",
            legal_representative="张三",
            region_code=region,
            industry_division=division,
            size_class="small",
        )
    )


def _market_of(db: Session, uscc: str, amount: int, product: Product, *, loan: bool) -> None:
    """A need with a grab and an offer, an approved application and (optionally) its loan."""
    enterprise = db.scalars(select(EnterpriseProfile)).first()
    assert enterprise is not None
    bank = org(db, "威海市商业银行")
    need = Need(
        enterprise_id=enterprise.organisation_id,
        uscc=uscc,
        enterprise_name="测试企业",
        amount=Decimal(amount),
        term_months=12,
        purpose="流动资金",
        expires_on=date(2026, 12, 31),
    )
    db.add(need)
    db.flush()
    db.add(
        Order(need_id=need.id, institution_id=bank.id, grabbed_by="bank_manager", offered_at=need.created_at)
    )
    application = Application(
        enterprise_id=enterprise.organisation_id,
        uscc=uscc,
        enterprise_name="测试企业",
        institution_id=bank.id,
        product_id=product.id,
        amount=Decimal(amount),
        term_months=12,
        status="disbursed" if loan else "approved",
        approved_amount=Decimal(amount),
    )
    db.add(application)
    db.flush()
    if loan:
        db.add(
            Loan(
                application_id=application.id,
                institution_id=bank.id,
                enterprise_id=enterprise.organisation_id,
                uscc=uscc,
                product_id=product.id,
                amount=Decimal(amount),
                rate=Decimal("4.2"),
                term_months=12,
                pure_credit=product.pure_credit,
                disbursed_on=date(2026, 6, 1),
                maturity_on=date(2026, 6, 1) + timedelta(days=365),
                outstanding=Decimal(amount),
            )
        )
    db.flush()


@pytest.fixture
def market(built: Session) -> Session:
    """Three firms: two in 环翠区 (one exporting), one in 荣成市 (exporting), each with market activity."""
    db = built
    _firm(db, "91371002SUBPLAT01A", HUANCUI, "17")
    _firm(db, "91371002SUBPLAT02B", HUANCUI, "52")
    _firm(db, "91371082SUBPLAT03C", RONGCHENG, "17")
    pure = _product(db, "纯信用贷", "listed", pure=True)
    guaranteed = _product(db, "担保贷", "listed", product_type="guarantee")
    _market_of(db, "91371002SUBPLAT01A", 100_000, pure, loan=True)
    _market_of(db, "91371002SUBPLAT02B", 300_000, guaranteed, loan=True)
    _market_of(db, "91371082SUBPLAT03C", 5_000_000, pure, loan=True)
    db.flush()
    return db


def _registry_in(db: Session, prefix: str) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(RegistryEnterprise)
            .where(RegistryEnterprise.region_code.startswith(prefix))
        )
        or 0
    )


def test_district_statistics_count_only_the_district(market: Session) -> None:
    db = market
    op = who(db, "op_admin")
    sp = sub.create_subplatform(db, op, data(db))
    figures = sub.scoped_statistics(db, who(db, "gov_staff"), sp)
    assert figures.enterprises == _registry_in(db, HUANCUI)
    assert (figures.needs, figures.grabs, figures.offers) == (2, 2, 2)
    assert figures.need_amount == Decimal("400000.00")
    assert (figures.applications, figures.approvals, figures.loans) == (2, 2, 2)
    assert figures.loan_amount == Decimal("400000.00")  # 荣成's 5,000,000 is not in it
    assert figures.pure_credit_amount == Decimal("100000.00")
    assert figures.pure_credit_share == pytest.approx(0.25)
    assert [(t, n) for t, n, _ in figures.by_product_type] == [("credit", 1), ("guarantee", 1)]


def test_industry_and_product_type_narrow_the_scope(market: Session) -> None:
    db = market
    op = who(db, "op_admin")
    sp = sub.create_subplatform(
        db,
        op,
        data(
            db,
            slug="fangzhi",
            kind="theme",
            region_code="",
            industry_divisions=["17"],
            product_types=["credit"],
        ),
    )
    figures = sub.scoped_statistics(db, op, sp)
    # both textile firms (环翠 and 荣成) and none of the 52 retail one; loans on credit products only
    assert figures.needs == 2
    assert figures.loan_amount == Decimal("5100000.00")
    assert figures.pure_credit_share == pytest.approx(1.0)
    guarantee_only = sub.update_subplatform(
        db,
        op,
        sp.id,
        data(
            db,
            slug="fangzhi",
            kind="theme",
            region_code="",
            industry_divisions=["17"],
            product_types=["guarantee"],
        ),
    )
    figures = sub.scoped_statistics(db, op, guarantee_only)
    assert (figures.needs, figures.applications, figures.loans) == (2, 0, 0)


def test_an_expression_scope_counts_only_the_firms_that_satisfy_it(market: Session) -> None:
    db = market
    op = who(db, "op_admin")
    sp = sub.create_subplatform(
        db, op, data(db, slug="waimao", kind="theme", region_code="", scope_expression="exports_12m > 0")
    )
    unresolved = sub.scoped_statistics(db, op, sp)  # no indicator snapshot: nothing is counted
    assert unresolved.unresolved and unresolved.loans == 0 and unresolved.needs == 0
    snapshot = pa.table(
        {
            "uscc": ["91371002SUBPLAT01A", "91371002SUBPLAT02B", "91371082SUBPLAT03C", "91999999NOTINREG9X"],
            "exports_12m": [120000.0, 0.0, 800000.0, 5.0],
        }
    )
    figures = sub.scoped_statistics(db, op, sp, snapshot=snapshot, snapshot_as_of=date(2026, 11, 30))
    assert figures.enterprises == 2  # the exporters in the registry (the unregistered code is ignored)
    assert figures.loan_amount == Decimal("5100000.00")
    assert figures.indicators_as_of == date(2026, 11, 30)
    # the district and the expression together: only the 环翠 exporter
    both = sub.update_subplatform(
        db, op, sp.id, data(db, slug="waimao", kind="district", scope_expression="exports_12m > 0")
    )
    figures = sub.scoped_statistics(db, op, both, snapshot=snapshot)
    assert (figures.enterprises, figures.loans, figures.loan_amount) == (1, 1, Decimal("100000.00"))


def test_a_subplatforms_staff_see_only_their_own_subplatform(market: Session) -> None:
    db = market
    op = who(db, "op_admin")
    finance = org(db, "威海市财政局")
    own = sub.create_subplatform(db, op, data(db))  # run by the development and reform commission
    other = sub.create_subplatform(
        db, op, data(db, slug="rongcheng", region_code=RONGCHENG, owner_id=finance.id)
    )
    staff = who(db, "gov_staff")
    assert [s.slug for s in sub.list_subplatforms(db, staff)] == ["huancui"]
    assert {s.slug for s in sub.list_subplatforms(db, op)} == {"huancui", "rongcheng"}
    with pytest.raises(NotFound):
        sub.scoped_statistics(db, staff, other)
    with pytest.raises(NotFound):
        sub.for_staff(db, staff, "rongcheng")
    assert sub.for_staff(db, staff, "huancui") is own
    # the finance bureau's fund manager sees 荣成 and not 环翠
    fund = who(db, "fund_manager")
    assert sub.scoped_statistics(db, fund, other).loan_amount == Decimal("5000000.00")
    with pytest.raises(NotFound):
        sub.scoped_statistics(db, fund, own)
    for username in ("bank_admin", "ent_admin", "op_data"):
        with pytest.raises(PermissionDenied):
            sub.scoped_statistics(db, who(db, username), own)


def test_the_demo_subplatforms(built: Session, settings: Settings) -> None:
    db = built
    fill_policies(db, settings)
    _product(db, "税e贷", "listed")
    _product(db, "外贸 e 贷", "pending_review")  # waits for review: not featured
    demo_subplatforms.fill_subplatforms(db)
    demo_subplatforms.fill_subplatforms(db)  # once only
    huancui, waimao = sub.by_slug(db, "huancui"), sub.by_slug(db, "waimao")
    assert (huancui.kind, huancui.region_code, huancui.owner_id) == (
        "district",
        HUANCUI,
        org(db, "威海市财政局").id,
    )
    assert (waimao.scope_expression, waimao.owner_id) == ("exports_12m > 0", ndrc(db))
    assert [p.title for p in sub.featured_policies(db, waimao)] == ["外贸企业出口信用保险保费补贴"]
    assert [p.name for p in sub.featured_products(db, waimao)] == ["税e贷"]
    assert [p.title for p in sub.featured_policies(db, huancui)] == [
        "2026年小微企业稳岗扩岗补贴",
        "专精特新企业研发费用补助",
    ]
    assert db.scalar(select(func.count()).select_from(Subplatform)) == 2
