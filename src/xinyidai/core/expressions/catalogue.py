"""The typed field catalogue an expression is checked against.

A catalogue names the fields a kind of rule may use (a product's admission rule sees the enterprise's
indicators, a quality check sees one source's columns, ...) and gives each its value type. Catalogues
are immutable and hashable, so compiled expressions can be cached per (text, catalogue).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import pyarrow as pa

MAX_DECIMAL_SCALE = 18


class ValueType(StrEnum):
    """The value types of the expression language.

    ``decimal`` is money and other exact quantities (Python ``Decimal``, DuckDB ``DECIMAL(38, s)``);
    ``float`` is ratios and measured quantities (IEEE double).
    """

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    DATE = "date"
    BOOLEAN = "boolean"

    @property
    def is_numeric(self) -> bool:
        return self in _NUMERIC


_NUMERIC = frozenset({ValueType.INTEGER, ValueType.DECIMAL, ValueType.FLOAT})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One named, typed field.

    Attributes:
        name: the identifier used in expressions (and the column name in batch data).
        type: the value type.
        description: business meaning, with its unit (元, 万元, %, which date).
        scale: for ``decimal`` fields, the number of decimal places values are rounded to (half away
            from zero) before use; 2 for money in yuan.
    """

    name: str
    type: ValueType
    description: str = ""
    scale: int = 2

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"field name {self.name!r} is not an identifier")
        # Accept the plain strings "integer", "decimal", ... as well as ValueType members.
        object.__setattr__(self, "type", ValueType(self.type))
        if not 0 <= self.scale <= MAX_DECIMAL_SCALE:
            raise ValueError(f"field {self.name}: scale must be between 0 and {MAX_DECIMAL_SCALE}")

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type batch data should use for this field."""
        return (
            _ARROW_TYPES[self.type] if self.type is not ValueType.DECIMAL else pa.decimal128(38, self.scale)
        )


_ARROW_TYPES: dict[ValueType, pa.DataType] = {
    ValueType.STRING: pa.string(),
    ValueType.INTEGER: pa.int64(),
    ValueType.FLOAT: pa.float64(),
    ValueType.DATE: pa.date32(),
    ValueType.BOOLEAN: pa.bool_(),
}


class FieldCatalogue(Mapping[str, FieldSpec]):
    """An immutable mapping of field name to :class:`FieldSpec`.

    Names are unique ignoring case, because SQL identifiers are case-insensitive. Two catalogues with
    the same fields are equal and hash alike.
    """

    __slots__ = ("_by_folded", "_fields", "_hash")

    def __init__(self, fields: Iterable[FieldSpec] = ()) -> None:
        by_name: dict[str, FieldSpec] = {}
        by_folded: dict[str, FieldSpec] = {}
        for spec in fields:
            if not isinstance(spec, FieldSpec):
                raise TypeError(f"expected a FieldSpec, got {spec!r}")
            folded = spec.name.casefold()
            if folded in by_folded:
                raise ValueError(f"duplicate field {spec.name!r} (names are case-insensitive)")
            by_name[spec.name] = spec
            by_folded[folded] = spec
        self._fields: Mapping[str, FieldSpec] = MappingProxyType(dict(sorted(by_name.items())))
        self._by_folded: Mapping[str, FieldSpec] = MappingProxyType(by_folded)
        self._hash = hash(tuple(self._fields.values()))

    @classmethod
    def from_dict(cls, types: Mapping[str, ValueType | str]) -> FieldCatalogue:
        """A catalogue from ``{name: type}``, e.g. ``{"grade": "string", "tax_paid_12m": "decimal"}``."""
        return cls(FieldSpec(name, ValueType(value_type)) for name, value_type in types.items())

    def merge(self, other: FieldCatalogue) -> FieldCatalogue:
        """Both catalogues' fields; a name declared in both must have the same spec."""
        merged = dict(self._fields)
        for spec in other.values():
            mine = self._by_folded.get(spec.name.casefold())
            if mine is not None and mine != spec:
                raise ValueError(f"field {spec.name!r} is declared differently in the two catalogues")
            if mine is None:
                merged[spec.name] = spec
        return FieldCatalogue(merged.values())

    def resolve(self, name: str, *, exact: bool = False) -> FieldSpec | None:
        """The field an identifier refers to: exact name, or (unless ``exact``) ignoring case."""
        spec = self._fields.get(name)
        if spec is None and not exact:
            spec = self._by_folded.get(name.casefold())
        return spec

    def suggest(self, name: str) -> str | None:
        """The closest known field name, for "did you mean" messages."""
        matches = difflib.get_close_matches(name.casefold(), list(self._by_folded), n=1, cutoff=0.6)
        return self._by_folded[matches[0]].name if matches else None

    def arrow_schema(self, names: Iterable[str] | None = None) -> pa.Schema:
        """An Arrow schema for batch data holding these fields (or the named ones)."""
        chosen = self._fields.values() if names is None else [self._fields[n] for n in names]
        return pa.schema([pa.field(spec.name, spec.arrow_type) for spec in chosen])

    def __getitem__(self, name: str) -> FieldSpec:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldCatalogue):
            return NotImplemented
        return self._hash == other._hash and dict(self._fields) == dict(other._fields)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        inner = ", ".join(f"{spec.name}: {spec.type.value}" for spec in self._fields.values())
        return f"FieldCatalogue({{{inner}}})"
