"""Evaluate a checked expression on one record, in pure Python, as DuckDB would.

SQL semantics throughout: NULL is ``None``; ``and``/``or``/``not`` use three-valued logic; a comparison
with NULL is NULL; ``x in (...)`` is NULL when nothing matches and the list (or x) holds a NULL;
``least``/``greatest`` skip NULLs. Numbers follow DuckDB: integers are 64-bit (overflow is an error),
decimals are exact with at most 38 digits, floats are IEEE doubles where NaN equals NaN and sorts
above every other number, and ``/`` is float division giving NULL for a zero divisor.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from xinyidai.core.expressions import ir
from xinyidai.core.expressions import messages as msg
from xinyidai.core.expressions.catalogue import FieldSpec, ValueType
from xinyidai.core.expressions.errors import ExpressionEvaluationError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
DECIMAL_DIGITS = 38

_CONTEXT = ir.DECIMAL_CONTEXT


def evaluate(node: ir.Node, record: Mapping[str, Any], fields: Iterable[FieldSpec]) -> ir.Value:
    """The value of ``node`` for ``record`` (field name → Python value, ``None`` for NULL).

    Every field in ``fields`` (those the expression uses) is checked and converted first, whether or
    not this record's evaluation reaches it, as the batch evaluator checks every column.
    """
    return _evaluate(node, prepare(record, fields))


def prepare(record: Mapping[str, Any], fields: Iterable[FieldSpec]) -> dict[str, ir.Value]:
    """The record's values for ``fields``, checked against their types; decimals at their scale."""
    values: dict[str, ir.Value] = {}
    for spec in fields:
        try:
            raw = record[spec.name]
        except KeyError:
            raise ExpressionEvaluationError(msg.MISSING_VALUE, name=spec.name) from None
        if raw is None:
            values[spec.name] = None
            continue
        value = _accept(raw, spec.type, spec.scale)
        if value is _REJECTED:
            raise ExpressionEvaluationError(
                msg.WRONG_VALUE_TYPE, name=spec.name, expected=spec.type.value, actual=type(raw).__name__
            )
        values[spec.name] = value
    return values


def _evaluate(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    return _EVALUATORS[type(node)](node, row)


# --- fields and constants ------------------------------------------------------------------------


def _field(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.FieldRef)
    return row[node.name]


_REJECTED: Any = object()


def _accept(raw: Any, value_type: ValueType, scale: int) -> Any:
    """``raw`` as a value of ``value_type``, or ``_REJECTED``; mirrors the batch evaluator's casts."""
    if value_type is ValueType.STRING:
        return raw if isinstance(raw, str) else _REJECTED
    if value_type is ValueType.BOOLEAN:
        return raw if isinstance(raw, bool) else _REJECTED
    if value_type is ValueType.DATE:
        is_date = isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime)
        return raw if is_date else _REJECTED
    if isinstance(raw, bool):
        return _REJECTED
    if value_type is ValueType.INTEGER:
        if not isinstance(raw, int):
            return _REJECTED
        return _check_int(raw, "bigint")
    if value_type is ValueType.FLOAT:
        return float(raw) if isinstance(raw, int | float | Decimal) else _REJECTED
    # Decimal fields take Decimal or int (never float: money is exact) at the field's scale.
    if not isinstance(raw, int | Decimal) or (isinstance(raw, Decimal) and not raw.is_finite()):
        return _REJECTED
    return _rescale(Decimal(raw), scale, "decimal")


def _constant(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Constant)
    return node.value


# --- numbers -------------------------------------------------------------------------------------


