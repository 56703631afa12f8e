"""Row-level dirt: the defects real deliveries carry, injected at a controlled rate and recorded one by one.

Each dirty row carries exactly one item. What ingestion is expected to do with it (``outcome``):

* ``quarantine`` — the row must be rejected: ``uscc_check`` (wrong check character), ``uscc_forbidden_letter``
  (I, O, S, V or Z), ``missing_required`` (a required value empty), ``out_of_range`` (negative money or
  counts, a score or year beyond its range);
* ``duplicate`` — ``duplicate_row``: an exact copy of the previous row, to be dropped;
* ``flag`` — ``implausible_value``: a headcount of 1,000,000,000 (inside the declared range, an outlier
  for quality rules);
* ``normalise`` — the value is right but written differently and must be parsed: ``uscc_fullwidth``
  (full-width characters, or lower case with spaces), ``date_format`` (another date convention),
  ``thousands_separator`` (``1,234,567.89``), ``wan_yuan`` (``123.456789万元``; exact to the fen);
* ``superseded`` — ``corrected_value``: a wrong value (decimal slip, ×10) in a file that a corrected
  delivery replaces.

File-level items (``row`` empty) are written by :class:`~xinyidai.data.synth.output.DeliveryWriter`:
``late_delivery`` (outcome ``late``: the file arrived 45 days after the usual day, see its mtime and
``delivered_at``) and ``corrected_delivery`` (outcome ``superseded``: the file named is replaced by its
``.corrected`` version). GBK, BOMs and CRLF are departments' conventions, listed in the manifest, not dirt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.core.uscc import ALPHABET
from xinyidai.data.catalogue import FieldType, Source
from xinyidai.data.synth import arrays
from xinyidai.data.synth.delivery import DeliverySpec

KIND_WEIGHTS: Final = {
    "uscc_check": 0.12,
    "uscc_forbidden_letter": 0.06,
    "uscc_fullwidth": 0.06,
    "duplicate_row": 0.14,
    "missing_required": 0.12,
    "out_of_range": 0.10,
    "implausible_value": 0.04,
    "date_format": 0.14,
    "thousands_separator": 0.12,
    "wan_yuan": 0.10,
}
OUTCOMES: Final = {
    "uscc_check": "quarantine",
    "uscc_forbidden_letter": "quarantine",
    "missing_required": "quarantine",
    "out_of_range": "quarantine",
    "duplicate_row": "duplicate",
    "implausible_value": "flag",
    "uscc_fullwidth": "normalise",
    "date_format": "normalise",
    "thousands_separator": "normalise",
    "wan_yuan": "normalise",
    "corrected_value": "superseded",
}
NUMERIC: Final = (FieldType.INTEGER, FieldType.DECIMAL, FieldType.FLOAT)
_SKIP: Final = "\x00skip"  # marks a row a dirt kind cannot spoil (never a real value)


@dataclass
class DirtBatch:
    """Dirt items of one table, rows relative to the table as written."""

    rows: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    fields: list[str | None] = field(default_factory=list)
    values: list[str | None] = field(default_factory=list)
    originals: list[str | None] = field(default_factory=list)

    def add(self, row: int, kind: str, name: str | None, value: str | None, original: str | None) -> None:
        self.rows.append(row)
        self.kinds.append(kind)
        self.fields.append(name)
        self.values.append(value)
        self.originals.append(original)

    def __len__(self) -> int:
        return len(self.rows)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    return str(value)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


class Injector:
    """Chooses dirty rows of one table and rewrites their values."""

    def __init__(self, source: Source, spec: DeliverySpec) -> None:
        self.source = source
        self.spec = spec
        fields = source.fields
        self.entity = source.entity_field
        self.required = [f.name for f in fields if f.required]
        self.ranged = [
            f.name for f in fields if f.type in NUMERIC and (f.minimum is not None or f.maximum is not None)
        ]
        self.counts = [f.name for f in fields if f.type is FieldType.INTEGER and f.unit == "人"]
        self.dated = [f.name for f in fields if f.type in (FieldType.DATE, FieldType.MONTH)]
        self.money = [f.name for f in fields if f.type is FieldType.DECIMAL]
        kinds = ["duplicate_row"]
        if self.entity is not None:
            kinds += ["uscc_check", "uscc_forbidden_letter", "uscc_fullwidth"]
        if self.required:
            kinds.append("missing_required")
        if self.ranged:
            kinds.append("out_of_range")
        if self.counts:
            kinds.append("implausible_value")
        if self.dated:
            kinds.append("date_format")
        if self.money:
            kinds += ["wan_yuan", "thousands_separator"]
        self.kinds = kinds
        weights = np.array([KIND_WEIGHTS[k] for k in kinds])
        self.weights = weights / weights.sum()
        self.index = {f.name: i for i, f in enumerate(fields)}

    def _candidates(self, kind: str) -> list[str]:
        if kind.startswith("uscc"):
            return [self.entity] if self.entity is not None else []
        return {
            "missing_required": self.required,
            "out_of_range": self.ranged,
            "implausible_value": self.counts,
            "date_format": self.dated,
        }.get(kind, self.money)

    def inject(
        self,
        columns: list[pa.Array],
        days: dict[str, np.ndarray],
        rng: np.random.Generator,
        rate: float,
        corrections: float = 0.0,
        correct_field: str | None = None,
    ) -> tuple[list[pa.Array], DirtBatch]:
        """Dirty copies of ``columns`` and the items injected (rows relative to the returned columns).

        Rows are spoilt in groups of one kind and one field, so the per-item Python work is a list
        comprehension over plain strings.

        Args:
            columns: the formatted columns (dates already text) in field order.
            days: epoch days of date and period fields (to rewrite them in another convention).
            rng: the table's dirt stream.
            rate: share of rows to make dirty.
            corrections: share of the remaining rows given a wrong ``correct_field`` value (×10).
            correct_field: the field a corrected delivery fixes.
        """
        n = len(columns[0]) if columns else 0
        batch = DirtBatch()
        if n == 0 or (rate <= 0 and corrections <= 0):
            return columns, batch
        count = int(rng.binomial(n, rate)) if rate > 0 else 0
        rows = np.sort(rng.choice(n, size=count, replace=False)) if count else np.zeros(0, dtype=np.int64)
        kinds = (
            rng.choice(len(self.kinds), size=count, p=self.weights) if count else np.zeros(0, dtype=np.int64)
        )
        replacements: dict[int, dict[int, str | None]] = {}
        items: list[tuple[int, str, str | None, str | None, str | None]] = []
        duplicates: list[int] = []
        for k, kind in enumerate(self.kinds):
            rows_k = rows[kinds == k]
            if rows_k.shape[0] == 0:
                continue
            if kind == "duplicate_row":
                duplicates = rows_k.tolist()
                continue
            candidates = self._candidates(kind)
            choice = rng.integers(0, len(candidates), rows_k.shape[0])
            for i, name in enumerate(candidates):
                group = rows_k[choice == i]
                if group.shape[0] == 0:
                    continue
                j = self.index[name]
                originals = [_text(v) for v in columns[j].take(pa.array(group)).to_pylist()]
                values = self._spoil(kind, name, originals, group, days, rng)
                changed = replacements.setdefault(j, {})
                for row, value, original in zip(group.tolist(), values, originals, strict=True):
                    if value == _SKIP or original is None:
                        continue
                    changed[row] = value
                    items.append((row, kind, name, value, original))
        if corrections > 0 and correct_field is not None:
            j = self.index[correct_field]
            free = np.setdiff1d(np.arange(n), rows)
            wanted = max(1, round(free.shape[0] * corrections))
            chosen = np.sort(rng.choice(free, size=min(wanted, free.shape[0]), replace=False))
            originals = [_text(v) for v in columns[j].take(pa.array(chosen)).to_pylist()]
            for row, original in zip(chosen.tolist(), originals, strict=True):
                if original is None:
                    continue
                value = str(Decimal(original) * 10)
                replacements.setdefault(j, {})[row] = value
                items.append((row, "corrected_value", correct_field, value, original))
        out = list(columns)
        for j, changed in replacements.items():
            if not changed:
                continue
            mask = np.zeros(n, dtype=bool)
            order = sorted(changed)
            mask[order] = True
            values = pa.array([changed[r] for r in order], type=pa.string())
            base = out[j] if pa.types.is_string(out[j].type) else pc.cast(out[j], pa.string())
            out[j] = pc.replace_with_mask(base, pa.array(mask), values)
        # duplicates: an exact copy right after the original row
        shift = np.zeros(n + 1, dtype=np.int64)
        if duplicates:
            repeat = np.ones(n, dtype=np.int64)
            repeat[duplicates] = 2
            take = pa.array(np.repeat(np.arange(n), repeat))
            out = [col.take(take) for col in out]
            shift[np.array(duplicates) + 1] = 1
            shift = np.cumsum(shift)
        items.sort()
        for row, item_kind, item_field, value, original in items:
            batch.add(row + int(shift[row]), item_kind, item_field, value, original)
        for row in duplicates:
            batch.add(row + int(shift[row]) + 1, "duplicate_row", None, None, None)
        return out, batch

    def _spoil(
        self,
        kind: str,
        name: str,
        originals: list[str | None],
        rows: np.ndarray,
        days: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> list[str | None]:
        """Dirty values for one group of rows (``_SKIP`` where the row has nothing to spoil)."""
        m = len(originals)
        if kind == "missing_required":
            return [None] * m
        if kind == "uscc_check":
            shifts = (1 + rng.integers(0, 30, m)).tolist()
            return [
                _SKIP if o is None or len(o) != 18 else o[:17] + ALPHABET[(ALPHABET.index(o[17]) + d) % 31]
                for o, d in zip(originals, shifts, strict=True)
            ]
        if kind == "uscc_forbidden_letter":
            positions = rng.integers(8, 17, m).tolist()
            letters = rng.integers(0, 5, m).tolist()
            return [
                _SKIP if o is None or len(o) != 18 else o[:p] + "IOSVZ"[x] + o[p + 1 :]
                for o, p, x in zip(originals, positions, letters, strict=True)
            ]
        if kind == "uscc_fullwidth":
            lower = (rng.random(m) < 0.5).tolist()
            return [
                _SKIP
                if o is None
                else (f" {o.lower()} " if low and any(c.isalpha() for c in o) else _fullwidth(o))
                for o, low in zip(originals, lower, strict=True)
            ]
        if kind == "implausible_value":
            return ["1000000000"] * m
        f = self.source.field(name)
        if kind == "out_of_range":
            if f.maximum is not None and (f.minimum is None or rng.random() < 0.5):
                too_big = Decimal(str(f.maximum)) * 2 + 1
                return [str(int(too_big)) if f.type is FieldType.INTEGER else f"{too_big:.1f}"] * m
            out: list[str | None] = []
            for o in originals:
                if o is None:
                    out.append(_SKIP)
                    continue
                magnitude = Decimal(o).copy_abs() or Decimal(1)
                out.append(f"{-magnitude:.2f}" if f.type is FieldType.DECIMAL else str(-magnitude))
            return out
        if kind == "date_format":
            year, month, day = (x.tolist() for x in arrays.date_parts(days[name][rows]))
            if f.type is FieldType.MONTH:
                styles = [s for s in arrays.PERIOD_STYLES if s != self.spec.period_style]
                picked = rng.integers(0, len(styles), m).tolist()
                return [
                    arrays.format_date(y, mo, None, styles[p])
                    for y, mo, p in zip(year, month, picked, strict=True)
                ]
            styles = [s for s in arrays.DATE_STYLES if s != self.spec.date_style]
            picked = rng.integers(0, len(styles), m).tolist()
            return [
                arrays.format_date(y, mo, d, styles[p])
                for y, mo, d, p in zip(year, month, day, picked, strict=True)
            ]
        if kind == "thousands_separator":
            return [
                _SKIP if o is None or Decimal(o).copy_abs() < 1000 else f"{Decimal(o):,.2f}"
                for o in originals
            ]
        # wan_yuan
        if f.unit == "万元":
            return [_SKIP if o is None else f"{Decimal(o):.2f}万元" for o in originals]
        suffixes = np.where(rng.random(m) < 0.7, "万元", "万").tolist()
        return [
            _SKIP if o is None else f"{(Decimal(o) / 10000).quantize(Decimal('0.000001')).normalize():f}{sfx}"
            for o, sfx in zip(originals, suffixes, strict=True)
        ]
