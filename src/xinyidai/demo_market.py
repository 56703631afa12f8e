"""The demo city's marketplace: banks' products, enterprises' needs, offers, consents, applications and
loans in every state, made through the marketplace's own services (so the demo shows what they do).

Built once, after the city is rated (instant products decide on the enterprises' grades and indicators).
Acts of the demo bank are attributed to its demo users; acts of organisations without demo users (the
other bank, the other enterprises) to a principal named ``demo``.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import XydError
from xinyidai.core.settings import Settings
from xinyidai.data.lake import Lake
from xinyidai.market import service as market
from xinyidai.market.models import Application, Need, Product
from xinyidai.market.schemas import (
    ApplicationInput,
    ApprovalInput,
    ConsentInput,
    DisbursementInput,
    LoanReportInput,
    NeedInput,
    OfferInput,
    ProductInput,
    RejectionInput,
)

WEIHAI = "371000"
PRODUCTS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "bank",
        {
            "external_id": "WHCB-JINGE",
            "name": "鲸e贷（纯信用·秒批）",
            "product_type": "credit",
            "description": "面向信用等级 A、B 的小微企业，依据纳税与社保数据自动授信，随借随还。",
            "amount_min": "50000",
            "amount_max": "3000000",
            "term_min": 3,
            "term_max": 12,
            "rate_min": "3.45",
            "rate_max": "5.20",
            "repayment_methods": ["interest_first", "flexible"],
            "grades": ["A", "B"],
            "pure_credit": True,
            "online": True,
            "instant": True,
            "auto_disburse": True,
            "admission_rule": "grade in ('A', 'B') and not coalesce(on_dishonest_list, false) "
            "and coalesce(tax_arrears_latest, 0) = 0",
            "limit_formula": "least(coalesce(tax_paid_12m, 0) * 8 + coalesce(sales_12m, 0) * 0.1, 3000000)",
            "pricing": {"A": "3.45", "B": "4.35"},
        },
    ),
    (
        "bank",
        {
            "external_id": "WHCB-SHUIE",
            "name": "税e贷",
            "product_type": "credit",
            "description": "以近 12 个月实缴税额核定额度，纳税信用好的企业可获更高额度。",
            "amount_min": "100000",
            "amount_max": "2000000",
            "term_min": 6,
            "term_max": 24,
            "rate_min": "3.85",
            "rate_max": "6.00",
            "repayment_methods": ["interest_first", "equal_installment"],
            "grades": ["A", "B", "C"],
            "pure_credit": True,
            "online": True,
            "admission_rule": "coalesce(tax_paid_12m, 0) >= 20000",
            "limit_formula": "coalesce(tax_paid_12m, 0) * 10",
            "pricing": {"A": "3.85", "B": "4.60", "C": "5.80"},
        },
    ),
    (
        "bank",
        {
            "external_id": "WHCB-DIYA",
            "name": "厂房抵押贷",
            "product_type": "mortgage",
            "description": "以企业自有厂房、土地抵押，期限长、额度高。",
            "amount_min": "500000",
            "amount_max": "20000000",
            "term_min": 12,
            "term_max": 60,
            "rate_min": "3.65",
            "rate_max": "5.50",
            "repayment_methods": ["equal_principal", "equal_installment"],
            "collateral": "mortgage",
            "pricing": {"A": "3.65", "B": "4.10", "C": "4.90", "D": "5.50"},
        },
    ),
    (
        "ccb",
        {
            "external_id": "CCB-YUNSHUI",
            "name": "云税贷",
            "product_type": "credit",
            "description": "建设银行线上信用贷款，纳税数据授权即可申请。",
            "amount_min": "100000",
            "amount_max": "3000000",
            "term_min": 6,
            "term_max": 12,
            "rate_min": "3.55",
            "rate_max": "5.50",
            "repayment_methods": ["interest_first"],
            "pure_credit": True,
            "online": True,
            "pricing": {"A": "3.55", "B": "4.20", "C": "5.30"},
        },
    ),
    (
        "ccb",
        {
            "external_id": "CCB-ZHENGCAI",
            "name": "政采贷",
            "product_type": "policy",
            "description": "凭政府采购合同申请，财政局贴息。",
            "amount_min": "100000",
            "amount_max": "5000000",
            "term_min": 3,
            "term_max": 12,
            "rate_min": "3.45",
            "rate_max": "4.80",
            "repayment_methods": ["bullet", "interest_first"],
            "pure_credit": True,
        },
    ),
    (
        "bank_branch",
        {
            "external_id": "HC-DANBAO",
            "name": "信保基金担保贷",
            "product_type": "guarantee",
            "description": "由市融资担保集团担保、信保基金分担风险的小额贷款。",
            "amount_min": "100000",
            "amount_max": "5000000",
            "term_min": 6,
            "term_max": 36,
            "rate_min": "3.90",
            "rate_max": "5.60",
            "repayment_methods": ["equal_installment"],
            "collateral": "guarantor",
            "grades": ["A", "B", "C"],
        },
    ),
)
UNLISTED = (
    (
        "ccb",
        "draft",
        {
            "external_id": "CCB-KEJI",
            "name": "科技成长贷（草稿）",
            "product_type": "credit",
            "amount_min": "300000",
            "amount_max": "10000000",
            "term_min": 12,
            "term_max": 36,
            "rate_min": "3.30",
            "rate_max": "4.50",
            "repayment_methods": ["interest_first"],
            "pure_credit": True,
        },
    ),
    (
        "bank",
        "pending_review",
        {
            "external_id": "WHCB-WAIMAO",
            "name": "外贸 e 贷",
            "product_type": "credit",
            "amount_min": "100000",
            "amount_max": "3000000",
            "term_min": 3,
            "term_max": 12,
            "rate_min": "3.60",
            "rate_max": "5.00",
            "repayment_methods": ["bullet"],
            "pure_credit": True,
            "online": True,
        },
    ),
    (
        "bank",
        "delisted",
        {
            "external_id": "WHCB-OLD",
            "name": "小微快贷（已下架）",
            "product_type": "credit",
            "amount_min": "50000",
            "amount_max": "500000",
            "term_min": 3,
            "term_max": 12,
            "rate_min": "4.35",
            "rate_max": "6.50",
            "repayment_methods": ["interest_first"],
            "pure_credit": True,
        },
    ),
)


def is_filled(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Product)))


def fill_market(session: Session, lake: Lake, settings: Settings) -> None:
    """Products, needs, offers, consents, applications and loans in every state (once)."""
    if is_filled(session):
        return
    people = _people(session)
    orgs = _institutions(session)
    operator = people["op_admin"]
    acting = {
        "bank": people["bank_admin"],
        "ccb": _stand_in(orgs["ccb"], OrgKind.INSTITUTION),
        "bank_branch": _stand_in(orgs["bank_branch"], OrgKind.INSTITUTION),
    }
    products: dict[str, Product] = {}
    for key, fields in PRODUCTS:
        product = market.upsert_product(session, acting[key], ProductInput.model_validate(fields)).product
        market.submit_product(session, acting[key], product.id)
        market.review_product(session, operator, product.id, approve=True)
        products[product.external_id] = product
    for key, status, fields in UNLISTED:
        product = market.upsert_product(session, acting[key], ProductInput.model_validate(fields)).product
        if status != "draft":
            market.submit_product(session, acting[key], product.id)
        if status == "delisted":
            market.review_product(session, operator, product.id, approve=True)
            market.delist_product(session, acting[key], product.id)
    session.flush()
    firms = _enterprises(session, people["ent_admin"])
    _needs_and_offers(session, lake, settings, people, acting, products, firms)
    _applications_and_loans(session, lake, settings, people, acting, products, firms)
    market.remind_overdue(session)
    _whitelist_and_dispatch(session, lake, people)
    session.flush()


def _whitelist_and_dispatch(session: Session, lake: Lake, people: dict[str, Principal]) -> None:
    """The development and reform commission's whitelist, dispatched with the open needs."""
    rows = session.execute(
        select(EnterpriseProfile.uscc, Organisation.name)
        .join(Organisation, Organisation.id == EnterpriseProfile.organisation_id)
        .order_by(Organisation.id)
        .limit(8)
    ).all()
    lines = ["统一社会信用代码,企业名称,项目,推荐理由"]
    lines += [f"{uscc},{name},2026年专精特新企业融资支持,纳入市级专精特新培育库" for uscc, name in rows]
    whitelist = market.upload_whitelist(
        session, people["gov_admin"], filename="专精特新白名单.csv", data="\n".join(lines).encode("utf-8")
    )
    market.dispatch(session, lake, people["gov_admin"], include_needs=True, whitelist_id=whitelist.id)


