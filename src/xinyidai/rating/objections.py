"""Objections (异议) to the data in a credit report (征信业管理条例 Art. 25).

An enterprise marks an item of its own report as wrong, with its explanation: a row of a source (court
case, penalty, list entry…) or a field of its registration record. The item is marked "under objection"
(异议处理中) at once in every rendering of the report (page, PDF, JSON — ``report.build_report`` reads the
open objections of the enterprise in one query), and the objection goes to the department that supplies
the source (``SourceDepartment``; the operator when that department is not on the platform), which must
answer within ``objection_working_days`` working days and never later than the 20th calendar day — the
legal limit. ``remind_and_escalate`` (run daily by ``xinyidai compliance daily``) reminds the department
before the deadline and escalates an unanswered objection to the operator once it passed.

The department accepts (the correction comes with its next delivery: the objection closes as
``corrected`` when a later batch of that source about the enterprise is ingested — ``close_corrected`` —
or when the department names the correcting batch) or rejects it with its reason. The enterprise sees
the answer on its list and in a notification.

Why here, in the rating capability: the objection marks the report, which is built here, and the
marking must cost one query per report. Departments and enterprises are organisations of ``accounts``,
a layer above: this module refers to them by organisation id only. Who the enterprise is (its USCC) is
resolved by the caller from the principal's own organisation — as for ``report.view_report`` — and an
objection to any other enterprise's report is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core import notifications
from xinyidai.core.access import OrgKind, Permission, Principal, Role, require
from xinyidai.core.audit import record_event
from xinyidai.core.clock import SHANGHAI, utcnow
from xinyidai.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.workdays import deadline_after, is_working_day
from xinyidai.data import service as data_service
from xinyidai.data.catalogue import catalogue
from xinyidai.data.lake import Lake
from xinyidai.data.models import IngestBatch, IngestPart
from xinyidai.rating.objection_models import DataObjection, SourceDepartment
from xinyidai.rating.report import MARKING_STATUSES, build_report

__all__ = [
    "LEGAL_LIMIT_DAYS",
    "STATUS_LABELS",
    "answer_deadline",
    "answer_objection",
    "assign_source",
    "close_corrected",
    "department_of",
    "department_queue",
    "enterprise_objections",
    "mark_corrected",
    "raise_objection",
    "remind_and_escalate",
    "search_objections",
    "withdraw_objection",
]

LEGAL_LIMIT_DAYS = 20  # Art. 25: checked and answered within 20 days of receipt
TOPIC = "objections"

STATUS_LABELS: Mapping[str, str] = {
    "open": N_("Under objection"),
    "accepted": N_("Accepted, awaiting the corrected data"),
    "corrected": N_("Corrected"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
ACTION_LABELS: Mapping[str, str] = {
    "accept": N_("accept the objection"),
    "reject": N_("reject the objection"),
    "withdraw": N_("withdraw the objection"),
    "correct": N_("mark the data corrected"),
}
TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "open": {"accept": "accepted", "reject": "rejected", "withdraw": "withdrawn"},
    "accepted": {"correct": "corrected"},
}


def _move(objection: DataObjection, action: str) -> None:
    target = TRANSITIONS.get(objection.status, {}).get(action)
    if target is None:
        raise IllegalTransition(
            "You cannot %(action_label)s now: it is %(state_label)s",
            action_label=ACTION_LABELS[action],
            state_label=STATUS_LABELS.get(objection.status, objection.status),
        )
    objection.status = target


# -- routing ---------------------------------------------------------------------------------------------
def assign_source(session: Session, source_id: str, organisation_id: int) -> None:
    """Name the department organisation that answers objections to ``source_id`` (idempotent)."""
    data_service.catalogue_source(source_id)
    row = session.get(SourceDepartment, source_id)
    if row is None:
        session.add(SourceDepartment(source_id=source_id, organisation_id=organisation_id))
    else:
        row.organisation_id = organisation_id
    session.flush()


def department_of(session: Session, source_id: str) -> int | None:
    """The department organisation answering for ``source_id``, None when the operator does."""
    row = session.get(SourceDepartment, source_id)
    return row.organisation_id if row is not None else None


def answer_deadline(raised_at: datetime, working_days: int) -> datetime:
    """End of the ``working_days``-th working day after ``raised_at`` (Asia/Shanghai), but never later
    than the end of the 20th calendar day (Art. 25), as an aware datetime."""
    by_workdays = deadline_after(raised_at, working_days)
    local = raised_at.astimezone(SHANGHAI).date() + timedelta(days=LEGAL_LIMIT_DAYS)
    legal = datetime.combine(local, time(23, 59, 59), tzinfo=SHANGHAI)
    return min(by_workdays, legal)


# -- the enterprise -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectionInput:
    """What the enterprise posts: the report's USCC, the item (source + key, or registration + field)
    and its explanation."""

    uscc: str
    source_id: str
    item_key: str = ""
    field: str = ""
    explanation: str = ""


def _own(principal: Principal, own_uscc: str | None, uscc: str) -> str:
    if principal.org_kind is not OrgKind.ENTERPRISE or not own_uscc:
        raise PermissionDenied()
    if uscc.strip().upper() != own_uscc:
        raise PermissionDenied("You may object only to data in your own credit report")
    return own_uscc


def _item_label(session: Session, lake: Lake, uscc: str, data: ObjectionInput) -> str:
    """The item as the enterprise's report shows it; ValidationFailed when the report has no such item."""
    report = build_report(session, lake, uscc, version="concise")
    if data.source_id == "registration":
        source = catalogue().get("registration")
        names = {f.name: f.name_zh for f in source.fields}
        shown = {
            "name": report.basics.name,
            "entity_type": report.basics.entity_type,
            "founded_on": report.basics.founded_on,
            "registered_capital": report.basics.registered_capital_wan,
            "region_code": report.basics.region_code,
            "industry_code": report.basics.industry_code,
            "status": report.basics.status,
            "address": report.basics.address,
            "legal_rep_name": report.basics.legal_representative,
        }
        if data.field not in shown or data.field not in names:
            raise ValidationFailed("Choose an item shown in your credit report", field="field")
        value = shown[data.field]
        return f"{names[data.field]}：{'—' if value is None else value}"
    for section in report.records:
        if section.source != data.source_id:
            continue
        for key, row in zip(section.keys, section.rows, strict=True):
            if key == data.item_key:
                values = [
                    f"{c.name_zh}：{row.get(c.name)}" for c in section.columns if row.get(c.name) is not None
                ]
                return f"{section.name_zh} · " + "；".join(values)[:450]
    raise ValidationFailed("Choose an item shown in your credit report", field="item_key")


