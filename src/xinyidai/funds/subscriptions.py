"""The funds capability listens to the marketplace (``core.events``): an approved application may join a
fund's scheme, a disbursed loan carries its coverage, a default tells the bank it may claim, and money
recovered on a paid claim's loan is shared back. Handlers run in the publisher's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from xinyidai.core import events
from xinyidai.core.access import Role
from xinyidai.core.i18n import N_
from xinyidai.core.notifications import notify_role
from xinyidai.funds import claims, schemes


def on_application_approved(session: Session, payload: dict[str, Any]) -> None:
    schemes.cover_application(session, int(payload["application_id"]))


def on_loan_disbursed(session: Session, payload: dict[str, Any]) -> None:
    schemes.link_loan(session, int(payload["application_id"]), int(payload["loan_id"]))


def on_loan_default(session: Session, payload: dict[str, Any]) -> None:
    coverage = schemes.coverage_of_loan(session, int(payload["loan_id"]))
    if coverage is None or coverage.status != "covered":
        return
    for role in (Role.INSTITUTION_ADMIN, Role.RISK_OFFICER):
        notify_role(
            session,
            role,
            topic="funds.claim",
            title=N_("A covered loan defaulted: you may file a claim"),
            body=N_("The loan to %(enterprise)s is covered by a fund; file the claim with your loss."),
            params={"enterprise": coverage.enterprise_name},
            link="/institution/claims",
            organisation_id=coverage.institution_id,
            key=f"coverage:{coverage.id}:default",
        )


def on_loan_recovery(session: Session, payload: dict[str, Any]) -> None:
    claims.share_back(session, int(payload["loan_id"]), int(payload["record_id"]))


def register() -> None:
    """Subscribe the funds' handlers (idempotent: each handler once)."""
    events.subscribe("market.application.approved", on_application_approved)
    events.subscribe("market.loan.disbursed", on_loan_disbursed)
    events.subscribe("market.loan.default", on_loan_default)
    events.subscribe("market.loan.repayment", on_loan_recovery)
    events.subscribe("market.loan.recovered", on_loan_recovery)
