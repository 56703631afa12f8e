"""Access in one place: who may do what, and the scoping of every tenant query.

Every route declares one ``Permission``; ``can`` answers from ``ROLE_PERMISSIONS`` alone. Every list
query on tenant data goes through ``scope_to_organisation`` so that a bank never sees another bank's
rows; an object of another tenant answers 404, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select

from xinyidai.core.errors import AuthenticationRequired, NotFound, PermissionDenied


class OrgKind(StrEnum):
    """The four kinds of organisation on the platform."""

    ENTERPRISE = "enterprise"
    INSTITUTION = "institution"
    DEPARTMENT = "department"
    OPERATOR = "operator"


class Role(StrEnum):
    """A user's roles; each belongs to exactly one organisation kind."""

    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_STAFF = "enterprise_staff"
    INSTITUTION_ADMIN = "institution_admin"
    ACCOUNT_MANAGER = "account_manager"
    RISK_OFFICER = "risk_officer"
    DEPARTMENT_ADMIN = "department_admin"
    DEPARTMENT_STAFF = "department_staff"
    FUND_MANAGER = "fund_manager"
    OPERATOR_ADMIN = "operator_admin"
    DATA_ADMIN = "data_admin"
    AUDITOR = "auditor"


ROLE_ORG_KIND: dict[Role, OrgKind] = {
    Role.ENTERPRISE_ADMIN: OrgKind.ENTERPRISE,
    Role.ENTERPRISE_STAFF: OrgKind.ENTERPRISE,
    Role.INSTITUTION_ADMIN: OrgKind.INSTITUTION,
    Role.ACCOUNT_MANAGER: OrgKind.INSTITUTION,
    Role.RISK_OFFICER: OrgKind.INSTITUTION,
    Role.DEPARTMENT_ADMIN: OrgKind.DEPARTMENT,
    Role.DEPARTMENT_STAFF: OrgKind.DEPARTMENT,
    Role.FUND_MANAGER: OrgKind.DEPARTMENT,
    Role.OPERATOR_ADMIN: OrgKind.OPERATOR,
    Role.DATA_ADMIN: OrgKind.OPERATOR,
    Role.AUDITOR: OrgKind.OPERATOR,
}

# The admin of each organisation kind: manages that organisation's staff.
ORG_ADMIN_ROLE: dict[OrgKind, Role] = {
    OrgKind.ENTERPRISE: Role.ENTERPRISE_ADMIN,
    OrgKind.INSTITUTION: Role.INSTITUTION_ADMIN,
    OrgKind.DEPARTMENT: Role.DEPARTMENT_ADMIN,
    OrgKind.OPERATOR: Role.OPERATOR_ADMIN,
}

# MLPS level 3 asks two factors (one cryptographic) of administrators: password + TOTP.
# The auditor and data admin are operator administrators too (三权分立: system, security, audit).
MFA_ROLES: frozenset[Role] = frozenset(
    {Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR, Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}
)


