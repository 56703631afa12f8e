"""Use cases of the rating capability: the active model, rating everyone as of a date, one firm's rating.

Ratings are written as a Parquet snapshot per as-of date next to the indicator snapshots
(``lake/_ratings/as_of=YYYY-MM-DD.parquet``: uscc, score, grade, completeness, knock-out, model); the
database keeps the runs and every grade change, which is what an enterprise's history and the downgrade
notices are made of. Reasons are recomputed for one firm on demand from its indicators and the model that
rated it, so the snapshot stays small at a million firms.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import utcnow
from xinyidai.core.errors import NotFound
from xinyidai.data import point_lookup
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.rating import outcomes
from xinyidai.rating.editing import edited_config
from xinyidai.rating.engine import StatisticalRating, columns_read, explain_values, rater_of
from xinyidai.rating.errors import ActivationRefused
from xinyidai.rating.expert import (
    ExpertScorecard,
    ModelConfigError,
    default_scorecard,
    individual_business_scorecard,
)
from xinyidai.rating.lifecycle import (
    activate_model,
    backtest_model,
    current_thresholds,
    new_expert_version,
    set_thresholds,
    threshold_checks,
    train_statistical_model,
)
from xinyidai.rating.models import RatingChange, RatingModel, RatingRun
from xinyidai.rating.segments import (
    ALL,
    FIRM_SEGMENTS,
    INDIVIDUAL_BUSINESS,
    SEGMENTS,
    model_in_force,
    segment_rows,
)

__all__ = [
    "GRADE_ORDER",
    "SEGMENTS",
    "ActivationRefused",
    "CurrentRating",
    "EnterpriseRating",
    "ExpertScorecard",
    "GradeChange",
    "ModelConfigError",
    "RatedRun",
    "StatisticalRating",
    "activate_model",
    "active_model",
    "backtest_model",
    "current_rating",
    "current_thresholds",
    "edited_config",
    "ensure_default_model",
    "enterprise_rating",
    "explain_values",
    "get_model",
    "grade_history",
    "import_outcomes",
    "list_models",
    "list_runs",
    "new_expert_version",
    "rate_all",
    "rater_of",
    "rating_dates",
    "set_thresholds",
    "threshold_checks",
    "train_statistical_model",
]

RATINGS_DIR = "_ratings"
GRADE_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}
DEFAULT_MODEL_NAME = "专家评分卡"


INDIVIDUAL_MODEL_NAME = "个体工商户专家评分卡"


def ensure_default_model(session: Session, *, created_by: str = "system") -> RatingModel:
    """The active model of the ``all`` segment, installing the shipped expert scorecards if missing.

    The default (version 1 of 专家评分卡, segment ``all``) is created when no model of ``all`` is active;
    the individual-business variant (segment ``individual_business``) when that segment has no model at
    all — so an installation gets it once, and an operator's own versions are never overridden.
    """
    model = active_model(session)
    if model is None:
        model = _shipped(DEFAULT_MODEL_NAME, ALL, default_scorecard(),
                         "平台预置专家评分卡：12 个维度，失信被执行人一票否决", created_by)  # fmt: skip
        session.add(model)
    individual = session.scalars(select(RatingModel.id).where(RatingModel.segment == INDIVIDUAL_BUSINESS))
    if individual.first() is None:
        note = "平台预置个体工商户专家评分卡：不计创新、进出口、财务和公积金维度"
        scorecard = individual_business_scorecard()
        session.add(_shipped(INDIVIDUAL_MODEL_NAME, INDIVIDUAL_BUSINESS, scorecard, note, created_by))
    session.flush()
    return model


def _shipped(name: str, segment: str, scorecard: ExpertScorecard, note: str, created_by: str) -> RatingModel:
    return RatingModel(
        name=name,
        kind="expert",
        version=1,
        segment=segment,
        status="active",
        config=scorecard.to_dict(),
        evidence={},
        note=note,
        created_by=created_by,
        activated_at=utcnow(),
    )


def import_outcomes(lake: Lake, truth_dir: Path) -> int:
    """Load the synthetic city's ground truth into the lake's outcomes (for back-tests and training)."""
    return outcomes.import_synthetic_truth(lake, truth_dir)


def active_model(session: Session, segment: str = "all") -> RatingModel | None:
    return session.scalars(
        select(RatingModel)
        .where(RatingModel.status == "active", RatingModel.segment == segment)
        .order_by(RatingModel.id.desc())
    ).first()


def list_models(session: Session, principal: Principal) -> list[RatingModel]:
    """Every model version, newest first (operator staff)."""
    require(principal, Permission.MODELS_READ)
    return list(session.scalars(select(RatingModel).order_by(RatingModel.id.desc())))


def get_model(session: Session, principal: Principal, model_id: int) -> RatingModel:
    """One model version; NotFound if there is none."""
    require(principal, Permission.MODELS_READ)
    model = session.get(RatingModel, model_id)
    if model is None:
        raise NotFound()
    return model


def list_runs(session: Session, principal: Principal, *, limit: int = 30) -> list[RatingRun]:
    """Rating runs, newest first."""
    require(principal, Permission.MODELS_READ)
    return list(session.scalars(select(RatingRun).order_by(RatingRun.id.desc()).limit(limit)))


@dataclass(frozen=True)
class GradeChange:
    uscc: str
    as_of: date
    previous_grade: str
    grade: str
    previous_score: float
    score: float

    @property
    def is_downgrade(self) -> bool:
        return GRADE_ORDER.get(self.grade, 9) > GRADE_ORDER.get(self.previous_grade, 9)


@dataclass(frozen=True)
class RatedRun:
    run: RatingRun
    changes: list[GradeChange]
    indicator_seconds: float

    @property
    def downgrades(self) -> list[GradeChange]:
        return [c for c in self.changes if c.is_downgrade]


def _snapshot_path(lake: Lake, as_of: date) -> Path:
    return lake.root / RATINGS_DIR / f"as_of={as_of.isoformat()}.parquet"


def rating_dates(lake: Lake) -> list[date]:
    folder = lake.root / RATINGS_DIR
    found = []
    for path in folder.glob("as_of=*.parquet") if folder.is_dir() else []:
        try:
            found.append(date.fromisoformat(path.stem.removeprefix("as_of=")))
        except ValueError:
            continue
    return sorted(found)


def rate_all(session: Session, lake: Lake, as_of: date, *, recompute_indicators: bool = False) -> RatedRun:
    """Rate every enterprise as of ``as_of``; keep the run and the grade changes.

    Each firm is rated by the model in force for its segment on that date (enterprise or individual
    business, see ``segments``), or by the ``all`` segment's where its own segment has none.

    Computes the indicator snapshot of ``as_of`` first if there is none (or ``recompute_indicators``).
    Grade changes are against the newest earlier rating snapshot. Returns the run and the changes, so the
    caller can notify the enterprises that were downgraded (and, later, the banks lending to them).
    """
    started = time.perf_counter()
    indicator_seconds = 0.0
    if recompute_indicators or as_of not in indicators.snapshot_dates(lake):
        indicator_seconds = indicators.run_indicators(lake, as_of).seconds
    snapshot = indicators.load_snapshot(lake, as_of)
    default = ensure_default_model(session)
    table, models = _rate_segments(session, snapshot, as_of, default)
    earlier = [d for d in rating_dates(lake) if d < as_of]
    changes = _changes(pq.read_table(_snapshot_path(lake, earlier[-1])), table, as_of) if earlier else []
    path = _snapshot_path(lake, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".parquet.part")
    pq.write_table(table, temporary, compression="zstd", row_group_size=50_000)
    os.replace(temporary, path)
    point_lookup.write_sidecar(path, table)  # the grade of one firm at once (online decisions)
    point_lookup.prune_sidecars(path.parent)
    downgrades = sum(c.is_downgrade for c in changes)
    counts = pc.value_counts(table["grade"]).to_pylist()
    run = RatingRun(
        as_of=as_of,
        model_id=max(models, key=models.__getitem__) if models else default.id,  # the one rating most firms
        enterprises=table.num_rows,
        grades={c["values"]: int(c["counts"]) for c in sorted(counts, key=lambda c: str(c["values"]))},
        upgrades=len(changes) - downgrades,
        downgrades=downgrades,
        snapshot_path=str(path.relative_to(lake.root)),
        elapsed_seconds=Decimal(f"{time.perf_counter() - started:.3f}"),
    )
    session.add(run)
    session.flush()
    if changes:
        session.execute(
            insert(RatingChange),
            [
                {
                    "uscc": c.uscc,
                    "as_of": as_of,
                    "run_id": run.id,
                    "previous_grade": c.previous_grade,
                    "grade": c.grade,
                    "previous_score": Decimal(f"{c.previous_score:.1f}"),
                    "score": Decimal(f"{c.score:.1f}"),
                }
                for c in changes
            ],
        )
    return RatedRun(run, changes, indicator_seconds)


def _rate_segments(
    session: Session, snapshot: pa.Table, as_of: date, default: RatingModel
) -> tuple[pa.Table, dict[int, int]]:
    """The rating table of a snapshot (in its order), each firm by its segment's model; firms per model."""
    fallback = model_in_force(session, ALL, as_of) or default
    parts: dict[int, tuple[RatingModel, list[np.ndarray]]] = {}
    for segment in FIRM_SEGMENTS:
        model = model_in_force(session, segment, as_of) or fallback
        parts.setdefault(model.id, (model, []))[1].append(segment_rows(snapshot, segment))
    tables, order, counts = [], [], {}
    for model, row_sets in parts.values():
        rows = np.sort(np.concatenate(row_sets))
        if rows.size == 0:
            continue
        rater = rater_of(model)
        part = snapshot.select(columns_read(rater))  # a million firms: copy only what is read
        scored = rater.score(part if rows.size == part.num_rows else part.take(pa.array(rows)), details=False)
        tables.append(
            pa.table(
                {
                    "uscc": scored.uscc,
                    "score": pa.array(scored.score, pa.float64()),
                    "grade": scored.grade_array(),
                    "completeness": pa.array(scored.completeness, pa.float64()),
                    "knocked_out": pa.array(scored.knocked_out, pa.int16()),
                    "model_id": pa.array(np.full(rows.size, model.id), pa.int32()),
                }
            )
        )
        order.append(rows)
        counts[model.id] = int(rows.size)
    if not tables:
        return _empty_ratings(), counts
    combined = pa.concat_tables(tables)
    # back into the snapshot's order (sorted by credit code): one firm's row is read from one row group
    return combined.take(pa.array(np.argsort(np.concatenate(order), kind="stable"))), counts


