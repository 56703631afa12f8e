"""The masking engine: a field's sensitivity decides what each viewer sees.

One mechanism for every output — pages, API answers, exports: ``mask_record`` for one row,
``mask_table`` for an Arrow table (vectorised). Personal data (a natural person's name, ID number,
phone) is masked unless the viewer may see personal data of that enterprise; internal data is hidden
from viewers without access to department data. The rules follow common practice (RULES.md):
phone first 3 + last 4, ID number first 6 + last 4, a name keeps the family name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.core.masking import mask_id_number, mask_person_name, mask_phone
from xinyidai.data.catalogue.model import Field, PersonalKind, Sensitivity, Source

_SCALAR = {
    PersonalKind.PHONE: mask_phone,
    PersonalKind.ID_NUMBER: mask_id_number,
    PersonalKind.NAME: mask_person_name,
}
# (characters kept at the start, characters kept at the end) per kind
_KEEP = {PersonalKind.PHONE: (3, 4), PersonalKind.ID_NUMBER: (6, 4), PersonalKind.NAME: (1, 0)}


@dataclass(frozen=True)
class Viewer:
    """What a viewer may see. Built by the caller from the principal and the access policy."""

    sees_personal: bool = False
    sees_internal: bool = True


def mask_value(field: Field, value: Any, viewer: Viewer) -> Any:
    """The value as this viewer may see it."""
    if value is None:
        return None
    if field.sensitivity is Sensitivity.PERSONAL and not viewer.sees_personal:
        assert field.personal is not None
        return _SCALAR[field.personal](str(value))
    if field.sensitivity is Sensitivity.INTERNAL and not viewer.sees_internal:
        return None
    return value


def mask_record(source: Source, record: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """One row with every field masked for the viewer; unknown keys pass through unchanged."""
    fields = {f.name: f for f in source.fields}
    return {
        key: mask_value(fields[key], value, viewer) if key in fields else value
        for key, value in record.items()
    }


def _mask_array(array: pa.ChunkedArray | pa.Array, kind: PersonalKind) -> pa.ChunkedArray | pa.Array:
    head, tail = _KEEP[kind]
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    length = pc.utf8_length(text)
    hidden = pc.max_element_wise(pc.subtract(length, head + tail), 0)
    stars = pc.binary_repeat(pa.scalar("*"), hidden)
    start = pc.utf8_slice_codeunits(text, 0, head)
    end = pc.utf8_slice_codeunits(text, -tail) if tail else pa.scalar("")
    masked = pc.binary_join_element_wise(start, stars, end, "")
    if kind is PersonalKind.NAME:
        # A one-character name is all star.
        masked = pc.if_else(pc.less_equal(length, 1), pc.binary_repeat(pa.scalar("*"), length), masked)
    else:
        # Too short to keep both ends: all stars.
        masked = pc.if_else(
            pc.less_equal(length, head + tail), pc.binary_repeat(pa.scalar("*"), length), masked
        )
    return pc.if_else(pc.equal(length, 0), text, masked)


def mask_table(source: Source, table: pa.Table, viewer: Viewer) -> pa.Table:
    """Every column of a source's table masked for the viewer (vectorised)."""
    for field in source.fields:
        if field.name not in table.column_names:
            continue
        index = table.column_names.index(field.name)
        if field.sensitivity is Sensitivity.PERSONAL and not viewer.sees_personal:
            assert field.personal is not None
            table = table.set_column(index, field.name, _mask_array(table.column(field.name), field.personal))
        elif field.sensitivity is Sensitivity.INTERNAL and not viewer.sees_internal:
            column = table.column(field.name)
            table = table.set_column(index, field.name, pa.nulls(len(column), column.type))
    return table


def _header_key(header: str) -> str:
    return header.strip().lower()


def mask_raw(source: Source, raw: Mapping[str, Any], viewer: Viewer) -> dict[str, Any]:
    """A delivered row as it came (keyed by the department's headers), masked by the fields they map to."""
    by_header = {_header_key(h): f for f in source.fields for h in f.headers}
    result: dict[str, Any] = {}
    for header, value in raw.items():
        field = by_header.get(_header_key(header))
        result[header] = mask_value(field, value, viewer) if field is not None and value else value
    return result
