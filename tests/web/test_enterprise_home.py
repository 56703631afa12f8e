"""The enterprise home: its grade over time, and the items that need its attention — each appears when its
facts exist, links where it can be acted on, and nothing of another enterprise ever shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.conftest import LoggedIn
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.consoles import enterprise_home
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.data.lake import Lake
from xinyidai.market.models import Application, Consent, Loan, Need, Order, Product
from xinyidai.rating import service as rating
from xinyidai.rating.models import RatingChange, RatingRun
from xinyidai.rating.objection_models import DataObjection

D = Decimal


def _enterprises(db: Session) -> list[Principal]:
    """The demo enterprise (ent_admin's) first, then another registered enterprise."""
    user = db.scalars(select(User).where(User.username == "ent_admin")).one()
    other = db.scalars(
        select(Organisation)
        .join(EnterpriseProfile, EnterpriseProfile.organisation_id == Organisation.id)
        .where(Organisation.id != user.organisation_id)
        .order_by(Organisation.id)
    ).first()
    assert other is not None
    return [
        Principal(
            user.id, user.organisation_id, OrgKind.ENTERPRISE, frozenset({Role.ENTERPRISE_ADMIN}), "e1"
        ),
        Principal(None, other.id, OrgKind.ENTERPRISE, frozenset({Role.ENTERPRISE_ADMIN}), "e2"),
    ]


def _bank(db: Session) -> Organisation:
    return db.scalars(
        select(Organisation).where(Organisation.kind == "institution").order_by(Organisation.id)
    ).first()  # type: ignore[return-value]


def _uscc(db: Session, who: Principal) -> str:
    profile = db.get(EnterpriseProfile, who.organisation_id)
    assert profile is not None
    return profile.uscc


def _product(db: Session, bank: Organisation) -> Product:
    product = Product(
        institution_id=bank.id,
        external_id="H-1",
        name="首页测试贷",
        product_type="credit",
        amount_min=D(10000),
        amount_max=D(1_000_000),
        term_min=1,
        term_max=36,
        rate_min=D("3"),
        rate_max=D("6"),
        status="listed",
    )
    db.add(product)
    db.flush()
    return product


def _facts(db: Session, who: Principal, bank: Organisation, product: Product, *, amount: str) -> None:
    """One of each fact the attention list shows, for ``who`` (amounts tell the enterprises apart)."""
    uscc = _uscc(db, who)
    today = today_local()
    need = Need(
        enterprise_id=who.organisation_id,
        uscc=uscc,
        enterprise_name="x",
        amount=D(amount),
        term_months=12,
        purpose="周转",
        expires_on=today + timedelta(days=20),
        status="open",
    )
    db.add(need)
    db.flush()
    db.add(
        Order(
            need_id=need.id,
            institution_id=bank.id,
            grabbed_by="m",
            status="offered",
            product_id=product.id,
            amount=D(amount),
            rate=D("3.85"),
            term_months=12,
            offered_at=utcnow(),
        )
    )
    db.add(
        Consent(
            enterprise_id=who.organisation_id,
            uscc=uscc,
            institution_id=bank.id,
            purpose="loan_review",
            expires_on=today + timedelta(days=10),
            signed_by="x",
            text="t",
            text_sha256="0" * 64,
            report_types=["full"],
        )
    )
    db.add(
        Consent(
            enterprise_id=who.organisation_id,
            uscc=uscc,
            institution_id=bank.id,
            purpose="loan_review",
            expires_on=today + timedelta(days=200),
            signed_by="x",
            text="t",
            text_sha256="0" * 64,
            report_types=["full"],
        )
    )
    application = Application(
        enterprise_id=who.organisation_id,
        uscc=uscc,
        enterprise_name="x",
        institution_id=bank.id,
        product_id=product.id,
        amount=D(amount),
        term_months=12,
        status="disbursed",
    )
    db.add(application)
    db.flush()
    db.add(
        Loan(
            application_id=application.id,
            institution_id=bank.id,
            enterprise_id=who.organisation_id,
            uscc=uscc,
            product_id=product.id,
            contract_no=f"C-{application.id}",
            amount=D(amount),
            rate=D("4"),
            term_months=12,
            disbursed_on=today - timedelta(days=400),
            maturity_on=today - timedelta(days=35),
            outstanding=D(amount),
            status="overdue",
            days_overdue=35,
        )
    )
    db.add(
        DataObjection(
            uscc=uscc,
            enterprise_id=who.organisation_id,
            source_id="tax_monthly",
            item_label=f"纳税记录 {amount}",
            explanation="不对",
            raised_by="x",
            status="open",
            due_at=utcnow() + timedelta(days=10),
        )
    )
    db.flush()


def test_each_fact_appears_once_and_only_for_its_enterprise(db: Session, world: object) -> None:
    mine, theirs = _enterprises(db)
    bank = _bank(db)
    product = _product(db, bank)
    _facts(db, mine, bank, product, amount="123456")
    _facts(db, theirs, bank, product, amount="777777")
    home = enterprise_home.build_home(db, None, mine, _uscc(db, mine))
    kinds = [a.kind for a in home.attention]
    assert sorted(kinds) == ["consent", "loan", "objection", "offer"]
    assert kinds[0] == "loan"  # the overdue loan is the most urgent
    links = {a.kind: a.link for a in home.attention}
    assert links["offer"].startswith("/enterprise/needs/") and links["consent"] == "/enterprise/consents"
    assert links["loan"] == "/enterprise/loans" and links["objection"] == "/enterprise/objections"
    shown = repr([(a.message, a.params) for a in home.attention])
    assert "123,456.00" in shown and "777,777" not in shown and "纳税记录 123456" in shown


def test_nothing_when_no_facts(db: Session, world: object) -> None:
    mine, _ = _enterprises(db)
    home = enterprise_home.build_home(db, None, mine, _uscc(db, mine))
    assert home.attention == [] and home.supported == [] and home.series == [] and home.chart is None


def _snapshot(lake: Lake, day: date, rows: dict[str, tuple[str, float]]) -> None:
    folder = lake.root / rating.RATINGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    usccs = sorted(rows)
    table = pa.table(
        {"uscc": usccs, "score": [rows[u][1] for u in usccs], "grade": [rows[u][0] for u in usccs]}
    )
    pq.write_table(table, folder / f"as_of={day.isoformat()}.parquet")


def test_grade_over_time_steps_through_the_changes(db: Session, world: object, tmp_path: Path) -> None:
    mine, _ = _enterprises(db)
    uscc = _uscc(db, mine)
    lake = Lake(tmp_path / "lake")
    days = [date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31), date(2026, 9, 30)]
    for day in days:
        _snapshot(lake, day, {uscc: ("A", 800.0)})  # the newest grade is what counts: A
    model = rating.ensure_default_model(db)
    run = RatingRun(as_of=days[2], model_id=model.id)
    db.add(run)
    db.flush()
    db.add(
        RatingChange(
            uscc=uscc,
            as_of=days[2],
            run_id=run.id,
            previous_grade="C",
            grade="A",
            previous_score=D("500"),
            score=D("800"),
        )
    )
    db.flush()
    series = enterprise_home.grade_series(db, lake, uscc)
    assert [(p.as_of, p.grade) for p in series] == list(zip(days, ["C", "C", "A", "A"], strict=True))
    chart = enterprise_home.grade_chart(series)
    assert chart is not None
    ys = {p.grade: y for _, y, p in chart.points}
    assert ys["A"] < ys["C"]  # A is drawn higher
    assert chart.path.startswith("M ") and chart.path.count(" H ") == 3
    # an enterprise not in the newest rating has no history
    assert enterprise_home.grade_series(db, lake, "91110000600037341L") == []


