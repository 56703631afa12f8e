"""The navigation each role sees, declared once.

Items whose feature is not built yet have no path: they show greyed out ("coming soon") so every
role sees the platform it will grow into, and nothing links to a page that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from xinyidai.core.access import OrgKind, Permission, Principal, can
from xinyidai.core.i18n import N_


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str | None = None
    permission: Permission = Permission.AUTHENTICATED


HOME_PATH: dict[OrgKind, str] = {
    OrgKind.ENTERPRISE: "/enterprise",
    OrgKind.INSTITUTION: "/institution",
    OrgKind.DEPARTMENT: "/government",
    OrgKind.OPERATOR: "/operator",
}

NAVIGATION: dict[OrgKind, tuple[NavItem, ...]] = {
    OrgKind.ENTERPRISE: (
        NavItem(N_("Home"), "/enterprise", Permission.ENTERPRISE_HOME),
        NavItem(N_("My credit rating"), "/enterprise/rating", Permission.ENTERPRISE_HOME),
        NavItem(N_("Credit report"), "/enterprise/report", Permission.ENTERPRISE_HOME),
        NavItem(N_("Financing needs"), "/enterprise/needs", Permission.ENTERPRISE_FINANCE),
        NavItem(N_("Authorisations"), "/enterprise/consents", Permission.ENTERPRISE_FINANCE),
        NavItem(N_("Offers and applications"), "/enterprise/applications", Permission.ENTERPRISE_FINANCE),
        NavItem(N_("Product supermarket"), "/enterprise/products", Permission.ENTERPRISE_FINANCE),
        NavItem(N_("Policy supermarket"), "/enterprise/policies", Permission.POLICY_APPLY),
        NavItem(N_("Fund supermarket"), "/enterprise/funds", Permission.POLICY_APPLY),
        NavItem(N_("Emergency bridge loans"), "/enterprise/bridge-loans", Permission.ENTERPRISE_FINANCE),
        NavItem(N_("Objections"), "/enterprise/objections", Permission.OBJECTIONS_RAISE),
        NavItem(N_("Staff"), "/org/staff", Permission.ORG_STAFF_MANAGE),
    ),
    OrgKind.INSTITUTION: (
        NavItem(N_("Home"), "/institution", Permission.INSTITUTION_HOME),
        NavItem(N_("Products"), "/institution/products", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Order hall"), "/institution/pool", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("My orders"), "/institution/orders", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Applications"), "/institution/applications", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Loans"), "/institution/loans", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Bridge loans"), "/institution/bridge-loans", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Fund claims"), "/institution/claims", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Guarantee fees"), "/institution/fees", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Authorisations received"), "/institution/consents", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Dispatched to us"), "/institution/assignments", Permission.INSTITUTION_WORKBENCH),
        NavItem(N_("Credit reports")),
        NavItem(N_("Risk board"), "/monitoring", Permission.MONITORING_READ),
        NavItem(N_("Risk alerts"), "/monitoring/alerts", Permission.MONITORING_READ),
        NavItem(N_("Risk rules"), "/monitoring/rule-sets", Permission.MONITORING_READ),
        NavItem(N_("Model lab")),
        NavItem(N_("Staff"), "/org/staff", Permission.ORG_STAFF_MANAGE),
        NavItem(N_("API clients"), "/org/api-clients", Permission.API_CLIENTS_MANAGE),
        NavItem(N_("Webhooks"), "/org/webhooks", Permission.WEBHOOKS_MANAGE),
    ),
    OrgKind.DEPARTMENT: (
        NavItem(N_("Home"), "/government", Permission.GOVERNMENT_HOME),
        NavItem(N_("Policies"), "/government/policies", Permission.POLICIES_MANAGE),
        NavItem(N_("Policy applications"), "/government/policy-applications", Permission.POLICIES_MANAGE),
        NavItem(N_("Publicity"), "/policies/publicity", Permission.POLICIES_MANAGE),
        NavItem(N_("Fund supermarket"), "/government/investment-funds", Permission.INVESTMENT_FUNDS_MANAGE),
        NavItem(N_("Whitelists"), "/government/whitelists", Permission.WHITELISTS_MANAGE),
        NavItem(N_("Dispatch"), "/government/dispatch", Permission.DISPATCH),
        NavItem(N_("Institution ranking"), "/government/ranking", Permission.MARKET_STATISTICS),
        NavItem(N_("Guarantee funds"), "/government/funds", Permission.FUNDS_READ),
        NavItem(N_("Claims queue"), "/government/claims", Permission.FUNDS_READ),
        NavItem(N_("Risk-sharing schemes"), "/government/fund-schemes", Permission.FUNDS_READ),
        NavItem(N_("Guarantee fees"), "/government/fees", Permission.FUNDS_READ),
        NavItem(N_("Bridge loans"), "/government/bridge-funds", Permission.FUNDS_MANAGE),
        NavItem(N_("Interest subsidies"), "/government/subsidies", Permission.SUBSIDIES_MANAGE),
        NavItem(N_("Fund simulation"), "/government/simulation", Permission.FUNDS_SIMULATE),
        NavItem(N_("Objections to our data"), "/government/objections", Permission.OBJECTIONS_ANSWER),
        NavItem(N_("Whitelist monitoring"), "/monitoring", Permission.MONITORING_READ),
        NavItem(N_("Risk rules"), "/monitoring/rule-sets", Permission.MONITORING_READ),
        NavItem(N_("Financing statistics"), "/government/statistics", Permission.STATISTICS_READ),
        NavItem(N_("Sub-platforms"), "/government/subplatforms", Permission.SUBPLATFORM_STATISTICS),
        NavItem(N_("Data delivery")),
        NavItem(N_("Staff"), "/org/staff", Permission.ORG_STAFF_MANAGE),
        NavItem(N_("API clients"), "/org/api-clients", Permission.API_CLIENTS_MANAGE),
        NavItem(N_("Webhooks"), "/org/webhooks", Permission.WEBHOOKS_MANAGE),
    ),
    OrgKind.OPERATOR: (
        NavItem(N_("Home"), "/operator", Permission.OPERATOR_HOME),
        NavItem(N_("One-screen monitoring"), "/operator/screen", Permission.OPERATIONS_SCREEN),
        NavItem(N_("Organisations"), "/operator/organisations", Permission.ORGANISATIONS_READ),
        NavItem(N_("Enterprise registry"), "/operator/registry", Permission.REGISTRY_READ),
        NavItem(N_("Data sources"), "/operator/data", Permission.DATA_READ),
        NavItem(N_("Data quality"), "/operator/quality", Permission.DATA_READ),
        NavItem(N_("Rating models"), "/operator/models", Permission.MODELS_READ),
        NavItem(N_("Product review"), "/operator/products", Permission.PRODUCTS_REVIEW),
        NavItem(N_("Sub-platforms"), "/operator/subplatforms", Permission.SUBPLATFORMS_MANAGE),
        NavItem(N_("Dispatch"), "/government/dispatch", Permission.DISPATCH),
        NavItem(N_("Institution ranking"), "/government/ranking", Permission.MARKET_STATISTICS),
        NavItem(N_("Financing statistics"), "/government/statistics", Permission.STATISTICS_READ),
        NavItem(N_("Monitoring"), "/monitoring", Permission.MONITORING_READ),
        NavItem(N_("Platform risk rules"), "/monitoring/rule-sets", Permission.MONITORING_READ),
        NavItem(N_("Objections"), "/operator/objections", Permission.OBJECTIONS_READ_ALL),
        NavItem(N_("Report queries"), "/operator/report-queries", Permission.QUERY_RECORDS_READ),
        NavItem(N_("Retention"), "/operator/retention", Permission.RETENTION_READ),
        NavItem(N_("Audit log"), "/operator/audit", Permission.AUDIT_READ),
        NavItem(N_("Deliveries"), "/operator/deliveries", Permission.DELIVERIES_OPERATE),
        NavItem(N_("Staff"), "/org/staff", Permission.ORG_STAFF_MANAGE),
    ),
}


def navigation_for(principal: Principal) -> list[NavItem]:
    """The items a principal sees: built items it may open, and every not-yet-built item of its kind."""
    return [
        item
        for item in NAVIGATION[principal.org_kind]
        if item.path is None or can(principal, item.permission)
    ]
