"""Dispatch (派单): open needs and whitelisted enterprises assigned to institutions with OR-Tools.

The model (Zhejiang's "matching and dispatch by region, need and risk", Shanghai's operations-research
dispatch):

* **Eligibility.** Item *i* (a need or a whitelisted enterprise) may go to institution *j* only if one of
  *j*'s listed products fits it — amount and term within the product's ranges (whitelisted enterprises
  state no amount or term: those two checks are skipped), region, industry, size and grade within its
  targets (an empty target list means all) — and *i*'s region lies in *j*'s coverage (the regions of the
  institution and its branches; an institution without a region covers everywhere). A pair an institution
  declined before is not offered again.
* **Capacity.** Institution *j* takes at most ``c_j`` items today: its account managers × the needs one
  manager can follow up a day, less what it was assigned earlier the same day and has not handled yet.
* **Fairness.** No institution takes more than its share of the work plus a slack: with ``M`` the number
  of items that can be placed at all (at most the total capacity), ``b_j = min(c_j, ceil((1 + slack) ·
  M · c_j / Σ c))``. Without this the institution whose products fit best would take everything its
  capacity allows while the others wait.
* **Objective.** Maximise the expected number of successful matches ``Σ p_ij x_ij`` with
  ``p_ij = base(grade_i) × fit_ij``: ``base`` is the prior chance that an enterprise of that grade gets
  a loan (A 0.80, B 0.60, C 0.40, D 0.15, not rated 0.30), ``fit_ij`` is the best of *j*'s fitting
  products: 0.6, plus 0.1 for each target the product states explicitly that the item meets (region,
  industry, size, grade: a product aimed at the segment approves it more readily than a catch-all one),
  halved when the product asks for collateral the item does not offer.

The problem is a transportation problem (items → institutions with capacities ``b_j``, each item at most
once), solved exactly as a min-cost flow (``ortools.graph.python.min_cost_flow``) on integer costs
``round(p · 10⁶)``. Items with the same cost row are interchangeable, so the flow runs over those classes
(a few hundred to a few thousand for 100,000 needs) and is spread back over the items, oldest first.

The **bound** is the value of the LP dual at prices ``λ_j`` read off the optimal flow (the value of one
more unit of capacity at *j*: the longest chain of moves that frees a slot, computed by Bellman-Ford over
the 50 institutions): ``Σ_i max(0, max_j (p_ij − λ_j)) + Σ_j b_j λ_j``. Any ``λ ≥ 0`` gives a valid upper
bound by weak duality, so the gap ``(bound − objective) / bound`` is a certificate, whatever the rounding
of the costs did; at the exact prices it is 0.

``optimise`` and ``score`` are pure (numpy arrays and dataclasses in, arrays out): the benchmark and the
unit tests call them without a database. ``dispatch`` reads the tables, calls them and stores the run.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation, User, UserRole
from xinyidai.core.access import OrgKind, Permission, Principal, Role, require, sees_all_organisations
from xinyidai.core.clock import SHANGHAI, today_local, utcnow
from xinyidai.core.codes import region_prefix
from xinyidai.core.errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.data.lake import Lake
from xinyidai.market.models import Assignment, DispatchRun, Need, Product, Whitelist, WhitelistEntry
from xinyidai.market.whitelists import entry_profiles

SCALE = 1_000_000
SOLVER = "ortools-min-cost-flow"
GRADE_BASE: dict[str, float] = {"A": 0.80, "B": 0.60, "C": 0.40, "D": 0.15}
UNRATED_BASE = 0.30
FIT_BASE = 0.6
FIT_PER_TARGET = 0.1
COLLATERAL_FACTOR = 0.5
DEFAULT_PER_MANAGER = 10
DEFAULT_SLACK = 0.2
MAX_PER_MANAGER = 200

# Reason codes stored on each assignment ({"code": ..., "params": {...}}), rendered by the templates.
REASONS: dict[str, str] = {
    "product": N_(
        "Product %(product)s fits: amount, term, region, industry, size and grade within its range"
    ),
    "product_no_amount": N_(
        "Product %(product)s fits: region, industry, size and grade (no amount stated on a whitelist)"
    ),
    "targeted": N_("The product is aimed at this enterprise's %(targets)s"),
    "collateral": N_("The product asks for collateral the enterprise has not offered (chance halved)"),
    "coverage": N_("Region %(region)s is within the institution's coverage"),
    "grade": N_("Grade %(grade)s: prior chance of a loan %(base)s"),
    "unrated": N_("Not rated yet: prior chance of a loan %(base)s"),
    "probability": N_("Expected chance of success %(probability)s, the best among the institutions free"),
    "capacity": N_("Capacity today: %(managers)s account managers × %(per_manager)s = %(capacity)s"),
}
TARGET_LABELS: dict[str, str] = {
    "region": N_("region"),
    "industry": N_("industry"),
    "size": N_("size"),
    "grade": N_("grade"),
}


# ----------------------------------------------------------------------------------------- pure model


@dataclass(frozen=True)
class ProductSpec:
    """One listed product, as the dispatch model sees it (``institution`` indexes the institutions)."""

    institution: int
    product_id: int
    name: str
    amount_min: float
    amount_max: float
    term_min: int
    term_max: int
    regions: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    collateral: str = "none"


@dataclass(frozen=True)
class InstitutionSpec:
    """An institution: its coverage (region codes; empty = everywhere) and its capacity for this run."""

    institution_id: int
    name: str
    coverage: tuple[str, ...]
    capacity: int
    managers: int = 0
    per_manager: int = 0


@dataclass(frozen=True)
class Items:
    """The items to place, as parallel arrays (one entry per need or whitelisted enterprise).

    ``amount`` NaN and ``term`` 0 mean "not stated" (whitelisted enterprises): those checks are skipped.
    Earlier items win ties (pass the oldest needs first).
    """

    region: NDArray[Any]
    industry: NDArray[Any]
    size: NDArray[Any]
    grade: NDArray[Any]
    amount: NDArray[np.float64]
    term: NDArray[np.int64]
    collateral: NDArray[Any]

    def __len__(self) -> int:
        return len(self.region)


@dataclass(frozen=True)
class Scores:
    """``probability[i, j]`` (0 where ineligible), the product behind it and the targets it met."""

    probability: NDArray[np.float64]
    product: NDArray[np.int32]  # index into the product list, -1 where ineligible
    targeted: NDArray[np.int8]  # bit mask: 1 region, 2 industry, 4 size, 8 grade
    collateral_short: NDArray[np.bool_]


@dataclass
class Solution:
    """Each item's institution index (-1: not placed), the objective, the bound and the gap."""

    institution: NDArray[np.int32]
    objective: float
    bound: float
    gap: float
    limits: NDArray[np.int64]
    elapsed: float
    classes: int
    solver: str = SOLVER
    status: str = "optimal"
    prices: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def _codes(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    return uniques, inverse.reshape(-1)


def _within(uniques: NDArray[Any], inverse: NDArray[np.intp], allowed: Sequence[str], *, prefix: bool) -> Any:
    """Mask over the items: is the item's value in ``allowed`` (by region prefix where ``prefix``)?"""
    if not allowed:
        return None
    if prefix:
        heads = tuple(region_prefix(a) for a in allowed)
        ok = np.array([bool(u) and u.startswith(heads) for u in uniques], dtype=bool)
    else:
        wanted = set(allowed)
        ok = np.array([u in wanted for u in uniques], dtype=bool)
    return ok[inverse]


def base_probability(grades: NDArray[Any]) -> NDArray[np.float64]:
    uniques, inverse = _codes(grades)
    table = np.array([GRADE_BASE.get(g, UNRATED_BASE) for g in uniques], dtype=np.float64)
    return table[inverse]


def score(items: Items, institutions: Sequence[InstitutionSpec], products: Sequence[ProductSpec]) -> Scores:
    """Eligibility and success probability of every item at every institution (vectorised)."""
    n, m = len(items), len(institutions)
    probability = np.zeros((n, m), dtype=np.float64)
    product = np.full((n, m), -1, dtype=np.int32)
    targeted = np.zeros((n, m), dtype=np.int8)
    short = np.zeros((n, m), dtype=bool)
    if n == 0 or m == 0:
        return Scores(probability, product, targeted, short)
    base = base_probability(items.grade)
    regions = _codes(items.region)
    industries = _codes(items.industry)
    sizes = _codes(items.size)
    grades = _codes(items.grade)
    collateral = _codes(items.collateral)
    amount_known = ~np.isnan(items.amount)
    term_known = items.term > 0
    covered = []
    for inst in institutions:
        mask = _within(*regions, inst.coverage, prefix=True)
        covered.append(np.ones(n, dtype=bool) if mask is None else mask)
    for k, p in enumerate(products):
        ok = covered[p.institution].copy()
        with np.errstate(invalid="ignore"):
            ok &= ~amount_known | ((items.amount >= p.amount_min) & (items.amount <= p.amount_max))
        ok &= ~term_known | ((items.term >= p.term_min) & (items.term <= p.term_max))
        bits = np.zeros(n, dtype=np.int8)
        for bit, (codes, allowed, is_region) in enumerate(
            (
                (regions, p.regions, True),
                (industries, p.industries, False),
                (sizes, p.sizes, False),
                (grades, p.grades, False),
            )
        ):
            mask = _within(*codes, allowed, prefix=is_region)
            if mask is not None:
                ok &= mask
                bits |= (1 << bit) * mask.astype(np.int8)
        if not ok.any():
            continue
        fit = FIT_BASE + FIT_PER_TARGET * _popcount4(bits)
        lacks = np.zeros(n, dtype=bool)
        if p.collateral not in ("", "none"):
            offers = _within(*collateral, (p.collateral,), prefix=False)
            lacks = ~offers if offers is not None else lacks
            fit = np.where(lacks, fit * COLLATERAL_FACTOR, fit)
        value = np.where(ok, base * fit, 0.0)
        j = p.institution
        better = value > probability[:, j]
        probability[better, j] = value[better]
        product[better, j] = k
        targeted[better, j] = bits[better]
        short[better, j] = lacks[better]
    return Scores(probability, product, targeted, short)


def _popcount4(bits: NDArray[np.int8]) -> NDArray[np.float64]:
    total = (bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1) + ((bits >> 3) & 1)
    return np.asarray(total, dtype=np.float64)


def fair_limits(
    eligible: NDArray[np.bool_], capacity: NDArray[np.int64], slack: float | None
) -> NDArray[np.int64]:
    """Each institution's limit: its capacity, and (with a slack) its share of the work plus the slack."""
    capacity = np.maximum(capacity.astype(np.int64), 0)
    if slack is None or capacity.sum() == 0:
        return capacity
    placeable = int(eligible.any(axis=1).sum())
    work = min(placeable, int(capacity.sum()))
    share = np.ceil((1.0 + slack) * work * capacity / capacity.sum()).astype(np.int64)
    return np.asarray(np.minimum(capacity, share), dtype=np.int64)


def optimise(
    probability: NDArray[np.float64], capacity: NDArray[np.int64], slack: float | None = DEFAULT_SLACK
) -> Solution:
    """Place each item at most once, institution *j* at most ``limits[j]`` times, maximising Σ p.

    ``probability[i, j]`` ≤ 0 means ineligible. Exact min-cost flow over classes of identical items,
    then the dual bound (see the module's docstring).
    """
    started = time.perf_counter()
    n, m = probability.shape
    eligible = probability > 0
    limits = fair_limits(eligible, np.asarray(capacity), slack)
    assigned = np.full(n, -1, dtype=np.int32)
    if n == 0 or m == 0 or not eligible.any() or limits.sum() == 0:
        return Solution(assigned, 0.0, 0.0, 0.0, limits, time.perf_counter() - started, 0)
    costs = np.where(eligible, np.rint(probability * SCALE), 0).astype(np.int64)
    rows = np.flatnonzero(costs.any(axis=1))  # items some institution can take
    classes, inverse, counts = np.unique(costs[rows], axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    c = len(classes)
    source, sink = 0, 1 + c + m
    flow = min_cost_flow.SimpleMinCostFlow()
    cls_idx, inst_idx = np.nonzero(classes)
    tails = np.concatenate(
        [np.zeros(c, dtype=np.int64), 1 + cls_idx, 1 + np.arange(c), 1 + c + np.arange(m)]
    ).astype(np.int32)
    heads = np.concatenate([1 + np.arange(c), 1 + c + inst_idx, np.full(c, sink), np.full(m, sink)]).astype(
        np.int32
    )
    caps = np.concatenate([counts, counts[cls_idx], counts, limits]).astype(np.int64)
    unit = np.concatenate(
        [np.zeros(c, dtype=np.int64), -classes[cls_idx, inst_idx], np.zeros(c + m, dtype=np.int64)]
    ).astype(np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, unit)
    total = int(counts.sum())
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[source], supplies[sink] = total, -total
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    flows = flow.flows(np.arange(c, c + len(cls_idx), dtype=np.int32))
    # Spread each class's flow over its items, earliest item first.
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    taken = np.zeros(c, dtype=np.int64)
    for arc in np.flatnonzero(flows):
        k, j, amount = int(cls_idx[arc]), int(inst_idx[arc]), int(flows[arc])
        at = starts[k] + taken[k]
        assigned[rows[order[at : at + amount]]] = j
        taken[k] += amount
    placed = assigned >= 0
    objective = float(probability[np.flatnonzero(placed), assigned[placed]].sum())
    prices = dual_prices(probability, assigned, limits)
    bound = dual_bound(probability, limits, prices)
    gap = max(0.0, (bound - objective) / bound) if bound > 0 else 0.0
    return Solution(assigned, objective, bound, gap, limits, time.perf_counter() - started, c, prices=prices)


def dual_prices(
    probability: NDArray[np.float64], assigned: NDArray[np.int32], limits: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The value of one more unit of capacity at each institution, from the residual moves of a solution.

    Node ``m`` is the pool of unplaced items. ``gain[k, j]``: the best gain of moving one item now at
    ``k`` to ``j``. ``λ_j = max(0, max_k gain[k, j] + λ_k)`` with ``λ_pool = 0`` (longest path, Bellman-Ford;
    an optimal solution has no positive cycle, the iteration count caps it anyway).
    """
    n, m = probability.shape
    values = np.where(probability > 0, probability, -np.inf)
    here = np.where(assigned >= 0, values[np.arange(n), np.maximum(assigned, 0)], 0.0)
    where = np.where(assigned >= 0, assigned, m)
    gain = np.full((m + 1, m), -np.inf)
    order = np.argsort(where, kind="stable")
    groups, starts = np.unique(where[order], return_index=True)
    moves = values[order] - here[order][:, None]
    maxima = np.maximum.reduceat(moves, starts, axis=0)
    gain[groups] = maxima
    prices = np.zeros(m)
    full = assigned[assigned >= 0]
    load = np.bincount(full, minlength=m) if len(full) else np.zeros(m, dtype=np.int64)
    for _ in range(m + 1):
        through = np.concatenate([prices, [0.0]])[:, None] + gain
        new = np.maximum(0.0, through.max(axis=0))
        new = np.where(load >= limits, new, 0.0)  # a free slot is worth nothing more
        if np.allclose(new, prices, rtol=0, atol=1e-12):
            break
        prices = new
    return prices


def dual_bound(
    probability: NDArray[np.float64], limits: NDArray[np.int64], prices: NDArray[np.float64]
) -> float:
    """``Σ_i max(0, max_j (p_ij − λ_j)) + Σ_j b_j λ_j``: an upper bound on any placement's Σ p."""
    values = np.where(probability > 0, probability, -np.inf)
    reduced = np.max(values - prices[None, :], axis=1, initial=0.0)
    return float(np.maximum(reduced, 0.0).sum() + (limits * prices).sum())


# ----------------------------------------------------------------------------------------- database


@dataclass(frozen=True)
class Candidate:
    """An item read from the tables: a need or a whitelist entry, with what matching needs of it."""

    need_id: int | None
    entry_id: int | None
    uscc: str
    name: str
    region: str
    industry: str
    size: str
    grade: str
    amount: float
    term: int
    collateral: str


@dataclass(frozen=True)
class DispatchResult:
    run: DispatchRun
    solution: Solution
    institutions: list[InstitutionSpec]


def _managers(session: Session, institution_ids: Sequence[int]) -> dict[int, int]:
    """Active account managers per institution, its branches' counted with it."""
    parent = dict(
        session.execute(
            select(Organisation.id, Organisation.parent_id).where(
                Organisation.kind == OrgKind.INSTITUTION.value
            )
        ).all()
    )
    rows = session.execute(
        select(User.organisation_id, func.count())
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role == Role.ACCOUNT_MANAGER.value)
        .group_by(User.organisation_id)
    ).all()
    counts: dict[int, int] = defaultdict(int)
    for org_id, count in rows:
        top: int = org_id
        while top not in institution_ids and (up := parent.get(top)) is not None:
            top = up
        if top in institution_ids:
            counts[top] += int(count)
    return counts


def _coverage(session: Session) -> dict[int, tuple[str, ...]]:
    """Each top-level institution's regions: its own and its branches' (empty: everywhere)."""
    rows = session.execute(
        select(Organisation.id, Organisation.parent_id, Organisation.region_code).where(
            Organisation.kind == OrgKind.INSTITUTION.value
        )
    ).all()
    parent = {r.id: r.parent_id for r in rows}
    regions: dict[int, set[str]] = defaultdict(set)
    unrestricted: set[int] = set()
    for r in rows:
        top: int = r.id
        while (up := parent.get(top)) is not None:
            top = up
        if r.region_code:
            regions[top].add(r.region_code)
        elif r.parent_id is None:
            unrestricted.add(top)
    return {
        org_id: () if org_id in unrestricted else tuple(sorted(regions[org_id]))
        for org_id in {r.id for r in rows}
    }


def _assigned_today(session: Session) -> dict[int, int]:
    """Assignments made since local midnight that the institution has not handled yet."""
    midnight = datetime.combine(today_local(), datetime.min.time(), SHANGHAI)
    rows = session.execute(
        select(Assignment.institution_id, func.count())
        .join(DispatchRun, DispatchRun.id == Assignment.run_id)
        .where(DispatchRun.created_at >= midnight, Assignment.status == "assigned")
        .group_by(Assignment.institution_id)
    ).all()
    return {int(i): int(c) for i, c in rows}


def model_inputs(
    session: Session, *, per_manager: int
) -> tuple[list[InstitutionSpec], list[ProductSpec], dict[int, Product]]:
    """The institutions with listed products, their coverage and capacity today, and the products."""
    listed = session.scalars(
        select(Product).where(Product.status == "listed").order_by(Product.institution_id, Product.id)
    ).all()
    coverage = _coverage(session)
    ids = sorted({p.institution_id for p in listed})
    names = dict(
        session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all()
    )
    managers = _managers(session, ids)
    earlier = _assigned_today(session)
    institutions = [
        InstitutionSpec(
            institution_id=i,
            name=names.get(i, ""),
            coverage=coverage.get(i, ()),
            capacity=max(0, managers.get(i, 0) * per_manager - earlier.get(i, 0)),
            managers=managers.get(i, 0),
            per_manager=per_manager,
        )
        for i in ids
    ]
    index = {inst.institution_id: k for k, inst in enumerate(institutions)}
    products = [
        ProductSpec(
            institution=index[p.institution_id],
            product_id=p.id,
            name=p.name,
            amount_min=float(p.amount_min),
            amount_max=float(p.amount_max),
            term_min=p.term_min,
            term_max=p.term_max,
            regions=tuple(p.regions or ()),
            industries=tuple(p.industries or ()),
            sizes=tuple(p.sizes or ()),
            grades=tuple(p.grades or ()),
            collateral=p.collateral or "none",
        )
        for p in listed
    ]
    return institutions, products, {p.id: p for p in listed}


def need_candidates(session: Session, *, limit: int = 200_000) -> list[Candidate]:
    """Open, unexpired needs nobody holds yet and no institution is working on from a dispatch."""
    busy = select(Assignment.need_id).where(
        Assignment.need_id.is_not(None), Assignment.status.in_(("assigned", "contacted"))
    )
    columns = (Need.id, Need.uscc, Need.enterprise_name, Need.region_code, Need.industry_section)
    more = (Need.size_class, Need.grade, Need.amount, Need.term_months, Need.collateral)
    needs = session.execute(
        select(*columns, *more)
        .where(Need.status == "open", Need.holders == 0, Need.expires_on >= today_local())
        .where(Need.id.not_in(busy))
        .order_by(Need.id)
        .limit(limit)
    ).all()
    return [
        Candidate(
            need_id=n.id,
            entry_id=None,
            uscc=n.uscc,
            name=n.enterprise_name,
            region=n.region_code or "",
            industry=n.industry_section or "",
            size=n.size_class or "",
            grade=n.grade or "",
            amount=float(n.amount),
            term=int(n.term_months),
            collateral=n.collateral or "none",
        )
        for n in needs
    ]


def whitelist_candidates(session: Session, lake: Lake | None, whitelist_id: int) -> list[Candidate]:
    """A whitelist's entries not yet assigned, with region, industry and size from the registry."""
    entries = session.scalars(
        select(WhitelistEntry)
        .where(WhitelistEntry.whitelist_id == whitelist_id, WhitelistEntry.status == "new")
        .order_by(WhitelistEntry.id)
    ).all()
    profiles = entry_profiles(session, lake, [e.uscc for e in entries])
    out = []
    for e in entries:
        region, industry, size, grade = profiles.get(e.uscc, ("", "", "", ""))
        out.append(
            Candidate(
                None, e.id, e.uscc, e.enterprise_name, region, industry, size, grade, math.nan, 0, "none"
            )
        )
    return out


def as_items(candidates: Sequence[Candidate]) -> Items:
    return Items(
        region=np.array([c.region for c in candidates], dtype=object),
        industry=np.array([c.industry for c in candidates], dtype=object),
        size=np.array([c.size for c in candidates], dtype=object),
        grade=np.array([c.grade for c in candidates], dtype=object),
        amount=np.array([c.amount for c in candidates], dtype=np.float64),
        term=np.array([c.term for c in candidates], dtype=np.int64),
        collateral=np.array([c.collateral for c in candidates], dtype=object),
    )


def _declined(session: Session, candidates: Sequence[Candidate]) -> set[tuple[str, int]]:
    """(item key, institution) pairs an institution declined before: not offered to it again."""
    rows = session.execute(
        select(Assignment.need_id, Assignment.whitelist_entry_id, Assignment.institution_id).where(
            Assignment.status == "declined"
        )
    ).all()
    return {
        (f"n{r.need_id}" if r.need_id else f"w{r.whitelist_entry_id}", int(r.institution_id)) for r in rows
    }


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _reasons(
    cand: Candidate, inst: InstitutionSpec, prod: ProductSpec, p: float, bits: int, short: bool
) -> list[Any]:
    reasons: list[Any] = [
        {
            "code": "product" if not math.isnan(cand.amount) else "product_no_amount",
            "params": {"product": prod.name},
        }
    ]
    targets = [key for bit, key in enumerate(("region", "industry", "size", "grade")) if bits & (1 << bit)]
    if targets:
        reasons.append({"code": "targeted", "params": {"targets": targets}})
    if short:
        reasons.append({"code": "collateral", "params": {}})
    if inst.coverage:
        reasons.append({"code": "coverage", "params": {"region": cand.region}})
    base = GRADE_BASE.get(cand.grade)
    if base is None:
        reasons.append({"code": "unrated", "params": {"base": _pct(UNRATED_BASE)}})
    else:
        reasons.append({"code": "grade", "params": {"grade": cand.grade, "base": _pct(base)}})
    reasons.append({"code": "probability", "params": {"probability": _pct(p)}})
    reasons.append(
        {
            "code": "capacity",
            "params": {"managers": inst.managers, "per_manager": inst.per_manager, "capacity": inst.capacity},
        }
    )
    return reasons


def dispatch(
    session: Session,
    lake: Lake | None,
    principal: Principal,
    *,
    include_needs: bool,
    whitelist_id: int | None = None,
    per_manager: int = DEFAULT_PER_MANAGER,
    slack: float | None = DEFAULT_SLACK,
) -> DispatchResult:
    """Dispatch open needs and/or one whitelist's unassigned entries; store the run and its assignments."""
    require(principal, Permission.DISPATCH)
    if not include_needs and whitelist_id is None:
        raise ValidationFailed("Choose open needs, a whitelist or both", field="include_needs")
    if not 1 <= per_manager <= MAX_PER_MANAGER:
        raise ValidationFailed(
            "Needs per account manager a day must be between 1 and %(max)s",
            field="per_manager",
            max=MAX_PER_MANAGER,
        )
    if slack is not None and not 0 <= slack <= 10:
        raise ValidationFailed("The fairness slack must be between 0 and 1000 per cent", field="slack")
    started = time.perf_counter()
    candidates: list[Candidate] = need_candidates(session) if include_needs else []
    if whitelist_id is not None:
        whitelist = session.get(Whitelist, whitelist_id)
        if whitelist is None or not (
            sees_all_organisations(principal) or whitelist.department_id == principal.organisation_id
        ):
            raise NotFound()
        candidates += whitelist_candidates(session, lake, whitelist_id)
    institutions, products, _rows = model_inputs(session, per_manager=per_manager)
    scores = score(as_items(candidates), institutions, products)
    declined = _declined(session, candidates)
    if declined:  # an institution that declined an item is not offered it again
        column = {inst.institution_id: j for j, inst in enumerate(institutions)}
        row = {(f"n{c.need_id}" if c.need_id else f"w{c.entry_id}"): i for i, c in enumerate(candidates)}
        for key, inst_id in declined:
            if key in row and inst_id in column:
                scores.probability[row[key], column[inst_id]] = 0.0
    capacity = np.array([inst.capacity for inst in institutions], dtype=np.int64)
    solution = optimise(scores.probability, capacity, slack)
    run = DispatchRun(
        dispatched_by=principal.username,
        organisation_id=principal.organisation_id,
        needs=len(candidates),
        institutions=len(institutions),
        assigned=int((solution.institution >= 0).sum()),
        objective=Decimal(f"{solution.objective:.4f}"),
        bound=Decimal(f"{solution.bound:.4f}"),
        gap=Decimal(f"{solution.gap:.6f}"),
        solver=solution.solver,
        elapsed_seconds=Decimal("0"),
    )
    session.add(run)
    session.flush()
    entry_ids = []
    rows = []
    for at in np.flatnonzero(solution.institution >= 0):
        i, j = int(at), int(solution.institution[at])
        cand, inst = candidates[i], institutions[j]
        prod = products[int(scores.product[i, j])]
        p = float(scores.probability[i, j])
        rows.append(
            {
                "run_id": run.id,
                "institution_id": inst.institution_id,
                "product_id": prod.product_id,
                "need_id": cand.need_id,
                "whitelist_entry_id": cand.entry_id,
                "uscc": cand.uscc,
                "probability": Decimal(f"{p:.4f}"),
                "reasons": _reasons(
                    cand, inst, prod, p, int(scores.targeted[i, j]), bool(scores.collateral_short[i, j])
                ),
                "status": "assigned",
            }
        )
        if cand.entry_id is not None:
            entry_ids.append((cand.entry_id, inst.institution_id))
    if rows:
        session.execute(insert(Assignment), rows)
    for entry_id, inst_id in entry_ids:
        entry = session.get(WhitelistEntry, entry_id)
        if entry is not None:
            entry.status, entry.institution_id, entry.updated_at = "assigned", inst_id, utcnow()
    run.elapsed_seconds = Decimal(f"{time.perf_counter() - started:.3f}")
    session.flush()
    return DispatchResult(run, solution, institutions)


# ----------------------------------------------------------------------------------------- reading


def _may_see_run(principal: Principal, run: DispatchRun) -> bool:
    return sees_all_organisations(principal) or run.organisation_id == principal.organisation_id


def list_runs(session: Session, principal: Principal, *, limit: int = 20) -> Sequence[DispatchRun]:
    require(principal, Permission.DISPATCH)
    stmt = select(DispatchRun).order_by(DispatchRun.id.desc()).limit(limit)
    if not sees_all_organisations(principal):
        stmt = stmt.where(DispatchRun.organisation_id == principal.organisation_id)
    return session.scalars(stmt).all()


@dataclass(frozen=True)
class RunSummary:
    run: DispatchRun
    per_institution: list[tuple[str, int, float]]  # name, assignments, expected successes
    assignments: Sequence[Assignment]
    names: dict[int, str]
    products: dict[int, str]
    total: int


def run_summary(
    session: Session, principal: Principal, run_id: int, *, limit: int = 200, offset: int = 0
) -> RunSummary:
    require(principal, Permission.DISPATCH)
    run = session.get(DispatchRun, run_id)
    if run is None or not _may_see_run(principal, run):
        raise NotFound()
    grouped = session.execute(
        select(Assignment.institution_id, func.count(), func.sum(Assignment.probability))
        .where(Assignment.run_id == run_id)
        .group_by(Assignment.institution_id)
    ).all()
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.kind == OrgKind.INSTITUTION.value)
        ).all()
    )
    per = sorted(
        ((names.get(i, str(i)), int(c), float(s or 0)) for i, c, s in grouped), key=lambda r: (-r[1], r[0])
    )
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.run_id == run_id)
        .order_by(Assignment.id)
        .limit(limit)
        .offset(offset)
    ).all()
    products = dict(
        session.execute(
            select(Product.id, Product.name).where(
                Product.id.in_({a.product_id for a in assignments if a.product_id})
            )
        ).all()
    )
    total = session.scalar(select(func.count()).where(Assignment.run_id == run_id)) or 0
    return RunSummary(run, per, assignments, names, products, total)