def raise_objection(
    session: Session,
    lake: Lake,
    principal: Principal,
    data: ObjectionInput,
    *,
    own_uscc: str | None,
    working_days: int = 14,
) -> DataObjection:
    """The enterprise objects to an item of its own report; it is routed to the supplying department.

    Args:
        own_uscc: the USCC of the principal's own enterprise (resolved by the caller from its organisation).
        working_days: the department's answer period (``objection_working_days``).

    Raises:
        PermissionDenied: not the enterprise's own report. ValidationFailed: no such item, or no
        explanation. Conflict: the item is already under objection.
    """
    require(principal, Permission.OBJECTIONS_RAISE)
    uscc = _own(principal, own_uscc, data.uscc)
    explanation = data.explanation.strip()
    if not 5 <= len(explanation) <= 2000:
        raise ValidationFailed(
            "Explain in 5 to 2000 characters what is wrong and what is right", field="explanation"
        )
    label = _item_label(session, lake, uscc, data)
    item_key = "" if data.source_id == "registration" else data.item_key
    item_field = data.field if data.source_id == "registration" else ""
    duplicate = session.scalars(
        select(DataObjection.id).where(
            DataObjection.uscc == uscc,
            DataObjection.source_id == data.source_id,
            DataObjection.item_key == item_key,
            DataObjection.field == item_field,
            DataObjection.status.in_(MARKING_STATUSES),
        )
    ).first()
    if duplicate is not None:
        raise Conflict("This item is already under objection")
    now = utcnow()
    objection = DataObjection(
        uscc=uscc,
        enterprise_id=principal.organisation_id,
        source_id=data.source_id,
        item_key=item_key,
        field=item_field,
        item_label=label,
        explanation=explanation,
        department_id=department_of(session, data.source_id),
        status="open",
        raised_by=principal.username,
        raised_at=now,
        due_at=answer_deadline(now, working_days),
        answer="",
    )
    session.add(objection)
    session.flush()
    _notify_answerers(
        session,
        objection,
        title=N_("A new objection to your data needs an answer by %(due)s"),
        severity="warning",
        key=f"raised:{objection.id}",
    )
    _audit(session, principal, "objection.raise", objection, {"source": data.source_id})
    return objection


