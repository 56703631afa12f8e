"""Receipts from the evidence log, downloaded from the pages where the consent or decision is shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import JSONResponse

from xinyidai.core.access import Permission, Principal
from xinyidai.core.evidence import service as evidence
from xinyidai.web.deps import DbSession, SettingsDep, page_guard
from xinyidai.web.pages.reports import own_uscc

router = APIRouter()


@router.get("/evidence/receipts/{seq}.json")
def download_receipt(
    seq: Annotated[int, Path(ge=0, le=2**62)],
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = page_guard(Permission.EVIDENCE_RECEIPT),
) -> JSONResponse:
    """The receipt of one entry as a file: only the parties to it (and the auditor) may have it."""
    document = evidence.receipt(db, settings, principal, seq, own_uscc(db, principal))
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="xinyidai-receipt-{seq}.json"',
            "Cache-Control": "no-store",
        },
    )