class Permission(StrEnum):
    """Everything a route can require. Add one here when a route needs a new kind of access."""

    AUTHENTICATED = "authenticated"  # any logged-in user: own home, own password, logout
    ENTERPRISE_HOME = "enterprise.home"
    INSTITUTION_HOME = "institution.home"
    GOVERNMENT_HOME = "government.home"
    OPERATOR_HOME = "operator.home"
    ORG_STAFF_READ = "org.staff.read"  # list one's own organisation's users
    ORG_STAFF_MANAGE = "org.staff.manage"  # invite, disable, reset staff of one's own organisation
    API_CLIENTS_MANAGE = "org.api_clients.manage"  # machine access for an organisation's own systems
    ORGANISATIONS_READ = "platform.organisations.read"
    ORGANISATIONS_MANAGE = "platform.organisations.manage"  # onboard institutions and departments
    REGISTRY_READ = "platform.registry.read"
    AUDIT_READ = "platform.audit.read"
    DATA_READ = "data.read"  # the source catalogue, lake statistics, batches (operator staff)
    QUARANTINE_READ = "data.quarantine.read"  # rejected rows with their raw values (masked)
    DATA_PUSH = "data.push"  # a department's own system pushes rows of a source
    QUALITY_RUN = "data.quality.run"  # start a data-quality run now (it also runs daily)
    MODELS_READ = "rating.models.read"  # rating model versions, their configuration and evidence, runs
    MODELS_MANAGE = "rating.models.manage"  # back-test, activate, edit and train model versions; thresholds
    REPORT_READ = "rating.reports.read"  # another enterprise's full credit report (consent checked in market)
    PRODUCTS_BROWSE = "market.products.browse"  # listed products (the financial supermarket)
    PRODUCTS_MANAGE = "market.products.manage"  # an institution's own products: draft, submit, delist, import
    PRODUCTS_REVIEW = "market.products.review"  # the operator lists or sends back submitted products
    ENTERPRISE_FINANCE = "market.enterprise"  # an enterprise's needs, offers, applications, loans, who looked
    CONSENT_SIGN = "market.consents.sign"  # give or revoke an authorisation to see the full report
    INSTITUTION_WORKBENCH = "market.institution"  # the need pool, own orders, applications, loans, consents
    ORDERS_WORK = "market.orders.work"  # grab needs, make offers, accept applications, disburse, report loans
    CREDIT_DECIDE = "market.credit.decide"  # approve or reject an application
    WHITELISTS_MANAGE = "market.whitelists.manage"  # a department's whitelists
    DISPATCH = "market.dispatch"  # dispatch needs and whitelisted firms to institutions
    MARKET_STATISTICS = "market.statistics"  # institution ranking and market figures
    POLICIES_MANAGE = "policies.manage"  # a department's policies, their applications, publicity, effects
    POLICY_APPLY = "policies.apply"  # an enterprise applies for policies and to government investment funds
    INVESTMENT_FUNDS_MANAGE = "policies.investment_funds"  # a fund manager's funds, applications, investments
    FUNDS_READ = "funds.read"  # risk-sharing funds, their schemes, covered loans, claims and ledger
    FUNDS_MANAGE = "funds.manage"  # set up funds, record contributions, review claims
    CLAIMS_FILE = "funds.claims.file"  # an institution files claims and reports recoveries on covered loans
    SUBSIDIES_MANAGE = "funds.subsidies.manage"  # interest-subsidy policies, computed lists, pay-outs
    FUNDS_SIMULATE = "funds.simulate"  # Monte Carlo simulation of a fund's payouts over a loan book
    EVIDENCE_RECEIPT = "evidence.receipt"  # receipts of evidence-log entries one is a party to
    WEBHOOKS_MANAGE = "org.webhooks.manage"  # an organisation's webhook endpoints and their delivery log
    DELIVERIES_OPERATE = "platform.deliveries"  # every SMS and webhook delivery, the SMS outbox, retries
    OBJECTIONS_RAISE = "rating.objections.raise"  # an enterprise objects to data in its own credit report
    OBJECTIONS_ANSWER = "rating.objections.answer"  # the supplying department (or the operator) answers
    OBJECTIONS_READ_ALL = "rating.objections.read_all"  # every objection, overdue ones highlighted
    QUERY_RECORDS_READ = "market.report_queries.read"  # search and export every record of a report query
    RETENTION_READ = "platform.retention.read"  # what is kept, for how long, and what expires when
    MONITORING_READ = "monitoring.read"  # the risk board, alerts and rule sets of one's own organisation
    MONITORING_MANAGE = "monitoring.manage"  # edit, backtest and switch rule sets; acknowledge and resolve
    SUBPLATFORMS_MANAGE = "consoles.subplatforms.manage"  # create, edit, feature and disable sub-platforms
    SUBPLATFORM_STATISTICS = "consoles.subplatforms.statistics"  # a sub-platform's scoped figures (owner)
    STATISTICS_READ = "consoles.statistics.read"  # the government console: financing statistics, exports
    CONSOLES_REFRESH = "consoles.statistics.refresh"  # recompute the console statistics now (also nightly)
    OPERATIONS_SCREEN = "platform.operations_screen"  # the one-screen monitoring (一屏统管) and its JSON


ALL_ROLES: frozenset[Role] = frozenset(Role)

_ORG_ADMINS = frozenset(ORG_ADMIN_ROLE.values())