def withdraw_objection(
    session: Session, principal: Principal, objection_id: int, *, own_uscc: str | None
) -> DataObjection:
    """The enterprise withdraws an objection not yet answered."""
    require(principal, Permission.OBJECTIONS_RAISE)
    objection = session.get(DataObjection, objection_id)
    if (
        objection is None
        or objection.enterprise_id != principal.organisation_id
        or objection.uscc != own_uscc
    ):
        raise NotFound()
    _move(objection, "withdraw")
    objection.closed_at = utcnow()
    _audit(session, principal, "objection.withdraw", objection)
    return objection


def enterprise_objections(
    session: Session, principal: Principal, *, limit: int = 200
) -> Sequence[DataObjection]:
    """The enterprise's own objections, newest first."""
    require(principal, Permission.OBJECTIONS_RAISE)
    return session.scalars(
        select(DataObjection)
        .where(DataObjection.enterprise_id == principal.organisation_id)
        .order_by(DataObjection.id.desc())
        .limit(limit)
    ).all()


# -- the department -------------------------------------------------------------------------------------
def _answerable(session: Session, principal: Principal, objection_id: int) -> DataObjection:
    """An objection the principal answers: its department's, or (operator admin) one without a department."""
    require(principal, Permission.OBJECTIONS_ANSWER)
    objection = session.get(DataObjection, objection_id)
    if objection is None:
        raise NotFound()
    if objection.department_id is None:
        if principal.org_kind is not OrgKind.OPERATOR:
            raise NotFound()
    elif objection.department_id != principal.organisation_id:
        raise NotFound()
    return objection


def department_queue(
    session: Session, principal: Principal, *, include_closed: bool = False, limit: int = 500
) -> Sequence[DataObjection]:
    """The objections the principal's department answers (the operator: those without a department),
    soonest deadline first."""
    require(principal, Permission.OBJECTIONS_ANSWER)
    stmt = select(DataObjection)
    if principal.org_kind is OrgKind.OPERATOR:
        stmt = stmt.where(DataObjection.department_id.is_(None))
    else:
        stmt = stmt.where(DataObjection.department_id == principal.organisation_id)
    if not include_closed:
        stmt = stmt.where(DataObjection.status.in_(MARKING_STATUSES))
    return session.scalars(stmt.order_by(DataObjection.due_at, DataObjection.id).limit(limit)).all()


def answer_objection(
    session: Session, principal: Principal, objection_id: int, *, accept: bool, reason: str
) -> DataObjection:
    """The department accepts (the corrected data follows in its next delivery) or rejects with a reason."""
    objection = _answerable(session, principal, objection_id)
    reason = reason.strip()
    if not accept and not 5 <= len(reason) <= 2000:
        raise ValidationFailed("Give the reason for rejecting in 5 to 2000 characters", field="reason")
    if len(reason) > 2000:
        raise ValidationFailed("Give the reason for rejecting in 5 to 2000 characters", field="reason")
    _move(objection, "accept" if accept else "reject")
    now = utcnow()
    objection.answer = reason
    objection.answered_by = principal.username
    objection.answered_at = now
    if not accept:
        objection.closed_at = now
    _notify_enterprise(
        session,
        objection,
        N_("Your objection was accepted: the corrected data will follow")
        if accept
        else N_("Your objection was rejected"),
        severity="info" if accept else "warning",
    )
    _audit(session, principal, "objection.accept" if accept else "objection.reject", objection)
    return objection


