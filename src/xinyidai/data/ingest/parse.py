"""Vectorised typing of string columns, one parser per logical field type.

Each parser takes a string column and returns the typed values (null where the cell is empty) and a
per-row error code (0 = fine). No Python runs per row on the fast path:

- columns with few distinct values (codes, dates, months, integers, USCCs, enterprise references) are
  dictionary-encoded, the distinct values parsed, and the result taken back to the rows;
- amounts and floats are checked with one RE2 pattern and cast; only the cells that fail it (thousands
  separators, full-width digits, ``万元`` suffixes, more decimals, garbage) take slower paths, and only
  the few still odd after a vectorised clean-up are parsed one by one with ``Decimal``;
- the GB 32100 check character is computed over an (n × 18) byte matrix with numpy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.core.uscc import ALPHABET, ENTITY_KINDS, WEIGHTS
from xinyidai.data.catalogue import Field, FieldType
from xinyidai.data.lake import arrow_type

__all__ = ["ERROR_CODES", "Parsed", "parse_column", "uscc_valid"]

OK: Final = 0
WRONG_TYPE: Final = 2
BAD_DATE: Final = 3
OUT_OF_RANGE: Final = 4
UNKNOWN_CODE: Final = 5
INVALID_USCC: Final = 6
INVALID_ENTITY_REF: Final = 7

ERROR_CODES: Final[dict[int, str]] = {
    WRONG_TYPE: "wrong_type",
    BAD_DATE: "bad_date",
    OUT_OF_RANGE: "out_of_range",
    UNKNOWN_CODE: "unknown_code",
    INVALID_USCC: "invalid_uscc",
    INVALID_ENTITY_REF: "invalid_entity_ref",
}
"""Per-cell error codes and the reject reason each one is reported as."""

_FEN_LIMIT: Final = 10**18  # decimal128(18, 2) holds |value| < 10^16 yuan
_INVALID: Final = 31


def _lookup() -> np.ndarray:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for value, char in enumerate(ALPHABET):
        table[ord(char)] = value
    return table


def _pairs() -> np.ndarray:
    table = np.zeros((_INVALID + 1, _INVALID + 1), dtype=bool)
    for authority, kinds in ENTITY_KINDS.items():
        for entity in kinds:
            table[ALPHABET.index(authority), ALPHABET.index(entity)] = True
    return table


_VALUE_OF: Final = _lookup()
_AUTHORITY_ENTITY: Final = _pairs()
_WEIGHTS: Final = np.array(WEIGHTS, dtype=np.int32)
_BAD_PAIR: Final = 1 << 24  # added by a pair that breaks a rule; nine of them still fit an int32


def _pair_tables() -> np.ndarray:
    """Nine tables over the little-endian uint16 of code characters (2j, 2j+1), j = 0..8.

    Entry: the pair's share of the weighted sum ``Σ value·weight`` over characters 1..17, plus, for the
    last pair, the check character's value times 2^16 — or :data:`_BAD_PAIR` when a character is not
    allowed where it stands (alphabet; digits in the division code; a known authority/entity-type pair).
    Summing nine look-ups checks a whole code, where a per-character pass costs ~4x more.
    """
    both = np.arange(1 << 16)
    low, high = _VALUE_OF[both & 0xFF].astype(np.int64), _VALUE_OF[both >> 8].astype(np.int64)

    def allowed(position: int, values: np.ndarray) -> np.ndarray:
        return np.asarray(values < (10 if 2 <= position < 8 else _INVALID), dtype=bool)

    tables = np.empty((9, 1 << 16), dtype=np.int32)
    for j in range(9):
        a, b = 2 * j, 2 * j + 1
        ok = _AUTHORITY_ENTITY[low, high] if j == 0 else allowed(a, low) & allowed(b, high)
        share = low * int(_WEIGHTS[a]) + (high * int(_WEIGHTS[b]) if b < 17 else high << 16)
        tables[j] = np.where(ok, share, _BAD_PAIR)
    return tables


_PAIR_TABLES: Final = _pair_tables()


@dataclass(frozen=True)
class Parsed:
    """A typed column and a per-row error code (0 where the cell is fine or empty).

    ``values`` is null where the cell is empty; where a cell is invalid its value is unspecified (the row
    is rejected). ``keys``, where known, gives each row an integer standing for its normalised value
    (equal values, equal keys): dictionary indices, or 64-bit hashes for mostly distinct codes — so
    duplicate detection need not hash strings again.
    """

    values: pa.Array | pa.ChunkedArray
    errors: np.ndarray
    keys: np.ndarray | None = None
    keys_hashed: bool = False  # keys are 64-bit hashes (equal values, equal keys; collisions possible)


def _contiguous(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array (numeric parsers work on flat buffers); strings past 2 GiB become large_string."""
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1:
            return column.chunk(0)
        if sum(c.nbytes for c in column.chunks) > (1 << 31) - (1 << 26):
            column = column.cast(pa.large_string())
        return column.combine_chunks()
    return column


