"""The department sources and the platform's loan book, by owner; ``all_sources()`` lists them in order."""

from __future__ import annotations

from xinyidai.data.catalogue.model import Source
from xinyidai.data.catalogue.sources import (
    credit,
    employment,
    judicial,
    market,
    platform,
    tax,
    trade,
    utilities,
)


def all_sources() -> list[Source]:
    return [
        *market.SOURCES,
        *tax.SOURCES,
        *employment.SOURCES,
        *utilities.SOURCES,
        *judicial.SOURCES,
        *trade.SOURCES,
        *credit.SOURCES,
        *platform.SOURCES,
    ]
