"""The demo city's policy and fund supermarkets, made through the policy capability's own services.

Three policies of the development and reform commission (one every enterprise without a dishonesty record
qualifies for — the demo enterprise among them —, one for innovative, well-rated firms, one opening
later); applications in every state: awaiting review, rejected, paid after its publicity, and one in
publicity with an objection waiting for the department's answer; a government investment fund with an
application under review and one invested in. Back-dated steps pass their day to the services.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local
from xinyidai.core.settings import Settings
from xinyidai.data import service as data_service
from xinyidai.policies import service as policies
from xinyidai.policies.models import Policy
from xinyidai.policies.schemas import (
    DisbursementInput,
    FundApplicationInput,
    FundInput,
    InvestmentInput,
    PolicyDecision,
    PolicyInput,
)

# A minimal well-formed PDF: the demo's uploaded materials.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/MediaBox[0 0 595 842]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def is_filled(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Policy)))


def fill_policies(session: Session, settings: Settings) -> None:
    """Policies, applications in every state, publicity with an objection, a fund with applications (once)."""
    if is_filled(session):
        return
    lake = data_service.open_lake(settings)
    people = {u.username: accounts.principal_for(u) for u in session.scalars(select(User)).all()}
    gov, today = people["gov_admin"], today_local()
    firms = _enterprises(session, people["ent_admin"])

    def policy(fields: dict[str, object], publish: bool = True) -> Policy:
        saved = policies.save_policy(session, gov, PolicyInput.model_validate(fields))
        if publish:
            policies.move_policy(session, gov, saved.id, "publish")
        return saved

    jobs = policy(
        {
            "issuer": "威海市发展和改革委员会、威海市人力资源和社会保障局",
            "title": "2026年小微企业稳岗扩岗补贴",
            "summary": "对上年度未裁员或裁员率低于城镇调查失业率控制目标的小微企业，"
            "按参保职工人数给予一次性稳岗补贴。",
            "benefit": "按参保职工每人1000元，最高20万元",
            "benefit_max": "200000",
            "materials": ["稳岗补贴申请表", "营业执照"],
            "opens_on": (today - timedelta(days=90)).isoformat(),
            "closes_on": (today + timedelta(days=60)).isoformat(),
            "eligibility": "not coalesce(on_dishonest_list, false) and coalesce(tax_arrears_latest, 0) = 0",
        }
    )
    innovation = policy(
        {
            "issuer": "威海市发展和改革委员会",
            "title": "专精特新企业研发费用补助",
            "summary": "支持信用良好、拥有发明专利的中小企业加大研发投入，按上年度研发费用的10%给予补助。",
            "benefit": "研发费用的10%，最高50万元",
            "benefit_max": "500000",
            "materials": ["研发费用专项审计报告", "发明专利证书"],
            "opens_on": (today - timedelta(days=30)).isoformat(),
            "closes_on": (today + timedelta(days=90)).isoformat(),
            "eligibility": "grade in ('A', 'B') and invention_patents >= 1 and insured_latest >= 20",
        }
    )
    policy(
        {
            "issuer": "威海市发展和改革委员会、威海市商务局",
            "title": "外贸企业出口信用保险保费补贴",
            "summary": "对投保短期出口信用保险的外贸企业，按实缴保费的50%给予补贴。",
            "benefit": "实缴保费的50%，最高30万元",
            "benefit_max": "300000",
            "materials": ["出口信用保险保单及缴费凭证"],
            "opens_on": (today + timedelta(days=10)).isoformat(),
            "closes_on": (today + timedelta(days=120)).isoformat(),
            "eligibility": "exports_12m > 0",
        }
    )

    def apply(firm: Principal, target: Policy, amount: str, day_offset: int) -> int:
        uploads = [policies.MaterialUpload(m, f"{m}.pdf", DEMO_PDF) for m in target.materials]
        app = policies.apply(
            session,
            lake,
            firm,
            target.id,
            uploads,
            settings.home,
            amount_requested=Decimal(amount),
            statement="申请单位承诺所提交材料真实有效。",
            today=today - timedelta(days=day_offset),
        )
        return app.id

    # the demo enterprise: awaiting review
    apply(firms[0], jobs, "36000", 2)
    others = firms[1:]
    if len(others) >= 3:
        # paid after a publicity without objections
        paid = apply(others[0], jobs, "58000", 45)
        approved_on = today - timedelta(days=40)
        app = policies.decide(
            session,
            gov,
            paid,
            PolicyDecision(approve=True, amount=Decimal("58000"), reason="材料齐全，符合条件"),
            today=approved_on,
        )
        assert app.publicity_ends_on is not None
        policies.disburse(
            session,
            gov,
            paid,
            DisbursementInput(
                amount=Decimal("58000"), disbursed_on=app.publicity_ends_on + timedelta(days=1)
            ),
        )
        # in publicity, with an objection waiting for an answer
        public = apply(others[1], jobs, "120000", 3)
        policies.decide(
            session,
            gov,
            public,
            PolicyDecision(approve=True, amount=Decimal("100000"), reason="核减部分人数"),
        )
        policies.lodge_objection(
            session,
            people["bank_manager"],
            public,
            "该企业近三个月参保人数明显下降，疑似存在裁员情况，请核实。",
        )
        # rejected: does not meet the innovation policy's rule
        refused = apply(others[2], innovation, "300000", 5)
        policies.decide(
            session,
            gov,
            refused,
            PolicyDecision(approve=False, reason="未取得有效发明专利，不符合申报条件"),
        )
    _funds(session, people, firms)
    session.flush()


def _funds(session: Session, people: dict[str, Principal], firms: list[Principal]) -> None:
    manager = people["fund_manager"]
    fund = policies.create_fund(
        session,
        manager,
        FundInput(
            name="威海市新旧动能转换引导基金",
            manager_name="威海产业投资基金管理有限公司",
            focus="高端装备、海洋生物医药、新一代信息技术；成长期、成熟期企业",
            size=Decimal("2000000000"),
            description="政府出资引导、市场化运作，单个项目投资一般为500万元至5000万元。",
        ),
    )
    policies.apply_to_fund(
        session,
        firms[0],
        fund.id,
        FundApplicationInput(
            amount_sought=Decimal("8000000"),
            plan="拟投资建设智能化生产线，两年内产能提升50%，新增就业岗位60个。",
        ),
    )
    if len(firms) > 1:
        app = policies.apply_to_fund(
            session,
            firms[1],
            fund.id,
            FundApplicationInput(
                amount_sought=Decimal("15000000"), plan="海洋生物医药中试基地建设，已取得三项发明专利。"
            ),
        )
        policies.decide_fund_application(
            session, manager, app.id, approve=True, reason="尽调通过，投委会同意"
        )
        policies.record_investment(
            session,
            manager,
            app.id,
            InvestmentInput(
                amount=Decimal("12000000"),
                invested_on=today_local() - timedelta(days=20),
                stake=Decimal("8.5"),
            ),
        )


def _enterprises(session: Session, own: Principal) -> list[Principal]:
    """The demo enterprise first, then the other registered enterprises (acting through stand-ins)."""
    others = session.scalars(
        select(Organisation)
        .join(EnterpriseProfile, EnterpriseProfile.organisation_id == Organisation.id)
        .where(Organisation.id != own.organisation_id)
        .order_by(Organisation.id)
    ).all()
    stand_ins = [
        Principal(None, o.id, OrgKind.ENTERPRISE, frozenset({Role.ENTERPRISE_ADMIN}), "demo", o.region_code)
        for o in others
    ]
    return [own, *stand_ins]
