"""Risk-sharing funds on both databases: Weihai's scheme decides which approved loans a fund covers (grade,
amount, collateral, leverage headroom), claims are split and paid through the ledger, recoveries shared
back, and every refusal — a claim above the covered outstanding, a second claim for the same default, a
loan that does not qualify, an overdraw under concurrency — leaves the ledger unchanged."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.integration.test_cli import cli_env  # noqa: F401 — the CLI's environment fixture
from tests.integration.test_market import listed, people, product_input, who  # noqa: F401
from xinyidai.cli import app as cli_app
from xinyidai.core.access import Principal
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xinyidai.funds import service as funds
from xinyidai.funds import subscriptions
from xinyidai.funds.models import JournalEntry, JournalLine
from xinyidai.funds.schemes_models import Claim, CoveredLoan
from xinyidai.market import service as market
from xinyidai.market.schemas import ApprovalInput, DisbursementInput, LoanReportInput

D = Decimal
subscriptions.register()


def entries(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(JournalEntry)) or 0


@pytest.fixture
def team(engine: Engine, people: dict[str, Principal]) -> dict[str, Principal]:  # noqa: F811
    with session_scope(engine) as db:
        return {**people, "fund_manager": who(db, "fund_manager")}


@pytest.fixture
def products(engine: Engine, team: dict[str, Principal]) -> dict[str, int]:
    """A pure-credit product up to 8 M and a mortgage product, listed by the demo bank."""
    with session_scope(engine) as db:
        credit = listed(db, team["bank_admin"], team["op_admin"], amount_max=D("8000000"))
        mortgage = listed(
            db,
            team["bank_admin"],
            team["op_admin"],
            external_id="WH-MORTGAGE",
            name="厂房抵押贷",
            product_type="mortgage",
            pure_credit=False,
            collateral="mortgage",
            amount_max=D("8000000"),
        )
        return {"credit": credit.id, "mortgage": mortgage.id}


def set_up_fund(engine: Engine, team: dict[str, Principal], capital: str, leverage: str = "10") -> int:
    with session_scope(engine) as db:
        fund = funds.create_fund(db, team["fund_manager"], name="威海市信保基金", leverage=D(leverage))
        funds.contribute(
            db, team["fund_manager"], fund.id, amount=D(capital), contributor="威海市财政局", key="seed"
        )
        return fund.id


def lend(
    engine: Engine,
    team: dict[str, Principal],
    product_id: int,
    amount: str,
    grade: str,
    *,
    disburse: bool = True,
) -> tuple[int, int | None]:
    """An application approved (and disbursed) by the demo bank: (application id, loan id)."""
    with session_scope(engine) as db:
        app = market.open_application(
            db, team["ent_admin"], product_id=product_id, amount=D(amount), term_months=12, grade=grade
        )
        market.accept(db, team["bank_manager"], app.id)
        market.approve(
            db, team["bank_risk"], app.id, ApprovalInput(amount=D(amount), rate=D("4.00"), term_months=12)
        )
        if not disburse:
            return app.id, None
        loan = market.disburse(
            db,
            team["bank_manager"],
            app.id,
            DisbursementInput(disbursed_on=today_local() - timedelta(days=60)),
        )
        return app.id, loan.id


def report(engine: Engine, team: dict[str, Principal], loan_id: int, kind: str, amount: str = "0") -> None:
    with session_scope(engine) as db:
        market.report_loan(
            db,
            team["bank_manager"],
            loan_id,
            LoanReportInput(kind=kind, amount=D(amount), occurred_on=today_local()),  # type: ignore[arg-type]
        )


def coverage(db: Session, application_id: int) -> CoveredLoan:
    return db.scalars(select(CoveredLoan).where(CoveredLoan.application_id == application_id)).one()


def defaulted_claim(
    engine: Engine, team: dict[str, Principal], products: dict[str, int], amount: str, grade: str, loss: str
) -> int:
    _, loan_id = lend(engine, team, products["credit"], amount, grade)
    assert loan_id is not None
    report(engine, team, loan_id, "default")
    with session_scope(engine) as db:
        return funds.file_claim(db, team["bank_risk"], loan_id=loan_id, loss=D(loss)).id


# ----------------------------------------------------------------------------------------- schemes


def test_weihai_scheme_covers_by_grade_amount_and_collateral(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    fund_id = set_up_fund(engine, team, "10000000.00")
    decided = {
        "A": lend(engine, team, products["credit"], "1000000", "A")[0],
        "B": lend(engine, team, products["credit"], "2000000", "B")[0],
        "C": lend(engine, team, products["credit"], "500000", "C", disburse=False)[0],
        "D": lend(engine, team, products["credit"], "300000", "D")[0],
        "A big": lend(engine, team, products["credit"], "6000000", "A")[0],
        "A secured": lend(engine, team, products["mortgage"], "1000000", "A")[0],
        "C secured": lend(engine, team, products["mortgage"], "800000", "C")[0],
    }
    with session_scope(engine) as db:
        got = {name: coverage(db, app_id) for name, app_id in decided.items()}
        assert {n: (c.status, c.fund_pct) for n, c in got.items() if c.status == "covered"} == {
            "A": ("covered", D("80.00")),
            "B": ("covered", D("60.00")),
            "C": ("covered", D("40.00")),
            "C secured": ("covered", D("40.00")),  # a secured loan counts as 100 % collateral: C allows it
        }
        assert got["D"].reason == "Grade %(grade)s is not covered by this fund"
        assert got["A big"].reason.startswith("The loan of %(amount)s yuan is above")
        assert got["A big"].reason_params["max"] == "5,000,000.00"
        assert got["A secured"].reason.startswith("Collateral of")
        # the bank's approvals all stood
        assert all(
            a.status in ("approved", "disbursed")
            for a in (market.get_application(db, team["bank_admin"], i) for i in decided.values())
        )
        fund = funds.get_fund(db, team["fund_manager"], fund_id)
        figures = funds.figures(db, fund)
        assert figures.capital == D("10000000.00") and figures.limit == D("100000000.00")
        assert figures.covered_balance == D("4300000.00")
        by_grade = {g.grade: (g.loans, g.balance, g.fund_share) for g in figures.exposure}
        assert by_grade == {
            "A": (1, D("1000000.00"), D("800000.00")),
            "B": (1, D("2000000.00"), D("1200000.00")),
            "C": (2, D("1300000.00"), D("520000.00")),
        }


def test_the_leverage_limit_refuses_coverage_not_the_loan(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    fund_id = set_up_fund(engine, team, "1000000.00", leverage="2")  # limit 2,000,000
    first, first_loan = lend(engine, team, products["credit"], "1500000", "A")
    second, _ = lend(engine, team, products["credit"], "1000000", "A")
    with session_scope(engine) as db:
        assert coverage(db, first).status == "covered"
        refused = coverage(db, second)
        assert refused.status == "refused"
        assert refused.reason_params == {"balance": "2,500,000.00", "limit": "2,000,000.00"}
        assert funds.figures(db, funds.get_fund(db, team["fund_manager"], fund_id)).covered_balance == D(
            "1500000.00"
        )
    assert first_loan is not None
    report(engine, team, first_loan, "repayment", "1000000.00")  # the covered balance falls as it is repaid
    third, _ = lend(engine, team, products["credit"], "1000000", "A")
    with session_scope(engine) as db:
        assert coverage(db, third).status == "covered"
        summary = funds.cover_approved(db, team["fund_manager"], fund_id)  # nothing left to decide
        assert (summary.covered, summary.refused) == (0, 0)


def test_loans_approved_before_the_fund_are_covered_on_request(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    earlier, _ = lend(engine, team, products["credit"], "1000000", "B")
    fund_id = set_up_fund(engine, team, "1000000.00")
    with session_scope(engine) as db:
        summary = funds.cover_approved(db, team["fund_manager"], fund_id)
        assert (summary.covered, summary.refused) == (1, 0)
        assert coverage(db, earlier).loan_id is not None
        with pytest.raises(PermissionDenied):
            funds.cover_approved(db, team["gov_admin"], fund_id)  # not a fund manager


def test_a_fund_is_set_up_with_valid_terms_only(engine: Engine, team: dict[str, Principal]) -> None:
    manager = team["fund_manager"]
    with session_scope(engine) as db:
        for bad in (
            {"name": "", "leverage": D(10)},
            {"name": "基金", "leverage": D(0)},
            {"name": "基金", "leverage": D(10), "product_ids": [999999]},
            {"name": "基金", "leverage": D(10), "tiers": [funds.Tier("A", None, D(0), D(90), D(20), 1)]},
        ):
            with pytest.raises(ValidationFailed):
                funds.create_fund(db, manager, **bad)  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied):
            funds.create_fund(db, team["bank_admin"], name="基金", leverage=D(10))
        fund = funds.create_fund(db, manager, name="基金", leverage=D(10))
        with pytest.raises(ValidationFailed):
            funds.contribute(db, manager, fund.id, amount=D("-5"), contributor="财政局", key="k")
        funds.contribute(db, manager, fund.id, amount=D("100.00"), contributor="财政局", key="k")
        funds.contribute(db, manager, fund.id, amount=D("100.00"), contributor="财政局", key="k")  # resent
        assert entries(db) == 1
        with pytest.raises(NotFound):
            funds.get_fund(db, manager, 999999)
        with pytest.raises(PermissionDenied):
            funds.get_fund(db, team["gov_admin"], fund.id)  # a department without the fund manager's role


# ----------------------------------------------------------------------------------------- claims


def test_a_claim_is_split_by_the_scheme_paid_and_recoveries_shared_back(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    fund_id = set_up_fund(engine, team, "2000000.00")
    claim_id = defaulted_claim(engine, team, products, "1000000", "A", "500000.00")
    with session_scope(engine) as db:
        claim = funds.get_claim(db, team["fund_manager"], claim_id)
        assert (claim.fund_amount, claim.third_party_amount, claim.institution_amount) == (
            D("400000.00"),
            D("0.00"),
            D("100000.00"),
        )
        assert claim.status == "submitted" and entries(db) == 1
        funds.approve_claim(db, team["fund_manager"], claim_id, note="材料齐全")
    with session_scope(engine) as db:
        fund = funds.get_fund(db, team["fund_manager"], fund_id)
        figures = funds.figures(db, fund)
        assert (figures.cash, figures.payouts) == (D("1600000.00"), D("400000.00"))
        assert figures.covered_balance == D("0.00")  # a paid loan no longer counts
        claim = db.get(Claim, claim_id)
        assert claim is not None and claim.status == "paid" and claim.payout_entry_id is not None
        # the institution recovers 100,000 later: the fund's 80 % comes back
        funds.report_recovery(db, team["bank_risk"], claim_id, amount=D("100000.00"), idempotency_key="r1")
        funds.report_recovery(db, team["bank_risk"], claim_id, amount=D("100000.00"), idempotency_key="r1")
    with session_scope(engine) as db:
        fund = funds.get_fund(db, team["fund_manager"], fund_id)
        figures = funds.figures(db, fund)
        assert (figures.cash, figures.recoveries) == (D("1680000.00"), D("80000.00"))
        assert [r.fund_amount for r in funds.recoveries_of(db, db.get(Claim, claim_id))] == [D("80000.00")]  # type: ignore[arg-type]
        statement = funds.fund_statement(db, team["fund_manager"], fund_id, "cash")
        assert [line.balance_after for line, _ in statement] == [
            D("1680000.00"),
            D("1600000.00"),
            D("2000000.00"),
        ]
        assert funds.check_books(db).ok


def test_every_bad_claim_is_refused_and_the_ledger_is_unchanged(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    set_up_fund(engine, team, "2000000.00")
    _, current = lend(engine, team, products["credit"], "1000000", "A")
    _, uncovered = lend(engine, team, products["credit"], "300000", "D")
    _, loan_id = lend(engine, team, products["credit"], "1000000", "B")
    assert current and uncovered and loan_id
    report(engine, team, uncovered, "default")
    report(engine, team, loan_id, "repayment", "200000.00")
    report(engine, team, loan_id, "default")
    risk = team["bank_risk"]

    def refused(error: type[Exception], attempt: Callable[[Session], object], text: str = "") -> None:
        with session_scope(engine) as db:
            before = entries(db)
            claims = db.scalar(select(func.count()).select_from(Claim))
        with pytest.raises(error) as caught, session_scope(engine) as db:
            attempt(db)
        assert text in str(caught.value)
        with session_scope(engine) as db:
            assert entries(db) == before
            assert db.scalar(select(func.count()).select_from(Claim)) == claims

    refused(Conflict, lambda db: funds.file_claim(db, risk, loan_id=current, loss=D("1000.00")), "default")
    refused(
        Conflict, lambda db: funds.file_claim(db, risk, loan_id=uncovered, loss=D("1000.00")), "not covered"
    )
    refused(
        ValidationFailed,
        lambda db: funds.file_claim(db, risk, loan_id=loan_id, loss=D("800000.01")),
        "800,000.00",  # above the covered outstanding (1,000,000 − 200,000 repaid)
    )
    refused(ValidationFailed, lambda db: funds.file_claim(db, risk, loan_id=loan_id, loss=D("0")))
    refused(
        PermissionDenied, lambda db: funds.file_claim(db, team["bank_manager"], loan_id=loan_id, loss=D("1"))
    )
    refused(
        PermissionDenied, lambda db: funds.file_claim(db, team["fund_manager"], loan_id=loan_id, loss=D("1"))
    )
    with session_scope(engine) as db:
        first = funds.file_claim(db, risk, loan_id=loan_id, loss=D("800000.00"), idempotency_key="k1")
        assert (
            funds.file_claim(db, risk, loan_id=loan_id, loss=D("800000.00"), idempotency_key="k1").id
            == first.id
        )
    refused(
        Conflict,
        lambda db: funds.file_claim(db, risk, loan_id=loan_id, loss=D("1000.00")),
        f"No. {first.id}",  # a second claim for the same default
    )
    refused(ValidationFailed, lambda db: funds.reject_claim(db, team["fund_manager"], first.id, reason=" "))
    refused(PermissionDenied, lambda db: funds.approve_claim(db, team["gov_admin"], first.id))
    refused(PermissionDenied, lambda db: funds.approve_claim(db, risk, first.id))
    refused(Conflict, lambda db: funds.report_recovery(db, risk, first.id, amount=D("10.00")), "paid")
    with session_scope(engine) as db:
        funds.reject_claim(db, team["fund_manager"], first.id, reason="缺少催收记录")
        covered = db.get(CoveredLoan, first.covered_loan_id)
        assert covered is not None and covered.status == "covered"  # the loan stays covered
    refused(Conflict, lambda db: funds.approve_claim(db, team["fund_manager"], first.id), "already reviewed")
    with session_scope(engine) as db:  # after a rejection the institution may file again
        again = funds.file_claim(db, risk, loan_id=loan_id, loss=D("700000.00"))
        assert again.id != first.id and entries(db) == 1


def test_a_claim_the_fund_cannot_pay_is_refused_and_nothing_changes(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    fund_id = set_up_fund(engine, team, "300000.00")
    claim_id = defaulted_claim(
        engine, team, products, "1000000", "A", "500000.00"
    )  # the fund's share: 400,000
    with pytest.raises(funds.InsufficientFunds) as caught, session_scope(engine) as db:
        funds.approve_claim(db, team["fund_manager"], claim_id)
    assert "300,000.00" in str(caught.value) and "400,000.00" in str(caught.value)
    with session_scope(engine) as db:
        claim = db.get(Claim, claim_id)
        assert claim is not None and claim.status == "submitted" and claim.reviewed_by == ""
        assert entries(db) == 1
        assert funds.figures(db, funds.get_fund(db, team["fund_manager"], fund_id)).cash == D("300000.00")


def test_concurrent_approvals_cannot_overdraw_the_fund(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    fund_id = set_up_fund(engine, team, "500000.00")
    claims = [defaulted_claim(engine, team, products, "400000", "A", "400000.00") for _ in range(3)]
    barrier = threading.Barrier(len(claims))
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(claim_id: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as db:
                funds.approve_claim(db, team["fund_manager"], claim_id)
            result = "paid"
        except funds.InsufficientFunds:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=approve, args=(c,)) for c in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["paid", "refused", "refused"]  # 320,000 each from 500,000
    with session_scope(engine) as db:
        assert funds.figures(db, funds.get_fund(db, team["fund_manager"], fund_id)).cash == D("180000.00")
        assert sorted(c.status for c in db.scalars(select(Claim))) == ["paid", "submitted", "submitted"]
        assert funds.check_books(db).ok


def test_two_claims_filed_at_once_for_one_default_give_one(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    set_up_fund(engine, team, "2000000.00")
    _, loan_id = lend(engine, team, products["credit"], "1000000", "A")
    assert loan_id is not None
    report(engine, team, loan_id, "default")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    lock = threading.Lock()

    def file(n: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as db:
                funds.file_claim(db, team["bank_risk"], loan_id=loan_id, loss=D("1000.00") + n)
            result = "filed"
        except Conflict:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=file, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["filed", "refused", "refused", "refused"]
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 1


def test_institutions_and_fund_managers_see_only_their_own(
    engine: Engine, team: dict[str, Principal], products: dict[str, int]
) -> None:
    fund_id = set_up_fund(engine, team, "2000000.00")
    claim_id = defaulted_claim(engine, team, products, "1000000", "A", "1000.00")
    with session_scope(engine) as db:
        assert [c.id for c in funds.list_claims(db, team["bank_admin"])[0]] == [claim_id]
        assert [c.id for c in funds.list_claims(db, team["fund_manager"], status="submitted")[0]] == [
            claim_id
        ]
        with pytest.raises(PermissionDenied):
            funds.list_funds(db, team["gov_admin"])
        with pytest.raises(NotFound):
            funds.get_claim(db, team["ent_admin"], claim_id)
        assert funds.claimable_loans(db, team["bank_admin"]) == []  # claimed already
        assert [a.key for a in funds.fund_accounts(db, team["fund_manager"], fund_id)] == [
            "cash",
            "capital",
            "payouts",
            "recoveries",
            "fees",
        ]


# ----------------------------------------------------------------------------------------- the books


def test_funds_check_proves_the_books_and_names_a_problem(
    cli_env: dict[str, str],  # noqa: F811
    engine: Engine,
    team: dict[str, Principal],
) -> None:
    set_up_fund(engine, team, "1000.00")
    result = CliRunner().invoke(cli_app, ["funds", "check"])
    assert result.exit_code == 0, result.output
    assert "1 笔分录" in result.output
    with session_scope(engine) as db:
        line = db.scalars(select(JournalLine).order_by(JournalLine.id)).first()
        assert line is not None
        db.execute(update(JournalLine).where(JournalLine.id == line.id).values(debit=D("999.00")))
    result = CliRunner().invoke(cli_app, ["funds", "check"])
    assert result.exit_code == 1
    assert "guarantee_fund:1:cash" in result.output or "debits 999.00" in result.output
