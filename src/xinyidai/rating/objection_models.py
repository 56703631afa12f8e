"""Tables of objections (异议) to the data in credit reports, and which department answers for which source.

They live in the rating capability, beside the credit report they mark, so that building a report reads
the open objections on its enterprise in one query (see ``rating.objections``). Departments and
enterprises are organisations (``accounts``, a layer above): referenced here by the ``organisations``
table's id only, never through the accounts models.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class SourceDepartment(Base):
    """The department organisation that answers objections to one catalogue source's data.

    A source without a row here (or whose department has not joined the platform) is answered by the
    operator, who takes the matter up with the supplying department outside the platform.
    """

    __tablename__ = "source_departments"

    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)


class DataObjection(Base):
    """An enterprise's objection to one item of its credit report (征信业管理条例 Art. 25).

    The item is a row of a source (``item_key``: the row's key values as the report shows them, joined
    by ``|``) or one field of the registration record (``source_id`` ``registration``, ``field``).
    Status: ``open`` (routed to the department, awaiting its answer) → ``accepted`` (the department will
    correct it in a later delivery) → ``corrected`` (a later delivery of that source about the enterprise
    arrived, or the department named the correcting batch); ``open`` → ``rejected`` (with the reason);
    ``open`` → ``withdrawn`` by the enterprise. While ``open`` or ``accepted`` the item is marked
    "under objection" in every report. ``due_at`` is the answer deadline (working days from the
    setting, never later than 20 calendar days); ``escalated_at`` is set when it passed unanswered.
    """

    __tablename__ = "data_objections"
    __table_args__ = (Index("ix_data_objections_uscc_status", "uscc", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    source_id: Mapped[str] = mapped_column(String(64))
    item_key: Mapped[str] = mapped_column(String(300), default="")
    field: Mapped[str] = mapped_column(String(64), default="")
    # what the enterprise saw, for the department and the operator (masked as in the report)
    item_label: Mapped[str] = mapped_column(String(500), default="")
    explanation: Mapped[str] = mapped_column(String(2000))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[str] = mapped_column(String(2000), default="")
    correction_batch_id: Mapped[str | None] = mapped_column(ForeignKey("ingest_batches.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
