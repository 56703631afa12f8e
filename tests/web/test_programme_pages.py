"""The programme pages over HTTP: an enterprise applies for a bridge loan, its bank confirms, the fund
manager approves and disburses; subsidy lists export to Excel; the simulation runs on parameters."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import Engine, select

from tests.conftest import LoggedIn
from tests.integration.test_bridge_loans import enterprises, make_loan, people
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.demo_programmes import fill_programmes
from xinyidai.funds.programmes_models import BridgeFund, BridgeLoan, SubsidyRun
from xinyidai.market.models import Loan


def _demo(engine: Engine, settings: Settings) -> int:
    with session_scope(engine) as db:
        p = people(db)
        bank = p["bank_admin"].organisation_id
        for firm in enterprises(db, 4):
            make_loan(db, firm, bank, rate="3.85", disbursed_on=today_local() - timedelta(days=200))
        make_loan(db, p["ent_admin"], bank, amount="600000", rate="3.85")
        fill_programmes(db, settings)
        fill_programmes(db, settings)  # once
        return db.scalars(select(BridgeFund)).one().id


def test_bridge_loan_pages_from_application_to_disbursement(
    engine: Engine, settings: Settings, login: Callable[[str], LoggedIn]
) -> None:
    fund_id = _demo(engine, settings)
    ent = login("ent_admin")
    page = ent.client.get("/enterprise/bridge-loans")
    assert page.status_code == 200 and 'data-testid="bridge-apply-form"' in page.text
    with session_scope(engine) as db:
        bridged = select(BridgeLoan.loan_id)
        loan = db.scalars(select(Loan).where(Loan.amount == 600000, Loan.id.not_in(bridged))).one()
        loan_id = loan.id
    refused = ent.post_form(
        "/enterprise/bridge-loans",
        {"fund_id": fund_id, "loan_id": loan_id, "amount": "700000", "days": "5", "idempotency_key": "a"},
    )
    assert refused.status_code == 422 and 'data-testid="form-error"' in refused.text
    made = ent.post_form(
        "/enterprise/bridge-loans",
        {"fund_id": fund_id, "loan_id": loan_id, "amount": "500000", "days": "5", "idempotency_key": "b"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    url = made.headers["location"]
    bid = url.rsplit("/", 1)[1]
    bank = login("bank_risk")
    assert bank.client.get("/institution/bridge-loans").status_code == 200
    confirmed = bank.post_form(f"/institution/bridge-loans/{bid}/confirm", {"renewal_amount": "600000"})
    assert confirmed.status_code == 200
    with session_scope(engine) as db:
        assert db.get(BridgeLoan, int(bid)).status == "confirmed"  # type: ignore[union-attr]
    fm = login("fund_manager")
    assert 'data-testid="queue-row"' in fm.client.get("/government/bridge-funds").text
    assert fm.post_form(f"/government/bridge-loans/{bid}/approve", {"note": "ok"}).status_code == 200
    done = fm.post_form(f"/government/bridge-loans/{bid}/disburse", {"on": today_local().isoformat()})
    assert done.status_code == 200
    with session_scope(engine) as db:
        assert db.get(BridgeLoan, int(bid)).status == "in_use"  # type: ignore[union-attr]
    twice = fm.post_form(f"/government/bridge-loans/{bid}/disburse", {"on": today_local().isoformat()})
    assert twice.status_code == 409 and 'data-testid="form-error"' in twice.text
    fund_page = fm.client.get(f"/government/bridge-funds/{fund_id}")
    assert fund_page.status_code == 200 and fund_page.text.count('data-testid="contributor-row"') == 2
    assert ent.client.get(url).status_code == 200
    # another role's page answers 404 for someone else's loan, the guard 403 for the wrong role
    assert login("gov_admin").client.get(f"/government/bridge-loans/{bid}").status_code == 403


def test_subsidy_and_simulation_pages(
    engine: Engine, settings: Settings, login: Callable[[str], LoggedIn]
) -> None:
    _demo(engine, settings)
    fm = login("fund_manager")
    assert 'data-testid="policy-row"' in fm.client.get("/government/subsidies").text
    with session_scope(engine) as db:
        run = db.scalars(select(SubsidyRun)).one()
        run_id = run.id
    page = fm.client.get(f"/government/subsidy-runs/{run_id}")
    assert page.status_code == 200 and page.text.count('data-testid="line-row"') >= 1
    export = fm.client.get(f"/government/subsidy-runs/{run_id}/export.xlsx")
    assert export.status_code == 200
    assert len(load_workbook(io.BytesIO(export.content)).sheetnames) == 2
    paid = fm.post_form(f"/government/subsidy-runs/{run_id}/pay", follow_redirects=False)
    assert paid.status_code == 303
    assert fm.post_form(f"/government/subsidy-runs/{run_id}/pay", follow_redirects=False).status_code == 303
    staff = login("gov_staff")
    assert staff.client.get("/government/simulation").status_code == 200
    form = {
        "source": "parameters",
        "loans": "2000",
        "mean_amount": "500000",
        "capital": "20000000",
        "months": "24",
        "paths": "200",
        "seed": "1",
        "lgd": "60",
        "correlation": "10",
    }
    for g, pd, share, mix in zip(
        "ABCD", ("1", "3", "8", "20"), ("80", "60", "40", "0"), ("40", "35", "20", "5"), strict=True
    ):
        form |= {f"pd_{g}": pd, f"share_{g}": share, f"mix_{g}": mix}
    result = staff.post_form("/government/simulation", form)
    assert result.status_code == 200 and 'data-testid="simulation-result"' in result.text
    book = staff.post_form("/government/simulation", {**form, "source": "book"})
    assert book.status_code == 200 and 'data-testid="sim-mean"' in book.text
    bad = staff.post_form("/government/simulation", {**form, "paths": "100001"})
    assert bad.status_code == 422
