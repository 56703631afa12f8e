"""The expression language: grammar, errors with positions, NULL logic, both evaluators, the catalogue."""

from __future__ import annotations

import ast
import datetime
import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import xinyidai.core.expressions as expressions
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.expressions import (
    MAX_LENGTH,
    CompiledExpression,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    ExpressionTooComplex,
    ExpressionTypeError,
    FieldCatalogue,
    FieldSpec,
    ForbiddenConstruct,
    UnknownField,
    ValueType,
    compile_expression,
)

CATALOGUE = FieldCatalogue(
    [
        FieldSpec("grade", ValueType.STRING, "credit grade A-E"),
        FieldSpec("tax_paid_12m", ValueType.DECIMAL, "tax paid in the last 12 months, 元"),
        FieldSpec("on_dishonest_list", ValueType.BOOLEAN, "on the dishonest-debtor list"),
        FieldSpec("employees", ValueType.INTEGER, "insured employees"),
        FieldSpec("debt_ratio", ValueType.FLOAT, "liabilities / assets"),
        FieldSpec("registered_on", ValueType.DATE, "registration date"),
        FieldSpec("as_of", ValueType.DATE, "decision date"),
        FieldSpec("industry", ValueType.STRING, "GB/T 4754 code"),
    ]
)
RULE = "grade in ('A','B') and tax_paid_12m >= 50000 and not on_dishonest_list"

GOOD = {
    "grade": "A",
    "tax_paid_12m": Decimal("81000.00"),
    "on_dishonest_list": False,
    "employees": 12,
    "debt_ratio": 0.42,
    "registered_on": datetime.date(2019, 5, 20),
    "as_of": datetime.date(2025, 6, 30),
    "industry": "C3311",
}


