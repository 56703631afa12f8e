"""The government console's statistics on a small known market (SQLite and PostgreSQL): needs, grabs,
offers, applications, approvals, loans, amounts, rates, pure-credit share, days from need to loan and the
non-performing rate by grade, exactly; and the filters, drill-down and monthly report over them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.consoles import monthly_report
from xinyidai.consoles import statistics as stats
from xinyidai.consoles.statistics_models import ConsoleRefresh
from xinyidai.consoles.statistics_refresh import refresh
from xinyidai.core.access import Principal
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.settings import Settings
from xinyidai.funds.schemes_models import Claim, CoveredLoan, GuaranteeFund
from xinyidai.market import service as market
from xinyidai.market.models import Loan, LoanRecord, Product, Whitelist, WhitelistEntry
from xinyidai.market.schemas import (
    ApplicationInput,
    ApprovalInput,
    DisbursementInput,
    LoanReportInput,
    NeedInput,
    OfferInput,
    ProductInput,
    RejectionInput,
)
from xinyidai.policies.models import Policy, PolicyApplication

SETTINGS = Settings(market_max_holders=3)


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def listed(db: Session, institution: Principal, operator: Principal) -> Product:
    product = market.upsert_product(
        db,
        institution,
        ProductInput.model_validate(
            {
                "external_id": "ST-CREDIT-01",
                "name": "统计贷",
                "product_type": "credit",
                "amount_min": Decimal("100000"),
                "amount_max": Decimal("3000000"),
                "term_min": 3,
                "term_max": 36,
                "rate_min": Decimal("3.00"),
                "rate_max": Decimal("6.00"),
                "repayment_methods": ["interest_first"],
                "pure_credit": True,
            }
        ),
    ).product
    market.submit_product(db, institution, product.id)
    market.review_product(db, operator, product.id, approve=True)
    return product


def build_market(engine: Engine) -> dict[str, object]:
    """One need taken to a loan that defaults; one direct application rejected; one approved and lent."""
    with session_scope(engine) as db:
        p = {n: who(db, n) for n in ("ent_admin", "bank_admin", "bank_manager", "bank_risk", "op_admin")}
        product = listed(db, p["bank_admin"], p["op_admin"])
        need = market.publish_need(
            db,
            None,
            p["ent_admin"],
            NeedInput(amount=Decimal("500000"), term_months=12, purpose="working_capital"),
            SETTINGS,
            idempotency_key="n1",
        )
        order = market.grab(db, p["bank_manager"], need.id)
        offer = OfferInput(
            product_id=product.id,
            amount=Decimal("500000"),
            rate=Decimal("4.2"),
            term_months=12,
            repayment_method="interest_first",
        )
        market.make_offer(db, p["bank_manager"], order.id, offer)
        first = market.accept_offer(db, p["ent_admin"], order.id)
        market.accept(db, p["bank_manager"], first.id)
        market.approve(
            db,
            p["bank_risk"],
            first.id,
            ApprovalInput(amount=Decimal("450000"), rate=Decimal("4.2"), term_months=12),
        )
        bad = market.disburse(db, p["bank_manager"], first.id, DisbursementInput(contract_no="C-1"))
        market.report_loan(
            db,
            p["bank_manager"],
            bad.id,
            LoanReportInput(kind="overdue", occurred_on=today_local(), days_overdue=95),
        )
        second = market.apply(
            db,
            None,
            p["ent_admin"],
            ApplicationInput(product_id=product.id, amount=Decimal("200000"), term_months=6),
            SETTINGS,
            idempotency_key="a2",
        ).application
        market.accept(db, p["bank_manager"], second.id)
        market.reject(db, p["bank_risk"], second.id, RejectionInput(reason="经营年限不足"))
        third = market.apply(
            db,
            None,
            p["ent_admin"],
            ApplicationInput(product_id=product.id, amount=Decimal("300000"), term_months=6),
            SETTINGS,
            idempotency_key="a3",
        ).application
        market.accept(db, p["bank_manager"], third.id)
        market.approve(
            db,
            p["bank_risk"],
            third.id,
            ApprovalInput(amount=Decimal("300000"), rate=Decimal("3.45"), term_months=6),
        )
        market.disburse(db, p["bank_manager"], third.id, DisbursementInput(contract_no="C-3"))
        ent = db.get(Organisation, p["ent_admin"].organisation_id)
        assert ent is not None
        profile = db.get(EnterpriseProfile, ent.id)
        assert profile is not None
        grades = {loan.grade for loan in db.scalars(select(Loan))}
        return {
            "region": ent.region_code or "",
            "section": profile.industry_section,
            "division": profile.industry_division,
            "size": profile.size_class,
            "bank": p["bank_admin"].organisation_id,
            "product": product.id,
            "grades": grades,
        }


@pytest.fixture
def known(
    world: list[demo.DemoLogin], engine: Engine, tmp_path: Path
) -> tuple[stats.FactStore, dict[str, object]]:
    facts = build_market(engine)
    with session_scope(engine) as db:
        refresh(db, tmp_path, triggered_by="test")
    with session_scope(engine) as db:
        store = stats.open_store(db, tmp_path)
    assert store is not None
    return store, facts


def this_month() -> stats.Filters:
    month = today_local().replace(day=1)
    return stats.Filters(start=month, end=month)


def test_totals_are_exact(known: tuple[stats.FactStore, dict[str, object]]) -> None:
    store, _ = known
    t = stats.totals(store, this_month())
    assert (t["needs"], t["grabs"], t["offers"]) == (1, 1, 1)
    assert t["needs_amount"] == Decimal("500000")
    assert (t["applications"], t["approvals"], t["rejections"]) == (3, 2, 1)
    assert t["applied_amount"] == Decimal("1000000")
    assert t["approved_amount"] == Decimal("750000")
    assert t["loans"] == 2 and t["disbursed_amount"] == Decimal("750000")
    assert t.approval_rate == Decimal("0.6667")
    # (450,000 × 4.2 + 300,000 × 3.45) / 750,000 = 3.90
    assert t.average_rate == Decimal("3.90")
    assert t.pure_credit_share == Decimal("1.0000")
    assert t["npl_loans"] == 1 and t["npl_amount"] == Decimal("450000")
    assert t.npl_rate == Decimal("0.5000")
    assert t.median_days == 0  # the need was met the day it was published


def test_npl_by_grade_and_dimensions(known: tuple[stats.FactStore, dict[str, object]]) -> None:
    store, facts = known
    f = this_month()
    grades = stats.npl_by_grade(store, f)
    assert sum(g["loans"] for g in grades) == 2 and sum(g["npl_loans"] for g in grades) == 1
    assert {g.key for g in grades} == {g or "" for g in facts["grades"]}  # type: ignore[attr-defined]
    by_inst = stats.breakdown(store, f, "institution")
    assert [(r.key, r["loans"]) for r in by_inst if r.key != "0"] == [(str(facts["bank"]), 2)]
    by_product = stats.breakdown(store, f, "product")
    assert [r.label for r in by_product if r["loans"]] == ["统计贷"]
    by_size = stats.breakdown(store, f, "size")
    assert [r.key for r in by_size if r["loans"]] == [facts["size"]]
    # regions: first the city, then (drilled) its districts, then the district's industries
    region = str(facts["region"])
    city = region[:4] + "00"
    cities = stats.breakdown(store, f, "region")
    assert [(r.key, r["loans"]) for r in cities] == [(city, 2)]
    link = stats.next_drill(f, "region", city)
    assert link is not None and link["region"] == city and link["dim"] == "region"
    drilled = stats.parse_filters(link, today=today_local())
    districts = stats.breakdown(store, drilled, "region")
    assert [(r.key, r["disbursed_amount"]) for r in districts] == [(region, Decimal("750000"))]
    down = stats.next_drill(drilled, "region", region)
    assert down is not None and down["dim"] == "industry"
    industries = stats.breakdown(store, stats.parse_filters(down, today=today_local()), "industry")
    assert [r.key for r in industries] == [facts["section"]]
    # a filter that matches nothing gives zeros, not errors
    other = stats.totals(
        store, stats.Filters(start=f.start, end=f.end, size="large" if facts["size"] != "large" else "micro")
    )
    assert other["loans"] == 0 and other.npl_rate is None and other.median_days is None
    # periods are filled in order, at the granularity asked
    year = stats.Filters(start=stats.add_months(f.start, -11), end=f.end, granularity="quarter")
    trend = stats.breakdown(store, year, "period")
    assert [r.label for r in trend] == stats.periods(year) and sum(r["loans"] for r in trend) == 2


def test_monthly_report_and_detail(known: tuple[stats.FactStore, dict[str, object]]) -> None:
    store, _ = known
    report = monthly_report.monthly_report(store, today_local())
    assert report.current["loans"] == 2 and report.previous["loans"] == 0
    assert any("loans were disbursed" in s.msgid for s in report.sentences)
    assert report.sentences[1].params["amount_wan"] == "75.00"
    rows = list(stats.detail_rows(store, this_month()))
    assert sum(r[7 + list(stats.MEASURES).index("loans")] for r in rows) == 2


def test_refresh_records_the_set_and_bad_filters_are_refused(
    known: tuple[stats.FactStore, dict[str, object]], engine: Engine, tmp_path: Path
) -> None:
    with session_scope(engine) as db:
        latest = stats.latest_refresh(db)
        assert latest is not None and latest.fact_rows > 0 and latest.triggered_by == "test"
        assert (tmp_path / latest.path / "facts.parquet").exists()
        for _ in range(4):
            refresh(db, tmp_path)
        assert len(db.scalars(select(ConsoleRefresh)).all()) == 5
        assert len(list((tmp_path / stats.STORE_DIR).iterdir())) == stats.KEEP_SETS  # old sets pruned
        # a set being written by another refresh (a folder newer than every record) is not litter
        being_written = tmp_path / stats.STORE_DIR / "99991231T235959000000"
        being_written.mkdir()
        refresh(db, tmp_path)
        assert being_written.is_dir()
        assert len(list((tmp_path / stats.STORE_DIR).iterdir())) == stats.KEEP_SETS + 1
    with pytest.raises(ValidationFailed):
        stats.parse_filters({"from": "2026-13"})
    with pytest.raises(ValidationFailed):
        stats.parse_filters({"from": "2026-05", "to": "2026-01"})
    with pytest.raises(ValidationFailed):
        stats.parse_filters({"region": "999999"})
    with pytest.raises(ValidationFailed):
        stats.parse_filters({"granularity": "week"})
    parsed = stats.parse_filters({}, today=date(2026, 12, 15))
    assert (parsed.start, parsed.end) == (date(2026, 1, 1), date(2026, 12, 1))


def test_whitelist_policy_and_fund_figures(
    world: list[demo.DemoLogin], engine: Engine, tmp_path: Path
) -> None:
    """Rows of the other capabilities (written directly: their services are tested in their own files)."""
    build_market(engine)
    now = utcnow()
    with session_scope(engine) as db:
        p = {n: who(db, n) for n in ("ent_admin", "gov_admin", "fund_manager", "bank_admin")}
        ent = db.get(EnterpriseProfile, p["ent_admin"].organisation_id)
        assert ent is not None
        good, bad = sorted(db.scalars(select(Loan)), key=lambda loan: loan.status == "overdue")
        listing = Whitelist(
            department_id=p["gov_admin"].organisation_id, programme="专项", uploaded_by="gov_admin"
        )
        db.add(listing)
        db.flush()
        db.add_all(
            [
                WhitelistEntry(
                    whitelist_id=listing.id, uscc=ent.uscc, status="assigned"
                ),  # lent since: financed
                WhitelistEntry(whitelist_id=listing.id, uscc="91110000600037341L", status="approved"),
                WhitelistEntry(whitelist_id=listing.id, uscc="91440300568520498A", status="new"),
            ]
        )
        policy = Policy(
            department_id=p["gov_admin"].organisation_id,
            issuer="发改委",
            title="贴息",
            benefit="贴息",
            opens_on=today_local(),
            closes_on=today_local(),
            status="published",
            created_by="gov_admin",
        )
        db.add(policy)
        db.flush()
        for status, paid in (("disbursed", Decimal("30000")), ("rejected", None), ("publicity", None)):
            db.add(
                PolicyApplication(
                    policy_id=policy.id,
                    department_id=policy.department_id,
                    enterprise_id=ent.organisation_id,
                    uscc=ent.uscc,
                    enterprise_name="x",
                    status=status,
                    decided_at=now,
                    disbursed_amount=paid,
                    disbursed_on=today_local() if paid else None,
                )
            )
        fund = GuaranteeFund(
            name="信保基金",
            manager_id=p["fund_manager"].organisation_id,
            leverage=Decimal(10),
            created_by="x",
        )
        db.add(fund)
        db.flush()
        covers = {}
        for loan in (good, bad):
            covers[loan.id] = CoveredLoan(
                fund_id=fund.id,
                application_id=loan.application_id,
                loan_id=loan.id,
                institution_id=loan.institution_id,
                uscc=loan.uscc,
                enterprise_name="x",
                grade=loan.grade,
                amount=loan.amount,
                status="covered" if loan is good else "paid",
            )
            db.add(covers[loan.id])
        db.flush()
        default = LoanRecord(loan_id=bad.id, kind="default", occurred_on=today_local(), reported_by="bank")
        db.add(default)
        db.flush()
        db.add(
            Claim(
                fund_id=fund.id,
                covered_loan_id=covers[bad.id].id,
                loan_id=bad.id,
                default_record_id=default.id,
                institution_id=bad.institution_id,
                loss=bad.outstanding,
                outstanding=bad.outstanding,
                fund_amount=Decimal("360000"),
                institution_amount=Decimal("90000"),
                status="paid",
                filed_by="bank",
                reviewed_at=now,
            )
        )
    with session_scope(engine) as db:
        refresh(db, tmp_path)
        store = stats.open_store(db, tmp_path)
    assert store is not None
    t = stats.totals(store, this_month())
    assert (t["whitelist_entries"], t["whitelist_financed"]) == (3, 2)
    assert (t["policy_applications"], t["policy_approved"]) == (3, 2)
    assert t["policy_disbursed_amount"] == Decimal("30000")
    assert t["covered_loans"] == 2 and t["covered_amount"] == Decimal("750000")
    assert t["covered_outstanding"] == Decimal("300000")  # the paid-out loan no longer counts
    assert (t["claims_paid"], t["claims_paid_amount"]) == (1, Decimal("360000"))
    by_inst = {r.key: r for r in stats.breakdown(store, this_month(), "institution")}
    assert by_inst[str(p["bank_admin"].organisation_id)]["claims_paid"] == 1


def test_the_refresh_command_publishes_a_set(
    world: list[demo.DemoLogin],
    engine: Engine,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from xinyidai.cli import app
    from xinyidai.core.settings import get_settings

    build_market(engine)
    monkeypatch.setenv("XYD_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XYD_DATABASE_URL", database_url)
    monkeypatch.setenv("XYD_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["consoles", "refresh"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    with session_scope(engine) as db:
        record = stats.latest_refresh(db)
        assert record is not None and record.triggered_by == "cli"
        store = stats.open_store(db, tmp_path / "state" / "lake")
    assert store is not None and stats.totals(store, this_month())["loans"] == 2


def test_a_firm_registered_at_the_city_itself_drills_to_industries() -> None:
    f = stats.Filters(start=date(2026, 1, 1), end=date(2026, 12, 1), region="371000")
    link = stats.next_drill(f, "region", "371000")
    assert link is not None and link["dim"] == "industry" and link["region"] == "371000"
    top = stats.next_drill(stats.Filters(start=f.start, end=f.end), "region", "371000")
    assert top is not None and top["dim"] == "region"
