"""Checking a batch: type every field, apply the catalogue's rules, find duplicate keys, split the rows.

Rules, per row: each field parses as its type (``wrong_type``, ``bad_date``), codes are in their list
(``unknown_code``), numbers in their range (``out_of_range``), USCCs pass GB 32100 (``invalid_uscc``),
enterprise references are a USCC or a provider code (``invalid_entity_ref``), required fields and the
period field are present (``missing_required``), the period is not after the day the data was received
(``future_date``: no look-ahead). Among the rows that pass, a key seen before in the batch is a
``duplicate_key`` — the first row is kept. A rejected row keeps its raw values as delivered.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.core.uscc import InvalidUSCC, validate_uscc
from xinyidai.data.catalogue import Field, FieldType, Source
from xinyidai.data.ingest.headers import ColumnPlan
from xinyidai.data.ingest.parse import ERROR_CODES, OK, Parsed, mix64, parse_column
from xinyidai.data.ingest.reading import RawTable

__all__ = ["QUARANTINE_SCHEMA", "Checked", "DeliveredFile", "check_batch"]

MISSING: Final = 1
FUTURE: Final = 8
_REASONS: Final = {**ERROR_CODES, MISSING: "missing_required", FUTURE: "future_date"}
_VALUE_CHARS = 200
_JSON: Final = json.JSONEncoder(ensure_ascii=False)  # json.dumps(ensure_ascii=False) builds one per call
_STRING: Final = json.encoder.encode_basestring  # how _JSON writes a str

QUARANTINE_SCHEMA: Final = pa.schema(
    [
        ("file", pa.string()),
        ("row", pa.int32()),
        ("reason", pa.string()),
        ("field", pa.string()),
        ("params", pa.string()),
        ("problems", pa.string()),
        ("raw", pa.string()),
    ]
)
"""One rejected row: where it was, the first problem (stable code, field, JSON params), every problem
(JSON list of {reason, field, params}) and the raw values as delivered (JSON object header → string)."""


@dataclass
class DeliveredFile:
    """A file of the batch, read and mapped: its position in the batch, strings and column plan."""

    position: int
    raw: RawTable
    plan: ColumnPlan


@dataclass
class Checked:
    """The outcome of checking a batch.

    Attributes:
        accepted: the accepted rows, typed, in catalogue field order, with ``_file`` and ``_row``.
        rejects: one row per rejected row (:data:`QUARANTINE_SCHEMA`).
        reject_counts: rejected rows by (first) reason.
        per_file: per file position, (rows read, accepted, rejected).
    """

    accepted: pa.Table
    rejects: pa.Table
    reject_counts: dict[str, int]
    per_file: dict[int, tuple[int, int, int]]

    @property
    def rows_read(self) -> int:
        return sum(read for read, _, _ in self.per_file.values())


def _constant(value: str, n: int) -> pa.Array:
    return pc.take(pa.array([value], pa.string()), pa.array(np.zeros(n, dtype=np.int32)))


def _field_column(field: Field, files: Sequence[DeliveredFile]) -> tuple[pa.ChunkedArray, np.ndarray | None]:
    chunks: list[pa.Array] = []
    scales: list[np.ndarray] = []
    for delivered in files:
        n = delivered.raw.num_rows
        j = delivered.plan.column_of(field.name)
        if j is not None:
            chunks.extend(delivered.raw.columns[j].chunks)
        elif field.name in delivered.plan.derived:
            chunks.append(_constant(delivered.plan.derived[field.name], n))
        else:
            chunks.append(pa.nulls(n, pa.string()))
        scales.append(np.full(n, delivered.plan.scales.get(field.name, 0), dtype=np.int8))
    scale = np.concatenate(scales) if field.type is FieldType.DECIMAL and scales else None
    if scale is not None and not scale.any():
        scale = None
    return pa.chunked_array(chunks, pa.string()), scale


def _parse_all(source: Source, files: Sequence[DeliveredFile]) -> list[Parsed]:
    def one(field: Field) -> Parsed:
        column, scale = _field_column(field, files)
        return parse_column(field, column, scale)

    workers = min(len(source.fields), os.cpu_count() or 1, 4)
    if workers <= 1:
        return [one(f) for f in source.fields]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="xyd-parse") as pool:
        return list(pool.map(one, source.fields))


def _key_codes(parsed: Parsed) -> np.ndarray:
    """Integer codes of a key column's values (equal values, equal codes; null is a value too)."""
    if parsed.keys is not None:
        return parsed.keys
    values = parsed.values
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if len(chunks) != 1:
        chunks = [pa.concat_arrays(chunks)] if chunks else [pa.array([], values.type)]
    encoded = pc.dictionary_encode(chunks[0], null_encoding="encode")
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _first_of_groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions whose code occurred at an earlier position, and that earliest position."""
    none = np.zeros(0, dtype=np.int64)
    ordered = np.sort(codes)  # a plain sort is several times faster than an argsort
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return none, none
    if np.count_nonzero(same) * 64 > len(codes):  # many repeats: one argsort finds them all
        order = np.argsort(codes)
        same = codes[order[1:]] == codes[order[:-1]]
        members = order[np.r_[False, same] | np.r_[same, False]]
    else:
        # The rows holding one of the few repeated codes: a bitmap on the low bits rules out nearly
        # every other row with one look-up, and only the rows it lets through are searched for.
        repeated = np.unique(ordered[1:][same])
        bits = max(10, min(22, 2 * len(repeated).bit_length() + 4))
        low = np.int64((1 << bits) - 1)
        seen = np.zeros(1 << bits, dtype=bool)
        seen[repeated & low] = True
        maybe = np.flatnonzero(seen[codes & low])
        slot = np.minimum(np.searchsorted(repeated, codes[maybe]), len(repeated) - 1)
        members = maybe[repeated[slot] == codes[maybe]]
    members = members[np.lexsort((members, codes[members]))]
    grouped = codes[members]
    starts = np.r_[True, grouped[1:] != grouped[:-1]]
    first = members[np.maximum.accumulate(np.where(starts, np.arange(len(members)), 0))]
    return members[~starts], first[~starts]


def _duplicates(keys: Sequence[Parsed], candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (among ``candidates``) whose key appeared in an earlier candidate row, and that earlier row.

    Exact integer codes (dictionary indices) are combined by mixed radix; hashed codes (mostly distinct
    USCCs) by a 64-bit hash whose matches are then confirmed on the values themselves, so a collision
    can never reject a row. Only the repeated codes are sorted by row to find each key's first row.
    """
    rows = np.flatnonzero(candidates)
    none = np.zeros(0, dtype=np.int64)
    if len(rows) < 2:
        return none, none
    every_row = len(rows) == len(candidates)
    codes_per_key = [_key_codes(k) if every_row else _key_codes(k)[rows] for k in keys]
    if any(k.keys_hashed for k in keys):
        # A key column with one value throughout (the period of a monthly file) cannot tell rows apart,
        # and mixing it in is a bijection: leaving it out gives the same groups for less work.
        varying = [codes for codes in codes_per_key if codes.min() != codes.max()]
        if len(varying) == 1:
            combined = varying[0].view(np.uint64)
        else:
            combined = np.zeros(len(rows), dtype=np.uint64)
            for codes in varying:
                combined = mix64(combined ^ codes.view(np.uint64))
        later, first = _first_of_groups(combined.view(np.int64))
        if len(later):
            same = np.ones(len(later), dtype=bool)
            for k in keys:
                a = pc.take(k.values, pa.array(rows[later]))
                b = pc.take(k.values, pa.array(rows[first]))
                equal = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(a.is_null(), b.is_null()))
                same &= np.asarray(equal.to_numpy(zero_copy_only=False), dtype=bool)
            later, first = later[same], first[same]
        return rows[later], rows[first]
    combined_exact = np.zeros(len(rows), dtype=np.int64)
    span = 1
    for column in codes_per_key:
        width = int(column.max()) + 1 if len(column) else 1
        if span * width >= 1 << 62:
            _, combined_exact = np.unique(combined_exact, return_inverse=True)
            span = int(combined_exact.max()) + 1
        combined_exact = combined_exact * width + column
        span *= width
    if span <= 8 * len(rows) + 4096 and not (np.bincount(combined_exact, minlength=span) > 1).any():
        return none, none
    later, first = _first_of_groups(combined_exact)
    return rows[later], rows[first]


