"""Pages of the public-money programmes: emergency bridge loans (the enterprise applies, its bank confirms
the renewal, the fund manager approves, disburses and records the repayment), interest subsidies (policy,
budget, computed list with its working, Excel export, pay-out) and the fund simulation.

Each endpoint calls one service of ``funds``; a refused action re-shows its page with the message
(``handle_form``) and nothing is saved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.clock import today_local
from xinyidai.core.errors import ValidationFailed
from xinyidai.funds import bridge, simulation, subsidies
from xinyidai.funds.programmes_models import BridgeFund
from xinyidai.market import service as market
from xinyidai.market.models import Loan
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_date, form_decimal, form_value, handle_form, redirect
from xinyidai.web.templating import render

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ENTERPRISE = Permission.ENTERPRISE_FINANCE
BANK_READ = Permission.INSTITUTION_WORKBENCH
BANK_DECIDE = Permission.CREDIT_DECIDE
FUND = Permission.FUNDS_MANAGE
SUBSIDY = Permission.SUBSIDIES_MANAGE
SIMULATE = Permission.FUNDS_SIMULATE
MAX_WEB_PATHS = 10_000
MAX_WEB_LOANS = 200_000


def _decimal(request: Request, name: str) -> Decimal:
    return form_decimal(request, name)


def _int(request: Request, name: str) -> int:
    try:
        return int(form_value(request, name))
    except ValueError:
        raise ValidationFailed("Enter a whole number", field=name) from None


def _date(request: Request, name: str, default: date | None = None) -> date:
    found = form_date(request, name)
    if found is not None:
        return found
    if default is None:
        raise ValidationFailed("Enter a date (YYYY-MM-DD)", field=name)
    return default


def _base(request: Request, principal: Principal, **extra: Any) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    context: dict[str, Any] = {
        "bridge_states": bridge.STATE_LABELS,
        "run_states": subsidies.RUN_LABELS,
        "line_states": subsidies.LINE_LABELS,
        "values": {},
        "today": today_local(),
        "money": lambda v: "—" if v is None else f"{Decimal(v):,.2f}",
    }
    context.update(extra)
    return context


def _gettext(request: Request) -> Callable[[str], str]:
    return i18n.translations(getattr(request.state, "locale", i18n.DEFAULT_LOCALE)).gettext


# ------------------------------------------------------------------------------ enterprise: bridge loans


def _ent_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    loans = bridge.loans_to_bridge(db, principal)
    return _base(
        request,
        principal,
        bridges=bridge.list_bridge_loans(db, principal),
        funds=bridge.list_funds(db, principal),
        loans=loans,
        institutions=market.organisation_names(db, (x.institution_id for x in loans)),
        idempotency_key=uuid.uuid4().hex,
        window=bridge.APPLY_WINDOW_DAYS,
    )


@router.get("/enterprise/bridge-loans")
def enterprise_bridge_loans(
    request: Request, db: DbSession, principal: Principal = page_guard(ENTERPRISE)
) -> Response:
    return render(request, "prog_ent_bridge_loans.html", _ent_context(request, db, principal))


@router.post("/enterprise/bridge-loans")
def enterprise_apply(
    request: Request, db: DbSession, principal: Principal = page_guard(ENTERPRISE)
) -> Response:
    def act() -> Response:
        made = bridge.apply(
            db,
            principal,
            fund_id=_int(request, "fund_id"),
            loan_id=_int(request, "loan_id"),
            amount=_decimal(request, "amount"),
            days=_int(request, "days"),
            idempotency_key=form_value(request, "idempotency_key") or None,
        )
        return redirect(f"/enterprise/bridge-loans/{made.id}")

    return handle_form(
        request, db, "prog_ent_bridge_loans.html", lambda: _ent_context(request, db, principal), act
    )


def _detail_context(
    request: Request, db: DbSession, principal: Principal, bridge_id: int, side: str
) -> dict[str, Any]:
    found = bridge.get_bridge_loan(db, principal, bridge_id)
    loan = db.get(Loan, found.loan_id)
    names = market.organisation_names(db, [found.institution_id])
    fund = db.get(BridgeFund, found.fund_id)
    return _base(
        request,
        principal,
        b=found,
        loan=loan,
        fund=fund,
        institution=names.get(found.institution_id, ""),
        events=bridge.bridge_events(db, principal, bridge_id),
        actions=bridge.allowed_actions(found.status),
        side=side,
        may_decide=can(principal, BANK_DECIDE),
        estimated_fee=bridge.fee_for(
            Decimal(found.amount), Decimal(found.daily_fee_per_mille), found.days_requested
        ),
    )


@router.get("/enterprise/bridge-loans/{bridge_id}")
def enterprise_bridge_loan(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(ENTERPRISE)
) -> Response:
    return render(
        request, "prog_bridge_loan.html", _detail_context(request, db, principal, bridge_id, "enterprise")
    )


@router.post("/enterprise/bridge-loans/{bridge_id}/withdraw")
def enterprise_withdraw(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(ENTERPRISE)
) -> Response:
    def act() -> Response:
        bridge.withdraw(db, principal, bridge_id)
        return redirect(f"/enterprise/bridge-loans/{bridge_id}")

    return handle_form(
        request,
        db,
        "prog_bridge_loan.html",
        lambda: _detail_context(request, db, principal, bridge_id, "enterprise"),
        act,
    )


# ---------------------------------------------------------------------------- the bank: confirm renewal


@router.get("/institution/bridge-loans")
def institution_bridge_loans(
    request: Request, db: DbSession, principal: Principal = page_guard(BANK_READ)
) -> Response:
    return render(
        request,
        "prog_inst_bridge_loans.html",
        _base(request, principal, bridges=bridge.list_bridge_loans(db, principal)),
    )


@router.get("/institution/bridge-loans/{bridge_id}")
def institution_bridge_loan(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(BANK_READ)
) -> Response:
    return render(
        request, "prog_bridge_loan.html", _detail_context(request, db, principal, bridge_id, "institution")
    )


@router.post("/institution/bridge-loans/{bridge_id}/confirm")
def institution_confirm(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(BANK_DECIDE)
) -> Response:
    def act() -> Response:
        bridge.confirm_renewal(
            db,
            principal,
            bridge_id,
            renewal_amount=_decimal(request, "renewal_amount"),
            note=form_value(request, "note"),
        )
        return redirect(f"/institution/bridge-loans/{bridge_id}")

    return handle_form(
        request,
        db,
        "prog_bridge_loan.html",
        lambda: _detail_context(request, db, principal, bridge_id, "institution"),
        act,
    )


@router.post("/institution/bridge-loans/{bridge_id}/decline")
def institution_decline(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(BANK_DECIDE)
) -> Response:
    def act() -> Response:
        bridge.decline_renewal(db, principal, bridge_id, note=form_value(request, "note"))
        return redirect(f"/institution/bridge-loans/{bridge_id}")

    return handle_form(
        request,
        db,
        "prog_bridge_loan.html",
        lambda: _detail_context(request, db, principal, bridge_id, "institution"),
        act,
    )


# ------------------------------------------------------------------------- the fund manager: bridge funds


def _funds_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    funds = bridge.list_funds(db, principal)
    return _base(
        request,
        principal,
        funds=funds,
        positions={f.id: bridge.fund_position(db, f) for f in funds},
        queue=[b for b in bridge.list_bridge_loans(db, principal) if b.status in bridge.LIVE],
    )


@router.get("/government/bridge-funds")
def bridge_funds(request: Request, db: DbSession, principal: Principal = page_guard(FUND)) -> Response:
    return render(request, "prog_bridge_funds.html", _funds_context(request, db, principal))


@router.post("/government/bridge-funds")
def create_bridge_fund(request: Request, db: DbSession, principal: Principal = page_guard(FUND)) -> Response:
    def act() -> Response:
        fund = bridge.create_fund(
            db,
            principal,
            name=form_value(request, "name"),
            daily_fee_per_mille=_decimal(request, "daily_fee_per_mille"),
            max_amount_per_enterprise=_decimal(request, "max_amount_per_enterprise"),
            max_times_per_year=_int(request, "max_times_per_year"),
            max_days=_int(request, "max_days"),
        )
        return redirect(f"/government/bridge-funds/{fund.id}")

    return handle_form(
        request, db, "prog_bridge_funds.html", lambda: _funds_context(request, db, principal), act
    )


def _fund_context(request: Request, db: DbSession, principal: Principal, fund_id: int) -> dict[str, Any]:
    fund = bridge.get_fund(db, principal, fund_id)
    return _base(
        request,
        principal,
        fund=fund,
        position=bridge.fund_position(db, fund),
        contributions=bridge.list_contributions(db, fund),
        bridges=bridge.list_bridge_loans(db, principal, fund_id=fund.id),
        idempotency_key=uuid.uuid4().hex,
    )


@router.get("/government/bridge-funds/{bridge_fund_id}")
def bridge_fund(
    request: Request, bridge_fund_id: int, db: DbSession, principal: Principal = page_guard(FUND)
) -> Response:
    return render(request, "prog_bridge_fund.html", _fund_context(request, db, principal, bridge_fund_id))


@router.post("/government/bridge-funds/{bridge_fund_id}/contributions")
def contribute(
    request: Request, bridge_fund_id: int, db: DbSession, principal: Principal = page_guard(FUND)
) -> Response:
    def act() -> Response:
        bridge.contribute(
            db,
            principal,
            bridge_fund_id,
            contributor=form_value(request, "contributor"),
            amount=_decimal(request, "amount"),
            contributed_on=_date(request, "contributed_on", today_local()),
            key=form_value(request, "idempotency_key") or uuid.uuid4().hex,
        )
        return redirect(f"/government/bridge-funds/{bridge_fund_id}")

    return handle_form(
        request,
        db,
        "prog_bridge_fund.html",
        lambda: _fund_context(request, db, principal, bridge_fund_id),
        act,
    )


@router.get("/government/bridge-loans/{bridge_id}")
def government_bridge_loan(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(FUND)
) -> Response:
    return render(
        request, "prog_bridge_loan.html", _detail_context(request, db, principal, bridge_id, "government")
    )


def _manage(
    request: Request, db: DbSession, principal: Principal, bridge_id: int, move: Callable[[], Any]
) -> Response:
    def act() -> Response:
        move()
        return redirect(f"/government/bridge-loans/{bridge_id}")

    return handle_form(
        request,
        db,
        "prog_bridge_loan.html",
        lambda: _detail_context(request, db, principal, bridge_id, "government"),
        act,
    )


@router.post("/government/bridge-loans/{bridge_id}/approve")
def approve_bridge(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(FUND)
) -> Response:
    return _manage(
        request,
        db,
        principal,
        bridge_id,
        lambda: bridge.approve(db, principal, bridge_id, note=form_value(request, "note")),
    )


@router.post("/government/bridge-loans/{bridge_id}/reject")
def reject_bridge(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(FUND)
) -> Response:
    return _manage(
        request,
        db,
        principal,
        bridge_id,
        lambda: bridge.reject(db, principal, bridge_id, note=form_value(request, "note")),
    )


@router.post("/government/bridge-loans/{bridge_id}/disburse")
def disburse_bridge(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(FUND)
) -> Response:
    return _manage(
        request,
        db,
        principal,
        bridge_id,
        lambda: bridge.disburse(db, principal, bridge_id, on=_date(request, "on", today_local())),
    )


@router.post("/government/bridge-loans/{bridge_id}/repay")
def repay_bridge(
    request: Request, bridge_id: int, db: DbSession, principal: Principal = page_guard(FUND)
) -> Response:
    return _manage(
        request,
        db,
        principal,
        bridge_id,
        lambda: bridge.record_repayment(db, principal, bridge_id, on=_date(request, "on", today_local())),
    )


# --------------------------------------------------------------------------------- interest subsidies


def _policies_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    policies = subsidies.list_policies(db, principal)
    return _base(
        request,
        principal,
        policies=policies,
        budgets={p.id: subsidies.budget_balance(db, p) for p in policies},
    )


@router.get("/government/subsidies")
def subsidy_policies(request: Request, db: DbSession, principal: Principal = page_guard(SUBSIDY)) -> Response:
    return render(request, "prog_subsidies.html", _policies_context(request, db, principal))


@router.post("/government/subsidies")
def create_subsidy_policy(
    request: Request, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    def act() -> Response:
        policy = subsidies.create_policy(
            db,
            principal,
            name=form_value(request, "name"),
            points=_decimal(request, "points"),
            max_loan_rate=_decimal(request, "max_loan_rate"),
            cap_per_enterprise_year=_decimal(request, "cap_per_enterprise_year"),
            starts_on=_date(request, "starts_on"),
            ends_on=_date(request, "ends_on"),
        )
        return redirect(f"/government/subsidies/{policy.id}")

    return handle_form(
        request, db, "prog_subsidies.html", lambda: _policies_context(request, db, principal), act
    )


def _policy_context(request: Request, db: DbSession, principal: Principal, policy_id: int) -> dict[str, Any]:
    policy = subsidies.get_policy(db, principal, policy_id)
    return _base(
        request,
        principal,
        policy=policy,
        budget=subsidies.budget_balance(db, policy),
        runs=subsidies.list_runs(db, principal, policy_id),
        idempotency_key=uuid.uuid4().hex,
    )


@router.get("/government/subsidies/{subsidy_policy_id}")
def subsidy_policy(
    request: Request, subsidy_policy_id: int, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    return render(
        request, "prog_subsidy_policy.html", _policy_context(request, db, principal, subsidy_policy_id)
    )


@router.post("/government/subsidies/{subsidy_policy_id}/budget")
def subsidy_budget(
    request: Request, subsidy_policy_id: int, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    def act() -> Response:
        subsidies.fund_budget(
            db,
            principal,
            subsidy_policy_id,
            amount=_decimal(request, "amount"),
            key=form_value(request, "idempotency_key") or uuid.uuid4().hex,
        )
        return redirect(f"/government/subsidies/{subsidy_policy_id}")

    return handle_form(
        request,
        db,
        "prog_subsidy_policy.html",
        lambda: _policy_context(request, db, principal, subsidy_policy_id),
        act,
    )


@router.post("/government/subsidies/{subsidy_policy_id}/runs")
def compute_subsidies(
    request: Request, subsidy_policy_id: int, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    def act() -> Response:
        run = subsidies.compute(
            db,
            principal,
            subsidy_policy_id,
            period_start=_date(request, "period_start"),
            period_end=_date(request, "period_end"),
        )
        return redirect(f"/government/subsidy-runs/{run.id}")

    return handle_form(
        request,
        db,
        "prog_subsidy_policy.html",
        lambda: _policy_context(request, db, principal, subsidy_policy_id),
        act,
    )


def _run_context(request: Request, db: DbSession, principal: Principal, run_id: int) -> dict[str, Any]:
    run, policy = subsidies.get_run(db, principal, run_id)
    return _base(
        request,
        principal,
        run=run,
        policy=policy,
        lines=subsidies.run_lines(db, run),
        budget=subsidies.budget_balance(db, policy),
    )


@router.get("/government/subsidy-runs/{subsidy_run_id}")
def subsidy_run(
    request: Request, subsidy_run_id: int, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    return render(request, "prog_subsidy_run.html", _run_context(request, db, principal, subsidy_run_id))


@router.get("/government/subsidy-runs/{subsidy_run_id}/export.xlsx")
def export_subsidy_run(
    request: Request, subsidy_run_id: int, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    run, _policy = subsidies.get_run(db, principal, subsidy_run_id)
    content = subsidies.export_xlsx(subsidies.run_lines(db, run), _gettext(request))
    name = f"subsidies-{run.id}-{run.period_start}-{run.period_end}.xlsx"
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/government/subsidy-runs/{subsidy_run_id}/pay")
def pay_subsidy_run(
    request: Request, subsidy_run_id: int, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    def act() -> Response:
        subsidies.pay_out(db, principal, subsidy_run_id)
        return redirect(f"/government/subsidy-runs/{subsidy_run_id}")

    return handle_form(
        request,
        db,
        "prog_subsidy_run.html",
        lambda: _run_context(request, db, principal, subsidy_run_id),
        act,
    )


@router.post("/government/subsidy-runs/{subsidy_run_id}/discard")
def discard_subsidy_run(
    request: Request, subsidy_run_id: int, db: DbSession, principal: Principal = page_guard(SUBSIDY)
) -> Response:
    def act() -> Response:
        run = subsidies.discard(db, principal, subsidy_run_id)
        return redirect(f"/government/subsidies/{run.policy_id}")

    return handle_form(
        request,
        db,
        "prog_subsidy_run.html",
        lambda: _run_context(request, db, principal, subsidy_run_id),
        act,
    )


# --------------------------------------------------------------------------------------- simulation

SIM_DEFAULTS: dict[str, str] = {
    "source": "book",
    "capital": "100000000",
    "months": "36",
    "paths": "2000",
    "seed": "1",
    "lgd": "60",
    "correlation": "10",
    "loans": "10000",
    "mean_amount": "500000",
    **{
        f"pd_{g}": str(round(p * 100, 2))
        for g, p in zip(simulation.WEIHAI_GRADES, simulation.DEFAULT_PD, strict=True)
    },
    **{
        f"share_{g}": str(round(s * 100))
        for g, s in zip(simulation.WEIHAI_GRADES, simulation.WEIHAI_SHARES, strict=True)
    },
    **{f"mix_{g}": m for g, m in zip(simulation.WEIHAI_GRADES, ("40", "35", "20", "5"), strict=True)},
}


def _sim_context(request: Request, principal: Principal, **extra: Any) -> dict[str, Any]:
    return _base(request, principal, grades=simulation.WEIHAI_GRADES, values=dict(SIM_DEFAULTS), **extra)


@router.get("/government/simulation")
def simulation_page(request: Request, principal: Principal = page_guard(SIMULATE)) -> Response:
    return render(request, "prog_simulation.html", _sim_context(request, principal))


def _percent(request: Request, name: str) -> float:
    value = float(_decimal(request, name))
    if not 0 <= value <= 100:
        raise ValidationFailed("Enter a percentage between 0 and 100", field=name)
    return value / 100


def _book(db: DbSession) -> tuple[list[float], list[str], list[int]]:
    """The platform's loan book now: outstanding, grade and months to maturity of every live loan."""
    today = today_local()
    rows = db.execute(
        select(Loan.outstanding, Loan.grade, Loan.maturity_on).where(
            Loan.status.in_(("current", "overdue")), Loan.outstanding > 0
        )
    ).all()
    return (
        [float(r.outstanding) for r in rows],
        [r.grade for r in rows],
        [max(0, (r.maturity_on - today).days // 30) for r in rows],
    )


@router.post("/government/simulation")
def run_simulation(request: Request, db: DbSession, principal: Principal = page_guard(SIMULATE)) -> Response:
    import numpy as np

    def act() -> Response:
        grades = simulation.WEIHAI_GRADES
        paths = _int(request, "paths")
        if not 1 <= paths <= MAX_WEB_PATHS:
            raise ValidationFailed("1 to %(n)s paths", field="paths", n=MAX_WEB_PATHS)
        months = _int(request, "months")
        if not 1 <= months <= simulation.MAX_MONTHS:
            raise ValidationFailed("1 to %(n)s months", field="months", n=simulation.MAX_MONTHS)
        capital = float(_decimal(request, "capital"))
        if capital < 0:
            raise ValidationFailed("Enter an amount in yuan of zero or more", field="capital")
        pd = [_percent(request, f"pd_{g}") for g in grades]
        if any(p >= 1 for p in pd):
            raise ValidationFailed("An annual default rate must be below 100 %", field="pd_D")
        share = [_percent(request, f"share_{g}") for g in grades]
        lgd = _percent(request, "lgd")
        correlation = _percent(request, "correlation")
        if correlation >= 1:
            raise ValidationFailed("The correlation is below 100 %", field="correlation")
        source = form_value(request, "source", "book")
        maturity: list[int] | None = None
        if source == "book":
            exposure, names, maturity = _book(db)
            grade = simulation.grade_index(names, grades)
            if not exposure:
                raise ValidationFailed("There is no live loan on the platform yet", field="source")
        else:
            loans = _int(request, "loans")
            if not 1 <= loans <= MAX_WEB_LOANS:
                raise ValidationFailed("1 to %(n)s loans", field="loans", n=MAX_WEB_LOANS)
            mix = np.array([_percent(request, f"mix_{g}") for g in grades])
            if mix.sum() <= 0:
                raise ValidationFailed("Give the share of loans in at least one grade", field="mix_A")
            mean_amount = float(_decimal(request, "mean_amount"))
            if mean_amount <= 0:
                raise ValidationFailed("Enter an amount in yuan above zero", field="mean_amount")
            rng = np.random.default_rng(_int(request, "seed"))
            grade = rng.choice(len(grades), size=loans, p=mix / mix.sum())
            # loan sizes of small firms are skewed: log-normal with the given mean
            exposure = list(rng.lognormal(np.log(mean_amount) - 0.32, 0.8, size=loans))
        result = simulation.simulate(
            exposure,
            grade,
            pd=pd,
            lgd=lgd,
            fund_share=share,
            capital=capital,
            months=months,
            paths=paths,
            seed=_int(request, "seed"),
            correlation=correlation,
            maturity_months=maturity,
        )
        ctx = _sim_context(request, principal, result=result)
        ctx["values"] = {k: form_value(request, k, v) for k, v in SIM_DEFAULTS.items()}
        return render(request, "prog_simulation.html", ctx)

    return handle_form(request, db, "prog_simulation.html", lambda: _sim_context(request, principal), act)
