"""Vectorised construction of Arrow columns: fixed-width strings, money, dates, codes and identities.

Everything works on whole NumPy arrays; no Python loop runs per row. Fixed-width text (codes, ID numbers,
phone numbers, padded dates) is assembled as a byte matrix and handed to Arrow without copying.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.core.uscc import ALPHABET, WEIGHTS

_ALPHABET_BYTES: Final = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
# GB 11714 values of the USCC alphabet's characters (0-9, A=10 ... Z=35 with all 26 letters).
_ORG_VALUES: Final = np.array(
    ["0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".index(c) for c in ALPHABET], dtype=np.int64
)
_ORG_WEIGHTS: Final = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_USCC_WEIGHTS: Final = np.array(WEIGHTS, dtype=np.int64)
_ALPHABET_INDEX: Final = np.full(256, -1, dtype=np.int64)
_ALPHABET_INDEX[_ALPHABET_BYTES] = np.arange(len(ALPHABET))
_ID_WEIGHTS: Final = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK: Final = np.frombuffer(b"10X98765432", dtype=np.uint8)
ZERO: Final = 48


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative integers, zero-padded to ``width``: an ``(n, width)`` byte matrix."""
    out = np.empty((values.shape[0], width), dtype=np.uint8)
    rest = values.astype(np.int64, copy=True)
    for j in range(width - 1, -1, -1):
        out[:, j] = ZERO + rest % 10
        rest //= 10
    return out


def constant(text: str, n: int) -> np.ndarray:
    """The UTF-8 bytes of ``text`` repeated on ``n`` rows, as a byte matrix."""
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    return np.broadcast_to(raw, (n, raw.shape[0]))


def fixed_width(parts: list[np.ndarray], valid: np.ndarray | None = None) -> pa.Array:
    """A string array from byte matrices placed side by side (every row has the same byte length)."""
    matrix = np.ascontiguousarray(np.concatenate(parts, axis=1)) if len(parts) > 1 else parts[0]
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    n, width = matrix.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    bitmap = None
    if valid is not None and not bool(valid.all()):
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(matrix.reshape(-1))]
    )


@lru_cache(maxsize=1024)
def _vocabulary(words: tuple[str, ...]) -> pa.Array:
    return pa.array(words, type=pa.string())


def choose(words: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    """``words[index[i]]`` for every row, as a string array."""
    return _vocabulary(tuple(words)).take(pa.array(np.asarray(index, dtype=np.int64)))


FALSE: Final = pa.scalar(False)


@lru_cache(maxsize=4096)
def literal(text: str) -> pa.Scalar:
    """A string scalar. Arrow kernels given a plain ``str`` convert it on every call, which costs tens of
    microseconds (an import attempt each time); cached scalars cost nothing."""
    return pa.scalar(text, pa.string())


def join(*parts: pa.Array | str) -> pa.Array:
    """Row-wise concatenation of string arrays and constant strings (null if any part is null)."""
    return pc.binary_join_element_wise(*(literal(p) if isinstance(p, str) else p for p in parts), literal(""))


def to_text(values: np.ndarray) -> pa.Array:
    """Integers as decimal text."""
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())


def money(fen: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A decimal128(18, 2) yuan column from integer fen (exact; no float formatting)."""
    fen = np.ascontiguousarray(fen, dtype=np.int64)
    words = np.empty((fen.shape[0], 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = np.where(fen < 0, -1, 0)
    bitmap = None
    if valid is not None and not bool(valid.all()):
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.decimal128(18, 2), fen.shape[0], [bitmap, pa.py_buffer(words)])


def to_fen(yuan: np.ndarray) -> np.ndarray:
    return np.rint(yuan * 100.0).astype(np.int64)


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A date32 column from epoch days; ``valid`` False gives null."""
    values = np.ascontiguousarray(days, dtype=np.int32)
    bitmap = None
    if valid is not None and not bool(valid.all()):
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.date32(), values.shape[0], [bitmap, pa.py_buffer(values)])


