"""Type rules: which types meet, what they widen to, and how an untyped NULL gets its type.

Numbers widen integer → decimal → float; a decimal widens to a larger scale. Values of other types
only meet values of the same type. A bare ``NULL`` has no type until its context gives it one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from xinyidai.core.expressions import ir
from xinyidai.core.expressions import messages as msg
from xinyidai.core.expressions.catalogue import ValueType
from xinyidai.core.expressions.errors import ExpressionTypeError

_NUMERIC_RANK = {ValueType.INTEGER: 0, ValueType.DECIMAL: 1, ValueType.FLOAT: 2}

_N = TypeVar("_N", bound=ir.Node)


def compatible(left: ValueType, right: ValueType) -> bool:
    """Whether values of the two types can be compared, or be results of one expression."""
    return left == right or (left.is_numeric and right.is_numeric)


def join_numeric(nodes: Sequence[ir.Node]) -> tuple[ValueType, int]:
    """The widest numeric type among ``nodes``, with its scale (untyped ones ignored; none: integer)."""
    types = [n.type for n in nodes if n.type is not None]
    if not types:
        return ValueType.INTEGER, 0
    widest = max(types, key=lambda t: _NUMERIC_RANK[t])
    if widest is ValueType.DECIMAL:
        return widest, max(n.scale for n in nodes if n.type is ValueType.DECIMAL)
    return widest, 0


def comparable(nodes: Sequence[ir.Node], message: str = msg.COMPARE) -> tuple[ValueType, int]:
    """The one type ``nodes`` are compared in; raises at the first node that does not fit."""
    common_type, scale = common(nodes, message)
    if common_type is None:
        raise ExpressionTypeError(msg.UNTYPED_NULL, position=nodes[0].position)
    return common_type, scale


def common(nodes: Sequence[ir.Node], message: str, function: str = "") -> tuple[ValueType | None, int]:
    """The common type of ``nodes`` (``None`` if all are untyped NULLs); raises at a misfit."""
    typed = [n for n in nodes if n.type is not None]
    if not typed:
        return None, 0
    first = typed[0]
    assert first.type is not None
    for other in typed[1:]:
        assert other.type is not None
        if not compatible(first.type, other.type):
            raise ExpressionTypeError(
                message,
                position=other.position,
                function=function,
                left=first.type.value,
                right=other.type.value,
                expected=first.type.value,
                actual=other.type.value,
            )
    if first.type.is_numeric:
        return join_numeric(typed)
    return first.type, 0


def settle(node: _N, target: ValueType, scale: int) -> _N:
    """Give an untyped NULL (or an expression of only NULLs) the type its context needs."""
    if node.type is not None:
        return node
    if isinstance(node, ir.Case):
        return replace(
            node,
            type=target,
            scale=scale,
            whens=tuple((c, settle(r, target, scale)) for c, r in node.whens),
            default=settle(node.default, target, scale) if node.default is not None else None,
        )
    if isinstance(node, ir.Call):
        return replace(
            node, type=target, scale=scale, args=tuple(settle(a, target, scale) for a in node.args)
        )
    return replace(node, type=target, scale=scale)


def coerce(node: ir.Node, target: ValueType | None, scale: int) -> ir.Node:
    """Widen ``node`` to ``target`` (integer → decimal → float; a decimal to a larger scale)."""
    if target is None:
        return node
    if node.type is None:
        return settle(node, target, scale)
    if node.type == target and (target is not ValueType.DECIMAL or node.scale == scale):
        return node
    scale = scale if target is ValueType.DECIMAL else 0
    if isinstance(node, ir.Constant):
        return ir.Constant(
            type=target, position=node.position, value=_widen(node.value, target, scale), scale=scale
        )
    return ir.Convert(type=target, position=node.position, operand=node, scale=scale)


def _widen(value: ir.Value, target: ValueType, scale: int) -> ir.Value:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return value
    if target is ValueType.FLOAT:
        return float(value)
    return Decimal(value).quantize(Decimal(1).scaleb(-scale), context=ir.DECIMAL_CONTEXT)
