"""Evaluate a checked expression over a whole table in DuckDB.

The data (an Arrow table or record batch, or a DuckDB relation) is checked against the catalogue
first: a missing column or a column of the wrong kind is an error, never a silent conversion (a
``VARCHAR`` column is not parsed as numbers). The query is built with sqlglot from the checked tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeAlias

import duckdb
import pyarrow as pa
from sqlglot import exp

from xinyidai.core.expressions import ir
from xinyidai.core.expressions import messages as msg
from xinyidai.core.expressions.catalogue import FieldSpec, ValueType
from xinyidai.core.expressions.errors import ExpressionEvaluationError
from xinyidai.core.expressions.sql import data_type, to_sqlglot

BatchData: TypeAlias = "pa.Table | pa.RecordBatch | duckdb.DuckDBPyRelation"

_INPUT = "xyd_expression_input"
_RESULT = "result"


_INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}
_ACCEPTED: dict[ValueType, set[str]] = {
    ValueType.STRING: {"VARCHAR"},
    ValueType.INTEGER: _INTEGERS,
    ValueType.DECIMAL: {*_INTEGERS, "DECIMAL"},
    ValueType.FLOAT: {*_INTEGERS, "DECIMAL", "FLOAT", "DOUBLE"},
    ValueType.DATE: {"DATE"},
    ValueType.BOOLEAN: {"BOOLEAN"},
}
_NULL_TYPE = '"NULL"'


def result_arrow_type(tree: ir.Node) -> pa.DataType:
    """The Arrow type of the batch result."""
    assert tree.type is not None
    return FieldSpec("result", tree.type, scale=tree.scale).arrow_type


def evaluate_batch(
    tree: ir.Node,
    fields: Iterable[FieldSpec],
    data: BatchData,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pa.Array:
    """One result per row of ``data``, in row order."""
    own_connection = None
    if isinstance(data, duckdb.DuckDBPyRelation):
        relation = data
    else:
        table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        if connection is None:
            connection = own_connection = duckdb.connect(":memory:")
        relation = connection.from_arrow(table)
    try:
        query = _query(tree, fields, relation)
        try:
            output = relation.query(_INPUT, query)
            assert output is not None  # a SELECT always gives a relation
            result = output.to_arrow_table()
        except duckdb.Error as error:
            raise ExpressionEvaluationError(msg.BATCH_FAILED, reason=str(error).splitlines()[0]) from error
    finally:
        if own_connection is not None:
            own_connection.close()
    column = result.column(0).combine_chunks()
    return column.cast(result_arrow_type(tree))


def _query(tree: ir.Node, fields: Iterable[FieldSpec], relation: duckdb.DuckDBPyRelation) -> str:
    columns = {
        name.casefold(): (name, str(kind))
        for name, kind in zip(relation.columns, relation.types, strict=True)
    }
    projections: list[exp.Expr] = []
    for spec in fields:
        found = columns.get(spec.name.casefold())
        if found is None:
            raise ExpressionEvaluationError(msg.MISSING_COLUMN, name=spec.name)
        name, kind = found
        column: exp.Expr = exp.column(name, quoted=True)
        if kind == _NULL_TYPE:
            column = exp.Cast(this=column, to=data_type(spec.type, spec.scale))
        elif re.sub(r"\(.*", "", kind) not in _ACCEPTED[spec.type]:
            raise ExpressionEvaluationError(
                msg.COLUMN_TYPE, name=spec.name, actual=kind, expected=spec.type.value
            )
        projections.append(exp.alias_(column, spec.name, quoted=True))
    if not projections:
        projections.append(exp.alias_(exp.Literal.number(1), "row", quoted=True))
    inner = exp.select(*projections).from_(exp.to_identifier(_INPUT, quoted=True))
    outer = exp.select(exp.alias_(to_sqlglot(tree), _RESULT, quoted=True)).from_(
        inner.subquery("expression_rows")
    )
    return outer.sql(dialect="duckdb")
