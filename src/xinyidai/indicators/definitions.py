"""The indicator library: every indicator declared once — names, dimension, SQL over the lake, unit,
which direction is better, and what a missing value means.

How an indicator is computed. Each *source* indicator is one SQL aggregate over one lake source's rows of
an enterprise, grouped by enterprise (all indicators of a source share one scan). Time windows are bound
parameters relative to the as-of date D:

- ``$m0`` the first day of D's month; ``$m3``, ``$m6``, ``$m12``, ``$m24`` the first day of the month 3, 6,
  12 and 24 months before it — monthly data for the last 12 full months is ``period >= $m12``;
- ``$as_of`` D itself; ``$d12`` and ``$d24`` the days 365 and 730 days before D, for dated events.

Rows are read from the lake as received by the end of D (no look-ahead), and monthly rows of D's own month
or later, events after D, are left out. A *derived* indicator is an expression over other indicators,
evaluated after the join. The SQL is written here by developers, never by users; values are parameters.

Missing values. ``zero``: no rows means none (lawsuits, penalties, arrears); ``null``: unknown (no sales
history, no growth rate) — the rating treats it by its own missing-value policy and flags completeness.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from xinyidai.core.i18n import N_

__all__ = ["DIMENSIONS", "INDICATORS", "Better", "Dimension", "Indicator", "Missing", "indicator"]


class Dimension(StrEnum):
    STABILITY = "stability"
    OPERATIONS = "operations"
    TAX = "tax"
    EMPLOYMENT = "employment"
    HOUSING_FUND = "housing_fund"
    UTILITIES = "utilities"
    JUDICIAL = "judicial"
    PENALTIES = "penalties"
    INNOVATION = "innovation"
    TRADE = "trade"
    PUBLIC_CREDIT = "public_credit"
    FINANCE = "finance"
    FINANCING = "financing"


DIMENSIONS: dict[Dimension, tuple[str, str]] = {
    Dimension.STABILITY: ("经营稳定性", N_("Stability")),
    Dimension.OPERATIONS: ("经营状况", N_("Operations")),
    Dimension.TAX: ("纳税情况", N_("Tax compliance")),
    Dimension.EMPLOYMENT: ("用工情况", N_("Employment")),
    Dimension.HOUSING_FUND: ("住房公积金", N_("Housing fund")),
    Dimension.UTILITIES: ("水电气", N_("Utilities")),
    Dimension.JUDICIAL: ("司法风险", N_("Judicial risk")),
    Dimension.PENALTIES: ("行政处罚", N_("Administrative penalties")),
    Dimension.INNOVATION: ("创新能力", N_("Innovation")),
    Dimension.TRADE: ("进出口", N_("Foreign trade")),
    Dimension.PUBLIC_CREDIT: ("公共信用", N_("Public credit")),
    Dimension.FINANCE: ("财务状况", N_("Financial position")),
    Dimension.FINANCING: ("平台融资记录", N_("Financing on the platform")),
}


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"


class Missing(StrEnum):
    ZERO = "zero"
    NULL = "null"


@dataclass(frozen=True)
class Indicator:
    """One indicator.

    Attributes:
        id: snake_case; the snapshot column and the expression-language field name.
        name_zh, name_en: display names.
        dimension: the group it belongs to in ratings and reports.
        source: the lake source it aggregates, or ``derived``.
        sql: a DuckDB aggregate over the source's rows of one enterprise (``sum(sales) FILTER (...)``), or
            for derived indicators an expression over other indicators' ids.
        type: ``float``, ``integer`` or ``boolean`` (the expression-language type).
        unit: 元, 人, %, 天, 年, kWh…
        better: which direction is better for the enterprise's credit.
        missing: what no data means.
        description: the business meaning (English).
    """

    id: str
    name_zh: str
    name_en: str
    dimension: Dimension
    source: str
    sql: str
    type: str = "float"
    unit: str = ""
    better: Better = Better.HIGHER
    missing: Missing = Missing.NULL
    description: str = ""


def indicator(
    id: str,
    name_zh: str,
    name_en: str,
    dimension: Dimension,
    source: str,
    sql: str,
    *,
    type: str = "float",
    unit: str = "",
    better: Better = Better.HIGHER,
    missing: Missing = Missing.NULL,
    description: str = "",
) -> Indicator:
    return Indicator(id, name_zh, name_en, dimension, source, sql, type, unit, better, missing, description)


STAB, OPER, TAXD, EMPL = Dimension.STABILITY, Dimension.OPERATIONS, Dimension.TAX, Dimension.EMPLOYMENT
HFND, UTIL, JUDI, PENA = Dimension.HOUSING_FUND, Dimension.UTILITIES, Dimension.JUDICIAL, Dimension.PENALTIES
INNO, TRAD, PUBC, FINA = Dimension.INNOVATION, Dimension.TRADE, Dimension.PUBLIC_CREDIT, Dimension.FINANCE
LOAN = Dimension.FINANCING
LOW, NEITHER, ZERO = Better.LOWER, Better.NEITHER, Missing.ZERO
LAST12 = "period >= $m12"
PREV12 = "period >= $m24 AND period < $m12"
LAST3 = "period >= $m3"
PREV3 = "period >= $m6 AND period < $m3"

INDICATORS: tuple[Indicator, ...] = (
    # -- stability: registration and its changes ------------------------------------------------------
    indicator("age_years", "成立年限", "Years since founding", STAB, "registration",
              "max(date_diff('day', founded_on, $as_of)) / 365.25", unit="年"),
    indicator("registered_capital", "注册资本", "Registered capital", STAB, "registration",
              "max(registered_capital)", unit="万元"),
    indicator("is_active", "存续状态", "In business", STAB, "registration",
              "bool_or(status = '存续')", type="boolean"),
    indicator("is_individual_business", "个体工商户", "Individual business", STAB, "registration",
              "bool_or(entity_type = '个体工商户' OR substr(uscc, 1, 2) = '92')", type="boolean",
              better=NEITHER),
    indicator("changes_24m", "近24个月登记变更次数", "Registration changes, 24 months", STAB,
              "registration_changes", "count(*) FILTER (WHERE changed_on >= $d24)", type="integer",
              better=LOW, missing=ZERO),
    indicator("legal_rep_changes_24m", "近24个月法定代表人变更次数", "Legal representative changes, 24 months",
              STAB, "registration_changes", "count(*) FILTER (WHERE changed_on >= $d24 AND item = '法定代表人')",
              type="integer", better=LOW, missing=ZERO),
    indicator("address_changes_24m", "近24个月住所变更次数", "Address changes, 24 months", STAB,
              "registration_changes", "count(*) FILTER (WHERE changed_on >= $d24 AND item = '住所')",
              type="integer", better=LOW, missing=ZERO),
    indicator("capital_changes_24m", "近24个月注册资本变更次数", "Capital changes, 24 months", STAB,
              "registration_changes", "count(*) FILTER (WHERE changed_on >= $d24 AND item = '注册资本')",
              type="integer", better=NEITHER, missing=ZERO),
    # -- operations: declared sales ------------------------------------------------------------------
    indicator("sales_12m", "近12个月销售收入", "Sales, 12 months", OPER, "tax_monthly",
              f"sum(sales) FILTER (WHERE {LAST12})", unit="元"),
    indicator("sales_prev_12m", "上年同期销售收入", "Sales, the 12 months before", OPER, "tax_monthly",
              f"sum(sales) FILTER (WHERE {PREV12})", unit="元"),
    indicator("sales_3m", "近3个月销售收入", "Sales, 3 months", OPER, "tax_monthly",
              f"sum(sales) FILTER (WHERE {LAST3})", unit="元"),
    indicator("sales_prev_3m", "前3个月销售收入", "Sales, the 3 months before", OPER, "tax_monthly",
              f"sum(sales) FILTER (WHERE {PREV3})", unit="元"),
    indicator("months_with_sales_12m", "近12个月有销售月数", "Months with sales, 12 months", OPER, "tax_monthly",
              f"count(*) FILTER (WHERE {LAST12} AND sales > 0)", type="integer", missing=ZERO),
    indicator("sales_volatility_12m", "近12个月销售波动系数", "Sales volatility (coefficient of variation)", OPER,
              "tax_monthly", f"stddev_samp(sales) FILTER (WHERE {LAST12}) / nullif(avg(sales) FILTER "
              f"(WHERE {LAST12}), 0)", better=LOW),
    indicator("sales_growth_12m", "销售收入同比增长率", "Sales growth, year on year", OPER, "derived",
              "sales_12m / nullif(sales_prev_12m, 0) - 1", unit="%"),
    indicator("sales_trend_3m", "近3个月销售环比", "Sales, last 3 months vs the 3 before", OPER, "derived",
              "sales_3m / nullif(sales_prev_3m, 0) - 1", unit="%"),
    # -- tax -------------------------------------------------------------------------------------------
    indicator("tax_paid_12m", "近12个月实缴税额", "Tax paid, 12 months", TAXD, "tax_monthly",
              f"sum(tax_paid) FILTER (WHERE {LAST12})", unit="元"),
    indicator("tax_paid_prev_12m", "上年同期实缴税额", "Tax paid, the 12 months before", TAXD, "tax_monthly",
              f"sum(tax_paid) FILTER (WHERE {PREV12})", unit="元"),
    indicator("tax_arrears_latest", "最新欠税余额", "Tax arrears, latest month", TAXD, "tax_monthly",
              "arg_max(tax_arrears, period)", unit="元", better=LOW, missing=ZERO),
    indicator("tax_arrears_months_12m", "近12个月欠税月数", "Months in tax arrears, 12 months", TAXD,
              "tax_monthly", f"count(*) FILTER (WHERE {LAST12} AND tax_arrears > 0)", type="integer",
              better=LOW, missing=ZERO),
    indicator("tax_growth_12m", "纳税额同比增长率", "Tax growth, year on year", TAXD, "derived",
              "tax_paid_12m / nullif(tax_paid_prev_12m, 0) - 1", unit="%"),
    indicator("tax_burden_12m", "税负率", "Tax burden (tax paid / sales)", TAXD, "derived",
              "tax_paid_12m / nullif(sales_12m, 0)", unit="%", better=NEITHER),
    indicator("tax_credit_score", "纳税信用等级分", "Tax credit grade (A=5 … D=1)", TAXD, "tax_credit_grade",
              "arg_max(CASE grade WHEN 'A' THEN 5 WHEN 'B' THEN 4 WHEN 'M' THEN 3 WHEN 'C' THEN 2 "
              "ELSE 1 END, year)", type="integer"),
    indicator("tax_grade_a", "纳税信用A级", "Tax credit grade A", TAXD, "tax_credit_grade",
              "arg_max(grade, year) = 'A'", type="boolean"),
    # -- employment: social security -------------------------------------------------------------------
    indicator("insured_latest", "最新参保人数", "Insured staff, latest month", EMPL, "social_security",
              "arg_max(insured, period)", type="integer", unit="人"),
    indicator("insured_12m_ago", "12个月前参保人数", "Insured staff 12 months earlier", EMPL, "social_security",
              "max(insured) FILTER (WHERE period = $m12)", type="integer", unit="人"),
    indicator("insured_avg_12m", "近12个月平均参保人数", "Average insured staff, 12 months", EMPL,
              "social_security", f"avg(insured) FILTER (WHERE {LAST12})", unit="人"),
    indicator("new_hires_12m", "近12个月新增参保人数", "New hires, 12 months", EMPL, "social_security",
              f"sum(new_hires) FILTER (WHERE {LAST12})", type="integer", unit="人", better=NEITHER),
    indicator("separations_12m", "近12个月减少参保人数", "Separations, 12 months", EMPL, "social_security",
              f"sum(separations) FILTER (WHERE {LAST12})", type="integer", unit="人", better=LOW),
    indicator("separations_24m", "近24个月减少参保人数", "Separations, 24 months", EMPL, "social_security",
              "sum(separations) FILTER (WHERE period >= $m24)", type="integer", unit="人", better=LOW),
    indicator("separations_6m", "近6个月减少参保人数", "Separations, 6 months", EMPL, "social_security",
              "sum(separations) FILTER (WHERE period >= $m6)", type="integer", unit="人", better=LOW),
    indicator("separations_prev_6m", "前6个月减少参保人数", "Separations, the 6 months before", EMPL,
              "social_security", "sum(separations) FILTER (WHERE period >= $m12 AND period < $m6)",
              type="integer", unit="人", better=LOW),
    indicator("insured_avg_24m", "近24个月平均参保人数", "Average insured staff, 24 months", EMPL,
              "social_security", "avg(insured) FILTER (WHERE period >= $m24)", unit="人"),
    indicator("ss_arrears_latest", "最新社保欠费", "Social-security arrears, latest month", EMPL,
              "social_security", "arg_max(arrears, period)", unit="元", better=LOW, missing=ZERO),
    indicator("ss_arrears_months_12m", "近12个月社保欠费月数", "Months in social-security arrears", EMPL,
              "social_security", f"count(*) FILTER (WHERE {LAST12} AND arrears > 0)", type="integer",
              better=LOW, missing=ZERO),
    indicator("contributions_12m", "近12个月社保缴费", "Social-security contributions, 12 months", EMPL,
              "social_security", f"sum(contributions) FILTER (WHERE {LAST12})", unit="元"),
    indicator("headcount_growth_12m", "参保人数同比增长率", "Headcount growth, year on year", EMPL, "derived",
              "insured_latest / nullif(insured_12m_ago, 0) - 1", unit="%"),
    indicator("turnover_rate_12m", "近12个月员工流失率", "Staff turnover, 12 months", EMPL, "derived",
              "separations_12m / nullif(insured_avg_12m, 0)", unit="%", better=LOW),
    indicator("turnover_rate_24m", "近24个月员工流失率", "Staff turnover, 24 months (annualised)", EMPL,
              "derived", "separations_24m / 2.0 / nullif(insured_avg_24m, 0)", unit="%", better=LOW),
    indicator("turnover_trend_6m", "员工流失变化", "Separations, last 6 months vs the 6 before", EMPL, "derived",
              "(separations_6m + 1.0) / (separations_prev_6m + 1.0) - 1", unit="%", better=LOW),
    # -- housing fund ------------------------------------------------------------------------------------
    indicator("hf_contributors_latest", "最新公积金缴存人数", "Housing-fund contributors, latest", HFND,
              "housing_fund", "arg_max(contributors, period)", type="integer", unit="人"),
    indicator("hf_amount_12m", "近12个月公积金缴存额", "Housing-fund deposits, 12 months", HFND, "housing_fund",
              f"sum(amount) FILTER (WHERE {LAST12})", unit="元"),
    indicator("hf_arrears_months_latest", "最新公积金欠缴月数", "Housing-fund months in arrears", HFND,
              "housing_fund", "arg_max(months_in_arrears, period)", type="integer", better=LOW, missing=ZERO),
    indicator("hf_coverage", "公积金覆盖率", "Housing-fund coverage (contributors / insured)", HFND, "derived",
              "hf_contributors_latest / nullif(insured_latest, 0)", unit="%"),
    # -- utilities ---------------------------------------------------------------------------------------
    indicator("electricity_12m", "近12个月用电量", "Electricity use, 12 months", UTIL, "electricity",
              f"sum(usage) FILTER (WHERE {LAST12})", unit="kWh"),
    indicator("electricity_prev_12m", "上年同期用电量", "Electricity use, the 12 months before", UTIL,
              "electricity", f"sum(usage) FILTER (WHERE {PREV12})", unit="kWh"),
    indicator("electricity_3m", "近3个月用电量", "Electricity use, 3 months", UTIL, "electricity",
              f"sum(usage) FILTER (WHERE {LAST3})", unit="kWh"),
    indicator("electricity_prev_3m", "前3个月用电量", "Electricity use, the 3 months before", UTIL, "electricity",
              f"sum(usage) FILTER (WHERE {PREV3})", unit="kWh"),
    indicator("electricity_arrears_latest", "最新电费欠费", "Electricity arrears, latest month", UTIL,
              "electricity", "arg_max(arrears, period)", unit="元", better=LOW, missing=ZERO),
    indicator("water_12m", "近12个月用水量", "Water use, 12 months", UTIL, "water",
              f"sum(usage) FILTER (WHERE {LAST12})", unit="m³"),
    indicator("water_arrears_latest", "最新水费欠费", "Water arrears, latest month", UTIL, "water",
              "arg_max(arrears, period)", unit="元", better=LOW, missing=ZERO),
    indicator("gas_12m", "近12个月用气量", "Gas use, 12 months", UTIL, "gas",
              f"sum(usage) FILTER (WHERE {LAST12})", unit="m³"),
    indicator("gas_arrears_latest", "最新燃气欠费", "Gas arrears, latest month", UTIL, "gas",
              "arg_max(arrears, period)", unit="元", better=LOW, missing=ZERO),
    indicator("electricity_growth_12m", "用电量同比增长率", "Electricity growth, year on year", UTIL, "derived",
              "electricity_12m / nullif(electricity_prev_12m, 0) - 1", unit="%"),
    indicator("electricity_trend_3m", "近3个月用电环比", "Electricity, last 3 months vs the 3 before", UTIL,
              "derived", "electricity_3m / nullif(electricity_prev_3m, 0) - 1", unit="%"),
    indicator("utility_arrears", "水电气欠费合计", "Utility arrears, total", UTIL, "derived",
              "electricity_arrears_latest + water_arrears_latest + gas_arrears_latest", unit="元", better=LOW,
              missing=ZERO),
    # -- judicial ----------------------------------------------------------------------------------------
    indicator("cases_24m", "近24个月涉诉案件数", "Court cases, 24 months", JUDI, "court_cases",
              "count(*) FILTER (WHERE filed_on >= $d24)", type="integer", better=LOW, missing=ZERO),
    indicator("defendant_cases_24m", "近24个月被告案件数", "Cases as defendant, 24 months", JUDI, "court_cases",
              "count(*) FILTER (WHERE filed_on >= $d24 AND role IN ('被告', '被执行人'))", type="integer",
              better=LOW, missing=ZERO),
    indicator("defendant_amount_24m", "近24个月被诉金额", "Amount claimed against it, 24 months", JUDI,
              "court_cases", "coalesce(sum(amount) FILTER (WHERE filed_on >= $d24 AND role IN ('被告', "
              "'被执行人')), 0)", unit="元", better=LOW, missing=ZERO),
    indicator("enforcement_cases_24m", "近24个月被执行案件数", "Enforcement cases against it, 24 months", JUDI,
              "court_cases", "count(*) FILTER (WHERE filed_on >= $d24 AND role = '被执行人')", type="integer",
              better=LOW, missing=ZERO),
    indicator("lost_cases_24m", "近24个月败诉案件数", "Cases lost, 24 months", JUDI, "court_cases",
              "count(*) FILTER (WHERE filed_on >= $d24 AND outcome = '败诉')", type="integer", better=LOW,
              missing=ZERO),
    indicator("open_cases", "未结案件数", "Open cases", JUDI, "court_cases",
              "count(*) FILTER (WHERE outcome = '审理中' OR enforcement = '执行中')", type="integer",
              better=LOW, missing=ZERO),
    indicator("on_dishonest_list", "失信被执行人", "On the dishonest judgment-debtor list", JUDI,
              "dishonest_debtors", "bool_or(listed_on <= $as_of AND (removed_on IS NULL OR removed_on > $as_of))",
              type="boolean", better=LOW, missing=ZERO),
    indicator("dishonest_entries", "失信记录数", "Dishonest-debtor entries, ever", JUDI, "dishonest_debtors",
              "count(*)", type="integer", better=LOW, missing=ZERO),
    # -- administrative penalties -----------------------------------------------------------------------
    indicator("penalties_24m", "近24个月行政处罚次数", "Administrative penalties, 24 months", PENA,
              "admin_penalties", "count(*) FILTER (WHERE decided_on >= $d24)", type="integer", better=LOW,
              missing=ZERO),
    indicator("fines_24m", "近24个月罚款金额", "Fines, 24 months", PENA, "admin_penalties",
              "coalesce(sum(fine) FILTER (WHERE decided_on >= $d24), 0)", unit="元", better=LOW, missing=ZERO),
    indicator("serious_penalties_24m", "近24个月严重处罚次数", "Serious penalties, 24 months", PENA,
              "admin_penalties", "count(*) FILTER (WHERE decided_on >= $d24 AND severity = '严重')",
              type="integer", better=LOW, missing=ZERO),
    # -- innovation --------------------------------------------------------------------------------------
    indicator("patents_valid", "有效专利数", "Valid patents", INNO, "patents",
              "count(*) FILTER (WHERE legal_status = '有效')", type="integer", missing=ZERO),
    indicator("invention_patents", "有效发明专利数", "Valid invention patents", INNO, "patents",
              "count(*) FILTER (WHERE legal_status = '有效' AND patent_type = '发明')", type="integer",
              missing=ZERO),
    indicator("patents_filed_24m", "近24个月专利申请数", "Patent applications, 24 months", INNO, "patents",
              "count(*) FILTER (WHERE filed_on >= $d24)", type="integer", missing=ZERO),
    indicator("trademarks", "有效商标数", "Registered trademarks", INNO, "trademarks",
              "count(*) FILTER (WHERE expires_on IS NULL OR expires_on > $as_of)", type="integer", missing=ZERO),
    indicator("licences_valid", "有效行政许可数", "Valid administrative licences", INNO, "admin_licences",
              "count(*) FILTER (WHERE valid_until IS NULL OR valid_until > $as_of)", type="integer",
              missing=ZERO),
    # -- foreign trade -----------------------------------------------------------------------------------
    indicator("exports_12m", "近12个月出口额", "Exports, 12 months", TRAD, "customs_monthly",
              f"sum(exports) FILTER (WHERE {LAST12})", unit="元", missing=ZERO),
    indicator("imports_12m", "近12个月进口额", "Imports, 12 months", TRAD, "customs_monthly",
              f"sum(imports) FILTER (WHERE {LAST12})", unit="元", better=NEITHER, missing=ZERO),
    indicator("trade_prev_12m", "上年同期进出口额", "Trade, the 12 months before", TRAD, "customs_monthly",
              f"sum(coalesce(exports, 0) + coalesce(imports, 0)) FILTER (WHERE {PREV12})", unit="元",
              missing=ZERO),
    indicator("customs_grade_score", "海关信用等级分", "Customs credit grade (3 best)", TRAD, "customs_credit",
              "arg_max(CASE grade WHEN '高级认证企业' THEN 3 WHEN '失信企业' THEN 1 ELSE 2 END, assessed_on)",
              type="integer"),
    indicator("trade_growth_12m", "进出口同比增长率", "Trade growth, year on year", TRAD, "derived",
              "(exports_12m + imports_12m) / nullif(trade_prev_12m, 0) - 1", unit="%"),
    # -- public credit and lists -------------------------------------------------------------------------
    indicator("public_credit_score", "公共信用综合评价分", "Public credit evaluation (A=4 … D=1)", PUBC,
              "public_credit_grade", "arg_max(CASE grade WHEN 'A' THEN 4 WHEN 'B' THEN 3 WHEN 'C' THEN 2 "
              "ELSE 1 END, evaluated_on)", type="integer"),
    indicator("on_black_list", "列入黑名单", "On a black list", PUBC, "red_black_lists",
              "bool_or(list_colour = '黑名单' AND listed_on <= $as_of AND (removed_on IS NULL OR removed_on > "
              "$as_of))", type="boolean", better=LOW, missing=ZERO),
    indicator("on_red_list", "列入红名单", "On a red list", PUBC, "red_black_lists",
              "bool_or(list_colour = '红名单' AND listed_on <= $as_of AND (removed_on IS NULL OR removed_on > "
              "$as_of))", type="boolean", missing=ZERO),
    indicator("on_financial_risk_list", "列入金融风险名单", "On a regulator's risk list (overdue, debt evasion)",
              PUBC, "financial_risk_lists", "bool_or(listed_on <= $as_of AND (removed_on IS NULL OR removed_on > "
              "$as_of))", type="boolean", better=LOW, missing=ZERO),
    indicator("mortgages_current", "现势抵押登记数", "Mortgages in force", PUBC, "real_estate_mortgages",
              "count(*) FILTER (WHERE status = '现势' AND registered_on <= $as_of)", type="integer",
              better=NEITHER, missing=ZERO),
    indicator("secured_amount_current", "现势抵押担保金额", "Amount secured by mortgages in force", PUBC,
              "real_estate_mortgages", "coalesce(sum(secured_amount) FILTER (WHERE status = '现势' AND "
              "registered_on <= $as_of), 0)", unit="元", better=NEITHER, missing=ZERO),
    # -- financial position: annual reports and invoices -------------------------------------------------
    indicator("employees_reported", "年报从业人数", "Employees (annual report)", FINA, "annual_reports",
              "arg_max(employees, year)", type="integer", unit="人"),
    indicator("total_assets", "资产总额", "Total assets (annual report)", FINA, "annual_reports",
              "arg_max(total_assets, year)", unit="万元"),
    indicator("debt_ratio", "资产负债率", "Liabilities / assets (annual report)", FINA, "annual_reports",
              "arg_max(total_liabilities / nullif(total_assets, 0), year)", unit="%", better=LOW),
    indicator("net_margin", "净利润率", "Net profit / revenue (annual report)", FINA, "annual_reports",
              "arg_max(net_profit / nullif(revenue, 0), year)", unit="%"),
    indicator("invoice_sales_12m", "近12个月销项发票金额", "Valid sales invoices, 12 months", FINA, "vat_invoices",
              "sum(amount) FILTER (WHERE direction = '销项' AND status = '有效发票' AND issued_on >= $d12)",
              unit="元"),
    indicator("invoice_purchases_12m", "近12个月进项发票金额", "Valid purchase invoices, 12 months", FINA,
              "vat_invoices", "sum(amount) FILTER (WHERE direction = '进项' AND status = '有效发票' AND "
              "issued_on >= $d12)", unit="元", better=NEITHER),
    indicator("void_invoice_rate_12m", "近12个月作废发票率", "Share of sales invoices voided, 12 months", FINA,
              "vat_invoices", "avg(CASE WHEN status = '作废发票' THEN 1.0 ELSE 0.0 END) FILTER (WHERE "
              "direction = '销项' AND issued_on >= $d12)", unit="%", better=LOW),
    indicator("negative_invoice_rate_12m", "近12个月红字发票率", "Share of negative sales invoices, 12 months",
              FINA, "vat_invoices", "avg(CASE WHEN amount < 0 THEN 1.0 ELSE 0.0 END) FILTER (WHERE direction = "
              "'销项' AND issued_on >= $d12)", unit="%", better=LOW),
    indicator("customers_12m", "近12个月下游客户数", "Customers invoiced, 12 months", FINA, "vat_invoices",
              "count(DISTINCT counterparty) FILTER (WHERE direction = '销项' AND issued_on >= $d12)",
              type="integer"),
    indicator("invoice_margin_12m", "发票毛利率", "Invoice margin (1 - purchases / sales)", FINA, "derived",
              "1 - invoice_purchases_12m / nullif(invoice_sales_12m, 0)", unit="%"),
    # -- financing on the platform: its own loan book, delivered monthly as the platform_loans source ------
    indicator("platform_loans_24m", "近24个月平台贷款笔数", "Loans through the platform, 24 months", LOAN,
              "platform_loans", "count(DISTINCT loan_ref) FILTER (WHERE period >= $m24)", type="integer",
              unit="笔", better=NEITHER, missing=ZERO),
    indicator("platform_outstanding", "平台贷款余额", "Outstanding on the platform, latest month", LOAN,
              "platform_loans", "sum(outstanding) FILTER (WHERE period >= $m1)", unit="元", better=NEITHER,
              missing=ZERO),
    indicator("platform_lenders", "平台在贷机构数", "Institutions lending to it on the platform", LOAN,
              "platform_loans", "count(DISTINCT institution) FILTER (WHERE period >= $m1 AND status <> '结清')",
              type="integer", unit="家", better=LOW, missing=ZERO),
    indicator("platform_max_overdue_days_12m", "近12个月平台贷款最长逾期天数", "Longest overdue on the platform, 12 months",
              LOAN, "platform_loans", "max(days_overdue) FILTER (WHERE period >= $m12)", type="integer",
              unit="天", better=LOW, missing=ZERO),
    indicator("platform_overdue_months_12m", "近12个月平台贷款逾期月数", "Months overdue on the platform, 12 months",
              LOAN, "platform_loans", "count(DISTINCT period) FILTER (WHERE period >= $m12 AND days_overdue > 0)",
              type="integer", unit="月", better=LOW, missing=ZERO),
    indicator("platform_defaults_24m", "近24个月平台贷款违约笔数", "Defaults on the platform, 24 months", LOAN,
              "platform_loans", "count(DISTINCT loan_ref) FILTER (WHERE period >= $m24 AND status = '违约')",
              type="integer", unit="笔", better=LOW, missing=ZERO),
    indicator("platform_repaid_24m", "近24个月平台贷款结清笔数", "Loans repaid on the platform, 24 months", LOAN,
              "platform_loans", "count(DISTINCT loan_ref) FILTER (WHERE period >= $m24 AND status = '结清')",
              type="integer", unit="笔", missing=ZERO),
    indicator("fund_invested", "政府基金累计投资额", "Invested by government funds", LOAN, "fund_investments",
              "sum(invested) FILTER (WHERE period >= $m1)", unit="元", missing=ZERO),
    indicator("fund_investors", "投资的政府基金数", "Government funds invested in it", LOAN, "fund_investments",
              "count(DISTINCT fund) FILTER (WHERE period >= $m1)", type="integer", unit="家", missing=ZERO),
)  # fmt: skip