def _people(session: Session) -> dict[str, Principal]:
    users = session.scalars(select(User)).all()
    return {u.username: accounts.principal_for(u) for u in users}


def _institutions(session: Session) -> dict[str, Organisation]:
    names = {"bank": "威海市商业银行", "ccb": "中国建设银行威海分行", "bank_branch": "威海市商业银行环翠支行"}
    found = {
        o.name: o for o in session.scalars(select(Organisation).where(Organisation.kind == "institution"))
    }
    return {key: found[name] for key, name in names.items()}


def _stand_in(org: Organisation, kind: OrgKind) -> Principal:
    roles = {OrgKind.INSTITUTION: {Role.INSTITUTION_ADMIN}, OrgKind.ENTERPRISE: {Role.ENTERPRISE_ADMIN}}[kind]
    return Principal(None, org.id, kind, frozenset(roles), "demo", org.region_code)


def _enterprises(session: Session, own: Principal) -> list[Principal]:
    """The demo enterprise first, then the other registered enterprises (acting through stand-ins)."""
    others = session.scalars(
        select(Organisation)
        .join(EnterpriseProfile, EnterpriseProfile.organisation_id == Organisation.id)
        .where(Organisation.id != own.organisation_id)
        .order_by(Organisation.id)
    ).all()
    return [own, *(_stand_in(o, OrgKind.ENTERPRISE) for o in others)]


