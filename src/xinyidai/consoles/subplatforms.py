"""Sub-platforms (子平台): district and thematic portals with their own address, theme, featured items
and statistics limited to their scope.

The operator creates, edits and disables them; a department owns each one and its staff see its
statistics — figures about the enterprises in its scope only, never a name or a person. The scope is
a region (every division under a GB/T 2260 code, by ``core.codes.region_prefix``), industry divisions,
product types and an optional boolean expression over the indicators (``exports_12m > 0`` for a
foreign-trade sub-platform), all of which an enterprise must satisfy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.consoles.subplatform_models import Subplatform, SubplatformFeature
from xinyidai.core.access import OrgKind, Permission, Principal, require, sees_all_organisations
from xinyidai.core.audit import record_event
from xinyidai.core.clock import utcnow
from xinyidai.core.codes import UnknownCode, industry_division, is_known_region, region_name, region_prefix
from xinyidai.core.errors import NotFound, ValidationFailed
from xinyidai.core.expressions import CompiledExpression, ExpressionError, compile_expression
from xinyidai.core.i18n import N_
from xinyidai.data.models import RegistryEnterprise
from xinyidai.indicators import service as indicators
from xinyidai.market.models import Application, Loan, Need, Order, Product
from xinyidai.market.schemas import PRODUCT_TYPES
from xinyidai.policies.models import Policy

KINDS: dict[str, str] = {"district": N_("District sub-platform"), "theme": N_("Thematic sub-platform")}
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# Addresses that would read as pages of the platform itself.
RESERVED_SLUGS = frozenset({"admin", "api", "login", "register", "static", "operator", "government", "new"})
COOKIE = "xyd_subplatform"  # the sub-platform an enterprise came in through (its slug)
APPROVED = ("approved", "disbursed")


@dataclass(frozen=True)
class SubplatformInput:
    """What the operator fills in for a sub-platform (strings as typed; checked by ``validate``)."""

    slug: str
    name: str
    kind: str
    owner_id: int | None
    colour: str
    tagline: str = ""
    banner: str = ""
    region_code: str = ""
    industry_divisions: Sequence[str] = ()
    product_types: Sequence[str] = ()
    scope_expression: str = ""


@dataclass(frozen=True)
class Checked:
    """A validated input, normalised (lower-case slug and colour, trimmed texts, sorted codes)."""

    slug: str
    name: str
    kind: str
    owner_id: int
    colour: str
    tagline: str
    banner: str
    region_code: str
    industry_divisions: list[str]
    product_types: list[str]
    scope_expression: str


def _compile_scope(text: str) -> CompiledExpression:
    try:
        return compile_expression(text, indicators.field_catalogue(), result_type="boolean")
    except ExpressionError as error:
        error.field = "scope_expression"
        raise


def validate(session: Session, data: SubplatformInput, *, subplatform_id: int | None = None) -> Checked:
    """Check every field; the first problem is raised as a ``ValidationFailed`` naming its field.

    Raises:
        ValidationFailed: a bad or taken address, an empty name, a colour that is not ``#rrggbb``, an
            unknown region or industry, an unknown product type, a scope expression that does not
            compile (with the character where it goes wrong), or an owner that is not a department.
    """
    slug = data.slug.strip().lower()
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise ValidationFailed(
            "The address may contain only lowercase letters, digits and hyphens (2 to 40 characters, "
            "not starting or ending with a hyphen)",
            field="slug",
        )
    taken = session.scalars(select(Subplatform.id).where(Subplatform.slug == slug)).first()
    if taken is not None and taken != subplatform_id:
        raise ValidationFailed("The address /s/%(slug)s is already taken", field="slug", slug=slug)
    name = data.name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Enter a name of at most 100 characters", field="name")
    if data.kind not in KINDS:
        raise ValidationFailed("Choose a district or a thematic sub-platform", field="kind")
    colour = data.colour.strip()
    if not COLOUR_RE.match(colour):
        raise ValidationFailed(
            "The colour must be written as # and six hexadecimal digits, e.g. #1f5fbf", field="colour"
        )
    tagline, banner = data.tagline.strip(), data.banner.strip()
    if len(tagline) > 200:
        raise ValidationFailed("The tagline may have at most 200 characters", field="tagline")
    if len(banner) > 500:
        raise ValidationFailed("The banner may have at most 500 characters", field="banner")
    region_code = data.region_code.strip()
    if data.kind == "district" and not region_code:
        raise ValidationFailed("A district sub-platform needs its region", field="region_code")
    if region_code and not is_known_region(region_code):
        raise ValidationFailed(
            "%(code)s is not a known administrative division code.", field="region_code", code=region_code
        )
    divisions: set[str] = set()
    for code in data.industry_divisions:
        if not code.strip():
            continue
        try:
            divisions.add(industry_division(code.strip()).code)
        except UnknownCode as error:
            raise ValidationFailed(error.message, field="industry_divisions", **error.params) from None
    types = {t.strip() for t in data.product_types if t.strip()}
    unknown = sorted(types - set(PRODUCT_TYPES))
    if unknown:
        raise ValidationFailed("%(type)s is not a product type", field="product_types", type=unknown[0])
    expression = data.scope_expression.strip()
    if expression:
        _compile_scope(expression)
    owner = session.get(Organisation, data.owner_id) if data.owner_id else None
    if owner is None or owner.kind != OrgKind.DEPARTMENT.value or owner.status != "active":
        raise ValidationFailed("Choose the department that runs the sub-platform", field="owner_id")
    return Checked(
        slug=slug,
        name=name,
        kind=data.kind,
        owner_id=owner.id,
        colour=colour.lower(),
        tagline=tagline,
        banner=banner,
        region_code=region_code,
        industry_divisions=sorted(divisions),
        product_types=sorted(types),
        scope_expression=expression,
    )


def _audit(session: Session, principal: Principal, event: str, sp: Subplatform, **detail: Any) -> None:
    record_event(
        session,
        event,
        actor_user_id=principal.user_id,
        actor_username=principal.username,
        actor_organisation_id=principal.organisation_id,
        object_type="subplatform",
        object_id=sp.id,
        detail={"slug": sp.slug, **detail},
    )


def _apply(sp: Subplatform, checked: Checked) -> None:
    sp.slug = checked.slug
    sp.name = checked.name
    sp.kind = checked.kind
    sp.owner_id = checked.owner_id
    sp.colour = checked.colour
    sp.tagline = checked.tagline
    sp.banner = checked.banner
    sp.region_code = checked.region_code
    sp.industry_divisions = checked.industry_divisions
    sp.product_types = checked.product_types
    sp.scope_expression = checked.scope_expression


def create_subplatform(session: Session, principal: Principal, data: SubplatformInput) -> Subplatform:
    """The operator opens a sub-platform (enabled at once); nothing is written if any field is wrong."""
    require(principal, Permission.SUBPLATFORMS_MANAGE)
    checked = validate(session, data)
    sp = Subplatform(created_by=principal.username, enabled=True)
    _apply(sp, checked)
    session.add(sp)
    session.flush()
    _audit(session, principal, "subplatform.create", sp)
    return sp


def update_subplatform(
    session: Session, principal: Principal, subplatform_id: int, data: SubplatformInput
) -> Subplatform:
    """The operator changes a sub-platform's address, name, theme, scope or owner."""
    require(principal, Permission.SUBPLATFORMS_MANAGE)
    sp = get_subplatform(session, principal, subplatform_id)
    checked = validate(session, data, subplatform_id=sp.id)
    _apply(sp, checked)
    sp.updated_at = utcnow()
    session.flush()
    _audit(session, principal, "subplatform.update", sp)
    return sp


