"""The one error of the statistical scorecard: a model configuration or data that cannot be used."""

from __future__ import annotations

from xinyidai.core.errors import ValidationFailed


class ScorecardConfigError(ValidationFailed):
    """An invalid scorecard configuration, training data set or stored model version.

    Raised before any work is done, with an English message id naming the problem (a missing feature,
    a target that is not 0/1, non-positive points-to-double-the-odds, ...); the web layer translates it.
    """

    code = "scorecard_config_invalid"
    title = "The scorecard configuration is invalid"
