"""The source catalogue: every department source, its owner, frequency and typed fields."""

from __future__ import annotations

from functools import lru_cache

from xinyidai.data.catalogue.model import (
    Catalogue,
    Field,
    FieldType,
    Frequency,
    PersonalKind,
    Sensitivity,
    Source,
)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The platform's catalogue of department sources."""
    from xinyidai.data.catalogue.sources import all_sources

    result = Catalogue()
    for source in all_sources():
        result.add(source)
    return result


__all__ = [
    "Catalogue",
    "Field",
    "FieldType",
    "Frequency",
    "PersonalKind",
    "Sensitivity",
    "Source",
    "catalogue",
]
