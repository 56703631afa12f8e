"""The one expression language: rules, limits and checks as SQL expressions over named fields.

Everything an operator, bank or department configures — product admission rules, credit limits and
pricing, risk-warning rules, policy eligibility, data-quality checks, whitelist filters — is one SQL
expression over the fields of a typed catalogue::

    catalogue = FieldCatalogue.from_dict(
        {"grade": "string", "tax_paid_12m": "decimal", "on_dishonest_list": "boolean"}
    )
    rule = compile_expression(
        "grade in ('A','B') and tax_paid_12m >= 50000 and not on_dishonest_list", catalogue
    )
    rule.matches({"grade": "A", "tax_paid_12m": Decimal("81000.00"), "on_dishonest_list": False})
    rule.evaluate_batch(arrow_table)  # vectorised in DuckDB, same answers
    rule.to_sql("spark")

Compiling checks the text once (syntax, unknown fields with a "did you mean", types, an allow-list of
functions; sub-queries, aggregates, ``current_date``, ``;`` and comments are refused), and every error
names the character where it happens. A compiled expression evaluates on one record in Python (online
decisions) or on a table in DuckDB (batches); both give the same result, with SQL's NULL logic. No
``eval``, no user text in SQL: the SQL is regenerated from the checked tree.

The grammar is documented in :mod:`xinyidai.core.expressions.compiler`. The few places where the two
evaluators may differ:

- Errors, not values: DuckDB may raise an overflow for a row or ``CASE`` branch that Python never
  evaluates (Python short-circuits ``and``/``or``/``CASE``), and DuckDB checks decimals against the
  joint scale of both sides of a comparison, so values within a few digits of 10^38 may raise there
  only.
- ``lower``/``upper``: DuckDB maps each character to one character; Python uses full case mapping,
  which differs for a handful of characters (``'ß'.upper()`` is ``'SS'`` in Python, ``'ẞ'`` in
  DuckDB).
- Decimals with more than 15 significant digits converted to float may differ in the last bit.

Spark: :meth:`CompiledExpression.to_sql` transpiles with sqlglot; Spark's own ``LIKE`` treats ``\\`` as
an escape character, which this language does not.
"""

from xinyidai.core.expressions.catalogue import FieldCatalogue, FieldSpec, ValueType
from xinyidai.core.expressions.compiled import CompiledExpression, compile_expression
from xinyidai.core.expressions.compiler import ResultKind
from xinyidai.core.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    ExpressionTooComplex,
    ExpressionTypeError,
    ForbiddenConstruct,
    UnknownField,
)
from xinyidai.core.expressions.ir import Value
from xinyidai.core.expressions.syntax import MAX_DEPTH, MAX_LENGTH, MAX_NESTING

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "CompiledExpression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "ExpressionTooComplex",
    "ExpressionTypeError",
    "FieldCatalogue",
    "FieldSpec",
    "ForbiddenConstruct",
    "ResultKind",
    "UnknownField",
    "Value",
    "ValueType",
    "compile_expression",
]
