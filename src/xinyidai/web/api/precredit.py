"""API v1 instant pre-credit (秒批 / 预授信): what a product would lend this enterprise, right now.

The enterprise (its page, or its own system with a user session) asks one instant product for an amount
and term; the product's strategy runs over the enterprise's newest indicators and grade and answers with a
limit and a rate, or with every reason it is refused, in the reader's language. Nothing is written: to
borrow, the enterprise applies (the same decision is taken again and recorded with the application).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.errors import ValidationFailed
from xinyidai.data import service as data_service
from xinyidai.market import service as market
from xinyidai.web.deps import DbSession, SettingsDep, api_guard

router = APIRouter(prefix="/api/v1/market", tags=["market"])


class PrecreditRequest(BaseModel):
    """What the enterprise asks for: 元 and months."""

    amount: Annotated[Decimal, Field(gt=0, le=Decimal("100000000000"), max_digits=18, decimal_places=2)]
    term_months: Annotated[int, Field(ge=1, le=360)]


class PrecreditAnswer(BaseModel):
    """An offer (limit 元, annual rate %) or the reasons it is refused."""

    product_id: int
    eligible: bool
    limit: Decimal | None
    rate: Decimal | None
    grade: str | None
    reasons: list[str]


@router.post("/products/{product_id}/precredit", response_model=PrecreditAnswer)
def precredit(
    product_id: int,
    body: PrecreditRequest,
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    principal: Principal = api_guard(Permission.ENTERPRISE_FINANCE),
) -> PrecreditAnswer:
    """Run an instant product's strategy for the calling enterprise (no application is made)."""
    require(principal, Permission.PRODUCTS_BROWSE)
    product = market.get_product(db, principal, product_id)
    if not product.instant or product.status != "listed":
        raise ValidationFailed("This product does not decide instantly", field="product_id")
    lake = data_service.open_lake(settings)
    decision, grade = market.precredit_for(db, lake, principal, product, body.amount, body.term_months)
    locale = getattr(request.state, "locale", i18n.DEFAULT_LOCALE)
    return PrecreditAnswer(
        product_id=product.id,
        eligible=decision.eligible,
        limit=decision.limit,
        rate=decision.rate,
        grade=grade,
        reasons=[i18n.translate(r.message, r.params, locale) for r in decision.reasons],
    )
