"""Segments: the groups of firms a model version may be made for, and which version rates a segment when.

Enterprises and individual businesses (个体工商户) differ in what data they have — an individual business
files no annual report and seldom holds a patent — so each may have its own model. A firm is an
individual business when its indicator ``is_individual_business`` says so (entity type 个体工商户 or a
USCC of registration-management code 92). A segment without a model of its own is rated by the ``all``
segment's.

Which version rates a segment as of a date D: of the versions ever activated for it (active or since
retired) whose effective date is on or before D (none: always), the one activated last. So re-rating a
past date uses the model that was in force then, and a version activated with a future effective date
takes over on that date.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from xinyidai.rating.models import RatingModel

__all__ = [
    "ALL",
    "ENTERPRISE",
    "FIRM_SEGMENTS",
    "INDIVIDUAL_BUSINESS",
    "SEGMENTS",
    "individual_mask",
    "model_in_force",
    "segment_rows",
]

ALL: Final = "all"
ENTERPRISE: Final = "enterprise"
INDIVIDUAL_BUSINESS: Final = "individual_business"
SEGMENTS: Final = (ALL, ENTERPRISE, INDIVIDUAL_BUSINESS)
FIRM_SEGMENTS: Final = (ENTERPRISE, INDIVIDUAL_BUSINESS)
"""The segments a firm belongs to (``all`` is a model's, not a firm's)."""


def individual_mask(snapshot: pa.Table) -> np.ndarray:
    """Per firm of an indicator snapshot: is it an individual business (unknown counts as no)?"""
    column = pc.fill_null(snapshot["is_individual_business"].cast(pa.bool_()), False)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=bool)


def segment_rows(snapshot: pa.Table, segment: str) -> np.ndarray:
    """Indices of the firms of a snapshot that a model of ``segment`` rates."""
    if segment == ALL:
        return np.arange(snapshot.num_rows)
    individual = individual_mask(snapshot)
    return np.flatnonzero(individual if segment == INDIVIDUAL_BUSINESS else ~individual)


def model_in_force(session: Session, segment: str, as_of: date) -> RatingModel | None:
    """The version that rates ``segment`` as of ``as_of`` (see the module docstring), or None."""
    return session.scalars(
        select(RatingModel)
        .where(
            RatingModel.segment == segment,
            RatingModel.status.in_(("active", "retired")),
            RatingModel.activated_at.is_not(None),
            or_(RatingModel.effective_from.is_(None), RatingModel.effective_from <= as_of),
        )
        .order_by(RatingModel.activated_at.desc(), RatingModel.id.desc())
    ).first()