def mark_corrected(session: Session, principal: Principal, objection_id: int, batch_id: str) -> DataObjection:
    """The department names the delivery (batch) that corrected an accepted objection's item."""
    objection = _answerable(session, principal, objection_id)
    batch = session.get(IngestBatch, batch_id.strip())
    if (
        batch is None
        or batch.source_id != objection.source_id
        or batch.status not in ("published", "superseded")
        or batch.received_at < objection.raised_at
    ):
        raise ValidationFailed(
            "Name a delivery of this source received after the objection was raised", field="batch_id"
        )
    _correct(session, objection, batch.id)
    _audit(session, principal, "objection.correct", objection, {"batch_id": batch.id})
    return objection


def _correct(session: Session, objection: DataObjection, batch_id: str) -> None:
    _move(objection, "correct")
    objection.correction_batch_id = batch_id
    objection.closed_at = utcnow()
    _notify_enterprise(session, objection, N_("The data you objected to was corrected"), severity="info")


def close_corrected(session: Session, lake: Lake) -> int:
    """Close accepted objections whose source delivered rows about the enterprise after the acceptance.

    One DuckDB scan per batch over that batch's own Parquet files. Returns how many closed.
    """
    accepted = session.scalars(select(DataObjection).where(DataObjection.status == "accepted")).all()
    closed = 0
    for objection in accepted:
        after = objection.answered_at or objection.raised_at
        batches = session.scalars(
            select(IngestBatch)
            .where(
                IngestBatch.source_id == objection.source_id,
                IngestBatch.status.in_(("published", "superseded")),
                IngestBatch.received_at > after,
            )
            .order_by(IngestBatch.received_at)
        ).all()
        for batch in batches:
            if _batch_mentions(session, lake, batch, objection.uscc):
                _correct(session, objection, batch.id)
                record_event(
                    session,
                    "objection.correct",
                    object_type="objection",
                    object_id=objection.id,
                    detail={"batch_id": batch.id, "automatic": True},
                )
                closed += 1
                break
    return closed


def _batch_mentions(session: Session, lake: Lake, batch: IngestBatch, uscc: str) -> bool:
    source = catalogue().get(batch.source_id)
    if source.entity_field is None:
        return False
    paths = [
        str(lake.abspath(p))
        for p in session.scalars(select(IngestPart.path).where(IngestPart.batch_id == batch.id))
        if lake.abspath(p).exists()
    ]
    if not paths:
        return False
    column = '"' + source.entity_field.replace('"', '""') + '"'
    sql = f"SELECT count(*) FROM read_parquet($files, union_by_name = true) WHERE {column} = $uscc"  # noqa: S608
    row = lake.connection().cursor().execute(sql, {"files": paths, "uscc": uscc}).fetchone()
    return bool(row and row[0])


# -- the deadline ---------------------------------------------------------------------------------------
def working_days_left(today: date, due: date) -> int:
    """Working days after ``today`` up to and including ``due`` (0 when due today or past)."""
    days, day = 0, today
    while day < due:
        day += timedelta(days=1)
        if is_working_day(day):
            days += 1
    return days


@dataclass(frozen=True)
class DeadlineRun:
    reminded: int
    escalated: int


