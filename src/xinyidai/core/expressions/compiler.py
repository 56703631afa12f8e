"""From expression text to the checked IR: the grammar of the expression language.

An expression is one SQL value expression (DuckDB syntax, parsed with sqlglot) over the fields of a
:class:`~xinyidai.core.expressions.catalogue.FieldCatalogue`. Everything below is allowed; anything
else is refused with an error that names the character where it happens.

Values
    field names (``tax_paid_12m``; case-insensitive; ``"double quoted"`` for an exact name);
    integers (``50000``), decimals (``0.35``), floats (``1.5e3``); ``'single-quoted text'`` (a quote
    inside is doubled: ``'it''s'``; backslash is an ordinary character); ``true``, ``false``, ``null``;
    dates ``DATE 'YYYY-MM-DD'`` (also ``CAST('YYYY-MM-DD' AS DATE)``).
Operators
    ``+ - * /`` and unary ``-`` on numbers; ``= <> != < <= > >=``; ``and``, ``or``, ``not``;
    ``x [not] in (v1, v2, ...)``, ``x [not] between a and b``, ``s [not] like 'pattern'`` (``%`` and
    ``_``, no escape character), ``x is [not] null``; parentheses.
Conditionals
    ``case when c then v ... [else v] end`` and ``case x when v then r ... end``.
Functions
    ``abs``, ``round(x [, places])`` (places a whole number from -12 to 12), ``least``, ``greatest``
    (both ignore NULLs), ``coalesce``, ``nullif``, ``lower``, ``upper``, ``trim`` (spaces only),
    ``length``, ``substr(s, start [, length])`` (1-based, as DuckDB), ``year``, ``month``, ``day``,
    ``date_diff('day' | 'month' | 'year', a, b)`` (unit boundaries crossed from a to b).
Casts
    ``cast(x as T)`` or ``x::T`` with T one of ``string`` (``varchar``, ``text``), ``integer``
    (``int``, ``bigint``), ``decimal(p, s)`` (``numeric``; bare ``decimal`` is ``decimal(18, 3)``),
    ``float`` (``double``), ``date``, ``boolean``. Numbers convert to each other (to integer: floats
    round half to even, decimals half away from zero); integers, dates and booleans convert to
    string; booleans to integer; a text literal to date.

Types
    string, integer, decimal, float, date, boolean. Integers and decimals widen to decimal, any
    number to float; ``/`` always gives a float, and dividing by zero gives NULL. Comparisons need
    two numbers or two values of the same type. Decimals are exact with at most 38 digits.

Not allowed
    sub-queries and ``SELECT``, table references (``t.x``), ``*``, aggregates (``sum``, ``count``,
    ...), window functions, any function not listed (``current_date`` and ``now()`` included: pass
    ``as_of`` as a field so a rule gives the same answer whenever it runs), parameters (``?``,
    ``$1``), ``;``, comments, and other SQL operators (``||``, ``%``, ``//``, JSON, arrays, ...).

Limits
    at most 4,000 characters; brackets and ``CASE`` nested at most 20 deep; at most 64 levels of
    operators (a chain of ``and`` or of ``or`` counts once).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeAlias

from sqlglot import exp
from sqlglot.expressions.datatypes import DType
from sqlglot.tokenizer_core import TokenType

from xinyidai.core.expressions import ir
from xinyidai.core.expressions import messages as msg
from xinyidai.core.expressions.catalogue import FieldCatalogue, ValueType
from xinyidai.core.expressions.coercion import coerce, common, comparable, compatible, join_numeric, settle
from xinyidai.core.expressions.errors import (
    ExpressionSyntaxError,
    ExpressionTypeError,
    ForbiddenConstruct,
    UnknownField,
)
from xinyidai.core.expressions.syntax import ALLOWED_FUNCTIONS, COMPARISON_TOKENS, Source, read

ResultKind: TypeAlias = Literal["boolean", "number", "any"]

MAX_ROUND_PLACES = 12
DECIMAL_DIGITS = 38
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_DATE_LITERAL = re.compile(r"\d{4}-\d{2}-\d{2}")

_SIMPLE_FUNCTIONS: dict[type[exp.Expr], tuple[ir.Function, ValueType, ValueType]] = {
    exp.Lower: ("lower", ValueType.STRING, ValueType.STRING),
    exp.Upper: ("upper", ValueType.STRING, ValueType.STRING),
    exp.Trim: ("trim", ValueType.STRING, ValueType.STRING),
    exp.Length: ("length", ValueType.STRING, ValueType.INTEGER),
    exp.Year: ("year", ValueType.DATE, ValueType.INTEGER),
    exp.Month: ("month", ValueType.DATE, ValueType.INTEGER),
    exp.Day: ("day", ValueType.DATE, ValueType.INTEGER),
}

_ARITHMETIC: dict[type[exp.Expr], ir.ArithmeticOperator] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
}
_ARITHMETIC_TOKENS = {
    "+": {TokenType.PLUS},
    "-": {TokenType.DASH},
    "*": {TokenType.STAR},
    "/": {TokenType.SLASH},
}
_COMPARISONS: dict[type[exp.Expr], ir.ComparisonOperator] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}

_CAST_TARGETS: dict[DType, ValueType] = {
    exp.DataType.Type.TEXT: ValueType.STRING,
    exp.DataType.Type.VARCHAR: ValueType.STRING,
    exp.DataType.Type.CHAR: ValueType.STRING,
    exp.DataType.Type.INT: ValueType.INTEGER,
    exp.DataType.Type.BIGINT: ValueType.INTEGER,
    exp.DataType.Type.DECIMAL: ValueType.DECIMAL,
    exp.DataType.Type.DOUBLE: ValueType.FLOAT,
    exp.DataType.Type.FLOAT: ValueType.FLOAT,
    exp.DataType.Type.DATE: ValueType.DATE,
    exp.DataType.Type.BOOLEAN: ValueType.BOOLEAN,
}

# Conversions an explicit CAST may do, besides numbers to numbers and a type to itself.
_CASTS = {
    (ValueType.INTEGER, ValueType.STRING),
    (ValueType.DATE, ValueType.STRING),
    (ValueType.BOOLEAN, ValueType.STRING),
    (ValueType.BOOLEAN, ValueType.INTEGER),
}


def compile_tree(text: str, catalogue: FieldCatalogue, result: ResultKind) -> tuple[ir.Node, frozenset[str]]:
    """Parse and check ``text``; the typed tree and the names of the fields it uses.

    Raises:
        ExpressionError: a subclass saying what is wrong, with ``position`` (1-based).
    """
    compiler = _Compiler(read(text), catalogue)
    node = compiler.finish(compiler.lower(compiler.source.tree), result)
    return node, frozenset(compiler.fields)


class _Compiler:
    """Checks the types of one parsed expression and lowers it to :mod:`ir` nodes."""

    def __init__(self, source: Source, catalogue: FieldCatalogue) -> None:
        self.source = source
        self.catalogue = catalogue
        self.fields: set[str] = set()

    def lower(self, node: exp.Expr) -> ir.Node:
        if isinstance(node, exp.Paren):
            return self.lower(node.this)
        if isinstance(node, exp.Column):
            return self._field(node)
        if isinstance(node, exp.Literal):
            return self._literal(node, negative=False)
        if isinstance(node, exp.Boolean):
            return ir.Constant(
                type=ValueType.BOOLEAN, position=self.source.position(node), value=bool(node.this)
            )
        if isinstance(node, exp.Null):
            return ir.Constant(type=None, position=self.source.position(node), value=None)
        if isinstance(node, exp.Neg):
            return self._negate(node)
        if type(node) in _ARITHMETIC:
            return self._arithmetic(node, _ARITHMETIC[type(node)])
        if type(node) in _COMPARISONS:
            return self._comparison(node, _COMPARISONS[type(node)])
        if isinstance(node, exp.And | exp.Or):
            return self._logical(node)
        if isinstance(node, exp.Not):
            operand = self._condition(node.this, "NOT")
            return ir.Not(type=ValueType.BOOLEAN, position=self.source.position(node), operand=operand)
        if isinstance(node, exp.Is):
            return self._is_null(node)
        if isinstance(node, exp.In):
            return self._in(node)
        if isinstance(node, exp.Between):
            return self._between(node)
        if isinstance(node, exp.Like):
            return self._like(node)
        if isinstance(node, exp.Case):
            return self._case(node)
        if isinstance(node, exp.Cast):
            return self._cast(node)
        if isinstance(node, exp.Date):
            return self._date_function(node)
        return self._function(node)

    def _field(self, node: exp.Column) -> ir.Node:
        identifier = node.this
        assert isinstance(identifier, exp.Identifier)
        name = identifier.name
        spec = self.catalogue.resolve(name, exact=bool(identifier.args.get("quoted")))
        position = self.source.position(node)
        if spec is None:
            suggestion = self.catalogue.suggest(name)
            if suggestion is not None:
                raise UnknownField(
                    msg.UNKNOWN_FIELD_SUGGEST, position=position, name=name, suggestion=suggestion
                )
            raise UnknownField(msg.UNKNOWN_FIELD, position=position, name=name)
        self.fields.add(spec.name)
        scale = spec.scale if spec.type is ValueType.DECIMAL else 0
        return ir.FieldRef(type=spec.type, position=position, name=spec.name, scale=scale)

    def _literal(self, node: exp.Literal, *, negative: bool) -> ir.Constant:
        position = self.source.position(node)
        raw = str(node.this)
        if node.is_string:
            return ir.Constant(type=ValueType.STRING, position=position, value=raw)
        literal = ("-" if negative else "") + raw
        if "e" in raw.lower():
            number = float(literal)
            if number in (float("inf"), float("-inf")) or number != number:
                raise ExpressionTypeError(msg.NUMBER_RANGE, position=position, literal=literal)
            return ir.Constant(type=ValueType.FLOAT, position=position, value=number)
        try:
            exact = Decimal(literal)
        except InvalidOperation:
            raise ExpressionSyntaxError(msg.SYNTAX, position=position, token=raw) from None
        if "." not in raw:
            value = int(exact)
            if not INT64_MIN <= value <= INT64_MAX:
                raise ExpressionTypeError(msg.NUMBER_RANGE, position=position, literal=literal)
            return ir.Constant(type=ValueType.INTEGER, position=position, value=value)
        scale = max(0, -int(exact.as_tuple().exponent))
        exact = exact.quantize(Decimal(1).scaleb(-scale), context=ir.DECIMAL_CONTEXT)
        if len(exact.as_tuple().digits) > DECIMAL_DIGITS or scale > DECIMAL_DIGITS:
            raise ExpressionTypeError(msg.NUMBER_RANGE, position=position, literal=literal)
        return ir.Constant(type=ValueType.DECIMAL, position=position, value=exact, scale=scale)

    def _negate(self, node: exp.Neg) -> ir.Node:
        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            return self._literal(node.this, negative=True)
        operand = self.lower(node.this)
        self._require_number(operand, "-")
        operand = settle(operand, ValueType.INTEGER, 0)
        return ir.Negate(
            type=operand.type, position=self.source.position(node), operand=operand, scale=operand.scale
        )

    def _require_number(self, operand: ir.Node, operator: str) -> None:
        if operand.type is None or operand.type.is_numeric:
            return
        if operand.type is ValueType.DATE and operator in "+-":
            raise ExpressionTypeError(msg.DATE_ARITHMETIC, position=operand.position)
        raise ExpressionTypeError(
            msg.NEEDS_NUMBER, position=operand.position, operator=operator, actual=operand.type.value
        )

    def _arithmetic(self, node: exp.Expr, operator: ir.ArithmeticOperator) -> ir.Node:
        left, right = self.lower(node.this), self.lower(node.expression)
        self._require_number(left, operator)
        self._require_number(right, operator)
        position = self.source.operator_position(
            node, node.this, node.expression, _ARITHMETIC_TOKENS[operator]
        )
        if operator == "/":
            target, scale = ValueType.FLOAT, 0
        else:
            target, scale = join_numeric([left, right])
            if operator == "*" and target is ValueType.DECIMAL:
                # DuckDB keeps every digit of a product: the scales add up.
                left, right = coerce(left, target, left.scale), coerce(right, target, right.scale)
                scale = left.scale + right.scale
                if scale > DECIMAL_DIGITS:
                    raise ExpressionTypeError(msg.SCALE, position=position, scale=scale, limit=DECIMAL_DIGITS)
                return ir.Arithmetic(
                    type=target, position=position, operator=operator, left=left, right=right, scale=scale
                )
        return ir.Arithmetic(
            type=target,
            position=position,
            operator=operator,
            left=coerce(left, target, scale),
            right=coerce(right, target, scale),
            scale=scale,
        )

    def _reject_null_literal(self, *nodes: ir.Node) -> None:
        for node in nodes:
            if isinstance(node, ir.Constant) and node.value is None and node.type is None:
                raise ExpressionTypeError(msg.NULL_COMPARISON, position=node.position)

    def _comparison(self, node: exp.Expr, operator: ir.ComparisonOperator) -> ir.Node:
        left, right = self.lower(node.this), self.lower(node.expression)
        self._reject_null_literal(left, right)
        position = self.source.operator_position(node, node.this, node.expression, COMPARISON_TOKENS)
        if left.type is not None and right.type is not None and not compatible(left.type, right.type):
            raise ExpressionTypeError(
                msg.COMPARE, position=position, left=left.type.value, right=right.type.value
            )
        target, scale = comparable([left, right])
        return ir.Comparison(
            type=ValueType.BOOLEAN,
            position=position,
            operator=operator,
            left=coerce(left, target, scale),
            right=coerce(right, target, scale),
        )

    def _condition(self, node: exp.Expr, operator: str) -> ir.Node:
        operand = self.lower(node)
        if operand.type not in (None, ValueType.BOOLEAN):
            assert operand.type is not None
            raise ExpressionTypeError(
                msg.NEEDS_BOOLEAN, position=operand.position, operator=operator, actual=operand.type.value
            )
        return settle(operand, ValueType.BOOLEAN, 0)

    def _logical(self, node: exp.And | exp.Or) -> ir.Node:
        kind = type(node)
        operands: list[exp.Expr] = []
        pending: list[exp.Expr] = [node]
        while pending:  # flatten the chain iteratively: a long list of conditions is common
            current = pending.pop()
            if type(current) is kind:
                pending.extend([current.expression, current.this])
            else:
                operands.append(current)
        word = "AND" if kind is exp.And else "OR"
        lowered = tuple(self._condition(operand, word) for operand in operands)
        operator: Literal["and", "or"] = "and" if kind is exp.And else "or"
        return ir.Logical(
            type=ValueType.BOOLEAN, position=lowered[0].position, operator=operator, operands=lowered
        )

    def _is_null(self, node: exp.Is) -> ir.Node:
        if not isinstance(node.expression, exp.Null):
            raise ForbiddenConstruct(msg.IS, position=self.source.position(node.expression))
        operand = self.lower(node.this)
        return ir.IsNull(type=ValueType.BOOLEAN, position=operand.position, operand=operand)

    def _in(self, node: exp.In) -> ir.Node:
        operand = self.lower(node.this)
        self._reject_null_literal(operand)
        items = node.expressions
        if not items:
            raise ExpressionSyntaxError(msg.EMPTY_LIST, position=self.source.position(node))
        values = [self.lower(item) for item in items]
        target, scale = comparable([operand, *values], msg.IN_MIXED)
        return ir.InList(
            type=ValueType.BOOLEAN,
            position=self.source.operator_position(node, node.this, items[0], COMPARISON_TOKENS),
            operand=coerce(operand, target, scale),
            values=tuple(coerce(v, target, scale) for v in values),
        )

    def _between(self, node: exp.Between) -> ir.Node:
        operand = self.lower(node.this)
        self._reject_null_literal(operand)
        low, high = self.lower(node.args["low"]), self.lower(node.args["high"])
        target, scale = comparable([operand, low, high])
        return ir.Between(
            type=ValueType.BOOLEAN,
            position=self.source.operator_position(node, node.this, node.args["low"], COMPARISON_TOKENS),
            operand=coerce(operand, target, scale),
            low=coerce(low, target, scale),
            high=coerce(high, target, scale),
        )

    def _like(self, node: exp.Like) -> ir.Node:
        operand, pattern = self.lower(node.this), self.lower(node.expression)
        for part in (operand, pattern):
            if part.type not in (None, ValueType.STRING):
                assert part.type is not None
                raise ExpressionTypeError(
                    msg.ARGUMENT_TYPE,
                    position=part.position,
                    function="like",
                    expected="string",
                    actual=part.type.value,
                )
        position = self.source.operator_position(node, node.this, node.expression, COMPARISON_TOKENS)
        like: ir.Node = ir.Like(
            type=ValueType.BOOLEAN,
            position=position,
            operand=settle(operand, ValueType.STRING, 0),
            pattern=settle(pattern, ValueType.STRING, 0),
        )
        if node.args.get("negate"):
            like = ir.Not(type=ValueType.BOOLEAN, position=position, operand=like)
        return like

    def _case(self, node: exp.Case) -> ir.Node:
        subject = self.lower(node.this) if node.this is not None else None
        if subject is not None:
            self._reject_null_literal(subject)
        conditions: list[ir.Node] = []
        results: list[ir.Node] = []
        for branch in node.args.get("ifs") or []:
            if subject is not None:
                value = self.lower(branch.this)
                self._reject_null_literal(value)
                if (
                    value.type is not None
                    and subject.type is not None
                    and not compatible(subject.type, value.type)
                ):
                    raise ExpressionTypeError(
                        msg.COMPARE, position=value.position, left=subject.type.value, right=value.type.value
                    )
                target, scale = comparable([subject, value])
                conditions.append(
                    ir.Comparison(
                        type=ValueType.BOOLEAN,
                        position=value.position,
                        operator="=",
                        left=coerce(subject, target, scale),
                        right=coerce(value, target, scale),
                    )
                )
            else:
                conditions.append(self._condition(branch.this, "WHEN"))
            results.append(self.lower(branch.args["true"]))
        default_node = node.args.get("default")
        default = self.lower(default_node) if default_node is not None else None
        branches = [*results, *([default] if default is not None else [])]
        result_type, scale = common(branches, msg.CASE_TYPES, "case")
        return ir.Case(
            type=result_type,
            position=self.source.position(node),
            scale=scale,
            whens=tuple(
                (condition, coerce(result, result_type, scale))
                for condition, result in zip(conditions, results, strict=True)
            ),
            default=coerce(default, result_type, scale) if default is not None else None,
        )

    def _cast(self, node: exp.Cast) -> ir.Node:
        data_type = node.args["to"]
        assert isinstance(data_type, exp.DataType)
        operand_node = node.this
        span = self.source.span(operand_node)
        type_token = self.source.token_after(span[1] if span else -1)
        while type_token is not None and type_token.token_type in (
            TokenType.ALIAS,
            TokenType.DCOLON,
            TokenType.R_PAREN,
        ):
            type_token = self.source.token_after(type_token.start)
        type_position = type_token.start + 1 if type_token is not None else self.source.position(node)
        target = _CAST_TARGETS.get(data_type.this)
        if target is None:
            raise ExpressionTypeError(
                msg.CAST_TARGET, position=type_position, name=data_type.sql(dialect="duckdb")
            )
        precision: int | None = None
        scale = 0
        if target is ValueType.DECIMAL:
            params = [p.this for p in data_type.expressions if isinstance(p, exp.DataTypeParam)]
            numbers = [
                int(p.this) for p in params if isinstance(p, exp.Literal) and not p.is_string and p.is_int
            ]
            if len(numbers) != len(params) or len(numbers) not in (1, 2):
                raise ExpressionTypeError(
                    msg.CAST_TARGET, position=type_position, name=data_type.sql(dialect="duckdb")
                )
            precision, scale = numbers[0], numbers[1] if len(numbers) == 2 else 0
            if not (1 <= precision <= DECIMAL_DIGITS and 0 <= scale <= precision):
                raise ExpressionTypeError(
                    msg.DECIMAL_PARAMS, position=type_position, precision=precision, scale=scale
                )
        if target is ValueType.DATE and isinstance(operand_node, exp.Literal) and operand_node.is_string:
            return self._date_literal(operand_node)
        operand = self.lower(operand_node)
        position = self.source.position(node)
        if operand.type is None:
            return settle(operand, target, scale)
        source = operand.type
        if not (source == target or (source.is_numeric and target.is_numeric) or (source, target) in _CASTS):
            raise ExpressionTypeError(
                msg.CAST, position=type_position, source=source.value, target=target.value
            )
        if source == target and target is not ValueType.DECIMAL:
            return operand
        return ir.Cast(type=target, position=position, operand=operand, precision=precision, scale=scale)

    def _date_literal(self, literal: exp.Literal) -> ir.Node:
        text = str(literal.this)
        position = self.source.position(literal)
        if not _DATE_LITERAL.fullmatch(text):
            raise ExpressionTypeError(msg.DATE_LITERAL, position=position, literal=text)
        try:
            value = datetime.date.fromisoformat(text)
        except ValueError:
            raise ExpressionTypeError(msg.DATE_LITERAL, position=position, literal=text) from None
        return ir.Constant(type=ValueType.DATE, position=position, value=value)

    def _date_function(self, node: exp.Date) -> ir.Node:
        if isinstance(node.this, exp.Literal) and node.this.is_string and not node.expressions:
            return self._date_literal(node.this)
        raise ForbiddenConstruct(
            msg.FUNCTION, position=self.source.position(node), name="date", allowed=ALLOWED_FUNCTIONS
        )

    def _argument(self, node: exp.Expr, function: str, expected: ValueType | Literal["number"]) -> ir.Node:
        argument = self.lower(node)
        if argument.type is None:
            return settle(argument, ValueType.INTEGER if expected == "number" else ValueType(expected), 0)
        fits = argument.type.is_numeric if expected == "number" else argument.type == expected
        if not fits:
            raise ExpressionTypeError(
                msg.ARGUMENT_TYPE,
                position=argument.position,
                function=function,
                expected=str(expected),
                actual=argument.type.value,
            )
        return argument

    def _function(self, node: exp.Expr) -> ir.Node:
        position = self.source.position(node)
        kind = type(node)
        if kind in _SIMPLE_FUNCTIONS:
            function, argument_type, result_type = _SIMPLE_FUNCTIONS[kind]
            argument = self._argument(node.this, function, argument_type)
            return ir.Call(type=result_type, position=position, function=function, args=(argument,))
        if isinstance(node, exp.Abs):
            argument = self._argument(node.this, "abs", "number")
            return ir.Call(
                type=argument.type, position=position, function="abs", args=(argument,), scale=argument.scale
            )
        if isinstance(node, exp.Round):
            return self._round(node, position)
        if isinstance(node, exp.Least | exp.Greatest | exp.Coalesce):
            name: ir.Function = (
                "least"
                if isinstance(node, exp.Least)
                else "greatest"
                if isinstance(node, exp.Greatest)
                else "coalesce"
            )
            args = [self.lower(a) for a in [node.this, *node.expressions]]
            target, scale = common(args, msg.ARGUMENTS_MIXED, name)
            return ir.Call(
                type=target,
                position=position,
                function=name,
                args=tuple(coerce(a, target, scale) for a in args),
                scale=scale,
            )
        if isinstance(node, exp.Nullif):
            return self._nullif(node, position)
        if isinstance(node, exp.Substring):
            text = self._argument(node.this, "substr", ValueType.STRING)
            rest = [node.args.get("start"), node.args.get("length")]
            numbers = [self._argument(a, "substr", ValueType.INTEGER) for a in rest if a is not None]
            if not numbers:
                raise ExpressionSyntaxError(msg.INCOMPLETE, position=position, token="substr")  # noqa: S106
            return ir.Call(type=ValueType.STRING, position=position, function="substr", args=(text, *numbers))
        if isinstance(node, exp.DateDiff):
            unit = node.args.get("unit")
            unit_name = unit.name.lower() if isinstance(unit, exp.Expr) else ""
            if unit_name not in ("day", "month", "year"):
                raise ExpressionTypeError(msg.DATE_UNIT, position=position)
            start = self._argument(node.expression, "date_diff", ValueType.DATE)
            end = self._argument(node.this, "date_diff", ValueType.DATE)
            date_unit: ir.DateUnit = (
                "day" if unit_name == "day" else "month" if unit_name == "month" else "year"
            )
            return ir.Call(
                type=ValueType.INTEGER,
                position=position,
                function="date_diff",
                args=(start, end),
                unit=date_unit,
            )
        raise self.source.forbidden(node)

    def _round(self, node: exp.Round, position: int) -> ir.Node:
        argument = self._argument(node.this, "round", "number")
        places_node = node.args.get("decimals")
        places = 0
        if places_node is not None:
            sign = 1
            literal = places_node
            if isinstance(literal, exp.Neg):
                sign, literal = -1, literal.this
            if not (isinstance(literal, exp.Literal) and not literal.is_string and literal.is_int):
                raise ExpressionTypeError(
                    msg.ROUND_PLACES,
                    position=self.source.position(places_node),
                    min=-MAX_ROUND_PLACES,
                    max=MAX_ROUND_PLACES,
                )
            places = sign * int(literal.this)
            if abs(places) > MAX_ROUND_PLACES:
                raise ExpressionTypeError(
                    msg.ROUND_PLACES,
                    position=self.source.position(places_node),
                    min=-MAX_ROUND_PLACES,
                    max=MAX_ROUND_PLACES,
                )
        scale = argument.scale
        if argument.type is ValueType.DECIMAL:
            scale = max(0, min(scale, places))
        return ir.Call(
            type=argument.type,
            position=position,
            function="round",
            args=(argument,),
            precision=places,
            scale=scale,
        )

    def _nullif(self, node: exp.Nullif, position: int) -> ir.Node:
        """``nullif(a, b)`` is ``CASE WHEN a = b THEN NULL ELSE a END``, as in DuckDB."""
        value, other = self.lower(node.this), self.lower(node.expression)
        if value.type is not None and other.type is not None and not compatible(value.type, other.type):
            raise ExpressionTypeError(
                msg.COMPARE, position=other.position, left=value.type.value, right=other.type.value
            )
        if value.type is None and other.type is None:
            return value
        target, scale = comparable([value, other])
        condition = ir.Comparison(
            type=ValueType.BOOLEAN,
            position=position,
            operator="=",
            left=coerce(value, target, scale),
            right=coerce(other, target, scale),
        )
        value = settle(value, target, scale)
        assert value.type is not None
        blank = ir.Constant(type=value.type, position=position, value=None, scale=value.scale)
        return ir.Case(
            type=value.type, position=position, scale=value.scale, whens=((condition, blank),), default=value
        )

    def finish(self, node: ir.Node, result: ResultKind) -> ir.Node:
        if node.type is None:
            if result == "any":
                raise ExpressionTypeError(msg.UNTYPED_NULL, position=node.position)
            return settle(node, ValueType.BOOLEAN if result == "boolean" else ValueType.INTEGER, 0)
        if result == "boolean" and node.type is not ValueType.BOOLEAN:
            raise ExpressionTypeError(msg.RESULT_BOOLEAN, position=1, actual=node.type.value)
        if result == "number" and not node.type.is_numeric:
            raise ExpressionTypeError(msg.RESULT_NUMBER, position=1, actual=node.type.value)
        return node