# -- over HTTP --------------------------------------------------------------------------------------------
def test_the_home_page_shows_the_items_with_their_links(
    app: FastAPI, engine: Engine, settings: Settings, login: Callable[[str], LoggedIn]
) -> None:
    with session_scope(engine) as db:
        mine, theirs = _enterprises(db)
        bank = _bank(db)
        product = _product(db, bank)
        _facts(db, mine, bank, product, amount="123456")
        _facts(db, theirs, bank, product, amount="777777")
    page = login("ent_admin").client.get("/enterprise")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="attention-card"' in html
    for kind in ("loan", "offer", "consent", "objection"):
        assert f'data-testid="attention-{kind}"' in html, kind
    assert 'href="/enterprise/loans"' in html and 'href="/enterprise/consents"' in html
    assert "123,456.00" in html and "777,777" not in html
    assert 'data-testid="grade-card"' in html


def test_the_home_page_without_facts(login: Callable[[str], LoggedIn]) -> None:
    html = login("ent_staff").client.get("/enterprise").text
    assert 'data-testid="attention-none"' in html


def test_policy_deadlines_publicity_and_fund_backed_loans(db: Session, world: object) -> None:
    from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund
    from xinyidai.policies.models import Policy, PolicyApplication

    mine, theirs = _enterprises(db)
    bank = _bank(db)
    department = db.scalars(select(Organisation).where(Organisation.kind == "department")).first()
    assert department is not None
    today = today_local()

    def policy(title: str, closes_in: int) -> Policy:
        p = Policy(
            department_id=department.id,
            issuer="发改委",
            title=title,
            benefit="补贴",
            opens_on=today,
            closes_on=today + timedelta(days=closes_in),
            status="published",
            created_by="x",
        )
        db.add(p)
        db.flush()
        return p

    closing = policy("即将截止的政策", 5)
    applied = policy("已申报的政策", 6)
    policy("远期截止的政策", 90)  # closes beyond 30 days: not an item
    publicised = policy("公示中的政策", 60)
    uscc = _uscc(db, mine)
    db.add(
        PolicyApplication(
            policy_id=applied.id,
            department_id=department.id,
            enterprise_id=mine.organisation_id,
            uscc=uscc,
            enterprise_name="x",
            status="submitted",
        )
    )
    db.add(
        PolicyApplication(
            policy_id=publicised.id,
            department_id=department.id,
            enterprise_id=mine.organisation_id,
            uscc=uscc,
            enterprise_name="x",
            status="publicity",
            publicity_starts_on=today,
            publicity_ends_on=today + timedelta(days=4),
        )
    )
    db.add(
        PolicyApplication(
            policy_id=publicised.id,
            department_id=department.id,
            enterprise_id=theirs.organisation_id,
            uscc=_uscc(db, theirs),
            enterprise_name="y",
            status="publicity",
            publicity_starts_on=today,
            publicity_ends_on=today + timedelta(days=9),
        )
    )
    fund = GuaranteeFund(name="威海市信保基金", manager_id=department.id, leverage=D("10"), created_by="x")
    db.add(fund)
    product = _product(db, bank)
    db.flush()
    for who, amount in ((mine, "300000"), (theirs, "888888")):
        app = Application(
            enterprise_id=who.organisation_id,
            uscc=_uscc(db, who),
            enterprise_name="x",
            institution_id=bank.id,
            product_id=product.id,
            amount=D(amount),
            term_months=12,
            status="approved",
        )
        db.add(app)
        db.flush()
        db.add(
            CoveredLoan(
                fund_id=fund.id,
                application_id=app.id,
                institution_id=bank.id,
                uscc=app.uscc,
                enterprise_name="x",
                amount=D(amount),
                fund_pct=D("40"),
                status="covered",
            )
        )
    db.flush()

    home = enterprise_home.build_home(db, None, mine, uscc)
    policies = [a for a in home.attention if a.kind == "policy"]
    assert [a.params["policy"] for a in policies] == ["即将截止的政策"]
    assert (
        policies[0].urgency == enterprise_home.URGENT
        and policies[0].link == f"/enterprise/policies/{closing.id}"
    )
    publicity = [a for a in home.attention if a.kind == "publicity"]
    assert len(publicity) == 1 and publicity[0].due == today + timedelta(days=4)
    assert [(s.params["fund"], s.params["amount"]) for s in home.supported] == [
        ("威海市信保基金", "300,000.00")
    ]
    assert home.policies[0].policy.title == "即将截止的政策"  # recommended: the soonest closing first
