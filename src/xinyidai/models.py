"""Import every capability's tables so that ``metadata`` is complete (Alembic, ``init-db``, tests)."""

from __future__ import annotations

from xinyidai.accounts import models as accounts_models
from xinyidai.consoles import statistics_models, subplatform_models
from xinyidai.core import audit, notifications, request_metrics
from xinyidai.core.database import Base
from xinyidai.core.delivery import models as delivery_models
from xinyidai.core.evidence import models as evidence_models
from xinyidai.data import models as data_models
from xinyidai.funds import models as funds_models
from xinyidai.funds import programmes_models, schemes_models
from xinyidai.market import models as market_models
from xinyidai.monitoring import models as monitoring_models
from xinyidai.policies import models as policies_models
from xinyidai.rating import models as rating_models
from xinyidai.rating import objection_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit",
    "data_models",
    "delivery_models",
    "evidence_models",
    "funds_models",
    "market_models",
    "metadata",
    "monitoring_models",
    "notifications",
    "objection_models",
    "policies_models",
    "programmes_models",
    "rating_models",
    "request_metrics",
    "schemes_models",
    "statistics_models",
    "subplatform_models",
]
