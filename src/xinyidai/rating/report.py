"""Credit reports (信用报告): what the platform knows of one enterprise as of a date.

Contents: the registration basics (name, legal form, founding date, registered capital in 万元, region,
industry, size class, status, legal representative), the rating with its reasons and the grade history,
every indicator by dimension with its percentile among peers of the same industry and size
(``indicators.peers``), 24 monthly points of sales and tax paid (元), insured headcount (人) and electricity
use (kWh), and the records of the listed sources: court cases, dishonest-debtor entries, administrative
penalties, red/black and financial-risk list entries, licences, patents, trademarks and mortgages.

Two versions. The *concise* version is what the enterprise sees about itself: its legal representative
by masked name only, its own records without other parties (a mortgagee may be a natural person). The
*full* version is for the institutions it asks for financing and the operator's staff: it adds the legal
representative's masked ID number and phone and the other parties. Personal data (natural persons'
names, ID numbers, phones) is masked in both by the catalogue's sensitivity through
``data.masking`` — here, in ``build_report``, the one place the page, the PDF and the JSON all pass.

The as-of date is the rating date: the newest rating on or before the date asked for. Everything is read
as the lake stood at the end of that day (no look-ahead), from the report store (``report_store``).

Access and the record of every look (征信业管理条例 Art. 18, 20, 22): ``ensure_may_view`` decides who may see
which version — the one place where the marketplace issue adds the enterprise's consent — and
``view_report`` records each look in the audit trail (who, when, which enterprise, which version, for
what purpose) before the report is shown; the report number printed on it names that record.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core.access import OrgKind, Principal
from xinyidai.core.audit import record_event
from xinyidai.core.clock import utcnow
from xinyidai.core.codes import UnknownCode, industry_division, region_name
from xinyidai.core.errors import NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.uscc import InvalidUSCC, validate_uscc
from xinyidai.data import service as data_service
from xinyidai.data.catalogue import FieldType, Source, catalogue
from xinyidai.data.lake import Lake
from xinyidai.data.masking import Viewer, mask_record
from xinyidai.indicators import service as indicators
from xinyidai.rating import report_store
from xinyidai.rating.models import RatingModel
from xinyidai.rating.objection_models import DataObjection
from xinyidai.rating.service import explain_values, grade_history, rater_of, rating_dates

__all__ = [
    "PURPOSES_BY_KIND",
    "Basics",
    "Column",
    "CreditReport",
    "DimensionSection",
    "GradeChangeItem",
    "IndicatorItem",
    "MonthlyPoint",
    "Purpose",
    "RatingSummary",
    "ReasonItem",
    "RecordSection",
    "ReportVersion",
    "build_report",
    "ensure_may_view",
    "open_objection_marks",
    "record_key",
    "view_report",
]

ReportVersion = Literal["concise", "full"]
Channel = Literal["page", "pdf", "json"]


class Purpose(StrEnum):
    """Why a report is looked at: recorded with every look; a report is used for nothing else (Art. 20)."""

    SELF_INQUIRY = "self_inquiry"  # the enterprise looks at itself
    LOAN_REVIEW = "loan_review"  # an institution reviews a financing request
    POST_LOAN = "post_loan"  # an institution manages a loan it made
    PLATFORM_OPERATIONS = "platform_operations"  # operator staff: objections, data checks


# The purposes each kind of organisation may state; the first is the default.
PURPOSES_BY_KIND: dict[OrgKind, tuple[Purpose, ...]] = {
    OrgKind.ENTERPRISE: (Purpose.SELF_INQUIRY,),
    OrgKind.INSTITUTION: (Purpose.LOAN_REVIEW, Purpose.POST_LOAN),
    OrgKind.OPERATOR: (Purpose.PLATFORM_OPERATIONS,),
}

# Everyone sees personal data masked in a report: nobody's purpose needs a person's full ID or phone.
REPORT_VIEWER = Viewer(sees_personal=False, sees_internal=True)


# -- the report -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Basics:
    """The registration record as of the report date. Registered capital in 万元; personal data masked."""

    uscc: str
    name: str
    entity_type: str | None
    founded_on: date | None
    registered_capital_wan: Decimal | None
    region_code: str | None
    region_name: str | None
    industry_code: str | None
    industry_division: str | None
    industry_name: str | None
    industry_name_en: str | None
    size_class: str
    status: str | None
    status_changed_on: date | None
    address: str | None
    legal_representative: str | None
    legal_rep_id_number: str | None = None  # full version only
    legal_rep_phone: str | None = None  # full version only


@dataclass(frozen=True)
class ReasonItem:
    """A factor that moved the score: its value, its points (0–100) and its effect on the 0–1000 score."""

    indicator: str
    name: str
    value: float | None
    unit: str
    points: int
    impact: float


@dataclass(frozen=True)
class RatingSummary:
    """The rating as of the report date, with its reasons (PIPL Art. 24)."""

    as_of: date
    score: float
    grade: str
    model: str
    knock_out: str | None
    down: list[ReasonItem]
    up: list[ReasonItem]
    completeness: float
    incomplete: bool


@dataclass(frozen=True)
class GradeChangeItem:
    as_of: date
    previous_grade: str
    grade: str
    previous_score: Decimal
    score: Decimal


@dataclass(frozen=True)
class IndicatorItem:
    """One indicator: its value (ratios as fractions, ``unit`` '%') and where it stands among peers.

    ``percentile`` is the share of peers (0–100) with a lower value, ties counted half; ``better`` says
    which direction is good for credit, so a high percentile of arrears is bad. ``peer_level`` names the
    group used: industry_size, industry or city.
    """

    id: str
    name_zh: str
    name_en: str
    unit: str
    better: str
    value: float | int | bool | None
    percentile: float | None = None
    peer_level: str | None = None
    peer_firms: int | None = None


@dataclass(frozen=True)
class DimensionSection:
    dimension: str
    name_zh: str
    name_en: str
    indicators: list[IndicatorItem]


@dataclass(frozen=True)
class MonthlyPoint:
    """One month (its first day): sales and tax paid in 元, insured headcount, electricity use in kWh."""

    month: date
    sales: Decimal | None
    tax_paid: Decimal | None
    insured: int | None
    electricity: float | None


@dataclass(frozen=True)
class Column:
    """A column of a record section, as the catalogue names it."""

    name: str
    name_zh: str
    name_en: str
    unit: str | None


@dataclass(frozen=True)
class RecordSection:
    """A source's rows about the enterprise, newest first (at most ``report_store.RECORDS_KEPT``) and
    how many there are in all.

    ``keys[i]`` names row ``i`` for an objection (its key values joined by ``|``); ``disputed[i]`` is
    true while an objection to it is being handled (异议处理中).
    """

    source: str
    name_zh: str
    name_en: str
    total: int
    columns: list[Column]
    rows: list[dict[str, Any]]
    keys: list[str] = field(default_factory=list)
    disputed: list[bool] = field(default_factory=list)


@dataclass(frozen=True)
class CreditReport:
    """One enterprise's credit report as of a rating date (see the module docstring).

    ``report_number`` names the audit record of the look that produced it (``view_report``);
    ``generated_at`` is UTC.
    """

    report_number: str
    version: ReportVersion
    as_of: date
    generated_at: datetime
    basics: Basics
    rating: RatingSummary
    history: list[GradeChangeItem]
    dimensions: list[DimensionSection]
    months: list[MonthlyPoint]
    records: list[RecordSection]
    peer_group: dict[str, str | None] = field(default_factory=dict)
    purpose: Purpose | None = None
    # registration fields under objection (异议处理中), and how many objections are being handled in all
    disputed_fields: list[str] = field(default_factory=list)
    objections_open: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: dates ISO 8601, amounts as decimal strings (元, exact), NaN as null."""
        result = _jsonable(dataclasses.asdict(self))
        assert isinstance(result, dict)
        return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- who may look ----------------------------------------------------------------------------------------
