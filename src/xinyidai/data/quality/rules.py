"""The quality rule library.

Row rules are expressions in the shared expression language over one source's fields; the rule passes
when the share of rows satisfying it is at least ``threshold``. Table rules (uniqueness, referential
integrity, cross-source consistency, timeliness, volume) are typed checks with parameters, evaluated in SQL
by the engine. Most rules are derived from field metadata — each is a genuine check of something a
department can get wrong — and a hand-written set covers relations between fields and sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from xinyidai.core.i18n import N_
from xinyidai.data.catalogue import FieldType, Frequency, Source, catalogue


class RuleKind(StrEnum):
    COMPLETENESS = "completeness"
    VALIDITY = "validity"
    RANGE = "range"
    PLAUSIBILITY = "plausibility"
    UNIQUENESS = "uniqueness"
    REFERENTIAL = "referential"
    CONSISTENCY = "consistency"
    TIMELINESS = "timeliness"
    VOLUME = "volume"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"  # blocking: what depends on this source waits until it is fixed


ROW_KINDS = frozenset({RuleKind.COMPLETENESS, RuleKind.VALIDITY, RuleKind.RANGE, RuleKind.PLAUSIBILITY})


@dataclass(frozen=True)
class Rule:
    """One quality rule.

    Attributes:
        id: stable identifier, ``<source>.<kind>.<subject>``.
        source_id: the source checked.
        kind: what sort of check.
        description: English message id describing the rule (translated in pages).
        expression: for row rules, the condition each row should satisfy (expression language).
        threshold: minimum share of rows passing (row rules) for the rule to pass.
        severity: error rules are blocking.
        params: parameters of table rules (other source, fields, tolerance…).
        quarantine_reasons: reject reasons (on ``params["field"]``, or on any field for
            ``duplicate_key``) that count as failures of this rule: a row ingestion refused for the
            very fault the rule looks for failed the rule, though it never reached the lake.
    """

    id: str
    source_id: str
    kind: RuleKind
    description: str
    expression: str | None = None
    threshold: float = 1.0
    severity: Severity = Severity.WARNING
    params: dict[str, object] = field(default_factory=dict)
    quarantine_reasons: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _derived(source: Source) -> list[Rule]:
    rules: list[Rule] = []
    for f in source.fields:
        if f.required:
            # Ingestion rejects rows without required values, so in the lake this must hold everywhere.
            rules.append(
                Rule(
                    f"{source.id}.completeness.{f.name}",
                    source.id,
                    RuleKind.COMPLETENESS,
                    N_("Required field is present"),
                    f"{f.name} is not null",
                    1.0,
                    Severity.ERROR,
                    {"field": f.name},
                    ("missing_required",),
                )
            )
        elif f.type is not FieldType.DATE:
            # Optional dates (judged, removed, granted, cancelled…) are empty until an event happens;
            # the plausibility rules check them where they are due instead.
            rules.append(
                Rule(
                    f"{source.id}.completeness.{f.name}",
                    source.id,
                    RuleKind.COMPLETENESS,
                    N_("Optional field is filled for most rows"),
                    f"{f.name} is not null",
                    0.5,
                    Severity.INFO,
                    {"field": f.name},
                )
            )
        if f.type is FieldType.CODE:
            allowed = ", ".join(_quote(c) for c in f.codes)
            rules.append(
                Rule(
                    f"{source.id}.validity.{f.name}",
                    source.id,
                    RuleKind.VALIDITY,
                    N_("Value is in the code list"),
                    f"{f.name} is null or {f.name} in ({allowed})",
                    1.0,
                    Severity.ERROR,
                    {"field": f.name},
                    ("unknown_code",),
                )
            )
        if f.type is FieldType.USCC:
            rules.append(
                Rule(
                    f"{source.id}.validity.{f.name}",
                    source.id,
                    RuleKind.VALIDITY,
                    N_("Unified social credit code passes the GB 32100 check"),
                    f"{f.name} is null or length({f.name}) = 18",
                    1.0,
                    Severity.ERROR,
                    {"field": f.name},
                    ("invalid_uscc",),
                )
            )
        if f.type is FieldType.ENTITY_REF:
            rules.append(
                Rule(
                    f"{source.id}.validity.{f.name}",
                    source.id,
                    RuleKind.VALIDITY,
                    N_("Enterprise reference is a credit code or an enterprise code"),
                    f"{f.name} is null or (length({f.name}) >= 1 and length({f.name}) <= 32)",
                    1.0,
                    Severity.ERROR,
                    {"field": f.name},
                    ("invalid_entity_ref",),
                )
            )
        if f.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.FLOAT) and (
            f.minimum is not None or f.maximum is not None
        ):
            bounds = []
            if f.minimum is not None:
                bounds.append(f"{f.name} >= {f.minimum:g}")
            if f.maximum is not None:
                bounds.append(f"{f.name} <= {f.maximum:g}")
            rules.append(
                Rule(
                    f"{source.id}.range.{f.name}",
                    source.id,
                    RuleKind.RANGE,
                    N_("Value is within its declared range"),
                    f"{f.name} is null or ({' and '.join(bounds)})",
                    1.0,
                    Severity.ERROR,
                    {"field": f.name},
                    ("out_of_range", "wrong_type"),
                )
            )
        if f.type is FieldType.DATE:
            upper = "" if f.future else f" and {f.name} <= as_of"
            rules.append(
                Rule(
                    f"{source.id}.range.{f.name}",
                    source.id,
                    RuleKind.RANGE,
                    N_("Date is not before 1949 and not in the future")
                    if not f.future
                    else N_("Date is not before 1949"),
                    f"{f.name} is null or ({f.name} >= DATE '1949-10-01'{upper})",
                    1.0,
                    Severity.ERROR,
                    {"field": f.name},
                    ("bad_date", "future_date", "out_of_range"),
                )
            )
    rules.append(
        Rule(
            f"{source.id}.uniqueness.key",
            source.id,
            RuleKind.UNIQUENESS,
            N_("Each key appears once per period"),
            None,
            1.0,
            Severity.ERROR,
            {"key": list(source.key)},
            ("duplicate_key",),
        )
    )
    if (
        source.id != "registration"
        and source.entity_field
        and source.field(source.entity_field).type is FieldType.USCC
    ):
        rules.append(
            Rule(
                f"{source.id}.referential.registry",
                source.id,
                RuleKind.REFERENTIAL,
                N_("The enterprise exists in the registration source"),
                None,
                0.99,
                Severity.WARNING,
                {"field": source.entity_field, "other": "registration", "other_field": "uscc"},
            )
        )
    # Periodic data is late when its newest period is old; event and register sources (which change
    # any day, and which departments send as increments) are late when nothing has arrived for a while.
    lag = {Frequency.QUARTERLY: 120, Frequency.YEARLY: 400}.get(source.frequency, 45)
    by_period = source.period_field is not None and source.field(source.period_field).type is FieldType.MONTH
    rules.append(
        Rule(
            f"{source.id}.timeliness.latest",
            source.id,
            RuleKind.TIMELINESS,
            N_("The newest delivered period is recent enough")
            if by_period
            else N_("A delivery arrived recently"),
            None,
            1.0,
            Severity.WARNING,
            {
                "max_lag_days": lag,
                "basis": "period" if by_period else "receipt",
                "field": source.period_field,
            },
        )
    )
    if source.period_field:
        rules.append(
            Rule(
                f"{source.id}.volume.rows",
                source.id,
                RuleKind.VOLUME,
                N_("Row count is in line with the source's recent history"),
                None,
                1.0,
                Severity.WARNING,
                {"window": 6, "tolerance": 0.3},
            )
        )
    return rules


def _plausibility() -> list[Rule]:
    """Relations between fields of one row that a real delivery can break."""
    p = RuleKind.PLAUSIBILITY
    w = Severity.WARNING
    return [
        Rule(
            "tax_monthly.plausibility.tax_below_sales",
            "tax_monthly",
            p,
            N_("Tax paid does not exceed sales"),
            "sales is null or tax_paid is null or tax_paid <= sales or sales = 0",
            0.98,
            w,
        ),
        Rule(
            "tax_monthly.plausibility.sales_ceiling",
            "tax_monthly",
            p,
            N_("Monthly sales below 100 billion yuan"),
            "sales is null or sales < 100000000000",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "social_security.plausibility.flows",
            "social_security",
            p,
            N_("New hires and separations do not exceed the insured headcount plus separations"),
            "new_hires is null or insured is null or new_hires <= insured + coalesce(separations, 0)",
            0.99,
            w,
        ),
        Rule(
            "social_security.plausibility.headcount_ceiling",
            "social_security",
            p,
            N_("Insured headcount below 200,000"),
            "insured is null or insured < 200000",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "housing_fund.plausibility.amount_per_person",
            "housing_fund",
            p,
            N_("Deposit per contributor between 100 and 20,000 yuan"),
            "contributors is null or contributors = 0 or amount is null or "
            "(amount / contributors >= 100 and amount / contributors <= 20000)",
            0.95,
            w,
        ),
        Rule(
            "electricity.plausibility.bill_per_kwh",
            "electricity",
            p,
            N_("Electricity price between 0.2 and 3 yuan per kWh"),
            "usage is null or usage = 0 or bill is null or (bill / usage >= 0.2 and bill / usage <= 3)",
            0.95,
            w,
        ),
        Rule(
            "water.plausibility.bill_per_m3",
            "water",
            p,
            N_("Water price between 1 and 20 yuan per m³"),
            "usage is null or usage = 0 or bill is null or (bill / usage >= 1 and bill / usage <= 20)",
            0.95,
            w,
        ),
        Rule(
            "gas.plausibility.bill_per_m3",
            "gas",
            p,
            N_("Gas price between 1 and 10 yuan per m³"),
            "usage is null or usage = 0 or bill is null or (bill / usage >= 1 and bill / usage <= 10)",
            0.95,
            w,
        ),
        Rule(
            "vat_invoices.plausibility.total",
            "vat_invoices",
            p,
            N_("Amount plus tax equals the total (±1 yuan)"),
            "amount is null or tax is null or total is null or abs(amount + tax - total) <= 1",
            0.99,
            w,
        ),
        Rule(
            "vat_invoices.plausibility.tax_rate",
            "vat_invoices",
            p,
            N_("Tax is at most 17 % of the amount"),
            "amount is null or tax is null or amount = 0 or abs(tax) <= abs(amount) * 0.17 + 1",
            0.99,
            w,
        ),
        Rule(
            "court_cases.plausibility.judged_after_filed",
            "court_cases",
            p,
            N_("Judgment date not before filing"),
            "judged_on is null or judged_on >= filed_on",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "dishonest_debtors.plausibility.removed_after_listed",
            "dishonest_debtors",
            p,
            N_("Removal date not before listing"),
            "removed_on is null or removed_on >= listed_on",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "red_black_lists.plausibility.removed_after_listed",
            "red_black_lists",
            p,
            N_("Removal date not before listing"),
            "removed_on is null or removed_on >= listed_on",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "financial_risk_lists.plausibility.removed_after_listed",
            "financial_risk_lists",
            p,
            N_("Removal date not before listing"),
            "removed_on is null or removed_on >= listed_on",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "admin_licences.plausibility.valid_after_issued",
            "admin_licences",
            p,
            N_("Licence expiry not before issue"),
            "valid_until is null or valid_until >= issued_on",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "patents.plausibility.granted_after_filed",
            "patents",
            p,
            N_("Grant date not before filing"),
            "granted_on is null or granted_on >= filed_on",
            1.0,
            Severity.ERROR,
        ),
        Rule(
            "real_estate_mortgages.plausibility.cancelled_state",
            "real_estate_mortgages",
            p,
            N_("Cancelled mortgages carry a cancellation date"),
            "status <> '注销' or cancelled_on is not null",
            0.99,
            w,
        ),
        Rule(
            "registration.plausibility.status_date",
            "registration",
            p,
            N_("Revoked or deregistered firms carry the status date"),
            "status = '存续' or status_changed_on is not null",
            0.99,
            w,
        ),
        Rule(
            "annual_reports.plausibility.balance",
            "annual_reports",
            p,
            N_("Liabilities below 20 × assets"),
            "total_assets is null or total_liabilities is null or total_liabilities <= total_assets * 20",
            0.99,
            w,
        ),
        Rule(
            "customs_monthly.plausibility.some_trade",
            "customs_monthly",
            p,
            N_("A customs row carries imports or exports"),
            "coalesce(imports, 0) + coalesce(exports, 0) > 0",
            0.95,
            w,
        ),
    ]


def _cross_source() -> list[Rule]:
    """Consistency between sources (Zhejiang's cross-checks).

    Each row of the checked source (in the period) is joined to ``other`` on ``on`` — left join, so a
    row without a partner is still checked — and ``condition`` is an expression over the row's fields
    and the partner's fields prefixed ``other_``. ``other`` is a catalogue source (in the same period
    when ``same_period``) or one of the engine's named derived tables (``invoice_sales``: valid sales
    invoices summed per enterprise and month; ``court_case_count``: court cases per enterprise).
    """
    c = RuleKind.CONSISTENCY
    return [
        Rule(
            "housing_fund.consistency.insured",
            "housing_fund",
            c,
            N_("Housing-fund contributors do not exceed social-security insured headcount by more than 20 %"),
            None,
            0.95,
            Severity.WARNING,
            {
                "other": "social_security",
                "on": ["uscc", "period"],
                "same_period": True,
                "condition": "other_insured is null or contributors <= other_insured * 1.2 + 2",
            },
        ),
        Rule(
            "tax_monthly.consistency.invoices",
            "tax_monthly",
            c,
            N_("Declared sales are within 50 % of valid sales invoices where both exist"),
            None,
            0.9,
            Severity.WARNING,
            {
                "other": "invoice_sales",
                "on": ["uscc", "period"],
                "same_period": True,
                "condition": "other_amount is null or sales is null or sales = 0 or other_amount = 0 "
                "or abs(sales - other_amount) <= 0.5 * greatest(sales, other_amount)",
            },
        ),
        Rule(
            "electricity.consistency.alive",
            "electricity",
            c,
            N_("No electricity rows for firms deregistered more than three months before the period"),
            None,
            0.99,
            Severity.WARNING,
            {
                "other": "registration",
                "on": ["uscc"],
                "condition": "other_status is null or other_status <> '注销'"
                " or other_status_changed_on is null"
                " or date_diff('month', other_status_changed_on, period) <= 3",
            },
        ),
        Rule(
            "social_security.consistency.alive",
            "social_security",
            c,
            N_("No insured staff for firms deregistered more than three months before the period"),
            None,
            0.99,
            Severity.WARNING,
            {
                "other": "registration",
                "on": ["uscc"],
                "condition": "insured is null or insured = 0 or other_status is null"
                " or other_status <> '注销' or other_status_changed_on is null"
                " or date_diff('month', other_status_changed_on, period) <= 3",
            },
        ),
        Rule(
            "dishonest_debtors.consistency.court",
            "dishonest_debtors",
            c,
            N_("Dishonest-debtor entries match a court case of the same enterprise"),
            None,
            0.9,
            Severity.INFO,
            {"other": "court_case_count", "on": ["uscc"], "condition": "coalesce(other_cases, 0) > 0"},
        ),
    ]


@lru_cache(maxsize=1)
def rule_library() -> tuple[Rule, ...]:
    """Every quality rule, derived and hand-written, in a stable order."""
    rules: list[Rule] = []
    for source in catalogue().sources.values():
        rules.extend(_derived(source))
    rules.extend(_plausibility())
    rules.extend(_cross_source())
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate quality rule ids")
    return tuple(rules)