def _check_int(value: int, operation: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ExpressionEvaluationError(msg.OVERFLOW, operation=operation)
    return value


def _check_decimal(value: Decimal, scale: int, operation: str) -> Decimal:
    if abs(value) >= Decimal(10) ** (DECIMAL_DIGITS - scale):
        raise ExpressionEvaluationError(msg.OVERFLOW, operation=operation)
    return value


def _rescale(value: Decimal, scale: int, operation: str) -> Decimal:
    """``value`` rounded half away from zero to ``scale`` places, as DuckDB ``DECIMAL(38, scale)``."""
    return _check_decimal(value.quantize(Decimal(1).scaleb(-scale), context=_CONTEXT), scale, operation)


def _to_float(value: int | Decimal | float) -> float:
    # Correctly rounded, as DuckDB's casts for the magnitudes money and counts take.
    return float(value)


def _convert(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Convert)
    value = _evaluate(node.operand, row)
    if value is None:
        return None
    assert isinstance(value, int | Decimal | float)
    if node.type is ValueType.FLOAT:
        return _to_float(value)
    assert not isinstance(value, float)
    return _rescale(Decimal(value), node.scale, "decimal")


def _negate(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Negate)
    value = _evaluate(node.operand, row)
    if value is None:
        return None
    if isinstance(value, Decimal):
        return _CONTEXT.minus(value)
    if isinstance(value, int):
        return _check_int(-value, "-")
    assert isinstance(value, float)
    return -value


def _arithmetic(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Arithmetic)
    left = _evaluate(node.left, row)
    right = _evaluate(node.right, row)
    if left is None or right is None:
        return None
    operator = node.operator
    if operator == "/":
        assert isinstance(left, float) and isinstance(right, float)
        if right == 0:
            return None  # the SQL is a / NULLIF(b, 0)
        return _divide(left, right)
    if isinstance(left, Decimal):
        assert isinstance(right, Decimal)
        result = _DECIMAL_OPERATIONS[operator](left, right)
        return _check_decimal(result, node.scale, operator)
    if isinstance(left, float):
        assert isinstance(right, float)
        return _FLOAT_OPERATIONS[operator](left, right)
    assert isinstance(left, int) and isinstance(right, int)
    return _check_int(_INT_OPERATIONS[operator](left, right), operator)


def _divide(left: float, right: float) -> float:
    try:
        return left / right
    except OverflowError:  # pragma: no cover - CPython returns inf; kept for other interpreters
        return math.copysign(math.inf, left) * math.copysign(1.0, right)


_DECIMAL_OPERATIONS: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": _CONTEXT.add,
    "-": _CONTEXT.subtract,
    "*": _CONTEXT.multiply,
}
_FLOAT_OPERATIONS: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}
_INT_OPERATIONS: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}