def record(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def arrow(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=CATALOGUE.arrow_schema())


def both(text: str, rows: list[dict[str, Any]], result_type: Any = "any") -> list[Any]:
    """Evaluate both ways, check they agree, return the values."""
    compiled = compile_expression(text, CATALOGUE, result_type=result_type)
    python = [compiled.evaluate_one(row) for row in rows]
    batch = compiled.evaluate_batch(arrow(rows)).to_pylist()
    assert python == batch
    assert [type(v) for v in python] == [type(v) for v in batch]
    return python


# --- the examples ---------------------------------------------------------------------------------


def test_design_example_compiles_and_matches() -> None:
    rule = compile_expression(RULE, CATALOGUE)
    assert isinstance(rule, CompiledExpression)
    assert rule.text == RULE
    assert rule.result_type is ValueType.BOOLEAN
    assert rule.fields == {"grade", "tax_paid_12m", "on_dishonest_list"}
    assert rule.matches(GOOD)
    assert not rule.matches(record(grade="C"))
    assert not rule.matches(record(tax_paid_12m=Decimal("49999.99")))
    assert not rule.matches(record(on_dishonest_list=True))


def test_design_example_in_batch_agrees_with_one_by_one() -> None:
    rows = [
        GOOD,
        record(grade="C"),
        record(tax_paid_12m=Decimal("50000")),
        record(on_dishonest_list=None),
        record(grade=None, tax_paid_12m=None),
    ]
    assert both(RULE, rows) == [True, False, True, None, None]
    rule = compile_expression(RULE, CATALOGUE)
    assert rule.matches_batch(arrow(rows)).to_pylist() == [True, False, True, False, False]
    assert [rule.matches(row) for row in rows] == [True, False, True, False, False]


def test_to_sql_quotes_identifiers_and_transpiles_to_spark() -> None:
    rule = compile_expression(RULE, CATALOGUE)
    duck = rule.to_sql()
    assert '"grade" IN (' in duck and '"on_dishonest_list"' in duck
    spark = rule.to_sql("spark")
    assert isinstance(spark, str) and "`grade`" in spark
    months = compile_expression("date_diff('month', registered_on, as_of) >= 24", CATALOGUE)
    assert "MONTH(" in months.to_sql("spark").upper()


def test_limits_and_pricing_are_numbers() -> None:
    limit = compile_expression("least(tax_paid_12m * 3, 3000000)", CATALOGUE, result_type="number")
    assert limit.result_type is ValueType.DECIMAL
    assert limit.evaluate_one(GOOD) == Decimal("243000.00")
    assert limit.evaluate_one(record(tax_paid_12m=Decimal("2000000"))) == Decimal("3000000")
    rate = compile_expression(
        "case grade when 'A' then 3.45 when 'B' then 3.85 else 4.35 end", CATALOGUE, result_type="number"
    )
    assert rate.evaluate_one(record(grade="B")) == Decimal("3.85")
    assert both("round(tax_paid_12m * 0.035, 2)", [GOOD]) == [Decimal("2835.00")]


def test_dates_with_as_of_as_a_field() -> None:
    text = "date_diff('year', registered_on, as_of) >= 3 and as_of <= DATE '2025-12-31'"
    rows = [GOOD, record(registered_on=datetime.date(2024, 1, 1)), record(as_of=None)]
    assert both(text, rows) == [True, False, None]
    assert both("date_diff('month', registered_on, as_of)", [GOOD]) == [73]
    assert both("date_diff('day', DATE '2024-01-31', DATE '2024-03-01')", [GOOD]) == [30]
    assert both("year(registered_on) * 100 + month(registered_on)", [GOOD]) == [201905]


def test_strings_and_like() -> None:
    rows = [GOOD, record(industry="C3411"), record(industry=None)]
    assert both("industry like 'C33%'", rows) == [True, False, None]
    assert both("industry not like 'C3_11'", rows) == [False, False, None]
    assert both("upper(lower(grade)) = grade and length(trim('  ab  ')) = 2", [GOOD]) == [True]
    assert both("substr(industry, 2, 2)", [GOOD]) == ["33"]
    assert both("substr('abcdef', -2)", [GOOD]) == ["ef"]
    assert both("'it''s' like '%''%'", [GOOD]) == [True]
    assert both("length('a\\b')", [GOOD]) == [3]  # a backslash is an ordinary character


# --- NULL semantics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("null and false", False),
        ("null and true", None),
        ("null or true", True),
        ("null or false", None),
        ("not null", None),
        ("employees > cast(null as integer)", None),
        ("cast(null as integer) is null", True),
        ("employees is not null", True),
        ("1 in (2, null)", None),
        ("2 in (2, null)", True),
        ("1 not in (2, null)", None),
        ("cast(null as integer) in (1, 2)", None),
        ("coalesce(cast(null as integer), employees, 5) = 12", True),
        ("nullif(employees, 12) is null", True),
        ("least(employees, null, 3) = 3", True),
        ("greatest(cast(null as integer), null) is null", True),
        ("employees between null and 5", False),
        ("employees between 5 and null", None),
        ("case when null then 1 else 2 end = 2", True),
    ],
)
def test_three_valued_logic(text: str, expected: bool | None) -> None:
    assert both(text, [GOOD], result_type="boolean") == [expected]
    assert compile_expression(text, CATALOGUE).matches(GOOD) is (expected is True)


def test_null_fields_propagate() -> None:
    empty = dict.fromkeys(GOOD)
    assert both("tax_paid_12m * 2 + employees", [empty]) == [None]
    assert both("grade = 'A' or employees > 5", [empty, record(employees=None)]) == [None, True]


# --- numbers ---------------------------------------------------------------------------------------


def test_decimal_arithmetic_is_exact() -> None:
    row = record(tax_paid_12m=Decimal("0.10"))
    assert both("tax_paid_12m + 0.2", [row]) == [Decimal("0.30")]
    assert both("tax_paid_12m * 3 = 0.3", [row]) == [True]
    assert both("tax_paid_12m * 0.35", [row]) == [Decimal("0.0350")]


def test_decimal_fields_are_rounded_to_their_scale() -> None:
    compiled = compile_expression("tax_paid_12m", CATALOGUE, result_type="number")
    assert compiled.evaluate_one(record(tax_paid_12m=Decimal("1.005"))) == Decimal("1.01")
    assert compiled.evaluate_one(record(tax_paid_12m=Decimal("-1.005"))) == Decimal("-1.01")
    assert compiled.evaluate_one(record(tax_paid_12m=7)) == Decimal("7.00")


