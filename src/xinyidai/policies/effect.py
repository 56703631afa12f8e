"""Policy effect (Weihai): did the enterprises that received a policy's money do better afterwards?

For each recipient (a disbursed application; the award date is the disbursement date, its month the
award month A) three outcomes are read from the lake's monthly department data:

- tax paid a month (元, ``tax_monthly.tax_paid``), the mean over the months of each window;
- insured headcount (``social_security.insured``), the mean over the months of each window;
- patent applications a year (``patents.filed_on``), the count in each window scaled to 12 months.

The pre window is the ``W`` months before A, the post window the months after A up to ``W`` (or as many
as the lake has; A itself is left out, the award falls in it). Each recipient is matched with its ``k``
nearest non-recipients: the same GB/T 4754 industry division and size class (by pre-window headcount;
widened to the division, then the whole city, when fewer than ``k`` firms are left), nearest by the
Euclidean distance of the standardised ``log(1 + x)`` of the three pre-window values.

Difference in differences, per recipient i and outcome y::

    d_i = (y_i,post − y_i,pre) − mean_{j ∈ matches(i)} (y_j,post − y_j,pre)

    effect = mean(d_i),   se = sd(d_i) / √n,   95 % interval = effect ± t(0.975, n − 1) · se

(the matched-pairs DiD estimator: the matched firms' change stands for what the recipient's change would
have been without the policy; the interval treats the n recipients' d_i as independent). Recipients or
matches without data for an outcome are left out of that outcome. No statsmodels: the t quantiles come
from a table to 30 degrees of freedom and the Cornish–Fisher expansion beyond.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import add_months
from xinyidai.core.i18n import N_
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.policies.models import Policy, PolicyApplication
from xinyidai.policies.repository import get_scoped

WINDOW_MONTHS = 12
NEIGHBOURS = 3

OUTCOMES: tuple[tuple[str, str], ...] = (
    ("tax", N_("Tax paid a month (yuan)")),
    ("insured", N_("Insured headcount")),
    ("patents", N_("Patent applications a year")),
)

# two-sided 95 %: t(0.975, df) for df = 1 … 30
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = 1.959963984540054


def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (the 95 % interval's factor)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class Estimate:
    """One outcome's difference in differences over ``n`` recipients (interval None when n < 2)."""

    outcome: str
    label: str
    n: int
    treated_pre: float | None
    treated_post: float | None
    control_pre: float | None
    control_post: float | None
    effect: float | None
    se: float | None
    low: float | None
    high: float | None

    @property
    def significant(self) -> bool:
        """Does the 95 % interval leave out zero?"""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def did_estimate(
    differences: Sequence[float],
) -> tuple[float | None, float | None, float | None, float | None]:
    """(effect, standard error, low, high) of the matched-pairs DiD from each recipient's ``d_i``."""
    d = np.asarray([x for x in differences if x is not None and math.isfinite(x)], dtype=float)
    if d.size == 0:
        return None, None, None, None
    effect = float(d.mean())
    if d.size < 2:
        return effect, None, None, None
    se = float(d.std(ddof=1) / math.sqrt(d.size))
    half = t_quantile_975(d.size - 1) * se
    return effect, se, effect - half, effect + half


