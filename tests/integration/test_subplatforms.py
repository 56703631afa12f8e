"""Sub-platforms (issue #9): the operator's validation (in Chinese, nothing half-written), featured items,
enable/disable, and statistics that count only the enterprises in the sub-platform's scope."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai import demo, demo_subplatforms
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.consoles import statistics as stats
from xinyidai.consoles import subplatforms as sub
from xinyidai.consoles.statistics_refresh import refresh
from xinyidai.consoles.subplatform_models import Subplatform, SubplatformFeature
from xinyidai.core import codes, i18n
from xinyidai.core.access import Principal
from xinyidai.core.audit import AuditRecord
from xinyidai.core.errors import NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.expressions import ExpressionError
from xinyidai.core.settings import Settings
from xinyidai.data.models import RegistryEnterprise
from xinyidai.demo_policies import fill_policies
from xinyidai.indicators.compute import SNAPSHOT_DIR
from xinyidai.market.models import Application, ApplicationEvent, Loan, Need, Order, Product
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
#
# The figures are the console's pre-aggregated cells: each test builds a small market of firms that are
# platform enterprises of their own (their events carry their district and industry), refreshes the set
# and reads the sub-platform's view of it.


def _firm(db: Session, uscc: str, region: str, division: str) -> Organisation:
    """A registered enterprise that is also on the platform (an organisation with its profile)."""
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
    firm = Organisation(kind="enterprise", name=f"测试企业{uscc[-4:]}", region_code=region)
    db.add(firm)
    db.flush()
    db.add(
        EnterpriseProfile(
            organisation_id=firm.id,
            uscc=uscc,
            industry_section=codes.DIVISIONS[division].section,
            industry_division=division,
            size_class="small",
            legal_representative="张三",
            registry_status="存续",
        )
    )
    db.flush()
    return firm


def _market_of(db: Session, firm: Organisation, amount: int, product: Product) -> None:
    """A need with a grab and an offer, an application approved and lent."""
    uscc = firm.enterprise.uscc if firm.enterprise else ""
    bank = org(db, "威海市商业银行")
    need = Need(
        enterprise_id=firm.id,
        uscc=uscc,
        enterprise_name=firm.name,
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
        need_id=need.id,
        enterprise_id=firm.id,
        uscc=uscc,
        enterprise_name=firm.name,
        institution_id=bank.id,
        product_id=product.id,
        amount=Decimal(amount),
        term_months=12,
        status="disbursed",
        approved_amount=Decimal(amount),
    )
    db.add(application)
    db.flush()
    db.add(
        ApplicationEvent(
            application_id=application.id, from_status="accepted", to_status="approved", actor_username="r"
        )
    )
    db.add(
        Loan(
            application_id=application.id,
            institution_id=bank.id,
            enterprise_id=firm.id,
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


A, B, C = "91371002SUBPLAT01A", "91371002SUBPLAT02B", "91371082SUBPLAT03C"


@pytest.fixture
def market(built: Session) -> Session:
    """Three firms: two in 环翠区 (one exporting), one in 荣成市 (exporting), each with a loan."""
    db = built
    pure = _product(db, "纯信用贷", "listed", pure=True)
    guaranteed = _product(db, "担保贷", "listed", product_type="guarantee")
    _market_of(db, _firm(db, A, HUANCUI, "17"), 100_000, pure)
    _market_of(db, _firm(db, B, HUANCUI, "52"), 300_000, guaranteed)
    _market_of(db, _firm(db, C, RONGCHENG, "17"), 5_000_000, pure)
    return db


def _snapshot(lake: Path, exports: dict[str, float]) -> None:
    """An indicator snapshot of 2026-11-30 with ``exports_12m`` (what an expression scope is evaluated on)."""
    folder = lake / SNAPSHOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"uscc": list(exports), "exports_12m": list(exports.values())})
    pq.write_table(table, folder / "as_of=2026-11-30.parquet")


def _seen(
    db: Session, principal: Principal, sp: Subplatform, lake: Path, **params: str
) -> tuple[sub.ScopedView, stats.Figures | None]:
    """The sub-platform's view of the newest set for 2026 (and ``params``), and its totals if shown."""
    store = stats.open_store(db, lake)
    assert store is not None
    filters = stats.parse_filters({"from": "2026-01", "to": "2026-12", **params})
    seen = sub.scoped_view(db, principal, sp, store, filters)
    return seen, stats.totals(store, seen.filters) if seen.filters is not None else None


def _registry_in(db: Session, prefix: str) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(RegistryEnterprise)
            .where(RegistryEnterprise.region_code.startswith(prefix))
        )
        or 0
    )


def test_district_statistics_count_only_the_district(market: Session, tmp_path: Path) -> None:
    db, lake = market, tmp_path / "lake"
    sp = sub.create_subplatform(db, who(db, "op_admin"), data(db))
    refresh(db, lake)
    seen, figures = _seen(db, who(db, "gov_staff"), sp, lake)
    assert figures is not None and not seen.pending
    assert seen.enterprises == _registry_in(db, HUANCUI)
    assert (figures["needs"], figures["grabs"], figures["offers"]) == (2, 2, 2)
    assert figures["needs_amount"] == Decimal("400000.00")
    assert (figures["applications"], figures["approvals"], figures["loans"]) == (2, 2, 2)
    assert figures["disbursed_amount"] == Decimal("400000.00")  # 荣成's 5,000,000 is not in it
    assert figures["pure_credit_amount"] == Decimal("100000.00")
    assert figures.pure_credit_share == Decimal("0.5000")  # one of the two loans
    # asking for a region outside the scope finds nothing rather than the other district's figures
    _, elsewhere = _seen(db, who(db, "gov_staff"), sp, lake, region=RONGCHENG)
    assert elsewhere is not None and elsewhere["loans"] == 0 and elsewhere["needs"] == 0
    # the government console itself still sees the whole city
    city = stats.totals(stats.open_store(db, lake), stats.parse_filters({"from": "2026-01", "to": "2026-12"}))  # type: ignore[arg-type]
    assert city["disbursed_amount"] == Decimal("5400000.00")


