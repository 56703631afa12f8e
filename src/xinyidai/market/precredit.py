"""Instant pre-credit (秒批 / 预授信): a product's strategy applied to one enterprise the moment it asks.

The strategy is the product's: its targets (region, industry, size, grade appetite), its admission rule,
its credit-limit formula and its pricing by grade, all over the decision fields — every indicator of the
enterprise's newest snapshot plus its ``grade`` and ``score`` (0–1000) and the ``requested_amount`` (元)
and ``term_months`` asked for. The answer is an offer (limit = the smaller of the formula, the amount
asked and the product's maximum; the rate for the grade) or a refusal with every reason that applies,
in words a person understands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import Any

from xinyidai.core.codes import region_prefix
from xinyidai.core.expressions import (
    ExpressionEvaluationError,
    FieldCatalogue,
    FieldSpec,
    ValueType,
    compile_expression,
)
from xinyidai.core.i18n import N_
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.market.models import Product
from xinyidai.rating import service as rating

log = logging.getLogger(__name__)

EXTRA_FIELDS = (
    FieldSpec("grade", ValueType.STRING, "The enterprise's newest credit grade (A best … D)"),
    FieldSpec("score", ValueType.FLOAT, "The enterprise's newest credit score, 0–1000"),
    FieldSpec("requested_amount", ValueType.DECIMAL, "The amount asked for, 元"),
    FieldSpec("term_months", ValueType.INTEGER, "The term asked for, months"),
)


@lru_cache(maxsize=1)
def decision_fields() -> FieldCatalogue:
    """The fields a product's admission rule and limit formula may use."""
    return FieldCatalogue([*indicators.field_catalogue().values(), *EXTRA_FIELDS])


@dataclass(frozen=True)
class Refusal:
    """One reason a product is not open to an enterprise: an English message id and its parameters."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome of a product's strategy for one enterprise: an offer or the reasons it is refused."""

    eligible: bool
    limit: Decimal | None = None
    rate: Decimal | None = None
    reasons: tuple[Refusal, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "limit": None if self.limit is None else str(self.limit),
            "rate": None if self.rate is None else str(self.rate),
            "reasons": [{"message": r.message, "params": r.params} for r in self.reasons],
        }


def targets_refusals(product: Product, profile: dict[str, Any]) -> list[Refusal]:
    """Why the product's targets exclude this enterprise (region, industry, size, grade), if they do."""
    reasons = []
    region = str(profile.get("region_code") or "")
    # the same coverage rule as the need pool's SQL (``needs.fit_clause``): one prefix per region
    if product.regions and not any(region.startswith(region_prefix(code)) for code in product.regions):
        reasons.append(Refusal(N_("The product does not serve your region")))
    if product.industries and profile.get("industry_section") not in product.industries:
        reasons.append(Refusal(N_("The product does not serve your industry")))
    if product.sizes and profile.get("size_class") not in product.sizes:
        reasons.append(Refusal(N_("The product does not serve enterprises of your size")))
    grade = profile.get("grade")
    if product.grades and grade not in product.grades:
        reasons.append(
            Refusal(
                N_("The product requires a credit grade of %(grades)s; yours is %(grade)s"),
                {"grades": "/".join(product.grades), "grade": grade or "-"},
            )
        )
    return reasons


def decide(
    product: Product,
    profile: dict[str, Any],
    values: dict[str, Any] | None,
    *,
    amount: Decimal,
    term_months: int,
) -> Decision:
    """Apply ``product``'s strategy to one enterprise.

    Args:
        profile: ``region_code``, ``industry_section``, ``size_class``, ``grade``, ``score``.
        values: the enterprise's indicators (None: it has no snapshot yet).
        amount, term_months: what it asks for.
    """
    reasons = targets_refusals(product, profile)
    if not Decimal(product.amount_min) <= amount <= Decimal(product.amount_max):
        reasons.append(
            Refusal(
                N_("The amount must be between %(low)s and %(high)s yuan"),
                {"low": f"{product.amount_min:,.2f}", "high": f"{product.amount_max:,.2f}"},
            )
        )
    if not product.term_min <= term_months <= product.term_max:
        reasons.append(
            Refusal(
                N_("The term must be between %(low)s and %(high)s months"),
                {"low": product.term_min, "high": product.term_max},
            )
        )
    if values is None and (product.admission_rule or product.limit_formula):
        reasons.append(Refusal(N_("The platform has no data about your enterprise yet")))
        return Decision(False, reasons=tuple(reasons))
    record = _record(values or {}, profile, amount, term_months)
    catalogue = decision_fields()
    if product.admission_rule:
        rule = compile_expression(product.admission_rule, catalogue, result_type="boolean")
        try:
            admitted = rule.matches(record)
        except ExpressionEvaluationError:
            admitted = False
        if not admitted:
            reasons.append(
                Refusal(
                    N_("You do not meet the product's admission rule: %(rule)s"),
                    {"rule": product.admission_rule},
                )
            )
    limit = amount
    if product.limit_formula:
        formula = compile_expression(product.limit_formula, catalogue, result_type="number")
        try:
            raw = formula.evaluate_one(record)
        except ExpressionEvaluationError:
            raw = None
        if raw is None:
            reasons.append(Refusal(N_("Your credit limit cannot be worked out from your data")))
        else:
            limit = min(limit, Decimal(str(raw)).quantize(Decimal("100"), rounding=ROUND_DOWN))
    limit = min(limit, Decimal(product.amount_max))
    if limit < Decimal(product.amount_min) and not reasons:
        reasons.append(
            Refusal(
                N_("Your credit limit (%(limit)s yuan) is below the product's minimum"),
                {"limit": f"{max(limit, Decimal(0)):,.2f}"},
            )
        )
    if reasons:
        return Decision(False, reasons=tuple(reasons))
    return Decision(True, limit=limit.quantize(Decimal("0.01")), rate=price(product, profile.get("grade")))


def price(product: Product, grade: str | None) -> Decimal:
    """The annual rate (%) for ``grade``: the product's price for it, else its highest rate."""
    rate = (product.pricing or {}).get(grade or "")
    return Decimal(str(rate)) if rate is not None else Decimal(product.rate_max)


def _record(
    values: dict[str, Any], profile: dict[str, Any], amount: Decimal, term_months: int
) -> dict[str, Any]:
    record = dict.fromkeys(decision_fields(), None)
    record.update({k: v for k, v in values.items() if k in record})
    record["grade"] = profile.get("grade")
    record["score"] = profile.get("score")
    record["requested_amount"] = amount
    record["term_months"] = term_months
    return record


def warm_decisions(lake: Lake) -> None:
    """Open the newest indicator and rating snapshots' point lookups (a second at a million firms), so
    the first instant decision after a start or a new rating run does not wait for it. Best effort."""
    try:
        indicators.enterprise_indicators(lake, "")
        rating.current_rating(lake, "")
    except Exception:
        log.warning("could not warm the point lookups", exc_info=True)
