"""Errors of the expression language.

Compile-time errors (:class:`ExpressionError` and its subclasses) point at the offending token: the
``position`` parameter is a 1-based character offset into the expression text, and every message says
it, because the web layer shows only the translated message. Run-time errors
(:class:`ExpressionEvaluationError`) come from the data: a record of the wrong type, or an arithmetic
overflow.
"""

from __future__ import annotations

from typing import Any

from xinyidai.core.errors import ValidationFailed


class ExpressionError(ValidationFailed):
    """An expression that cannot be accepted; ``params['position']`` says where (1-based)."""

    code = "invalid_expression"
    title = "The expression is invalid"

    @property
    def position(self) -> int:
        """1-based character offset of the offending token in the expression text."""
        return int(self.params.get("position", 1))

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the msgid and its parameters when pickled (e.g. across worker processes).
        return (_rebuild, (type(self), self.message, self.field, self.params))


class ExpressionSyntaxError(ExpressionError):
    """The text is not a well-formed expression."""


class ExpressionTooComplex(ExpressionError):
    """The text is too long or nested too deeply."""


class UnknownField(ExpressionError):
    """A name that is not in the field catalogue."""


class ForbiddenConstruct(ExpressionError):
    """Valid SQL that the expression language does not allow (sub-queries, aggregates, ...)."""


class ExpressionTypeError(ExpressionError):
    """Operands or the result have the wrong type."""


class ExpressionEvaluationError(ValidationFailed):
    """An accepted expression could not be evaluated on the given data."""

    code = "expression_evaluation_failed"
    title = "The expression could not be evaluated"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.field, self.params))


def _rebuild(
    cls: type[ValidationFailed], message: str, field: str | None, params: dict[str, Any]
) -> ValidationFailed:
    return cls(message, field=field, **params)
