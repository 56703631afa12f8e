"""Recommendation: eligible products first, ranked by likely approval, rate and amount fit; where the
enterprise is eligible for none, the products that come closest with what it lacks."""

from __future__ import annotations

import time
from decimal import Decimal
from itertools import count
from typing import Any

from xinyidai.market import recommend
from xinyidai.market.models import Product

_ids = count(1)

PROFILE: dict[str, Any] = {
    "region_code": "371002",
    "industry_section": "C",
    "size_class": "small",
    "grade": "B",
    "score": 720.0,
}
VALUES: dict[str, Any] = {}  # no indicator is used by these strategies


def product(**overrides: Any) -> Product:
    fields: dict[str, Any] = {
        "id": next(_ids),
        "institution_id": 1,
        "external_id": "P",
        "name": "产品",
        "product_type": "credit",
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000"),
        "term_min": 3,
        "term_max": 36,
        "rate_min": Decimal("3.5"),
        "rate_max": Decimal("6.0"),
        "repayment_methods": ["interest_first"],
        "regions": [],
        "industries": [],
        "sizes": [],
        "grades": [],
        "collateral": "none",
        "pure_credit": True,
        "online": True,
        "instant": False,
        "auto_disburse": False,
        "admission_rule": "",
        "limit_formula": "",
        "pricing": {"A": "3.5", "B": "4.5", "C": "5.5"},
        "status": "listed",
    }
    fields.update(overrides)
    return Product(**fields)


def names(items: list[recommend.Recommendation]) -> list[str]:
    return [r.product.name for r in items]


def test_eligible_products_come_first_and_lower_rates_rank_higher() -> None:
    cheap = product(name="cheap", pricing={"B": "3.8"})
    dear = product(name="dear", pricing={"B": "5.8"})
    closed = product(name="closed", grades=["A"])  # the enterprise is B
    ranked = recommend.rank([closed, dear, cheap], PROFILE, VALUES)
    assert names(ranked) == ["cheap", "dear", "closed"]
    assert [r.eligible for r in ranked] == [True, True, False]
    assert ranked[0].rate == Decimal("3.8") and ranked[0].limit == Decimal("3000000.00")
    assert ranked[0].fit > ranked[1].fit > ranked[2].fit == 0.0


def test_likely_approval_outweighs_a_slightly_lower_rate() -> None:
    instant = product(name="instant", instant=True, limit_formula="2000000", pricing={"B": "4.6"})
    manual = product(name="manual", pricing={"B": "4.5"})
    ranked = recommend.rank([manual, instant], PROFILE, VALUES)
    assert names(ranked) == ["instant", "manual"]  # an instant decision is binding: approval certain
    assert ranked[0].approval == 1.0 and ranked[1].approval == recommend.GRADE_APPROVAL["B"]


def test_amount_fit_to_the_need_breaks_ties() -> None:
    small = product(name="small", amount_max=Decimal("200000"))
    fits = product(name="fits", amount_max=Decimal("1000000"))
    ranked = recommend.rank([small, fits], PROFILE, VALUES, need_amount=Decimal("800000"), need_term=12)
    assert names(ranked) == ["fits", "small"]
    assert ranked[0].amount == Decimal("800000") and ranked[0].amount_fit == 1.0
    assert ranked[1].amount == Decimal("200000") and ranked[1].amount_fit == 0.25  # covers a quarter
    assert ranked[0].term_months == 12


def test_the_need_is_asked_within_each_products_ranges() -> None:
    p = product(amount_min=Decimal("500000"), term_min=24)
    amount, term = recommend.ask_for(p, Decimal("100000"), 6)
    assert (amount, term) == (Decimal("500000"), 24)
    assert recommend.ask_for(p, None, None) == (Decimal("3000000"), 24)
    # borrowing five times what one needs is a poor fit too
    assert recommend.amount_fit(Decimal("500000"), Decimal("100000")) == 0.2
    assert recommend.amount_fit(None, Decimal("100000")) == 0.0
    assert recommend.amount_fit(Decimal("1"), None) == 1.0


def test_eligible_for_none_shows_the_closest_with_what_it_lacks() -> None:
    far = product(name="far", grades=["A"], sizes=["medium"], industries=["F"])
    near = product(name="near", grades=["A"])
    middle = product(name="middle", grades=["A"], regions=["110000"])
    found = recommend.Recommendations(recommend.rank([far, middle, near], PROFILE, VALUES))
    assert found.eligible == []
    closest = found.closest(2)
    assert names(closest) == ["near", "middle"]
    assert [len(r.reasons) for r in closest] == [1, 2]
    lacks = closest[0].reasons[0]
    assert lacks.message.startswith("The product requires a credit grade")
    assert lacks.params == {"grades": "A", "grade": "B"}
    assert closest[0].rate == Decimal("4.5")  # the rate it would get, shown even when not eligible


def test_no_closest_list_once_something_is_eligible() -> None:
    found = recommend.Recommendations(
        recommend.rank([product(name="open"), product(name="closed", grades=["A"])], PROFILE, VALUES)
    )
    assert names(found.eligible) == ["open"] and found.closest() == []
    assert names(found.ineligible) == ["closed"]


def test_an_admission_rule_and_a_limit_formula_are_applied() -> None:
    strict = product(name="strict", admission_rule="score >= 800")
    capped = product(name="capped", limit_formula="score * 1000")  # 720,000 yuan for a score of 720
    ranked = recommend.rank([strict, capped], PROFILE, VALUES)
    assert names(ranked) == ["capped", "strict"]
    assert ranked[0].limit == Decimal("720000.00")
    assert ranked[1].reasons[0].params == {"rule": "score >= 800"}


def test_no_data_about_the_enterprise_is_a_reason_too() -> None:
    needs_data = product(name="needs data", limit_formula="score * 1000")
    plain = product(name="plain")
    ranked = recommend.rank([needs_data, plain], {**PROFILE, "grade": None, "score": None}, None)
    assert names(ranked) == ["plain", "needs data"]
    assert ranked[0].approval == recommend.UNRATED_APPROVAL
    assert ranked[1].reasons[-1].message == "The platform has no data about your enterprise yet"


def test_hundreds_of_products_rank_quickly() -> None:
    products = [
        product(
            name=f"p{i}",
            grades=["A", "B"] if i % 3 else ["A"],
            admission_rule="score >= 600" if i % 2 else "",
            limit_formula="score * 2000" if i % 5 == 0 else "",
            pricing={"B": str(Decimal("4") + Decimal(i % 20) / 10)},
        )
        for i in range(500)
    ]
    recommend.rank(products[:5], PROFILE, VALUES)  # compile the strategies once
    started = time.perf_counter()
    ranked = recommend.rank(products, PROFILE, VALUES, need_amount=Decimal("1000000"), need_term=12)
    elapsed = time.perf_counter() - started
    assert len(ranked) == 500 and ranked[0].eligible and not ranked[-1].eligible
    assert elapsed < 1.0, f"ranking 500 products took {elapsed:.3f} s"
