"""The vectorised parsers agree with the scalar rules they stand for (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyidai.core.uscc import ALPHABET, is_valid_uscc, make_uscc, normalise
from xinyidai.data.catalogue import catalogue
from xinyidai.data.ingest.headers import header_index, normalise_header
from xinyidai.data.ingest.parse import Parsed, code_hashes, parse_column, uscc_valid
from xinyidai.data.ingest.reading import declared_encoding
from xinyidai.data.ingest.validate import _duplicates

SS = catalogue().get("social_security")
CONTRIBUTIONS = SS.field("contributions")
FILED_ON = catalogue().get("court_cases").field("filed_on")
ENTERPRISE = catalogue().get("vat_invoices").field("enterprise")
CAPITAL = catalogue().get("registration").field("registered_capital")

valid_codes = st.builds(
    make_uscc,
    st.sampled_from(["110000", "310115", "371002", "440300"]),
    st.text(ALPHABET, min_size=8, max_size=8),
    st.sampled_from(["9", "1", "5", "N", "Y"]),
    st.just("1"),
)
mutated = st.tuples(valid_codes, st.integers(0, 17), st.sampled_from(list(ALPHABET + "IOSVZ a-"))).map(
    lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
)
noise = st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=16, max_size=19)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(valid_codes, mutated, noise), min_size=1, max_size=40))
def test_vectorised_uscc_check_agrees_with_core(codes: list[str]) -> None:
    assert uscc_valid(pa.array(codes)).tolist() == [is_valid_uscc(c) and normalise(c) == c for c in codes]


def test_uscc_column_normalises_and_flags() -> None:
    good = make_uscc("371002", "MA3C4D5E")
    parsed = parse_column(SS.field("uscc"), pa.array([f" {good.lower()} ", good[:-1] + "0", "", "E124"]))
    assert parsed.values.to_pylist()[0] == good and parsed.values.to_pylist()[2] is None
    assert parsed.errors.tolist() == [0, 6 if good[-1] != "0" else 0, 0, 6]
    refs = parse_column(ENTERPRISE, pa.array(["e124", "C00014", good, "E-1", "X" * 33]))
    assert refs.errors.tolist() == [0, 0, 0, 7, 7]


@settings(max_examples=150, deadline=None)
@given(st.dates(date(1990, 1, 1), date(2099, 12, 31)))
def test_dates_in_every_common_format(day: date) -> None:
    y, m, d = day.year, day.month, day.day
    texts = [
        f"{y}-{m:02d}-{d:02d}",
        f"{y}/{m}/{d}",
        f"{y}年{m}月{d}日",
        f"{y}{m:02d}{d:02d}",
        f"{y}.{m:02d}.{d:02d}",
        f"{y}-{m:02d}-{d:02d} 00:00:00",
        f"{y}年{m:02d}月{d:02d}日".translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ]
    parsed = parse_column(FILED_ON, pa.array(texts))
    assert parsed.errors.tolist() == [0] * len(texts)
    assert set(parsed.values.to_pylist()) == {day}
    months = parse_column(
        SS.field("period"), pa.array([f"{y}-{m:02d}", f"{y}/{m}", f"{y}年{m}月", f"{y}{m:02d}"])
    )
    assert set(months.values.to_pylist()) == {day.replace(day=1)}


def test_impossible_dates_are_bad() -> None:
    parsed = parse_column(
        FILED_ON, pa.array(["2023-02-29", "2024-02-30", "2024-13-01", "24-1-1", "soon", ""])
    )
    assert parsed.errors.tolist() == [3, 3, 3, 3, 3, 0]


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-(10**13) + 1, max_value=10**13 - 1, places=2, allow_nan=False))
def test_amounts_are_exact(amount: Decimal) -> None:
    plain = f"{amount:.2f}"
    separated = f"{amount:,.2f}"
    parsed = parse_column(replace(CONTRIBUTIONS, minimum=None), pa.array([plain, separated]))
    assert parsed.errors.tolist() == [0, 0]
    assert parsed.values.to_pylist() == [amount, amount]


def test_amount_units_convert_to_the_fields_unit() -> None:
    texts = ["12.5万元", "3万", "300元", "1.005", "¥1,000", "abc", "1e3"]
    parsed = parse_column(CONTRIBUTIONS, pa.array(texts))
    assert parsed.values.to_pylist()[:5] == [Decimal(v) for v in ("125000", "30000", "300", "1.01", "1000")]
    assert parsed.errors.tolist() == [0, 0, 0, 0, 0, 2, 2]
    capital = parse_column(CAPITAL, pa.array(["100", "100万元", "1000000元", "50000元"]))
    assert capital.values.to_pylist() == [Decimal("100"), Decimal("100"), Decimal("100"), Decimal("5")]


def test_header_normalisation_and_units() -> None:
    assert normalise_header(" *统一社会信用代码 ") == "统一社会信用代码"
    assert normalise_header("ＵＳＣＣ") == "uscc"
    index = header_index("social_security")
    assert index.match("缴费金额（万元）") == ("contributions", "万元")
    assert index.match("Insured headcount") == ("insured", None)
    assert index.match("备注") == (None, None)


def test_encodings_declared_by_name() -> None:
    assert declared_encoding("tax.utf8.csv") == "utf-8"
    assert declared_encoding("tax.UTF-8.csv.gz") == "utf-8"
    assert declared_encoding("tax.gbk.csv") == "gbk"
    assert declared_encoding("tax.csv") is None


def test_hashed_keys_find_repeats_and_collisions_never_reject() -> None:
    codes = pa.array(["A" * 18, "B" * 18, "A" * 18, "C" * 18, "B" * 18])
    zeros, everyone = np.zeros(5, np.uint8), np.ones(5, bool)
    parsed = Parsed(codes, zeros, code_hashes(codes), keys_hashed=True)
    later, first = _duplicates([parsed], everyone)
    assert sorted(zip(later.tolist(), first.tolist(), strict=True)) == [(2, 0), (4, 1)]
    colliding = Parsed(codes, zeros, np.zeros(5, np.int64), keys_hashed=True)  # every hash the same
    later, first = _duplicates([colliding], everyone)
    assert (later.tolist(), first.tolist()) == ([2], [0])  # B, C are not taken for copies of A


def test_mostly_distinct_codes_skip_the_dictionary() -> None:
    good = make_uscc("371002", "MA3C4D5E")
    column = pa.array([f"9137{i:014d}" for i in range(270_000)] + [good, good])
    parsed = parse_column(SS.field("uscc"), column)
    assert parsed.keys_hashed and parsed.keys is not None
    assert parsed.keys[-1] == parsed.keys[-2] and parsed.errors[-1] == 0