def test_division_is_float_and_zero_divisor_gives_null() -> None:
    assert both("7 / 2", [GOOD]) == [3.5]
    assert both("tax_paid_12m / employees", [GOOD]) == [6750.0]
    assert both("employees / 0", [GOOD]) == [None]
    assert both("debt_ratio / 0.0", [GOOD]) == [None]


def test_integer_overflow_is_an_error_both_ways() -> None:
    compiled = compile_expression("employees * 9223372036854775807", CATALOGUE, result_type="number")
    with pytest.raises(ExpressionEvaluationError):
        compiled.evaluate_one(GOOD)
    with pytest.raises(ExpressionEvaluationError):
        compiled.evaluate_batch(arrow([GOOD]))


def test_integer_literals_are_64_bit() -> None:
    # DuckDB types a bare literal as a 32-bit INTEGER; the generated SQL widens it.
    assert both("2147483647 + 1", [GOOD]) == [2147483648]
    assert both("100000 * 100000", [GOOD]) == [10000000000]


def test_rounding_modes_follow_duckdb() -> None:
    assert both("round(2.5) = 3 and round(-2.5) = -3 and round(125, -1) = 130", [GOOD]) == [True]
    assert both("round(2.5e0)", [GOOD]) == [3.0]
    assert both("cast(2.5e0 as integer)", [GOOD]) == [2]  # a double rounds half to even
    assert both("cast(2.5 as integer)", [GOOD]) == [3]  # a decimal rounds half away from zero
    assert both("cast(0.125e0 as decimal(10, 2))", [GOOD]) == [Decimal("0.13")]
    assert both("round(tax_paid_12m, -3)", [record(tax_paid_12m=Decimal("1500.00"))]) == [Decimal("2000")]


def test_float_nan_sorts_above_everything_and_equals_itself() -> None:
    rows = [record(debt_ratio=float("nan"))]
    assert both("debt_ratio = debt_ratio and debt_ratio > 1e308", rows) == [True]
    assert both("least(debt_ratio, 1e0)", rows) == [1.0]


def test_casts() -> None:
    assert both("cast(employees as string)", [GOOD]) == ["12"]
    assert both("cast(registered_on as varchar)", [GOOD]) == ["2019-05-20"]
    assert both("cast(on_dishonest_list as string)", [GOOD]) == ["false"]
    assert both("cast(true as integer) + 1", [GOOD]) == [2]
    assert both("employees::double / 4", [GOOD]) == [3.0]
    assert both("cast('2024-02-29' as date) < as_of", [GOOD]) == [True]


