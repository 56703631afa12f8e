"""API v1 for credit reports: one enterprise's report as JSON, masked like the page and the PDF."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import JSONResponse

from xinyidai.core.access import Principal
from xinyidai.data import service as data_service
from xinyidai.market import service as market
from xinyidai.rating import report as reports
from xinyidai.web.deps import DbSession, SettingsDep, api_guard
from xinyidai.web.pages.reports import NO_STORE, REPORT_READ, AsOfQuery, PurposeQuery, own_uscc

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/reports/{uscc}", response_model=reports.CreditReport)
def get_report(
    uscc: str,
    db: DbSession,
    settings: SettingsDep,
    version: Annotated[Literal["concise", "full"], Query()] = "full",
    purpose: PurposeQuery = None,
    as_of: AsOfQuery = None,
    principal: Principal = api_guard(REPORT_READ),
) -> JSONResponse:
    """An enterprise's credit report as of its newest rating on or before ``as_of``.

    Institutions and the operator read the full version for a stated ``purpose`` (loan_review,
    post_loan; platform_operations); an enterprise reads its own, concise or full. Personal data is
    masked; amounts are decimal strings in 元 (registered capital in 万元). Every read is recorded.
    """
    report = reports.view_report(
        db,
        data_service.open_lake(settings),
        principal,
        uscc,
        version=version,
        own_uscc=own_uscc(db, principal),
        purpose=purpose,
        as_of=as_of,
        channel="json",
        consent=market.report_consent_check(db, principal, "json"),
    )
    return JSONResponse(report.to_dict(), headers=NO_STORE)
