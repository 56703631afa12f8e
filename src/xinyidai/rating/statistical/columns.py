"""Reading feature columns from the shapes callers hold.

A caller may pass a mapping of arrays (``{"tax_paid_12m": array, ...}``), a pyarrow ``Table`` read from
the lake, or a pandas ``DataFrame``; every path below turns one named column into a numpy array without
a per-row Python loop (pyarrow does the null handling and the category encoding in C).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from xinyidai.rating.statistical.errors import ScorecardConfigError

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]


class ColumnTable(Protocol):
    """Anything with named columns, such as a pandas ``DataFrame``."""

    @property
    def columns(self) -> Any: ...

    def __getitem__(self, key: str, /) -> Any: ...


FeatureData: TypeAlias = Mapping[str, Any] | ColumnTable
"""Features of many enterprises: a mapping name → array, a pyarrow ``Table`` or a ``DataFrame``."""

_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def column_names(data: FeatureData) -> list[str]:
    """The column names of ``data``, in its own order."""
    if isinstance(data, pa.Table):
        return list(data.column_names)
    if isinstance(data, Mapping):
        return [str(name) for name in data]
    return [str(name) for name in data.columns]


def has_column(data: FeatureData, name: str) -> bool:
    """Whether ``data`` holds a column called ``name``."""
    return name in column_names(data)


def _raw(data: FeatureData, name: str) -> Any:
    if not has_column(data, name):
        raise ScorecardConfigError("The feature %(name)s does not exist in the data", field=name, name=name)
    if isinstance(data, pa.Table):
        return data.column(name)
    return data[name]


def row_count(data: FeatureData, name: str) -> int:
    """Number of values in the column ``name`` (the number of enterprises)."""
    return len(_raw(data, name))


def _to_arrow(raw: Any) -> pa.Array | pa.ChunkedArray:
    if isinstance(raw, pa.Array | pa.ChunkedArray):
        return raw
    values = np.asarray(raw)
    if values.dtype.kind not in "OUS":
        values = values.astype(object)
    # from_pandas=True: None, NaN and pandas.NA all become nulls, which is what "missing" means here.
    return pa.array(values, from_pandas=True)


def _arrow_numeric(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    )


def is_numeric(data: FeatureData, name: str) -> bool:
    """Whether the column ``name`` holds numbers (or booleans), as opposed to category labels.

    Text is never parsed as a number: a column of ``"12"`` strings is categorical.
    """
    raw = _raw(data, name)
    if not isinstance(raw, pa.Array | pa.ChunkedArray) and np.asarray(raw).dtype.kind in "biuf":
        return True
    try:
        return _arrow_numeric(_to_arrow(raw).type)
    except _ARROW_ERRORS:
        return False


def numeric_column(data: FeatureData, name: str, rows: int | None = None) -> FloatArray:
    """The column ``name`` as float64, missing values (null, None, NaN) as NaN.

    Raises:
        ScorecardConfigError: the column is absent, not numeric, or does not have ``rows`` values.
    """
    raw = _raw(data, name)
    result: FloatArray
    if not isinstance(raw, pa.Array | pa.ChunkedArray) and np.asarray(raw).dtype.kind in "biuf":
        result = np.asarray(raw, dtype=np.float64)
    else:
        try:
            arrow = _to_arrow(raw)
            if not _arrow_numeric(arrow.type):
                raise TypeError(arrow.type)
            result = np.asarray(arrow.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        except (*_ARROW_ERRORS, TypeError):
            raise ScorecardConfigError(
                "The feature %(name)s must be numeric", field=name, name=name
            ) from None
    _check_length(name, len(result), rows)
    return result


def category_column(data: FeatureData, name: str, rows: int | None = None) -> tuple[IntArray, list[str]]:
    """The column ``name`` encoded as (codes, labels): ``labels[codes[i]]``, code −1 for a missing value.

    Numbers in a categorical column are read as their text (``3`` → ``"3"``).
    """
    raw = _raw(data, name)
    try:
        arrow = _to_arrow(raw)
        if isinstance(arrow, pa.ChunkedArray):
            arrow = arrow.combine_chunks()
        if not pa.types.is_string(arrow.type):
            arrow = arrow.cast(pa.string())
        encoded = arrow.dictionary_encode()
    except _ARROW_ERRORS:
        raise ScorecardConfigError(
            "The feature %(name)s cannot be read as categories", field=name, name=name
        ) from None
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    labels = [str(label) for label in encoded.dictionary.to_pylist()]
    _check_length(name, len(codes), rows)
    return codes, labels


def _check_length(name: str, length: int, rows: int | None) -> None:
    if rows is not None and length != rows:
        raise ScorecardConfigError(
            "The feature %(name)s has %(rows)s values but the target has %(expected)s",
            field=name,
            name=name,
            rows=length,
            expected=rows,
        )


def training_data_sha256(
    numeric: Mapping[str, FloatArray],
    categorical: Mapping[str, tuple[IntArray, Sequence[str]]],
    target: NDArray[np.int8],
) -> str:
    """SHA-256 of exactly the data a model version was trained on (names, values, target), hex.

    Two fits on the same rows give the same hash, so a stored model version can be traced to its data.
    """
    digest = hashlib.sha256()
    for name in sorted([*numeric, *categorical]):
        digest.update(name.encode() + b"\x00")
        if name in numeric:
            digest.update(np.ascontiguousarray(numeric[name]).data)
        else:
            codes, labels = categorical[name]
            digest.update("\x1f".join(labels).encode() + b"\x00")
            digest.update(np.ascontiguousarray(codes).data)
    digest.update(b"target\x00")
    digest.update(np.ascontiguousarray(target).data)
    return digest.hexdigest()
