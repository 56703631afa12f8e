"""File writers: CSV (UTF-8, UTF-8 with BOM, GBK), JSON lines and XLSX, appended chunk by chunk.

Every writer turns a whole chunk into bytes with Arrow compute (no Python loop per row): CSV through
Arrow's writer, JSON lines and the XLSX sheet XML by string concatenation of columns. GBK files are written
as UTF-8 by Arrow and transcoded chunk by chunk. XLSX files are assembled by hand (a minimal, valid
OOXML package with inline strings) with fixed zip timestamps, so the same seed gives the same bytes —
openpyxl would stamp the current time.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import BinaryIO, Final, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.data.synth.arrays import FALSE, join, literal
from xinyidai.data.synth.delivery import DeliverySpec

XLSX_MAX_ROWS: Final = 1_000_000  # a sheet holds 1,048,576 rows; larger deliveries are split into parts
_NUMBER: Final = r"^-?[0-9]+(\.[0-9]+)?$"
_SPECIAL: Final = r'[",\r\n]'


def concatenated(text: pa.Array) -> bytes:
    """The bytes of a string array's values back to back (nulls count as empty)."""
    if len(text) == 0:
        return b""
    text = pc.fill_null(text, literal("")) if text.null_count else text
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    if data is None:
        return b""
    return bytes(data.to_pybytes()[int(offsets[0]) : int(offsets[-1])])


def _double_quotes(text: pa.Array) -> pa.Array:
    """RFC 4180 escaping inside a quoted field (skipped when no value holds a quote)."""
    if pc.any(pc.match_substring(text, '"')).as_py():
        return pc.replace_substring(text, '"', '""')
    return text


def _escape_json(text: pa.Array) -> pa.Array:
    return pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')


def _escape_xml(text: pa.Array) -> pa.Array:
    escaped = pc.replace_substring(text, "&", "&amp;")
    return pc.replace_substring(pc.replace_substring(escaped, "<", "&lt;"), ">", "&gt;")


def _as_text(column: pa.Array) -> pa.Array:
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


class Sink(Protocol):
    path: Path
    rows: int

    def append(self, columns: list[pa.Array], numeric: list[bool]) -> None: ...

    def close(self) -> None: ...


class CsvSink:
    """A CSV file: a header line, then rows built column-wise with Arrow string kernels.

    ``quoting="text"`` quotes every value of a text field (code, name, date) and never a number;
    ``quoting="minimal"`` quotes only values that contain a comma, quote or line break (RFC 4180), such as a
    dirty ``"1,234.56"``. Arrow's own CSV writer cannot mix the two within one column.
    """

    def __init__(self, path: Path, headers: list[str], spec: DeliverySpec) -> None:
        self.path = path
        self.rows = 0
        self.spec = spec
        self.codec = "gbk" if spec.encoding == "gbk" else "utf-8"
        self._file: BinaryIO = path.open("wb")
        if spec.encoding == "utf-8-sig":
            self._file.write(b"\xef\xbb\xbf")
        self._file.write((",".join(headers) + spec.eol).encode(self.codec))

    def append(self, columns: list[pa.Array], numeric: list[bool]) -> None:
        if not columns or len(columns[0]) == 0:
            return
        parts: list[pa.Array | str] = []
        for i, (column, is_number) in enumerate(zip(columns, numeric, strict=True)):
            typed_number = is_number and not pa.types.is_string(column.type)
            text = _as_text(column)
            if not typed_number:
                if self.spec.quoting == "text" and not is_number:
                    text = join('"', _double_quotes(text), '"')
                else:
                    special = pc.fill_null(pc.match_substring_regex(text, _SPECIAL), FALSE)
                    if pc.any(special).as_py():
                        text = pc.if_else(special, join('"', _double_quotes(text), '"'), text)
            if i:
                parts.append(",")
            parts.append(pc.fill_null(text, literal("")))
        parts.append(self.spec.eol)
        raw = concatenated(join(*parts))
        if self.codec == "gbk":
            raw = raw.decode("utf-8").encode("gbk")
        self._file.write(raw)
        self.rows += len(columns[0])

    def close(self) -> None:
        self._file.close()


