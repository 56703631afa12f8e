"""The fields a monitoring rule may read, and who may read which.

A rule is one boolean expression of the shared expression language over these fields:

- every indicator as of the run's snapshot (``insured_latest``, ``defendant_amount_24m`` …), and the
  same indicator in the previous snapshot (``<id>_prev``) and in the newest snapshot at least three months
  older (``<id>_3m_ago``) — so "insured headcount down more than 30 % in 3 months" is
  ``insured_latest < 0.7 * insured_latest_3m_ago`` and "a new lawsuit" is
  ``defendant_cases_24m > defendant_cases_24m_prev``;
- the rating: ``grade``, ``score``, ``grade_prev``, ``grade_drop`` (notches down since the previous
  rating, 0 when none);
- the marketplace's live loan book (not the monthly delivery): ``loan_overdue_days`` (longest current
  overdue of the firm's loans at any institution on the platform), ``loan_in_default``,
  ``loans_on_platform``, ``loan_outstanding``; and, for an institution, its own loans to the firm
  (``own_loan_overdue_days``, ``own_loan_outstanding``);
- for ``event`` rules, the record a department pushed in real time: ``event_source`` (``court_cases``,
  ``dishonest_debtors``, ``red_black_lists``) and its fields as ``event_<field>`` (``event_role``,
  ``event_amount`` …); NULL in batch runs, so an event rule never fires there.

Who may use which field (``allowed_fields``): institutions may not read ``fund_*`` — what a government
fund invested in a firm, on what terms, is confidential to the fund and the government (banks see its
effect through the rating, 投贷联动); departments may not read the live loan fields, which are banks'
business with their borrowers (departments see the platform's statistics instead), nor ``own_*``, which
only means something for a lender. A rule that names a field its owner may not use is refused with the
field's position.
"""

from __future__ import annotations

import re
from functools import cache

from xinyidai.core.access import OrgKind
from xinyidai.core.errors import ValidationFailed
from xinyidai.core.expressions import (
    CompiledExpression,
    FieldCatalogue,
    FieldSpec,
    ValueType,
    compile_expression,
)
from xinyidai.data.catalogue import catalogue
from xinyidai.data.catalogue.model import FieldType, Frequency
from xinyidai.indicators.service import INDICATORS, field_catalogue

__all__ = [
    "EVENT_SOURCES",
    "LOAN_FIELDS",
    "OWN_LOAN_FIELDS",
    "RATING_FIELDS",
    "SUFFIXES",
    "FieldNotAllowed",
    "allowed_fields",
    "check_rule",
    "event_fields",
    "monitoring_catalogue",
]

SUFFIXES = ("_prev", "_3m_ago")

RATING_FIELDS = (
    FieldSpec("grade", ValueType.STRING, "Grade of the newest rating on or before the run's date"),
    FieldSpec("score", ValueType.FLOAT, "Score (0–1000) of that rating"),
    FieldSpec("grade_prev", ValueType.STRING, "Grade of the rating before it"),
    FieldSpec("grade_drop", ValueType.INTEGER, "Notches down between the two ratings (0 when none)"),
)
LOAN_FIELDS = (
    FieldSpec("loans_on_platform", ValueType.INTEGER, "Live loans at any institution on the platform"),
    FieldSpec("loan_outstanding", ValueType.FLOAT, "Outstanding principal of those loans, 元"),
    FieldSpec("loan_overdue_days", ValueType.INTEGER, "Longest current overdue of those loans, days"),
    FieldSpec("loan_in_default", ValueType.BOOLEAN, "Any of the firm's loans on the platform in default"),
)
OWN_LOAN_FIELDS = (
    FieldSpec("own_loan_outstanding", ValueType.FLOAT, "Outstanding principal of the watcher's own loans"),
    FieldSpec("own_loan_overdue_days", ValueType.INTEGER, "Longest current overdue of the watcher's loans"),
)
EVENT_SOURCES = tuple(s.id for s in catalogue().sources.values() if s.frequency is Frequency.REALTIME)