# --- errors with positions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error", "position"),
    [
        # syntax
        ("employees > ", ExpressionSyntaxError, 11),
        ("(employees > 1", ExpressionSyntaxError, 14),
        ("employees > 1)", ExpressionSyntaxError, 14),
        ("grade = 'abc", ExpressionSyntaxError, 9),
        ("grade = 'A' grade", ExpressionSyntaxError, 13),
        ("   ", ExpressionSyntaxError, 1),
        # unknown fields
        ("grade in ('A','B') and tax_paid >= 50000", UnknownField, 24),
        ("\"Grade\" = 'A'", UnknownField, 1),
        ("grade = '中文' and emplyees > 1", UnknownField, 18),
        # types
        ("grade = 1", ExpressionTypeError, 7),
        ("grade + 1 > 2", ExpressionTypeError, 1),
        ("employees > 1 and on_dishonest_list + 1 > 0", ExpressionTypeError, 19),
        ("employees and true", ExpressionTypeError, 1),
        ("employees > 1 or grade", ExpressionTypeError, 18),
        ("not grade", ExpressionTypeError, 5),
        ("grade in ('A', 1)", ExpressionTypeError, 16),
        ("employees in (1, 2, 'x')", ExpressionTypeError, 21),
        ("as_of > 5", ExpressionTypeError, 7),
        ("as_of + 1 > as_of", ExpressionTypeError, 1),
        ("as_of between 1 and 2", ExpressionTypeError, 15),
        ("employees = null", ExpressionTypeError, 13),
        ("case when employees > 1 then 'a' else 2 end = 'a'", ExpressionTypeError, 39),
        ("abs(grade) > 1", ExpressionTypeError, 5),
        ("year(employees) > 2000", ExpressionTypeError, 6),
        ("cast(grade as integer) > 1", ExpressionTypeError, 15),
        ("cast(employees as timestamp) > 1", ExpressionTypeError, 19),
        ("date_diff('week', registered_on, as_of) > 1", ExpressionTypeError, 1),
        ("round(debt_ratio, employees) > 1", ExpressionTypeError, 19),
        ("DATE '2024-02-30' < as_of", ExpressionTypeError, 6),
        ("employees > 99999999999999999999", ExpressionTypeError, 13),
        ("employees", ExpressionTypeError, 1),
        # forbidden constructs
        ("(select 1) = 1", ForbiddenConstruct, 2),
        ("employees in (select employees from t)", ForbiddenConstruct, 15),
        ("exists(select 1)", ForbiddenConstruct, 8),
        ("sum(employees) > 1", ForbiddenConstruct, 1),
        ("count(*) > 0", ForbiddenConstruct, 1),
        ("row_number() over () > 1", ForbiddenConstruct, 1),
        ("as_of <= current_date", ForbiddenConstruct, 10),
        ("as_of <= now()", ForbiddenConstruct, 10),
        ("employees > 1 and foo(grade)", ForbiddenConstruct, 19),
        ("t.grade = 'A'", ForbiddenConstruct, 1),
        ("employees % 2 = 0", ForbiddenConstruct, 11),
        ("grade || 'x' = 'Ax'", ForbiddenConstruct, 7),
        ("employees = ?", ForbiddenConstruct, 13),
        ("employees is true", ForbiddenConstruct, 14),
        ("try_cast(grade as integer) > 1", ForbiddenConstruct, 1),
        # limits
        ("(" * 25 + "employees > 1" + ")" * 25, ExpressionTooComplex, 21),
        ("+".join(["employees"] * 100) + " > 1", ExpressionTooComplex, 381),
    ],
)
def test_errors_point_at_the_offending_token(text: str, error: type[ExpressionError], position: int) -> None:
    with pytest.raises(error) as caught:
        compile_expression(text, CATALOGUE)
    assert caught.value.position == position, str(caught.value)
    assert caught.value.params["position"] == position
    assert f"character {position}:" in str(caught.value) or position == 1


def test_unknown_field_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownField) as caught:
        compile_expression("emplyees > 10", CATALOGUE)
    assert caught.value.params == {"position": 1, "name": "emplyees", "suggestion": "employees"}
    assert (
        caught.value.message
        == "At character %(position)s: unknown field '%(name)s'; did you mean '%(suggestion)s'?"
    )
    with pytest.raises(UnknownField) as caught:
        compile_expression("zzz > 10", CATALOGUE)
    assert "suggestion" not in caught.value.params


def test_too_long() -> None:
    with pytest.raises(ExpressionTooComplex) as caught:
        compile_expression("employees > 1 and " * 300 + "true", CATALOGUE)
    assert caught.value.position == MAX_LENGTH + 1
    assert caught.value.params["limit"] == MAX_LENGTH


def test_long_chains_of_conditions_are_fine() -> None:
    text = " and ".join(f"employees > {i}" for i in range(150))
    assert len(text) < MAX_LENGTH
    assert both(text, [record(employees=200), record(employees=20)]) == [True, False]
    longest = " and ".join(["on_dishonest_list"] * 90) + " or " + " or ".join(["not grade = 'E'"] * 90)
    assert len(longest) < MAX_LENGTH
    assert both(longest, [GOOD, record(grade="E")]) == [True, False]
    flags = FieldCatalogue.from_dict({"b": "boolean"})
    hundreds = compile_expression(" and ".join(["b"] * 660), flags)  # a tree 660 levels deep
    assert hundreds.evaluate_one({"b": True}) is True
    assert hundreds.evaluate_batch(pa.table({"b": [True, None, False]})).to_pylist() == [True, None, False]
    with pytest.raises(ExpressionTypeError) as caught:
        compile_expression(" and ".join(["on_dishonest_list"] * 150) + " and grade", CATALOGUE)
    assert caught.value.position == len(" and ".join(["on_dishonest_list"] * 150)) + 6


