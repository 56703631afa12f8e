"""In-process domain events: a lower capability tells whoever listens that something happened.

The marketplace sits below the funds and monitoring capabilities and must not import them, yet a loan
approved in the marketplace must join a guarantee scheme, and a default must reach the fund and the risk
rules. The marketplace publishes ``"market.application.approved"``, ``"market.loan.disbursed"``,
``"market.loan.defaulted"`` … with the ids involved; the capabilities above subscribe when the application
starts (``register()`` in their ``subscriptions`` module). Handlers run synchronously in the publisher's
unit of work: what they write commits or rolls back with the event's cause.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[[Session, dict[str, Any]], None]

_subscribers: defaultdict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str, handler: Handler) -> None:
    """Call ``handler(session, payload)`` each time ``event`` is published (once per handler)."""
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def publish(session: Session, event: str, **payload: Any) -> None:
    """Tell every subscriber of ``event``, in the order they subscribed."""
    for handler in list(_subscribers.get(event, ())):
        handler(session, dict(payload))


def subscribers(event: str) -> list[Handler]:
    """Who listens to ``event`` (for tests and diagnostics)."""
    return list(_subscribers.get(event, ()))