ConsentCheck = Callable[[str, str, str], "int | None"]
"""``(uscc, version, purpose) -> consent id``: raises PermissionDenied without a live consent (and records
the attempt); the marketplace provides it, because consents live there, above rating."""


def ensure_may_view(
    principal: Principal,
    uscc: str,
    version: ReportVersion,
    *,
    own_uscc: str | None = None,
    purpose: Purpose | None = None,
    consent: ConsentCheck | None = None,
) -> int | None:
    """May this principal see this version of this enterprise's report? PermissionDenied if not.

    The enterprise itself sees both versions of its own report (``own_uscc`` is the USCC of the
    principal's enterprise, resolved by the caller); the operator's staff see the full version of any
    enterprise (supervision; every look recorded); a financial institution sees the full version only
    while it holds the enterprise's valid, unexpired, unrevoked consent for the stated purpose
    (征信业管理条例 Art. 18; PIPL Art. 23), decided by ``consent``; nobody else sees anything.

    Returns:
        The id of the consent the look relies on (institutions), else None.
    """
    if principal.org_kind is OrgKind.ENTERPRISE:
        if own_uscc is not None and own_uscc == uscc:
            return None
        raise PermissionDenied()
    if version == "full" and principal.org_kind is OrgKind.OPERATOR:
        return None
    if version == "full" and principal.org_kind is OrgKind.INSTITUTION and consent is not None:
        return consent(uscc, version, (purpose or Purpose.LOAN_REVIEW).value)
    raise PermissionDenied()


