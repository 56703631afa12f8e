# ruff: noqa: F811 — pytest fixtures imported from the other funds tests are parameters here
"""Scheme editing, collateral values and guarantee fees on both databases.

A fund manager writes and revises risk-sharing schemes (bands by grade and amount, fund / bank / third-party
shares, collateral limits, a fee rate); bad schemes are refused whole with a clear message; a revision is a
new version the fund moves to while loans already covered keep the terms they joined with. The bank states
a loan's collateral value and the band's collateral limit uses it. A covered loan's guarantee fee is posted
once, however often the request is retried.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import LoggedIn
from tests.integration.test_funds_schemes import products, report, team  # noqa: F401
from tests.integration.test_market import listed, people, product_input, who  # noqa: F401
from xinyidai.accounts.models import Organisation
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import Conflict, NotFound, ValidationFailed
from xinyidai.funds import service as funds
from xinyidai.funds import subscriptions
from xinyidai.funds.models import JournalEntry
from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund, RiskScheme, SharingScheme
from xinyidai.market import service as market
from xinyidai.market.schemas import ApprovalInput, DisbursementInput

D = Decimal
T = funds.Tier
subscriptions.register()

WEIHAI_WITH_INSURER = (
    T("A", D(5_000_000), D(0), D(70), D(10), third_party_name="人保财险威海分公司", bank_pct=D(20)),
    T("B", D(5_000_000), D(70), D(60), bank_pct=D(40)),
    T("C", D(5_000_000), D(100), D(40), bank_pct=D(60)),
    T("D", None, D(0), D(0), covered=False),
)


def count(db: Session, model: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def fee_entries(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "fee")) or 0


def set_up(
    engine: Engine, team: dict[str, Principal], *, fee_rate: str = "1.00", capital: str = "10000000.00"
) -> int:
    with session_scope(engine) as db:
        fund = funds.create_fund(
            db, team["fund_manager"], name="威海市信保基金", leverage=D(10), fee_rate=D(fee_rate)
        )
        funds.contribute(
            db, team["fund_manager"], fund.id, amount=D(capital), contributor="财政局", key="seed"
        )
        return fund.id


def lend(
    engine: Engine,
    team: dict[str, Principal],
    product_id: int,
    amount: str,
    grade: str,
    *,
    collateral: str | None = None,
    term: int = 12,
) -> int:
    """An application approved (with the collateral value the bank states) and disbursed: its id."""
    with session_scope(engine) as db:
        app = market.open_application(
            db, team["ent_admin"], product_id=product_id, amount=D(amount), term_months=term, grade=grade
        )
        market.accept(db, team["bank_manager"], app.id)
        market.approve(
            db,
            team["bank_risk"],
            app.id,
            ApprovalInput(
                amount=D(amount),
                rate=D("4.00"),
                term_months=term,
                collateral_value=D(collateral) if collateral is not None else None,
            ),
        )
        market.disburse(
            db,
            team["bank_manager"],
            app.id,
            DisbursementInput(disbursed_on=today_local() - timedelta(days=30)),
        )
        return app.id


def coverage(db: Session, application_id: int) -> CoveredLoan:
    return db.scalars(select(CoveredLoan).where(CoveredLoan.application_id == application_id)).one()


# ----------------------------------------------------------------------------------------- schemes


@pytest.mark.parametrize(
    ("tiers", "fee_rate", "message"),
    [
        (  # 60 + 30 + 0 = 90
            [T("A", D(5_000_000), D(0), D(60), bank_pct=D(30))],
            "0.5",
            "For grade %(grade)s the shares of the fund, the bank and the third party add up to",
        ),
        (  # 80 + 20 + 10 = 110
            [T("A", None, D(0), D(80), D(10), third_party_name="人保", bank_pct=D(20))],
            "0.5",
            "For grade %(grade)s the shares of the fund, the bank and the third party add up to",
        ),
        ([T("B", None, D(120), D(60), bank_pct=D(40))], "0.5", "Percentages lie between 0 and 100"),
        (
            [T("A", D(5_000_000), D(0), D(80)), T("A", D(8_000_000), D(0), D(50), amount_min=D(4_000_000))],
            "0.5",
            "The amount bands of grade %(grade)s overlap",
        ),
        (
            [T("A", None, D(0), D(70), D(10), bank_pct=D(20))],
            "0.5",
            "Name the third party that takes a share",
        ),
        ([T("A", D(100), D(0), D(80), amount_min=D(200))], "0.5", "the largest amount must be above"),
        ([T("A", None, D(0), D(80))], "6", "The guarantee fee is an annual rate between 0 and"),
        ([], "0.5", "Give the scheme at least one band"),
    ],
)
def test_a_bad_scheme_is_refused_whole(
    engine: Engine,
    team: dict[str, Principal],
    tiers: list[funds.Tier],
    fee_rate: str,
    message: str,
) -> None:
    with session_scope(engine) as db:
        before = (count(db, SharingScheme), count(db, RiskScheme))
    with pytest.raises(ValidationFailed) as caught, session_scope(engine) as db:
        funds.create_scheme(db, team["fund_manager"], name="方案", tiers=tiers, fee_rate=D(fee_rate))
    assert message in caught.value.message
    with session_scope(engine) as db:
        assert (count(db, SharingScheme), count(db, RiskScheme)) == before


def test_bands_split_a_grade_by_amount(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    """Two bands of grade A (≤ 2 M: 80 %, 2–5 M: 50 %), D explicitly not covered, B only up to 1 M."""
    with session_scope(engine) as db:
        scheme = funds.create_scheme(
            db,
            team["fund_manager"],
            name="分档方案",
            tiers=[
                T("A", D(2_000_000), D(0), D(80), bank_pct=D(20)),
                T("A", D(5_000_000), D(0), D(50), bank_pct=D(50), amount_min=D(2_000_000)),
                T("B", D(1_000_000), D(70), D(60), bank_pct=D(40)),
                T("D", None, D(0), D(0), covered=False),
            ],
            fee_rate=D("0.5"),
        )
        fund = funds.create_fund(
            db, team["fund_manager"], name="分档基金", leverage=D(10), scheme_id=scheme.id
        )
        funds.contribute(
            db, team["fund_manager"], fund.id, amount=D("5000000"), contributor="财政局", key="k"
        )
    small = lend(engine, team, products["credit"], "1500000", "A")
    large = lend(engine, team, products["credit"], "3000000", "A")
    big_b = lend(engine, team, products["credit"], "2000000", "B")
    d = lend(engine, team, products["credit"], "300000", "D")
    with session_scope(engine) as db:
        assert (coverage(db, small).status, coverage(db, small).fund_pct) == ("covered", D("80.00"))
        assert (coverage(db, large).status, coverage(db, large).fund_pct) == ("covered", D("50.00"))
        refused = coverage(db, big_b)
        assert refused.status == "refused" and refused.reason_params["max"] == "1,000,000.00"
        assert coverage(db, d).reason == "Grade %(grade)s is not covered by this fund"


def test_a_revised_scheme_is_a_new_version_and_covered_loans_keep_their_terms(
    engine: Engine,
    team: dict[str, Principal],
    products: dict[str, int],
) -> None:
    fund_id = set_up(engine, team)
    before = lend(engine, team, products["credit"], "1000000", "A")
    with session_scope(engine) as db:
        fund = db.get(GuaranteeFund, fund_id)
        assert fund is not None and fund.scheme_id is not None
        first = fund.scheme_id
        revised = funds.revise_scheme(
            db,
            team["fund_manager"],
            first,
            name="威海方案（含保险）",
            tiers=WEIHAI_WITH_INSURER,
            fee_rate=D("0.8"),
        )
        assert revised.version == 2 and revised.previous_id == first
        with pytest.raises(Conflict):  # only the newest version is edited
            funds.revise_scheme(db, team["fund_manager"], first, name="x", tiers=WEIHAI_WITH_INSURER)
        other = Principal(
            None,
            team["gov_admin"].organisation_id,
            OrgKind.DEPARTMENT,
            frozenset({Role.FUND_MANAGER}),
            "other",
        )
        with pytest.raises(NotFound):  # a fund manager of another department may not touch it
            funds.revise_scheme(db, other, revised.id, name="x", tiers=WEIHAI_WITH_INSURER)
        revised_id = revised.id
    after = lend(engine, team, products["credit"], "1000000", "A")
    with session_scope(engine) as db:
        fund = db.get(GuaranteeFund, fund_id)
        assert fund is not None and fund.scheme_id == revised_id
        old, new = coverage(db, before), coverage(db, after)
        assert (old.fund_pct, old.third_party_pct, old.fee_rate, old.fee_amount) == (
            D("80.00"),
            D("0.00"),
            D("1.00"),
            D("10000.00"),
        )
        assert (new.fund_pct, new.third_party_pct, new.third_party_name, new.fee_rate, new.fee_amount) == (
            D("70.00"),
            D("10.00"),
            "人保财险威海分公司",
            D("0.80"),
            D("8000.00"),
        )
        history = funds.sharing.history(db, funds.get_scheme(db, team["fund_manager"], first))
        assert [v.version for v in history] == [2, 1]
        assert db.get(SharingScheme, first).is_current is False  # type: ignore[union-attr]
    # a default on the new loan splits the loss three ways; the old loan's claim still at 80:20
    for app_id in (before, after):
        with session_scope(engine) as db:
            loan_id = coverage(db, app_id).loan_id
        assert loan_id is not None
        report(engine, team, loan_id, "default")
        with session_scope(engine) as db:
            claim = funds.file_claim(db, team["bank_risk"], loan_id=loan_id, loss=D("100000.00"))
            assert (claim.fund_amount, claim.third_party_amount, claim.institution_amount) == (
                (D("80000.00"), D("0.00"), D("20000.00"))
                if app_id == before
                else (D("70000.00"), D("10000.00"), D("20000.00"))
            )


def test_a_fund_chooses_its_scheme(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    fund_id = set_up(engine, team)
    with session_scope(engine) as db:
        strict = funds.create_scheme(
            db,
            team["fund_manager"],
            name="仅A级",
            tiers=[T("A", D(1_000_000), D(0), D(50))],
            fee_rate=D("0.5"),
        )
        funds.use_scheme(db, team["fund_manager"], fund_id, strict.id)
        with pytest.raises(NotFound):
            funds.use_scheme(db, team["fund_manager"], fund_id, 999999)
        strict_id = strict.id
    app_id = lend(engine, team, products["credit"], "500000", "B")
    with session_scope(engine) as db:
        assert coverage(db, app_id).status == "refused"
        assert funds.get_fund(db, team["fund_manager"], fund_id).scheme_id == strict_id


# ----------------------------------------------------------------------------------------- collateral


def test_the_collateral_value_decides_the_band(
    engine: Engine,
    team: dict[str, Principal],
    products: dict[str, int],
) -> None:
    set_up(engine, team)
    within = lend(engine, team, products["mortgage"], "1000000", "B", collateral="650000")
    above = lend(engine, team, products["mortgage"], "1000000", "B", collateral="800000")
    unstated = lend(engine, team, products["mortgage"], "1000000", "B")  # a secured product: 100 %
    with session_scope(engine) as db:
        ok = coverage(db, within)
        assert (ok.status, ok.collateral_value, ok.fund_pct) == ("covered", D("650000.00"), D("60.00"))
        refused = coverage(db, above)
        assert refused.status == "refused"
        assert refused.reason.startswith("Collateral of %(pct)s%% of the loan is above")
        assert refused.reason_params == {"pct": "80", "max": "70", "grade": "B"}
        assert coverage(db, unstated).reason_params["pct"] == "100"
        fees_before = fee_entries(db)
    # the bank states a lower value afterwards: the funds decide again and cover it
    with session_scope(engine) as db:
        decided = funds.record_collateral(db, team["bank_risk"], above, D("500000.00"))
        assert (
            decided is not None and decided.status == "covered" and decided.collateral_value == D("500000.00")
        )
    with session_scope(engine) as db:
        assert fee_entries(db) == fees_before + 1
        # a covered loan keeps the terms it joined with
        with pytest.raises(Conflict):
            funds.record_collateral(db, team["bank_risk"], within, D("900000.00"))
        with pytest.raises(ValidationFailed):
            funds.record_collateral(db, team["bank_risk"], unstated, D("-1"))
        with pytest.raises(NotFound):  # not the bank's application
            funds.record_collateral(db, team["bank_risk"], 999999, D("1"))
    with session_scope(engine) as db:
        assert coverage(db, within).collateral_value == D("650000.00")
        assert coverage(db, unstated).status == "refused"


# ----------------------------------------------------------------------------------------- fees


def test_a_guarantee_fee_is_posted_once(
    engine: Engine,
    team: dict[str, Principal],
    products: dict[str, int],
) -> None:
    fund_id = set_up(engine, team, fee_rate="0.75")
    app_id = lend(engine, team, products["credit"], "2000000", "A", term=24)
    with session_scope(engine) as db:
        covered = coverage(db, app_id)
        # 2,000,000 × 0.75 % × 24/12 = 30,000
        assert covered.fee_amount == D("30000.00") and covered.fee_entry_id is not None
        assert fee_entries(db) == 1
        # a retried request, an event delivered twice, the manager covering by hand again: posted once
        assert funds.charge_fee(db, covered).id == covered.fee_entry_id  # type: ignore[union-attr]
        funds.cover_application(db, app_id)
        funds.cover_approved(db, team["fund_manager"], fund_id)
        subscriptions.on_application_approved(db, {"application_id": app_id})
        assert fee_entries(db) == 1
        figures = funds.figures(db, funds.get_fund(db, team["fund_manager"], fund_id))
        assert (figures.fees, figures.cash) == (D("30000.00"), D("10030000.00"))
        # a fee recorded by hand with the same key twice posts once too
        funds.record_fee(db, team["fund_manager"], fund_id, amount=D("100.00"), memo="补收", key="retry-1")
        funds.record_fee(db, team["fund_manager"], fund_id, amount=D("100.00"), memo="补收", key="retry-1")
        assert fee_entries(db) == 2
        assert funds.check_books(db).ok


def test_fees_are_listed_for_the_fund_manager_and_the_bank(
    engine: Engine,
    team: dict[str, Principal],
    products: dict[str, int],
) -> None:
    set_up(engine, team, fee_rate="1")
    lend(engine, team, products["credit"], "1000000", "A")
    lend(engine, team, products["credit"], "500000", "B", term=6)
    lend(engine, team, products["credit"], "300000", "D")  # not covered: no fee
    with session_scope(engine) as db:
        report_ = funds.fees.list_fees(db, team["fund_manager"])
        assert sorted(r.coverage.fee_amount for r in report_.rows) == [D("2500.00"), D("10000.00")]
        assert report_.total == D("12500.00")
        assert report_.by_institution == {team["bank_risk"].organisation_id: D("12500.00")}
        assert funds.fees.list_fees(db, team["bank_manager"]).total == D("12500.00")
        ccb = db.scalars(select(Organisation).where(Organisation.name == "中国建设银行威海分行")).one()
        other_bank = Principal(None, ccb.id, OrgKind.INSTITUTION, frozenset({Role.RISK_OFFICER}), "ccb")
        assert funds.fees.list_fees(db, other_bank).rows == []
        content = funds.fees.export_xlsx(
            report_.rows, {team["bank_risk"].organisation_id: "威海市商业银行"}, str
        )
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Fund" and len(values) == 4
    assert values[-1][0] == "Total" and values[-1][7] == 12500.0


# ----------------------------------------------------------------------------------------- pages


def test_the_scheme_page_edits_a_scheme_and_refuses_bad_shares(
    engine: Engine,
    team: dict[str, Principal],
    login: Callable[[str], LoggedIn],
) -> None:
    manager = login("fund_manager")
    form = {
        "name": "页面方案",
        "fee_rate": "0.6",
        "band_count": "2",
        "band-0-grade": "A",
        "band-0-covered": "on",
        "band-0-amount_max": "5000000",
        "band-0-collateral": "0",
        "band-0-fund": "70",
        "band-0-bank": "20",
        "band-0-third_name": "人保财险",
        "band-0-third": "10",
        "band-1-grade": "D",
    }
    bad = manager.post_form("/government/fund-schemes", {**form, "band-0-bank": "25"})
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
    assert 'value="25"' in bad.text  # what was typed is shown again
    with session_scope(engine) as db:
        assert count(db, SharingScheme) == 0
    created = manager.post_form("/government/fund-schemes", form, follow_redirects=False)
    assert created.status_code == 303
    url = created.headers["location"]
    page = manager.client.get(url)
    assert page.status_code == 200 and "人保财险" in page.text
    revised = manager.post_form(
        url, {**form, "band-0-fund": "60", "band-0-bank": "30"}, follow_redirects=False
    )
    assert revised.status_code == 303 and revised.headers["location"] != url
    with session_scope(engine) as db:
        versions = db.scalars(select(SharingScheme).order_by(SharingScheme.id)).all()
        assert [(v.version, v.is_current) for v in versions] == [(1, False), (2, True)]
        bands = funds.sharing.bands_of(db, versions[1].id)
        assert [(b.grade, b.covered, b.fund_pct) for b in bands] == [
            ("A", True, D("60.00")),
            ("D", False, D("0.00")),
        ]
    assert manager.client.get("/government/fees").status_code == 200
    export = manager.client.get("/government/fees.xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"


def test_the_bank_states_the_collateral_on_its_application_page(
    engine: Engine,
    team: dict[str, Principal],
    products: dict[str, int],
    login: Callable[[str], LoggedIn],
) -> None:
    set_up(engine, team, fee_rate="1")
    app_id = lend(engine, team, products["mortgage"], "1000000", "B")  # no value stated: 100 %, refused
    risk = login("bank_risk")
    url = f"/institution/applications/{app_id}"
    page = risk.client.get(url)
    assert 'data-testid="collateral-form"' in page.text and 'data-testid="coverage-decision"' in page.text
    bad = risk.post_form(f"{url}/collateral", {"collateral_value": "很多"})
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
    with session_scope(engine) as db:
        assert coverage(db, app_id).status == "refused" and fee_entries(db) == 0
    ok = risk.post_form(f"{url}/collateral", {"collateral_value": "600,000"}, follow_redirects=False)
    assert ok.status_code == 303
    page = risk.client.get(url)
    assert 'data-testid="collateral-form"' not in page.text and "600,000.00" in page.text
    with session_scope(engine) as db:
        assert (coverage(db, app_id).status, coverage(db, app_id).fee_amount) == ("covered", D("10000.00"))
    fees_page = risk.client.get("/institution/fees")
    assert fees_page.status_code == 200 and fees_page.text.count('data-testid="fee-row"') == 1
    # the account manager brings business in; stating a collateral value is a credit decision
    assert login("bank_manager").post_form(f"{url}/collateral", {"collateral_value": "1"}).status_code == 403
