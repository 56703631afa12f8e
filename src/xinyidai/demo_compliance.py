"""The demo city's objections (异议), made through the rating capability's own services.

The demo enterprise objects to its registered address (answered by the market regulator, which supplies
the registry) and, when its report lists one, to a record of the credit office's sources (answered by the
development and reform commission, the demo's ``gov_admin`` and ``gov_staff``), so the enterprise's, the
department's and the operator's objection pages show something. Idempotent: nothing happens once the demo
has objections.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core.errors import XydError
from xinyidai.core.settings import Settings
from xinyidai.data.lake import Lake
from xinyidai.rating import objections
from xinyidai.rating import report as reports
from xinyidai.rating.objection_models import DataObjection


def fill_compliance(session: Session, lake: Lake, settings: Settings) -> int:
    """Raise the demo enterprise's objections; returns how many were raised."""
    if session.scalar(select(func.count()).select_from(DataObjection)):
        return 0
    user = session.scalars(select(User).where(User.username == "ent_admin")).first()
    if user is None or user.organisation.enterprise is None:
        return 0
    principal = accounts.principal_for(user)
    uscc = user.organisation.enterprise.uscc
    try:
        report = reports.build_report(session, lake, uscc)
    except XydError:  # not rated yet
        return 0
    wanted = [
        objections.ObjectionInput(
            uscc=uscc,
            source_id="registration",
            field="address",
            explanation="本企业已于上月迁至新厂址，登记机关的变更登记已办结，地址应更新。",
        )
    ]
    ndrc_sources = {
        source
        for source in ("admin_penalties", "red_black_lists")
        if objections.department_of(session, source)
    }
    for section in report.records:
        if section.source in ndrc_sources and section.keys:
            wanted.append(
                objections.ObjectionInput(
                    uscc=uscc,
                    source_id=section.source,
                    item_key=section.keys[0],
                    explanation="该记录已按规定完成信用修复，不应继续展示。",
                )
            )
            break
    raised = 0
    for data in wanted:
        objections.raise_objection(
            session, lake, principal, data, own_uscc=uscc, working_days=settings.objection_working_days
        )
        raised += 1
    return raised