def _purpose(principal: Principal, purpose: Purpose | str | None) -> Purpose:
    allowed = PURPOSES_BY_KIND.get(principal.org_kind, ())
    if not allowed:
        raise PermissionDenied()
    if purpose is None or purpose == "":
        return allowed[0]
    if purpose not in allowed:
        raise ValidationFailed("This purpose is not one you may query a credit report for", field="purpose")
    return Purpose(purpose)


def view_report(
    session: Session,
    lake: Lake,
    principal: Principal,
    uscc: str,
    *,
    version: ReportVersion,
    own_uscc: str | None = None,
    purpose: Purpose | str | None = None,
    as_of: date | None = None,
    channel: Channel = "page",
    consent: ConsentCheck | None = None,
) -> CreditReport:
    """A principal looks at a report: check the access, build it, record the look (Art. 22).

    Args:
        uscc: the enterprise, as entered (normalised and validated here; an invalid code is NotFound).
        version: concise (the enterprise's own) or full.
        own_uscc: the USCC of the principal's own enterprise, if it is one.
        purpose: why (``Purpose``); by default the first purpose the principal's kind may state.
        as_of: the newest rating on or before this date (the newest of all by default).
        channel: page, pdf or json — recorded with the look.
        consent: the marketplace's consent check, required for institutions (``ensure_may_view``).

    Returns:
        The masked report, numbered after the audit record of this look.
    """
    try:
        code = str(validate_uscc(uscc))
    except InvalidUSCC:
        raise NotFound("No enterprise with this unified social credit code is known") from None
    reason = _purpose(principal, purpose)
    consent_id = ensure_may_view(principal, code, version, own_uscc=own_uscc, purpose=reason, consent=consent)
    report = build_report(session, lake, code, as_of, version=version)
    record = record_event(
        session,
        "credit_report.viewed",
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type="enterprise",
        object_id=code,
        detail={
            "version": version,
            "purpose": reason.value,
            "channel": channel,
            "as_of": report.as_of.isoformat(),
            "consent_id": consent_id,
        },
    )
    number = f"XYD{report.as_of:%Y%m%d}{record.id:010d}"
    return dataclasses.replace(report, report_number=number, purpose=reason)


