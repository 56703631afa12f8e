"""Turn a checked expression back into SQL, for DuckDB (the batch evaluator) or any sqlglot dialect.

The SQL is generated from the checked tree, never from the user's text: identifiers are quoted, text is
re-quoted by sqlglot, and parentheses are placed by precedence. Every type the evaluators agree on is
spelt out so that engines cannot pick another: integers are ``BIGINT`` (DuckDB would type a literal
``1`` as a 32-bit ``INTEGER``), decimals ``DECIMAL(38, s)`` (DuckDB would keep ``DECIMAL(18, s)``
products to 18 digits and pick the left scale when joining two scales), widening is an explicit
``CAST``, ``a / b`` is ``a / NULLIF(b, 0)`` on doubles, and ``date_diff`` for months and years is
written as year and month arithmetic, which every engine computes the same way.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from sqlglot import exp

from xinyidai.core.expressions import ir
from xinyidai.core.expressions.catalogue import ValueType

_OR, _AND, _NOT, _PREDICATE, _ADDITIVE, _MULTIPLICATIVE, _UNARY, _ATOM = 1, 2, 3, 4, 5, 6, 7, 9

_TYPE_NAMES = {
    ValueType.STRING: "VARCHAR",
    ValueType.INTEGER: "BIGINT",
    ValueType.FLOAT: "DOUBLE",
    ValueType.DATE: "DATE",
    ValueType.BOOLEAN: "BOOLEAN",
}

_COMPARISONS: dict[str, type[exp.Binary]] = {
    "=": exp.EQ,
    "<>": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}
_ARITHMETIC: dict[str, type[exp.Binary]] = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}
_SIMPLE: dict[str, type[exp.Func]] = {
    "abs": exp.Abs,
    "lower": exp.Lower,
    "upper": exp.Upper,
    "trim": exp.Trim,
    "length": exp.Length,
    "year": exp.Year,
    "month": exp.Month,
    "day": exp.Day,
}


def to_sqlglot(node: ir.Node) -> exp.Expr:
    """The sqlglot tree for ``node``."""
    return _build(node)[0]


def data_type(value_type: ValueType, scale: int = 0, precision: int = 38) -> exp.DataType:
    """The SQL type both evaluators use for ``value_type``."""
    if value_type is ValueType.DECIMAL:
        return exp.DataType.build(f"DECIMAL({precision}, {scale})")
    return exp.DataType.build(_TYPE_NAMES[value_type])


def _cast(this: exp.Expr, value_type: ValueType, scale: int = 0) -> exp.Expr:
    return exp.Cast(this=this, to=data_type(value_type, scale))


def _operand(node: ir.Node, minimum: int) -> exp.Expr:
    expression, precedence = _build(node)
    return expression if precedence >= minimum else exp.Paren(this=expression)


def _build(node: ir.Node) -> tuple[exp.Expr, int]:
    if isinstance(node, ir.FieldRef):
        column = exp.column(node.name, quoted=True)
        assert node.type is not None
        if node.type.is_numeric:
            return _cast(column, node.type, node.scale), _ATOM
        return column, _ATOM
    if isinstance(node, ir.Constant):
        return _constant(node)
    if isinstance(node, ir.Convert):
        assert node.type is not None
        return _cast(_build(node.operand)[0], node.type, node.scale), _ATOM
    if isinstance(node, ir.Cast):
        return _explicit_cast(node), _ATOM
    if isinstance(node, ir.Negate):
        return exp.Neg(this=_operand(node.operand, _ATOM)), _UNARY
    if isinstance(node, ir.Arithmetic):
        return _arithmetic(node)
    if isinstance(node, ir.Comparison):
        comparison = _COMPARISONS[node.operator](
            this=_operand(node.left, _ADDITIVE), expression=_operand(node.right, _ADDITIVE)
        )
        return comparison, _PREDICATE
    if isinstance(node, ir.Logical):
        connector: type[exp.Connector] = exp.And if node.operator == "and" else exp.Or
        precedence = _AND if node.operator == "and" else _OR
        operands = [_operand(operand, precedence + 1) for operand in node.operands]
        chain = operands[0]
        for operand in operands[1:]:
            chain = connector(this=chain, expression=operand)
        return chain, precedence
    if isinstance(node, ir.Not):
        return exp.Not(this=_operand(node.operand, _PREDICATE)), _NOT
    if isinstance(node, ir.IsNull):
        return exp.Is(this=_operand(node.operand, _ADDITIVE), expression=exp.Null()), _PREDICATE
    if isinstance(node, ir.InList):
        values = [_build(value)[0] for value in node.values]
        return exp.In(this=_operand(node.operand, _ADDITIVE), expressions=values), _PREDICATE
    if isinstance(node, ir.Between):
        between = exp.Between(
            this=_operand(node.operand, _ADDITIVE),
            low=_operand(node.low, _ADDITIVE),
            high=_operand(node.high, _ADDITIVE),
        )
        return between, _PREDICATE
    if isinstance(node, ir.Like):
        like = exp.Like(this=_operand(node.operand, _ADDITIVE), expression=_operand(node.pattern, _ADDITIVE))
        return like, _PREDICATE
    if isinstance(node, ir.Case):
        ifs = [exp.If(this=_build(c)[0], true=_build(r)[0]) for c, r in node.whens]
        default = _build(node.default)[0] if node.default is not None else None
        return exp.Case(ifs=ifs, default=default), _ATOM
    assert isinstance(node, ir.Call)
    return _call(node)


def _constant(node: ir.Constant) -> tuple[exp.Expr, int]:
    value = node.value
    if value is None:
        if node.type is None:
            return exp.Null(), _ATOM
        return _cast(exp.Null(), node.type, node.scale), _ATOM
    if isinstance(value, bool):
        return exp.Boolean(this=value), _ATOM
    if isinstance(value, int):
        return _cast(exp.Literal.number(value), ValueType.INTEGER), _ATOM
    if isinstance(value, Decimal):
        return _cast(exp.Literal.number(format(value, "f")), ValueType.DECIMAL, node.scale), _ATOM
    if isinstance(value, float):
        # An exponent makes DuckDB (and Spark) read a DOUBLE, correctly rounded, not a DECIMAL.
        text = repr(value)
        literal = exp.Literal.number(text if "e" in text else f"{text}e0")
        return literal, (_UNARY if text.startswith("-") else _ATOM)
    if isinstance(value, str):
        return exp.Literal.string(value), _ATOM
    assert isinstance(value, datetime.date)
    return _cast(exp.Literal.string(value.isoformat()), ValueType.DATE), _ATOM


def _explicit_cast(node: ir.Cast) -> exp.Expr:
    operand = _build(node.operand)[0]
    assert node.type is not None
    if node.type is ValueType.DECIMAL:
        assert node.precision is not None
        # First the declared precision (rounding, range check), then the width every decimal has.
        narrow = exp.Cast(this=operand, to=data_type(ValueType.DECIMAL, node.scale, node.precision))
        return _cast(narrow, ValueType.DECIMAL, node.scale)
    return _cast(operand, node.type)


def _arithmetic(node: ir.Arithmetic) -> tuple[exp.Expr, int]:
    if node.operator == "/":
        divisor = exp.Nullif(this=_build(node.right)[0], expression=exp.Literal.number(0))
        return exp.Div(this=_operand(node.left, _MULTIPLICATIVE), expression=divisor), _MULTIPLICATIVE
    precedence = _MULTIPLICATIVE if node.operator == "*" else _ADDITIVE
    operation = _ARITHMETIC[node.operator](
        this=_operand(node.left, precedence), expression=_operand(node.right, precedence + 1)
    )
    return operation, precedence


def _call(node: ir.Call) -> tuple[exp.Expr, int]:
    args = [_build(arg)[0] for arg in node.args]
    function = node.function
    if function in _SIMPLE:
        return _SIMPLE[function](this=args[0]), _ATOM
    if function == "round":
        return exp.Round(this=args[0], decimals=exp.Literal.number(node.precision)), _ATOM
    if function in ("least", "greatest"):
        kind = exp.Least if function == "least" else exp.Greatest
        return kind(this=args[0], expressions=args[1:], ignore_nulls=True), _ATOM
    if function == "coalesce":
        return exp.Coalesce(this=args[0], expressions=args[1:]), _ATOM
    if function == "substr":
        return exp.Substring(this=args[0], start=args[1], length=args[2] if len(args) > 2 else None), _ATOM
    assert function == "date_diff"
    start, end = args
    if node.unit == "day":
        # No unit: days, which sqlglot writes as each engine's own day difference.
        return exp.DateDiff(this=end, expression=start), _ATOM
    years = exp.Sub(this=exp.Year(this=end), expression=exp.Year(this=start.copy()))
    if node.unit == "year":
        return years, _ADDITIVE
    months = exp.Sub(this=exp.Month(this=end.copy()), expression=exp.Month(this=start.copy()))
    total = exp.Add(
        this=exp.Mul(this=exp.Paren(this=years), expression=_cast(exp.Literal.number(12), ValueType.INTEGER)),
        expression=exp.Paren(this=months),
    )
    return total, _ADDITIVE
