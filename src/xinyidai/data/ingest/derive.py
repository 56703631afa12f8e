"""Source-level derivations: fields a file does not carry as a column but states by its shape.

The CUMCM 2020 invoice files are the example: the purchase-invoice (进项) files name the counterparty
``销方单位代号`` (the seller) and the sales-invoice (销项) files ``购方单位代号`` (the buyer); neither has a
direction column. Rules are keyed by source id and only fill a field the file lacks — a file that has the
column keeps its own values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["DERIVATIONS", "FromHeader"]


@dataclass(frozen=True)
class FromHeader:
    """Fill ``field`` with a constant chosen by which of some headers the file uses.

    Attributes:
        field: the catalogue field to fill.
        values: header (as departments write it) → the value the field takes when the file has that header.
    """

    field: str
    values: Mapping[str, str]


DERIVATIONS: Final[Mapping[str, tuple[FromHeader, ...]]] = MappingProxyType(
    {
        "vat_invoices": (
            FromHeader(
                "direction",
                {
                    # purchase invoices name the seller as counterparty; sales invoices the buyer
                    "销方单位代号": "进项",
                    "销方识别号": "进项",
                    "销方纳税人识别号": "进项",
                    "销方名称": "进项",
                    "购方单位代号": "销项",
                    "购方识别号": "销项",
                    "购方纳税人识别号": "销项",
                    "购方名称": "销项",
                },
            ),
        ),
    }
)
"""Derivation rules by source id."""