_EVENT_TYPES = {
    FieldType.STRING: ValueType.STRING,
    FieldType.CODE: ValueType.STRING,
    FieldType.USCC: ValueType.STRING,
    FieldType.ENTITY_REF: ValueType.STRING,
    FieldType.INTEGER: ValueType.INTEGER,
    FieldType.DECIMAL: ValueType.FLOAT,
    FieldType.FLOAT: ValueType.FLOAT,
    FieldType.DATE: ValueType.DATE,
    FieldType.MONTH: ValueType.DATE,
    FieldType.BOOLEAN: ValueType.BOOLEAN,
}


@cache
def event_fields() -> tuple[FieldSpec, ...]:
    """``event_source`` and ``event_<field>`` for every field of the real-time sources (first type wins)."""
    specs: dict[str, FieldSpec] = {
        "event_source": FieldSpec("event_source", ValueType.STRING, "Pushed source")
    }
    for source_id in EVENT_SOURCES:
        for f in catalogue().get(source_id).fields:
            if f.name == "uscc":
                continue
            name = f"event_{f.name}"
            if name not in specs:
                specs[name] = FieldSpec(name, _EVENT_TYPES[f.type], f"{source_id}.{f.name}: {f.description}")
    return tuple(specs.values())


@cache
def monitoring_catalogue() -> FieldCatalogue:
    """Every field any rule may read (see the module docstring)."""
    specs: list[FieldSpec] = list(field_catalogue().values())
    for spec in field_catalogue().values():
        for suffix in SUFFIXES:
            specs.append(FieldSpec(spec.name + suffix, spec.type, spec.description))
    return FieldCatalogue([*specs, *RATING_FIELDS, *LOAN_FIELDS, *OWN_LOAN_FIELDS, *event_fields()])


def _forbidden(kind: OrgKind | None) -> frozenset[str]:
    names = set(monitoring_catalogue())
    if kind is OrgKind.INSTITUTION:
        return frozenset(n for n in names if n.startswith("fund_"))
    if kind is OrgKind.DEPARTMENT:
        return frozenset(n for n in names if n.startswith(("loan", "own_")))
    if kind is OrgKind.OPERATOR or kind is None:  # platform-wide sets run for every watcher
        return frozenset(n for n in names if n.startswith(("fund_", "own_")))
    return frozenset(names)


@cache
def allowed_fields(kind: OrgKind | None) -> frozenset[str]:
    """The fields a rule set owned by an organisation of ``kind`` may use (None: platform-wide)."""
    return frozenset(monitoring_catalogue()) - _forbidden(kind)


class FieldNotAllowed(ValidationFailed):
    """A rule reads a field its owner may not use."""

    code = "field_not_allowed"
    title = "This field may not be used here"


def check_rule(expression: str, kind: OrgKind | None) -> CompiledExpression:
    """Compile a rule for an owner of ``kind``: a boolean expression over the fields it may use.

    Raises an ExpressionError (with the position) for a malformed rule, FieldNotAllowed for a field
    the owner may not read.
    """
    compiled = compile_expression(expression, monitoring_catalogue(), result_type="boolean")
    barred = sorted(compiled.fields - allowed_fields(kind))
    if barred:
        name = barred[0]
        found = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", expression, flags=re.IGNORECASE)
        raise FieldNotAllowed(
            "Field %(name)s (at character %(position)s) may not be used in your rules",
            field="expression",
            name=name,
            position=found.start() + 1 if found else 1,
        )
    return compiled


def base_indicator(field: str) -> str | None:
    """The indicator a field reads (``insured_latest_3m_ago`` → ``insured_latest``), or None."""
    for suffix in SUFFIXES:
        if field.endswith(suffix):
            field = field[: -len(suffix)]
            break
    return field if field in _INDICATOR_IDS else None


_INDICATOR_IDS = frozenset(i.id for i in INDICATORS)
