"""The state machines of the marketplace: which move may follow which state.

A move not in the table is refused with ``IllegalTransition`` naming the state and the move, and
changes nothing. Every allowed move of an application or loan is recorded as an ``ApplicationEvent``.
"""

from __future__ import annotations

from collections.abc import Mapping

from xinyidai.core.errors import IllegalTransition
from xinyidai.core.i18n import N_

STATE_LABELS: Mapping[str, str] = {
    "draft": N_("Draft"),
    "pending_review": N_("Pending review"),
    "listed": N_("Listed"),
    "delisted": N_("Delisted"),
    "open": N_("Open"),
    "full": N_("Fully taken"),
    "matched": N_("Matched"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
    "held": N_("Held"),
    "offered": N_("Offered"),
    "accepted": N_("Accepted"),
    "closed": N_("Closed"),
    "submitted": N_("Submitted"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "disbursed": N_("Disbursed"),
    "current": N_("Current"),
    "overdue": N_("Overdue"),
    "defaulted": N_("Defaulted"),
    "repaid": N_("Repaid"),
    "given": N_("Given"),
    "revoked": N_("Revoked"),
}

ACTION_LABELS: Mapping[str, str] = {
    "submit": N_("submit for review"),
    "edit": N_("edit"),
    "list": N_("list"),
    "send_back": N_("send back"),
    "delist": N_("delist"),
    "fill": N_("take up"),
    "match": N_("accept an offer"),
    "withdraw": N_("withdraw"),
    "expire": N_("expire"),
    "release": N_("release"),
    "offer": N_("make an offer"),
    "accept": N_("accept"),
    "close": N_("close"),
    "reject": N_("reject"),
    "approve": N_("approve"),
    "disburse": N_("disburse"),
    "repayment": N_("report a repayment"),
    "overdue": N_("report overdue"),
    "cured": N_("report cured"),
    "default": N_("report default"),
    "repaid": N_("report repaid"),
    "recovered": N_("report recovered"),
}

# state -> {action: next state}
PRODUCT: Mapping[str, Mapping[str, str]] = {
    "draft": {"submit": "pending_review", "edit": "draft"},
    "pending_review": {"list": "listed", "send_back": "draft"},
    "listed": {"delist": "delisted", "edit": "pending_review"},
    "delisted": {"submit": "pending_review", "edit": "delisted"},
}

NEED: Mapping[str, Mapping[str, str]] = {
    "open": {"fill": "full", "match": "matched", "withdraw": "withdrawn", "expire": "expired"},
    "full": {"release": "open", "match": "matched", "withdraw": "withdrawn", "expire": "expired"},
}

ORDER: Mapping[str, Mapping[str, str]] = {
    "held": {"offer": "offered", "release": "closed", "close": "closed"},
    "offered": {"offer": "offered", "accept": "accepted", "release": "closed", "close": "closed"},
}

APPLICATION: Mapping[str, Mapping[str, str]] = {
    "submitted": {"accept": "accepted", "reject": "rejected", "withdraw": "withdrawn", "approve": "approved"},
    "accepted": {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"},
    "approved": {"disburse": "disbursed", "withdraw": "withdrawn"},
}

LOAN: Mapping[str, Mapping[str, str]] = {
    "current": {"repayment": "current", "overdue": "overdue", "repaid": "repaid", "default": "defaulted"},
    "overdue": {
        "repayment": "overdue",
        "cured": "current",
        "overdue": "overdue",
        "default": "defaulted",
        "repaid": "repaid",
    },
    "defaulted": {"repayment": "defaulted", "recovered": "repaid"},
}

_MACHINES = {"product": PRODUCT, "need": NEED, "order": ORDER, "application": APPLICATION, "loan": LOAN}


def next_state(machine: str, state: str, action: str) -> str:
    """The state after ``action`` from ``state``; IllegalTransition if the move is not allowed."""
    table = _MACHINES[machine]
    target = table.get(state, {}).get(action)
    if target is None:
        raise IllegalTransition(
            "You cannot %(action_label)s now: it is %(state_label)s",
            action_label=ACTION_LABELS.get(action, action),
            state_label=STATE_LABELS.get(state, state),
        )
    return target


def allowed_actions(machine: str, state: str) -> list[str]:
    """The moves possible from ``state`` (what buttons to show)."""
    return list(_MACHINES[machine].get(state, {}))