def _display(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS] + "…"


def check_batch(source: Source, files: Sequence[DeliveredFile], *, received_on: date) -> Checked:
    """Type, validate and de-duplicate the rows of every file of a batch; see the module docstring."""
    counts = [f.raw.num_rows for f in files]
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(starts[-1])
    file_ids = np.repeat(np.array([f.position for f in files], dtype=np.int32), counts)
    row_numbers = (
        np.concatenate([f.raw.rows for f in files]).astype(np.int32) if files else np.zeros(0, np.int32)
    )
    parsed = _parse_all(source, files)
    errors = np.vstack([p.errors for p in parsed]) if parsed else np.zeros((0, n), np.uint8)
    for i, f in enumerate(source.fields):
        if f.required or f.name == source.period_field:
            missing = np.asarray(parsed[i].values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            errors[i][missing & (errors[i] == OK)] = MISSING
    if source.period_field is not None:
        i = [f.name for f in source.fields].index(source.period_field)
        future = np.asarray(
            pc.fill_null(pc.greater(parsed[i].values, pa.scalar(received_on, pa.date32())), False),
            dtype=bool,
        )
        errors[i][future & (errors[i] == OK)] = FUTURE
    bad = np.asarray(errors.any(axis=0), dtype=bool) if n else np.zeros(0, dtype=bool)
    names = [f.name for f in source.fields]
    duplicate_rows, first_rows = _duplicates([parsed[names.index(k)] for k in source.key], ~bad)

    rejected = bad.copy()
    rejected[duplicate_rows] = True
    columns = {f.name: p.values for f, p in zip(source.fields, parsed, strict=True)}
    columns["_file"] = pa.array(file_ids, pa.int32())
    columns["_row"] = pa.array(row_numbers, pa.int32())
    accepted = pa.table(columns)
    if rejected.any():
        accepted = accepted.filter(pa.array(~rejected))

    by_position = {f.position: f for f in files}
    records: list[dict[str, Any]] = []
    reject_counts: dict[str, int] = {}

    # Everything the quarantine records need is taken for all rejected rows at once, column by column:
    # a Python loop that reads cells one by one costs tens of microseconds per cell.
    reject_rows = np.flatnonzero(rejected)
    file_of = np.searchsorted(starts, reject_rows, side="right") - 1
    raws = _raw_values(files, file_of, reject_rows - starts[file_of])
    codes_of = errors[:, reject_rows].T.tolist() if len(reject_rows) else []
    duplicate_of = dict(zip(duplicate_rows.tolist(), first_rows.tolist(), strict=True))
    copies = [index for index in reject_rows.tolist() if index in duplicate_of]
    firsts = [duplicate_of[index] for index in copies]
    at_copy = {f.name: _taken(columns[f.name], copies) for f in source.fields}
    at_first = {f.name: _taken(columns[f.name], firsts) for f in source.fields}
    copy_number = {index: m for m, index in enumerate(copies)}
    first_file = (np.searchsorted(starts, np.asarray(firsts, dtype=np.int64), side="right") - 1).tolist()
    for index, k, raw, codes in zip(reject_rows.tolist(), file_of.tolist(), raws, codes_of, strict=True):
        delivered = files[k]
        problems = []
        for i, f in enumerate(source.fields):
            code = codes[i]
            if code:
                problems.append(_problem(f, _REASONS[code], delivered, raw, received_on))
        if not problems:
            m = copy_number[index]
            first = firsts[m]
            key = ", ".join(f"{k}={_display(at_copy[k][m])}" for k in source.key)
            identical = all(at_copy[f.name][m] == at_first[f.name][m] for f in source.fields)
            problems.append(
                {
                    "reason": "duplicate_key",
                    "field": None,
                    "params": {
                        "key": key,
                        "first_row": int(row_numbers[first]),
                        "first_file": files[first_file[m]].raw.name,
                        "identical": identical,
                    },
                }
            )
        records.append(_record(delivered.raw.name, int(row_numbers[index]), problems, raw))
    for delivered in files:
        for bad_row in delivered.raw.malformed:
            problem = {
                "reason": "malformed_row",
                "field": None,
                "params": {"expected": bad_row.expected, "actual": bad_row.actual},
            }
            records.append(_record(delivered.raw.name, bad_row.row, [problem], {"_text": bad_row.text}))
    for record in records:
        reject_counts[record["reason"]] = reject_counts.get(record["reason"], 0) + 1

    per_file: dict[int, tuple[int, int, int]] = {}
    rejected_by_file = np.bincount(file_ids[rejected], minlength=max(by_position, default=0) + 1)
    for k, delivered in enumerate(files):
        malformed = len(delivered.raw.malformed)
        read = counts[k] + malformed
        lost = int(rejected_by_file[delivered.position]) + malformed
        per_file[delivered.position] = (read, read - lost, lost)
    rejects = pa.Table.from_pylist(records, schema=QUARANTINE_SCHEMA)
    return Checked(accepted, rejects, reject_counts, per_file)


def _taken(values: pa.Array | pa.ChunkedArray, rows: Sequence[int]) -> list[Any]:
    """The Python values of some rows of a column."""
    if not rows:
        return []
    taken: list[Any] = values.take(pa.array(rows, pa.int64())).to_pylist()
    return taken


def _raw_values(
    files: Sequence[DeliveredFile], file_of: np.ndarray, local: np.ndarray
) -> list[dict[str, Any]]:
    """The raw values as delivered (header → string) of the given rows, each in its file."""
    raws: list[dict[str, Any]] = [{} for _ in range(len(local))]
    for k, delivered in enumerate(files):
        mine = np.flatnonzero(file_of == k)
        if not len(mine):
            continue
        rows = pa.array(local[mine].astype(np.int64))
        cells = [column.take(rows).to_pylist() for column in delivered.raw.columns]
        names = [h or f"#{j + 1}" for j, h in enumerate(delivered.raw.headers)]
        for position, values in zip(mine.tolist(), zip(*cells, strict=True), strict=True):
            raws[position] = dict(zip(names, values, strict=True))
    return raws


def _problem(
    field: Field, reason: str, delivered: DeliveredFile, raw: dict[str, str], received_on: date
) -> dict[str, Any]:
    j = delivered.plan.column_of(field.name)
    value = (
        raw.get(delivered.raw.headers[j] or f"#{j + 1}")
        if j is not None
        else delivered.plan.derived.get(field.name)
    )
    params: dict[str, Any] = {"field": field.name_zh, "value": _display(value)}
    if reason == "wrong_type":
        params["expected"] = str(field.type)
    elif reason == "out_of_range":
        params["minimum"] = "-∞" if field.minimum is None else f"{field.minimum:g}"
        params["maximum"] = "∞" if field.maximum is None else f"{field.maximum:g}"
    elif reason == "unknown_code":
        params["allowed"] = "、".join(field.codes)
    elif reason == "invalid_uscc":
        try:
            validate_uscc(str(value or ""))
            params["problem"] = "format"
        except InvalidUSCC as error:
            params["problem"] = error.reason
            params.update({f"problem_{k}": v for k, v in error.params.items()})
    elif reason == "future_date":
        params["received_on"] = received_on.isoformat()
    elif reason == "missing_required":
        params = {"field": field.name_zh}
    return {"reason": reason, "field": field.name, "params": params}


def _record(
    file: str, row: int | None, problems: list[dict[str, Any]], raw: dict[str, Any]
) -> dict[str, Any]:
    first = problems[0]
    params = [_JSON.encode(problem["params"]) for problem in problems]
    return {
        "file": file,
        "row": row,
        "reason": first["reason"],
        "field": first["field"],
        "params": params[0],
        "problems": _problems_json(problems, params),
        "raw": _raw_json(raw),
    }


def _text_or_null(value: object) -> str | None:
    if value is None:
        return "null"
    return _STRING(value) if isinstance(value, str) else None


def _problems_json(problems: list[dict[str, Any]], params: list[str]) -> str:
    """``_JSON.encode(problems)``, reusing each problem's encoded params (one encoding per record saved)."""
    items = []
    for problem, encoded in zip(problems, params, strict=True):
        reason, field = _text_or_null(problem["reason"]), _text_or_null(problem["field"])
        if list(problem) != ["reason", "field", "params"] or reason is None or field is None:
            return _JSON.encode(problems)
        items.append(f'{{"reason": {reason}, "field": {field}, "params": {encoded}}}')
    return f"[{', '.join(items)}]"


def _raw_json(raw: dict[str, Any]) -> str:
    """``_JSON.encode(raw)`` for the usual header → string (or null) object, minus the encoder's overhead."""
    items = []
    for key, value in raw.items():
        text = _text_or_null(value)
        if text is None or not isinstance(key, str):
            return _JSON.encode(raw)
        items.append(f"{_STRING(key)}: {text}")
    return f"{{{', '.join(items)}}}"
