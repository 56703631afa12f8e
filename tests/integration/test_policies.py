"""The policy supermarket, publicity and objections, policy effects and the fund supermarket."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.database import get_engine, session_factory, session_scope
from xinyidai.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.expressions import ExpressionError
from xinyidai.core.migrations import upgrade
from xinyidai.core.notifications import Notification
from xinyidai.core.settings import Settings
from xinyidai.core.workdays import add_working_days
from xinyidai.data import service as data
from xinyidai.data.lake import Lake
from xinyidai.data.synth import generate_city
from xinyidai.demo_policies import DEMO_PDF, fill_policies
from xinyidai.policies import service as policies
from xinyidai.policies.models import (
    InvestmentApplication,
    Policy,
    PolicyApplication,
    PolicyEvent,
    PolicyMaterial,
    PolicyObjection,
)
from xinyidai.policies.schemas import (
    DisbursementInput,
    FundApplicationInput,
    FundInput,
    InvestmentInput,
    PolicyDecision,
    PolicyInput,
)

TODAY = today_local()


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


@pytest.fixture
def people(world: list[demo.DemoLogin], engine: Engine) -> dict[str, Principal]:
    with session_scope(engine) as db:
        return {u.username: accounts.principal_for(u) for u in db.scalars(select(User))}


def other_department(db: Session) -> Principal:
    """An admin of the finance bureau (another department than the demo's NDRC)."""
    org = db.scalars(select(Organisation).where(Organisation.name == "威海市财政局")).one()
    return Principal(None, org.id, OrgKind.DEPARTMENT, frozenset({Role.DEPARTMENT_ADMIN}), "finance")


def policy_input(**overrides: object) -> PolicyInput:
    fields: dict[str, object] = {
        "issuer": "威海市发展和改革委员会",
        "title": "稳岗补贴",
        "benefit": "最高20万元",
        "benefit_max": "200000",
        "materials": ["申请表", "营业执照"],
        "opens_on": (TODAY - timedelta(days=30)).isoformat(),
        "closes_on": (TODAY + timedelta(days=30)).isoformat(),
        "eligibility": "grade in ('A', 'B') and insured_latest >= 10",
    }
    fields.update(overrides)
    return PolicyInput.model_validate(fields)


def published(db: Session, gov: Principal, **overrides: object) -> Policy:
    policy = policies.save_policy(db, gov, policy_input(**overrides))
    policies.move_policy(db, gov, policy.id, "publish")
    return policy


def uploads(policy: Policy) -> list[policies.MaterialUpload]:
    return [policies.MaterialUpload(m, f"{m}.pdf", DEMO_PDF) for m in policy.materials]


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_apply_review_publicise_object_and_disburse(
    people: dict[str, Principal], engine: Engine, settings: Settings
) -> None:
    gov, ent = people["gov_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        policy = published(db, gov)
        app = policies.apply(
            db, None, ent, policy.id, uploads(policy), settings.home, amount_requested=Decimal("50000")
        )
        app_id = app.id
        # the automatic check ran at once and is recorded: no data about the enterprise → not eligible
        assert app.status == "checked" and app.check_eligible is False
        assert any("grade" in r["params"].get("clause", "") for r in app.check_reasons)
        stored = db.scalars(select(PolicyMaterial).where(PolicyMaterial.application_id == app_id)).all()
        assert [m.material for m in stored] == ["申请表", "营业执照"]
        assert all((settings.home / m.stored_path).read_bytes() == DEMO_PDF for m in stored)

    with session_scope(engine) as db, pytest.raises(ValidationFailed) as refused:
        # overriding a failed check needs a reason
        policies.decide(db, gov, app_id, PolicyDecision(approve=True, amount=Decimal("50000")))
    assert refused.value.field == "reason"

    with session_scope(engine) as db:
        app = policies.decide(
            db, gov, app_id, PolicyDecision(approve=True, amount=Decimal("50000"), reason="人工核实符合条件")
        )
        assert app.status == "publicity"
        assert app.publicity_ends_on == add_working_days(TODAY, 5)
        objection = policies.lodge_objection(db, people["bank_manager"], app_id, "该企业参保人数存在虚报。")
        objection_id = objection.id

    with session_scope(engine) as db, pytest.raises(Conflict):
        # still in publicity
        policies.disburse(db, gov, app_id, DisbursementInput(amount=Decimal("50000"), disbursed_on=TODAY))

    after = add_working_days(TODAY, 6)
    with session_scope(engine) as db, pytest.raises(Conflict) as unanswered:
        policies.disburse(
            db, gov, app_id, DisbursementInput(amount=Decimal("50000"), disbursed_on=after), today=after
        )
    assert "objection" in unanswered.value.message

    with session_scope(engine) as db:
        policies.answer_objection(
            db, gov, objection_id, uphold=False, answer="经核查参保数据真实，异议不成立。"
        )
        with pytest.raises(ValidationFailed):  # more than approved
            policies.disburse(
                db, gov, app_id, DisbursementInput(amount=Decimal("60000"), disbursed_on=after), today=after
            )
    with session_scope(engine) as db:
        app = policies.disburse(
            db, gov, app_id, DisbursementInput(amount=Decimal("50000"), disbursed_on=after), today=after
        )
        assert app.status == "disbursed" and app.disbursed_on == after
        events = db.scalars(
            select(PolicyEvent).where(PolicyEvent.application_id == app_id).order_by(PolicyEvent.id)
        )
        moves = [(e.action, e.to_status, e.actor_username) for e in events]
        assert moves[0] == ("submit", "submitted", "ent_admin")
        assert moves[1] == ("check", "checked", "system")
        assert ("approve", "publicity", "gov_admin") in moves
        assert ("objection", "publicity", "bank_manager") in moves
        assert moves[-1] == ("disburse", "disbursed", "gov_admin")
        told = db.scalars(
            select(Notification.title).where(Notification.organisation_id == ent.organisation_id)
        ).all()
        assert "Your policy application was approved" in told and "Your policy funds were paid" in told
        answered = db.scalars(
            select(Notification).where(Notification.user_id == people["bank_manager"].user_id)
        )
        assert [n.title for n in answered] == ["Your objection was answered"]


def test_an_upheld_objection_revokes_the_approval(
    people: dict[str, Principal], engine: Engine, settings: Settings
) -> None:
    gov, ent = people["gov_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        policy = published(db, gov, eligibility="")
        app = policies.apply(db, None, ent, policy.id, uploads(policy), settings.home)
        assert app.check_eligible is True
        policies.decide(db, gov, app.id, PolicyDecision(approve=True))
        objection = policies.lodge_objection(db, people["ent_staff"], app.id, "申报人数与实际不符")
        policies.answer_objection(db, gov, objection.id, uphold=True, answer="异议成立，撤销拟补助决定")
        assert app.status == "revoked"
        with pytest.raises(IllegalTransition):
            policies.disburse(db, gov, app.id, DisbursementInput(amount=Decimal("1"), disbursed_on=TODAY))


def test_an_application_outside_the_window_is_refused(
    people: dict[str, Principal], engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as db:
        policy = published(
            db,
            people["gov_admin"],
            opens_on=(TODAY + timedelta(days=3)).isoformat(),
            closes_on=(TODAY + timedelta(days=30)).isoformat(),
        )
        policy_id = policy.id
        with pytest.raises(Conflict) as early:
            policies.apply(db, None, people["ent_admin"], policy_id, uploads(policy), settings.home)
        assert early.value.message == "Applications for this policy open on %(date)s"
        with pytest.raises(Conflict) as late:
            policies.apply(
                db,
                None,
                people["ent_admin"],
                policy_id,
                uploads(policy),
                settings.home,
                today=TODAY + timedelta(days=31),
            )
        assert late.value.message == "Applications for this policy closed on %(date)s"
    with session_scope(engine) as db:
        assert count(db, PolicyApplication) == 0


def test_a_missing_or_bad_material_is_refused_and_nothing_is_saved(
    people: dict[str, Principal], engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as db:
        policy = published(db, people["gov_admin"])
        policy_id = policy.id
        first_only = uploads(policy)[:1]
    with session_scope(engine) as db, pytest.raises(ValidationFailed) as missing:
        policies.apply(db, None, people["ent_admin"], policy_id, first_only, settings.home)
    assert missing.value.field == "material_1" and missing.value.params == {"material": "营业执照"}
    fake = [
        policies.MaterialUpload("申请表", "申请表.pdf", b"MZ\x90\x00 not a pdf"),
        policies.MaterialUpload("营业执照", "执照.pdf", DEMO_PDF),
    ]
    with session_scope(engine) as db, pytest.raises(ValidationFailed) as bad:
        policies.apply(db, None, people["ent_admin"], policy_id, fake, settings.home)
    assert bad.value.field == "material_0"
    exe = [
        policies.MaterialUpload("申请表", "a.exe", b"MZ"),
        policies.MaterialUpload("营业执照", "b.pdf", DEMO_PDF),
    ]
    with session_scope(engine) as db, pytest.raises(ValidationFailed, match="accepted type"):
        policies.apply(db, None, people["ent_admin"], policy_id, exe, settings.home)
    big = [
        policies.MaterialUpload("申请表", "a.pdf", DEMO_PDF + b"0" * policies.MAX_MATERIAL_BYTES),
        policies.MaterialUpload("营业执照", "b.pdf", DEMO_PDF),
    ]
    with session_scope(engine) as db, pytest.raises(ValidationFailed, match="larger"):
        policies.apply(db, None, people["ent_admin"], policy_id, big, settings.home)
    with session_scope(engine) as db:
        assert count(db, PolicyApplication) == 0 and count(db, PolicyMaterial) == 0


def test_an_invalid_eligibility_rule_is_refused_with_its_position(
    people: dict[str, Principal], engine: Engine
) -> None:
    with session_scope(engine) as db, pytest.raises(ExpressionError) as invalid:
        policies.save_policy(
            db, people["gov_admin"], policy_input(eligibility="grade in ('A') and insured_lates >= 10")
        )
    assert invalid.value.field == "eligibility"
    assert invalid.value.position == 20
    assert invalid.value.params.get("suggestion") == "insured_latest"
    with session_scope(engine) as db, pytest.raises(ValidationFailed) as window:
        policies.save_policy(
            db,
            people["gov_admin"],
            policy_input(opens_on=TODAY.isoformat(), closes_on=(TODAY - timedelta(days=1)).isoformat()),
        )
    assert window.value.field == "closes_on"
    with session_scope(engine) as db:
        assert count(db, Policy) == 0


def test_illegal_moves_are_refused_and_change_nothing(
    people: dict[str, Principal], engine: Engine, settings: Settings
) -> None:
    gov, ent = people["gov_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        policy = published(db, gov, eligibility="")
        app = policies.apply(db, None, ent, policy.id, uploads(policy), settings.home)
        policies.decide(db, gov, app.id, PolicyDecision(approve=False, reason="材料不全"))
        app_id, policy_id = app.id, policy.id
    with session_scope(engine) as db, pytest.raises(IllegalTransition) as illegal:
        policies.decide(db, gov, app_id, PolicyDecision(approve=True))
    assert illegal.value.params == {"action_label": "approve", "state_label": "Rejected"}
    with session_scope(engine) as db, pytest.raises(IllegalTransition):
        policies.withdraw(db, ent, app_id)
    with session_scope(engine) as db, pytest.raises(IllegalTransition):
        policies.move_policy(db, gov, policy_id, "publish")  # already published
    with session_scope(engine) as db, pytest.raises(NotFound):
        policies.lodge_objection(db, ent, app_id, "不在公示期的结果")
    with session_scope(engine) as db:
        assert policies.get_application(db, gov, app_id).status == "rejected"


def test_another_departments_application_is_not_found(
    people: dict[str, Principal], engine: Engine, settings: Settings
) -> None:
    gov, ent = people["gov_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        policy = published(db, gov, eligibility="")
        app_id = policies.apply(db, None, ent, policy.id, uploads(policy), settings.home).id
        policy_id = policy.id
    with session_scope(engine) as db:
        finance = other_department(db)
        for attempt in (
            lambda: policies.get_application(db, finance, app_id),
            lambda: policies.decide(db, finance, app_id, PolicyDecision(approve=False, reason="no")),
            lambda: policies.get_policy(db, finance, policy_id),
            lambda: policies.policy_effect(db, Lake(settings.home / "lake"), finance, policy_id),
        ):
            with pytest.raises(NotFound):
                attempt()
        assert policies.list_applications(db, finance) == []
        with pytest.raises(PermissionDenied):  # a fund manager does not review policies
            policies.decide(db, people["fund_manager"], app_id, PolicyDecision(approve=False, reason="no"))
        with pytest.raises(NotFound):  # another enterprise cannot see it either
            policies.get_application(
                db,
                Principal(None, 999_999, OrgKind.ENTERPRISE, frozenset({Role.ENTERPRISE_ADMIN}), "x"),
                app_id,
            )


def test_policies_for_ranks_the_closest_first(people: dict[str, Principal], engine: Engine) -> None:
    gov, ent = people["gov_admin"], people["ent_admin"]
    with session_scope(engine) as db:
        published(db, gov, title="人人可申报", eligibility="")
        published(
            db,
            gov,
            title="差一条",
            eligibility="size_class in ('micro', 'small', 'medium', 'large') and grade = 'A'",
        )
        published(db, gov, title="差两条", eligibility="grade = 'A' and insured_latest >= 1000")
        published(
            db,
            gov,
            title="已截止",
            eligibility="",
            closes_on=(TODAY - timedelta(days=1)).isoformat(),
            opens_on=(TODAY - timedelta(days=9)).isoformat(),
        )
        found = policies.policies_for(db, None, ent)
        assert [m.policy.title for m in found] == ["人人可申报", "差一条", "差两条"]
        assert found[0].eligible and found[0].reasons == []
        assert [r["params"] for r in found[1].reasons][-1] == {"clause": "grade = 'A'"}
        assert found[2].judged.no_data


def test_the_fund_supermarket(people: dict[str, Principal], engine: Engine) -> None:
    manager, ent = people["fund_manager"], people["ent_admin"]
    with session_scope(engine) as db:
        fund = policies.create_fund(
            db,
            manager,
            FundInput(
                name="引导基金", manager_name="基金管理公司", focus="高端装备", size=Decimal("10000000")
            ),
        )
        assert [f.id for f in policies.list_funds(db, ent)] == [fund.id]
        app = policies.apply_to_fund(
            db,
            ent,
            fund.id,
            FundApplicationInput(amount_sought=Decimal("6000000"), plan="建设智能化生产线项目"),
        )
        with pytest.raises(Conflict):
            policies.apply_to_fund(
                db,
                ent,
                fund.id,
                FundApplicationInput(amount_sought=Decimal("1000000"), plan="建设智能化生产线项目"),
            )
        view = policies.review_view(db, None, manager, app.id)
        assert view.grade is None and view.indicators[0][0].id == "sales_12m"
        with pytest.raises(IllegalTransition):  # not approved yet
            policies.record_investment(
                db,
                manager,
                app.id,
                InvestmentInput(amount=Decimal("1"), invested_on=TODAY, stake=Decimal("1")),
            )
        policies.decide_fund_application(db, manager, app.id, approve=True, reason="")
        policies.record_investment(
            db,
            manager,
            app.id,
            InvestmentInput(amount=Decimal("6000000"), invested_on=TODAY, stake=Decimal("12.5")),
        )
        with pytest.raises(ValidationFailed, match="left to invest"):
            policies.record_investment(
                db,
                manager,
                app.id,
                InvestmentInput(amount=Decimal("5000000"), invested_on=TODAY, stake=Decimal("5")),
            )
        uscc = db.scalars(
            select(EnterpriseProfile.uscc).where(EnterpriseProfile.organisation_id == ent.organisation_id)
        ).one()
        assert [(i.amount, i.stake) for i in policies.investments_of(db, uscc)] == [
            (Decimal("6000000.00"), Decimal("12.5000"))
        ]
        assert db.get(InvestmentApplication, app.id).status == "invested"  # type: ignore[union-attr]
        another_manager = Principal(
            None, people["gov_admin"].organisation_id, OrgKind.DEPARTMENT, frozenset({Role.FUND_MANAGER}), "x"
        )
        with pytest.raises(NotFound):
            policies.review_view(db, None, another_manager, app.id)


def test_the_demo_fills_every_state(world: list[demo.DemoLogin], engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as db:
        fill_policies(db, settings)
        fill_policies(db, settings)  # once
    with session_scope(engine) as db:
        statuses = sorted(db.scalars(select(PolicyApplication.status)))
        assert statuses == ["checked", "disbursed", "publicity", "rejected"]
        assert db.scalars(select(PolicyObjection.status)).all() == ["open"]
        assert count(db, Policy) == 3
        ent = who(db, "ent_admin")
        assert [m.policy.title for m in policies.judge_policies(db, None, ent) if m.eligible] == [
            "2026年小微企业稳岗扩岗补贴"
        ]
        assert sorted(db.scalars(select(InvestmentApplication.status))) == ["invested", "submitted"]


# ------------------------------------------------------------------------------------------ effect


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("policy_city")
    url = f"sqlite:///{root / 'ingest.db'}"
    upgrade(url)
    lake = Lake(root / "lake", fsync=False)
    generate_city(root / "city", enterprises=200, months=24, seed=7)
    session = session_factory(get_engine(url))()
    try:
        data.ingest_directory(root / "city", lake=lake, session=session, provider="test")
        session.commit()
    finally:
        session.close()
    return lake


def test_policy_effect_compares_recipients_with_matched_firms(
    people: dict[str, Principal], engine: Engine, settings: Settings, city: Lake, tmp_path: Path
) -> None:
    from xinyidai.policies.effect import last_month

    newest = last_month(city)
    assert newest is not None
    award = date(newest.year - 1, newest.month, 15)
    registered = city.query("registration").select("uscc").to_arrow_table().column("uscc").to_pylist()[:6]
    gov = people["gov_admin"]
    with session_scope(engine) as db:
        policy = published(db, gov, eligibility="")
        ent_org = people["ent_admin"].organisation_id
        for uscc in registered:
            db.add(
                PolicyApplication(
                    policy_id=policy.id,
                    department_id=gov.organisation_id,
                    enterprise_id=ent_org,
                    uscc=uscc,
                    enterprise_name=uscc,
                    status="disbursed",
                    disbursed_amount=Decimal("10000"),
                    disbursed_on=award,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
        db.flush()
        report = policies.policy_effect(db, city, gov, policy.id, window_months=6, neighbours=3)
        assert report.recipients == 6 and report.evaluated + report.no_data == 6 and report.evaluated >= 3
        tax = report.estimates[0]
        assert tax.outcome == "tax" and tax.n >= 3
        assert tax.low is not None and tax.high is not None and tax.low <= tax.effect <= tax.high  # type: ignore[operator]
        row = report.rows[0]
        assert len(row.matches) == 3 and not set(row.matches) & set(registered)
        content = policies.export_xlsx(report, lambda s: s)
    from openpyxl import load_workbook

    (tmp_path / "e.xlsx").write_bytes(content)
    book = load_workbook(tmp_path / "e.xlsx")
    assert book.sheetnames == ["Effect", "Recipients"]
    assert book["Effect"].cell(row=5, column=1).value == "Tax paid a month (yuan)"
