"""Running the quality rules over the lake: one period's delivery of every source, evaluated in DuckDB.

What a run checks. Sources with a period field are checked over one month's partition (the *period*,
by default the newest month the monthly sources have delivered by the as-of date); sources without one
(the registry, yearly grades) over all their rows. The lake is read as it was at the end of the as-of day
(Asia/Shanghai), so re-running a past date gives the same answer.

How each kind is evaluated:

- row rules (completeness, validity, range, plausibility): every rule of a source in one scan,
  ``count_if(not rule)``; rows that ingestion refused for the very fault a rule looks for (a missing
  required value, an invalid credit code, an unknown code, a value out of range) are counted as
  failures too, from the quarantine of the batches that delivered the period, so a department cannot
  pass a rule by having its bad rows refused;
- uniqueness: keys held by more than one visible row, plus rows refused as duplicates;
- referential: rows whose enterprise is not in the registration source (an anti-join);
- consistency: each row joined (left) to a partner row — another source in the same period, the
  registry, or a derived table — and an expression over both;
- timeliness: days from the end of the newest delivered period (or the newest date, for daily sources)
  to the as-of date;
- volume: the period's row count against the median of the source's previous periods. The allowed
  deviation is the rule's tolerance or three Poisson standard deviations, whichever is larger, so a
  source with a handful of rows a month does not raise an alarm at every count.

All SQL is built here from the catalogue and checked expressions; values are bound as parameters.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from xinyidai.core.clock import SHANGHAI, end_of_day
from xinyidai.core.expressions import FieldCatalogue, FieldSpec, ValueType, compile_expression
from xinyidai.data.catalogue import FieldType, Frequency, Source, catalogue
from xinyidai.data.lake import Lake
from xinyidai.data.quality.rules import ROW_KINDS, Rule, RuleKind, rule_library

__all__ = ["RuleOutcome", "check_lake", "default_period", "field_catalogue", "lake_time"]

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

_VALUE_TYPES: dict[FieldType, ValueType] = {
    FieldType.STRING: ValueType.STRING,
    FieldType.INTEGER: ValueType.INTEGER,
    FieldType.DECIMAL: ValueType.DECIMAL,
    FieldType.FLOAT: ValueType.FLOAT,
    FieldType.DATE: ValueType.DATE,
    FieldType.MONTH: ValueType.DATE,
    FieldType.BOOLEAN: ValueType.BOOLEAN,
    FieldType.CODE: ValueType.STRING,
    FieldType.USCC: ValueType.STRING,
    FieldType.ENTITY_REF: ValueType.STRING,
}

# Derived partner tables of consistency rules: SQL over one source's visible rows (``{body}``), in the
# period (``{in_period}``, a condition on the named date column) and the types of the columns they give.
_DERIVED: dict[str, tuple[str, str, str, dict[str, ValueType]]] = {
    "invoice_sales": (
        "vat_invoices",
        "SELECT enterprise AS uscc, CAST(date_trunc('month', issued_on) AS DATE) AS period,"
        " sum(amount) AS amount FROM ({body}) WHERE direction = '销项' AND status = '有效发票'"
        " AND {in_period} GROUP BY ALL",
        "issued_on",
        {"amount": ValueType.DECIMAL},
    ),
    "court_case_count": (
        "court_cases",
        "SELECT uscc, count(*) AS cases FROM ({body}) GROUP BY uscc",
        "",
        {"cases": ValueType.INTEGER},
    ),
}


@dataclass(frozen=True)
class RuleOutcome:
    """The result of one rule in one run.

    Attributes:
        rule: the rule.
        period: the month checked (``YYYY-MM``), or None for a source without periods.
        rows_checked: rows looked at (accepted rows plus, for rules that count them, refused rows).
        rows_failed: rows that broke the rule (for timeliness and volume: 1 when the check failed).
        passed: whether the rule passed (pass share at least the rule's threshold, or the check held).
        detail: what a person needs to understand the outcome (lag in days, counts, the median…).
    """

    rule: Rule
    period: str | None
    rows_checked: int
    rows_failed: int
    passed: bool
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float:
        """Share of rows that passed, 0–1 (1 when nothing was checked)."""
        if self.rows_checked <= 0:
            return 1.0 if self.passed else 0.0
        return 1.0 - self.rows_failed / self.rows_checked


def lake_time(as_of: date) -> datetime:
    """The last instant of the as-of day in Asia/Shanghai: a run sees data received by then."""
    return end_of_day(as_of)


@cache
def field_catalogue(source_id: str, other_prefix: str | None = None) -> FieldCatalogue:
    """The expression-language fields of a source, plus ``as_of`` (the date the rule is run for)."""
    source = catalogue().get(source_id)
    specs = [FieldSpec(f.name, _VALUE_TYPES[f.type]) for f in source.fields]
    if other_prefix is None:
        specs.append(FieldSpec("as_of", ValueType.DATE))
    else:
        specs = [FieldSpec(f"{other_prefix}{s.name}", s.type) for s in specs]
    return FieldCatalogue(specs)


def default_period(lake: Lake, as_of: date) -> str | None:
    """The newest month that the monthly sources delivered by ``as_of`` (``YYYY-MM``), or None."""
    newest = as_of.strftime("%Y-%m")
    seen = lake_time(as_of)
    periods = [
        part.period
        for source in catalogue().sources.values()
        if source.frequency is Frequency.MONTHLY and source.period_field
        for part in lake.manifest(source.id).visible_parts(seen)
        if part.period != "none" and part.period <= newest
    ]
    return max(periods, default=None)


def check_lake(
    lake: Lake,
    *,
    as_of: date,
    period: str | None = None,
    sources: Sequence[str] | None = None,
    rules: Sequence[Rule] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[RuleOutcome]:
    """Evaluate quality rules over the lake as it was on ``as_of``.

    Args:
        lake: the lake.
        as_of: the run's date: data received by the end of this day is seen; date rules compare with it.
        period: the month to check (``YYYY-MM``); default :func:`default_period`.
        sources: only these sources (default: all).
        rules: the rules (default: the whole library).
        progress: called with (source id, sources done, sources in all).

    Returns:
        One outcome per rule, in library order.
    """
    if period is not None and not _PERIOD.fullmatch(period):
        raise ValueError(f"period must be a month written YYYY-MM, not {period!r}")
    period = period or default_period(lake, as_of)
    library = rule_library() if rules is None else tuple(rules)
    wanted = set(sources) if sources is not None else None
    by_source: dict[str, list[Rule]] = {}
    for rule in library:
        if wanted is None or rule.source_id in wanted:
            by_source.setdefault(rule.source_id, []).append(rule)
    con = lake.connection()
    outcomes: dict[str, RuleOutcome] = {}
    for done, (source_id, source_rules) in enumerate(by_source.items(), start=1):
        check = _SourceCheck(lake, con, catalogue().get(source_id), as_of, period)
        for outcome in check.run(source_rules):
            outcomes[outcome.rule.id] = outcome
        if progress is not None:
            progress(source_id, done, len(by_source))
    return [outcomes[r.id] for r in library if r.id in outcomes]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _month_bounds(period: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{period}-01")
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


class _SourceCheck:
    """The rules of one source over one period."""

    def __init__(self, lake: Lake, con: Any, source: Source, as_of: date, period: str | None) -> None:
        self.lake = lake
        self.con = con
        self.source = source
        self.as_of = as_of
        self.seen = lake_time(as_of)
        self.period = period if source.period_field else None
        self.params: dict[str, Any] = {"as_of": as_of}
        body, bound = lake.relation_sql(source.id, as_of=self.seen, prefix="src")
        self.params.update(bound)
        where = "true"
        if self.period is not None and source.period_field:
            start, end = _month_bounds(self.period)
            self.params.update({"p_start": start, "p_end": end})
            where = f"{_quote(source.period_field)} >= $p_start AND {_quote(source.period_field)} < $p_end"
        # The checked rows, with the as-of date as a field so date rules need no clock.
        self.rows_sql = f"SELECT *, CAST($as_of AS DATE) AS as_of FROM ({body}) WHERE {where}"  # noqa: S608
        self._rows: int | None = None
        self._quarantine: dict[tuple[str, str | None], int] | None = None

    # -- shared counts ---------------------------------------------------------------------------------
    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
        # fetchall: a result left half-read would block the lake's shared connection for other readers
        rows = self.con.execute(sql, {**self.params, **(params or {})}).fetchall()
        return tuple(rows[0])

    def quarantine(self) -> dict[tuple[str, str | None], int]:
        """Refused rows of the batches that delivered the period, by (reason, field)."""
        if self._quarantine is None:
            manifest = self.lake.manifest(self.source.id)
            parts = manifest.visible_parts(self.seen)
            batch_ids = {p.batch_id for p in parts if self.period is None or p.period == self.period}
            files = [
                str(self.lake.abspath(b.quarantine))
                for b in manifest.batches
                if b.batch_id in batch_ids and b.quarantine
            ]
            counts: dict[tuple[str, str | None], int] = {}
            if files:
                rows = self.con.execute(
                    "SELECT reason, field, count(*) FROM read_parquet($files) GROUP BY ALL", {"files": files}
                ).fetchall()
                counts = {(reason, fld): int(n) for reason, fld, n in rows}
            self._quarantine = counts
        return self._quarantine

    def refused(self, rule: Rule) -> int:
        wanted_field = rule.params.get("field")
        return sum(
            n
            for (reason, fld), n in self.quarantine().items()
            if reason in rule.quarantine_reasons and (reason == "duplicate_key" or fld == wanted_field)
        )

    # -- the run ---------------------------------------------------------------------------------------
    def run(self, rules: Sequence[Rule]) -> list[RuleOutcome]:
        row_rules = [r for r in rules if r.kind in ROW_KINDS]
        outcomes = self.row_rules(row_rules)
        for rule in rules:
            if rule.kind in ROW_KINDS:
                continue
            handler = {
                RuleKind.UNIQUENESS: self.uniqueness,
                RuleKind.REFERENTIAL: self.referential,
                RuleKind.CONSISTENCY: self.consistency,
                RuleKind.TIMELINESS: self.timeliness,
                RuleKind.VOLUME: self.volume,
            }[rule.kind]
            outcomes.append(handler(rule))
        return outcomes

    def _outcome(self, rule: Rule, checked: int, failed: int, **detail: Any) -> RuleOutcome:
        passed = checked == 0 or (checked - failed) / checked >= rule.threshold - 1e-12
        return RuleOutcome(rule, self.period, checked, failed, passed, detail)

    def row_rules(self, rules: Sequence[Rule]) -> list[RuleOutcome]:
        catalogue_ = field_catalogue(self.source.id)
        conditions = []
        for rule in rules:
            assert rule.expression is not None
            sql = compile_expression(rule.expression, catalogue_).to_sql("duckdb")
            conditions.append(f"coalesce(count_if(NOT coalesce(({sql}), false)), 0)")
        columns = ", ".join(["count(*)", *conditions])
        counts = self.fetch(f"SELECT {columns} FROM ({self.rows_sql})")  # noqa: S608
        self._rows = int(counts[0])
        refused_total = sum(self.quarantine().values())
        outcomes = []
        for rule, failed in zip(rules, counts[1:], strict=True):
            refused = self.refused(rule)
            outcomes.append(
                self._outcome(
                    rule,
                    self._rows + refused_total,
                    int(failed) + refused,
                    lake_failed=int(failed),
                    refused=refused,
                )
            )
        return outcomes

    def rows(self) -> int:
        if self._rows is None:
            self._rows = int(self.fetch(f"SELECT count(*) FROM ({self.rows_sql})")[0])  # noqa: S608
        return self._rows

    def uniqueness(self, rule: Rule) -> RuleOutcome:
        key = ", ".join(_quote(k) for k in self.source.key)
        extra = self.fetch(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM ({self.rows_sql})"  # noqa: S608
            f" GROUP BY {key} HAVING count(*) > 1)"
        )[0]
        refused = self.refused(rule)
        checked = self.rows() + sum(self.quarantine().values())
        return self._outcome(rule, checked, int(extra) + refused, lake_failed=int(extra), refused=refused)

    def referential(self, rule: Rule) -> RuleOutcome:
        column = _quote(str(rule.params["field"]))
        other_body, other_params = self.lake.relation_sql(
            str(rule.params["other"]), as_of=self.seen, prefix="oth"
        )
        other_field = _quote(str(rule.params["other_field"]))
        missing = self.fetch(
            f"SELECT count(*) FROM ({self.rows_sql}) AS t WHERE t.{column} IS NOT NULL"  # noqa: S608
            f" AND NOT EXISTS (SELECT 1 FROM ({other_body}) AS o WHERE o.{other_field} = t.{column})",
            other_params,
        )[0]
        return self._outcome(rule, self.rows(), int(missing))

    def consistency(self, rule: Rule) -> RuleOutcome:
        other = str(rule.params["other"])
        on = [str(c) for c in rule.params["on"]]  # type: ignore[attr-defined]
        params: dict[str, Any] = {}
        if other in _DERIVED:
            base, template, date_column, types = _DERIVED[other]
            body, params = self.lake.relation_sql(base, as_of=self.seen, prefix="oth")
            in_period = "true"
            if date_column and self.period is not None:
                in_period = f"{_quote(date_column)} >= $p_start AND {_quote(date_column)} < $p_end"
            other_sql = template.format(body=body, in_period=in_period)
            other_fields = FieldCatalogue([FieldSpec(f"other_{n}", t) for n, t in types.items()])
            columns = list(types)
        else:
            other_sql, params = self.lake.relation_sql(other, as_of=self.seen, prefix="oth")
            other_source = catalogue().get(other)
            if rule.params.get("same_period") and other_source.period_field and self.period is not None:
                pf = _quote(other_source.period_field)
                other_sql = f"SELECT * FROM ({other_sql}) WHERE {pf} >= $p_start AND {pf} < $p_end"  # noqa: S608
            other_fields = field_catalogue(other, "other_")
            columns = [f.name for f in other_source.fields]
        condition = compile_expression(
            str(rule.params["condition"]), field_catalogue(self.source.id).merge(other_fields)
        ).to_sql("duckdb")
        renamed = ", ".join(f"o.{_quote(c)} AS {_quote('other_' + c)}" for c in columns)
        join = " AND ".join(f"t.{_quote(c)} = o.{_quote(c)}" for c in on)
        checked, failed = self.fetch(
            f"SELECT count(*), coalesce(count_if(NOT coalesce(({condition}), false)), 0) FROM ("  # noqa: S608
            f"SELECT t.*, {renamed} FROM ({self.rows_sql}) AS t LEFT JOIN ({other_sql}) AS o ON {join})",
            params,
        )
        return self._outcome(rule, int(checked), int(failed), other=other)

    def timeliness(self, rule: Rule) -> RuleOutcome:
        max_lag = int(rule.params["max_lag_days"])  # type: ignore[call-overload]
        latest: date | None
        if rule.params.get("basis") == "period":
            # The newest month delivered counts from its last day.
            periods = [
                p.period
                for p in self.lake.manifest(self.source.id).visible_parts(self.seen)
                if p.period != "none" and p.period <= self.as_of.strftime("%Y-%m")
            ]
            latest = _month_bounds(max(periods))[1] - timedelta(days=1) if periods else None
        else:
            received = [
                b.received_at
                for b in self.lake.manifest(self.source.id).batches
                if b.received_at <= self.seen
            ]
            latest = max(received).astimezone(SHANGHAI).date() if received else None
        if latest is None:
            return RuleOutcome(rule, self.period, 1, 1, False, {"latest": None, "max_lag_days": max_lag})
        lag = (self.as_of - latest).days
        passed = lag <= max_lag
        detail = {"latest": latest.isoformat(), "lag_days": lag, "max_lag_days": max_lag}
        return RuleOutcome(rule, self.period, 1, 0 if passed else 1, passed, detail)

    def volume(self, rule: Rule) -> RuleOutcome:
        window = int(rule.params["window"])  # type: ignore[call-overload]
        tolerance = float(rule.params["tolerance"])  # type: ignore[arg-type]
        if self.period is None:
            return RuleOutcome(rule, None, 0, 0, True, {"reason": "no_period"})
        per_period: dict[str, int] = {}
        for part in self.lake.manifest(self.source.id).visible_parts(self.seen):
            per_period[part.period] = per_period.get(part.period, 0) + part.rows
        current = per_period.get(self.period, 0)
        history = [per_period.get(p, 0) for p in _previous_months(self.period, window)]
        history = [n for n in history if n > 0]
        if len(history) < 3:
            detail = {"rows": current, "history": len(history), "reason": "short_history"}
            return RuleOutcome(rule, self.period, 1, 0, True, detail)
        median = statistics.median(history)
        allowed = max(tolerance * median, 3 * median**0.5)
        passed = abs(current - median) <= allowed
        detail = {"rows": current, "median": median, "allowed": round(allowed, 1), "window": window}
        return RuleOutcome(rule, self.period, 1, 0 if passed else 1, passed, detail)


def _previous_months(period: str, count: int) -> list[str]:
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        out.append(f"{year:04d}-{month:02d}")
    return out