ROLE_PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.AUTHENTICATED: ALL_ROLES,
    Permission.ENTERPRISE_HOME: frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF}),
    Permission.INSTITUTION_HOME: frozenset({Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER, Role.RISK_OFFICER}),
    Permission.GOVERNMENT_HOME: frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.FUND_MANAGER}),
    Permission.OPERATOR_HOME: frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR}),
    Permission.ORG_STAFF_READ: _ORG_ADMINS | {Role.AUDITOR},
    Permission.ORG_STAFF_MANAGE: _ORG_ADMINS,
    Permission.API_CLIENTS_MANAGE: frozenset({Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}),
    Permission.ORGANISATIONS_READ: frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR}),
    Permission.ORGANISATIONS_MANAGE: frozenset({Role.OPERATOR_ADMIN}),
    Permission.REGISTRY_READ: frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN}),
    # Separation of duties: only the auditor reads the security audit trail; nobody can change it.
    Permission.AUDIT_READ: frozenset({Role.AUDITOR}),
    Permission.DATA_READ: frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR}),
    Permission.QUARANTINE_READ: frozenset({Role.DATA_ADMIN}),
    Permission.DATA_PUSH: frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    Permission.QUALITY_RUN: frozenset({Role.DATA_ADMIN}),
    Permission.MODELS_READ: frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR}),
    Permission.MODELS_MANAGE: frozenset({Role.OPERATOR_ADMIN}),
    Permission.REPORT_READ: frozenset(
        {
            Role.INSTITUTION_ADMIN,
            Role.ACCOUNT_MANAGER,
            Role.RISK_OFFICER,
            Role.OPERATOR_ADMIN,
            Role.DATA_ADMIN,
            Role.AUDITOR,
        }
    ),
    Permission.PRODUCTS_BROWSE: ALL_ROLES,
    Permission.PRODUCTS_MANAGE: frozenset({Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER}),
    Permission.PRODUCTS_REVIEW: frozenset({Role.OPERATOR_ADMIN}),
    Permission.ENTERPRISE_FINANCE: frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF}),
    # Authorising a look at the enterprise's data is a legal act of the enterprise: its admin signs.
    Permission.CONSENT_SIGN: frozenset({Role.ENTERPRISE_ADMIN}),
    Permission.INSTITUTION_WORKBENCH: frozenset(
        {Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER, Role.RISK_OFFICER}
    ),
    Permission.ORDERS_WORK: frozenset({Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER}),
    # Separation of duties: the account manager brings the business in, the risk officer decides.
    Permission.CREDIT_DECIDE: frozenset({Role.INSTITUTION_ADMIN, Role.RISK_OFFICER}),
    Permission.WHITELISTS_MANAGE: frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    Permission.DISPATCH: frozenset({Role.OPERATOR_ADMIN, Role.DEPARTMENT_ADMIN}),
    Permission.MARKET_STATISTICS: frozenset(
        {Role.OPERATOR_ADMIN, Role.AUDITOR, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.FUND_MANAGER}
    ),
    Permission.POLICIES_MANAGE: frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    Permission.POLICY_APPLY: frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF}),
    Permission.INVESTMENT_FUNDS_MANAGE: frozenset({Role.FUND_MANAGER}),
    # Public money: the fund manager runs the funds; the auditor reads the books (separation of duties).
    Permission.FUNDS_READ: frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    Permission.FUNDS_MANAGE: frozenset({Role.FUND_MANAGER}),
    Permission.CLAIMS_FILE: frozenset({Role.INSTITUTION_ADMIN, Role.RISK_OFFICER}),
    Permission.SUBSIDIES_MANAGE: frozenset({Role.FUND_MANAGER, Role.DEPARTMENT_ADMIN}),
    Permission.FUNDS_SIMULATE: frozenset({Role.FUND_MANAGER, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    # The parties to an entry (the enterprise, the institution) and the auditor, who reads all of them;
    # which entries each may have is decided per entry (``core.evidence.service.may_see``).
    Permission.EVIDENCE_RECEIPT: frozenset(
        {
            Role.ENTERPRISE_ADMIN,
            Role.ENTERPRISE_STAFF,
            Role.INSTITUTION_ADMIN,
            Role.ACCOUNT_MANAGER,
            Role.RISK_OFFICER,
            Role.AUDITOR,
        }
    ),
    Permission.WEBHOOKS_MANAGE: frozenset({Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}),
    Permission.DELIVERIES_OPERATE: frozenset({Role.OPERATOR_ADMIN}),
    Permission.OBJECTIONS_RAISE: frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF}),
    # The operator admin answers for sources whose department is not on the platform.
    Permission.OBJECTIONS_ANSWER: frozenset(
        {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.OPERATOR_ADMIN}
    ),
    Permission.OBJECTIONS_READ_ALL: frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR}),
    # Platform health, no personal data: the system and data administrators run it, the auditor watches.
    Permission.OPERATIONS_SCREEN: frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR}),
    Permission.QUERY_RECORDS_READ: frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR}),
    Permission.RETENTION_READ: frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR}),
    # Post-loan monitoring: the institution's staff watch their borrowers, departments their whitelists;
    # the operator publishes platform-wide rule sets. The account manager sees alerts, the risk officer acts.
    Permission.MONITORING_READ: frozenset(
        {
            Role.INSTITUTION_ADMIN,
            Role.ACCOUNT_MANAGER,
            Role.RISK_OFFICER,
            Role.DEPARTMENT_ADMIN,
            Role.DEPARTMENT_STAFF,
            Role.OPERATOR_ADMIN,
        }
    ),
    Permission.MONITORING_MANAGE: frozenset(
        {
            Role.INSTITUTION_ADMIN,
            Role.RISK_OFFICER,
            Role.DEPARTMENT_ADMIN,
            Role.DEPARTMENT_STAFF,
            Role.OPERATOR_ADMIN,
        }
    ),
    # Aggregates only (no personal data): departments, fund managers, the operator admin and the auditor.
    Permission.STATISTICS_READ: frozenset(
        {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.FUND_MANAGER, Role.OPERATOR_ADMIN, Role.AUDITOR}
    ),
    # The operator's system and data administrators; the refresh reads no personal data, writes only figures.
    Permission.CONSOLES_REFRESH: frozenset({Role.OPERATOR_ADMIN}),
    Permission.SUBPLATFORMS_MANAGE: frozenset({Role.OPERATOR_ADMIN}),
    # The owning department's staff see their own sub-platforms (checked per object), the operator all.
    Permission.SUBPLATFORM_STATISTICS: frozenset(
        {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.FUND_MANAGER, Role.OPERATOR_ADMIN, Role.AUDITOR}
    ),
}


