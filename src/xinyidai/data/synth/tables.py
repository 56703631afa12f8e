"""Typed tables in the catalogue's shape, and their split into delivery files."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from xinyidai.data.catalogue import catalogue
from xinyidai.data.synth.plan import CityPlan

Delivery = Iterator[tuple[str, pa.Table]]
"""What a source builder yields: (file stem, typed table with the catalogue's field names)."""


def table(source_id: str, columns: dict[str, pa.Array]) -> pa.Table:
    """A table with exactly the source's fields, in catalogue order."""
    fields = [f.name for f in catalogue().get(source_id).fields]
    if set(columns) != set(fields):
        raise ValueError(f"{source_id}: columns {sorted(columns)} do not match fields {sorted(fields)}")
    return pa.table({name: columns[name] for name in fields})


def unique_rows(source_id: str, data: pa.Table) -> np.ndarray:
    """Indices of the first row of each distinct key (clean deliveries never repeat a key)."""
    key = catalogue().get(source_id).key
    codes = np.zeros(data.num_rows, dtype=np.int64)
    for name in key:
        encoded = data.column(name).combine_chunks().dictionary_encode()
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        indices = np.where(encoded.indices.is_null().to_numpy(zero_copy_only=False), -1, indices)
        codes = codes * (len(encoded.dictionary) + 1) + indices + 1
    _, first = np.unique(codes, return_index=True)
    return np.sort(first)


def by_month(plan: CityPlan, source_id: str, month: np.ndarray, columns: dict[str, pa.Array]) -> Delivery:
    """Split event rows into monthly files by the horizon month of their date, dropping repeated keys.

    Events of the burn-in months go into the first delivered month's file (the initial load).
    """
    if month.shape[0] == 0:
        return
    data = table(source_id, columns)
    keep = unique_rows(source_id, data)
    if keep.shape[0] < data.num_rows:
        data = data.take(pa.array(keep))
        month = month[keep]
    first = plan.burn_in
    last = plan.burn_in + plan.months - 1
    clipped = np.clip(month, first, last)
    order = np.argsort(clipped, kind="stable")
    data = data.take(pa.array(order))
    ordered = clipped[order]
    values, starts = np.unique(ordered, return_index=True)
    bounds = [*starts.tolist(), int(ordered.shape[0])]
    for i, value in enumerate(values.tolist()):
        yield plan.stem(int(value)), data.slice(bounds[i], bounds[i + 1] - bounds[i])


def pick(weights: tuple[float, ...], rng: np.random.Generator, n: int) -> np.ndarray:
    """Random indices ``0..len(weights)-1`` drawn with the given (relative) weights."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.shape[0], size=n, p=p / p.sum())