def _offer(
    session: Session, who: Principal, need: Need, product: Product, rate: str, **extra: object
) -> bool:
    """Grab the need and offer on it, if it fits the institution's products (it may not: grade, amount)."""
    if not _fits(session, who, need):
        return False
    order = market.grab(session, who, need.id)
    amount = min(Decimal(need.amount), Decimal(product.amount_max))
    term = max(product.term_min, min(need.term_months, product.term_max))
    market.make_offer(
        session,
        who,
        order.id,
        OfferInput.model_validate(
            {
                "product_id": product.id,
                "amount": str(amount),
                "rate": rate,
                "term_months": term,
                "repayment_method": product.repayment_methods[0],
                **extra,
            }
        ),
    )
    return True


def _needs_and_offers(
    session: Session,
    lake: Lake,
    settings: Settings,
    people: dict[str, Principal],
    acting: dict[str, Principal],
    products: dict[str, Product],
    firms: list[Principal],
) -> None:
    ent = firms[0]
    bank, ccb = people["bank_manager"], acting["ccb"]
    # The demo enterprise's open need with two offers to compare side by side.
    need = market.publish_need(
        session,
        lake,
        ent,
        NeedInput(
            amount=Decimal("800000"), term_months=12, purpose="working_capital", description="采购原材料"
        ),
        settings,
    )
    _offer(session, bank, need, products["WHCB-SHUIE"], "4.35", note="三个工作日内放款")
    _offer(session, ccb, need, products["CCB-YUNSHUI"], "3.95", fees="800.00", note="线上签约")
    # Needs of other enterprises: open, full, matched, withdrawn, expired.
    kinds = ["open", "open", "full", "matched", "withdrawn", "expired", "open", "open"]
    for n, (firm, kind) in enumerate(zip(firms[1:], kinds, strict=False)):
        amount = Decimal(200000 + 150000 * n)
        need = market.publish_need(
            session,
            lake,
            firm,
            NeedInput(
                amount=amount, term_months=12, purpose=("equipment", "working_capital", "trade")[n % 3]
            ),
            settings,
        )
        if kind in ("full", "matched"):
            _offer(session, bank, need, products["WHCB-SHUIE"], "4.60")
            _offer(session, ccb, need, products["CCB-YUNSHUI"], "4.20")
            if kind == "full" and _fits(session, acting["bank_branch"], need):
                market.grab(session, acting["bank_branch"], need.id)
            offers = [o for o in market.offers_on(session, firm, need.id) if o.status == "offered"]
            if kind == "matched" and offers:
                market.accept_offer(session, firm, offers[0].id)
        elif kind == "withdrawn":
            market.withdraw_need(session, firm, need.id)
        elif kind == "expired":
            need.expires_on = today_local() - timedelta(days=1)
            session.flush()
            market.expire_needs(session)


