"""The last minutes of HTTP traffic in memory: requests, 5xx and latency quantiles by route.

Prometheus histograms (``web.middleware.Metrics``) are cumulative since the process started and their
buckets are coarse, so they cannot answer "p99 of this route over the last five minutes". The operator's
one-screen monitoring needs exactly that, so the request middleware also records every request here:

* one bucket per minute, kept for ``minutes`` minutes (older minutes are dropped as time moves on);
* inside a minute, per (method, route template): the count, the 5xx count, a sparse log-scale
  histogram of latencies (each bin 5 % wide, from 0.1 ms to beyond 100 s — at most ~300 bins), so a
  quantile read from it is within 5 % of the true value, and the last ``ERRORS_KEPT`` 5xx answers
  (time, status, request id) for the error tile.

Memory is bounded by minutes × routes × bins whatever the traffic; recording is O(1) under a lock.
Each worker process records into its own window; ``core.request_metrics`` writes every worker's changed
minutes to one table and merges them back, so the screen shows the whole platform's traffic. Histograms
add bin by bin, so ``summarise`` gives the same quantiles for minutes merged from any number of workers.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

_BASE = 1.05
_LOG_BASE = math.log(_BASE)
_FLOOR_SECONDS = 0.0001  # 0.1 ms: everything faster shares the first bin
ERRORS_KEPT = 5  # the last 5xx answers kept per route and minute
ERRORS_SHOWN = 20  # the last 5xx answers a snapshot lists

RouteKey = tuple[str, str]  # (method, route template)


def _bin(seconds: float) -> int:
    if seconds <= _FLOOR_SECONDS:
        return 0
    return 1 + int(math.log(seconds / _FLOOR_SECONDS) / _LOG_BASE)


def _bin_upper(index: int) -> float:
    """The upper edge of a bin in seconds (a quantile is reported as its bin's upper edge)."""
    return _FLOOR_SECONDS * _BASE**index


def quantile_ms(bins: Mapping[int, int], total: int, q: float) -> float:
    """The ``q`` quantile in milliseconds of a latency histogram holding ``total`` requests."""
    if total == 0:
        return 0.0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(bins):
        seen += bins[index]
        if seen >= rank:
            return _bin_upper(index) * 1000
    return _bin_upper(max(bins)) * 1000


@dataclass(frozen=True)
class ServerError:
    """One 5xx answer: when (epoch seconds), which route, which status, and its request id for the logs."""

    at: float
    method: str
    route: str
    status: int
    request_id: str


@dataclass
class RouteMinute:
    """One route's requests over some minutes: count, 5xx count, latency histogram, last 5xx answers."""

    count: int = 0
    errors: int = 0
    bins: dict[int, int] = field(default_factory=dict)
    last_errors: list[ServerError] = field(default_factory=list)

    def add(self, other: RouteMinute) -> None:
        """Add another worker's or minute's figures to these (histograms bin by bin)."""
        self.count += other.count
        self.errors += other.errors
        for index, n in other.bins.items():
            self.bins[index] = self.bins.get(index, 0) + n
        self.last_errors.extend(other.last_errors)

    def copy(self) -> RouteMinute:
        return RouteMinute(self.count, self.errors, dict(self.bins), list(self.last_errors))


@dataclass(frozen=True)
class RouteTraffic:
    """One route over the window: requests, 5xx answers, and latency quantiles in milliseconds."""

    method: str
    route: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class TrafficSnapshot:
    """The window read at one moment: per route, the totals, and the last server errors (newest first).

    ``workers``: how many worker processes' traffic it holds (1 for one window on its own).
    """

    minutes: int
    routes: list[RouteTraffic]
    requests: int
    errors: int
    p99_ms: float
    last_errors: list[ServerError]
    workers: int = 1


def summarise(merged: Mapping[RouteKey, RouteMinute], minutes: int, *, workers: int = 1) -> TrafficSnapshot:
    """Routes (busiest first), totals and quantiles of route figures merged over ``minutes`` minutes."""
    routes = [
        RouteTraffic(
            method,
            route,
            entry.count,
            entry.errors,
            quantile_ms(entry.bins, entry.count, 0.50),
            quantile_ms(entry.bins, entry.count, 0.95),
            quantile_ms(entry.bins, entry.count, 0.99),
        )
        for (method, route), entry in merged.items()
    ]
    routes.sort(key=lambda r: (-r.requests, r.route, r.method))
    everything = RouteMinute()
    for entry in merged.values():
        everything.add(entry)
    everything.last_errors.sort(key=lambda e: -e.at)
    return TrafficSnapshot(
        minutes=minutes,
        routes=routes,
        requests=everything.count,
        errors=everything.errors,
        p99_ms=quantile_ms(everything.bins, everything.count, 0.99),
        last_errors=everything.last_errors[:ERRORS_SHOWN],
        workers=workers,
    )


class RequestWindow:
    """A thread-safe rolling window of request outcomes (see the module docstring).

    ``worker`` names the process in the shared table (``host:pid`` unless given — read when asked, so
    a window built before a fork still names the worker it records in).
    """

    def __init__(
        self,
        minutes: int = 15,
        *,
        worker: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.minutes = minutes
        self.clock = clock
        self._worker = worker
        self._lock = threading.Lock()
        self._minutes: dict[int, dict[RouteKey, RouteMinute]] = {}
        self._changed: set[int] = set()  # minutes recorded into since the last ``take_changes``

    @property
    def worker(self) -> str:
        return self._worker or f"{socket.gethostname()}:{os.getpid()}"

    def record(self, method: str, route: str, status: int, seconds: float, request_id: str = "") -> None:
        """Count one answered request (its route template, status and time to answer)."""
        now = self.clock()
        minute = int(now // 60)
        with self._lock:
            buckets = self._minutes.get(minute)
            if buckets is None:
                buckets = self._minutes[minute] = {}
                for old in [m for m in self._minutes if m <= minute - self.minutes]:
                    del self._minutes[old]
            entry = buckets.get((method, route))
            if entry is None:
                entry = buckets[(method, route)] = RouteMinute()
            entry.count += 1
            index = _bin(seconds)
            entry.bins[index] = entry.bins.get(index, 0) + 1
            if status >= 500:
                entry.errors += 1
                entry.last_errors.append(ServerError(now, method, route, status, request_id))
                del entry.last_errors[:-ERRORS_KEPT]
            self._changed.add(minute)

    def routes(self, minutes: int | None = None) -> dict[RouteKey, RouteMinute]:
        """Each route's figures merged over the last ``minutes`` minutes (the whole window by default)."""
        first = int(self.clock() // 60) - self.span(minutes) + 1
        merged: dict[RouteKey, RouteMinute] = {}
        with self._lock:
            for minute, buckets in self._minutes.items():
                if minute >= first:
                    for key, entry in buckets.items():
                        merged.setdefault(key, RouteMinute()).add(entry)
        return merged

    def span(self, minutes: int | None = None) -> int:
        """The minutes a read covers: ``minutes``, at most the window."""
        return min(minutes or self.minutes, self.minutes)

    def snapshot(self, minutes: int | None = None) -> TrafficSnapshot:
        """The last ``minutes`` minutes (the whole window by default), busiest routes first."""
        return summarise(self.routes(minutes), self.span(minutes))

    def take_changes(self) -> dict[int, dict[RouteKey, RouteMinute]]:
        """A copy of each minute (epoch minute → routes) recorded into since the last call.

        The minute's whole figures, not the increments: writing them again is harmless.
        """
        with self._lock:
            changed = {
                minute: {key: entry.copy() for key, entry in self._minutes[minute].items()}
                for minute in self._changed
                if minute in self._minutes
            }
            self._changed.clear()
        return changed

    def mark_changed(self, minutes: Iterable[int]) -> None:
        """Hand minutes back to the next ``take_changes`` (their write failed)."""
        with self._lock:
            self._changed.update(minutes)