def set_enabled(session: Session, principal: Principal, subplatform_id: int, enabled: bool) -> Subplatform:
    """Enable or disable a sub-platform; a disabled one's address answers 404 and its cookie is ignored."""
    require(principal, Permission.SUBPLATFORMS_MANAGE)
    sp = get_subplatform(session, principal, subplatform_id)
    sp.enabled = enabled
    sp.updated_at = utcnow()
    session.flush()
    _audit(session, principal, "subplatform.enable" if enabled else "subplatform.disable", sp)
    return sp


def set_features(
    session: Session,
    principal: Principal,
    subplatform_id: int,
    product_ids: Sequence[int],
    policy_ids: Sequence[int],
) -> Subplatform:
    """Replace the featured products (listed ones only) and policies (published ones only), in order.

    Raises:
        ValidationFailed: a product that is not listed or a policy that is not published; nothing changes.
    """
    require(principal, Permission.SUBPLATFORMS_MANAGE)
    sp = get_subplatform(session, principal, subplatform_id)
    products = list(dict.fromkeys(product_ids))
    policies = list(dict.fromkeys(policy_ids))
    for product_id in products:
        product = session.get(Product, product_id)
        if product is None:
            raise ValidationFailed("There is no product %(id)s", field="products", id=product_id)
        if product.status != "listed":
            raise ValidationFailed(
                "The product %(name)s is not listed and cannot be featured",
                field="products",
                name=product.name,
            )
    for policy_id in policies:
        policy = session.get(Policy, policy_id)
        if policy is None:
            raise ValidationFailed("There is no policy %(id)s", field="policies", id=policy_id)
        if policy.status != "published":
            raise ValidationFailed(
                "The policy %(title)s is not published and cannot be featured",
                field="policies",
                title=policy.title,
            )
    sp.features.clear()
    session.flush()
    for position, product_id in enumerate(products):
        sp.features.append(SubplatformFeature(product_id=product_id, position=position))
    for position, policy_id in enumerate(policies):
        sp.features.append(SubplatformFeature(policy_id=policy_id, position=position))
    sp.updated_at = utcnow()
    session.flush()
    _audit(session, principal, "subplatform.features", sp, products=products, policies=policies)
    return sp