class JsonlSink:
    """JSON lines, one object per row with the header words as keys; numbers unquoted, null for missing."""

    def __init__(self, path: Path, headers: list[str], spec: DeliverySpec) -> None:
        import json

        self.path = path
        self.rows = 0
        self._keys = [json.dumps(h, ensure_ascii=False) for h in headers]
        self._file: BinaryIO = path.open("wb")

    def append(self, columns: list[pa.Array], numeric: list[bool]) -> None:
        if not columns or len(columns[0]) == 0:
            return
        parts: list[pa.Array | str] = []
        for i, (column, is_number) in enumerate(zip(columns, numeric, strict=True)):
            text = _as_text(column)
            quoted = join('"', _escape_json(text), '"')
            if is_number:
                bare = pc.fill_null(pc.match_substring_regex(text, _NUMBER), FALSE)
                value = pc.if_else(bare, text, quoted)
            else:
                value = quoted
            parts.append(("{" if i == 0 else ",") + self._keys[i] + ":")
            parts.append(pc.fill_null(value, literal("null")))
        lines = join(*parts, "}\n")
        self._file.write(concatenated(lines))
        self.rows += len(columns[0])

    def close(self) -> None:
        self._file.close()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<dimension ref="A1:{last}"/><sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class XlsxSink:
    """An XLSX workbook with one sheet; the sheet XML is spooled to a temporary file until closed."""

    def __init__(self, path: Path, headers: list[str], sheet_name: str) -> None:
        self.path = path
        self.rows = 0
        self._sheet_name = sheet_name[:31]
        self._letters = [_column_letter(i) for i in range(len(headers))]
        self._spool = path.with_name(path.name + ".sheet.tmp")
        self._file: BinaryIO = self._spool.open("wb")
        header = pa.array(headers, type=pa.string())
        cells = "".join(
            f'<c r="{letter}1" t="inlineStr"><is><t>{text}</t></is></c>'
            for letter, text in zip(self._letters, _escape_xml(header).to_pylist(), strict=True)
        )
        self._file.write(f'<row r="1">{cells}</row>'.encode())

    def append(self, columns: list[pa.Array], numeric: list[bool]) -> None:
        if not columns or len(columns[0]) == 0:
            return
        n = len(columns[0])
        row_numbers = pc.cast(pa.array(np.arange(self.rows + 2, self.rows + 2 + n)), pa.string())
        parts: list[pa.Array | str] = ['<row r="', row_numbers, '">']
        for letter, column, is_number in zip(self._letters, columns, numeric, strict=True):
            text = _as_text(column)
            ref = join(letter, row_numbers)
            as_string = join('<c r="', ref, '" t="inlineStr"><is><t>', _escape_xml(text), "</t></is></c>")
            if is_number:
                as_number = join('<c r="', ref, '"><v>', text, "</v></c>")
                bare = pc.fill_null(pc.match_substring_regex(text, _NUMBER), FALSE)
                cell = pc.if_else(bare, as_number, as_string)
            else:
                cell = as_string
            parts.append(pc.fill_null(cell, literal("")))
        parts.append("</row>")
        self._file.write(concatenated(join(*parts)))
        self.rows += n

    def close(self) -> None:
        self._file.write(_SHEET_TAIL.encode())
        self._file.close()
        workbook = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{self._sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        )
        with zipfile.ZipFile(self.path, "w") as package:
            for name, content in (
                ("[Content_Types].xml", _CONTENT_TYPES),
                ("_rels/.rels", _ROOT_RELS),
                ("xl/workbook.xml", workbook),
                ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                ("xl/styles.xml", _STYLES),
            ):
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                package.writestr(info, content.encode())
            info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            last = f"{self._letters[-1]}{self.rows + 1}"
            with self._spool.open("rb") as source, package.open(info, "w", force_zip64=True) as target:
                target.write(_SHEET_HEAD.format(last=last).encode())
                shutil.copyfileobj(source, target, 1 << 20)
        self._spool.unlink()


def open_sink(path: Path, headers: list[str], spec: DeliverySpec, sheet_name: str) -> Sink:
    if spec.format == "csv":
        return CsvSink(path, headers, spec)
    if spec.format == "jsonl":
        return JsonlSink(path, headers, spec)
    return XlsxSink(path, headers, sheet_name)
