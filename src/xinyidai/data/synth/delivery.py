"""How each department delivers its files: format, encoding, header words, date style, file naming.

Departments differ, and ingestion must cope: some write the catalogue's Chinese headers, some an alias or
English, one the snake_case names; some export from Excel on Windows (GBK, CRLF, a BOM), some quote every
string, some nothing; dates and reporting months come in several conventions. Each choice below is fixed
per source, so every run exercises every variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from xinyidai.data.catalogue import Field, Source

Format = Literal["csv", "jsonl", "xlsx"]
Encoding = Literal["utf-8", "utf-8-sig", "gbk"]
HeaderStyle = Literal["zh", "alias", "en", "name"]
Layout = Literal["monthly", "events", "snapshot", "yearly", "quarterly"]


@dataclass(frozen=True)
class DeliverySpec:
    """One department's delivery conventions for one source.

    Attributes:
        format: file format.
        encoding: text encoding (XLSX is always UTF-8 inside its zip).
        headers: which of a field's names is used as the header / JSON key.
        header_overrides: field name → header, for departments with their own wording (must be an alias).
        quoting: CSV only: ``text`` quotes every value of a text field, ``minimal`` only values that need it.
        eol: CSV line ending.
        date_style, period_style: see :func:`xinyidai.data.synth.arrays.format_dates`.
        layout: how files are cut: ``monthly`` (one per reporting month), ``events`` (one per month of the
            event date; the first also carries the history), ``snapshot`` (one as of the last month),
            ``yearly`` or ``quarterly``.
    """

    format: Format
    layout: Layout
    encoding: Encoding = "utf-8"
    headers: HeaderStyle = "zh"
    header_overrides: Mapping[str, str] = field(default_factory=dict)
    quoting: Literal["text", "minimal"] = "text"
    eol: str = "\n"
    date_style: str = "iso"
    period_style: str = "iso_month"

    @property
    def suffix(self) -> str:
        return {"csv": ".csv", "jsonl": ".jsonl", "xlsx": ".xlsx"}[self.format]

    def header(self, f: Field) -> str:
        if f.name in self.header_overrides:
            return self.header_overrides[f.name]
        if self.headers == "zh":
            return f.name_zh
        if self.headers == "en":
            return f.name_en
        if self.headers == "name":
            return f.name
        return f.aliases[0] if f.aliases else f.name_zh

    def headers_of(self, source: Source) -> list[str]:
        return [self.header(f) for f in source.fields]


WINDOWS = "\r\n"

SPECS: Final[Mapping[str, DeliverySpec]] = {
    "registration": DeliverySpec("csv", "snapshot", "utf-8-sig", "alias", date_style="slash"),
    "registration_changes": DeliverySpec("csv", "events", "gbk", "zh", quoting="minimal", eol=WINDOWS),
    "annual_reports": DeliverySpec("csv", "yearly", headers="zh"),
    "admin_licences": DeliverySpec("csv", "events", headers="zh"),
    "admin_penalties": DeliverySpec(
        "csv", "events", "gbk", "zh", {"fine": "罚款金额(元)"}, eol=WINDOWS, date_style="compact"
    ),
    "patents": DeliverySpec("csv", "events", headers="en"),
    "trademarks": DeliverySpec("csv", "events", headers="name", quoting="minimal"),
    "tax_monthly": DeliverySpec(
        "csv",
        "monthly",
        headers="alias",
        header_overrides={"period": "税款所属期"},
        period_style="compact_month",
    ),
    "tax_credit_grade": DeliverySpec("xlsx", "yearly", headers="alias"),
    "vat_invoices": DeliverySpec("csv", "events", headers="zh"),
    "social_security": DeliverySpec("csv", "monthly", headers="zh"),
    "housing_fund": DeliverySpec("csv", "monthly", "gbk", "zh", eol=WINDOWS, period_style="zh_month"),
    "electricity": DeliverySpec("csv", "monthly", headers="zh", quoting="minimal", period_style="first_day"),
    "water": DeliverySpec(
        "csv", "monthly", "gbk", "alias", {"bill": "水费"}, eol=WINDOWS, period_style="slash_month"
    ),
    "gas": DeliverySpec("jsonl", "monthly", headers="zh"),
    "court_cases": DeliverySpec("jsonl", "events", headers="zh"),
    "dishonest_debtors": DeliverySpec("csv", "events", "gbk", "zh", eol=WINDOWS, date_style="zh"),
    "customs_monthly": DeliverySpec("csv", "monthly", headers="en", period_style="compact_month"),
    "customs_credit": DeliverySpec("xlsx", "snapshot", headers="zh"),
    "real_estate_mortgages": DeliverySpec("csv", "events", headers="alias"),
    "public_credit_grade": DeliverySpec("csv", "quarterly", headers="zh"),
    "red_black_lists": DeliverySpec("csv", "events", "utf-8-sig", "zh", date_style="dot"),
    "financial_risk_lists": DeliverySpec("csv", "events", headers="en"),
}