def list_subplatforms(session: Session, principal: Principal) -> Sequence[Subplatform]:
    """The operator's: every sub-platform; a department's: the ones it owns."""
    require(principal, Permission.SUBPLATFORM_STATISTICS)
    stmt = select(Subplatform).order_by(Subplatform.id)
    if not sees_all_organisations(principal):
        stmt = stmt.where(Subplatform.owner_id == principal.organisation_id)
    return session.scalars(stmt).all()


def get_subplatform(session: Session, principal: Principal, subplatform_id: int) -> Subplatform:
    """One sub-platform for the operator or its owning department; anyone else gets 404."""
    sp = session.get(Subplatform, subplatform_id)
    if sp is None or (not sees_all_organisations(principal) and sp.owner_id != principal.organisation_id):
        raise NotFound()
    return sp


def by_slug(session: Session, slug: str) -> Subplatform:
    """An enabled sub-platform by its address, for anyone; a disabled or unknown one answers 404."""
    sp = session.scalars(select(Subplatform).where(Subplatform.slug == slug.lower())).first()
    if sp is None or not sp.enabled:
        raise NotFound("There is no sub-platform at this address")
    return sp


def entered_through(session: Session, slug: str | None) -> Subplatform | None:
    """The enabled sub-platform an enterprise came in through (the remembered slug), or None."""
    if not slug or not SLUG_RE.match(slug):
        return None
    try:
        return by_slug(session, slug)
    except NotFound:
        return None


def for_staff(session: Session, principal: Principal, slug: str) -> Subplatform:
    """A sub-platform by address for its statistics: the operator or the owning department only (404)."""
    require(principal, Permission.SUBPLATFORM_STATISTICS)
    sp = session.scalars(select(Subplatform).where(Subplatform.slug == slug.lower())).first()
    if sp is None or (not sees_all_organisations(principal) and sp.owner_id != principal.organisation_id):
        raise NotFound()
    return sp


def featured_products(session: Session, sp: Subplatform) -> list[Product]:
    """The featured products still listed, in the chosen order (a delisted one drops out by itself)."""
    ids = [f.product_id for f in sp.features if f.product_id is not None]
    if not ids:
        return []
    found = {
        p.id: p
        for p in session.scalars(select(Product).where(Product.id.in_(ids), Product.status == "listed"))
    }
    return [found[i] for i in ids if i in found]


def featured_policies(session: Session, sp: Subplatform) -> list[Policy]:
    """The featured policies still published, in the chosen order."""
    ids = [f.policy_id for f in sp.features if f.policy_id is not None]
    if not ids:
        return []
    found = {
        p.id: p
        for p in session.scalars(select(Policy).where(Policy.id.in_(ids), Policy.status == "published"))
    }
    return [found[i] for i in ids if i in found]


def candidate_products(session: Session) -> Sequence[Product]:
    """Products that may be featured: the listed ones."""
    return session.scalars(select(Product).where(Product.status == "listed").order_by(Product.name)).all()


def candidate_policies(session: Session) -> Sequence[Policy]:
    """Policies that may be featured: the published ones."""
    return session.scalars(select(Policy).where(Policy.status == "published").order_by(Policy.title)).all()