# --- comparison and logic ------------------------------------------------------------------------


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1 as DuckDB orders two non-NULL values of one type (NaN equals NaN, above all)."""
    if isinstance(left, float):
        left_nan, right_nan = math.isnan(left), math.isnan(right)
        if left_nan or right_nan:
            return int(left_nan) - int(right_nan)
    return int(left > right) - int(left < right)


_COMPARISON_TESTS: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0,
    "<>": lambda c: c != 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def _comparison(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Comparison)
    left = _evaluate(node.left, row)
    right = _evaluate(node.right, row)
    if left is None or right is None:
        return None
    return _COMPARISON_TESTS[node.operator](compare(left, right))


def _logical(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Logical)
    decisive = node.operator == "or"  # true decides OR, false decides AND
    unknown = False
    for operand in node.operands:
        value = _evaluate(operand, row)
        if value is None:
            unknown = True
        elif value is decisive:
            return decisive
    return None if unknown else not decisive


def _not(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Not)
    value = _evaluate(node.operand, row)
    return None if value is None else not value


def _is_null(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.IsNull)
    return _evaluate(node.operand, row) is None


def _in_list(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.InList)
    value = _evaluate(node.operand, row)
    if value is None:
        return None
    unknown = False
    for item in node.values:
        candidate = _evaluate(item, row)
        if candidate is None:
            unknown = True
        elif compare(value, candidate) == 0:
            return True
    return None if unknown else False


def _between(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Between)
    value = _evaluate(node.operand, row)
    low = _evaluate(node.low, row)
    high = _evaluate(node.high, row)
    above = None if value is None or low is None else compare(value, low) >= 0
    below = None if value is None or high is None else compare(value, high) <= 0
    if above is False or below is False:
        return False
    if above is None or below is None:
        return None
    return True


@lru_cache(maxsize=256)
def like_pattern(pattern: str) -> re.Pattern[str]:
    """A regular expression for a SQL LIKE pattern (``%`` any run, ``_`` one character, no escape)."""
    parts = ("." if char == "_" else ".*" if char == "%" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _like(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Like)
    value = _evaluate(node.operand, row)
    pattern = _evaluate(node.pattern, row)
    if value is None or pattern is None:
        return None
    assert isinstance(value, str) and isinstance(pattern, str)
    return like_pattern(pattern).fullmatch(value) is not None


def _case(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Case)
    for condition, result in node.whens:
        if _evaluate(condition, row) is True:
            return _evaluate(result, row)
    return _evaluate(node.default, row) if node.default is not None else None


# --- casts ---------------------------------------------------------------------------------------


def _cast(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Cast)
    value = _evaluate(node.operand, row)
    if value is None:
        return None
    target = node.type
    if target is ValueType.STRING:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime.date):
            return value.isoformat()
        return str(value)
    if target is ValueType.INTEGER:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, Decimal):
            return _check_int(int(value.to_integral_value(rounding=ROUND_HALF_UP, context=_CONTEXT)), "cast")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ExpressionEvaluationError(msg.CONVERSION, value=repr(value), target="integer")
            # DuckDB rounds a double to the nearest integer, ties to even (nearbyint).
            return _check_int(round(value), "cast")
        assert isinstance(value, int)
        return value
    if target is ValueType.FLOAT:
        assert isinstance(value, int | Decimal | float)
        return _to_float(value)
    if target is ValueType.DECIMAL:
        assert node.precision is not None
        return _cast_decimal(value, node.precision, node.scale)
    return value


def _cast_decimal(value: ir.Value, precision: int, scale: int) -> Decimal:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionEvaluationError(msg.CONVERSION, value=repr(value), target="decimal")
        # DuckDB scales the double first, then rounds half away from zero.
        scaled = round_half_away(value * 10.0**scale)
        result = Decimal(int(scaled)).scaleb(-scale, context=_CONTEXT)
    else:
        assert isinstance(value, int | Decimal)
        result = Decimal(value).quantize(Decimal(1).scaleb(-scale), context=_CONTEXT)
    if abs(result) >= Decimal(10) ** (precision - scale):
        raise ExpressionEvaluationError(
            msg.CONVERSION, value=str(value), target=f"decimal({precision}, {scale})"
        )
    return result.quantize(Decimal(1).scaleb(-scale), context=_CONTEXT)


def round_half_away(value: float) -> float:
    """C's ``std::round``: to the nearest integer, halves away from zero (exact for every double)."""
    if not math.isfinite(value):
        return value
    whole = math.trunc(value)
    fraction = value - whole  # exact: a double minus its integer part
    if fraction >= 0.5:
        whole += 1
    elif fraction <= -0.5:
        whole -= 1
    return float(whole) if whole != 0 else math.copysign(0.0, value)


# --- functions -----------------------------------------------------------------------------------


def _call(node: ir.Node, row: Mapping[str, ir.Value]) -> ir.Value:
    assert isinstance(node, ir.Call)
    function = node.function
    if function == "coalesce":
        for arg in node.args:  # lazily, as SQL
            value = _evaluate(arg, row)
            if value is not None:
                return value
        return None
    values = [_evaluate(arg, row) for arg in node.args]
    if function in ("least", "greatest"):
        present = [v for v in values if v is not None]
        if not present:
            return None
        best = present[0]
        sign = -1 if function == "least" else 1
        for candidate in present[1:]:
            if compare(candidate, best) * sign > 0:
                best = candidate
        return best
    if any(v is None for v in values):
        return None
    return _FUNCTIONS[function](node, values)


