"""Reading a delivered file into string columns: format, compression, encoding, header row.

Every value is read as a string; typing happens afterwards, vectorised (``parse.py``). CSV goes through
pyarrow's multi-threaded reader; XLSX (openpyxl, read-only) and JSON lines are read in Python, as they
are small by nature (Excel stops at 1,048,576 rows; JSON lines come from pushes).

Encodings: a UTF-8 (or UTF-16) byte-order mark is trusted; otherwise the bytes must be valid UTF-8, or
else valid GB18030 (which contains GBK and GB2312). A declared encoding is never trusted blindly — GBK
bytes labelled UTF-8 are detected and read as GB18030 with a notice — and a UTF-8 file with a few
damaged bytes is refused rather than decoded as GB18030 into mojibake.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from xinyidai.data.catalogue import Source
from xinyidai.data.ingest.errors import FileRefused, Notice
from xinyidai.data.ingest.headers import HEADER_SEARCH_ROWS, HeaderIndex, find_header, header_index

__all__ = ["MalformedRow", "RawTable", "declared_encoding", "read_delivery", "read_records"]

BLOCK_SIZE = 16 << 20
"""pyarrow CSV block size: large blocks keep both cores busy on big files."""

_SAMPLE_BYTES = 256 << 10
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DELIMITERS = (",", "\t", ";", "|")


@dataclass(frozen=True)
class MalformedRow:
    """A row the CSV parser could not split into the header's columns."""

    row: int | None
    text: str
    expected: int
    actual: int


@dataclass
class RawTable:
    """One delivered file as strings.

    Attributes:
        name: the file name as delivered.
        format: ``csv``, ``xlsx``, ``jsonl`` or ``records`` (pushed rows).
        encoding: the text encoding the content was read with (None for XLSX and pushed rows).
        header_row: 1-based row of the header in the file (0 when there is no header row).
        headers: the headers as delivered.
        columns: one string column per header; an empty cell is ``""``.
        rows: the 1-based row number in the file of each data row (the header row counts).
        malformed: rows that could not be split into the header's columns.
        notices: things to tell the sender (e.g. a declared encoding that did not match).
    """

    name: str
    format: str
    encoding: str | None
    header_row: int
    headers: list[str]
    columns: list[pa.ChunkedArray]
    rows: np.ndarray
    malformed: list[MalformedRow] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return len(self.rows)


def declared_encoding(name: str) -> str | None:
    """An encoding a file name declares, e.g. ``tax.utf8.csv`` → ``utf-8``, ``tax.gbk.csv`` → ``gbk``."""
    parts = [p.lower().replace("-", "").replace("_", "") for p in name.split(".")[1:]]
    for part in parts:
        if part in ("utf8", "utf8sig"):
            return "utf-8"
        if part in ("gbk", "gb2312", "gb18030", "cp936"):
            return part
    return None


def _same_encoding(declared: str, detected: str) -> bool:
    def family(value: str) -> str:
        value = value.lower().replace("-", "").replace("_", "")
        return "gb" if value in ("gbk", "gb2312", "gb18030", "cp936") else value.replace("utf8sig", "utf8")

    return family(declared) == family(detected)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode_fallback(name: str, data: bytes) -> tuple[str, str]:
    """Decode bytes that are not valid UTF-8: GB18030, unless they are damaged UTF-8.

    Returns:
        (text, encoding name).
    """
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        first_bad = error.start
    loose = data.decode("utf-8", errors="replace")
    bad = loose.count("\ufffd")
    good = sum(1 for ch in loose if ord(ch) > 127) - bad
    if good > bad:
        # Mostly valid UTF-8 with a few broken sequences: decoding it as GB18030 would garble every
        # Chinese character, so refuse and point at the damage.
        raise FileRefused(reason="bad_encoding", file=name, line=_line_of(data, first_bad))
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as error:
        raise FileRefused(reason="bad_encoding", file=name, line=_line_of(data, error.start)) from None


