"""Quality runs: evaluate the rules, keep the results, write the dated report, alert the data admins.

``run_quality`` is the daily job (``xinyidai quality run``, the data admin's "run now" button, the demo).
A run is one unit of work: its results, its report and its alerts are saved together or not at all.
Alerts go to the operator's data admins, one per source with failing warning- or error-level rules, and
only when that set of failing rules differs from the previous run's — a source that stays broken is
shown on the pages every day but does not fill the inbox with the same message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from xinyidai.core import notifications
from xinyidai.core.access import Permission, Principal, Role, require
from xinyidai.core.clock import SHANGHAI, utcnow
from xinyidai.core.errors import NotFound
from xinyidai.core.i18n import N_
from xinyidai.data.catalogue import catalogue
from xinyidai.data.lake import Lake
from xinyidai.data.models import QualityResult, QualityRun
from xinyidai.data.quality.engine import RuleOutcome, check_lake
from xinyidai.data.quality.report import write_report
from xinyidai.data.quality.rules import Severity

__all__ = [
    "SourceQuality",
    "get_quality_run",
    "latest_quality_by_source",
    "list_quality_runs",
    "quality_trend",
    "run_quality",
]

ALERT_TOPIC = "data_quality"


def _blocking(outcome: RuleOutcome) -> bool:
    lake_failed = int(outcome.detail.get("lake_failed", outcome.rows_failed))
    return outcome.rule.blocking and not outcome.passed and lake_failed > 0


def run_quality(
    session: Session,
    lake: Lake,
    *,
    as_of: date | None = None,
    period: str | None = None,
    triggered_by: str = "",
    report_dir: Path | None = None,
    home: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> QualityRun:
    """Run every quality rule over the lake as of ``as_of`` (default: today in Asia/Shanghai).

    Args:
        period: the month to check (``YYYY-MM``); default the newest month delivered by ``as_of``.
        triggered_by: who or what started the run (a username, ``cli``, ``demo``).
        report_dir: where the Excel report goes (e.g. ``XYD_HOME/reports/quality``); none when None.
        home: the installation folder the stored report path is relative to.

    Returns:
        The saved run (flushed; the caller commits) with its results.
    """
    as_of = as_of or utcnow().astimezone(SHANGHAI).date()
    started = time.perf_counter()
    started_at = utcnow()
    outcomes = check_lake(lake, as_of=as_of, period=period, progress=progress)
    elapsed = time.perf_counter() - started
    checked_period = next((o.period for o in outcomes if o.period), period)
    failed = [o for o in outcomes if not o.passed]
    run = QualityRun(
        as_of=as_of,
        period=checked_period,
        started_at=started_at,
        finished_at=utcnow(),
        triggered_by=triggered_by,
        rules_total=len(outcomes),
        rules_failed=len(failed),
        rules_blocking=sum(1 for o in outcomes if _blocking(o)),
        score=_score(len(outcomes) - len(failed), len(outcomes)),
        elapsed_seconds=Decimal(f"{elapsed:.3f}"),
    )
    run.results = [
        QualityResult(
            rule_id=o.rule.id,
            source_id=o.rule.source_id,
            kind=o.rule.kind.value,
            severity=o.rule.severity.value,
            rows_checked=o.rows_checked,
            rows_failed=o.rows_failed,
            pass_rate=Decimal(f"{o.pass_rate:.4f}"),
            passed=o.passed,
            blocking=_blocking(o),
            detail=o.detail,
        )
        for o in outcomes
    ]
    previous = session.scalars(select(QualityRun).order_by(QualityRun.id.desc()).limit(1)).first()
    session.add(run)
    session.flush()
    _alert(session, run, previous)
    if report_dir is not None:
        path = write_report(run, report_dir)
        run.report_path = str(path.relative_to(home)) if home is not None else str(path)
        session.flush()
    return run


def _score(passed: int, total: int) -> Decimal:
    return (
        Decimal("100.00")
        if total == 0
        else (Decimal(100 * passed) / Decimal(total)).quantize(Decimal("0.01"))
    )


def _alert(session: Session, run: QualityRun, previous: QualityRun | None) -> None:
    before: dict[str, set[str]] = {}
    if previous is not None:
        for result in previous.results:
            if not result.passed and result.severity != Severity.INFO.value:
                before.setdefault(result.source_id, set()).add(result.rule_id)
    now: dict[str, list[QualityResult]] = {}
    for result in run.results:
        if not result.passed and result.severity != Severity.INFO.value:
            now.setdefault(result.source_id, []).append(result)
    for source_id, results in now.items():
        if {r.rule_id for r in results} == before.get(source_id):
            continue
        source = catalogue().get(source_id)
        blocking = any(r.blocking for r in results)
        notifications.notify_role(
            session,
            Role.DATA_ADMIN,
            topic=ALERT_TOPIC,
            key=f"{source_id}:{run.id}",
            severity="alert" if blocking else "warning",
            title=N_("Data quality anomaly: %(source)s"),
            body=N_("%(count)s quality rules failed for %(source)s in the run of %(as_of)s: %(rules)s"),
            params={
                "source": source.name_zh,
                "count": len(results),
                "as_of": run.as_of.isoformat(),
                "rules": ", ".join(r.rule_id for r in results[:8]) + ("…" if len(results) > 8 else ""),
            },
            link=f"/operator/quality/{run.id}?source={source_id}&failed=1",
        )


def list_quality_runs(session: Session, principal: Principal, *, limit: int = 60) -> Sequence[QualityRun]:
    """Quality runs, newest first (operator staff)."""
    require(principal, Permission.DATA_READ)
    return session.scalars(select(QualityRun).order_by(QualityRun.id.desc()).limit(limit)).all()


def get_quality_run(session: Session, principal: Principal, run_id: int) -> QualityRun:
    """One run with its results; NotFound if there is none."""
    require(principal, Permission.DATA_READ)
    run = session.scalars(
        select(QualityRun).where(QualityRun.id == run_id).options(selectinload(QualityRun.results))
    ).first()
    if run is None:
        raise NotFound()
    return run


@dataclass(frozen=True)
class SourceQuality:
    """A source's quality in one run: rules passed of rules checked, and the mean row pass rate."""

    source_id: str
    run_id: int
    as_of: date
    rules_total: int
    rules_passed: int
    row_pass_rate: float

    @property
    def score(self) -> float:
        """Share of the source's rules that passed, 0–100."""
        return 100.0 if self.rules_total == 0 else 100.0 * self.rules_passed / self.rules_total


