"""Risk-sharing schemes and guarantee fees: the fund manager writes and revises schemes (bands by grade and
amount, fund / bank / third-party shares, collateral limits, the fee rate) and chooses the one a fund uses;
fees by bank and loan with an Excel export; the bank's own fees and the collateral value it states."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, can
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.funds import service as funds
from xinyidai.market import service as market
from xinyidai.web.deps import DbSession, page_guard
from xinyidai.web.navigation import navigation_for
from xinyidai.web.pages.common import form_decimal, form_value, handle_form, redirect
from xinyidai.web.pages.funds import _fund_context
from xinyidai.web.pages.institution_market import _application_context
from xinyidai.web.templating import render

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BANDS = 40
BLANK_ROWS = 3
NUMBER = N_("Enter percentages and amounts as numbers")


def _gettext(request: Request) -> Callable[[str], str]:
    return i18n.translations(getattr(request.state, "locale", i18n.DEFAULT_LOCALE)).gettext


# ----------------------------------------------------------------------------------------- the band form


def _optional(request: Request, name: str) -> Decimal | None:
    return form_decimal(request, name, NUMBER) if form_value(request, name) else None


def _tiers(request: Request) -> list[funds.Tier]:
    """The bands posted by the scheme form: rows ``band-<i>-<field>``; a row without a grade is skipped."""
    try:
        count = min(MAX_BANDS, max(0, int(form_value(request, "band_count") or "0")))
    except ValueError:
        count = 0
    tiers = []
    for i in range(count):
        grade = form_value(request, f"band-{i}-grade")
        if not grade:
            continue
        if grade not in funds.GRADES:
            raise ValidationFailed("Choose the grade of every band", field=f"band-{i}-grade")
        covered = form_value(request, f"band-{i}-covered") in ("on", "1", "true")
        zero = Decimal(0)
        tiers.append(
            funds.Tier(
                grade=grade,
                amount_max=_optional(request, f"band-{i}-amount_max"),
                collateral_max_pct=_optional(request, f"band-{i}-collateral") or zero,
                fund_pct=_optional(request, f"band-{i}-fund") or zero,
                third_party_pct=_optional(request, f"band-{i}-third") or zero,
                third_party_name=form_value(request, f"band-{i}-third_name"),
                amount_min=_optional(request, f"band-{i}-amount_min") or zero,
                covered=covered,
                bank_pct=_optional(request, f"band-{i}-bank") if covered else None,
            )
        )
    return tiers


def _fee_rate(request: Request) -> Decimal:
    return (
        form_decimal(request, "fee_rate", N_("Enter the fee rate as a number"))
        if form_value(request, "fee_rate")
        else Decimal(0)
    )


def _band_rows(tiers: list[funds.Tier]) -> list[dict[str, Any]]:
    def num(value: Decimal | None) -> str:
        return "" if value is None else f"{value.normalize():f}"

    rows = [
        {
            "grade": t.grade,
            "covered": t.covered,
            "amount_min": num(t.amount_min) if t.amount_min else "",
            "amount_max": num(t.amount_max),
            "collateral": num(t.collateral_max_pct) if t.covered else "",
            "fund": num(t.fund_pct) if t.covered else "",
            "bank": num(t.bank_pct) if t.covered and t.bank_pct is not None else "",
            "third": num(t.third_party_pct) if t.third_party_pct else "",
            "third_name": t.third_party_name,
        }
        for t in tiers
    ]
    rows += [{"grade": "", "covered": True} for _ in range(BLANK_ROWS)]
    return rows


def _posted_rows(request: Request) -> list[dict[str, Any]]:
    """The rows as typed, to show them again with the error."""
    try:
        count = min(MAX_BANDS, max(0, int(form_value(request, "band_count") or "0")))
    except ValueError:
        count = 0
    fields = ("grade", "amount_min", "amount_max", "collateral", "fund", "bank", "third", "third_name")
    rows = []
    for i in range(count):
        row: dict[str, Any] = {f: form_value(request, f"band-{i}-{f}") for f in fields}
        row["covered"] = form_value(request, f"band-{i}-covered") in ("on", "1", "true")
        rows.append(row)
    return rows


def _labels() -> dict[str, Any]:
    return {"grades": funds.GRADES}


# ----------------------------------------------------------------------------------------- schemes


def _schemes_context(request: Request, db: DbSession, principal: Principal) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    schemes = funds.list_schemes(db, principal)
    using: dict[int, list[str]] = {}
    for fund in funds.list_funds(db, principal):
        if fund.scheme_id is not None:
            using.setdefault(fund.scheme_id, []).append(fund.name)
    return {
        "schemes": schemes,
        "bands": {s.id: funds.sharing.bands_of(db, s.id) for s in schemes},
        "using": using,
        "may_manage": can(principal, Permission.FUNDS_MANAGE),
        "rows": _band_rows(list(funds.WEIHAI_SCHEME)),
        "labels": _labels(),
        "values": {"fee_rate": "0.75"},
    }


@router.get("/government/fund-schemes")
def schemes_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    return render(request, "fund_schemes.html", _schemes_context(request, db, principal))


@router.post("/government/fund-schemes")
def create_scheme(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_MANAGE)
) -> Response:
    def act() -> Response:
        scheme = funds.create_scheme(
            db,
            principal,
            name=form_value(request, "name"),
            tiers=_tiers(request),
            fee_rate=_fee_rate(request),
            note=form_value(request, "note"),
        )
        return redirect(f"/government/fund-schemes/{scheme.id}")

    def context() -> dict[str, Any]:
        ctx = _schemes_context(request, db, principal)
        ctx["rows"] = _posted_rows(request)
        return ctx

    return handle_form(request, db, "fund_schemes.html", context, act)


def _scheme_context(request: Request, db: DbSession, principal: Principal, scheme_id: int) -> dict[str, Any]:
    request.state.nav = navigation_for(principal)
    scheme = funds.get_scheme(db, principal, scheme_id)
    bands = funds.sharing.bands_of(db, scheme.id)
    return {
        "scheme": scheme,
        "bands": bands,
        "history": funds.sharing.history(db, scheme),
        "using": funds.sharing.funds_using(db, scheme.id),
        "may_edit": can(principal, Permission.FUNDS_MANAGE)
        and scheme.manager_id == principal.organisation_id
        and scheme.is_current,
        "rows": _band_rows(funds.sharing.tiers_of(bands)),
        "labels": _labels(),
        "values": {"name": scheme.name, "fee_rate": f"{scheme.fee_rate.normalize():f}"},
    }


@router.get("/government/fund-schemes/{scheme_id}")
def scheme_page(
    request: Request, scheme_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    return render(request, "fund_scheme.html", _scheme_context(request, db, principal, scheme_id))


@router.post("/government/fund-schemes/{scheme_id}")
def revise_scheme(
    request: Request,
    scheme_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.FUNDS_MANAGE),
) -> Response:
    funds.get_scheme(db, principal, scheme_id, manage=True)  # another department's: 404 before any form

    def act() -> Response:
        scheme = funds.revise_scheme(
            db,
            principal,
            scheme_id,
            name=form_value(request, "name"),
            tiers=_tiers(request),
            fee_rate=_fee_rate(request),
            note=form_value(request, "note"),
        )
        return redirect(f"/government/fund-schemes/{scheme.id}")

    def context() -> dict[str, Any]:
        ctx = _scheme_context(request, db, principal, scheme_id)
        ctx["rows"] = _posted_rows(request)
        return ctx

    return handle_form(request, db, "fund_scheme.html", context, act)


@router.post("/government/funds/{fund_id}/scheme")
def use_scheme(
    request: Request, fund_id: int, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_MANAGE)
) -> Response:
    def act() -> Response:
        try:
            scheme_id = int(form_value(request, "scheme_id"))
        except ValueError:
            raise ValidationFailed("Choose a scheme from the list", field="scheme_id") from None
        funds.use_scheme(db, principal, fund_id, scheme_id)
        return redirect(f"/government/funds/{fund_id}")

    return handle_form(
        request, db, "fund_detail.html", lambda: _fund_context(request, db, principal, fund_id), act
    )


# ----------------------------------------------------------------------------------------- fees


def _fund_filter(request: Request) -> int | None:
    try:
        return int(request.query_params.get("fund_id", "")) or None
    except ValueError:
        return None


@router.get("/government/fees")
def fees_page(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    request.state.nav = navigation_for(principal)
    fund_id = _fund_filter(request)
    report = funds.fees.list_fees(db, principal, fund_id=fund_id)
    query = urllib.parse.urlencode({"fund_id": fund_id}) if fund_id else ""
    return render(
        request,
        "fund_fees.html",
        {
            "report": report,
            "names": market.organisation_names(db, list(report.by_institution)),
            "funds_list": funds.list_funds(db, principal),
            "fund_id": fund_id,
            "export_url": "/government/fees.xlsx" + (f"?{query}" if query else ""),
            "bank_view": False,
        },
    )


@router.get("/government/fees.xlsx")
def export_fees(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.FUNDS_READ)
) -> Response:
    report = funds.fees.list_fees(db, principal, fund_id=_fund_filter(request))
    names = market.organisation_names(db, list(report.by_institution))
    content = funds.fees.export_xlsx(report.rows, names, _gettext(request))
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="guarantee-fees.xlsx"'},
    )


@router.get("/institution/fees")
def institution_fees(
    request: Request, db: DbSession, principal: Principal = page_guard(Permission.INSTITUTION_WORKBENCH)
) -> Response:
    request.state.nav = navigation_for(principal)
    report = funds.fees.list_fees(db, principal)
    return render(
        request,
        "fund_fees.html",
        {
            "report": report,
            "names": market.organisation_names(db, list(report.by_institution)),
            "funds_list": [],
            "fund_id": None,
            "export_url": "",
            "bank_view": True,
        },
    )


# ----------------------------------------------------------------------------------------- collateral


@router.post("/institution/applications/{application_id}/collateral")
def record_collateral(
    request: Request,
    application_id: int,
    db: DbSession,
    principal: Principal = page_guard(Permission.CREDIT_DECIDE),
) -> Response:
    market.get_application(db, principal, application_id)  # another institution's: 404 before any form

    def act() -> Response:
        value = form_decimal(request, "collateral_value", N_("Enter the collateral's value in yuan"))
        funds.record_collateral(db, principal, application_id, value)
        return redirect(f"/institution/applications/{application_id}")

    return handle_form(
        request,
        db,
        "inst_application.html",
        lambda: _application_context(request, db, principal, application_id),
        act,
    )
