"""The source catalogue's vocabulary: a department source and its typed fields.

A source is declared once (``sources/*.py``) and drives everything downstream: header mapping and
validation at ingestion, the lake schema, quality rules derived from field metadata, masking by
sensitivity, and the expression language's field catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    """Logical types; the lake stores each as the Arrow type in ``ARROW_TYPES``."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"  # money in yuan (2 places) or another unit stated in ``unit``
    FLOAT = "float"  # ratios, usage quantities (kWh, m³)
    DATE = "date"
    MONTH = "month"  # a reporting period, stored as the first day of the month
    BOOLEAN = "boolean"
    CODE = "code"  # one of ``codes``
    USCC = "uscc"  # GB 32100-2015, validated with the check character
    ENTITY_REF = "entity_ref"  # a USCC, or a provider's own enterprise key where it has no USCC


ARROW_TYPES: dict[FieldType, str] = {
    FieldType.STRING: "string",
    FieldType.INTEGER: "int64",
    FieldType.DECIMAL: "decimal128(18, 2)",
    FieldType.FLOAT: "float64",
    FieldType.DATE: "date32",
    FieldType.MONTH: "date32",
    FieldType.BOOLEAN: "bool",
    FieldType.CODE: "string",
    FieldType.USCC: "string",
    FieldType.ENTITY_REF: "string",
}


class Sensitivity(StrEnum):
    """Who may see a field's values: decides masking in every output."""

    PUBLIC = "public"  # published registry facts
    INTERNAL = "internal"  # department data shared for credit purposes
    PERSONAL = "personal"  # a natural person's data (PIPL): masked unless the role needs it


class Frequency(StrEnum):
    REALTIME = "realtime"  # pushed as events happen
    DAILY = "daily"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class PersonalKind(StrEnum):
    """What kind of personal datum a field holds: picks the masking rule."""

    ID_NUMBER = "id_number"
    PHONE = "phone"
    NAME = "name"


@dataclass(frozen=True)
class Field:
    """One typed field of a source.

    Attributes:
        name: snake_case identifier, the lake column and the expression-language name.
        name_zh: the Chinese header departments use.
        name_en: English name.
        type: logical type.
        description: business meaning (English).
        unit: e.g. ``元``, ``万元``, ``人``, ``kWh``, ``%``.
        sensitivity: public / internal / personal.
        personal: for personal fields, which masking rule applies.
        required: a row without it is rejected to quarantine.
        codes: allowed values for CODE fields.
        minimum, maximum: inclusive range for numbers (validity rules).
        aliases: other headers that mean this field (Chinese or English, case-insensitive).
        future: a date that may rightly lie after the delivery (an expiry), so no "not in the future"
            check applies to it.
    """

    name: str
    name_zh: str
    name_en: str
    type: FieldType
    description: str
    unit: str | None = None
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    personal: PersonalKind | None = None
    required: bool = False
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()
    future: bool = False

    def __post_init__(self) -> None:
        if self.type is FieldType.CODE and not self.codes:
            raise ValueError(f"code field {self.name} needs its code list")
        if (self.personal is None) != (self.sensitivity is not Sensitivity.PERSONAL):
            raise ValueError(f"field {self.name}: personal fields, and only they, name their personal kind")

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header that maps to this field."""
        return (self.name, self.name_zh, self.name_en, *self.aliases)


@dataclass(frozen=True)
class Source:
    """A department data source: who delivers it, how often, its grain and fields.

    Attributes:
        id: snake_case identifier; the lake folder and the CLI name (``xinyidai ingest tax_monthly``).
        name_zh, name_en: display names.
        owner: the owning department (Chinese name).
        frequency: delivery frequency.
        description: what a row is.
        fields: the typed fields.
        key: the fields that identify a row (duplicates are found on them).
        period_field: the field that places a row in a reporting period (partitions the lake), if any.
        entity_field: the field naming the enterprise (USCC or entity_ref), if any.
    """

    id: str
    name_zh: str
    name_en: str
    owner: str
    frequency: Frequency
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    period_field: str | None = None
    entity_field: str | None = "uscc"
    formats: tuple[str, ...] = ("csv",)

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"source {self.id}: duplicate field names")
        for name in (*self.key, self.period_field, self.entity_field):
            if name is not None and name not in names:
                raise ValueError(f"source {self.id}: {name} is not one of its fields")

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass
class Catalogue:
    """All sources, by id."""

    sources: dict[str, Source] = field(default_factory=dict)

    def add(self, source: Source) -> None:
        if source.id in self.sources:
            raise ValueError(f"source {source.id} declared twice")
        self.sources[source.id] = source

    def get(self, source_id: str) -> Source:
        try:
            return self.sources[source_id]
        except KeyError:
            raise KeyError(source_id) from None