def test_industry_and_product_type_narrow_the_scope(market: Session, tmp_path: Path) -> None:
    db, lake = market, tmp_path / "lake"
    op = who(db, "op_admin")
    textile = dict(slug="fangzhi", kind="theme", region_code="", industry_divisions=["17"])
    sp = sub.create_subplatform(db, op, data(db, **textile, product_types=["credit"]))
    refresh(db, lake)
    seen, figures = _seen(db, op, sp, lake)
    # both textile firms (环翠 and 荣成) and not the retail one (52); loans on credit products only
    textile_firms = db.scalar(
        select(func.count())
        .select_from(RegistryEnterprise)
        .where(RegistryEnterprise.industry_division == "17")
    )
    assert figures is not None and seen.enterprises == textile_firms
    assert figures["needs"] == 2
    assert figures["disbursed_amount"] == Decimal("5100000.00")
    assert figures.pure_credit_share == Decimal("1.0000")
    guarantee_only = sub.update_subplatform(db, op, sp.id, data(db, **textile, product_types=["guarantee"]))
    seen, figures = _seen(db, op, guarantee_only, lake)
    # product types are read at view time: no refresh needed; needs, and these grabs whose offers named
    # no product, stay (they are on no product)
    assert figures is not None and not seen.pending
    assert (figures["needs"], figures["grabs"], figures["applications"], figures["loans"]) == (2, 2, 0, 0)


def test_an_expression_scope_counts_only_the_firms_that_satisfy_it(market: Session, tmp_path: Path) -> None:
    db, lake = market, tmp_path / "lake"
    op = who(db, "op_admin")
    waimao = dict(slug="waimao", kind="theme", region_code="", scope_expression="exports_12m > 0")
    sp = sub.create_subplatform(db, op, data(db, **waimao))
    refresh(db, lake)  # no indicator snapshot yet: the rule cannot be evaluated, nothing is counted
    seen, figures = _seen(db, op, sp, lake)
    assert seen.pending and seen.filters is None and figures is None
    _snapshot(lake, {A: 120000.0, B: 0.0, C: 800000.0, "91999999NOTINREG9X": 5.0})
    refresh(db, lake)
    seen, figures = _seen(db, op, sp, lake)
    assert figures is not None and not seen.pending
    assert seen.enterprises == 2  # the exporters in the registry (the unregistered code is not counted)
    assert seen.indicators_as_of == date(2026, 11, 30)
    assert figures["loans"] == 2 and figures["disbursed_amount"] == Decimal("5100000.00")
    assert figures.median_days is not None  # the lead-time histogram is scoped too
    # the district and the expression together: only the 环翠 exporter (the region is a filter: no refresh)
    both = sub.update_subplatform(db, op, sp.id, data(db, slug="waimao", scope_expression="exports_12m > 0"))
    seen, figures = _seen(db, op, both, lake)
    assert figures is not None and (figures["loans"], figures["disbursed_amount"]) == (
        1,
        Decimal("100000.00"),
    )
    assert seen.pending and seen.enterprises is None  # the firm count waits for the next refresh
    refresh(db, lake)
    seen, _ = _seen(db, op, both, lake)
    assert (seen.pending, seen.enterprises) == (False, 1)
    # a changed rule is not shown with the old rule's members
    changed = sub.update_subplatform(
        db, op, sp.id, data(db, slug="waimao", scope_expression="exports_12m > 500000")
    )
    seen, figures = _seen(db, op, changed, lake)
    assert seen.pending and figures is None


def test_a_subplatforms_staff_see_only_their_own_subplatform(market: Session, tmp_path: Path) -> None:
    db, lake = market, tmp_path / "lake"
    op = who(db, "op_admin")
    finance = org(db, "威海市财政局")
    own = sub.create_subplatform(db, op, data(db))  # run by the development and reform commission
    other = sub.create_subplatform(
        db, op, data(db, slug="rongcheng", region_code=RONGCHENG, owner_id=finance.id)
    )
    refresh(db, lake)
    staff = who(db, "gov_staff")
    assert [s.slug for s in sub.list_subplatforms(db, staff)] == ["huancui"]
    assert {s.slug for s in sub.list_subplatforms(db, op)} == {"huancui", "rongcheng"}
    with pytest.raises(NotFound):
        _seen(db, staff, other, lake)
    with pytest.raises(NotFound):
        sub.for_staff(db, staff, "rongcheng")
    assert sub.for_staff(db, staff, "huancui") is own
    # the finance bureau's fund manager sees 荣成 and not 环翠
    fund = who(db, "fund_manager")
    _, figures = _seen(db, fund, other, lake)
    assert figures is not None and figures["disbursed_amount"] == Decimal("5000000.00")
    with pytest.raises(NotFound):
        _seen(db, fund, own, lake)
    for username in ("bank_admin", "ent_admin", "op_data"):
        with pytest.raises(PermissionDenied):
            _seen(db, who(db, username), own, lake)


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
    chengzhang = sub.by_slug(db, "chengzhang")
    assert (chengzhang.scope_expression, chengzhang.owner_id) == ("sales_growth_12m > 0", ndrc(db))
    assert db.scalar(select(func.count()).select_from(Subplatform)) == 3
