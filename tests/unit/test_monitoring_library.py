"""The library of risk-warning rules: enough rules, well formed, allowed for their audience, and right.

Every rule is compiled for every owner kind its set's audience names; a sample of rules is evaluated on
hand-made records (one where it fires, one just beside it where it does not), and the whole library is
evaluated over an Arrow table in DuckDB to prove the batch evaluator agrees with the single-record one.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from xinyidai.core.access import OrgKind
from xinyidai.core.errors import NotFound
from xinyidai.monitoring.fields import (
    SUFFIXES,
    FieldNotAllowed,
    check_rule,
    event_fields,
    monitoring_catalogue,
)
from xinyidai.monitoring.library import (
    AUDIENCE_KINDS,
    LIBRARY,
    LibraryRule,
    library_rule,
    library_rules,
    library_set,
)

ALL_RULES = library_rules()
EVENT_NAMES = frozenset(f.name for f in event_fields())

# A healthy, steady firm: 50 staff, 12 M 元 of sales growing 9 %, taxes paid, no lawsuits, grade A,
# one performing loan. The previous snapshot and the one 3 months earlier hold the same figures.
_HEALTHY_INDICATORS: dict[str, Any] = {
    "age_years": 8.0,
    "registered_capital": 500.0,
    "is_active": True,
    "changes_24m": 1,
    "sales_12m": 12_000_000.0,
    "sales_prev_12m": 11_000_000.0,
    "sales_3m": 3_100_000.0,
    "sales_prev_3m": 3_000_000.0,
    "months_with_sales_12m": 12,
    "sales_volatility_12m": 0.2,
    "sales_growth_12m": 0.09,
    "sales_trend_3m": 0.03,
    "tax_paid_12m": 600_000.0,
    "tax_paid_prev_12m": 560_000.0,
    "tax_growth_12m": 0.07,
    "tax_burden_12m": 0.05,
    "tax_credit_score": 5,
    "tax_grade_a": True,
    "insured_latest": 50,
    "insured_12m_ago": 48,
    "insured_avg_12m": 49.0,
    "new_hires_12m": 6,
    "separations_12m": 4,
    "separations_24m": 9,
    "separations_6m": 2,
    "separations_prev_6m": 2,
    "insured_avg_24m": 48.0,
    "contributions_12m": 900_000.0,
    "headcount_growth_12m": 0.04,
    "turnover_rate_12m": 0.08,
    "turnover_rate_24m": 0.09,
    "turnover_trend_6m": 0.0,
    "hf_contributors_latest": 40,
    "hf_amount_12m": 300_000.0,
    "hf_coverage": 0.8,
    "electricity_12m": 200_000.0,
    "electricity_prev_12m": 190_000.0,
    "electricity_3m": 50_000.0,
    "electricity_prev_3m": 49_000.0,
    "water_12m": 3_000.0,
    "gas_12m": 1_000.0,
    "electricity_growth_12m": 0.05,
    "electricity_trend_3m": 0.02,
    "licences_valid": 2,
    "trade_growth_12m": None,  # no foreign trade: no growth rate
    "customs_grade_score": 2,
    "public_credit_score": 4,
    "mortgages_current": 1,
    "secured_amount_current": 2_000_000.0,
    "employees_reported": 50,
    "total_assets": 3_000.0,
    "debt_ratio": 0.45,
    "net_margin": 0.06,
    "invoice_sales_12m": 12_000_000.0,
    "invoice_purchases_12m": 9_000_000.0,
    "void_invoice_rate_12m": 0.01,
    "negative_invoice_rate_12m": 0.01,
    "customers_12m": 25,
    "invoice_margin_12m": 0.25,
    "platform_loans_24m": 1,
    "platform_outstanding": 500_000.0,
    "platform_lenders": 1,
    "platform_repaid_24m": 1,
}
_ZERO = {"integer": 0, "float": 0.0, "boolean": False}


def _healthy() -> dict[str, Any]:
    catalogue = monitoring_catalogue()
    record: dict[str, Any] = {}
    for name in catalogue:
        spec = catalogue[name]
        record[name] = _ZERO.get(spec.type.value) if not name.startswith("event_") else None
    for name in list(record):
        base = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
        if base in _HEALTHY_INDICATORS:
            record[name] = _HEALTHY_INDICATORS[base]
    record.update(
        grade="A",
        grade_prev="A",
        grade_drop=0,
        score=820.0,
        loans_on_platform=1,
        loan_outstanding=500_000.0,
        loan_overdue_days=0,
        loan_in_default=False,
        own_loan_outstanding=500_000.0,
        own_loan_overdue_days=0,
    )
    return record


HEALTHY = _healthy()


def _kinds(code: str) -> tuple[OrgKind | None, ...]:
    return AUDIENCE_KINDS[library_set(code).audience]


def _compiled(rule_code: str) -> Any:
    owner = next(s for s, r in ALL_RULES if r.code == rule_code)
    return check_rule(library_rule(rule_code).expression, AUDIENCE_KINDS[owner.audience][0])


def _court(**fields: Any) -> dict[str, Any]:
    return {"event_source": "court_cases", "event_filed_on": datetime.date(2026, 11, 30), **fields}


def _listing(**fields: Any) -> dict[str, Any]:
    return {"event_source": "red_black_lists", "event_listed_on": datetime.date(2026, 11, 30), **fields}


# (rule, changes that make it fire, changes just beside them that must not)
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("JUD-001", {"defendant_cases_24m": 1}, {"defendant_cases_24m": 1, "defendant_cases_24m_prev": 1}),
    (
        "JUD-002",
        {"defendant_amount_24m": 1_500_000.0, "defendant_amount_24m_prev": 200_000.0},
        {"defendant_amount_24m": 1_100_000.0, "defendant_amount_24m_prev": 200_000.0},
    ),
    (
        "JUD-003",
        {"defendant_amount_24m": 1_100_000.0, "defendant_amount_24m_prev": 200_000.0},
        {"defendant_amount_24m": 1_500_000.0, "defendant_amount_24m_prev": 200_000.0},
    ),
    (
        "JUD-006",
        {"on_dishonest_list": True},
        {"on_dishonest_list": True, "on_dishonest_list_prev": True},
    ),
    ("JUD-010", {"defendant_amount_24m": 4_000_000.0}, {"defendant_amount_24m": 3_000_000.0}),
    (
        "JUD-E02",
        _court(event_role="被告", event_amount=2_000_000.0),
        _court(event_role="原告", event_amount=2_000_000.0),
    ),
    (
        "JUD-E03",
        _court(event_role="被告", event_cause="金融借款合同纠纷"),
        _court(event_role="被告", event_cause="买卖合同纠纷"),
    ),
    (
        "JUD-E05",
        _court(event_role="被执行人", event_enforcement="终结本次执行"),
        _court(event_role="被执行人", event_enforcement="执行中"),
    ),
    (
        "JUD-E10",
        {"event_source": "dishonest_debtors", "event_listed_on": datetime.date(2026, 11, 30)},
        {
            "event_source": "dishonest_debtors",
            "event_listed_on": datetime.date(2025, 1, 2),
            "event_removed_on": datetime.date(2026, 11, 30),
        },
    ),
    ("OPS-001", {"sales_growth_12m": -0.6}, {"sales_growth_12m": -0.45}),
    ("OPS-002", {"sales_growth_12m": -0.45}, {"sales_growth_12m": -0.6}),
    ("OPS-004", {"sales_12m": 9_000_000.0}, {"sales_12m": 10_000_000.0}),
    ("OPS-005", {"sales_3m": None}, {"sales_3m": 1_000.0}),
    ("OPS-008", {"void_invoice_rate_12m": 0.25}, {"void_invoice_rate_12m": 0.15}),
    ("EMP-001", {"insured_latest": 30}, {"insured_latest": 35}),  # 35 is exactly 70 % of 50
    ("EMP-002", {"insured_latest": 40}, {"insured_latest": 30}),
    (
        "EMP-005",
        {"turnover_rate_12m": 0.6},
        {"turnover_rate_12m": 0.6, "insured_avg_12m": 4.0},  # too small a firm for a rate
    ),
    (
        "EMP-007",
        {"separations_6m": 6, "turnover_trend_6m": 4 / 3},
        {"separations_6m": 4, "turnover_trend_6m": 2 / 3 + 1},
    ),
    ("EMP-013", {"ss_arrears_months_12m": 3}, {"ss_arrears_months_12m": 2}),
    ("TAX-004", {"tax_credit_score": 1}, {"tax_credit_score": 2}),
    ("TAX-006", {"tax_credit_score": 4}, {"tax_credit_score": 4, "tax_credit_score_prev": 4}),
    ("UTL-001", {"utility_arrears": 500.0}, {"utility_arrears": 500.0, "utility_arrears_prev": 300.0}),
    ("UTL-002", {"utility_arrears": 12_000.0}, {"utility_arrears": 9_000.0}),
    ("UTL-010", {"electricity_3m": 4_000.0}, {"electricity_3m": 6_000.0}),
    ("PEN-005", {"on_black_list": True}, {"on_black_list": True, "on_black_list_prev": True}),
    (
        "PEN-E01",
        _listing(event_list_colour="黑名单", event_list_name="安全生产黑名单"),
        _listing(event_list_colour="红名单", event_list_name="A级纳税人"),
    ),
    (
        "PEN-E02",
        _listing(event_list_colour="黑名单", event_list_name="重大税收违法失信主体"),
        _listing(event_list_colour="黑名单", event_list_name="安全生产黑名单"),
    ),
    ("FIN-001", {"loan_overdue_days": 5}, {"loan_overdue_days": 30}),
    ("FIN-002", {"loan_overdue_days": 45}, {"loan_overdue_days": 95}),
    ("FIN-004", {"loan_in_default": True}, {"loan_in_default": None}),
    (
        "FIN-006",
        {"loan_overdue_days": 10},
        {"loan_overdue_days": 10, "own_loan_overdue_days": 10},
    ),
    ("FIN-008", {"platform_lenders": 3}, {"platform_lenders": 2}),
    ("RAT-001", {"grade": "B", "grade_drop": 1}, {"grade": "A", "grade_prev": "B", "grade_drop": 0}),
    ("RAT-002", {"grade": "C", "grade_drop": 2}, {"grade": "B", "grade_drop": 1}),
    ("RAT-004", {"grade": "D", "grade_prev": "C"}, {"grade": "D", "grade_prev": "D"}),
    (
        "REG-005",
        {"legal_rep_changes_24m": 1, "address_changes_24m": 1},
        {"legal_rep_changes_24m": 1},
    ),
    ("REG-007", {"registered_capital": 200.0}, {"registered_capital": 300.0}),
    ("REG-010", {"is_active": False}, {"is_active": None}),
    ("TRD-005", {"customs_grade_score": 1}, {"customs_grade_score": 1, "customs_grade_score_prev": 1}),
    (
        "WHL-012",
        {"fund_invested": 1_000_000.0, "defendant_amount_24m": 600_000.0},
        {"fund_invested": 0.0, "defendant_amount_24m": 600_000.0},
    ),
    (
        "WHL-015",
        {"on_red_list": True, "on_dishonest_list": True},
        {"on_red_list": True},
    ),
]


def test_library_has_at_least_100_rules_in_about_ten_sets() -> None:
    assert len(ALL_RULES) >= 100
    assert len(LIBRARY) >= 9
    assert all(len(s.rules) >= 5 for s in LIBRARY)
    assert {s.audience for s in LIBRARY} == {"all", "institution", "department"}


def test_codes_are_unique_and_every_rule_is_well_formed() -> None:
    rule_codes = [r.code for _, r in ALL_RULES]
    assert len(rule_codes) == len(set(rule_codes))
    set_codes = [s.code for s in LIBRARY]
    assert len(set_codes) == len(set(set_codes))
    for rule_set in LIBRARY:
        assert re.fullmatch(r"[a-z_]{1,64}", rule_set.code)
        assert rule_set.name and rule_set.description and len(rule_set.name) <= 200
        assert rule_set.audience in AUDIENCE_KINDS
        for rule in rule_set.rules:
            assert re.fullmatch(r"[A-Z]{3}-E?\d{2,3}", rule.code), rule.code
            assert rule.severity in ("high", "medium", "low")
            assert rule.trigger in ("batch", "event")
            assert rule.name and len(rule.name) <= 200
            assert rule.description and len(rule.description) <= 1000
            assert len(rule.expression) <= 2000
            assert re.search(r"[\u4e00-\u9fff]", rule.name + rule.description), rule.code
    severities = {r.severity for _, r in ALL_RULES}
    assert severities == {"high", "medium", "low"}  # the board shows every colour


@pytest.mark.parametrize(("rule_set", "rule"), ALL_RULES, ids=[r.code for _, r in ALL_RULES])
def test_every_rule_compiles_for_every_owner_its_set_is_meant_for(rule_set: Any, rule: LibraryRule) -> None:
    for kind in AUDIENCE_KINDS[rule_set.audience]:
        compiled = check_rule(rule.expression, kind)
        assert compiled.result_type.value == "boolean"
    fields = check_rule(rule.expression, AUDIENCE_KINDS[rule_set.audience][0]).fields
    event_fields_used = fields & EVENT_NAMES
    if rule.trigger == "event":
        assert "event_source" in event_fields_used, rule.code
    else:
        assert not event_fields_used, rule.code
    if any(f.startswith("fund_") for f in fields):
        assert rule_set.audience == "department", rule.code
    if any(f.startswith(("loan", "own_")) for f in fields):
        assert rule_set.audience == "institution", rule.code


def test_the_audience_matters_a_department_may_not_switch_on_the_financing_set() -> None:
    financing = library_set("financing")
    assert financing.audience == "institution"
    refused = 0
    for rule in financing.rules:
        try:
            check_rule(rule.expression, OrgKind.DEPARTMENT)
        except FieldNotAllowed:
            refused += 1
    assert refused >= 5
    with pytest.raises(FieldNotAllowed):
        check_rule(library_rule("WHL-012").expression, OrgKind.INSTITUTION)  # fund_* is not a bank's


def test_library_set_and_rule_lookups() -> None:
    assert library_set("judicial").name == "司法风险"
    assert library_rule("EMP-001").severity == "high"
    with pytest.raises(NotFound):
        library_set("no-such-set")
    with pytest.raises(NotFound):
        library_rule("XXX-999")


def test_the_issue_examples_are_in_the_library() -> None:
    expressions = {r.code: r.expression for _, r in ALL_RULES}
    assert "insured_latest < 0.7 * insured_latest_3m_ago" in expressions["EMP-001"]
    assert "sales_growth_12m <= -0.5" in expressions["OPS-001"]
    assert "utility_arrears" in expressions["UTL-001"]
    assert "on_dishonest_list" in expressions["JUD-006"]
    assert "dishonest_debtors" in expressions["JUD-E10"]
    assert "loan_overdue_days" in expressions["FIN-001"]
    assert "grade_drop" in expressions["RAT-001"]
    assert "turnover_rate_12m" in expressions["EMP-005"]
    assert "event_amount >= 1000000" in expressions["JUD-E02"]


def test_nothing_fires_on_a_healthy_firm_nor_on_its_first_snapshot() -> None:
    first = {k: (None if k.endswith(SUFFIXES) or k in ("grade_prev",) else v) for k, v in HEALTHY.items()}
    for rule_set, rule in ALL_RULES:
        compiled = check_rule(rule.expression, AUDIENCE_KINDS[rule_set.audience][0])
        assert not compiled.matches(HEALTHY), rule.code
        assert not compiled.matches(first), rule.code


def test_event_rules_never_fire_in_a_batch_run() -> None:
    troubled = {**HEALTHY, "on_dishonest_list": True, "on_black_list": True, "defendant_cases_24m": 9}
    for rule_set, rule in ALL_RULES:
        if rule.trigger == "event":
            compiled = check_rule(rule.expression, AUDIENCE_KINDS[rule_set.audience][0])
            assert not compiled.matches(troubled), rule.code


def test_entering_a_list_fires_on_the_first_snapshot_too() -> None:
    first = {**HEALTHY, "on_dishonest_list": True, "on_dishonest_list_prev": None}
    assert _compiled("JUD-006").matches(first)
    assert _compiled("RAT-004").matches({**HEALTHY, "grade": "D", "grade_prev": None})


def test_sample_covers_at_least_20_rules_of_every_set_kind() -> None:
    codes = {code for code, _, _ in CASES}
    assert len(codes) >= 20
    sets_covered = {s.code for s, r in ALL_RULES if r.code in codes}
    assert sets_covered == {s.code for s in LIBRARY}
    assert any(library_rule(c).trigger == "event" for c in codes)


@pytest.mark.parametrize(("code", "fires", "quiet"), CASES, ids=[c for c, _, _ in CASES])
def test_rule_fires_on_its_case_and_not_beside_it(
    code: str, fires: dict[str, Any], quiet: dict[str, Any]
) -> None:
    compiled = _compiled(code)
    assert compiled.matches({**HEALTHY, **fires})
    assert not compiled.matches({**HEALTHY, **quiet})


def _table(records: list[dict[str, Any]]) -> pa.Table:
    catalogue = monitoring_catalogue()
    return pa.table(
        {name: pa.array([r[name] for r in records], type=catalogue[name].arrow_type) for name in catalogue}
    )


def test_the_whole_library_runs_over_an_arrow_table_and_agrees_with_single_records() -> None:
    records = [HEALTHY]
    for _, fires, quiet in CASES:
        records += [{**HEALTHY, **fires}, {**HEALTHY, **quiet}]
    records.append({k: None for k in HEALTHY})  # a firm with no data at all
    table = _table(records)
    connection = duckdb.connect(":memory:")
    fired = 0
    try:
        for rule_set, rule in ALL_RULES:
            compiled = check_rule(rule.expression, AUDIENCE_KINDS[rule_set.audience][0])
            batch = compiled.matches_batch(table, connection=connection).to_pylist()
            single = [compiled.matches(r) for r in records]
            assert batch == single, rule.code
            fired += sum(batch)
    finally:
        connection.close()
    assert fired >= len(CASES)
    # the sampled case in batch, named: insured headcount down 40 % in 3 months
    emp = _compiled("EMP-001").matches_batch(_table([{**HEALTHY, "insured_latest": 30}, HEALTHY]))
    assert emp.to_pylist() == [True, False]