def test_positions_are_characters_not_bytes() -> None:
    with pytest.raises(UnknownField) as caught:
        compile_expression("grade = '中文中文' and nope", CATALOGUE)
    assert caught.value.position == "grade = '中文中文' and nope".index("nope") + 1


def test_result_type_is_checked() -> None:
    with pytest.raises(ExpressionTypeError):
        compile_expression("employees > 1", CATALOGUE, result_type="number")
    with pytest.raises(ExpressionTypeError):
        compile_expression("grade", CATALOGUE, result_type="number")
    assert compile_expression("grade", CATALOGUE, result_type="any").result_type is ValueType.STRING
    with pytest.raises(ValueError):
        compile_expression("true", CATALOGUE, result_type="text")  # type: ignore[arg-type]


def test_errors_are_validation_failures_with_msgids_and_survive_pickling() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("grade = 1", CATALOGUE)
    error = caught.value
    assert isinstance(error, ValidationFailed)
    assert error.code == "invalid_expression"
    assert error.status == 422
    assert "%(position)s" in error.message
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.message, copy.params, str(copy)) == (error.message, error.params, str(error))


# --- injection and the "no eval" rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1=1; drop table x",
        "employees > 1; select * from secrets",
        "(select 1)",
        "employees in (select 1)",
        "x' or '1'='1",
        "grade = 'x' or '1'='1' --",
        "grade = 'x' /* */ or true",
        "grade = 'x' -- ' or true",
        "grade = 'A'\n-- a second line",
        "grade = 'A' union select password from users",
        "read_csv('/etc/passwd') is not null",
        "getvariable('secret') is null",
        "grade = $$x$$",
    ],
)
def test_injection_attempts_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text, CATALOGUE)


def test_hostile_text_in_literals_stays_text() -> None:
    hostile = "'); drop table t; --"
    text = "grade = '" + hostile.replace("'", "''") + "'"
    compiled = compile_expression(text, CATALOGUE)
    rows = [record(grade=hostile), GOOD]
    assert [compiled.evaluate_one(r) for r in rows] == [True, False]
    assert compiled.evaluate_batch(arrow(rows)).to_pylist() == [True, False]


