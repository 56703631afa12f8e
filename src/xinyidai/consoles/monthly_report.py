"""The monthly analysis report (金融运行月度分析): one month's figures beside the previous month, by district,
industry, institution and grade, and sentences written from the numbers — what a department circulates.

The sentences are English msgids with parameters, translated when the PDF is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from xinyidai.consoles.statistics import (
    FactStore,
    Figures,
    Filters,
    add_months,
    breakdown,
    npl_by_grade,
    totals,
)
from xinyidai.core.i18n import N_


@dataclass
class Sentence:
    """One generated sentence: an English msgid and its parameters, translated when rendered."""

    msgid: str
    params: dict[str, Any]


@dataclass
class MonthlyReport:
    """The figures of one month beside the previous month, by district, industry, institution and grade,
    and the sentences written from them."""

    month: date
    filters: Filters
    current: Figures
    previous: Figures
    trend: list[Figures]
    by_region: list[Figures]
    by_industry: list[Figures]
    by_institution: list[Figures]
    by_grade: list[Figures]
    sentences: list[Sentence]
    as_of: datetime


HEADLINE: Final = (
    "needs",
    "grabs",
    "offers",
    "applications",
    "approvals",
    "loans",
    "disbursed_amount",
    "policy_applications",
    "policy_disbursed_amount",
    "covered_outstanding",
    "claims_paid_amount",
)


def change(current: Any, previous: Any) -> Decimal | None:
    """Relative change from the previous value (0.25 = +25 %), None when there was nothing before."""
    if not previous:
        return None
    return ((Decimal(current) - Decimal(previous)) / Decimal(previous)).quantize(Decimal("0.0001"))


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _wan(value: Decimal) -> str:
    return f"{Decimal(value) / 10000:,.2f}"


def monthly_report(store: FactStore, month: date, base: Filters | None = None) -> MonthlyReport:
    """The monthly analysis report of ``month`` (scoped like ``base`` when given)."""
    month = month.replace(day=1)
    scope = base or Filters(start=month, end=month)
    this = Filters(**{**scope.__dict__, "start": month, "end": month, "granularity": "month"})
    before = Filters(**{**this.__dict__, "start": add_months(month, -1), "end": add_months(month, -1)})
    year = Filters(**{**this.__dict__, "start": add_months(month, -11)})
    current, previous = totals(store, this), totals(store, before)
    by_region = breakdown(store, this, "region")
    if len(by_region) == 1 and by_region[0].key and not this.region:
        by_region = breakdown(store, Filters(**{**this.__dict__, "region": by_region[0].key}), "region")
    by_industry = breakdown(store, this, "industry")
    by_institution = breakdown(store, this, "institution")
    sentences: list[Sentence] = []
    sentences.append(
        Sentence(
            N_(
                "In %(month)s enterprises published %(needs)s financing needs for %(needs_wan)s ten thousand "
                "yuan; institutions grabbed %(grabs)s and made %(offers)s offers."
            ),
            {
                "month": f"{month:%Y-%m}",
                "needs": current["needs"],
                "needs_wan": _wan(current["needs_amount"]),
                "grabs": current["grabs"],
                "offers": current["offers"],
            },
        )
    )
    moved = change(current["disbursed_amount"], previous["disbursed_amount"])
    sentences.append(
        Sentence(
            N_(
                "%(loans)s loans were disbursed for %(amount_wan)s ten thousand yuan (%(change)s on the "
                "previous month) at an average rate of %(rate)s; %(pure)s of them were pure-credit loans."
            ),
            {
                "loans": current["loans"],
                "amount_wan": _wan(current["disbursed_amount"]),
                "change": "—" if moved is None else f"{moved * 100:+.1f}%",
                "rate": "—" if current.average_rate is None else f"{current.average_rate}%",
                "pure": _pct(current.pure_credit_share),
            },
        )
    )
    sentences.append(
        Sentence(
            N_(
                "Institutions approved %(rate)s of the applications they decided; the median time from need "
                "to loan was %(days)s days."
            ),
            {
                "rate": _pct(current.approval_rate),
                "days": "—" if current.median_days is None else f"{current.median_days:g}",
            },
        )
    )
    lending = [r for r in by_region if r["disbursed_amount"]]
    if lending:
        top = lending[0]
        share = _ratio_dec(top["disbursed_amount"], current["disbursed_amount"])
        sentences.append(
            Sentence(
                N_("%(region)s lent the most: %(amount_wan)s ten thousand yuan, %(share)s of the total."),
                {"region": top.label, "amount_wan": _wan(top["disbursed_amount"]), "share": _pct(share)},
            )
        )
    industries = [r for r in by_industry if r["disbursed_amount"]]
    if industries:
        sentences.append(
            Sentence(
                N_("By industry, %(industry)s received the most credit (%(amount_wan)s ten thousand yuan)."),
                {"industry": industries[0].label, "amount_wan": _wan(industries[0]["disbursed_amount"])},
            )
        )
    year_figures = totals(store, year)
    sentences.append(
        Sentence(
            N_(
                "Of the loans disbursed in the last 12 months, %(npl)s are non-performing (overdue 90 days "
                "or more, or defaulted)."
            ),
            {"npl": _pct(year_figures.npl_rate)},
        )
    )
    sentences.append(
        Sentence(
            N_(
                "Policies: %(apps)s applications, %(approved)s approved, %(paid_wan)s ten thousand yuan "
                "disbursed. Funds cover a balance of %(covered_wan)s ten thousand yuan and paid "
                "%(claims_wan)s ten thousand yuan of claims."
            ),
            {
                "apps": current["policy_applications"],
                "approved": current["policy_approved"],
                "paid_wan": _wan(current["policy_disbursed_amount"]),
                "covered_wan": _wan(year_figures["covered_outstanding"]),
                "claims_wan": _wan(current["claims_paid_amount"]),
            },
        )
    )
    return MonthlyReport(
        month=month,
        filters=this,
        current=current,
        previous=previous,
        trend=breakdown(store, year, "period"),
        by_region=by_region,
        by_industry=by_industry,
        by_institution=by_institution,
        by_grade=npl_by_grade(store, year),
        sentences=sentences,
        as_of=store.as_of,
    )


def _ratio_dec(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))