def _per_source(session: Session, run_ids: Sequence[int]) -> dict[int, dict[str, SourceQuality]]:
    if not run_ids:
        return {}
    stmt = (
        select(
            QualityResult.run_id,
            QualityRun.as_of,
            QualityResult.source_id,
            func.count(),
            func.sum(case((QualityResult.passed, 1), else_=0)),
            func.avg(QualityResult.pass_rate),
        )
        .join(QualityRun, QualityRun.id == QualityResult.run_id)
        .where(QualityResult.run_id.in_(run_ids))
        .group_by(QualityResult.run_id, QualityRun.as_of, QualityResult.source_id)
    )
    out: dict[int, dict[str, SourceQuality]] = {}
    for run_id, as_of, source_id, total, passed, rate in session.execute(stmt):
        out.setdefault(run_id, {})[source_id] = SourceQuality(
            source_id, run_id, as_of, int(total), int(passed or 0), float(rate or 0)
        )
    return out


def latest_quality_by_source(session: Session) -> dict[str, SourceQuality]:
    """Each source's quality in the newest run (empty before the first run)."""
    latest = session.scalar(select(func.max(QualityRun.id)))
    return _per_source(session, [latest]).get(latest, {}) if latest is not None else {}


def quality_trend(session: Session, *, runs: int = 12) -> dict[str, list[SourceQuality]]:
    """Each source's quality over the newest ``runs`` runs, oldest first (for trend lines)."""
    ids = list(session.scalars(select(QualityRun.id).order_by(QualityRun.id.desc()).limit(runs)))
    per_run = _per_source(session, ids)
    trend: dict[str, list[SourceQuality]] = {}
    for run_id in sorted(per_run):
        for source_id, quality in per_run[run_id].items():
            trend.setdefault(source_id, []).append(quality)
    return trend
