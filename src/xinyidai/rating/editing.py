"""Editing an expert scorecard: the operator's typed values applied to a stored configuration.

The model page's form names its fields after what they change — ``weight.<dimension>`` (percent of the
1000 points), ``points.<indicator>.<band>`` (0–100), ``missing.<indicator>`` (0–100) and
``cutoff.<grade>`` (minimum score) — and leaves out nothing it shows. A field that is absent keeps the
stored value; a value that is not a number is refused naming the field. The result is validated whole
by ``ExpertScorecard.from_dict`` before it is saved (``lifecycle.new_expert_version``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from xinyidai.rating.expert import ModelConfigError

__all__ = ["edited_config"]


def _number(fields: Mapping[str, str], key: str, name: str) -> float | None:
    text = fields.get(key)
    if text is None or not text.strip():
        return None
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ModelConfigError("%(name)s is not a number: %(value)s", field=key, name=name, value=text)
    return value


def _points(fields: Mapping[str, str], key: str, indicator: str) -> int | None:
    value = _number(fields, key, indicator)
    if value is None:
        return None
    if value != int(value):
        raise ModelConfigError("The points of %(name)s must be between 0 and 100", field=key, name=indicator)
    return int(value)


def edited_config(config: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """A copy of an expert scorecard's ``config`` with the form's ``fields`` applied (not yet validated).

    Raises:
        ModelConfigError: a value is not a number, or the dimension weights do not add up to 100 %.
    """
    edited = copy.deepcopy(dict(config))
    for d in edited.get("dimensions", []):
        weight = _number(fields, f"weight.{d['dimension']}", d["dimension"])
        if weight is not None:
            d["weight"] = weight / 100.0
        for f in d.get("factors", []):
            indicator = f["indicator"]
            for i, band in enumerate(f["bands"]):
                points = _points(fields, f"points.{indicator}.{i}", indicator)
                if points is not None:
                    band[1] = points
            missing = _points(fields, f"missing.{indicator}", indicator)
            if missing is not None:
                f["missing_points"] = missing
    total = sum(float(d["weight"]) for d in edited.get("dimensions", []))
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ModelConfigError(
            "The dimension weights must add up to 100 (they add up to %(total)s)",
            field="weight",
            total=round(total * 100, 4),
        )
    for pair in edited.get("cutoffs", []):
        minimum = _number(fields, f"cutoff.{pair[0]}", pair[0])
        if minimum is not None:
            pair[1] = minimum
    return edited
