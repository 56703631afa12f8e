"""The demo's risk monitoring: the bank and the development and reform commission switch on library rule
sets (each backtested on the city's history first), the operator publishes a platform-wide set, the rules
run over the watched firms, a court pushes a case against a borrower, and a few alerts are acknowledged and
resolved — so the risk board shows alerts of every colour and the queue every state."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.access import Principal
from xinyidai.data import service as data_service
from xinyidai.data.lake import Lake
from xinyidai.market.models import Loan
from xinyidai.monitoring import service as monitoring
from xinyidai.monitoring.models import Alert, RuleSet

BANK_SETS = ("judicial", "operations", "employment", "tax", "utilities", "financing", "rating")
DEPARTMENT_SETS = ("whitelist",)
PLATFORM_SETS = ("penalties_credit",)


def _principal(session: Session, username: str) -> Principal:
    return accounts.principal_for(session.scalars(select(User).where(User.username == username)).one())


def _switch_on(session: Session, lake: Lake, who: Principal, codes: tuple[str, ...]) -> None:
    for code in codes:
        rule_set = monitoring.adopt_library_set(session, who, code)
        monitoring.backtest_set(session, lake, who, rule_set.id)
        monitoring.activate_set(session, who, rule_set.id)


def fill_monitoring(session: Session, lake: Lake) -> None:
    """Once: rule sets on, a run, a pushed court case, alerts in every state."""
    if session.scalar(select(RuleSet.id).limit(1)) is not None:
        return
    as_of = data_service.last_receipt_date(lake)
    if as_of is None:
        return
    bank, gov, operator = (_principal(session, u) for u in ("bank_risk", "gov_admin", "op_admin"))
    _switch_on(session, lake, bank, BANK_SETS)
    _switch_on(session, lake, gov, DEPARTMENT_SETS)
    _switch_on(session, lake, operator, PLATFORM_SETS)
    monitoring.run_monitoring(session, lake, as_of, trigger="pipeline")
    borrower = session.scalar(select(Loan.uscc).where(Loan.institution_id == bank.organisation_id).limit(1))
    if borrower is not None:  # the intermediate court pushes a case: an alert at once
        monitoring.on_push(
            session,
            lake,
            "court_cases",
            [
                {
                    "uscc": borrower,
                    "case_number": "(2026)鲁1002民初8848号",
                    "role": "被告",
                    "case_type": "民事",
                    "cause": "借款合同纠纷",
                    "amount": 2_600_000,
                    "filed_on": date.fromordinal(as_of.toordinal()),
                    "outcome": "审理中",
                }
            ],
        )
    alerts = list(
        session.scalars(
            select(Alert).where(Alert.organisation_id == bank.organisation_id).order_by(Alert.id).limit(6)
        )
    )
    for alert in alerts[:2]:
        monitoring.acknowledge_alert(session, bank, alert.id)
    if len(alerts) > 2:
        monitoring.resolve_alert(
            session, bank, alerts[2].id, "已电话核实：企业已补缴欠费，经营正常，继续观察一个月。"
        )
    session.flush()