def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day (1-31) of epoch days."""
    stamp = days.astype("datetime64[D]")
    months = stamp.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (stamp - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def add_years(days: np.ndarray, years: int) -> np.ndarray:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    year, month, day = date_parts(days)
    day = np.where((month == 2) & (day == 29), 28, day)
    target = ((year + years - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
    result: np.ndarray = target.astype(np.int64) + day - 1
    return result


# --- codes ------------------------------------------------------------------------------------------


def base31(values: np.ndarray, width: int) -> np.ndarray:
    """Values as ``width`` base-31 digits (indices into the USCC alphabet), most significant first."""
    out = np.empty((values.shape[0], width), dtype=np.int64)
    rest = values.astype(np.int64, copy=True)
    for j in range(width - 1, -1, -1):
        out[:, j] = rest % 31
        rest //= 31
    return out


def uscc_bytes(
    authority: np.ndarray, entity: np.ndarray, division: np.ndarray, body: np.ndarray
) -> np.ndarray:
    """Valid GB 32100-2015 codes as an ``(n, 18)`` byte matrix.

    Args:
        authority, entity: ASCII bytes of positions 1 and 2 (``9``/``1`` enterprise, ``9``/``2``
            individual business, ``9``/``3`` farmers' cooperative).
        division: ``(n, 6)`` ASCII digits of the registering division.
        body: ``(n, 8)`` ASCII bytes of the organisation code body, from the USCC alphabet.
    """
    n = authority.shape[0]
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, 0] = authority
    out[:, 1] = entity
    out[:, 2:8] = division
    out[:, 8:16] = body
    org = (_ORG_VALUES[_ALPHABET_INDEX[body]] * _ORG_WEIGHTS).sum(axis=1)
    org_check = 11 - org % 11
    out[:, 16] = np.where(org_check == 10, ord("X"), np.where(org_check == 11, ZERO, ZERO + org_check))
    values = _ALPHABET_INDEX[out[:, :17]]
    total = (values * _USCC_WEIGHTS).sum(axis=1)
    out[:, 17] = _ALPHABET_BYTES[(31 - total % 31) % 31]
    return out


def alphabet_bytes(indices: np.ndarray) -> np.ndarray:
    """USCC alphabet characters (ASCII bytes) for indices 0-30."""
    chars: np.ndarray = _ALPHABET_BYTES[indices]
    return chars


def id_numbers(region: np.ndarray, birth_days: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """Resident identity numbers (GB 11643-1999) as an ``(n, 18)`` byte matrix.

    Args:
        region: ``(n, 6)`` ASCII digits of the birth-place division.
        birth_days: birth dates as epoch days.
        sequence: 0-999; odd for men, even for women.
    """
    year, month, day = date_parts(birth_days)
    out = np.empty((region.shape[0], 18), dtype=np.uint8)
    out[:, 0:6] = region
    out[:, 6:14] = digits(year * 10000 + month * 100 + day, 8)
    out[:, 14:17] = digits(sequence, 3)
    total = ((out[:, :17].astype(np.int64) - ZERO) * _ID_WEIGHTS).sum(axis=1)
    out[:, 17] = _ID_CHECK[total % 11]
    return out


def patent_numbers(year: np.ndarray, kind: np.ndarray, serial: np.ndarray) -> pa.Array:
    """Chinese patent application numbers ``YYYYKNNNNNNN.C`` (kind 1 invention, 2 utility, 3 design).

    The check digit is the State IP Office's: digits weighted 2-9, 2-5, sum mod 11, 10 written ``X``.
    """
    body = np.concatenate([digits(year, 4), digits(kind, 1), digits(serial, 7)], axis=1)
    weights = np.array([2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5], dtype=np.int64)
    check = ((body.astype(np.int64) - ZERO) * weights).sum(axis=1) % 11
    check_byte = np.where(check == 10, ord("X"), ZERO + check).astype(np.uint8)
    return fixed_width([body, constant(".", body.shape[0]), check_byte[:, None]])


# --- dates as text -----------------------------------------------------------------------------------

DATE_STYLES: Final = ("iso", "slash", "compact", "zh", "dot")
PERIOD_STYLES: Final = ("iso_month", "compact_month", "zh_month", "slash_month", "first_day")
# Zero-padded styles: separator and whether the day is written.
_FIXED_STYLES: Final = {
    "iso": ("-", True),
    "dot": (".", True),
    "compact": ("", True),
    "iso_month": ("-", False),
    "compact_month": ("", False),
    "slash_month": ("/", False),
    "first_day": ("-", False),
}


def format_dates(days: np.ndarray, valid: np.ndarray | None, style: str) -> pa.Array:
    """Dates as text in one of the conventions departments use.

    ``iso`` 2024-01-05, ``slash`` 2024/1/5, ``compact`` 20240105, ``zh`` 2024年1月5日, ``dot`` 2024.01.05;
    for reporting months ``iso_month`` 2024-01, ``compact_month`` 202401, ``zh_month`` 2024年1月,
    ``slash_month`` 2024/01, ``first_day`` 2024-01-01.
    """
    n = days.shape[0]
    year, month, day = date_parts(days)
    if style in _FIXED_STYLES:
        sep, with_day = _FIXED_STYLES[style]
        parts = [digits(year, 4)]
        for value, wanted in ((month, True), (day, with_day)):
            if wanted:
                if sep:
                    parts.append(constant(sep, n))
                parts.append(digits(value, 2))
        if style == "first_day":
            parts.append(constant("-01", n))
        return fixed_width(parts, valid)
    y = to_text(year)
    m = to_text(month)
    if style == "slash":
        text = join(y, "/", m, "/", to_text(day))
    elif style == "zh":
        text = join(y, "年", m, "月", to_text(day), "日")
    elif style == "zh_month":
        text = join(y, "年", m, "月")
    else:
        raise ValueError(f"unknown date style {style!r}")
    if valid is not None and not bool(valid.all()):
        text = pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))
    return text


def format_date(year: int, month: int, day: int | None, style: str) -> str:
    """One date (or month when ``day`` is None) in a style of :func:`format_dates`; used for dirt."""
    if day is None:
        return {
            "iso_month": f"{year:04d}-{month:02d}",
            "compact_month": f"{year:04d}{month:02d}",
            "zh_month": f"{year}年{month}月",
            "slash_month": f"{year:04d}/{month:02d}",
            "first_day": f"{year:04d}-{month:02d}-01",
        }[style]
    return {
        "iso": f"{year:04d}-{month:02d}-{day:02d}",
        "slash": f"{year}/{month}/{day}",
        "compact": f"{year:04d}{month:02d}{day:02d}",
        "zh": f"{year}年{month}月{day}日",
        "dot": f"{year:04d}.{month:02d}.{day:02d}",
    }[style]