def remind_and_escalate(
    session: Session, *, remind_working_days: int = 3, now: datetime | None = None
) -> DeadlineRun:
    """Remind the answerers of open objections nearing their deadline (once) and escalate overdue ones to
    the operator (once): the objection shows as overdue everywhere from then on."""
    now = now or utcnow()
    today = now.astimezone(SHANGHAI).date()
    reminded = escalated = 0
    for objection in session.scalars(
        select(DataObjection).where(DataObjection.status == "open").order_by(DataObjection.due_at)
    ):
        if objection.due_at < now:
            if objection.escalated_at is None:
                objection.escalated_at = now
                notifications.notify_role(
                    session,
                    Role.OPERATOR_ADMIN,
                    topic=TOPIC,
                    key=f"overdue:{objection.id}",
                    severity="alert",
                    title=N_("An objection was not answered by its deadline %(due)s"),
                    body=N_("Objection %(id)s to %(source)s data of %(uscc)s is overdue."),
                    params=_params(objection),
                    link="/operator/objections?overdue=1",
                )
                _notify_answerers(
                    session,
                    objection,
                    title=N_("An objection was not answered by its deadline %(due)s"),
                    severity="alert",
                    key=f"overdue:{objection.id}",
                )
                record_event(session, "objection.escalate", object_type="objection", object_id=objection.id)
                escalated += 1
        elif (
            objection.reminded_at is None
            and working_days_left(today, objection.due_at.astimezone(SHANGHAI).date()) <= remind_working_days
        ):
            objection.reminded_at = now
            _notify_answerers(
                session,
                objection,
                title=N_("Reminder: an objection to your data needs an answer by %(due)s"),
                severity="warning",
                key=f"remind:{objection.id}",
            )
            reminded += 1
    session.flush()
    return DeadlineRun(reminded, escalated)


# -- the operator ---------------------------------------------------------------------------------------
def search_objections(
    session: Session,
    principal: Principal,
    *,
    status: str = "",
    overdue_only: bool = False,
    uscc: str = "",
    limit: int = 500,
) -> Sequence[DataObjection]:
    """Every objection (operator and auditor), overdue ones first, then newest first."""
    require(principal, Permission.OBJECTIONS_READ_ALL)
    stmt = select(DataObjection)
    if status:
        stmt = stmt.where(DataObjection.status == status)
    if overdue_only:
        stmt = stmt.where(DataObjection.status == "open", DataObjection.due_at < utcnow())
    if uscc:
        stmt = stmt.where(DataObjection.uscc == uscc.strip().upper())
    return session.scalars(
        stmt.order_by(DataObjection.escalated_at.is_(None), DataObjection.id.desc()).limit(limit)
    ).all()


def is_overdue(objection: DataObjection, now: datetime | None = None) -> bool:
    return objection.status == "open" and objection.due_at < (now or utcnow())


# -- helpers --------------------------------------------------------------------------------------------
def _params(objection: DataObjection) -> dict[str, object]:
    due = objection.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    return {"id": objection.id, "source": objection.source_id, "uscc": objection.uscc, "due": due}


def _notify_answerers(
    session: Session, objection: DataObjection, *, title: str, severity: str, key: str
) -> None:
    body = N_("Objection %(id)s to %(source)s data of %(uscc)s: answer by %(due)s.")
    if objection.department_id is None:
        notifications.notify_role(
            session,
            Role.OPERATOR_ADMIN,
            topic=TOPIC,
            key=key,
            severity=severity,
            title=title,
            body=body,
            params=_params(objection),
            link="/government/objections",
        )
        return
    for role in (Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF):
        notifications.notify_role(
            session,
            role,
            organisation_id=objection.department_id,
            topic=TOPIC,
            key=key,
            severity=severity,
            title=title,
            body=body,
            params=_params(objection),
            link="/government/objections",
        )


def _notify_enterprise(session: Session, objection: DataObjection, title: str, *, severity: str) -> None:
    for role in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF):
        notifications.notify_role(
            session,
            role,
            organisation_id=objection.enterprise_id,
            topic=TOPIC,
            key=f"{objection.status}:{objection.id}",
            severity=severity,
            title=title,
            body=N_(
                "Objection %(id)s to %(source)s data of %(uscc)s: see the answer on your objections page."
            ),
            params=_params(objection),
            link="/enterprise/objections",
        )


def _audit(
    session: Session,
    principal: Principal,
    event_type: str,
    objection: DataObjection,
    detail: dict[str, object] | None = None,
) -> None:
    record_event(
        session,
        event_type,
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type="objection",
        object_id=objection.id,
        detail={"uscc": objection.uscc, "status": objection.status, **(detail or {})},
    )