def _decompress(name: str, data: bytes) -> tuple[str, bytes]:
    if data[:2] != b"\x1f\x8b":
        if name.lower().endswith(".gz"):
            raise FileRefused(reason="corrupt_file", file=name, detail="not a gzip file")
        return name, data
    inner = name[:-3] if name.lower().endswith(".gz") else name
    try:
        return inner, gzip.decompress(data)
    except EOFError:
        raise FileRefused(
            reason="truncated_file", file=name, detail="the compressed stream ends early"
        ) from None
    except (gzip.BadGzipFile, zlib.error, OSError) as error:
        raise FileRefused(reason="corrupt_file", file=name, detail=str(error)) from None


def read_delivery(name: str, data: bytes, source: Source, *, declared: str | None = None) -> RawTable:
    """Read one delivered file (CSV, CSV.GZ, XLSX or JSON lines) as string columns.

    Args:
        name: the file name as delivered (its suffix picks the format when the content does not).
        data: the raw bytes.
        source: the source the file is for (its headers locate the header row).
        declared: an encoding the sender declared (or the name implies); checked, never trusted.

    Raises:
        FileRefused: empty, truncated, damaged, unreadable encoding, unsupported format, no header.
    """
    if not data:
        raise FileRefused(reason="empty_file", file=name, size=0)
    inner, content = _decompress(name, data)
    declared = declared or declared_encoding(inner)
    lower = inner.lower()
    if content[:4] == b"PK\x03\x04" or lower.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(name, content, source)
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or lower.endswith((".xls", ".parquet", ".zip")):
        raise FileRefused(reason="unsupported_format", file=name)
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return _read_jsonl(name, content, source, declared)
    return _read_csv(name, content, source, declared)


# ------------------------------------------------------------------------------------------------ CSV