# -- building it -----------------------------------------------------------------------------------------
def build_report(
    session: Session,
    lake: Lake,
    uscc: str,
    as_of: date | None = None,
    *,
    version: ReportVersion = "concise",
) -> CreditReport:
    """The credit report of ``uscc`` (a valid, normalised USCC) as of its newest rating on or before
    ``as_of``, masked for every viewer; no access check and no record (``view_report`` does both).

    Raises:
        NotFound: the enterprise is unknown, or was not rated on or before ``as_of``.
    """
    day = next((d for d in reversed(rating_dates(lake)) if as_of is None or d <= as_of), None)
    stored = report_store.lookup(lake, day, uscc) if day is not None else None
    if day is None or stored is None:
        if data_service.find_registered_enterprise(session, uscc) is None:
            raise NotFound("No enterprise with this unified social credit code is known")
        raise NotFound("This enterprise has no rating yet")
    document = stored.document
    values: dict[str, Any] = document.get("indicators") or {}
    basics = _basics(uscc, document.get("registration") or {}, values, version)
    standings = indicators.peer_standings(
        lake, stored.snapshot_as_of, basics.industry_division, basics.size_class, values
    )
    marks = open_objection_marks(session, uscc)
    return CreditReport(
        report_number=f"{uscc}-{day:%Y%m%d}",
        version=version,
        as_of=day,
        generated_at=utcnow(),
        basics=basics,
        rating=_rating(session, day, document["rating"], values),
        history=[
            GradeChangeItem(c.as_of, c.previous_grade, c.grade, c.previous_score, c.score)
            for c in grade_history(session, uscc)
            if c.as_of <= day
        ],
        dimensions=_dimensions(values, standings),
        months=_months(day, document.get("monthly") or []),
        records=[
            _records(spec, document.get(spec.source), version, marks) for spec in report_store.RECORD_SOURCES
        ],
        peer_group={"industry_division": basics.industry_division, "size_class": basics.size_class},
        disputed_fields=sorted({f for source, _key, f in marks if source == "registration" and f}),
        objections_open=len(marks),
    )


# An objection marks its item while it is open or accepted (the correction not yet delivered).
MARKING_STATUSES = ("open", "accepted")


def open_objection_marks(session: Session, uscc: str) -> set[tuple[str, str, str]]:
    """The items of ``uscc``'s report under objection, as (source, item key, field): one indexed query."""
    rows = session.execute(
        select(DataObjection.source_id, DataObjection.item_key, DataObjection.field).where(
            DataObjection.uscc == uscc, DataObjection.status.in_(MARKING_STATUSES)
        )
    ).all()
    return {(source, key, name) for source, key, name in rows}


def record_key(source: Source, row: Mapping[str, Any]) -> str:
    """A stored row's name for objections: its key values but the enterprise's, joined by ``|``."""
    return "|".join(
        "" if row.get(k) is None else str(row.get(k)) for k in source.key if k != source.entity_field
    )


def _decode(kind: FieldType, value: Any) -> Any:
    """A stored JSON value back to its catalogue type (amounts were stored as decimal strings)."""
    if value is None:
        return None
    if kind is FieldType.DECIMAL:
        return Decimal(str(value))
    if kind in (FieldType.DATE, FieldType.MONTH):
        return date.fromisoformat(value)
    return value


def _typed(source: Source, row: Mapping[str, Any]) -> dict[str, Any]:
    fields = {f.name: f for f in source.fields}
    return {k: _decode(fields[k].type, v) if k in fields else v for k, v in row.items()}


def _basics(
    uscc: str, stored: Mapping[str, Any], values: Mapping[str, Any], version: ReportVersion
) -> Basics:
    source = catalogue().get("registration")
    row = mask_record(source, _typed(source, stored), REPORT_VIEWER)
    division = indicators.division_of(row.get("industry_code"))
    region = row.get("region_code")
    try:
        place = region_name(region) if region else None
    except UnknownCode:
        place = None
    employees = values.get("employees_reported")
    if employees is None:
        employees = values.get("insured_latest")
    full = version == "full"
    return Basics(
        uscc=uscc,
        name=row.get("name") or uscc,
        entity_type=row.get("entity_type"),
        founded_on=row.get("founded_on"),
        registered_capital_wan=row.get("registered_capital"),
        region_code=region,
        region_name=place,
        industry_code=row.get("industry_code"),
        industry_division=division,
        industry_name=industry_division(division).name_zh if division else None,
        industry_name_en=industry_division(division).name_en if division else None,
        size_class=indicators.size_class(employees),
        status=row.get("status"),
        status_changed_on=row.get("status_changed_on"),
        address=row.get("address"),
        legal_representative=row.get("legal_rep_name"),
        legal_rep_id_number=row.get("legal_rep_id_number") if full else None,
        legal_rep_phone=row.get("legal_rep_phone") if full else None,
    )


