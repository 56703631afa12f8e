"""The demo city end to end: synthetic deliveries → lake → registry → demo logins in that city."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from xinyidai import demo, demo_funds, demo_market, demo_policies, demo_programmes
from xinyidai.accounts.models import User
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.notifications import Notification
from xinyidai.core.settings import Settings
from xinyidai.data import service as data
from xinyidai.data.lake import Lake
from xinyidai.funds import ledger
from xinyidai.funds.models import JournalEntry
from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund, SharingScheme
from xinyidai.market.models import Application, DispatchRun, Loan, Need, Order, Product, WhitelistEntry
from xinyidai.rating import service as rating
from xinyidai.rating.models import RatingRun


def test_demo_enterprises_belong_to_the_ingested_city(engine: Engine, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    session = session_factory(engine)()
    try:
        demo.build_city(session, lake, tmp_path / "city", enterprises=300, months=3)
    finally:
        session.close()
    registration = lake.scan("registration", columns=["uscc", "status"]).to_pylist()
    in_business = {r["uscc"] for r in registration if r["status"] == "存续"}
    with session_scope(engine) as db:
        assert data.count_registry(db) == len({r["uscc"] for r in registration})
        demo.build(db)
        admin = db.scalars(select(User).where(User.username == "ent_admin")).one()
        profile = admin.organisation.enterprise
        assert profile is not None and profile.uscc in in_business
        uscc = profile.uscc
    # The city is rated twice, a quarter apart; the demo enterprise sees its grade and why.
    with session_scope(engine) as db:
        demo.rate_city(db, lake)
    with session_scope(engine) as db:
        runs = db.scalars(select(RatingRun).order_by(RatingRun.as_of)).all()
        assert len(runs) == 2 and runs[1].enterprises == len({r["uscc"] for r in registration})
        assert sum(runs[1].grades.values()) == runs[1].enterprises
        own = rating.enterprise_rating(db, lake, uscc)
        assert own.grade in "ABCD" and own.reasons["down"] and own.as_of == runs[1].as_of
        demo.rate_city(db, lake)  # once only
        assert len(db.scalars(select(RatingRun)).all()) == 2
    # Building again (a restarted demo) changes nothing and fails nowhere.
    session = session_factory(engine)()
    try:
        demo.build_city(session, lake, tmp_path / "city", enterprises=300, months=3)
    finally:
        session.close()
    with session_scope(engine) as db:
        assert data.count_registry(db) == len({r["uscc"] for r in registration})
    # The marketplace: products, needs, offers, applications and loans in every state.
    with session_scope(engine) as db:
        demo_market.fill_market(db, lake, Settings())
    with session_scope(engine) as db:
        products = {p.status for p in db.scalars(select(Product))}
        assert products == {"draft", "pending_review", "listed", "delisted"}
        needs = {n.status for n in db.scalars(select(Need))}
        assert {"open", "withdrawn", "expired"} <= needs
        applications = {a.status for a in db.scalars(select(Application))}
        assert {"submitted", "accepted", "approved", "rejected", "withdrawn", "disbursed"} <= applications
        loans = {loan.status for loan in db.scalars(select(Loan))}
        assert loans >= {"current", "overdue", "defaulted", "repaid"}
        own_need = db.scalars(select(Need).where(Need.uscc == uscc)).first()
        assert own_need is not None
        assert {o.status for o in db.scalars(select(Order).where(Order.need_id == own_need.id))} <= {
            "offered"
        }
        late = db.scalars(select(Notification).where(Notification.topic == "market.sla")).all()
        assert late and all(n.organisation_id is not None for n in late)  # the bank was reminded
        assert db.scalar(select(func.count()).select_from(WhitelistEntry)) == 8
        run = db.scalars(select(DispatchRun)).one()
        assert run.assigned > 0 and run.gap == 0
        demo_market.fill_market(db, lake, Settings())  # once only
    # Public money and policies on top of the marketplace: a fund covering loans with a paid claim,
    # bridge loans and subsidies, policies with applications; the books balance.
    with session_scope(engine) as db:
        demo_funds.fill_funds(db, Settings())
        demo_programmes.fill_programmes(db, Settings())
        demo_policies.fill_policies(db, Settings())
    with session_scope(engine) as db:
        assert ledger.check_books(db).ok
        assert db.scalar(select(func.count()).select_from(JournalEntry)) > 3
        # the fund uses version 2 of its scheme; loans covered under version 1 kept their terms and paid fees
        fund = db.scalars(select(GuaranteeFund).where(GuaranteeFund.name == demo_funds.FUND_NAME)).one()
        scheme = db.get(SharingScheme, fund.scheme_id)
        assert scheme is not None and scheme.version == 2 and scheme.fee_rate == demo_funds.FEE_RATE
        fees = db.scalars(select(CoveredLoan).where(CoveredLoan.fee_amount > 0)).all()
        assert fees and all(c.fee_entry_id is not None and c.third_party_pct == 0 for c in fees)
        assert db.scalar(select(func.count()).select_from(Product)) == 9