def _np_bool(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's ``n + 1`` value offsets and its data bytes, as NumPy views (no copy)."""
    n = len(strings)
    large = pa.types.is_large_string(strings.type)
    buffers = strings.buffers()
    if n == 0 or buffers[1] is None:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[strings.offset : strings.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _lengths(strings: pa.Array) -> np.ndarray:
    """Byte length of each value (0 for null)."""
    offsets, _ = _buffers(strings)
    lengths = np.diff(offsets)
    if strings.null_count:
        lengths[~_np_bool(strings.is_valid())] = 0
    return lengths


def _only(strings: pa.Array, keep: np.ndarray) -> pa.Array:
    """``strings`` with the cells not flagged in ``keep`` null (shares the value buffers when it can)."""
    if strings.offset or strings.null_count or not pa.types.is_string(strings.type):
        return pc.if_else(pa.array(keep), strings, None)
    validity = pa.array(keep).buffers()[1]
    buffers = strings.buffers()
    return pa.Array.from_buffers(strings.type, len(strings), [validity, buffers[1], buffers[2]])


def _null_if_empty(values: pa.Array, empty: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(empty), None, values) if empty.any() else values


def _ascii(strings: pa.Array) -> bool:
    return bool(pc.all(pc.string_is_ascii(strings)).as_py() is not False)


def _clean(strings: pa.Array) -> pa.Array:
    """NFKC (full-width digits and letters become ASCII) where needed, then trim whitespace."""
    if not _ascii(strings):
        strings = pc.utf8_normalize(strings, "NFKC")
    return pc.utf8_trim_whitespace(strings)


def _upper(strings: pa.Array) -> pa.Array:
    return pc.ascii_upper(strings) if _ascii(strings) else pc.utf8_upper(strings)


def _repair(values: pa.Array, bad: np.ndarray, fix: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``values`` with ``fix`` applied to the cells flagged ``bad`` only (the slow path stays small)."""
    if not bad.any():
        return values
    fixed = fix(pc.take(values, pa.array(np.flatnonzero(bad))))
    return pc.replace_with_mask(values, pa.array(bad), fixed.cast(values.type))


# ------------------------------------------------------------------------------------------------ USCC


def _fixed_width(codes: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Which values are ``width`` bytes long, and the bytes of those values back to back (a view when
    every value is; else a copy of those only)."""
    lengths = _lengths(codes)
    fixed = lengths == width
    if not fixed.all():
        codes = pc.filter(codes, pa.array(fixed))
    offsets, data = _buffers(codes)
    start = int(offsets[0]) if len(codes) else 0
    return fixed, data[start : start + width * len(codes)]


def uscc_valid(codes: pa.Array) -> np.ndarray:
    """Whether each (normalised) string is a valid GB 32100-2015 code: vectorised over the array.

    Checks the length, the alphabet, the authority/entity-type pair, the six-digit division code and the
    check character ``(31 - Σ value·3^(i-1) mod 31) mod 31`` — the same rules as ``core.uscc``. Each
    18-byte code is read as nine 2-byte pairs, each looked up in :data:`_PAIR_TABLES`.
    """
    result = np.zeros(len(codes), dtype=bool)
    fixed, body = _fixed_width(codes, 18)
    if not len(body):
        return result
    pairs = body.view("<u2").reshape(-1, 9)
    total = _PAIR_TABLES[0][pairs[:, 0]]
    for j in range(1, 9):
        total += _PAIR_TABLES[j][pairs[:, j]]
    ok = total < _BAD_PAIR
    ok &= (31 - (total & 0xFFFF) % 31) % 31 == total >> 16
    result[fixed] = ok
    return result


_USCC_SHAPE = r"^[0-9A-Z]{2}[0-9]{6}[0-9A-Z]{10}$"
_PROVIDER_CODE = r"^[A-Z0-9]{1,32}$"


def _parse_uscc(distinct: pa.Array, entity_ref: bool) -> tuple[pa.Array, np.ndarray]:
    # A valid code has only digits and capitals, so the usual column is checked as it is (no copy).
    codes = distinct
    valid = uscc_valid(codes)
    if not valid.all():  # lower-case, full-width, padded…: normalise those cells only
        codes = _repair(codes, ~valid, lambda sub: pc.utf8_upper(_clean(pc.ascii_upper(sub))))
        valid[~valid] = uscc_valid(pc.filter(codes, pa.array(~valid)))
    empty = _lengths(codes) == 0
    errors = np.zeros(len(codes), dtype=np.uint8)
    if entity_ref:
        looks_like_uscc = _np_bool(pc.match_substring_regex(codes, _USCC_SHAPE))
        provider = _np_bool(pc.match_substring_regex(codes, _PROVIDER_CODE)) & ~looks_like_uscc
        valid |= provider
        errors[~valid & looks_like_uscc] = INVALID_USCC
        errors[~valid & ~looks_like_uscc] = INVALID_ENTITY_REF
    else:
        errors[~valid] = INVALID_USCC
    errors[empty] = OK
    return _null_if_empty(codes, empty), errors


# ------------------------------------------------------------------------------------------------ codes


def _parse_code(distinct: pa.Array, field: Field) -> tuple[pa.Array, np.ndarray]:
    values = _clean(distinct)
    if all(code.isascii() for code in field.codes):
        values = _upper(values)
    known = _np_bool(pc.is_in(values, value_set=pa.array(field.codes, pa.string())))
    empty = _np_bool(pc.equal(values, ""))
    errors = np.where(known | empty, OK, UNKNOWN_CODE).astype(np.uint8)
    return _null_if_empty(values, empty), errors


def _parse_string(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    values = pc.utf8_trim_whitespace(column)
    values = pc.if_else(pc.equal(values, ""), None, values)
    return values, np.zeros(len(column), dtype=np.uint8)


_TRUE = ("1", "true", "t", "yes", "y", "是", "有", "√")
_FALSE = ("0", "false", "f", "no", "n", "否", "无", "×")


def _parse_bool(distinct: pa.Array) -> tuple[pa.Array, np.ndarray]:
    values = pc.utf8_lower(_clean(distinct))
    true = _np_bool(pc.is_in(values, value_set=pa.array(_TRUE)))
    false = _np_bool(pc.is_in(values, value_set=pa.array(_FALSE)))
    empty = _np_bool(pc.equal(values, ""))
    errors = np.where(true | false | empty, OK, WRONG_TYPE).astype(np.uint8)
    return pa.array(np.where(true | false, true, False), mask=~(true | false)), errors


# ------------------------------------------------------------------------------------------------ dates

_DATE_TIME_SUFFIX = r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"


def _normalise_dates(distinct: pa.Array) -> pa.Array:
    """2024年1月5日, 2024/1/5, 2024.01.05, 20240105, 2024-01-05 00:00:00 → 2024-1-5 style."""
    values = _clean(distinct)
    values = pc.replace_substring_regex(values, _DATE_TIME_SUFFIX, "")
    values = pc.replace_substring_regex(values, r"[年月/.]", "-")
    values = pc.replace_substring_regex(values, r"日$", "")
    values = pc.replace_substring_regex(values, r"-$", "")
    values = pc.replace_substring_regex(values, r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3")
    return pc.replace_substring_regex(values, r"^(\d{4})(\d{2})$", r"\1-\2")


def _days(years: np.ndarray, months: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 and whether each (y, m, d) is a real calendar date."""
    ok = (years >= 1900) & (years <= 2100) & (months >= 1) & (months <= 12) & (days >= 1)
    month_index = (years - 1970) * 12 + np.clip(months, 1, 12) - 1
    starts = month_index.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    ends = (month_index + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    ok &= days <= ends - starts
    return starts + days - 1, ok


def _parse_date(distinct: pa.Array, month: bool) -> tuple[pa.Array, np.ndarray]:
    values = _normalise_dates(distinct)
    empty = _np_bool(pc.equal(values, ""))
    full = pc.extract_regex(values, r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")
    has_full = _np_bool(pc.is_valid(full))
    years = _ints(pc.struct_field(full, "y"))
    months = _ints(pc.struct_field(full, "m"))
    days = _ints(pc.struct_field(full, "d"))
    if month:
        partial = pc.extract_regex(values, r"^(?P<y>\d{4})-(?P<m>\d{1,2})$")
        has_partial = _np_bool(pc.is_valid(partial))
        years = np.where(has_partial, _ints(pc.struct_field(partial, "y")), years)
        months = np.where(has_partial, _ints(pc.struct_field(partial, "m")), months)
        days = np.where(has_full, 1, np.where(has_partial, 1, days))  # a month is its first day
        has_full |= has_partial
    ordinal, real = _days(years, months, days)
    ok = has_full & real
    errors = np.where(ok | empty, OK, BAD_DATE).astype(np.uint8)
    dates = pa.array(np.where(ok, ordinal, 0).astype(np.int32), pa.int32(), mask=~ok).cast(pa.date32())
    return dates, errors


def _ints(strings: pa.Array) -> np.ndarray:
    numbers = pc.cast(pc.if_else(pc.equal(strings, ""), None, strings), pa.int64())
    return np.asarray(pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


# ------------------------------------------------------------------------------------------------ numbers

_INTEGER = r"^[+-]?\d{1,18}$"
_FLOAT = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_DECIMAL_FAST = r"^-?\d{1,13}(\.\d{1,2})?$"


def _strip_unit(values: pa.Array, unit: str | None) -> pa.Array:
    values = pc.replace_substring(values, ",", "")
    if unit:
        suffix = re.escape(unicodedata.normalize("NFKC", unit))
        values = pc.utf8_trim_whitespace(pc.replace_substring_regex(values, f"{suffix}$", ""))
    return values


def _parse_integer(distinct: pa.Array, field: Field) -> tuple[pa.Array, np.ndarray]:
    values = distinct
    fast = _np_bool(pc.match_substring_regex(values, _INTEGER))
    if not fast.all():

        def fix(sub: pa.Array) -> pa.Array:
            cleaned = _strip_unit(_clean(sub), field.unit)
            return pc.replace_substring_regex(cleaned, r"^([+-]?\d+)\.0*$", r"\1")

        values = _repair(values, ~fast, fix)
    ok = _np_bool(pc.match_substring_regex(values, _INTEGER))
    empty = _np_bool(pc.equal(values, ""))
    numbers = pc.cast(pc.if_else(pa.array(ok), values, None), pa.int64())
    errors = np.where(ok | empty, OK, WRONG_TYPE).astype(np.uint8)
    as_int = np.asarray(pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    errors[ok & _outside(field, as_int)] = OUT_OF_RANGE
    return numbers, errors


def _outside(field: Field, numbers: np.ndarray, unit: float = 1.0) -> np.ndarray:
    """Which numbers (in ``unit`` steps: fen for amounts) fall outside the field's inclusive range."""
    outside = np.zeros(len(numbers), dtype=bool)
    if field.minimum is not None:
        outside |= numbers < field.minimum * unit
    if field.maximum is not None:
        outside |= numbers > field.maximum * unit
    return outside


def _parse_float(column: pa.Array, field: Field) -> tuple[pa.Array, np.ndarray]:
    ok = _np_bool(pc.match_substring_regex(column, _FLOAT))
    values = column
    if not ok.all():
        values = _repair(column, ~ok, lambda sub: _strip_unit(_clean(sub), field.unit))
        ok = _np_bool(pc.match_substring_regex(values, _FLOAT))
    empty = _np_bool(pc.equal(values, ""))
    numbers = pc.cast(values if ok.all() else pc.if_else(pa.array(ok), values, None), pa.float64())
    errors = np.where(ok | empty, OK, WRONG_TYPE).astype(np.uint8)
    as_float = np.asarray(pc.fill_null(numbers, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    errors[ok & (_outside(field, as_float) | ~np.isfinite(as_float))] = OUT_OF_RANGE
    return numbers, errors


_SUFFIX_EXPONENTS = (("万元", 4), ("万", 4), ("元", 0))


def _decimal_fen(text: str, header_exponent: int, field_exponent: int) -> int | None:
    """Exact parse of one odd amount (suffixes, many decimals, huge) into fen of the field's unit.

    A value with its own unit suffix (``12.5万元``, ``300元``) is converted from that unit; a bare value is
    in the header's unit (``header_exponent`` relative to the field's). None if it is not a number.
    """
    text = unicodedata.normalize("NFKC", text).strip().replace(",", "").lstrip("¥").strip()
    exponent = header_exponent
    for suffix, value_exponent in _SUFFIX_EXPONENTS:
        if text.endswith(suffix):
            text, exponent = text[: -len(suffix)].strip(), value_exponent - field_exponent
            break
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        return None
    try:
        value = Decimal(text).scaleb(exponent + 2)
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None


def _plain_amounts(strings: pa.Array) -> np.ndarray:
    """Which cells match ``^-?\\d{1,13}(\\.\\d{1,2})?$`` (:data:`_DECIMAL_FAST`), decided on the raw bytes.

    A cell matches when its non-digit bytes are exactly an optional leading ``-`` and a ``.`` two or three
    bytes before the end, with 1 to 13 digits before the point: one pass over the bytes and a few per
    cell, several times cheaper than the regular expression over millions of cells.
    """
    n = len(strings)
    offsets, data = _buffers(strings)
    base, top = (int(offsets[0]), int(offsets[-1])) if n else (0, 0)
    if top == base:
        return np.zeros(n, dtype=bool)
    body = data[base:top]
    nondigit = np.zeros(len(body) + 1, dtype=bool)  # the extra False closes the last cell for reduceat
    np.greater(body - np.uint8(48), np.uint8(9), out=nondigit[:-1])  # uint8 wraps: only '0'..'9' pass
    starts = offsets[:-1] - base
    ends = offsets[1:] - base
    lengths = ends - starts
    counts = np.add.reduceat(nondigit, starts, dtype=np.int32)  # exact for non-empty cells
    minus = np.take(body, starts, mode="clip") == ord("-")
    point_one = (np.take(body, ends - 2, mode="clip") == ord(".")) & (lengths >= 2)  # one decimal
    point_two = (np.take(body, ends - 3, mode="clip") == ord(".")) & (lengths >= 3)  # two decimals
    expected = minus.view(np.int8) + (point_one | point_two).view(np.int8)
    integer_digits = lengths - minus - point_one * np.int32(2) - point_two * np.int32(3)
    plain = (counts == expected) & ~(point_one & point_two) & (lengths >= 1)
    plain &= (integer_digits >= 1) & (integer_digits <= 13)
    if strings.null_count:
        plain &= _np_bool(strings.is_valid())
    return np.asarray(plain, dtype=bool)


def _fen_of_plain(strings: pa.Array, plain: np.ndarray) -> np.ndarray:
    """Exact fen of the plain amounts (:func:`_plain_amounts`); 0 elsewhere."""
    floats = pc.cast(_only(strings, plain) if not plain.all() else strings, pa.float64())
    as_float = np.array(pc.fill_null(floats, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    np.multiply(as_float, 100.0, out=as_float)  # in place: fresh large arrays cost page faults
    np.rint(as_float, out=as_float)
    return as_float.astype(np.int64)


def _parse_decimal(column: pa.Array, field: Field, scale: np.ndarray | None) -> tuple[pa.Array, np.ndarray]:
    """Amounts → decimal128(18, 2) via exact integer fen.

    The fast pattern admits at most 13 integer digits and 2 decimals (15 significant digits), for which
    a float64 parse times 100, rounded, is exactly the amount in fen. ``scale`` holds, per row, the power of
    ten a header unit implies (``金额(万元)`` on a 元 field: 4). A value's own suffix wins: ``12.5万元`` or
    ``12.5万`` is 125,000 元 and ``300元`` is 300 元, converted to the field's unit (元 or 万元).
    Cells that are not plain are cleaned (NFKC, trimmed, thousands separators dropped) and looked at
    again, on their own: the usual column is never copied.
    """
    n = len(column)
    exponents = np.zeros(n, dtype=np.int64) if scale is None else scale.astype(np.int64)
    field_exponent = 4 if field.unit == "万元" else 0
    fast = _plain_amounts(column)
    if scale is not None:
        fast &= exponents >= 0
    fen = _fen_of_plain(column, fast)
    empty = np.zeros(n, dtype=bool)
    slow = np.zeros(0, dtype=np.int64)
    slow_texts: list[str] = []
    odd = np.flatnonzero(~fast)
    if len(odd):
        cleaned = pc.replace_substring(_clean(pc.take(column, pa.array(odd))), ",", "")
        cleaned_fast = _plain_amounts(cleaned) & (exponents[odd] >= 0)
        cleaned_empty = _lengths(cleaned) == 0
        fen[odd] = _fen_of_plain(cleaned, cleaned_fast)
        fast[odd] = cleaned_fast
        empty[odd] = cleaned_empty
        rest = ~cleaned_fast & ~cleaned_empty
        slow = odd[rest]
        slow_texts = pc.filter(cleaned, pa.array(rest)).to_pylist()
    too_big = np.zeros(n, dtype=bool)
    if scale is not None:
        factor = 10 ** np.clip(exponents, 0, 8)
        # a plain amount under a 万元 header may pass decimal(18, 2) (or int64) once scaled: refuse the row
        too_big = fast & (np.abs(fen) >= _FEN_LIMIT // factor)
        fen[too_big] = 0
        fen *= factor
    ok = fast.copy()
    for i, text in zip(slow.tolist(), slow_texts, strict=True):
        parsed = _decimal_fen(text, int(exponents[i]), field_exponent)
        if parsed is None:
            continue
        if abs(parsed) >= _FEN_LIMIT:
            too_big[i] = True
        else:
            fen[i], ok[i] = parsed, True
    errors = np.where(ok | empty, OK, WRONG_TYPE).astype(np.uint8)
    errors[too_big | (ok & _outside(field, fen, 100.0))] = OUT_OF_RANGE
    return _decimal_array(fen, ~empty), errors


def _decimal_array(fen: np.ndarray, valid: np.ndarray) -> pa.Array:
    """decimal128(18, 2) from integer fen (a zero-copy decimal64 view, widened by Arrow)."""
    nulls = int((~valid).sum())
    validity = pa.array(valid).buffers()[1] if nulls else None
    narrow = pa.Array.from_buffers(
        pa.decimal64(18, 2), len(fen), [validity, pa.py_buffer(np.ascontiguousarray(fen))], null_count=nulls
    )
    return narrow.cast(pa.decimal128(18, 2))


# ------------------------------------------------------------------------------------------------ dispatch


def _via_dictionary(
    column: pa.ChunkedArray, parse: Callable[[pa.Array], tuple[pa.Array, np.ndarray]]
) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray, np.ndarray]:
    """Parse the distinct values only, then take the results back to the rows.

    Returns the values, the errors and integer keys (equal normalised values share a key). When parsing
    changed no distinct value (the usual case for clean codes), the original column is returned as is.
    """
    encoded = pc.dictionary_encode(column)
    if encoded.num_chunks == 0:
        encoded = pa.chunked_array([pc.dictionary_encode(pa.array([], pa.string()))])
    if len({len(c.dictionary) for c in encoded.chunks}) > 1:
        encoded = encoded.unify_dictionaries()
    dictionary = encoded.chunk(0).dictionary
    values, errors = parse(dictionary)
    index = np.concatenate(
        [np.asarray(c.indices.to_numpy(zero_copy_only=False), dtype=np.int64) for c in encoded.chunks]
    )
    row_errors = errors[index] if len(errors) else np.zeros(len(column), dtype=np.uint8)
    if values.type == dictionary.type and values.null_count == 0 and values.equals(dictionary):
        return column, row_errors, index  # nothing changed: the dictionary indices are the keys
    # normalising may have made two distinct raw values equal (" 1" and "1"): key on the results
    canonical = pc.dictionary_encode(values, null_encoding="encode").indices
    keys = np.asarray(canonical.to_numpy(zero_copy_only=False), dtype=np.int64)[index]
    return pc.take(values, pa.array(index)), row_errors, keys


_DISTINCT_SAMPLE = 65_536
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _mostly_distinct(strings: pa.ChunkedArray) -> bool:
    """Whether a big column's values rarely repeat (then a dictionary costs more than it saves)."""
    if len(strings) < 4 * _DISTINCT_SAMPLE:
        return False
    sample = strings.slice(0, _DISTINCT_SAMPLE)
    return len(pc.unique(sample)) > _DISTINCT_SAMPLE // 2


def mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser over uint64 (wrapping arithmetic): a well-spread 64-bit hash step."""
    return _mix_in_place(np.array(values, dtype=np.uint64))


def _mix_in_place(x: np.ndarray) -> np.ndarray:
    """:func:`mix64` overwriting ``x`` (a fresh uint64 array): no temporary arrays but one."""
    shifted = np.empty_like(x)
    x += _MIX[0]
    for shift, factor in ((30, _MIX[1]), (27, _MIX[2])):
        np.right_shift(x, np.uint64(shift), out=shifted)
        x ^= shifted
        x *= factor
    np.right_shift(x, np.uint64(31), out=shifted)
    x ^= shifted
    return x


def code_hashes(codes: pa.Array) -> np.ndarray:
    """64-bit hashes of 18-character codes from their bytes; other cells get distinct filler values."""
    n = len(codes)
    fixed, body = _fixed_width(codes, 18)
    m = len(body) // 18
    words = [
        np.ndarray((m,), dtype=kind, buffer=body, offset=offset, strides=(18,)) if m else np.zeros(0, kind)
        for kind, offset in (("<u8", 0), ("<u8", 8), ("<u2", 16))
    ]
    hashed = _mix_in_place(words[0].astype(np.uint64))
    hashed ^= words[1]
    hashed = _mix_in_place(hashed)
    hashed ^= words[2].astype(np.uint64)
    hashed = _mix_in_place(hashed)
    if m == n:
        return hashed.view(np.int64)
    result = mix64(np.arange(n, dtype=np.uint64) | np.uint64(1 << 63))
    result[fixed] = hashed
    return result.view(np.int64)


def parse_column(field: Field, column: pa.ChunkedArray | pa.Array, scale: np.ndarray | None = None) -> Parsed:
    """Type one string column as ``field`` says; see the module docstring.

    Args:
        field: the catalogue field.
        column: its raw strings (``""`` or null for an empty cell).
        scale: for amounts, the per-row power of ten stated by the header unit (None: all 0).

    Returns:
        The values in the field's Arrow type, per-row error codes (:data:`ERROR_CODES`) and, for
        dictionary-parsed types, per-row value keys.
    """
    strings = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    if strings.null_count:
        strings = pc.fill_null(strings, "")
    kind = field.type
    keys: np.ndarray | None = None
    hashed = False
    if kind in (FieldType.USCC, FieldType.ENTITY_REF):
        entity_ref = kind is FieldType.ENTITY_REF
        if _mostly_distinct(strings):  # e.g. a monthly file: one row per enterprise
            values, errors = _parse_uscc(_contiguous(strings), entity_ref)
            keys, hashed = code_hashes(values), True
        else:
            values, errors, keys = _via_dictionary(strings, lambda d: _parse_uscc(d, entity_ref))
    elif kind is FieldType.CODE:
        values, errors, keys = _via_dictionary(strings, lambda d: _parse_code(d, field))
    elif kind in (FieldType.DATE, FieldType.MONTH):
        values, errors, keys = _via_dictionary(strings, lambda d: _parse_date(d, kind is FieldType.MONTH))
    elif kind is FieldType.BOOLEAN:
        values, errors, keys = _via_dictionary(strings, _parse_bool)
    elif kind is FieldType.INTEGER:
        values, errors, keys = _via_dictionary(strings, lambda d: _parse_integer(d, field))
    elif kind is FieldType.FLOAT:
        values, errors = _parse_float(_contiguous(strings), field)
    elif kind is FieldType.DECIMAL:
        values, errors = _parse_decimal(_contiguous(strings), field, scale)
    else:
        values, errors = _parse_string(strings)
    if values.type != arrow_type(kind):
        values = values.cast(arrow_type(kind))
    return Parsed(values, errors, keys, hashed)