def nearest(features: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` rows of ``features`` nearest ``target`` (Euclidean), nearest first."""
    if features.shape[0] == 0:
        return np.zeros(0, dtype=int)
    distance = np.sqrt(((features - target) ** 2).sum(axis=1))
    k = min(k, features.shape[0])
    order = np.argpartition(distance, k - 1)[:k]
    return order[np.argsort(distance[order], kind="stable")]


@dataclass
class Firm:
    """One firm's pre- and post-window values of the three outcomes (None: no data)."""

    uscc: str
    division: str | None
    size: str
    pre: dict[str, float | None]
    post: dict[str, float | None]

    def change(self, outcome: str) -> float | None:
        before, after = self.pre.get(outcome), self.post.get(outcome)
        return None if before is None or after is None else after - before


@dataclass(frozen=True)
class RecipientRow:
    """A recipient, its award, its matches and, per outcome, its change and its matches' mean change."""

    uscc: str
    name: str
    awarded_on: date
    amount: float
    matches: tuple[str, ...]
    changes: dict[str, tuple[float | None, float | None]]


@dataclass
class EffectReport:
    """The effect of one policy: estimates per outcome and the recipients behind them."""

    policy: Policy
    window_months: int
    neighbours: int
    recipients: int
    evaluated: int
    too_recent: int
    no_data: int
    last_month: date | None
    estimates: list[Estimate] = field(default_factory=list)
    rows: list[RecipientRow] = field(default_factory=list)


_PANEL_SQL = """
WITH tax AS (
    SELECT uscc,
           avg(tax_paid) FILTER (WHERE period >= $pre_start AND period < $award) AS tax_pre,
           avg(tax_paid) FILTER (WHERE period > $award AND period <= $post_end) AS tax_post
    FROM ({tax}) GROUP BY uscc
), ss AS (
    SELECT uscc,
           avg(insured) FILTER (WHERE period >= $pre_start AND period < $award) AS insured_pre,
           avg(insured) FILTER (WHERE period > $award AND period <= $post_end) AS insured_post
    FROM ({ss}) GROUP BY uscc
), pat AS (
    SELECT uscc,
           count(*) FILTER (WHERE filed_on >= $pre_start AND filed_on < $award) AS patents_pre,
           count(*) FILTER (WHERE filed_on >= $post_start AND filed_on < $post_stop) AS patents_post
    FROM ({pat}) GROUP BY uscc
), reg AS (
    SELECT uscc, any_value(industry_code) AS industry_code FROM ({reg}) GROUP BY uscc
)
SELECT reg.uscc, reg.industry_code, tax_pre, tax_post, insured_pre, insured_post,
       coalesce(patents_pre, 0) AS patents_pre, coalesce(patents_post, 0) AS patents_post
FROM reg
LEFT JOIN tax ON tax.uscc = reg.uscc
LEFT JOIN ss ON ss.uscc = reg.uscc
LEFT JOIN pat ON pat.uscc = reg.uscc
"""


def last_month(lake: Lake) -> date | None:
    """The newest month of tax data in the lake (the post windows end there at the latest)."""
    body, params = lake.relation_sql("tax_monthly", prefix="_last")
    rows = lake.connection().cursor().execute(f"SELECT max(period) FROM ({body})", params or None).fetchall()  # noqa: S608
    row = rows[0] if rows else None
    return row[0] if row and row[0] is not None else None


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def cohort_panel(lake: Lake, award_month: date, window: int, newest: date) -> tuple[list[Firm], int]:
    """Every firm's pre/post values around ``award_month``, and the number of post months available."""
    post_end = min(add_months(award_month, window), newest)
    post_months = _months_between(award_month, post_end)
    parts: dict[str, str] = {}
    params: dict[str, Any] = {}
    for key, source in (
        ("tax", "tax_monthly"),
        ("ss", "social_security"),
        ("pat", "patents"),
        ("reg", "registration"),
    ):
        body, bound = lake.relation_sql(source, prefix=f"_{key}")
        parts[key] = body
        params.update(bound)
    params.update(
        {
            "pre_start": add_months(award_month, -window),
            "award": award_month,
            "post_end": post_end,
            "post_start": add_months(award_month, 1),
            "post_stop": add_months(post_end, 1),
        }
    )
    # the source relations are the lake's own SQL; values are bound parameters
    sql = _PANEL_SQL.format(**parts)
    rows = lake.connection().cursor().execute(sql, params).fetchall()
    firms = []
    for uscc, industry, tax_pre, tax_post, ins_pre, ins_post, pat_pre, pat_post in rows:
        firms.append(
            Firm(
                uscc=uscc,
                division=indicators.division_of(industry),
                size=indicators.size_class(None if ins_pre is None else float(ins_pre)),
                pre={
                    "tax": None if tax_pre is None else float(tax_pre),
                    "insured": None if ins_pre is None else float(ins_pre),
                    "patents": float(pat_pre) * 12 / window,
                },
                post={
                    "tax": None if tax_post is None else float(tax_post),
                    "insured": None if ins_post is None else float(ins_post),
                    "patents": float(pat_post) * 12 / post_months if post_months > 0 else None,
                },
            )
        )
    return firms, post_months


def _features(firms: Sequence[Firm]) -> np.ndarray:
    raw = np.asarray([[max(f.pre[o] or 0.0, 0.0) for o, _ in OUTCOMES] for f in firms], dtype=float).reshape(
        len(firms), len(OUTCOMES)
    )
    logged = np.log1p(raw)
    spread = logged.std(axis=0) if len(firms) > 1 else np.ones(len(OUTCOMES))
    spread[spread == 0] = 1.0
    return np.asarray(logged / spread)


def match(treated: Sequence[Firm], pool: Sequence[Firm], k: int) -> list[list[Firm]]:
    """For each treated firm its ``k`` nearest pool firms: same division and size, widened if too few."""
    everyone = list(treated) + list(pool)
    features = _features(everyone)
    pool_features = features[len(treated) :]
    divisions = np.asarray([f.division or "" for f in pool], dtype=object)
    sizes = np.asarray([f.size for f in pool], dtype=object)
    out = []
    for i, firm in enumerate(treated):
        same_division = divisions == (firm.division or "")
        mask = same_division & (sizes == firm.size)
        if mask.sum() < k:
            mask = same_division
        if mask.sum() < k:
            mask = np.ones(len(pool), dtype=bool)
        candidates = np.flatnonzero(mask)
        picked = nearest(pool_features[candidates], features[i], k)
        out.append([pool[int(candidates[j])] for j in picked])
    return out


def evaluate(
    session: Session,
    lake: Lake,
    principal: Principal,
    policy_id: int,
    *,
    window_months: int = WINDOW_MONTHS,
    neighbours: int = NEIGHBOURS,
) -> EffectReport:
    """The effect report of one of the department's policies (see the module for the method)."""
    require(principal, Permission.POLICIES_MANAGE)
    policy = get_scoped(session, principal, Policy, policy_id)
    apps = session.scalars(
        select(PolicyApplication)
        .where(
            PolicyApplication.policy_id == policy.id,
            PolicyApplication.status == "disbursed",
            PolicyApplication.disbursed_on.is_not(None),
        )
        .order_by(PolicyApplication.disbursed_on, PolicyApplication.id)
    ).all()
    newest = last_month(lake)
    report = EffectReport(policy, window_months, neighbours, len(apps), 0, 0, 0, newest)
    if not apps or newest is None:
        report.no_data = len(apps)
        report.estimates = [_estimate(o, label, [], []) for o, label in OUTCOMES]
        return report
    recipients = {a.uscc for a in apps}
    cohorts: dict[date, list[PolicyApplication]] = {}
    for app in apps:
        assert app.disbursed_on is not None
        cohorts.setdefault(app.disbursed_on.replace(day=1), []).append(app)
    pairs: list[tuple[Firm, list[Firm]]] = []
    for award_month, members in sorted(cohorts.items()):
        firms, post_months = cohort_panel(lake, award_month, window_months, newest)
        if post_months < 1:
            report.too_recent += len(members)
            continue
        by_uscc = {f.uscc: f for f in firms}
        pool = [f for f in firms if f.uscc not in recipients and f.pre["tax"] is not None]
        treated = []
        for app in members:
            firm = by_uscc.get(app.uscc)
            if firm is None or firm.pre["tax"] is None:
                report.no_data += 1
                continue
            treated.append((app, firm))
        matches = match([f for _a, f in treated], pool, neighbours) if pool else [[] for _ in treated]
        for (app, firm), matched in zip(treated, matches, strict=True):
            pairs.append((firm, matched))
            report.rows.append(
                RecipientRow(
                    uscc=app.uscc,
                    name=app.enterprise_name,
                    awarded_on=app.disbursed_on or award_month,
                    amount=float(app.disbursed_amount or 0),
                    matches=tuple(m.uscc for m in matched),
                    changes={o: (firm.change(o), _mean_change(matched, o)) for o, _ in OUTCOMES},
                )
            )
    report.evaluated = len(pairs)
    report.estimates = [
        _estimate(o, label, [f for f, _m in pairs], [m for _f, m in pairs]) for o, label in OUTCOMES
    ]
    return report


def _mean_change(firms: Sequence[Firm], outcome: str) -> float | None:
    changes = [c for c in (f.change(outcome) for f in firms) if c is not None]
    return sum(changes) / len(changes) if changes else None


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _estimate(
    outcome: str, label: str, treated: Sequence[Firm], matched: Sequence[Sequence[Firm]]
) -> Estimate:
    kept = []
    for firm, group in zip(treated, matched, strict=True):
        own, control = firm.change(outcome), _mean_change(group, outcome)
        if own is not None and control is not None:
            kept.append((firm, group, own - control))
    effect, se, low, high = did_estimate([d for _f, _g, d in kept])
    return Estimate(
        outcome=outcome,
        label=label,
        n=len(kept),
        treated_pre=_mean([f.pre[outcome] for f, _g, _d in kept]),
        treated_post=_mean([f.post[outcome] for f, _g, _d in kept]),
        control_pre=_mean([_mean([m.pre[outcome] for m in g]) for _f, g, _d in kept]),
        control_post=_mean([_mean([m.post[outcome] for m in g]) for _f, g, _d in kept]),
        effect=effect,
        se=se,
        low=low,
        high=high,
    )


SUMMARY_HEADERS = (
    N_("Outcome"),
    N_("Recipients compared"),
    N_("Recipients before"),
    N_("Recipients after"),
    N_("Matched firms before"),
    N_("Matched firms after"),
    N_("Effect (difference in differences)"),
    N_("Standard error"),
    N_("95% interval, low"),
    N_("95% interval, high"),
)
ROW_HEADERS = (
    N_("Credit code"),
    N_("Enterprise"),
    N_("Paid on"),
    N_("Amount paid (yuan)"),
    N_("Matched firms"),
)


def export_xlsx(report: EffectReport, translate: Callable[[str], str]) -> bytes:
    """The effect report as an Excel workbook, in the reader's language (``translate``: gettext)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = translate(N_("Effect"))
    summary.append([report.policy.title])
    summary.append(
        [
            translate(N_("Window (months)")),
            report.window_months,
            translate(N_("Matches per recipient")),
            report.neighbours,
            translate(N_("Recipients")),
            report.recipients,
            translate(N_("Compared")),
            report.evaluated,
        ]
    )
    summary.append([])
    summary.append([translate(h) for h in SUMMARY_HEADERS])
    for cell in summary[4]:
        cell.font = Font(bold=True)
    for e in report.estimates:
        summary.append(
            [
                translate(e.label),
                e.n,
                e.treated_pre,
                e.treated_post,
                e.control_pre,
                e.control_post,
                e.effect,
                e.se,
                e.low,
                e.high,
            ]
        )
    rows = book.create_sheet(translate(N_("Recipients")))
    change_headers = []
    for _o, label in OUTCOMES:
        change_headers += [
            f"{translate(label)} · {translate(N_('change'))}",
            f"{translate(label)} · {translate(N_('matched change'))}",
        ]
    rows.append([translate(h) for h in ROW_HEADERS] + change_headers)
    for cell in rows[1]:
        cell.font = Font(bold=True)
    for r in report.rows:
        line: list[Any] = [r.uscc, r.name, r.awarded_on, r.amount, " ".join(r.matches)]
        for o, _label in OUTCOMES:
            line += list(r.changes.get(o, (None, None)))
        rows.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
