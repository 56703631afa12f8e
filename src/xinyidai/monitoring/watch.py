"""Who watches whom: each institution its borrowers and applicants, each department its whitelists.

An institution watches a firm while it has a live loan there (current, overdue, in default), an
application in progress (submitted, accepted, approved), or holds or has offered on the firm's need.
A department watches the firms on its whitelists. Computed from the marketplace's tables at run time,
so a firm leaves a watcher's board the day its last loan is repaid.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.market.models import Application, Loan, Need, Order, Whitelist, WhitelistEntry
from xinyidai.monitoring.frame import LIVE_LOAN_STATES

__all__ = ["OPEN_APPLICATION_STATES", "OPEN_ORDER_STATES", "watch_kinds", "watched", "watchers_of"]

OPEN_APPLICATION_STATES = ("submitted", "accepted", "approved")
OPEN_ORDER_STATES = ("held", "offered")


def watched(session: Session, organisation_id: int | None = None) -> dict[int, set[str]]:
    """Watcher organisation id → the USCCs it watches (one watcher's when ``organisation_id`` is given)."""
    out: dict[int, set[str]] = defaultdict(set)
    queries = [
        select(Loan.institution_id, Loan.uscc).where(Loan.status.in_(LIVE_LOAN_STATES)),
        select(Application.institution_id, Application.uscc).where(
            Application.status.in_(OPEN_APPLICATION_STATES)
        ),
        select(Order.institution_id, Need.uscc)
        .join(Need, Need.id == Order.need_id)
        .where(Order.status.in_(OPEN_ORDER_STATES)),
        select(Whitelist.department_id, WhitelistEntry.uscc).join(
            Whitelist, Whitelist.id == WhitelistEntry.whitelist_id
        ),
    ]
    for query in queries:
        if organisation_id is not None:
            owner = query.selected_columns[0]
            query = query.where(owner == organisation_id)
        for org, uscc in session.execute(query):
            out[int(org)].add(uscc)
    return dict(out)


def watchers_of(session: Session, uscc: str) -> set[int]:
    """The organisations watching one firm (for a pushed event)."""
    found: set[int] = set()
    for query in (
        select(Loan.institution_id).where(Loan.uscc == uscc, Loan.status.in_(LIVE_LOAN_STATES)),
        select(Application.institution_id).where(
            Application.uscc == uscc, Application.status.in_(OPEN_APPLICATION_STATES)
        ),
        select(Order.institution_id)
        .join(Need, Need.id == Order.need_id)
        .where(Need.uscc == uscc, Order.status.in_(OPEN_ORDER_STATES)),
        select(Whitelist.department_id)
        .join(WhitelistEntry, Whitelist.id == WhitelistEntry.whitelist_id)
        .where(WhitelistEntry.uscc == uscc),
    ):
        found.update(int(x) for x in session.scalars(query))
    return found


def watch_kinds(session: Session, organisation_ids: set[int]) -> dict[int, str]:
    """Organisation id → its kind (institution / department)."""
    if not organisation_ids:
        return {}
    rows = session.execute(
        select(Organisation.id, Organisation.kind).where(Organisation.id.in_(organisation_ids))
    )
    return {int(i): str(k) for i, k in rows}