def _abs(node: ir.Call, values: list[Any]) -> ir.Value:
    value = values[0]
    if isinstance(value, Decimal):
        return _CONTEXT.abs(value)
    if isinstance(value, int):
        return _check_int(abs(value), "abs")
    return abs(value)  # type: ignore[no-any-return]


def _round(node: ir.Call, values: list[Any]) -> ir.Value:
    value, places = values[0], node.precision
    if isinstance(value, Decimal):
        if places >= node.args[0].scale:
            return value
        rounded = value.quantize(Decimal(1).scaleb(-places), context=_CONTEXT)
        return rounded if places >= 0 else rounded.quantize(Decimal(1), context=_CONTEXT)
    if isinstance(value, int):
        if places >= 0:
            return value
        # DuckDB rounds an integer to a multiple of 10^-places, halves away from zero.
        unit = 10**-places
        quotient, remainder = divmod(abs(value), unit)
        if remainder * 2 >= unit:
            quotient += 1
        return _check_int(quotient * unit * (1 if value >= 0 else -1), "round")
    assert isinstance(value, float)
    return round_double(value, places)


def round_double(value: float, places: int) -> float:
    """DuckDB's ``round(DOUBLE, places)``: scale by a power of ten, ``std::round``, scale back.

    A result that is not finite (NaN, infinity in, or overflow) gives the input back.
    """
    if places < 0:
        modifier = math.pow(10, -places)
        result = round_half_away(value / modifier) * modifier
    else:
        modifier = math.pow(10, places)
        result = round_half_away(value * modifier) / modifier
    return result if math.isfinite(result) else value


def _substr(node: ir.Call, values: list[Any]) -> ir.Value:
    """DuckDB's ``substring``: 1-based; a start of 0 or below eats into the length; negative from the end."""
    text: str = values[0]
    start: int = values[1]
    length: int = values[2] if len(values) > 2 else 2**32
    size = len(text)
    if length == 0:
        return ""
    if start > 0:
        begin = start - 1
    elif start < 0:
        begin = size + start
    else:
        begin = 0
        length -= 1
        if length <= 0:
            return ""
    if length > 0:
        end = begin + length
    else:
        end = begin
        begin = begin + length
    begin = max(begin, 0)
    end = min(end, size)
    return text[begin:end] if begin < end else ""


def _date_diff(node: ir.Call, values: list[Any]) -> ir.Value:
    start: datetime.date = values[0]
    end: datetime.date = values[1]
    if node.unit == "day":
        return (end - start).days
    if node.unit == "month":
        return (end.year - start.year) * 12 + end.month - start.month
    return end.year - start.year


_FUNCTIONS: dict[str, Callable[[ir.Call, list[Any]], ir.Value]] = {
    "abs": _abs,
    "round": _round,
    # DuckDB's lower/upper map single characters; Python's full case mapping differs only for a few
    # (e.g. 'ß'.upper() is 'SS' in Python, 'ẞ' in DuckDB).
    "lower": lambda node, v: str(v[0]).lower(),
    "upper": lambda node, v: str(v[0]).upper(),
    "trim": lambda node, v: str(v[0]).strip(" "),
    "length": lambda node, v: len(v[0]),
    "substr": _substr,
    "year": lambda node, v: v[0].year,
    "month": lambda node, v: v[0].month,
    "day": lambda node, v: v[0].day,
    "date_diff": _date_diff,
}

_EVALUATORS: dict[type[ir.Node], Callable[[Any, Mapping[str, Any]], ir.Value]] = {
    ir.FieldRef: _field,
    ir.Constant: _constant,
    ir.Convert: _convert,
    ir.Cast: _cast,
    ir.Negate: _negate,
    ir.Arithmetic: _arithmetic,
    ir.Comparison: _comparison,
    ir.Logical: _logical,
    ir.Not: _not,
    ir.IsNull: _is_null,
    ir.InList: _in_list,
    ir.Between: _between,
    ir.Like: _like,
    ir.Case: _case,
    ir.Call: _call,
}