def _fits(session: Session, who: Principal, need: Need) -> bool:
    return need.id in {n.id for n in market.need_pool(session, who, limit=500).needs}


def _applications_and_loans(
    session: Session,
    lake: Lake,
    settings: Settings,
    people: dict[str, Principal],
    acting: dict[str, Principal],
    products: dict[str, Product],
    firms: list[Principal],
) -> None:
    manager, risk = people["bank_manager"], people["bank_risk"]
    ent = firms[0]
    shuie, diya = products["WHCB-SHUIE"], products["WHCB-DIYA"]

    def applied(firm: Principal, product: Product, amount: str, term: int) -> Application:
        return market.apply(
            session,
            lake,
            firm,
            ApplicationInput(
                product_id=product.id, amount=Decimal(amount), term_months=term, purpose="流动资金周转"
            ),
            settings,
        ).application

    # The demo enterprise: an instant application (approved and disbursed, or refused with reasons),
    # one in review, and a consent about to expire.
    with contextlib.suppress(XydError):  # the enterprise's grade or data may not allow it: then it is refused
        applied(ent, products["WHCB-JINGE"], "300000", 12)
    accepted = applied(ent, diya, "1500000", 36)
    market.accept(session, manager, accepted.id)
    market.give_consent(
        session,
        ent,
        ConsentInput(
            institution_id=acting["ccb"].organisation_id,
            purpose="loan_review",
            expires_on=today_local() + timedelta(days=7),
        ),
    )
    revoked = market.give_consent(
        session,
        ent,
        ConsentInput(
            institution_id=acting["bank_branch"].organisation_id,
            expires_on=today_local() + timedelta(days=60),
        ),
    )
    market.revoke_consent(session, ent, revoked.id)
    # Other enterprises: one application per state, and loans current, overdue, defaulted and repaid.
    states = [
        "submitted",
        "submitted_late",
        "accepted",
        "approved",
        "rejected",
        "withdrawn",
        "current",
        "overdue",
        "defaulted",
        "repaid",
    ]
    for n, (firm, state) in enumerate(zip(firms[1:] * 2, states, strict=False)):
        app = applied(firm, shuie, str(200000 + 50000 * n), 12)
        if state == "submitted_late":  # waited past its deadline: the bank gets a reminder
            app.due_at = utcnow() - timedelta(days=1)
            continue
        if state == "submitted":
            continue
        if state == "withdrawn":
            market.withdraw(session, firm, app.id)
            continue
        if state == "rejected":
            market.reject(
                session, risk, app.id, RejectionInput(reason="近 12 个月纳税额不足，暂不符合准入条件")
            )
            continue
        market.accept(session, manager, app.id)
        if state == "accepted":
            continue
        market.approve(
            session, risk, app.id, ApprovalInput(amount=app.amount, rate=Decimal("4.60"), term_months=12)
        )
        if state == "approved":
            continue
        started = today_local() - timedelta(days=95)
        loan = market.disburse(session, manager, app.id, DisbursementInput(disbursed_on=started))
        for month in (1, 2, 3):
            if state == "repaid" and month == 3:
                break
            market.report_loan(
                session,
                manager,
                loan.id,
                LoanReportInput(
                    kind="repayment",
                    amount=(Decimal(loan.amount) / 12).quantize(Decimal("0.01")),
                    occurred_on=started + timedelta(days=30 * month),
                ),
            )
        if state == "repaid":
            market.report_loan(
                session,
                manager,
                loan.id,
                LoanReportInput(kind="repayment", amount=loan.outstanding, occurred_on=today_local()),
            )
        if state in ("overdue", "defaulted"):
            market.report_loan(
                session,
                manager,
                loan.id,
                LoanReportInput(
                    kind="overdue", days_overdue=35, occurred_on=today_local() - timedelta(days=3)
                ),
            )
        if state == "defaulted":
            market.report_loan(
                session,
                manager,
                loan.id,
                LoanReportInput(kind="default", occurred_on=today_local(), note="逾期超过 90 天，已转入不良"),
            )
