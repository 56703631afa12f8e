"""The enterprise's home: its grade over time, what suits it, and what needs its attention now.

Everything here is the enterprise's own: every query is filtered by the principal's organisation (or the
enterprise's USCC, resolved from that organisation), and the recommendation services check the
principal themselves. Banks' monitoring alerts about the enterprise are the banks' business and are not
shown; what the enterprise can act on is: offers on its needs, authorisations about to expire, policy
windows closing, its results in publicity, its objections, its overdue loans — and, for its information,
the loans a public fund backs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.clock import SHANGHAI, today_local
from xinyidai.core.errors import XydError
from xinyidai.core.i18n import N_
from xinyidai.data.lake import Lake
from xinyidai.funds.schemes_models import CoveredLoan, GuaranteeFund
from xinyidai.market import service as market
from xinyidai.market.models import Application, Consent, Loan, Need, Order
from xinyidai.policies import service as policies
from xinyidai.policies.models import Policy, PolicyApplication
from xinyidai.rating import service as rating
from xinyidai.rating.objection_models import DataObjection

__all__ = [
    "CONSENT_WARNING_DAYS",
    "AttentionItem",
    "EnterpriseHome",
    "GradeChart",
    "GradePoint",
    "build_home",
    "grade_chart",
    "grade_series",
]

CONSENT_WARNING_DAYS = 30
POLICY_WARNING_DAYS = 30
RECENT_ANSWER_DAYS = 14
CHART_POINTS = 24  # two years of monthly ratings
GRADES = ("A", "B", "C", "D")  # best first: the chart's rows from the top

URGENT, SOON, INFO = "urgent", "soon", "info"


@dataclass(frozen=True)
class GradePoint:
    as_of: date
    grade: str


@dataclass(frozen=True)
class GradeChart:
    """A step chart of grades in SVG user units: the path, the points, and the axis labels."""

    width: int
    height: int
    path: str
    points: list[tuple[float, float, GradePoint]]
    rows: list[tuple[float, str]]  # (y, grade)
    ticks: list[tuple[float, str]]  # (x, label)


@dataclass(frozen=True)
class AttentionItem:
    """One thing for the enterprise to act on (or know): a message id with its parameters, and where."""

    kind: str
    message: str
    params: dict[str, object]
    link: str
    urgency: str = SOON
    due: date | None = None


@dataclass
class EnterpriseHome:
    series: list[GradePoint] = field(default_factory=list)
    chart: GradeChart | None = None
    products: list[market.Recommendation] = field(default_factory=list)
    institutions: dict[int, str] = field(default_factory=dict)
    policies: list[policies.PolicyMatch] = field(default_factory=list)
    attention: list[AttentionItem] = field(default_factory=list)
    supported: list[AttentionItem] = field(default_factory=list)  # fund-backed loans, for information


# -- grade over time ----------------------------------------------------------------------------------------
def grade_series(
    session: Session, lake: Lake | None, uscc: str, *, points: int = CHART_POINTS
) -> list[GradePoint]:
    """The enterprise's grade at each of the newest ``points`` rating dates, oldest first.

    Built from the newest grade and the recorded grade changes (``rating.grade_history``), not by reading
    every old snapshot: between two changes the grade is the one the earlier change set. Empty when the
    enterprise is not in the newest rating.
    """
    if lake is None:
        return []
    dates = rating.rating_dates(lake)[-points:]
    current = rating.current_rating(lake, uscc)
    if not dates or current is None:
        return []
    changes = sorted(rating.grade_history(session, uscc), key=lambda c: c.as_of)
    series = []
    for day in dates:
        before = [c for c in changes if c.as_of <= day]
        after = [c for c in changes if c.as_of > day]
        if before:
            grade = before[-1].grade
        elif after:
            grade = after[0].previous_grade
        else:
            grade = current.grade
        series.append(GradePoint(day, grade))
    return series


def grade_chart(series: list[GradePoint], *, width: int = 560, height: int = 180) -> GradeChart | None:
    """Place the series on a step chart (A at the top, D at the bottom); None for fewer than one point."""
    if not series:
        return None
    left, right, top, bottom = 28.0, 36.0, 12.0, 26.0
    inner_w, inner_h = width - left - right, height - top - bottom
    step_y = inner_h / (len(GRADES) - 1)

    def y_of(grade: str) -> float:
        return top + step_y * (GRADES.index(grade) if grade in GRADES else len(GRADES) - 1)

    count = len(series)
    xs = [left + (inner_w * i / (count - 1) if count > 1 else inner_w / 2) for i in range(count)]
    placed = [(round(x, 1), round(y_of(p.grade), 1), p) for x, p in zip(xs, series, strict=True)]
    path = f"M {placed[0][0]} {placed[0][1]}"
    for x, y, _ in placed[1:]:
        path += f" H {x} V {y}"
    every = max(1, count // 6)
    ticks = [(x, p.as_of.strftime("%Y-%m")) for i, (x, _, p) in enumerate(placed) if i % every == 0]
    rows = [(round(y_of(g), 1), g) for g in GRADES]
    return GradeChart(width, height, path, placed, rows, ticks)


# -- what needs attention -----------------------------------------------------------------------------------
def _offers(session: Session, principal: Principal) -> list[AttentionItem]:
    rows = session.execute(
        select(Order, Need)
        .join(Need, Need.id == Order.need_id)
        .where(
            Need.enterprise_id == principal.organisation_id,
            Need.status.in_(("open", "full")),
            Order.status == "offered",
        )
        .order_by(Order.offered_at.desc())
        .limit(20)
    ).all()
    names = market.organisation_names(session, (o.institution_id for o, _ in rows))
    return [
        AttentionItem(
            "offer",
            N_("%(institution)s offers %(amount)s 元 at %(rate)s%% on your need of %(need)s 元"),
            {
                "institution": names.get(o.institution_id, ""),
                "amount": _money(o.amount),
                "rate": _rate(o.rate),
                "need": _money(n.amount),
            },
            f"/enterprise/needs/{n.id}",
            SOON,
            n.expires_on,
        )
        for o, n in rows
    ]


def _consents(session: Session, principal: Principal, today: date) -> list[AttentionItem]:
    rows = session.scalars(
        select(Consent)
        .where(
            Consent.enterprise_id == principal.organisation_id,
            Consent.status == "given",
            Consent.expires_on >= today,
            Consent.expires_on <= today + timedelta(days=CONSENT_WARNING_DAYS),
        )
        .order_by(Consent.expires_on)
        .limit(20)
    ).all()
    names = market.organisation_names(session, (c.institution_id for c in rows))
    return [
        AttentionItem(
            "consent",
            N_("Your authorisation for %(institution)s expires on %(date)s"),
            {
                "institution": names.get(c.institution_id, "") if c.institution_id else "—",
                "date": c.expires_on.isoformat(),
            },
            "/enterprise/consents",
            URGENT if (c.expires_on - today).days <= 7 else SOON,
            c.expires_on,
        )
        for c in rows
    ]


def _policy_deadlines(
    session: Session, principal: Principal, matches: list[policies.PolicyMatch], today: date
) -> list[AttentionItem]:
    applied = set(
        session.scalars(
            select(PolicyApplication.policy_id).where(
                PolicyApplication.enterprise_id == principal.organisation_id,
                PolicyApplication.status != "withdrawn",
            )
        )
    )
    horizon = today + timedelta(days=POLICY_WARNING_DAYS)
    return [
        AttentionItem(
            "policy",
            N_("Applications for %(policy)s close on %(date)s — you qualify"),
            {"policy": m.policy.title, "date": m.policy.closes_on.isoformat()},
            f"/enterprise/policies/{m.policy.id}",
            URGENT if (m.policy.closes_on - today).days <= 7 else SOON,
            m.policy.closes_on,
        )
        for m in matches
        if m.eligible and m.open_now and m.policy.closes_on <= horizon and m.policy.id not in applied
    ]


def _publicity(session: Session, principal: Principal, today: date) -> list[AttentionItem]:
    rows = session.execute(
        select(PolicyApplication, Policy.title)
        .join(Policy, Policy.id == PolicyApplication.policy_id)
        .where(
            PolicyApplication.enterprise_id == principal.organisation_id,
            PolicyApplication.status == "publicity",
            PolicyApplication.publicity_ends_on >= today,
        )
        .order_by(PolicyApplication.publicity_ends_on)
        .limit(20)
    ).all()
    return [
        AttentionItem(
            "publicity",
            N_("Your approval under %(policy)s is in publicity until %(date)s"),
            {"policy": title, "date": a.publicity_ends_on.isoformat() if a.publicity_ends_on else ""},
            f"/enterprise/policy-applications/{a.id}",
            INFO,
            a.publicity_ends_on,
        )
        for a, title in rows
    ]


def _objections(session: Session, principal: Principal, today: date) -> list[AttentionItem]:
    since = datetime.combine(today - timedelta(days=RECENT_ANSWER_DAYS), time(), SHANGHAI)
    rows = session.scalars(
        select(DataObjection)
        .where(DataObjection.enterprise_id == principal.organisation_id)
        .where(
            DataObjection.status.in_(("open", "accepted"))
            | (DataObjection.status.in_(("rejected", "corrected")) & (DataObjection.closed_at >= since))
        )
        .order_by(DataObjection.id.desc())
        .limit(50)
    ).all()
    items = []
    for o in rows:
        item = o.item_label or o.source_id
        due = o.due_at.astimezone(SHANGHAI).date()
        if o.status == "open":
            message = N_("Your objection to %(item)s awaits the answer, due %(date)s")
            params: dict[str, object] = {"item": item, "date": due.isoformat()}
            items.append(AttentionItem("objection", message, params, "/enterprise/objections", INFO, due))
        elif o.status == "accepted":
            message = N_("Your objection to %(item)s was accepted: the corrected data is on its way")
            items.append(AttentionItem("objection", message, {"item": item}, "/enterprise/objections", INFO))
        else:
            message = (
                N_("Your objection to %(item)s was rejected: see the department's reason")
                if o.status == "rejected"
                else N_("The data you objected to (%(item)s) has been corrected")
            )
            items.append(AttentionItem("objection", message, {"item": item}, "/enterprise/objections", SOON))
    return items


def _overdue_loans(session: Session, principal: Principal) -> list[AttentionItem]:
    rows = session.scalars(
        select(Loan)
        .where(
            Loan.enterprise_id == principal.organisation_id,
            Loan.status.in_(("overdue", "defaulted")),
        )
        .order_by(Loan.days_overdue.desc())
        .limit(20)
    ).all()
    names = market.organisation_names(session, (x.institution_id for x in rows))
    return [
        AttentionItem(
            "loan",
            N_("Your loan of %(amount)s 元 from %(institution)s is %(days)s days overdue"),
            {
                "amount": _money(x.outstanding),
                "institution": names.get(x.institution_id, ""),
                "days": x.days_overdue,
            },
            "/enterprise/loans",
            URGENT,
        )
        for x in rows
    ]


def _supported_loans(session: Session, principal: Principal) -> list[AttentionItem]:
    rows = session.execute(
        select(CoveredLoan, GuaranteeFund.name)
        .join(Application, Application.id == CoveredLoan.application_id)
        .join(GuaranteeFund, GuaranteeFund.id == CoveredLoan.fund_id)
        .where(
            Application.enterprise_id == principal.organisation_id,
            CoveredLoan.status.in_(("covered", "claimed", "paid")),
        )
        .order_by(CoveredLoan.id.desc())
        .limit(20)
    ).all()
    return [
        AttentionItem(
            "fund",
            N_("%(fund)s backs %(share)s%% of your loan of %(amount)s 元"),
            {"fund": name, "share": c.fund_pct, "amount": _money(c.amount)},
            "/enterprise/loans",
            INFO,
        )
        for c, name in rows
    ]


def _rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):.2f}"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


_ORDER = {URGENT: 0, SOON: 1, INFO: 2}


def build_home(
    session: Session,
    lake: Lake | None,
    principal: Principal,
    uscc: str,
    *,
    today: date | None = None,
    products: int = 3,
    policy_count: int = 3,
) -> EnterpriseHome:
    """Everything the enterprise home shows beyond the registration card (``uscc``: its own, from its
    organisation — the caller resolves it)."""
    require(principal, Permission.ENTERPRISE_HOME)
    day = today or today_local()
    home = EnterpriseHome()
    home.series = grade_series(session, lake, uscc)
    home.chart = grade_chart(home.series)
    matches: list[policies.PolicyMatch] = []
    try:
        recommended = market.recommend_products(session, lake, principal)
        home.products = recommended.eligible[:products]
        home.institutions = market.organisation_names(
            session, (r.product.institution_id for r in home.products)
        )
    except XydError:  # e.g. an enterprise without its profile yet: nothing to recommend
        home.products = []
    try:
        matches = policies.judge_policies(session, lake, principal, today=day)
        home.policies = [m for m in matches if m.eligible][:policy_count]
    except XydError:
        matches = []
    attention = (
        _overdue_loans(session, principal)
        + _offers(session, principal)
        + _consents(session, principal, day)
        + _policy_deadlines(session, principal, matches, day)
        + _publicity(session, principal, day)
        + _objections(session, principal, day)
    )
    attention.sort(key=lambda a: (_ORDER[a.urgency], a.due or date.max))
    home.attention = attention
    home.supported = _supported_loans(session, principal)
    return home
