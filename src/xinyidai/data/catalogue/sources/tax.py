"""Tax bureau: monthly declarations, the yearly tax credit grade, VAT invoices."""

from __future__ import annotations

from xinyidai.data.catalogue.common import code, day, money, period, text, uscc, year
from xinyidai.data.catalogue.model import Field, FieldType, Frequency, Sensitivity, Source

TAX_MONTHLY = Source(
    id="tax_monthly",
    name_zh="纳税申报月度数据",
    name_en="Monthly tax declarations",
    owner="国家税务总局市税务局",
    frequency=Frequency.MONTHLY,
    description="One row per enterprise per month: declared sales, tax paid and tax in arrears (元).",
    fields=(
        uscc(),
        period(),
        money(
            "sales",
            "销售收入",
            "Sales",
            "Declared taxable sales of the month.",
            aliases=("应税销售收入", "销售额", "营业收入"),
        ),
        money(
            "tax_paid",
            "实缴税额",
            "Tax paid",
            "Tax actually paid for the month.",
            aliases=("已缴税额", "入库税额", "纳税额"),
        ),
        money(
            "tax_arrears",
            "欠税余额",
            "Tax arrears",
            "Tax owed and overdue at month end.",
            aliases=("欠税金额",),
        ),
    ),
    key=("uscc", "period"),
    period_field="period",
    formats=("csv", "xlsx"),
)

TAX_CREDIT = Source(
    id="tax_credit_grade",
    name_zh="纳税信用等级",
    name_en="Tax credit grade",
    owner="国家税务总局市税务局",
    frequency=Frequency.YEARLY,
    description="Yearly tax credit grade (纳税信用等级): A ≥ 90, B 70-90, M new, C 40-70, D < 40.",
    fields=(
        uscc(),
        year(),
        code(
            "grade",
            "纳税信用等级",
            "Grade",
            "Tax credit grade.",
            ("A", "B", "M", "C", "D"),
            required=True,
            aliases=("信用等级", "评价结果"),
        ),
        Field(
            "score", "评价得分", "Score", FieldType.FLOAT, "Evaluation score 0-100.", minimum=0, maximum=100
        ),
    ),
    key=("uscc", "year"),
)

VAT_INVOICES = Source(
    id="vat_invoices",
    name_zh="增值税发票",
    name_en="VAT invoices",
    owner="国家税务总局市税务局",
    frequency=Frequency.DAILY,
    description=(
        "One row per VAT invoice, purchase (进项) or sales (销项), with the counterparty. "
        "Negative amounts are "
        "credit notes (负数发票); void invoices (作废发票) are kept and flagged. Some providers (such as the "
        "CUMCM 2020 bank data) key enterprises by their own code instead of the USCC."
    ),
    fields=(
        Field(
            "enterprise",
            "企业代号",
            "Enterprise",
            FieldType.ENTITY_REF,
            "The enterprise whose invoice this is: its USCC, or the provider's own enterprise code.",
            sensitivity=Sensitivity.PUBLIC,
            required=True,
            aliases=("纳税人识别号", "企业统一社会信用代码"),
        ),
        code(
            "direction",
            "发票方向",
            "Direction",
            "Purchase (received) or sales (issued).",
            ("进项", "销项"),
            required=True,
            aliases=("进销项",),
        ),
        text("invoice_number", "发票号码", "Invoice number", "Invoice number.", required=True),
        day("issued_on", "开票日期", "Issued on", "Date issued.", required=True),
        Field(
            "counterparty",
            "对方单位代号",
            "Counterparty",
            FieldType.ENTITY_REF,
            "The other party: its USCC or the provider's code.",
            aliases=("销方单位代号", "购方单位代号", "销方识别号", "购方识别号"),
        ),
        money("amount", "金额", "Amount", "Amount before tax (negative for credit notes).", minimum=None),
        money("tax", "税额", "Tax", "VAT amount (negative for credit notes).", minimum=None),
        money("total", "价税合计", "Total", "Amount including tax.", minimum=None),
        code("status", "发票状态", "Status", "Valid or void.", ("有效发票", "作废发票"), required=True),
    ),
    key=("enterprise", "direction", "invoice_number"),
    period_field="issued_on",
    entity_field="enterprise",
    formats=("csv",),
)

SOURCES = (TAX_MONTHLY, TAX_CREDIT, VAT_INVOICES)