def _rating(
    session: Session, day: date, stored: Mapping[str, Any], values: Mapping[str, Any]
) -> RatingSummary:
    """The stored rating with its reasons, recomputed from the indicator values and the model that rated.

    The knock-out that applied is the one the rating run found (stored with the rating), so the model
    (expert or statistical) is applied here without its knock-out rules: the same points, weights and
    completeness as the run, with no rule evaluation per view.
    """
    model = session.get(RatingModel, stored["model_id"])
    if model is None:
        raise NotFound("This enterprise has no rating yet")
    reasons = explain_values(rater_of(model), values, int(stored["knocked_out"]))
    return RatingSummary(
        as_of=day,
        score=float(stored["score"]),
        grade=str(stored["grade"]),
        model=f"{model.name} v{model.version}",
        knock_out=reasons["knock_out"],
        down=[ReasonItem(**r) for r in reasons["down"]],
        up=[ReasonItem(**r) for r in reasons["up"]],
        completeness=float(reasons["completeness"]),
        incomplete=bool(reasons["incomplete"]),
    )


def _dimensions(values: Mapping[str, Any], standings: Mapping[str, Any]) -> list[DimensionSection]:
    by_dimension: dict[str, list[IndicatorItem]] = {}
    for item in indicators.INDICATORS:
        standing = standings.get(item.id)
        by_dimension.setdefault(item.dimension.value, []).append(
            IndicatorItem(
                id=item.id,
                name_zh=item.name_zh,
                name_en=item.name_en,
                unit=item.unit,
                better=item.better.value,
                value=values.get(item.id),
                percentile=standing.percentile if standing else None,
                peer_level=standing.level if standing else None,
                peer_firms=standing.firms if standing else None,
            )
        )
    return [
        DimensionSection(dimension.value, name_zh, name_en, by_dimension.get(dimension.value, []))
        for dimension, (name_zh, name_en) in indicators.DIMENSIONS.items()
    ]


def _months(day: date, stored: Sequence[Mapping[str, Any]]) -> list[MonthlyPoint]:
    """The 24 full months before the report month, oldest first; a month without data has no values."""
    by_month = {date.fromisoformat(p["month"]): p for p in stored}
    first = date(day.year, day.month, 1)
    points = []
    for back in range(report_store.MONTHS, 0, -1):
        index = first.year * 12 + first.month - 1 - back
        month = date(index // 12, index % 12 + 1, 1)
        point = by_month.get(month, {})
        points.append(
            MonthlyPoint(
                month=month,
                sales=_decode(FieldType.DECIMAL, point.get("sales")),
                tax_paid=_decode(FieldType.DECIMAL, point.get("tax_paid")),
                insured=point.get("insured"),
                electricity=point.get("electricity"),
            )
        )
    return points


def _records(
    spec: report_store.RecordSource,
    stored: Mapping[str, Any] | None,
    version: ReportVersion,
    marks: Set[tuple[str, str, str]] = frozenset(),
) -> RecordSection:
    source = catalogue().get(spec.source)
    hidden = {"uscc", *(spec.other_parties if version == "concise" else ())}
    columns = [Column(f.name, f.name_zh, f.name_en, f.unit) for f in source.fields if f.name not in hidden]
    disputed_keys = {key for s, key, _f in marks if s == spec.source}
    rows, keys = [], []
    for raw in (stored or {}).get("rows") or []:
        masked = mask_record(source, _typed(source, raw), REPORT_VIEWER)
        rows.append({c.name: masked.get(c.name) for c in columns})
        keys.append(record_key(source, raw))
    return RecordSection(
        source=source.id,
        name_zh=source.name_zh,
        name_en=source.name_en,
        total=int((stored or {}).get("total") or 0),
        columns=columns,
        rows=rows,
        keys=keys,
        disputed=[key in disputed_keys for key in keys],
    )
