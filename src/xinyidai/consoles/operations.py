"""The operator's one-screen monitoring (一屏统管): is the platform healthy, and what needs a person now?

Six tiles, each computed from cheap aggregate queries (no scan grows with the number of enterprises):

* **Data sources** — per catalogue source, the last delivery received (``ingest_batches``, the lake
  manifest where the database has none) against its declared frequency, and the newest quality run's
  result for it. Red: no delivery for longer than the frequency allows; blocking quality failures;
  deliveries refused in the last 24 hours.
* **Pipeline runs** — the newest ingestion batch, quality run, rating run and monitoring run with their
  durations, and the notification delivery backlog. Red: a run that never finished, a quality run with
  blocking failures, deliveries waiting for more than 15 minutes.
* **API traffic** — requests, 5xx and p50/p95/p99 by route over the last minutes, of every worker process:
  the others' minutes from ``request_minutes``, this worker's from its own ``RequestWindow``
  (``core.request_metrics.shared_snapshot``); with the number of workers reporting. Red: a 5xx share above
  1 %, a route's p99 above 1 s.
* **Active users** — people with a request in the last 15 minutes, by kind of organisation.
* **Open alerts** — monitoring alerts by colour, objections, dead deliveries. Red: a red alert nobody
  touched for a day, an objection past its legal deadline, a dead delivery.
* **Errors** — the last server errors of every worker with their request ids (to find them in the logs;
  each worker's row keeps the last five of its route and minute).

Everything that turns red carries its reason, written on the tile. The screen is built at most every
``CACHE_SECONDS`` (``ScreenCache``) whatever the number of people watching it, and presented in each
viewer's language by ``present``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import LoginSession, Organisation, User
from xinyidai.core import i18n
from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import SHANGHAI, utcnow
from xinyidai.core.delivery.models import Delivery
from xinyidai.core.i18n import N_
from xinyidai.core.request_metrics import shared_snapshot
from xinyidai.core.request_window import RequestWindow, TrafficSnapshot
from xinyidai.data import service as data_service
from xinyidai.data.catalogue import Frequency, catalogue
from xinyidai.data.lake import Lake
from xinyidai.data.models import IngestBatch, QualityResult, QualityRun
from xinyidai.monitoring.models import Alert, MonitoringRun
from xinyidai.rating.models import RatingRun
from xinyidai.rating.objection_models import DataObjection

__all__ = [
    "CACHE_SECONDS",
    "OK",
    "RED",
    "Screen",
    "ScreenCache",
    "Thresholds",
    "Tile",
    "build_screen",
    "present",
]

CACHE_SECONDS = 10.0

OK, WARN, RED, IDLE = "ok", "warn", "red", "idle"
_ORDER = {IDLE: 0, OK: 1, WARN: 2, RED: 3}

# How long after its last delivery a source is overdue: its period plus a grace for the department's
# usual delay (monthly files arrive by the middle of the next month).
MAX_AGE_DAYS: Mapping[Frequency, int] = {
    Frequency.REALTIME: 1,
    Frequency.DAILY: 2,
    Frequency.MONTHLY: 45,
    Frequency.QUARTERLY: 105,
    Frequency.YEARLY: 400,
}
FREQUENCY_LABELS: Mapping[Frequency, str] = {
    Frequency.REALTIME: N_("real time"),
    Frequency.DAILY: N_("daily"),
    Frequency.MONTHLY: N_("monthly"),
    Frequency.QUARTERLY: N_("quarterly"),
    Frequency.YEARLY: N_("yearly"),
}
KIND_LABELS: Mapping[str, str] = {
    "enterprise": N_("Enterprises"),
    "institution": N_("Financial institutions"),
    "department": N_("Government departments"),
    "operator": N_("Platform operator"),
}


@dataclass(frozen=True)
class Thresholds:
    """When a tile turns red (the defaults are the platform's service levels)."""

    traffic_minutes: int = 5  # the window the traffic and error tiles cover
    error_rate: float = 0.01  # share of 5xx answers
    p99_seconds: float = 1.0
    p99_min_requests: int = 10  # a route's p99 counts once it has this many requests in the window
    active_minutes: int = 15
    red_alert_untouched: timedelta = timedelta(days=1)
    delivery_wait: timedelta = timedelta(minutes=15)
    run_stuck: timedelta = timedelta(hours=2)  # a run started this long ago and not finished
    refused_window: timedelta = timedelta(hours=24)
    quality_warn_score: float = 90.0


@dataclass(frozen=True)
class Text:
    """A message id and its parameters, translated when presented."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, locale: str) -> str:
        return i18n.translate(self.msgid, dict(self.params), locale)


@dataclass(frozen=True)
class Named:
    """A name that exists in Chinese and English (a catalogue source's)."""

    zh: str
    en: str


Cell = str | int | float | Text | Named | None


@dataclass
class Figure:
    label: str  # message id
    value: Cell
    status: str = OK


@dataclass
class Row:
    cells: list[Cell]
    status: str = OK
    reasons: list[Text] = field(default_factory=list)
    link: str | None = None


@dataclass
class Tile:
    """One tile: headline figures, a table, and the reasons it is red (or amber)."""

    id: str
    title: str  # message id
    columns: list[str]  # message ids
    figures: list[Figure] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    reasons: list[Text] = field(default_factory=list)  # tile-level reasons (not tied to a row)
    reason_status: str = OK  # the status the tile-level reasons carry
    link: str | None = None

    @property
    def status(self) -> str:
        statuses = [self.reason_status if self.reasons else OK]
        statuses += [f.status for f in self.figures] + [r.status for r in self.rows]
        return max(statuses, key=_ORDER.__getitem__)

    def all_reasons(self) -> list[Text]:
        """Every reason on the tile: red ones first, then amber."""
        out = list(self.reasons) if self.reason_status == RED else []
        out += [t for r in self.rows if r.status == RED for t in r.reasons]
        out += list(self.reasons) if self.reason_status == WARN else []
        out += [t for r in self.rows if r.status == WARN for t in r.reasons]
        return out


@dataclass
class Screen:
    built_at: datetime
    tiles: list[Tile]

    @property
    def status(self) -> str:
        return max((t.status for t in self.tiles), key=_ORDER.__getitem__, default=OK)

    def tile(self, tile_id: str) -> Tile:
        return next(t for t in self.tiles if t.id == tile_id)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for aggregates (max/min bypass the column type): they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds(value: object) -> str:
    return "—" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


# -- data sources -------------------------------------------------------------------------------------------
def _last_receipts(session: Session, lake: Lake | None) -> dict[str, datetime]:
    """Each catalogue source's newest delivery received: one walk back along its part of the
    ``(source_id, received_at)`` index to its newest published batch, not a scan of every batch."""
    found: dict[str, datetime] = {}
    for source_id in catalogue().sources:
        received = session.scalar(
            select(IngestBatch.received_at)
            .where(IngestBatch.source_id == source_id, IngestBatch.status.in_(("published", "superseded")))
            .order_by(IngestBatch.received_at.desc())
            .limit(1)
        )
        if received is not None:
            found[source_id] = _aware(received)
        elif lake is not None:  # a lake filled elsewhere: its manifest is the record
            batches = lake.manifest(source_id).batches
            if batches:
                found[source_id] = max(b.received_at for b in batches)
    return found


def _sources_tile(session: Session, lake: Lake | None, now: datetime, limits: Thresholds) -> Tile:
    receipts = _last_receipts(session, lake)
    quality = data_service.latest_quality_by_source(session)
    latest_run = session.scalar(select(func.max(QualityRun.id)))
    blocking: dict[str, int] = {}
    if latest_run is not None:
        blocking = {
            source_id: int(n)
            for source_id, n in session.execute(
                select(QualityResult.source_id, func.count())
                .where(QualityResult.run_id == latest_run, QualityResult.blocking.is_(True))
                .group_by(QualityResult.source_id)
            )
        }
    refused = {
        source_id: int(n)
        for source_id, n in session.execute(
            select(IngestBatch.source_id, func.count())
            .where(IngestBatch.status == "failed", IngestBatch.started_at >= now - limits.refused_window)
            .group_by(IngestBatch.source_id)
        )
    }
    tile = Tile(
        "sources",
        N_("Data sources"),
        [N_("Source"), N_("Frequency"), N_("Last delivery"), N_("Days since"), N_("Quality")],
        link="/operator/data",
    )
    fresh = stale = 0
    for source in catalogue().sources.values():
        received = receipts.get(source.id)
        allowed = MAX_AGE_DAYS[source.frequency]
        frequency = Text(FREQUENCY_LABELS[source.frequency])
        row = Row([Named(source.name_zh, source.name_en), frequency, _local(received), None, None])
        row.link = f"/operator/data/{source.id}"
        if received is None:
            row.status = IDLE
            row.reasons.append(Text(N_("%(source)s: never delivered"), {"source": source.name_zh}))
        else:
            days = (now - received).days
            row.cells[3] = days
            if days > allowed:
                stale += 1
                row.status = RED
                row.reasons.append(
                    Text(
                        N_("%(source)s: no delivery for %(days)s days (a %(frequency_label)s source is "
                           "expected within %(allowed)s days)"),
                        {"source": source.name_zh, "days": days, "frequency_label":
                         FREQUENCY_LABELS[source.frequency], "allowed": allowed},
                    )
                )  # fmt: skip
            else:
                fresh += 1
        judged = quality.get(source.id)
        if judged is not None:
            row.cells[4] = f"{judged.score:.0f}%"
            if blocking.get(source.id):
                row.status = RED
                row.reasons.append(
                    Text(
                        N_("%(source)s: %(count)s blocking quality rules failed in the run of %(date)s"),
                        {"source": source.name_zh, "count": blocking[source.id], "date": judged.as_of},
                    )
                )
            elif judged.score < limits.quality_warn_score and row.status != RED:
                row.status = WARN
                row.reasons.append(
                    Text(
                        N_("%(source)s: only %(score)s%% of its quality rules passed"),
                        {"source": source.name_zh, "score": f"{judged.score:.0f}"},
                    )
                )
        if refused.get(source.id):
            row.status = RED
            row.reasons.append(
                Text(
                    N_("%(source)s: %(count)s deliveries refused in the last 24 hours"),
                    {"source": source.name_zh, "count": refused[source.id]},
                )
            )
        tile.rows.append(row)
    tile.rows.sort(key=lambda r: -_ORDER[r.status])
    tile.figures = [
        Figure(N_("Sources"), len(tile.rows)),
        Figure(N_("On time"), fresh),
        Figure(N_("Overdue"), stale, RED if stale else OK),
    ]
    return tile


# -- pipeline runs ------------------------------------------------------------------------------------------
def _pipeline_tile(session: Session, now: datetime, limits: Thresholds) -> Tile:
    tile = Tile(
        "pipeline",
        N_("Pipeline runs"),
        [N_("Step"), N_("Last started"), N_("Seconds"), N_("Outcome")],
    )
    batch = session.scalars(select(IngestBatch).order_by(IngestBatch.started_at.desc()).limit(1)).first()
    day_ago = now - limits.refused_window
    batches_day = session.scalar(select(func.count()).where(IngestBatch.started_at >= day_ago)) or 0
    row = Row([Text(N_("Ingestion")), "—", "—", Text(N_("No delivery yet"))], IDLE, link="/operator/data")
    if batch is not None:
        started = _aware(batch.started_at)
        took = (_aware(batch.published_at) - started).total_seconds() if batch.published_at else None
        row.cells = [
            Text(N_("Ingestion")),
            _local(started),
            _seconds(took),
            Text(N_("%(count)s deliveries in 24 hours; the last: %(status)s"),
                 {"count": batches_day, "status": batch.status}),
        ]  # fmt: skip
        row.status = OK
        pending_since = session.scalar(
            select(func.min(IngestBatch.started_at)).where(IngestBatch.status == "pending")
        )
        if pending_since is not None and now - _aware(pending_since) > limits.run_stuck:
            row.status = RED
            row.reasons.append(
                Text(
                    N_("A delivery has been pending since %(time)s"), {"time": _local(_aware(pending_since))}
                )
            )
    tile.rows.append(row)

    run = session.scalars(select(QualityRun).order_by(QualityRun.id.desc()).limit(1)).first()
    row = Row([Text(N_("Data quality")), "—", "—", Text(N_("No run yet"))], IDLE, link="/operator/quality")
    if run is not None:
        row = Row(
            [
                Text(N_("Data quality")),
                _local(_aware(run.started_at)),
                _seconds(run.elapsed_seconds if run.finished_at else None),
                Text(N_("As of %(date)s: %(failed)s of %(total)s rules failed, %(blocking)s blocking"),
                     {"date": run.as_of, "failed": run.rules_failed, "total": run.rules_total,
                      "blocking": run.rules_blocking}),
            ],
            OK,
            link=f"/operator/quality/{run.id}",
        )  # fmt: skip
        if run.rules_blocking:
            row.status = RED
            row.reasons.append(
                Text(N_("The quality run as of %(date)s failed: %(count)s blocking rules"),
                     {"date": run.as_of, "count": run.rules_blocking})
            )  # fmt: skip
        elif run.finished_at is None and now - _aware(run.started_at) > limits.run_stuck:
            row.status = RED
            row.reasons.append(Text(N_("The quality run as of %(date)s did not finish"), {"date": run.as_of}))
    tile.rows.append(row)

    rated = session.scalars(select(RatingRun).order_by(RatingRun.id.desc()).limit(1)).first()
    row = Row([Text(N_("Rating")), "—", "—", Text(N_("No run yet"))], IDLE, link="/operator/models")
    if rated is not None:
        row = Row(
            [
                Text(N_("Rating")),
                _local(_aware(rated.created_at)),
                _seconds(rated.elapsed_seconds),
                Text(N_("As of %(date)s: %(count)s enterprises rated"),
                     {"date": rated.as_of, "count": f"{rated.enterprises:,}"}),
            ],
            OK,
            link="/operator/models",
        )  # fmt: skip
    tile.rows.append(row)

    watched = session.scalars(select(MonitoringRun).order_by(MonitoringRun.id.desc()).limit(1)).first()
    row = Row([Text(N_("Risk monitoring")), "—", "—", Text(N_("No run yet"))], IDLE, link="/monitoring")
    if watched is not None:
        row = Row(
            [
                Text(N_("Risk monitoring")),
                _local(_aware(watched.started_at)),
                _seconds(watched.seconds if watched.finished_at else None),
                Text(N_("%(hits)s hits, %(raised)s alerts raised, %(cleared)s cleared"),
                     {"hits": watched.hits, "raised": watched.alerts_raised,
                      "cleared": watched.alerts_cleared}),
            ],
            OK,
            link="/monitoring",
        )  # fmt: skip
        if watched.finished_at is None and now - _aware(watched.started_at) > limits.run_stuck:
            row.status = RED
            row.reasons.append(
                Text(N_("The monitoring run started %(time)s did not finish"),
                     {"time": _local(_aware(watched.started_at))})
            )  # fmt: skip
    tile.rows.append(row)

    waiting, oldest = session.execute(
        select(func.count(), func.min(Delivery.next_attempt_at)).where(
            Delivery.status.in_(("pending", "sending"))
        )
    ).one()
    overdue = (
        session.scalar(
            select(func.count()).where(
                Delivery.status.in_(("pending", "sending")),
                Delivery.next_attempt_at < now - limits.delivery_wait,
            )
        )
        or 0
    )
    row = Row(
        [
            Text(N_("Notification delivery")),
            _local(_aware(oldest)) if oldest else "—",
            "—",
            Text(N_("%(count)s waiting to be sent"), {"count": int(waiting or 0)}),
        ],
        OK,
        link="/operator/deliveries",
    )
    if overdue:
        row.status = RED
        row.reasons.append(
            Text(N_("%(count)s deliveries have waited more than %(minutes)s minutes"),
                 {"count": overdue, "minutes": int(limits.delivery_wait.total_seconds() // 60)})
        )  # fmt: skip
    tile.rows.append(row)
    tile.figures = [
        Figure(N_("Deliveries in 24 hours"), int(batches_day)),
        Figure(N_("Notifications waiting"), int(waiting or 0), RED if overdue else OK),
    ]
    return tile


# -- traffic and errors -------------------------------------------------------------------------------------
def _traffic_tiles(snap: TrafficSnapshot | None, limits: Thresholds) -> tuple[Tile, Tile]:
    traffic = Tile(
        "traffic",
        N_("API traffic"),
        [N_("Route"), N_("Requests"), N_("5xx"), N_("p50 ms"), N_("p95 ms"), N_("p99 ms")],
    )
    errors = Tile("errors", N_("Errors"), [N_("Time"), N_("Route"), N_("Status"), N_("Request id")])
    if snap is None:
        traffic.reasons = [Text(N_("This process keeps no traffic window"))]
        traffic.reason_status = IDLE
        return traffic, errors
    for route in snap.routes[:15]:
        row = Row(
            [f"{route.method} {route.route}", route.requests, route.errors,
             round(route.p50_ms), round(route.p95_ms), round(route.p99_ms)]
        )  # fmt: skip
        if route.requests >= limits.p99_min_requests and route.p99_ms > limits.p99_seconds * 1000:
            row.status = RED
            row.reasons.append(
                Text(N_("%(route)s: p99 %(ms)s ms is above %(limit)s ms"),
                     {"route": f"{route.method} {route.route}", "ms": round(route.p99_ms),
                      "limit": round(limits.p99_seconds * 1000)})
            )  # fmt: skip
        if route.errors and route.error_rate > limits.error_rate:
            row.status = RED
            row.reasons.append(
                Text(N_("%(route)s: %(errors)s of %(requests)s requests answered 5xx"),
                     {"route": f"{route.method} {route.route}", "errors": route.errors,
                      "requests": route.requests})
            )  # fmt: skip
        traffic.rows.append(row)
    rate = snap.errors / snap.requests if snap.requests else 0.0
    error_status = RED if snap.errors and rate > limits.error_rate else OK
    traffic.figures = [
        Figure(N_("Requests per minute"), round(snap.requests / max(snap.minutes, 1), 1)),
        Figure(N_("5xx share"), f"{rate * 100:.2f}%", error_status),
        Figure(N_("p99 ms"), round(snap.p99_ms)),
        Figure(N_("Minutes covered"), snap.minutes),
        Figure(N_("Workers reporting"), snap.workers),
    ]
    errors.figures = [Figure(N_("5xx answers"), snap.errors, error_status)]
    if error_status == RED:
        errors.reasons = [
            Text(N_("%(errors)s of %(requests)s requests in the last %(minutes)s minutes answered 5xx"),
                 {"errors": snap.errors, "requests": snap.requests, "minutes": snap.minutes})
        ]  # fmt: skip
        errors.reason_status = RED
    for error in snap.last_errors[:10]:
        moment = datetime.fromtimestamp(error.at, SHANGHAI).strftime("%H:%M:%S")
        errors.rows.append(Row([moment, f"{error.method} {error.route}", error.status, error.request_id]))
    return traffic, errors


# -- people and alerts --------------------------------------------------------------------------------------
def _users_tile(session: Session, now: datetime, limits: Thresholds) -> Tile:
    since = now - timedelta(minutes=limits.active_minutes)
    tile = Tile("users", N_("Active users"), [N_("Organisation kind"), N_("People"), N_("Sessions")])
    stmt = (
        select(Organisation.kind, func.count(func.distinct(LoginSession.user_id)), func.count())
        .join(User, User.id == LoginSession.user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(LoginSession.last_seen_at >= since)
        .group_by(Organisation.kind)
    )
    people = sessions = 0
    for kind, users, count in session.execute(stmt):
        people += int(users)
        sessions += int(count)
        tile.rows.append(Row([Text(KIND_LABELS.get(kind, kind)), int(users), int(count)]))
    tile.figures = [
        Figure(N_("People active in the last 15 minutes"), people),
        Figure(N_("Sessions"), sessions),
    ]
    return tile


def _alerts_tile(session: Session, now: datetime, limits: Thresholds) -> Tile:
    tile = Tile("alerts", N_("Open alerts"), [N_("What"), N_("Open"), N_("Needs a person")])
    # one pass over the open alerts: how many of each colour, and how many nobody touched for long
    stale = (Alert.status == "new") & (Alert.raised_at < now - limits.red_alert_untouched)
    by_severity: dict[str, int] = {}
    untouched_by: dict[str, int] = {}
    for severity, count, untouched_count in session.execute(
        select(Alert.severity, func.count(), func.coalesce(func.sum(case((stale, 1), else_=0)), 0))
        .where(Alert.status.in_(("new", "acknowledged")))
        .group_by(Alert.severity)
    ):
        by_severity[severity] = int(count)
        untouched_by[severity] = int(untouched_count)
    untouched = untouched_by.get("high", 0)
    colours = ((N_("Red alerts"), "high"), (N_("Orange alerts"), "medium"), (N_("Yellow alerts"), "low"))
    for label, severity in colours:
        count = int(by_severity.get(severity, 0))
        row = Row([Text(label), count, 0], link=f"/monitoring/alerts?severity={severity}")
        if severity == "high" and untouched:
            row.cells[2] = untouched
            row.status = RED
            row.reasons.append(
                Text(N_("%(count)s red alerts untouched for more than a day"), {"count": untouched})
            )
        tile.rows.append(row)
    open_objections, overdue = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((DataObjection.due_at < now, 1), else_=0)), 0),
        ).where(DataObjection.status == "open")
    ).one()
    row = Row([Text(N_("Objections awaiting an answer")), int(open_objections), int(overdue)],
              link="/operator/objections?status=open")  # fmt: skip
    if overdue:
        row.status = RED
        row.link = "/operator/objections?overdue=1"
        row.reasons.append(
            Text(N_("%(count)s objections are past their answer deadline"), {"count": int(overdue)})
        )
    tile.rows.append(row)
    dead = session.scalar(select(func.count()).where(Delivery.status == "dead")) or 0
    row = Row([Text(N_("Dead deliveries")), int(dead), int(dead)], link="/operator/deliveries?status=dead")
    if dead:
        row.status = RED
        row.reasons.append(Text(N_("%(count)s notifications could not be delivered"), {"count": int(dead)}))
    tile.rows.append(row)
    needing = untouched + int(overdue) + int(dead)
    tile.figures = [
        Figure(N_("Open risk alerts"), sum(int(v) for v in by_severity.values())),
        Figure(N_("Need a person"), needing, RED if needing else OK),
    ]
    return tile


# -- the screen ---------------------------------------------------------------------------------------------
def build_screen(
    session: Session,
    lake: Lake | None,
    window: RequestWindow | None,
    principal: Principal,
    *,
    now: datetime | None = None,
    limits: Thresholds | None = None,
    reuse: Mapping[str, Tile] | None = None,
) -> Screen:
    """Compute every tile now (operator staff only); prefer ``ScreenCache.get`` on a page.

    ``window``: this worker's request window; the other workers' traffic is read from ``request_minutes``.

    ``reuse``: tiles computed a little earlier to keep as they are (``ScreenCache`` passes the data
    sources tile, whose figures move by days, so that it is recomputed once a minute, not every 10 s).
    """
    require(principal, Permission.OPERATIONS_SCREEN)
    now = now or utcnow()
    limits = limits or Thresholds()
    reuse = reuse or {}
    snap = shared_snapshot(session, window, limits.traffic_minutes) if window is not None else None
    traffic, errors = _traffic_tiles(snap, limits)
    return Screen(
        built_at=now,
        tiles=[
            reuse.get("sources") or _sources_tile(session, lake, now, limits),
            _pipeline_tile(session, now, limits),
            traffic,
            _alerts_tile(session, now, limits),
            _users_tile(session, now, limits),
            errors,
        ],
    )


SLOW_TILES = frozenset({"sources"})  # figures that move by days: recomputed every SLOW_CACHE_SECONDS
SLOW_CACHE_SECONDS = 60.0


class ScreenCache:
    """The newest screen, rebuilt at most every ``seconds`` — however many people watch it.

    The data sources tile (figures that move by days) is rebuilt at most every ``slow_seconds``;
    ``build`` receives the tiles to reuse.
    """

    def __init__(
        self,
        seconds: float = CACHE_SECONDS,
        slow_seconds: float = SLOW_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.slow_seconds = slow_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._screen: Screen | None = None
        self._at = 0.0
        self._slow_at = 0.0

    def get(self, build: Callable[[Mapping[str, Tile]], Screen]) -> Screen:
        with self._lock:
            now = self._clock()
            if self._screen is None or now - self._at >= self.seconds:
                reuse: dict[str, Tile] = {}
                if self._screen is not None and now - self._slow_at < self.slow_seconds:
                    reuse = {t.id: t for t in self._screen.tiles if t.id in SLOW_TILES}
                self._screen = build(reuse)
                self._at = now
                if not reuse:
                    self._slow_at = now
            return self._screen


def _cell(value: Cell, locale: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, Text):
        return value.render(locale)
    if isinstance(value, Named):
        return value.zh if locale == i18n.DEFAULT_LOCALE else value.en
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def present(screen: Screen, locale: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The screen as the page and ``/operator/screen.json`` show it, in ``locale``: plain strings only."""
    now = now or utcnow()
    tiles: list[dict[str, Any]] = []
    for tile in screen.tiles:
        tiles.append(
            {
                "id": tile.id,
                "title": i18n.gettext(tile.title, locale),
                "status": tile.status,
                "link": tile.link,
                "figures": [
                    {
                        "label": i18n.gettext(f.label, locale),
                        "value": _cell(f.value, locale),
                        "status": f.status,
                    }
                    for f in tile.figures
                ],
                "reasons": [t.render(locale) for t in tile.all_reasons()],
                "columns": [i18n.gettext(c, locale) for c in tile.columns],
                "rows": [
                    {
                        "cells": [_cell(c, locale) for c in row.cells],
                        "status": row.status,
                        "reason": "；".join(t.render(locale) for t in row.reasons),
                        "link": row.link,
                    }
                    for row in tile.rows
                ],
            }
        )
    return {
        "status": screen.status,
        "built_at": screen.built_at.isoformat(),
        "built_at_local": screen.built_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        "age_seconds": max(0, round((now - screen.built_at).total_seconds())),
        "refresh_seconds": CACHE_SECONDS,
        "tiles": tiles,
    }