@dataclass(frozen=True)
class AssignmentRow:
    assignment: Assignment
    name: str
    product: str
    need: Need | None
    assigned_at: datetime


def institution_assignments(
    session: Session, principal: Principal, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[AssignmentRow], int]:
    """The institution's own assignments, newest first (nobody else's, ever)."""
    require(principal, Permission.INSTITUTION_WORKBENCH)
    if principal.org_kind is not OrgKind.INSTITUTION:
        raise PermissionDenied()
    where = [Assignment.institution_id == principal.organisation_id]
    if status:
        where.append(Assignment.status == status)
    total = session.scalar(select(func.count()).select_from(Assignment).where(*where)) or 0
    rows = session.execute(
        select(Assignment, DispatchRun.created_at, Product.name, Need, WhitelistEntry.enterprise_name)
        .join(DispatchRun, DispatchRun.id == Assignment.run_id)
        .outerjoin(Product, Product.id == Assignment.product_id)
        .outerjoin(Need, Need.id == Assignment.need_id)
        .outerjoin(WhitelistEntry, WhitelistEntry.id == Assignment.whitelist_entry_id)
        .where(*where)
        .order_by(Assignment.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    out = [
        AssignmentRow(a, (need.enterprise_name if need else entry_name) or a.uscc, pname or "", need, created)
        for a, created, pname, need, entry_name in rows
    ]
    return out, total


ASSIGNMENT_STATUS: dict[str, str] = {
    "assigned": N_("Assigned"),
    "contacted": N_("Contacted"),
    "declined": N_("Declined"),
}
ASSIGNMENT_MOVES = {"contacted": ("assigned",), "declined": ("assigned", "contacted")}


def mark_assignment(session: Session, principal: Principal, assignment_id: int, status: str) -> Assignment:
    """The institution marks an assignment contacted or declined (a declined whitelist entry is freed)."""
    require(principal, Permission.ORDERS_WORK)
    if status not in ASSIGNMENT_MOVES:
        raise ValidationFailed("Unknown status %(status)s", status=status)
    assignment = session.scalars(
        select(Assignment)
        .where(Assignment.id == assignment_id, Assignment.institution_id == principal.organisation_id)
        .with_for_update()
    ).first()
    if assignment is None or principal.org_kind is not OrgKind.INSTITUTION:
        raise NotFound()
    if assignment.status not in ASSIGNMENT_MOVES[status]:
        raise IllegalTransition(
            "An assignment that is %(state_label)s cannot be marked %(target_label)s",
            state_label=ASSIGNMENT_STATUS[assignment.status],
            target_label=ASSIGNMENT_STATUS[status],
        )
    assignment.status = status
    if assignment.whitelist_entry_id is not None:
        entry = session.get(WhitelistEntry, assignment.whitelist_entry_id)
        if entry is not None and entry.institution_id == principal.organisation_id:
            if status == "contacted" and entry.status == "assigned":
                entry.status = "contacted"
            elif status == "declined" and entry.status in ("assigned", "contacted"):
                entry.status, entry.institution_id = "new", None
            entry.updated_at = utcnow()
    return assignment