def _sniff_delimiter(lines: Sequence[str]) -> str:
    counts = {d: sum(line.count(d) for line in lines) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _sample_rows(text: str, complete: bool, delimiter: str | None) -> tuple[list[list[str]], str]:
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the sample may end mid-line
    lines = lines[: HEADER_SEARCH_ROWS * 4]
    chosen = delimiter or _sniff_delimiter(lines[:HEADER_SEARCH_ROWS])
    rows = list(csv.reader(lines[: HEADER_SEARCH_ROWS + 1], delimiter=chosen))
    return rows, chosen


def _read_csv(name: str, data: bytes, source: Source, declared: str | None) -> RawTable:
    notices: list[Notice] = []
    encoding = "utf-8"
    if data.startswith(_UTF8_BOM):
        data, encoding = data[len(_UTF8_BOM) :], "utf-8-sig"
    elif data.startswith(_UTF16_BOMS):
        try:
            data, encoding = data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError as error:
            raise FileRefused(reason="bad_encoding", file=name, line=_line_of(data, error.start)) from None
    if not data or data.isspace():  # isspace stops at the first other byte; strip() would copy
        raise FileRefused(reason="empty_file", file=name, size=len(data))

    sample = data[:_SAMPLE_BYTES]
    complete = len(sample) == len(data)
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        text_all, encoding = _decode_fallback(name, data)
        data = text_all.encode("utf-8")
        text = text_all[:_SAMPLE_BYTES]
        complete = len(text) == len(text_all)
    rows, delimiter = _sample_rows(text, complete, None)
    found = find_header(rows, header_index(source.id))
    if found is None:
        raise FileRefused(reason="header_not_found", file=name, source=source.id, examples=_examples(source))
    header_at, headers = found
    if complete and len(rows) <= header_at + 1 and len(text.splitlines()) <= header_at + 1:
        raise FileRefused(reason="no_rows", file=name)

    try:
        table, malformed = _arrow_csv(name, data, header_at, len(headers), delimiter, threads=True)
    except FileRefused as refused:
        if "UTF8" not in str(refused.params.get("detail")) or encoding not in ("utf-8", "utf-8-sig"):
            raise
        text_all, encoding = _decode_fallback(name, data)
        data = text_all.encode("utf-8")
        table, malformed = _arrow_csv(name, data, header_at, len(headers), delimiter, threads=True)
    if malformed:  # line numbers are only known single-threaded; rare, so read again
        table, malformed = _arrow_csv(name, data, header_at, len(headers), delimiter, threads=False)

    ends_cleanly = data.endswith((b"\n", b"\r"))
    if not ends_cleanly:
        tail = data[data.rfind(b"\n") + 1 :].decode("utf-8", errors="replace").strip()
        if data.count(b'"') % 2:
            raise FileRefused(
                reason="truncated_file", file=name, detail="a quoted value is not closed at the end"
            )
        if malformed and malformed[-1].text.strip() == tail:
            raise FileRefused(
                reason="truncated_file",
                file=name,
                detail=f"the last row has {malformed[-1].actual} of {len(headers)} columns",
            )
    if table.num_rows == 0 and not malformed:
        raise FileRefused(reason="no_rows", file=name)

    first_data_row = header_at + 2
    total = table.num_rows + len(malformed)
    numbers = np.arange(first_data_row, first_data_row + total, dtype=np.int32)
    if malformed:
        bad = np.array([m.row for m in malformed if m.row is not None], dtype=np.int32)
        numbers = numbers[~np.isin(numbers, bad)][: table.num_rows]
    if declared and not _same_encoding(declared, encoding):
        notices.append(
            Notice("encoding_mismatch", {"file": name, "declared": declared, "detected": encoding})
        )
    if header_at:
        notices.append(Notice("header_row", {"file": name, "row": header_at + 1}))
    return RawTable(
        name=name,
        format="csv",
        encoding=encoding,
        header_row=header_at + 1,
        headers=headers,
        columns=list(table.columns),
        rows=numbers,
        malformed=malformed,
        notices=notices,
    )


def _arrow_csv(
    name: str, data: bytes, header_at: int, width: int, delimiter: str, *, threads: bool
) -> tuple[pa.Table, list[MalformedRow]]:
    """pyarrow's multi-threaded reader, every column as strings; rows of the wrong width are set aside."""
    malformed: list[MalformedRow] = []

    def on_invalid(row: Any) -> str:
        malformed.append(MalformedRow(row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        table = _read_arrow(data, header_at, names, delimiter, threads, on_invalid)
    except pa.ArrowException as error:
        raise FileRefused(reason="corrupt_file", file=name, detail=str(error)[:300]) from None
    malformed.sort(key=lambda m: (m.row is None, m.row or 0))
    return table, malformed


def _read_arrow(
    data: bytes, header_at: int, names: list[str], delimiter: str, threads: bool, on_invalid: Any
) -> pa.Table:
    return pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(
            use_threads=threads, block_size=BLOCK_SIZE, skip_rows=header_at + 1, column_names=names
        ),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _examples(source: Source) -> str:
    return ", ".join(f.name_zh for f in source.fields if f.required)


# ------------------------------------------------------------------------------------------------ XLSX


def cell_text(value: Any) -> str:
    """A spreadsheet or JSON value as the string a CSV would carry."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time | Decimal):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _sheet_values(
    top: list[list[str]], header_at: int, width: int, rest: Iterable[Sequence[Any]]
) -> tuple[list[list[str]], list[int]]:
    """The rows below the header as ``width`` string columns, and their row numbers (blank rows skipped)."""
    values: list[list[str]] = [[] for _ in range(width)]
    numbers: list[int] = []

    def take(row_number: int, row: Sequence[str]) -> None:
        if not any(cell.strip() for cell in row):
            return
        padded = list(row[:width]) + [""] * (width - len(row))
        for j in range(width):
            values[j].append(padded[j])
        numbers.append(row_number)

    for offset, row_text in enumerate(top[header_at + 1 :]):
        take(header_at + 2 + offset, row_text)
    for row_number, row in enumerate(rest, start=len(top) + 1):
        take(row_number, [cell_text(v) for v in row])
    return values, numbers


def _read_xlsx(name: str, data: bytes, source: Source) -> RawTable:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise FileRefused(
            reason="corrupt_file", file=name, detail=f"not a readable Excel workbook: {error}"
        ) from None
    index = header_index(source.id)
    try:
        return _read_sheets(name, book, index)
    except FileRefused:
        raise
    except Exception as error:  # a damaged sheet inside a readable zip: openpyxl raises many kinds
        raise FileRefused(
            reason="corrupt_file", file=name, detail=f"{type(error).__name__}: {error}"[:300]
        ) from None
    finally:
        book.close()


def _read_sheets(name: str, book: Any, index: HeaderIndex) -> RawTable:
    """The first sheet whose top rows name the source's fields, as string columns."""
    for sheet in book.worksheets:
        cells = sheet.iter_rows(values_only=True)
        top: list[list[str]] = []
        for row in cells:
            top.append([cell_text(v) for v in row])
            if len(top) >= HEADER_SEARCH_ROWS:
                break
        found = find_header(top, index)
        if found is None:
            continue
        header_at, headers = found
        values, numbers = _sheet_values(top, header_at, len(headers), cells)
        if not numbers:
            raise FileRefused(reason="no_rows", file=name)
        notices = [Notice("header_row", {"file": name, "row": header_at + 1})] if header_at else []
        return RawTable(
            name=name,
            format="xlsx",
            encoding=None,
            header_row=header_at + 1,
            headers=headers,
            columns=[pa.chunked_array([pa.array(v, pa.string())]) for v in values],
            rows=np.array(numbers, dtype=np.int32),
            notices=notices,
        )
    raise FileRefused(
        reason="header_not_found", file=name, source=index.source.id, examples=_examples(index.source)
    )


# ------------------------------------------------------------------------------------------------ JSON


def _read_jsonl(name: str, data: bytes, source: Source, declared: str | None) -> RawTable:
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    if not data or data.isspace():  # isspace stops at the first other byte; strip() would copy
        raise FileRefused(reason="empty_file", file=name, size=len(data))
    text, encoding = _decode_fallback(name, data)
    records: list[Mapping[str, Any]] = []
    numbers: list[int] = []
    malformed: list[MalformedRow] = []
    if text.lstrip().startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise FileRefused(
                reason="truncated_file", file=name, detail=f"invalid JSON: {error.msg}"
            ) from None
        items: Iterable[tuple[int, Any]] = enumerate(loaded, start=1)
    else:
        lines = text.split("\n")
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        parsed: list[tuple[int, Any]] = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                parsed.append((i + 1, json.loads(line)))
            except json.JSONDecodeError:
                if i == last and not text.endswith("\n"):
                    raise FileRefused(
                        reason="truncated_file", file=name, detail="the last line is not complete JSON"
                    ) from None
                malformed.append(MalformedRow(i + 1, line, 1, 0))
        items = parsed
    for number, item in items:
        if isinstance(item, Mapping):
            records.append(item)
            numbers.append(number)
        else:
            malformed.append(MalformedRow(number, json.dumps(item, ensure_ascii=False), 1, 0))
    table = read_records(name, records, source, rows=numbers, format="jsonl")
    table.encoding = encoding
    table.malformed = malformed
    if declared and not _same_encoding(declared, encoding):
        table.notices.append(
            Notice("encoding_mismatch", {"file": name, "declared": declared, "detected": encoding})
        )
    return table


def read_records(
    name: str,
    records: Sequence[Mapping[str, Any]],
    source: Source,
    *,
    rows: Sequence[int] | None = None,
    format: str = "records",
) -> RawTable:
    """Pushed rows (JSON objects keyed by header) as string columns; keys are headers."""
    if not records:
        raise FileRefused(reason="no_rows", file=name)
    headers: dict[str, None] = {}
    for record in records:
        for key in record:
            headers.setdefault(str(key), None)
    columns = [
        pa.chunked_array([pa.array([cell_text(r.get(h)) for r in records], pa.string())]) for h in headers
    ]
    numbers = np.asarray(rows if rows is not None else range(1, len(records) + 1), dtype=np.int32)
    return RawTable(name, format, None, 0, list(headers), columns, numbers)
