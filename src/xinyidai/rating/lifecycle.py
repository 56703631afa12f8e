"""Model versions through their life: back-test, thresholds, activation, new versions, training.

A version is born a draft — the shipped defaults aside — by editing an expert scorecard or by training a
statistical one. It is back-tested over the history in the lake (every indicator snapshot whose firms'
outcomes are known, see ``outcomes``) and the evidence is kept with it. The operator's thresholds decide
whether it may be activated; activation makes it the version in force for its segment from an effective
date and retires the one it replaces. Every step is an audit record.

Who acts: ``principal`` is the operator on the web (``Permission.MODELS_MANAGE`` is required); None is
the command line, run by whoever operates the server, recorded as ``cli``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.core import evidence as evidence_log
from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.audit import record_event
from xinyidai.core.clock import today_local, utcnow
from xinyidai.core.errors import IllegalTransition, NotFound, ValidationFailed
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.rating import outcomes
from xinyidai.rating.backtesting import (
    ScoredDate,
    ThresholdCheck,
    check_thresholds,
    evidence_of,
    failed_checks,
)
from xinyidai.rating.engine import StatisticalRating, columns_read, quantile_cutoffs, rater_of
from xinyidai.rating.errors import ActivationRefused
from xinyidai.rating.expert import ExpertScorecard, ModelConfigError, default_knockouts
from xinyidai.rating.models import RatingModel, RatingThresholds
from xinyidai.rating.segments import SEGMENTS, segment_rows
from xinyidai.rating.statistical import fit_scorecard
from xinyidai.rating.statistical.evidence import iv_from_bins

__all__ = [
    "STATISTICAL_MODEL_NAME",
    "activate_model",
    "backtest_model",
    "current_thresholds",
    "new_expert_version",
    "set_thresholds",
    "threshold_checks",
    "train_statistical_model",
]

STATISTICAL_MODEL_NAME = "统计评分卡"
# Shares of the training firms per grade, best first, for a newly trained scorecard's cut-offs.
GRADE_SHARES = (("A", 0.25), ("B", 0.35), ("C", 0.25), ("D", 0.15))
MAX_TRAINING_ROWS = 2_000_000  # newest as-of dates first, up to this many firm-dates


def _actor(principal: Principal | None) -> dict[str, Any]:
    """The audit fields of whoever acts (checking the permission of a web user)."""
    if principal is None:
        return {"actor_user_id": None, "actor_username": "cli", "actor_organisation_id": None}
    require(principal, Permission.MODELS_MANAGE)
    return {
        "actor_user_id": principal.user_id,
        "actor_username": principal.username,
        "actor_organisation_id": principal.organisation_id,
    }


def _evidence(
    session: Session, kind: str, model: RatingModel, principal: Principal | None, **detail: Any
) -> None:
    """Put a model version's change in the evidence log: its identity and the hash of its configuration."""
    evidence_log.append(
        session,
        kind,
        {
            "model_id": model.id,
            "name": model.name,
            "version": model.version,
            "segment": model.segment,
            "status": model.status,
            "config_sha256": evidence_log.sha256_text(evidence_log.canonical(model.config or {})),
            "by": evidence_log.actor(principal),
            **detail,
        },
        subject=f"rating_model:{model.id}",
    )


def _model(session: Session, model_id: int) -> RatingModel:
    model = session.get(RatingModel, model_id)
    if model is None:
        raise NotFound()
    return model


def _next_version(session: Session, name: str) -> int:
    newest = session.scalar(select(func.max(RatingModel.version)).where(RatingModel.name == name))
    return int(newest or 0) + 1


# -- thresholds ------------------------------------------------------------------------------------------
def current_thresholds(session: Session) -> RatingThresholds:
    """The operator's activation thresholds; the defaults (AUC ≥ 0.70, KS ≥ 0.30, PSI ≤ 0.25, default
    rate monotone by grade) until they are first set."""
    row = session.scalars(select(RatingThresholds).order_by(RatingThresholds.id)).first()
    if row is None:
        row = RatingThresholds(
            min_auc=Decimal("0.700"),
            min_ks=Decimal("0.300"),
            max_psi=Decimal("0.250"),
            monotone_default_rate=True,
            updated_by="",
        )
    return row