def departments(session: Session) -> Sequence[Organisation]:
    """The departments that may own a sub-platform."""
    return session.scalars(
        select(Organisation)
        .where(Organisation.kind == OrgKind.DEPARTMENT.value, Organisation.status == "active")
        .order_by(Organisation.name)
    ).all()


def scope_description(sp: Subplatform) -> dict[str, Any]:
    """The scope in words' parts, for pages: region name, industry divisions, product types, expression."""
    return {
        "region": region_name(sp.region_code) if sp.region_code and is_known_region(sp.region_code) else "",
        "divisions": [industry_division(code) for code in sp.industry_divisions],
        "product_types": list(sp.product_types),
        "expression": sp.scope_expression,
    }


# --- scoped statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopedStatistics:
    """Market figures of the enterprises in a sub-platform's scope (amounts in 元, shares 0–1).

    No enterprise or person is named. ``indicators_as_of`` is the indicator snapshot the scope
    expression was evaluated on; ``unresolved`` is True when the scope has an expression but there is
    no snapshot yet, in which case every figure is zero (nothing outside the scope is ever counted).
    """

    enterprises: int = 0
    needs: int = 0
    need_amount: Decimal = Decimal(0)
    grabs: int = 0
    offers: int = 0
    applications: int = 0
    approvals: int = 0
    approved_amount: Decimal = Decimal(0)
    loans: int = 0
    loan_amount: Decimal = Decimal(0)
    pure_credit_loans: int = 0
    pure_credit_amount: Decimal = Decimal(0)
    by_product_type: list[tuple[str, int, Decimal]] = field(default_factory=list)
    computed_at: datetime | None = None
    indicators_as_of: date | None = None
    unresolved: bool = False

    @property
    def approval_rate(self) -> float | None:
        return self.approvals / self.applications if self.applications else None

    @property
    def pure_credit_share(self) -> float | None:
        """The share of loan amount lent without collateral or guarantee."""
        return float(self.pure_credit_amount / self.loan_amount) if self.loan_amount else None


def _registry_scope(sp: Subplatform) -> Select[Any]:
    stmt = select(RegistryEnterprise.uscc)
    if sp.region_code:
        stmt = stmt.where(RegistryEnterprise.region_code.startswith(region_prefix(sp.region_code)))
    if sp.industry_divisions:
        stmt = stmt.where(RegistryEnterprise.industry_division.in_(list(sp.industry_divisions)))
    return stmt


def scope_usccs(
    session: Session, sp: Subplatform, snapshot: pa.Table | None
) -> Select[Any] | list[str] | None:
    """The enterprises in scope: a query of their credit codes, or the list of them when the scope has an
    expression (evaluated on ``snapshot``, a table with ``uscc`` and the indicators it uses); None when
    there is an expression and no snapshot."""
    registry = _registry_scope(sp)
    if not sp.scope_expression:
        return registry
    if snapshot is None:
        return None
    compiled = _compile_scope(sp.scope_expression)
    table = snapshot.select(["uscc", *sorted(compiled.fields)])
    matched = table.filter(compiled.matches_batch(table)).column("uscc").to_pylist()
    if not matched:
        return []
    in_registry: set[str] = set()
    for start in range(0, len(matched), 5000):  # bound parameters stay under every backend's limit
        chunk = matched[start : start + 5000]
        in_registry.update(session.scalars(registry.where(RegistryEnterprise.uscc.in_(chunk))))
    return sorted(in_registry)


def load_scope_snapshot(sp: Subplatform, lake: Any) -> tuple[pa.Table | None, date | None]:
    """The newest indicator snapshot's columns the scope expression needs (None without an expression
    or a snapshot), and its date."""
    if not sp.scope_expression:
        return None, None
    from xinyidai.indicators.compute import read_snapshot, snapshot_dates

    compiled = _compile_scope(sp.scope_expression)
    dates = snapshot_dates(lake)
    if not dates:
        return None, None
    return read_snapshot(lake, columns=["uscc", *sorted(compiled.fields)]), dates[-1]


def _count(session: Session, stmt: Select[Any]) -> int:
    return int(session.scalar(stmt) or 0)


def _money(session: Session, stmt: Select[Any]) -> Decimal:
    value = session.scalar(stmt)
    return Decimal(value or 0).quantize(Decimal("0.01"))


