"""The city's plan: its size, calendar and random streams.

Months are indexed over a *horizon*: ``BURN_IN`` months before the delivered window (history that event
sources deliver in their first, initial-load file and that annual figures need), the ``months`` delivered
months, and ``FUTURE`` months after them that are simulated but never delivered — they decide whether a
loan taken in the last delivered months would default within 12 months, so the ground truth is complete.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Final

import numpy as np

BURN_IN: Final = 12
FUTURE: Final = 12
CHUNK_SIZE: Final = 50_000
MAX_ENTERPRISES: Final = 10_000_000  # USCC bodies are drawn from a permutation of at most 10^7 ids
NO_EVENT: Final = np.int32(1 << 20)  # month index meaning "never within the horizon"
EPOCH: Final = date(1970, 1, 1)


def parse_month(value: date | str) -> date:
    """The first day of a month given as a date or as ``YYYY-MM`` (``YYYY-MM-DD`` is accepted too)."""
    if isinstance(value, date):
        return value.replace(day=1)
    text = value.strip()
    parts = text.split("-")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}")
    return date(int(parts[0]), int(parts[1]), 1)


def to_days(value: date) -> int:
    """Days since 1970-01-01 (Arrow's date32)."""
    return (value - EPOCH).days


def from_days(days: int) -> date:
    return EPOCH + timedelta(days=int(days))


def stream(seed: int, *key: int | str) -> np.random.Generator:
    """An independent generator for one purpose (e.g. chunk 3, source ``tax_monthly``).

    Keys are hashed into the seed sequence's spawn key, so a stream depends only on the seed and its
    key — never on which chunks or sources were generated before it.
    """
    ints = tuple(k if isinstance(k, int) else zlib.crc32(k.encode()) for k in key)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=ints)))


@dataclass(frozen=True)
class CityPlan:
    """What to generate: sizes, the window's last month, the dirt rate.

    Attributes:
        enterprises: number of enterprises that ever appear in the registry delivery.
        months: number of delivered months (the window), ending with ``end_month``.
        seed: the one seed everything derives from.
        end_month: first day of the last delivered month.
        dirt: share of delivered rows carrying one injected defect.
        chunk_size: enterprises generated together; part of the output's definition (changing it changes
            the city), never of the scheduling.
    """

    enterprises: int
    months: int
    seed: int
    end_month: date
    dirt: float
    chunk_size: int = CHUNK_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.enterprises <= MAX_ENTERPRISES:
            raise ValueError(f"enterprises must be between 1 and {MAX_ENTERPRISES}")
        if not 1 <= self.months <= 120:
            raise ValueError("months must be between 1 and 120")
        if not 0.0 <= self.dirt <= 0.5:
            raise ValueError("dirt must be between 0 and 0.5")

    @property
    def burn_in(self) -> int:
        return BURN_IN

    @property
    def observed(self) -> int:
        """Months with observable data: burn-in and window."""
        return BURN_IN + self.months

    @property
    def horizon(self) -> int:
        return BURN_IN + self.months + FUTURE

    @property
    def n_chunks(self) -> int:
        return -(-self.enterprises // self.chunk_size)

    def chunk_bounds(self, chunk: int) -> tuple[int, int]:
        lo = chunk * self.chunk_size
        return lo, min(self.enterprises, lo + self.chunk_size)

    @cached_property
    def month_days(self) -> np.ndarray:
        """First day (epoch days) of each horizon month, plus one sentinel after the last."""
        first = np.datetime64(self.end_month, "M") - (self.months - 1) - BURN_IN
        return (first + np.arange(self.horizon + 1)).astype("datetime64[D]").astype(np.int64)

    @cached_property
    def month_of_year(self) -> np.ndarray:
        """Calendar month (0 = January) of each horizon month."""
        first = np.datetime64(self.end_month, "M") - (self.months - 1) - BURN_IN
        return ((first + np.arange(self.horizon)).astype(np.int64) % 12).astype(np.int64)

    @cached_property
    def month_year(self) -> np.ndarray:
        first = np.datetime64(self.end_month, "M") - (self.months - 1) - BURN_IN
        return ((first + np.arange(self.horizon)).astype(np.int64) // 12 + 1970).astype(np.int64)

    def month(self, t: int) -> date:
        """First day of horizon month ``t``."""
        return from_days(int(self.month_days[t]))

    @property
    def start_month(self) -> date:
        return self.month(BURN_IN)

    @property
    def window_start_days(self) -> int:
        return int(self.month_days[BURN_IN])

    @property
    def end_days(self) -> int:
        """The last delivered day (last day of ``end_month``)."""
        return int(self.month_days[BURN_IN + self.months]) - 1

    def stem(self, t: int) -> str:
        """File stem of horizon month ``t``; burn-in months belong to the first (initial-load) file."""
        return self.month(max(t, BURN_IN)).strftime("%Y-%m")

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Horizon month of each day (may be negative or past the horizon)."""
        first = np.datetime64(self.end_month, "M") - (self.months - 1) - BURN_IN
        months = days.astype("datetime64[D]").astype("datetime64[M]")
        return (months - first).astype(np.int64)

    def random_days(self, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random day inside each horizon month ``t``."""
        start = self.month_days[t]
        length = self.month_days[t + 1] - start
        days: np.ndarray = start + (rng.random(t.shape[0]) * length).astype(np.int64)
        return days


class Serials:
    """Running serial numbers per namespace and key (case numbers per court and year, ...).

    Serials are handed out in row order chunk after chunk, so they are deterministic.
    """

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}

    def assign(self, namespace: str, keys: np.ndarray, start: int = 1) -> np.ndarray:
        """The next serial for each row's key, in row order."""
        if keys.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        unique, first, counts = np.unique(ordered, return_index=True, return_counts=True)
        rank = np.arange(ordered.shape[0]) - np.repeat(first, counts)
        offsets = np.empty(unique.shape[0], dtype=np.int64)
        for i, key in enumerate(unique.tolist()):
            offsets[i] = self._next.get((namespace, key), start)
            self._next[(namespace, key)] = int(offsets[i]) + int(counts[i])
        result = np.empty(keys.shape[0], dtype=np.int64)
        result[order] = rank + np.repeat(offsets, counts)
        return result
