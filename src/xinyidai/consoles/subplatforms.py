"""Sub-platforms (子平台): district and thematic portals with their own address, theme, featured items
and statistics limited to their scope.

The operator creates, edits and disables them; a department owns each one and its staff see its
statistics — figures about the enterprises in its scope only, never a name or a person. The scope is
a region (every division under a GB/T 2260 code, by ``core.codes.region_prefix``), industry divisions,
product types and an optional boolean expression over the indicators (``exports_12m > 0`` for a
foreign-trade sub-platform), all of which an enterprise must satisfy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import Organisation
from xinyidai.consoles.statistics import FactStore, Filters
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
from xinyidai.market.models import Product
from xinyidai.market.schemas import PRODUCT_TYPES
from xinyidai.policies.models import Policy

KINDS: dict[str, str] = {"district": N_("District sub-platform"), "theme": N_("Thematic sub-platform")}
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# Addresses that would read as pages of the platform itself.
RESERVED_SLUGS = frozenset({"admin", "api", "login", "register", "static", "operator", "government", "new"})
COOKIE = "xyd_subplatform"  # the sub-platform an enterprise came in through (its slug)


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


def _runs(principal: Principal, sp: Subplatform) -> bool:
    """Whether ``principal`` may see the sub-platform's staff side: the operator, or its department."""
    return sees_all_organisations(principal) or sp.owner_id == principal.organisation_id


def get_subplatform(session: Session, principal: Principal, subplatform_id: int) -> Subplatform:
    """One sub-platform for the operator or its owning department; anyone else gets 404."""
    sp = session.get(Subplatform, subplatform_id)
    if sp is None or not _runs(principal, sp):
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
    if sp is None or not _runs(principal, sp):
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
#
# A sub-platform's figures are the government console's pre-aggregated cells (``consoles.statistics``)
# narrowed to its scope: the region, industry divisions and product types are filters on the city's cells;
# an expression cannot be, so each refresh evaluates it on the newest indicator snapshot and aggregates
# the member enterprises' events into cells of their own (``statistics_refresh``). Either way a page reads
# a few thousand cells, whatever the size of the city.


def enabled(session: Session) -> Sequence[Subplatform]:
    """The enabled sub-platforms, for the refresh."""
    return session.scalars(
        select(Subplatform).where(Subplatform.enabled.is_(True)).order_by(Subplatform.id)
    ).all()


def scope_fingerprint(sp: Subplatform) -> str:
    """What decides which registered firms are in scope (region, divisions, expression), as one digest: a
    set's firm count is for the scope as it is now when the digests agree."""
    parts = [sp.region_code, sorted(sp.industry_divisions), sp.scope_expression]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]


def _registry_scope(sp: Subplatform) -> Select[Any]:
    stmt = select(RegistryEnterprise.uscc)
    if sp.region_code:
        stmt = stmt.where(RegistryEnterprise.region_code.startswith(region_prefix(sp.region_code)))
    if sp.industry_divisions:
        stmt = stmt.where(RegistryEnterprise.industry_division.in_(list(sp.industry_divisions)))
    return stmt


def expression_members(sp: Subplatform, snapshot: pa.Table) -> list[str]:
    """The credit codes in ``snapshot`` (``uscc`` and at least the indicators the expression uses) that
    satisfy the scope's expression."""
    compiled = _compile_scope(sp.scope_expression)
    table = snapshot.select(["uscc", *sorted(compiled.fields)])
    return [str(u) for u in table.filter(compiled.matches_batch(table)).column("uscc").to_pylist()]


def rule_snapshot(sps: Sequence[Subplatform], lake: Any) -> tuple[pa.Table | None, date | None]:
    """The newest indicator snapshot, read once with the columns every scope rule among ``sps`` uses, and
    its date; (None, None) when no scope has a rule or there is no snapshot yet."""
    fields = {f for sp in sps if sp.scope_expression for f in _compile_scope(sp.scope_expression).fields}
    if not fields:
        return None, None
    from xinyidai.indicators.compute import read_snapshot, snapshot_dates

    dates = snapshot_dates(lake)
    if not dates:
        return None, None
    return read_snapshot(lake, dates[-1], columns=["uscc", *sorted(fields)]), dates[-1]


def registry_count(session: Session, sp: Subplatform, matched: Sequence[str] | None) -> int:
    """The registered enterprises in scope: in its region and divisions and, when ``matched`` is given
    (the expression's members), among those."""
    registry = _registry_scope(sp)
    if matched is None:
        return int(session.scalar(select(func.count()).select_from(registry.subquery())) or 0)
    found = 0
    for start in range(0, len(matched), 5000):  # bound parameters stay under every backend's limit
        chunk = list(matched[start : start + 5000])
        stmt = registry.where(RegistryEnterprise.uscc.in_(chunk))
        found += int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    return found


@dataclass(frozen=True)
class ScopedView:
    """How a published set covers a sub-platform.

    ``filters`` narrow a console view to the scope (None when the set cannot show it: the scope has an
    expression the set was not computed for — a new sub-platform or a changed rule — so nothing outside
    the scope is ever counted); ``enterprises`` is the registered firms in scope when the set's count is for
    the scope as it is now, else None; ``indicators_as_of`` the snapshot the expression was evaluated on.
    """

    filters: Filters | None
    enterprises: int | None
    indicators_as_of: date | None
    pending: bool  # the scope changed after the set: the next refresh brings it up to date


def scoped_view(
    session: Session, principal: Principal, sp: Subplatform, store: FactStore, filters: Filters
) -> ScopedView:
    """A console view's filters narrowed to the sub-platform's scope, for the operator or the staff of its
    owning department (else 404).

    Needs, policy applications and whitelist entries count for an enterprise in scope; grabs, offers,
    applications and loans also need a product of the sub-platform's product types (any when none is set).
    """
    require(principal, Permission.SUBPLATFORM_STATISTICS)
    if not _runs(principal, sp):
        raise NotFound()
    record = store.scopes.get(sp.id)
    current = record is not None and record.fingerprint == scope_fingerprint(sp)
    enterprises = record.enterprises if record is not None and current else None
    indicators_as_of = record.indicators_as_of if record is not None else None
    if sp.scope_expression and (record is None or record.expression != sp.scope_expression):
        return ScopedView(None, None, None, pending=True)
    products: tuple[int, ...] | None = None
    if sp.product_types:
        products = tuple(
            session.scalars(select(Product.id).where(Product.product_type.in_(list(sp.product_types)))).all()
        )
    narrowed = replace(
        filters,
        scope_regions=(sp.region_code,) if sp.region_code else (),
        scope_industries=tuple(sp.industry_divisions),
        scope_products=products,
        scope_id=sp.id if sp.scope_expression else None,
    )
    return ScopedView(narrowed, enterprises, indicators_as_of, pending=not current)


def colour_css(sp: Subplatform) -> str:
    """The sub-platform's stylesheet: its colour as the page's primary colour (validated ``#rrggbb``)."""
    colour = sp.colour if COLOUR_RE.match(sp.colour) else "#1f5fbf"
    return (
        f":root {{ --blue: {colour}; --blue-dark: {colour}; --theme: {colour}; }}\n"
        f".subplatform-hero {{ border-top: 6px solid {colour}; }}\n"
    )