@dataclass(frozen=True)
class Principal:
    """The actor behind a request, resolved once per request (a user or an API client)."""

    user_id: int | None
    organisation_id: int
    org_kind: OrgKind
    roles: frozenset[Role]
    username: str
    region_code: str | None = None
    api_client_id: int | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_machine(self) -> bool:
        return self.api_client_id is not None


def can(principal: Principal | None, permission: Permission) -> bool:
    """May this principal exercise this permission? Anonymous may do nothing protected."""
    if principal is None:
        return False
    allowed = ROLE_PERMISSIONS[permission]
    if not principal.roles & allowed:
        return False
    # Machine clients act only within the scopes their organisation granted them.
    return not principal.is_machine or permission.value in principal.scopes or "*" in principal.scopes


def require(principal: Principal | None, permission: Permission) -> Principal:
    """Return the principal if allowed, else raise 401 (anonymous) or 403."""
    if principal is None:
        raise AuthenticationRequired()
    if not can(principal, permission):
        raise PermissionDenied()
    return principal


S = TypeVar("S", bound=Select[Any])


def scope_to_organisation(stmt: S, principal: Principal, org_column: Any) -> S:
    """Restrict a query on tenant data to the principal's own organisation.

    The operator's roles that read across organisations call ``sees_all_organisations`` first;
    everyone else's list queries pass through here.
    """
    if sees_all_organisations(principal):
        return stmt
    return stmt.where(org_column == principal.organisation_id)


def sees_all_organisations(principal: Principal) -> bool:
    """Operator staff read across tenants (their reads are audited); nobody else does."""
    return principal.org_kind is OrgKind.OPERATOR


def ensure_same_organisation(principal: Principal, organisation_id: int) -> None:
    """Raise NotFound (not 403) for another tenant's object, so its existence does not leak."""
    if organisation_id != principal.organisation_id and not sees_all_organisations(principal):
        raise NotFound()
