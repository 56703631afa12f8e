"""The checked, typed form of an expression, shared by both evaluators.

The compiler turns sqlglot's syntax tree into these nodes after every check has passed; the Python
evaluator walks them, and the SQL generator turns them back into a sqlglot tree for DuckDB or Spark.
Implicit numeric widening is explicit here (:class:`Convert`), so both evaluators convert at the same
places.

``type`` is the node's value type; ``None`` only for a bare ``NULL`` whose type nothing determines.
``position`` is the 1-based character offset of the node in the expression text.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Literal, TypeAlias

from xinyidai.core.expressions.catalogue import ValueType

DECIMAL_CONTEXT = Context(prec=100, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)
"""Every decimal operation uses this context, never the thread's (28 digits): exact for 38 + 38 digits,
and ``ROUND_HALF_UP`` is DuckDB's rounding, half away from zero."""

Value: TypeAlias = bool | int | Decimal | float | str | datetime.date | None
"""A value of the language: ``None`` is SQL NULL."""

ArithmeticOperator: TypeAlias = Literal["+", "-", "*", "/"]
ComparisonOperator: TypeAlias = Literal["=", "<>", "<", "<=", ">", ">="]
Function: TypeAlias = Literal[
    "abs",
    "round",
    "least",
    "greatest",
    "coalesce",
    "lower",
    "upper",
    "trim",
    "length",
    "substr",
    "year",
    "month",
    "day",
    "date_diff",
]
DateUnit: TypeAlias = Literal["day", "month", "year"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    type: ValueType | None
    position: int
    scale: int = 0
    """Decimal places of a ``decimal`` node (DuckDB ``DECIMAL(38, scale)``); 0 otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldRef(Node):
    """A catalogue field; decimals are rounded to ``scale`` places on the way in."""

    name: str
    scale: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Constant(Node):
    value: Value


@dataclass(frozen=True, slots=True, kw_only=True)
class Convert(Node):
    """Implicit numeric widening: integer → decimal, integer → float, decimal → float."""

    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Cast(Node):
    """An explicit ``CAST``; ``precision`` (with the node's ``scale``) only for decimal targets."""

    operand: Node
    precision: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Arithmetic(Node):
    """``+ - *`` on operands of the node's type; ``/`` on floats (division by zero gives NULL)."""

    operator: ArithmeticOperator
    left: Node
    right: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison(Node):
    """Operands already converted to one comparable type."""

    operator: ComparisonOperator
    left: Node
    right: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Logical(Node):
    """``AND``/``OR`` over two or more boolean operands, with three-valued logic."""

    operator: Literal["and", "or"]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class IsNull(Node):
    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class InList(Node):
    operand: Node
    values: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Like(Node):
    """SQL ``LIKE``: ``%`` any run of characters, ``_`` one character, no escape character."""

    operand: Node
    pattern: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Case(Node):
    """Searched ``CASE``; a simple ``CASE x WHEN v`` is compiled to ``WHEN x = v``."""

    whens: tuple[tuple[Node, Node], ...]
    default: Node | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    """An allowed function. ``round``'s precision and ``date_diff``'s unit are parameters, not arguments."""

    function: Function
    args: tuple[Node, ...]
    precision: int = 0
    unit: DateUnit = "day"