def _empty_ratings() -> pa.Table:
    return pa.table(
        {
            "uscc": pa.array([], pa.string()),
            "score": pa.array([], pa.float64()),
            "grade": pa.array([], pa.string()),
            "completeness": pa.array([], pa.float64()),
            "knocked_out": pa.array([], pa.int16()),
            "model_id": pa.array([], pa.int32()),
        }
    )


def _changes(before: pa.Table, after: pa.Table, as_of: date) -> list[GradeChange]:
    joined = after.join(before.select(["uscc", "grade", "score"]), "uscc", right_suffix="_before")
    differ = joined.filter(pc.and_(pc.is_valid(joined["grade_before"]),
                                   pc.not_equal(joined["grade"], joined["grade_before"])))  # fmt: skip
    return [
        GradeChange(r["uscc"], as_of, r["grade_before"], r["grade"], r["score_before"], r["score"])
        for r in differ.select(["uscc", "grade_before", "grade", "score_before", "score"]).to_pylist()
    ]


@dataclass(frozen=True)
class EnterpriseRating:
    """One enterprise's rating as of a date, with its reasons and the indicators behind them."""

    uscc: str
    as_of: date
    score: float
    grade: str
    model: str
    reasons: dict[str, Any]
    indicators: dict[str, Any]


def enterprise_rating(session: Session, lake: Lake, uscc: str, as_of: date | None = None) -> EnterpriseRating:
    """The newest rating of ``uscc`` on or before ``as_of``, explained; NotFound if it was never rated."""
    dates = [d for d in rating_dates(lake) if as_of is None or d <= as_of]
    if not dates:
        raise NotFound("This enterprise has no rating yet")
    day = dates[-1]
    rows = pq.read_table(_snapshot_path(lake, day), filters=[("uscc", "=", uscc)]).to_pylist()
    if not rows:
        raise NotFound("This enterprise has no rating yet")
    row = rows[0]
    model = session.get(RatingModel, row["model_id"])
    if model is None:
        raise NotFound()
    one = indicators.load_snapshot(lake, day, uscc=uscc)
    rater = rater_of(model)
    reasons = rater.reasons(rater.score(one), 0)
    return EnterpriseRating(uscc, day, row["score"], row["grade"], f"{model.name} v{model.version}", reasons,
                            one.to_pylist()[0])  # fmt: skip


def grade_history(session: Session, uscc: str) -> list[RatingChange]:
    """The enterprise's grade changes, newest first."""
    return list(
        session.scalars(
            select(RatingChange).where(RatingChange.uscc == uscc).order_by(RatingChange.as_of.desc())
        )
    )


@dataclass(frozen=True)
class CurrentRating:
    """An enterprise's newest grade: the as-of date, score (0–1000) and grade."""

    as_of: date
    score: float
    grade: str


def current_rating(lake: Lake, uscc: str, as_of: date | None = None) -> CurrentRating | None:
    """The newest rating of ``uscc`` on or before ``as_of`` without its reasons (cheap), or None."""
    dates = [d for d in rating_dates(lake) if as_of is None or d <= as_of]
    if not dates:
        return None
    row = point_lookup.lookup(_snapshot_path(lake, dates[-1]), uscc, ["score", "grade"])
    return CurrentRating(dates[-1], float(row["score"]), str(row["grade"])) if row else None
