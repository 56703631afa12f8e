"""Header mapping: which delivered column is which catalogue field.

Departments write headers in Chinese or English, with aliases, full-width characters, stray spaces, a
required-marker ``*``, a unit in brackets (``缴费金额(万元)``), a leading unnamed index column, and in
Excel sometimes a two-row header whose first row holds merged group titles. The header row is the row
near the top whose cells name the most fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from xinyidai.data.catalogue import FieldType, Source, catalogue
from xinyidai.data.ingest.derive import DERIVATIONS
from xinyidai.data.ingest.errors import FileRefused

__all__ = [
    "HEADER_SEARCH_ROWS",
    "ColumnPlan",
    "HeaderIndex",
    "find_header",
    "header_index",
    "normalise_header",
    "plan_columns",
]

HEADER_SEARCH_ROWS = 10
"""How many rows at the top of a file may hold titles before the header row."""

_UNIT = re.compile(r"^(?P<base>.+?)[(\[【](?P<unit>[^)\]】]{1,8})[)\]】]$")
_UNNAMED = re.compile(r"^(unnamed:?\d*|index|序号)?$")
# Scale of a header unit relative to the field's unit, as a power of ten (amounts only).
_UNIT_EXPONENT = {"元": 0, "万元": 4, "万": 4}


def normalise_header(text: str) -> str:
    """The form headers are compared in: NFKC (full-width → half-width), no whitespace, no ``*``, casefold."""
    text = unicodedata.normalize("NFKC", text).replace("\ufeff", "")
    return "".join(text.split()).strip("*").casefold()


@dataclass(frozen=True)
class HeaderIndex:
    """Every header of a source's fields, normalised, and the field each one names."""

    source: Source
    by_header: dict[str, str]

    def match(self, header: str) -> tuple[str | None, str | None]:
        """The field a header names and the unit stated in it (``金额(万元)`` → amount, 万元)."""
        key = normalise_header(header)
        if key in self.by_header:
            return self.by_header[key], None
        unit = _UNIT.match(key)
        if unit and unit["base"] in self.by_header:
            return self.by_header[unit["base"]], unit["unit"]
        return None, None


@lru_cache(maxsize=64)
def header_index(source_id: str) -> HeaderIndex:
    source = catalogue().get(source_id)
    by_header: dict[str, str] = {}
    for f in source.fields:
        for header in f.headers:
            by_header.setdefault(normalise_header(header), f.name)
    return HeaderIndex(source, by_header)


def find_header(rows: Sequence[Sequence[str]], index: HeaderIndex) -> tuple[int, list[str]] | None:
    """The header row among the first rows of a file, and its headers.

    The row naming the most distinct fields wins (the first on a tie). A cell left empty by a vertical
    merge (a header spanning two rows) takes the nearest non-empty cell above it that names a field.

    Returns:
        (0-based index of the header row, headers), or None when no row names any field.
    """
    best, best_score = -1, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = len({index.match(cell)[0] for cell in row if cell.strip()} - {None})
        if score > best_score:
            best, best_score = i, score
    if best < 0:
        return None
    headers = [cell.strip() for cell in rows[best]]
    for j, cell in enumerate(headers):
        if cell:
            continue
        for above in range(best - 1, -1, -1):
            candidate = rows[above][j].strip() if j < len(rows[above]) else ""
            if candidate:
                if index.match(candidate)[0] is not None:
                    headers[j] = candidate
                break
    return best, headers


@dataclass(frozen=True)
class ColumnPlan:
    """How one file's columns become fields.

    Attributes:
        headers: the headers as delivered.
        fields: the field each column feeds, or None for an ignored column.
        scales: per field, the power of ten to multiply amounts by (a ``(万元)`` header on a 元 field: 4).
        units: per field, the unit its header stated when that differs from the field's unit.
        derived: fields the file lacks but states by its shape (see ``derive.py``), with their value.
        ignored: headers of columns that are not catalogue fields (unnamed index columns excluded).
    """

    headers: tuple[str, ...]
    fields: tuple[str | None, ...]
    scales: dict[str, int] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    def column_of(self, field_name: str) -> int | None:
        try:
            return self.fields.index(field_name)
        except ValueError:
            return None


def _field_label(source: Source, name: str) -> str:
    f = source.field(name)
    return f"{f.name_zh} ({f.name})"


def plan_columns(source: Source, headers: Sequence[str], file_name: str) -> ColumnPlan:
    """Map a file's headers to the source's fields.

    Raises:
        FileRefused: ``missing_columns`` naming every required field without a column (or derivation);
            ``ambiguous_columns`` when two columns name the same field.
    """
    index = header_index(source.id)
    fields: list[str | None] = []
    units: dict[str, str] = {}
    scales: dict[str, int] = {}
    ignored: list[str] = []
    seen: dict[str, list[str]] = {}
    for header in headers:
        name, unit = index.match(header)
        fields.append(name)
        if name is None:
            if not _UNNAMED.match(normalise_header(header)):
                ignored.append(header)
            continue
        seen.setdefault(name, []).append(header)
        f = source.field(name)
        if unit and unit != f.unit:
            units[name] = unit
            if f.type is FieldType.DECIMAL and unit in _UNIT_EXPONENT and f.unit in _UNIT_EXPONENT:
                scales[name] = _UNIT_EXPONENT[unit] - _UNIT_EXPONENT[f.unit]
    for name, hits in seen.items():
        if len(hits) > 1:
            raise FileRefused(
                reason="ambiguous_columns",
                file=file_name,
                target=_field_label(source, name),
                headers=", ".join(hits),
            )
    derived: dict[str, str] = {}
    normalised = {normalise_header(h): h for h in headers}
    for rule in DERIVATIONS.get(source.id, ()):
        if rule.field in seen:
            continue
        by_value: dict[str, str] = {}
        for header, value in rule.values.items():
            key = normalise_header(header)
            if key in normalised:
                by_value[value] = normalised[key]
        if len(by_value) > 1:
            raise FileRefused(
                reason="ambiguous_columns",
                file=file_name,
                target=_field_label(source, rule.field),
                headers=", ".join(by_value.values()),
            )
        if by_value:
            derived[rule.field] = next(iter(by_value))
    required = [f.name for f in source.fields if f.required or f.name == source.period_field]
    missing = [name for name in required if name not in seen and name not in derived]
    if missing:
        raise FileRefused(
            reason="missing_columns",
            file=file_name,
            columns=", ".join(_field_label(source, name) for name in missing),
        )
    return ColumnPlan(tuple(headers), tuple(fields), scales, units, derived, tuple(ignored))