def _decimal(text: str | float | Decimal, field: str, low: str, high: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not Decimal(low) <= value <= Decimal(high):
        raise ValidationFailed(
            "The value must be a number between %(low)s and %(high)s", field=field, low=low, high=high
        )
    return value.quantize(Decimal("0.001"))


def set_thresholds(
    session: Session,
    principal: Principal | None,
    *,
    min_auc: str | float | Decimal,
    min_ks: str | float | Decimal,
    max_psi: str | float | Decimal,
    monotone_default_rate: bool,
) -> RatingThresholds:
    """Set what a back-test must show before a version may be activated (AUC and KS 0–1, PSI 0–10)."""
    actor = _actor(principal)
    row = current_thresholds(session)
    before = _thresholds_dict(row) if row.id else None
    row.min_auc = _decimal(min_auc, "min_auc", "0", "1")
    row.min_ks = _decimal(min_ks, "min_ks", "0", "1")
    row.max_psi = _decimal(max_psi, "max_psi", "0", "10")
    row.monotone_default_rate = bool(monotone_default_rate)
    row.updated_by = str(actor["actor_username"])
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    record_event(session, "rating.thresholds.update", object_type="rating_thresholds", object_id=row.id,
                 detail={"before": before, "after": _thresholds_dict(row)}, **actor)  # fmt: skip
    evidence_log.append(
        session,
        "rating.thresholds",
        {"before": before, "after": _thresholds_dict(row), "by": evidence_log.actor(principal)},
        subject=f"rating_thresholds:{row.id}",
    )
    return row


def _thresholds_dict(row: RatingThresholds) -> dict[str, Any]:
    return {
        "min_auc": str(row.min_auc),
        "min_ks": str(row.min_ks),
        "max_psi": str(row.max_psi),
        "monotone_default_rate": row.monotone_default_rate,
    }


def threshold_checks(session: Session, model: RatingModel) -> list[ThresholdCheck] | None:
    """The version's back-test against the current thresholds; None if it was never back-tested."""
    if not model.evidence.get("backtested_at"):
        return None
    row = current_thresholds(session)
    return check_thresholds(model.evidence, min_auc=row.min_auc, min_ks=row.min_ks, max_psi=row.max_psi,
                            monotone=row.monotone_default_rate)  # fmt: skip


# -- back-test -------------------------------------------------------------------------------------------
def _history(
    lake: Lake, segment: str, as_of: date | None, columns: list[str] | None = None
) -> Iterator[tuple[date, pa.Table, pa.Table | None]]:
    """Each indicator snapshot (oldest first, up to ``as_of``) cut to the segment (and to ``columns``),
    with its outcome labels."""
    for day in indicators.snapshot_dates(lake):
        if as_of is not None and day > as_of:
            break
        snapshot = indicators.load_snapshot(lake, day)
        rows = segment_rows(snapshot, segment)
        if columns is not None:
            snapshot = snapshot.select(columns)
        if rows.size < snapshot.num_rows:
            snapshot = snapshot.take(pa.array(rows))
        yield day, snapshot, outcomes.labels_as_of(lake, day)


def _label_positions(snapshot: pa.Table, labels: pa.Table | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the snapshot whose outcome is known, and that outcome (0/1)."""
    if labels is None or snapshot.num_rows == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8)
    position = pc.fill_null(pc.index_in(snapshot["uscc"], value_set=labels["uscc"]), -1)
    position = np.asarray(position.to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(position >= 0)
    defaulted = np.asarray(labels["defaulted"].to_numpy(zero_copy_only=False), dtype=np.int8)
    return rows, defaulted[position[rows]]


def backtest_model(
    session: Session,
    lake: Lake,
    model_id: int,
    *,
    principal: Principal | None = None,
    as_of: date | None = None,
) -> RatingModel:
    """Rate the history in the lake with one version and store the evidence in ``RatingModel.evidence``.

    Every indicator snapshot up to ``as_of`` (all by default) is scored with the version, its firms of
    the version's segment; those whose outcome is known are compared with it (see ``backtesting``).
    Raises ValidationFailed when no snapshot has known outcomes.
    """
    actor = _actor(principal)
    model = _model(session, model_id)
    rater = rater_of(model)
    statistical = rater if isinstance(rater, StatisticalRating) else None
    history: list[ScoredDate] = []
    bins: dict[str, list[np.ndarray]] = {}
    for day, snapshot, labels in _history(lake, model.segment, as_of, columns_read(rater)):
        scored = rater.score(snapshot, details=False)
        rows, defaulted = _label_positions(snapshot, labels)
        grades = np.asarray(scored.grades, dtype=object)[scored.grade_index[rows]]
        history.append(ScoredDate(day, scored.score, scored.score[rows], grades, defaulted))
        if statistical is not None and rows.size:
            labelled = snapshot.take(pa.array(rows))
            for f in statistical.card.features:
                bins.setdefault(f.name, []).append(f.bin_index(labelled, rows.size))
    if not any(h.defaulted.size for h in history):
        raise ValidationFailed(
            "There is no history with known outcomes to back-test on: compute indicators and import outcomes"
        )
    iv = None
    if statistical is not None:
        bad = np.concatenate([h.defaulted for h in history]).astype(bool)
        iv = {f.name: iv_from_bins(np.concatenate(bins[f.name]), bad, len(f.points) + 2)
              for f in statistical.card.features}  # fmt: skip
    grades = [g for g, _ in rater.cutoffs]
    evidence = {"backtested_at": utcnow().isoformat(), **evidence_of(history, grades, iv=iv)}
    if "training" in model.evidence:
        evidence["training"] = model.evidence["training"]
    model.evidence = evidence
    session.flush()
    summary = {k: evidence[k] for k in ("n", "n_bad", "auc", "ks", "gini", "psi", "monotone")}
    record_event(session, "rating.model.backtest", object_type="rating_model", object_id=model.id,
                 detail=summary, **actor)  # fmt: skip
    return model


# -- activation ------------------------------------------------------------------------------------------
def activate_model(
    session: Session,
    model_id: int,
    *,
    principal: Principal | None = None,
    effective_from: date | None = None,
) -> RatingModel:
    """Make a draft version the one in force for its segment from ``effective_from`` (default: today).

    Refused (ActivationRefused, nothing changed) unless it was back-tested and its evidence meets every
    current threshold; the message names the first threshold it misses. The version it replaces is
    retired; it still rates dates before the new version's effective date (see ``segments``).
    """
    actor = _actor(principal)
    model = _model(session, model_id)
    if model.status != "draft":
        raise IllegalTransition(
            "Only a draft version can be activated; version %(version)s is %(status)s",
            version=model.version,
            status=model.status,
        )
    rater_of(model)  # a sound configuration
    checks = threshold_checks(session, model)
    if checks is None:
        raise ActivationRefused("Back-test the model version before activating it")
    failed = failed_checks(checks)
    if failed:
        raise ActivationRefused(failed[0].message, **failed[0].params)
    replaced = list(
        session.scalars(
            select(RatingModel).where(RatingModel.segment == model.segment, RatingModel.status == "active")
        )
    )
    for old in replaced:
        old.status = "retired"
    model.status = "active"
    model.effective_from = effective_from or today_local()
    model.activated_at = utcnow()
    session.flush()
    detail = {
        "segment": model.segment,
        "effective_from": model.effective_from.isoformat(),
        "retired": [m.id for m in replaced],
        "evidence": {c.name: c.value for c in checks},
    }
    record_event(session, "rating.model.activate", object_type="rating_model", object_id=model.id,
                 detail=detail, **actor)  # fmt: skip
    _evidence(session, "rating.model.activated", model, principal, **detail)
    return model


# -- new versions ----------------------------------------------------------------------------------------
def new_expert_version(
    session: Session,
    model_id: int,
    config: Mapping[str, Any],
    *,
    principal: Principal | None = None,
    note: str = "",
) -> RatingModel:
    """Save an edited configuration of an expert scorecard as its next version, a draft.

    The configuration is validated whole first (ModelConfigError naming the problem; nothing saved).
    The version in force is untouched until the new one is back-tested and activated.
    """
    actor = _actor(principal)
    base = _model(session, model_id)
    if base.kind != "expert":
        raise ModelConfigError("Only an expert scorecard can be edited; train a statistical scorecard anew")
    scorecard = ExpertScorecard.from_dict(config)
    version = _next_version(session, base.name)
    model = RatingModel(
        name=base.name,
        kind="expert",
        version=version,
        segment=base.segment,
        status="draft",
        config=scorecard.to_dict(),
        evidence={},
        note=(note.strip() or f"v{base.version} → v{version}")[:500],
        created_by=str(actor["actor_username"]),
    )
    session.add(model)
    session.flush()
    record_event(session, "rating.model.create", object_type="rating_model", object_id=model.id,
                 detail={"based_on": base.id, "version": version}, **actor)  # fmt: skip
    _evidence(session, "rating.model.created", model, principal, based_on=base.id)
    return model


def train_statistical_model(
    session: Session,
    lake: Lake,
    *,
    principal: Principal | None = None,
    segment: str = "all",
    as_of: date | None = None,
    name: str = STATISTICAL_MODEL_NAME,
) -> RatingModel:
    """Fit a statistical scorecard on the lake's history and save it as a draft version, back-tested.

    Training data: the firms of ``segment`` in the indicator snapshots up to ``as_of`` whose outcome is
    known, newest dates first up to ``MAX_TRAINING_ROWS``; every numeric or yes/no indicator is a
    candidate feature (optbinning keeps the useful ones). Grade cut-offs put a quarter of the training
    firms in A, 35 % in B, a quarter in C and the rest in D; the platform's knock-out rules apply.
    """
    actor = _actor(principal)
    if segment not in SEGMENTS:
        raise ValidationFailed("There is no segment called %(segment)s", field="segment", segment=segment)
    parts: list[pa.Table] = []
    targets: list[np.ndarray] = []
    for _, snapshot, labels in reversed(list(_history(lake, segment, as_of))):
        rows, defaulted = _label_positions(snapshot, labels)
        if rows.size:
            parts.append(snapshot.take(pa.array(rows)))
            targets.append(defaulted)
        if sum(p.num_rows for p in parts) >= MAX_TRAINING_ROWS:
            break
    if not parts:
        raise ValidationFailed(
            "There is no history with known outcomes to train on: compute indicators and import outcomes"
        )
    table = pa.concat_tables(parts)
    names = [f.name for f in table.schema if f.name != "uscc" and not pa.types.is_string(f.type)]
    card = fit_scorecard(table, np.concatenate(targets), feature_names=names, fitted_at=utcnow())
    scores = StatisticalRating(card, ()).raw_to_score(card.score(table))
    rating = StatisticalRating(card, quantile_cutoffs(scores, GRADE_SHARES), default_knockouts())
    version = _next_version(session, name)
    model = RatingModel(
        name=name,
        kind="statistical",
        version=version,
        segment=segment,
        status="draft",
        config=rating.to_config(),
        evidence={"training": card.evidence.to_dict() if card.evidence else {}},
        note=f"训练样本 {card.n_train:,}（违约 {card.n_bad:,}），入模指标 {len(card.features)}/{len(names)}",
        created_by=str(actor["actor_username"]),
    )
    session.add(model)
    session.flush()
    record_event(session, "rating.model.train", object_type="rating_model", object_id=model.id,
                 detail={"rows": table.num_rows, "features": card.feature_names,
                         "training_sha256": card.training_sha256}, **actor)  # fmt: skip
    _evidence(session, "rating.model.trained", model, principal, training_sha256=card.training_sha256)
    return backtest_model(session, lake, model.id, principal=principal, as_of=as_of)
