"""The demo city's sub-platforms: the 环翠区 district sub-platform (run by the finance bureau), a
foreign-trade sub-platform and a growing-firms sub-platform (both scoped by a rule over the indicators and
run by the development and reform commission, the demo department), each with featured products and
policies from the demo marketplace and policy supermarket. None of the demo's registered firms exports,
so the foreign-trade console counts the registry's exporters and shows no market activity; the
growing-firms one (sales up on the year) holds some of the demo's borrowers.

Made through the sub-platform service as the demo operator; built once, after the market and policies.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.consoles import subplatforms
from xinyidai.consoles.subplatform_models import Subplatform
from xinyidai.market.models import Product
from xinyidai.policies.models import Policy

SUBPLATFORMS: tuple[tuple[str, dict[str, object], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "威海市财政局",
        {
            "slug": "huancui",
            "name": "环翠区信易贷子平台",
            "kind": "district",
            "region_code": "371002",
            "colour": "#0f766e",
            "tagline": "环翠区中小微企业融资服务专区：纯信用、线上办、秒审批",
            "banner": "环翠区企业在本子平台申请贷款，可享区级风险补偿资金分担。",
        },
        ("鲸e贷（纯信用·秒批）", "税e贷", "云税贷"),
        ("2026年小微企业稳岗扩岗补贴", "专精特新企业研发费用补助"),
    ),
    (
        "威海市发展和改革委员会",
        {
            "slug": "waimao",
            "name": "外贸企业融资子平台",
            "kind": "theme",
            "scope_expression": "exports_12m > 0",
            "colour": "#b45309",
            "tagline": "出口信用保险保单融资、外贸订单融资，一站办理",
            "banner": "",
        },
        ("外贸 e 贷", "信保基金担保贷", "税e贷"),  # 外贸 e 贷 waits for review: skipped
        ("外贸企业出口信用保险保费补贴",),
    ),
    (
        "威海市发展和改革委员会",
        {
            "slug": "chengzhang",
            "name": "成长型小微企业子平台",
            "kind": "theme",
            "scope_expression": "sales_growth_12m > 0",
            "colour": "#1d4ed8",
            "tagline": "销售收入同比增长的小微企业：信用贷款优先对接",
            "banner": "",
        },
        ("鲸e贷（纯信用·秒批）", "税e贷"),
        ("专精特新企业研发费用补助",),
    ),
)


def is_filled(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Subplatform)))


def fill_subplatforms(session: Session) -> None:
    """Create the demo sub-platforms with their featured products and policies (once)."""
    if is_filled(session):
        return
    operator_user = session.scalars(select(User).where(User.username == "op_admin")).one()
    operator = accounts.principal_for(operator_user)
    for owner_name, fields, product_names, policy_titles in SUBPLATFORMS:
        owner = session.scalars(select(Organisation).where(Organisation.name == owner_name)).one()
        data = subplatforms.SubplatformInput(owner_id=owner.id, **fields)  # type: ignore[arg-type]
        sp = subplatforms.create_subplatform(session, operator, data)
        products = session.scalars(
            select(Product).where(Product.name.in_(product_names), Product.status == "listed")
        ).all()
        policies = session.scalars(
            select(Policy).where(Policy.title.in_(policy_titles), Policy.status == "published")
        ).all()
        by_name = {p.name: p.id for p in products}
        by_title = {p.title: p.id for p in policies}
        subplatforms.set_features(
            session,
            operator,
            sp.id,
            [by_name[n] for n in product_names if n in by_name],
            [by_title[t] for t in policy_titles if t in by_title],
        )
    session.flush()
