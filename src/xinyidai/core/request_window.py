"""The last minutes of HTTP traffic in memory: requests, 5xx and latency quantiles by route.

Prometheus histograms (``web.middleware.Metrics``) are cumulative since the process started and their
buckets are coarse, so they cannot answer "p99 of this route over the last five minutes". The operator's
one-screen monitoring needs exactly that, so the request middleware also records every request here:

* one bucket per minute, kept for ``minutes`` minutes (older minutes are dropped as time moves on);
* inside a minute, per (method, route template): the count, the 5xx count and a sparse log-scale
  histogram of latencies (each bin 5 % wide, from 0.1 ms to beyond 100 s — at most ~300 bins), so a
  quantile read from it is within 5 % of the true value;
* the last ``keep_errors`` 5xx answers (time, method, route, status, request id) for the error tile.

Memory is bounded by minutes × routes × bins whatever the traffic; recording is O(1) under a lock.
Each worker process has its own window (the screen shows the worker that answers it; behind a load
balancer every worker sees a like share of the traffic).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

_BASE = 1.05
_LOG_BASE = math.log(_BASE)
_FLOOR_SECONDS = 0.0001  # 0.1 ms: everything faster shares the first bin


def _bin(seconds: float) -> int:
    if seconds <= _FLOOR_SECONDS:
        return 0
    return 1 + int(math.log(seconds / _FLOOR_SECONDS) / _LOG_BASE)


def _bin_upper(index: int) -> float:
    """The upper edge of a bin in seconds (a quantile is reported as its bin's upper edge)."""
    return _FLOOR_SECONDS * _BASE**index


@dataclass
class _RouteMinute:
    count: int = 0
    errors: int = 0
    bins: dict[int, int] = field(default_factory=dict)


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
class ServerError:
    """One 5xx answer: when (epoch seconds), which route, which status, and its request id for the logs."""

    at: float
    method: str
    route: str
    status: int
    request_id: str


@dataclass(frozen=True)
class TrafficSnapshot:
    """The window read at one moment: per route, the totals, and the last server errors (newest first)."""

    minutes: int
    routes: list[RouteTraffic]
    requests: int
    errors: int
    p99_ms: float
    last_errors: list[ServerError]


def _quantile(bins: dict[int, int], total: int, q: float) -> float:
    if total == 0:
        return 0.0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(bins):
        seen += bins[index]
        if seen >= rank:
            return _bin_upper(index) * 1000
    return _bin_upper(max(bins)) * 1000


class RequestWindow:
    """A thread-safe rolling window of request outcomes (see the module docstring)."""

    def __init__(
        self, minutes: int = 15, *, keep_errors: int = 20, clock: Callable[[], float] = time.time
    ) -> None:
        self.minutes = minutes
        self._clock = clock
        self._lock = threading.Lock()
        self._minutes: dict[int, dict[tuple[str, str], _RouteMinute]] = {}
        self._errors: deque[ServerError] = deque(maxlen=keep_errors)

    def record(self, method: str, route: str, status: int, seconds: float, request_id: str = "") -> None:
        """Count one answered request (its route template, status and time to answer)."""
        now = self._clock()
        minute = int(now // 60)
        with self._lock:
            buckets = self._minutes.get(minute)
            if buckets is None:
                buckets = self._minutes[minute] = {}
                for old in [m for m in self._minutes if m <= minute - self.minutes]:
                    del self._minutes[old]
            entry = buckets.get((method, route))
            if entry is None:
                entry = buckets[(method, route)] = _RouteMinute()
            entry.count += 1
            index = _bin(seconds)
            entry.bins[index] = entry.bins.get(index, 0) + 1
            if status >= 500:
                entry.errors += 1
                self._errors.append(ServerError(now, method, route, status, request_id))

    def snapshot(self, minutes: int | None = None) -> TrafficSnapshot:
        """The last ``minutes`` minutes (the whole window by default), busiest routes first."""
        span = min(minutes or self.minutes, self.minutes)
        now = self._clock()
        first = int(now // 60) - span + 1
        merged: dict[tuple[str, str], _RouteMinute] = {}
        with self._lock:
            for minute, buckets in self._minutes.items():
                if minute < first:
                    continue
                for key, entry in buckets.items():
                    into = merged.setdefault(key, _RouteMinute())
                    into.count += entry.count
                    into.errors += entry.errors
                    for index, n in entry.bins.items():
                        into.bins[index] = into.bins.get(index, 0) + n
            errors = [e for e in reversed(self._errors) if e.at >= first * 60]
        routes = [
            RouteTraffic(
                method,
                route,
                entry.count,
                entry.errors,
                _quantile(entry.bins, entry.count, 0.50),
                _quantile(entry.bins, entry.count, 0.95),
                _quantile(entry.bins, entry.count, 0.99),
            )
            for (method, route), entry in merged.items()
        ]
        routes.sort(key=lambda r: (-r.requests, r.route, r.method))
        everything: dict[int, int] = {}
        for entry in merged.values():
            for index, n in entry.bins.items():
                everything[index] = everything.get(index, 0) + n
        total = sum(r.requests for r in routes)
        return TrafficSnapshot(
            minutes=span,
            routes=routes,
            requests=total,
            errors=sum(r.errors for r in routes),
            p99_ms=_quantile(everything, total, 0.99),
            last_errors=errors,
        )
