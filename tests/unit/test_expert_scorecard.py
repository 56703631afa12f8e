"""The expert scorecard: bands, weights, knock-outs, reasons, and every bad configuration refused by name."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from xinyidai.indicators.definitions import INDICATORS
from xinyidai.rating.expert import ExpertScorecard, ModelConfigError, default_scorecard


def snapshot(**columns: list[Any]) -> pa.Table:
    """An indicator snapshot: every indicator column (null unless given) for len(uscc) firms."""
    n = len(columns["uscc"])
    types = {"float": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}
    data: dict[str, pa.Array] = {"uscc": pa.array(columns["uscc"], pa.string())}
    for item in INDICATORS:
        data[item.id] = pa.array(columns.get(item.id, [None] * n), types[item.type])
    return pa.table(data)


def healthy(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "age_years": 12.0, "registered_capital": 800.0, "legal_rep_changes_24m": 0, "sales_12m": 3e7,
        "sales_growth_12m": 0.2, "sales_trend_3m": 0.15, "months_with_sales_12m": 12, "tax_paid_12m": 9e5,
        "tax_growth_12m": 0.2, "tax_arrears_months_12m": 0, "tax_credit_score": 5, "insured_latest": 150,
        "headcount_growth_12m": 0.12, "turnover_rate_12m": 0.05, "turnover_trend_6m": -0.2,
        "ss_arrears_months_12m": 0, "hf_coverage": 0.95, "hf_arrears_months_latest": 0,
        "electricity_trend_3m": 0.2, "electricity_growth_12m": 0.2, "utility_arrears": 0.0,
        "defendant_cases_24m": 0, "enforcement_cases_24m": 0, "open_cases": 0, "penalties_24m": 0,
        "serious_penalties_24m": 0, "patents_valid": 12, "trademarks": 4, "customs_grade_score": 3,
        "public_credit_score": 4, "on_financial_risk_list": False, "on_black_list": False, "debt_ratio": 0.3,
        "net_margin": 0.12, "is_active": True, "on_dishonest_list": False,
    }  # fmt: skip
    values.update(overrides)
    return values


def table_of(*firms: dict[str, Any]) -> pa.Table:
    columns: dict[str, list[Any]] = {"uscc": [f"firm{i}" for i in range(len(firms))]}
    for key in firms[0]:
        columns[key] = [f[key] for f in firms]
    return snapshot(**columns)


def test_a_healthy_firm_scores_full_marks_and_a_weak_one_less() -> None:
    card = default_scorecard()
    weak = healthy(
        sales_growth_12m=-0.5, turnover_rate_12m=0.8, defendant_cases_24m=5, tax_arrears_months_12m=6
    )
    scored = card.score(table_of(healthy(), weak))
    assert scored.score[0] == 1000.0 and scored.grade[0] == "A"
    assert scored.score[1] < scored.score[0]
    reasons = card.reasons(scored, 1)
    pulled_down = {r["indicator"] for r in reasons["down"]}
    assert pulled_down <= {
        "sales_growth_12m",
        "turnover_rate_12m",
        "defendant_cases_24m",
        "tax_arrears_months_12m",
    }
    assert all(r["impact"] < 0 for r in reasons["down"]) and reasons["completeness"] == 1.0
    assert reasons["knock_out"] is None and not reasons["incomplete"]


def test_knock_outs_override_the_score() -> None:
    card = default_scorecard()
    scored = card.score(table_of(healthy(on_dishonest_list=True), healthy(is_active=False)))
    assert list(scored.grade) == ["D", "D"] and scored.score[0] == 1000.0
    assert card.reasons(scored, 0)["knock_out"] == "列入失信被执行人名单"
    assert card.reasons(scored, 1)["knock_out"] == "企业已吊销或注销"


def test_missing_data_scores_neutral_and_flags_completeness() -> None:
    card = default_scorecard()
    scored = card.score(snapshot(uscc=["nobody"], is_active=[True]))
    reasons = card.reasons(scored, 0)
    assert reasons["incomplete"] and reasons["completeness"] < 0.2
    assert 0 < scored.score[0] < 1000


def test_a_scorecard_survives_its_stored_form() -> None:
    card = default_scorecard()
    again = ExpertScorecard.from_dict(card.to_dict())
    firms = table_of(healthy(), healthy(sales_growth_12m=-0.2, open_cases=2))
    assert list(again.score(firms).score) == list(card.score(firms).score)


def test_lowering_a_weight_changes_the_scores_the_way_an_operator_expects() -> None:
    """Weihai lowered the weight of tax growth in the epidemic: firms whose tax fell lose less."""
    config = default_scorecard().to_dict()
    for dimension in config["dimensions"]:
        if dimension["dimension"] == "tax":
            dimension["factors"] = [f for f in dimension["factors"] if f["indicator"] != "tax_growth_12m"]
    crisis = ExpertScorecard.from_dict(config)
    firm = table_of(healthy(tax_growth_12m=-0.6))
    assert crisis.score(firm).score[0] > default_scorecard().score(firm).score[0]


def broken(change: str) -> dict[str, Any]:
    config = default_scorecard().to_dict()
    if change == "weights":
        config["dimensions"][0]["weight"] = 0.5
    elif change == "bands":
        config["dimensions"][0]["factors"][0]["bands"] = [[5, 10], [3, 20], [None, 100]]
    elif change == "unknown":
        config["dimensions"][0]["factors"][0]["indicator"] = "profit_of_the_moon"
    elif change == "open":
        config["dimensions"][0]["factors"][0]["bands"] = [[5, 10], [10, 100]]
    elif change == "points":
        config["dimensions"][0]["factors"][0]["bands"] = [[5, 10], [None, 130]]
    elif change == "knockout":
        config["knockouts"][0]["rule"] = "on_dishonest_lst"
    elif change == "cutoffs":
        config["cutoffs"] = [["A", 500], ["B", 600], ["C", 0]]
    elif change == "unreadable":
        del config["cutoffs"]
    return config


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("weights", "add up to 1"),
        ("bands", "overlap or are out of order"),
        ("unknown", "no indicator called"),
        ("open", "open-ended"),
        ("points", "between 0 and 100"),
        ("knockout", "knock-out rule"),
        ("cutoffs", "fall from the best grade"),
        ("unreadable", "cannot be read"),
    ],
)
def test_an_invalid_configuration_is_refused_naming_the_problem(change: str, words: str) -> None:
    with pytest.raises(ModelConfigError) as caught:
        ExpertScorecard.from_dict(broken(change))
    assert words in caught.value.message
    if change == "unknown":
        assert caught.value.params == {"name": "profit_of_the_moon"}
    if change == "knockout":
        assert "on_dishonest_list" in caught.value.params["problem"]  # the "did you mean"


def test_knock_outs_agree_in_batch_and_one_by_one() -> None:
    """Over 64 firms the rules run in DuckDB, below in Python: the grades must not depend on it."""
    firms = [healthy(on_dishonest_list=i % 7 == 0, is_active=i % 11 != 0) for i in range(130)]
    card = default_scorecard()
    batch = card.score(table_of(*firms))
    singles = [card.score(table_of(firm)).grade[0] for firm in firms]
    assert list(batch.grade) == singles and "D" in singles and "A" in singles
