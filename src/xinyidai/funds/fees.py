"""Guarantee fees (担保费): what each covered loan was charged, for the fund manager and for the bank.

A fund's scheme sets an annual fee rate; when a loan joins the fund its fee — covered amount × rate × term
in years (元, to the fen) — is charged once, in full, and posted at once: fund cash ← fee income
(``schemes.charge_fee``, keyed by fund and application, so a retried request or a re-delivered event posts
it once). Charging at joining rather than per period keeps one posting per loan, matches how guarantee
companies usually collect the fee up front, and needs no scheduler. The fee is copied onto the covered loan
with its rate, so a later change of the scheme does not change it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Permission, Principal, require, sees_all_organisations
from xinyidai.core.clock import format_local
from xinyidai.core.i18n import N_
from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund

EXPORT_HEADERS = (
    N_("Fund"),
    N_("Institution"),
    N_("Enterprise"),
    N_("Credit code"),
    N_("Grade"),
    N_("Covered amount (yuan)"),
    N_("Fee rate (% a year)"),
    N_("Guarantee fee (yuan)"),
    N_("Charged at"),
)


@dataclass(frozen=True)
class FeeRow:
    """One covered loan's guarantee fee and the fund that charged it."""

    coverage: CoveredLoan
    fund_name: str


@dataclass(frozen=True)
class FeeReport:
    """Fees by loan, totals by institution (元) and the grand total."""

    rows: list[FeeRow]
    by_institution: dict[int, Decimal] = field(default_factory=dict)
    total: Decimal = Decimal(0)


def list_fees(session: Session, principal: Principal, *, fund_id: int | None = None) -> FeeReport:
    """The guarantee fees the principal may see, newest first: a fund manager those of its department's
    funds, a bank those on its own loans, the operator's staff all."""
    if principal.org_kind is OrgKind.INSTITUTION:
        require(principal, Permission.INSTITUTION_WORKBENCH)
    else:
        require(principal, Permission.FUNDS_READ)
    stmt = (
        select(CoveredLoan, GuaranteeFund.name)
        .join(GuaranteeFund, GuaranteeFund.id == CoveredLoan.fund_id)
        .where(CoveredLoan.status != "refused", CoveredLoan.fee_amount > 0)
    )
    if principal.org_kind is OrgKind.INSTITUTION:
        stmt = stmt.where(CoveredLoan.institution_id == principal.organisation_id)
    elif not sees_all_organisations(principal):
        stmt = stmt.where(GuaranteeFund.manager_id == principal.organisation_id)
    if fund_id is not None:
        stmt = stmt.where(CoveredLoan.fund_id == fund_id)
    rows = [FeeRow(c, name) for c, name in session.execute(stmt.order_by(CoveredLoan.id.desc())).all()]
    by_institution: dict[int, Decimal] = {}
    for row in rows:
        key = row.coverage.institution_id
        by_institution[key] = by_institution.get(key, Decimal(0)) + row.coverage.fee_amount
    return FeeReport(rows, by_institution, sum((r.coverage.fee_amount for r in rows), Decimal(0)))


def export_xlsx(rows: Sequence[FeeRow], names: dict[int, str], translate: Callable[[str], str]) -> bytes:
    """The fees as an Excel workbook: one row per covered loan, then the total."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = translate(N_("Guarantee fees"))
    sheet.append([translate(h) for h in EXPORT_HEADERS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFGHI", (24, 24, 30, 22, 8, 18, 14, 16, 20), strict=True):
        sheet.column_dimensions[column].width = width
    for row in rows:
        c = row.coverage
        sheet.append(
            [
                row.fund_name,
                names.get(c.institution_id, ""),
                c.enterprise_name,
                c.uscc,
                c.grade,
                float(c.amount),
                float(c.fee_rate),
                float(c.fee_amount),
                format_local(c.decided_at),
            ]
        )
    total = sum((r.coverage.fee_amount for r in rows), Decimal(0))
    sheet.append([translate(N_("Total")), "", "", "", "", "", "", float(total), ""])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    out = BytesIO()
    book.save(out)
    return out.getvalue()
