"""Policy eligibility: a boolean expression over the enterprise's profile and its newest indicators.

The fields are every indicator (``indicators.field_catalogue()``) plus the profile: ``grade`` and
``score`` (the newest rating, 0–1000), ``region_code`` (GB/T 2260), ``industry_section`` (GB/T 4754
section letter) and ``size_class`` (micro / small / medium / large). A rule is checked when it is saved
(``validate``: the error names the character where it goes wrong).

Why not: a rule written as clauses joined by ``and`` is judged clause by clause, so an enterprise that does
not qualify is told which clauses it does not meet ("what you lack"), in the rule's own words. A missing
value makes a clause unmet (SQL's NULL logic: unknown is not true).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from xinyidai.core.expressions import (
    ExpressionError,
    ExpressionEvaluationError,
    FieldCatalogue,
    FieldSpec,
    ValueType,
    compile_expression,
)
from xinyidai.core.i18n import N_
from xinyidai.indicators import service as indicators

PROFILE_FIELDS = (
    FieldSpec("grade", ValueType.STRING, "The enterprise's newest credit grade (A best … D)"),
    FieldSpec("score", ValueType.FLOAT, "The enterprise's newest credit score, 0–1000"),
    FieldSpec("region_code", ValueType.STRING, "The enterprise's region, GB/T 2260 code"),
    FieldSpec("industry_section", ValueType.STRING, "The enterprise's industry section, GB/T 4754 letter"),
    FieldSpec("size_class", ValueType.STRING, "micro, small, medium or large"),
)


@lru_cache(maxsize=1)
def eligibility_fields() -> FieldCatalogue:
    """The fields a policy's eligibility rule may use."""
    return FieldCatalogue([*indicators.field_catalogue().values(), *PROFILE_FIELDS])


def validate(text: str) -> str:
    """The rule, trimmed, if it compiles to a boolean; else the expression error (with its position).

    An empty rule means every enterprise qualifies.
    """
    rule = text.strip()
    if rule:
        try:
            compile_expression(rule, eligibility_fields(), result_type="boolean")
        except ExpressionError as error:
            error.field = "eligibility"
            raise
    return rule


@dataclass(frozen=True)
class Eligibility:
    """Whether an enterprise qualifies for a policy and, if not, the clauses it does not meet."""

    eligible: bool
    unmet: tuple[str, ...] = ()
    no_data: bool = False

    def to_reasons(self) -> list[dict[str, Any]]:
        """The reasons as stored with an application: message ids with their parameters."""
        out: list[dict[str, Any]] = []
        if self.no_data:
            out.append({"message": N_("The platform has no data about your enterprise yet"), "params": {}})
        out += [{"message": N_("Not met: %(clause)s"), "params": {"clause": c}} for c in self.unmet]
        return out


@lru_cache(maxsize=512)
def clauses(rule: str) -> tuple[str, ...]:
    """The rule's top-level ``and`` clauses (the whole rule when it has none or cannot be split)."""
    try:
        tree = sqlglot.parse_one(rule, dialect="duckdb")
    except SqlglotError:
        return (rule,)
    while isinstance(tree, exp.Paren):
        tree = tree.this
    if not isinstance(tree, exp.And):
        return (rule,)
    parts = tuple(part.sql(dialect="duckdb") for part in tree.flatten())
    catalogue = eligibility_fields()
    try:
        for part in parts:
            compile_expression(part, catalogue, result_type="boolean")
    except ExpressionError:
        return (rule,)
    return parts


def record_for(profile: dict[str, Any], values: dict[str, Any] | None) -> dict[str, Any]:
    """The record a rule is evaluated on: every field, None where unknown."""
    catalogue = eligibility_fields()
    record = dict.fromkeys(catalogue, None)
    record.update({k: v for k, v in (values or {}).items() if k in record})
    for spec in PROFILE_FIELDS:
        record[spec.name] = profile.get(spec.name) or None
    return record


def evaluate(rule: str, profile: dict[str, Any], values: dict[str, Any] | None) -> Eligibility:
    """Judge one enterprise against a rule (``profile``: grade, score, region, industry, size)."""
    if not rule.strip():
        return Eligibility(True)
    record = record_for(profile, values)
    catalogue = eligibility_fields()
    unmet = []
    for clause in clauses(rule.strip()):
        try:
            met = compile_expression(clause, catalogue, result_type="boolean").matches(record)
        except ExpressionEvaluationError:
            met = False
        if not met:
            unmet.append(clause)
    no_data = values is None and bool(unmet)
    return Eligibility(not unmet, tuple(unmet), no_data)
