"""Compile once, evaluate anywhere: the public face of the expression language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.core.expressions import batch, compiler, interpreter, ir
from xinyidai.core.expressions.catalogue import FieldCatalogue, FieldSpec, ValueType
from xinyidai.core.expressions.compiler import ResultKind
from xinyidai.core.expressions.sql import to_sqlglot


@dataclass(frozen=True, eq=False)
class CompiledExpression:
    """A checked expression, ready to evaluate on one record or on a whole table.

    Attributes:
        text: the expression as written.
        catalogue: the catalogue it was checked against.
        result_type: the type of its value (``boolean`` for a rule).
        fields: the names of the catalogue fields it uses.
    """

    text: str
    catalogue: FieldCatalogue
    result_type: ValueType
    fields: frozenset[str]
    tree: ir.Node = field(repr=False)
    _duckdb_sql: str = field(repr=False)

    @property
    def _specs(self) -> list[FieldSpec]:
        return [self.catalogue[name] for name in sorted(self.fields)]

    def to_sql(self, dialect: str = "duckdb") -> str:
        """The expression as SQL for ``dialect`` (any sqlglot dialect: ``duckdb``, ``spark``, ...).

        Field references are double-quoted (backquoted for Spark) column names, so the SQL can be
        embedded in a query over a table whose columns are the fields.
        """
        if dialect == "duckdb":
            return self._duckdb_sql
        return to_sqlglot(self.tree).sql(dialect=dialect)

    def evaluate_one(self, record: Mapping[str, Any]) -> ir.Value:
        """The value for one record (field name → value; ``None`` is NULL), computed in Python.

        Every field the expression uses must be in ``record`` (``None`` for NULL) with a value of its
        type: ``str``; ``int``; ``Decimal`` or ``int`` for decimals; ``float``, ``int`` or ``Decimal``
        for floats; ``datetime.date``; ``bool``. Decimals are rounded to the field's scale first, as in
        the batch evaluator.

        Raises:
            ExpressionEvaluationError: a field is missing or has the wrong type, or a result overflows.
        """
        return interpreter.evaluate(self.tree, record, self._specs)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether a boolean expression holds for ``record``; NULL (unknown) counts as not satisfied."""
        return self.evaluate_one(record) is True

    def evaluate_batch(
        self,
        data: batch.BatchData,
        *,
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> pa.Array:
        """One value per row of ``data`` (Arrow table/record batch or DuckDB relation), in row order.

        Evaluated vectorised in DuckDB: on ``connection`` if given (Arrow data), else on a private
        in-memory connection; a relation is evaluated on its own connection. The result's Arrow type
        follows :attr:`result_type` (``decimal128(38, s)`` for decimals).

        Raises:
            ExpressionEvaluationError: a column is missing or of the wrong type, or DuckDB failed
                (e.g. an overflow).
        """
        return batch.evaluate_batch(self.tree, self._specs, data, connection)

    def matches_batch(
        self,
        data: batch.BatchData,
        *,
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> pa.BooleanArray:
        """Per row, whether a boolean expression holds; NULL counts as not satisfied."""
        if self.result_type is not ValueType.BOOLEAN:
            raise TypeError("matches_batch needs a boolean expression")
        result = self.evaluate_batch(data, connection=connection)
        return pc.fill_null(result, False)


def compile_expression(
    text: str,
    catalogue: FieldCatalogue,
    *,
    result_type: ResultKind = "boolean",
) -> CompiledExpression:
    """Parse and check ``text`` against ``catalogue``.

    Args:
        text: the expression, e.g. ``grade in ('A','B') and tax_paid_12m >= 50000``.
        catalogue: the fields it may use.
        result_type: ``"boolean"`` for rules and filters, ``"number"`` for limits, prices and
            scores, ``"any"`` for no constraint.

    Compiled expressions are cached per (text, catalogue, result_type); equal catalogues share them.

    Raises:
        ExpressionError: a subclass saying what is wrong and where (``error.position``, 1-based).
    """
    if not isinstance(text, str):
        raise TypeError(f"expression text must be a string, not {type(text).__name__}")
    if result_type not in ("boolean", "number", "any"):
        raise ValueError(f"result_type must be 'boolean', 'number' or 'any', not {result_type!r}")
    return _compile(text, catalogue, result_type)


@lru_cache(maxsize=1024)
def _compile(text: str, catalogue: FieldCatalogue, result_type: ResultKind) -> CompiledExpression:
    tree, fields = compiler.compile_tree(text, catalogue, result_type)
    assert tree.type is not None
    return CompiledExpression(
        text=text,
        catalogue=catalogue,
        result_type=tree.type,
        fields=fields,
        tree=tree,
        _duckdb_sql=to_sqlglot(tree).sql(dialect="duckdb"),
    )
