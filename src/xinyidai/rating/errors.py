"""Errors of the rating capability beyond an invalid configuration (``expert.ModelConfigError``)."""

from __future__ import annotations

from xinyidai.core.errors import Conflict


class ActivationRefused(Conflict):
    """A model version may not be activated: not back-tested, or its evidence misses a threshold."""

    code = "activation_refused"
    title = "The model version does not meet the activation thresholds"
