"""The state machines of the policy and fund supermarkets: which move may follow which state.

A move not in the table is refused with ``IllegalTransition`` naming the move and the state, and changes
nothing. Every move of a policy application is a ``PolicyEvent`` with who and when.
"""

from __future__ import annotations

from collections.abc import Mapping

from xinyidai.core.errors import IllegalTransition
from xinyidai.core.i18n import N_

STATE_LABELS: Mapping[str, str] = {
    "draft": N_("Draft"),
    "published": N_("Published"),
    "withdrawn": N_("Withdrawn"),
    "submitted": N_("Submitted"),
    "checked": N_("Awaiting review"),
    "publicity": N_("In publicity"),
    "rejected": N_("Rejected"),
    "revoked": N_("Approval revoked"),
    "disbursed": N_("Disbursed"),
    "approved": N_("Approved"),
    "invested": N_("Invested"),
    "open": N_("Open"),
    "closed": N_("Closed"),
    "upheld": N_("Upheld"),
    "dismissed": N_("Dismissed"),
}

ACTION_LABELS: Mapping[str, str] = {
    "publish": N_("publish"),
    "edit": N_("edit"),
    "withdraw": N_("withdraw"),
    "submit": N_("submit"),
    "check": N_("check eligibility"),
    "approve": N_("approve"),
    "reject": N_("reject"),
    "revoke": N_("revoke the approval"),
    "disburse": N_("record the disbursement"),
    "invest": N_("record an investment"),
    "close": N_("close"),
    "reopen": N_("reopen"),
}

# state -> {action: next state}
POLICY: Mapping[str, Mapping[str, str]] = {
    "draft": {"edit": "draft", "publish": "published", "withdraw": "withdrawn"},
    "published": {"edit": "published", "withdraw": "withdrawn"},
    "withdrawn": {"edit": "withdrawn", "publish": "published"},
}

APPLICATION: Mapping[str, Mapping[str, str]] = {
    "submitted": {"check": "checked", "withdraw": "withdrawn"},
    "checked": {"check": "checked", "approve": "publicity", "reject": "rejected", "withdraw": "withdrawn"},
    "publicity": {"revoke": "revoked", "disburse": "disbursed"},
}

FUND: Mapping[str, Mapping[str, str]] = {
    "open": {"close": "closed"},
    "closed": {"reopen": "open"},
}

FUND_APPLICATION: Mapping[str, Mapping[str, str]] = {
    "submitted": {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"},
    "approved": {"invest": "invested", "reject": "rejected"},
    "invested": {"invest": "invested"},  # follow-on rounds
}

_MACHINES = {
    "policy": POLICY,
    "application": APPLICATION,
    "fund": FUND,
    "fund_application": FUND_APPLICATION,
}


def next_state(machine: str, state: str, action: str) -> str:
    """The state after ``action`` from ``state``; IllegalTransition if the move is not allowed."""
    target = _MACHINES[machine].get(state, {}).get(action)
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