def test_no_eval_or_exec_in_the_package() -> None:
    package = Path(expressions.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert not names & {"eval", "exec", "__import__"}, path
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert "compile" not in calls, path


# --- evaluators: inputs ---------------------------------------------------------------------------------


def test_evaluate_one_checks_the_record() -> None:
    compiled = compile_expression("tax_paid_12m > 1", CATALOGUE)
    with pytest.raises(ExpressionEvaluationError) as caught:
        compiled.evaluate_one({})
    assert caught.value.params == {"name": "tax_paid_12m"}
    with pytest.raises(ExpressionEvaluationError):
        compiled.evaluate_one({"tax_paid_12m": 1.5})  # money is never a float
    # Every field is checked, even one this record's evaluation would not reach.
    lazy = compile_expression("false and employees > 1", CATALOGUE)
    with pytest.raises(ExpressionEvaluationError):
        lazy.evaluate_one({})
    with pytest.raises(ExpressionEvaluationError):
        lazy.evaluate_one({"employees": "12"})
    assert lazy.evaluate_one({"employees": None}) is False
    with pytest.raises(ExpressionEvaluationError):
        compile_expression("employees > 1", CATALOGUE).evaluate_one({"employees": True})
    with pytest.raises(ExpressionEvaluationError):
        compile_expression("as_of > registered_on", CATALOGUE).evaluate_one(
            {"as_of": datetime.datetime(2025, 1, 1), "registered_on": datetime.date(2020, 1, 1)}
        )


def test_evaluate_batch_checks_the_columns() -> None:
    compiled = compile_expression("employees > 10", CATALOGUE)
    with pytest.raises(ExpressionEvaluationError):
        compiled.evaluate_batch(pa.table({"grade": ["A"]}))
    with pytest.raises(ExpressionEvaluationError):
        compiled.evaluate_batch(pa.table({"employees": ["12"]}))  # text is not parsed as a number
    assert compiled.evaluate_batch(pa.table({"employees": pa.array([12, 3], pa.int32())})).to_pylist() == [
        True,
        False,
    ]
    assert compiled.evaluate_batch(pa.table({"employees": pa.array([None], pa.null())})).to_pylist() == [None]


def test_evaluate_batch_on_relations_record_batches_and_empty_tables() -> None:
    compiled = compile_expression("grade = 'A' and employees >= 10", CATALOGUE)
    connection = duckdb.connect(":memory:")
    relation = connection.sql("SELECT * FROM (VALUES ('A', 12), ('B', 40), (NULL, 1)) AS v(grade, employees)")
    assert compiled.evaluate_batch(relation).to_pylist() == [True, False, False]
    batch = pa.RecordBatch.from_pylist([{"grade": "A", "employees": 9}])
    assert compiled.evaluate_batch(batch, connection=connection).to_pylist() == [False]
    empty = arrow([])
    result = compiled.evaluate_batch(empty)
    assert len(result) == 0 and result.type == pa.bool_()


def test_constant_expressions_give_one_value_per_row() -> None:
    compiled = compile_expression("1 + 1", CATALOGUE, result_type="number")
    assert compiled.fields == frozenset()
    assert compiled.evaluate_batch(arrow([GOOD, GOOD, GOOD])).to_pylist() == [2, 2, 2]


def test_batch_result_types() -> None:
    data = arrow([GOOD])
    assert compile_expression("tax_paid_12m * 0.5", CATALOGUE, result_type="number").evaluate_batch(
        data
    ).type == pa.decimal128(38, 3)
    assert compile_expression("grade", CATALOGUE, result_type="any").evaluate_batch(data).type == pa.string()
    assert (
        compile_expression("registered_on", CATALOGUE, result_type="any").evaluate_batch(data).type
        == pa.date32()
    )


# --- compiling and caching -----------------------------------------------------------------------------


def test_compiled_expressions_are_cached_per_text_and_catalogue() -> None:
    first = compile_expression(RULE, CATALOGUE)
    assert compile_expression(RULE, CATALOGUE) is first
    same_fields = FieldCatalogue(list(CATALOGUE.values()))
    assert same_fields == CATALOGUE and hash(same_fields) == hash(CATALOGUE)
    assert compile_expression(RULE, same_fields) is first
    other = CATALOGUE.merge(FieldCatalogue.from_dict({"region": "string"}))
    assert compile_expression(RULE, other) is not first
    assert compile_expression(RULE, CATALOGUE, result_type="any") is not first


def test_text_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        compile_expression(b"grade = 'A'", CATALOGUE)  # type: ignore[arg-type]


# --- the catalogue ----------------------------------------------------------------------------------------


def test_catalogue_from_dict_merge_and_lookup() -> None:
    tax = FieldCatalogue.from_dict({"tax_paid_12m": "decimal", "grade": ValueType.STRING})
    risk = FieldCatalogue([FieldSpec("grade", ValueType.STRING), FieldSpec("alerts", ValueType.INTEGER)])
    merged = tax.merge(risk)
    assert list(merged) == ["alerts", "grade", "tax_paid_12m"]
    assert merged["tax_paid_12m"].type is ValueType.DECIMAL and merged["tax_paid_12m"].scale == 2
    assert merged.resolve("GRADE") == merged["grade"]
    assert merged.resolve("GRADE", exact=True) is None
    assert merged.suggest("grde") == "grade"
    assert "alerts" in merged and len(merged) == 3
    with pytest.raises(ValueError):
        tax.merge(FieldCatalogue.from_dict({"grade": "integer"}))


@pytest.mark.parametrize(
    "build",
    [
        lambda: FieldSpec("not an identifier", ValueType.STRING),
        lambda: FieldSpec("x", "money"),  # type: ignore[arg-type]
        lambda: FieldSpec("x", ValueType.DECIMAL, scale=19),
        lambda: FieldCatalogue([FieldSpec("grade", ValueType.STRING), FieldSpec("Grade", ValueType.STRING)]),
    ],
)
def test_catalogue_rejects_bad_declarations(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


def test_public_surface() -> None:
    assert sorted(expressions.__all__) == sorted(set(expressions.__all__))
    for name in expressions.__all__:
        assert hasattr(expressions, name), name
    assert expressions.__doc__ and "One expression language".lower() in expressions.__doc__.lower()