def scoped_statistics(
    session: Session,
    principal: Principal,
    sp: Subplatform,
    *,
    snapshot: pa.Table | None = None,
    snapshot_as_of: date | None = None,
) -> ScopedStatistics:
    """The sub-platform's figures, for the operator or the staff of its owning department (else 404).

    Needs, grabs and offers count every need of an enterprise in scope; applications, approvals and
    loans count those of an enterprise in scope on a product of the sub-platform's product types (any
    type when none is set). Computed live from the marketplace tables.
    """
    require(principal, Permission.SUBPLATFORM_STATISTICS)
    if not sees_all_organisations(principal) and sp.owner_id != principal.organisation_id:
        raise NotFound()
    now = utcnow()
    usccs = scope_usccs(session, sp, snapshot)
    if usccs is None:
        return ScopedStatistics(computed_at=now, unresolved=True)
    if isinstance(usccs, list) and not usccs:
        return ScopedStatistics(computed_at=now, indicators_as_of=snapshot_as_of)
    scope: Any = usccs if isinstance(usccs, list) else usccs.scalar_subquery()
    if isinstance(usccs, list):
        enterprises = len(usccs)
    else:
        enterprises = _count(session, select(func.count()).select_from(usccs.subquery()))

    def in_scope(column: Any) -> Any:
        return column.in_(scope) if isinstance(usccs, list) else column.in_(usccs)

    needs = select(Need.id).where(in_scope(Need.uscc))
    need_count = _count(session, select(func.count(Need.id)).where(in_scope(Need.uscc)))
    need_amount = _money(session, select(func.sum(Need.amount)).where(in_scope(Need.uscc)))
    grabs = _count(session, select(func.count(Order.id)).where(Order.need_id.in_(needs)))
    offers = _count(
        session, select(func.count(Order.id)).where(Order.need_id.in_(needs), Order.offered_at.is_not(None))
    )
    typed_products = select(Product.id).where(Product.product_type.in_(list(sp.product_types)))
    app_filter = [in_scope(Application.uscc)]
    loan_filter = [in_scope(Loan.uscc)]
    if sp.product_types:
        app_filter.append(Application.product_id.in_(typed_products))
        loan_filter.append(Loan.product_id.in_(typed_products))
    applications = _count(session, select(func.count(Application.id)).where(*app_filter))
    approvals = _count(
        session, select(func.count(Application.id)).where(*app_filter, Application.status.in_(APPROVED))
    )
    approved_amount = _money(
        session,
        select(func.sum(Application.approved_amount)).where(*app_filter, Application.status.in_(APPROVED)),
    )
    loans = _count(session, select(func.count(Loan.id)).where(*loan_filter))
    loan_amount = _money(session, select(func.sum(Loan.amount)).where(*loan_filter))
    pure_loans = _count(session, select(func.count(Loan.id)).where(*loan_filter, Loan.pure_credit.is_(True)))
    pure_amount = _money(
        session, select(func.sum(Loan.amount)).where(*loan_filter, Loan.pure_credit.is_(True))
    )
    by_type = [
        (str(kind), int(count), Decimal(amount or 0).quantize(Decimal("0.01")))
        for kind, count, amount in session.execute(
            select(Product.product_type, func.count(Loan.id), func.sum(Loan.amount))
            .join(Product, Product.id == Loan.product_id)
            .where(*loan_filter)
            .group_by(Product.product_type)
            .order_by(Product.product_type)
        )
    ]
    return ScopedStatistics(
        enterprises=enterprises,
        needs=need_count,
        need_amount=need_amount,
        grabs=grabs,
        offers=offers,
        applications=applications,
        approvals=approvals,
        approved_amount=approved_amount,
        loans=loans,
        loan_amount=loan_amount,
        pure_credit_loans=pure_loans,
        pure_credit_amount=pure_amount,
        by_product_type=by_type,
        computed_at=now,
        indicators_as_of=snapshot_as_of,
    )


def colour_css(sp: Subplatform) -> str:
    """The sub-platform's stylesheet: its colour as the page's primary colour (validated ``#rrggbb``)."""
    colour = sp.colour if COLOUR_RE.match(sp.colour) else "#1f5fbf"
    return (
        f":root {{ --blue: {colour}; --blue-dark: {colour}; --theme: {colour}; }}\n"
        f".subplatform-hero {{ border-top: 6px solid {colour}; }}\n"
    )
