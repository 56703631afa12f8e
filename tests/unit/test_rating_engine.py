"""Pure parts of the rating-model lifecycle: a statistical scorecard as a rating model, back-test evidence,
threshold checks and the edit form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from xinyidai.indicators.service import INDICATORS
from xinyidai.rating.backtesting import ScoredDate, check_thresholds, evidence_of, failed_checks
from xinyidai.rating.editing import edited_config
from xinyidai.rating.engine import StatisticalRating, explain_values, quantile_cutoffs
from xinyidai.rating.expert import KnockOut, ModelConfigError, default_scorecard
from xinyidai.rating.statistical import FeatureBins, Scorecard

CUTOFFS = (("A", 750.0), ("B", 500.0), ("C", 250.0), ("D", 0.0))


def card() -> Scorecard:
    tax = FeatureBins("tax_paid_12m", "numerical", woe=(-1.0, 0.0, 1.0), points=(-20.0, 0.0, 30.0),
                      edges=(1_000.0, 10_000.0), missing_points=-10.0)  # fmt: skip
    cases = FeatureBins("open_cases", "numerical", woe=(0.5, -1.0), points=(10.0, -40.0), edges=(1.0,))
    return Scorecard(features=(tax, cases), intercept=-3.0, base_points=600.0)


def snapshot(**columns: list[object]) -> pa.Table:
    names = {i.id for i in INDICATORS}
    n = len(next(iter(columns.values())))
    data = {
        name: pa.array(columns.get(name, [None] * n), pa.float64()) for name in ("tax_paid_12m", "open_cases")
    }
    data["on_dishonest_list"] = pa.array(columns.get("on_dishonest_list", [False] * n), pa.bool_())
    assert set(data) <= names
    return pa.table({**data, "uscc": pa.array([f"u{i}" for i in range(n)])})


def test_a_statistical_scorecard_rates_from_0_to_1000_with_grades_and_knock_outs() -> None:
    rating = StatisticalRating(card(), CUTOFFS, (KnockOut("on_dishonest_list", "D", "列入失信被执行人名单"),))
    table = snapshot(tax_paid_12m=[50_000, 0, None, 50_000], open_cases=[0, 5, 0, 0],
                     on_dishonest_list=[False, False, False, True])  # fmt: skip
    scored = rating.score(table)
    assert list(scored.score) == [1000.0, 0.0, 600.0, 1000.0]  # spans: tax 50, cases 50 points
    assert list(scored.grade) == ["A", "D", "B", "D"] and list(scored.knocked_out) == [-1, -1, -1, 0]
    assert list(scored.completeness) == [1.0, 1.0, 0.5, 1.0]
    # The ranking is the scorecard's own: the rescaling is linear.
    assert np.all(np.diff(scored.score[np.argsort(card().score(table))]) >= 0)
    reasons = rating.reasons(scored, 1)
    assert [r["indicator"] for r in reasons["down"]] == ["tax_paid_12m", "open_cases"]
    expected = {
        "indicator": "tax_paid_12m",
        "name": "近12个月实缴税额",
        "value": 0.0,
        "unit": "元",
        "points": 0,
    }
    assert reasons["down"][0] == {**expected, "impact": -500.0}
    assert reasons["up"] == [] and rating.reasons(scored, 3)["knock_out"] == "列入失信被执行人名单"


def test_a_stored_statistical_model_rates_as_it_did_and_explains_one_firm() -> None:
    rating = StatisticalRating(card(), CUTOFFS, ())
    again = StatisticalRating.from_config(rating.to_config())
    table = snapshot(tax_paid_12m=[5_000, 20], open_cases=[0, 2])
    assert list(again.score(table).score) == list(rating.score(table).score)
    reasons = explain_values(again, {"tax_paid_12m": 5_000, "open_cases": 2}, -1)
    assert [r["indicator"] for r in reasons["down"]] == ["open_cases", "tax_paid_12m"]
    with pytest.raises(ModelConfigError, match="Grade cut-offs must fall"):
        StatisticalRating.from_config({**rating.to_config(), "cutoffs": [["A", 100], ["B", 200]]})
    with pytest.raises(ModelConfigError, match="cannot be read"):
        StatisticalRating.from_config({"format": 1})


def test_quantile_cut_offs_fall_strictly_even_with_ties() -> None:
    assert quantile_cutoffs(np.arange(100.0), (("A", 0.25), ("B", 0.35), ("C", 0.25), ("D", 0.15))) == (
        ("A", 74.2), ("B", 39.6), ("C", 14.8), ("D", 0.0))  # fmt: skip
    tied = quantile_cutoffs(np.full(50, 400.0), (("A", 0.5), ("B", 0.5)))
    assert tied == (("A", 400.0), ("B", 0.0))
    flat = quantile_cutoffs(np.full(50, 400.0), (("A", 0.2), ("B", 0.3), ("C", 0.5)))
    assert flat == (("A", 400.0), ("B", 399.9), ("C", 0.0))


def scored_date(day: date, scores: list[float], grades: list[str], defaulted: list[int]) -> ScoredDate:
    s = np.array(scores)
    return ScoredDate(day, s, s, np.array(grades, dtype=object), np.array(defaulted, dtype=np.int8))


def test_evidence_and_thresholds() -> None:
    history = [
        scored_date(
            date(2026, 1, 1), [900, 800, 300, 200] * 10, ["A", "A", "C", "C"] * 10, [0, 0, 0, 1] * 10
        ),
        scored_date(
            date(2026, 2, 1), [900, 700, 300, 100] * 10, ["A", "B", "C", "C"] * 10, [0, 0, 1, 1] * 10
        ),
    ]
    evidence = evidence_of(history, ["A", "B", "C", "D"])
    assert (evidence["n"], evidence["n_bad"], evidence["monotone"]) == (80, 30, True)
    assert evidence["auc"] == pytest.approx(0.9667) and evidence["ks"] == pytest.approx(0.8)
    assert [g["n"] for g in evidence["grades"]] == [30, 10, 40, 0] and evidence["grades"][1]["thin"]
    assert evidence["psi"] is not None and evidence["psi_dates"] == ["2026-01-01", "2026-02-01"]
    checks = check_thresholds(evidence, min_auc=Decimal("0.7"), min_ks=Decimal("0.3"), max_psi=Decimal("99"),
                              monotone=True)  # fmt: skip
    assert not failed_checks(checks)
    weak = {**evidence, "auc": 0.61, "psi": 0.4}
    failed = failed_checks(check_thresholds(weak, min_auc=Decimal("0.700"), min_ks=Decimal("0.3"),
                                            max_psi=Decimal("0.25"), monotone=True))  # fmt: skip
    assert [c.message % c.params for c in failed] == [
        "AUC 0.610 is below the threshold 0.70",
        "PSI 0.400 is above the threshold 0.25",
    ]
    grades = [
        {"grade": "A", "n": 40, "n_bad": 4, "default_rate": 0.1},
        {"grade": "B", "n": 40, "n_bad": 2, "default_rate": 0.05},
    ]
    inverted = {**evidence, "monotone": False, "grades": grades}
    (check,) = failed_checks(check_thresholds(inverted, min_auc=Decimal(0), min_ks=Decimal(0),
                                              max_psi=Decimal(99), monotone=True))  # fmt: skip
    assert check.message % check.params == (
        "The default rate is not monotone by grade: grade A defaults more often (10.0%) than grade B (5.0%)"
    )
    one_date = evidence_of(history[:1], ["A", "B", "C", "D"])
    lenient = check_thresholds(
        one_date, min_auc=Decimal(0), min_ks=Decimal(0), max_psi=Decimal(0), monotone=False
    )
    assert one_date["psi"] is None and not failed_checks(lenient)


def test_the_edit_form_changes_only_what_it_names() -> None:
    config = default_scorecard().to_dict()
    same = edited_config(config, {"note": "x", "weight.tax": ""})
    assert same == config and same is not config
    edited = edited_config(config, {"weight.tax": "10", "weight.operations": "26", "missing.sales_12m": "0"})
    weights = {d["dimension"]: d["weight"] for d in edited["dimensions"]}
    assert weights["tax"] == pytest.approx(0.1) and config["dimensions"][2]["weight"] == 0.16
    sales = next(f for d in edited["dimensions"] for f in d["factors"] if f["indicator"] == "sales_12m")
    assert sales["missing_points"] == 0
    with pytest.raises(ModelConfigError) as refused:
        edited_config(config, {"points.sales_12m.0": "2.5"})
    assert refused.value.field == "points.sales_12m.0"
