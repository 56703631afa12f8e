"""Every route × every role (anonymous included) against a declared matrix.

The matrix is written here, apart from the code, on purpose: a route whose guard changes, or a new
route nobody declared, fails this test. Add each new route to ``MATRIX``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from xinyidai.core import i18n
from xinyidai.core.access import Role
from xinyidai.demo import DEMO_USERS

CONSENT_TEXT = i18n.translate(
    "The enterprise has not authorised you to see this report, or its authorisation has expired"
)
ANON = "anonymous"
EVERYONE = frozenset({ANON, *Role})
LOGGED_IN = frozenset(Role)
ENTERPRISE = frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_STAFF})
INSTITUTION = frozenset({Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER, Role.RISK_OFFICER})
GOVERNMENT = frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.FUND_MANAGER})
OPERATOR = frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN, Role.AUDITOR})
ORG_ADMINS = frozenset(
    {Role.ENTERPRISE_ADMIN, Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN, Role.OPERATOR_ADMIN}
)
INSTITUTION_WORK = frozenset({Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER})  # products, orders
INSTITUTION_DECIDE = frozenset({Role.INSTITUTION_ADMIN, Role.RISK_OFFICER})  # credit decisions
SUBSIDY_MANAGERS = frozenset({Role.FUND_MANAGER, Role.DEPARTMENT_ADMIN})  # interest subsidies
MONITOR_READ = INSTITUTION | {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.OPERATOR_ADMIN}
MONITOR_MANAGE = INSTITUTION_DECIDE | {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.OPERATOR_ADMIN}
WEBHOOK_ADMINS = frozenset({Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN})  # an organisation's webhooks

# (method, path) → who may use it.
MATRIX: dict[tuple[str, str], frozenset[object]] = {
    ("GET", "/"): EVERYONE,
    ("GET", "/home"): LOGGED_IN,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("GET", "/login/totp"): LOGGED_IN,
    ("POST", "/login/totp"): LOGGED_IN,
    ("GET", "/account/totp/setup"): LOGGED_IN,
    ("POST", "/account/totp/setup"): LOGGED_IN,
    ("GET", "/account/password"): LOGGED_IN,
    ("POST", "/account/password"): LOGGED_IN,
    ("GET", "/account"): LOGGED_IN,
    ("GET", "/register"): EVERYONE,
    ("POST", "/register"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("POST", "/logout/all"): LOGGED_IN,
    ("POST", "/locale"): EVERYONE,
    ("GET", "/enterprise"): ENTERPRISE,
    ("GET", "/enterprise/rating"): ENTERPRISE,
    ("GET", "/enterprise/report"): ENTERPRISE,
    ("GET", "/enterprise/report.pdf"): ENTERPRISE,
    ("GET", "/enterprise/products"): ENTERPRISE,
    ("GET", "/enterprise/products/{product_id}"): ENTERPRISE,
    ("POST", "/enterprise/products/{product_id}/apply"): ENTERPRISE,
    ("GET", "/enterprise/needs"): ENTERPRISE,
    ("POST", "/enterprise/needs"): ENTERPRISE,
    ("GET", "/enterprise/needs/{need_id}"): ENTERPRISE,
    ("POST", "/enterprise/needs/{need_id}/withdraw"): ENTERPRISE,
    ("POST", "/enterprise/needs/{need_id}/offers/{order_id}/accept"): ENTERPRISE,
    ("GET", "/enterprise/applications"): ENTERPRISE,
    ("GET", "/enterprise/applications/{application_id}"): ENTERPRISE,
    ("POST", "/enterprise/applications/{application_id}/withdraw"): ENTERPRISE,
    ("POST", "/enterprise/applications/{application_id}/review"): ENTERPRISE,
    ("GET", "/enterprise/loans"): ENTERPRISE,
    ("GET", "/enterprise/consents"): ENTERPRISE,
    ("POST", "/enterprise/consents/preview"): frozenset({Role.ENTERPRISE_ADMIN}),
    ("POST", "/enterprise/consents"): frozenset({Role.ENTERPRISE_ADMIN}),
    ("POST", "/enterprise/consents/{consent_id}/revoke"): frozenset({Role.ENTERPRISE_ADMIN}),
    ("GET", "/enterprise/consents/looks"): ENTERPRISE,
    ("GET", "/reports/{uscc}"): INSTITUTION | OPERATOR,
    ("GET", "/reports/{uscc}.pdf"): INSTITUTION | OPERATOR,
    ("GET", "/api/v1/reports/{uscc}"): INSTITUTION | OPERATOR,
    ("POST", "/api/v1/market/products/{product_id}/precredit"): ENTERPRISE,
    ("GET", "/institution"): INSTITUTION,
    ("GET", "/institution/products"): INSTITUTION,
    ("GET", "/institution/products/export.xlsx"): INSTITUTION_WORK,
    ("GET", "/institution/products/template.xlsx"): INSTITUTION_WORK,
    ("POST", "/institution/products/import"): INSTITUTION_WORK,
    ("GET", "/institution/products/new"): INSTITUTION_WORK,
    ("POST", "/institution/products"): INSTITUTION_WORK,
    ("GET", "/institution/products/{product_id}"): INSTITUTION,
    ("POST", "/institution/products/{product_id}"): INSTITUTION_WORK,
    ("POST", "/institution/products/{product_id}/submit"): INSTITUTION_WORK,
    ("POST", "/institution/products/{product_id}/delist"): INSTITUTION_WORK,
    ("GET", "/institution/pool"): INSTITUTION,
    ("POST", "/institution/pool/{need_id}/grab"): INSTITUTION_WORK,
    ("GET", "/institution/orders"): INSTITUTION,
    ("POST", "/institution/orders/{order_id}/offer"): INSTITUTION_WORK,
    ("POST", "/institution/orders/{order_id}/release"): INSTITUTION_WORK,
    ("GET", "/institution/applications"): INSTITUTION,
    ("GET", "/institution/applications/{application_id}"): INSTITUTION,
    ("POST", "/institution/applications/{application_id}/accept"): INSTITUTION_WORK,
    ("POST", "/institution/applications/{application_id}/approve"): INSTITUTION_DECIDE,
    ("POST", "/institution/applications/{application_id}/reject"): INSTITUTION_DECIDE,
    ("POST", "/institution/applications/{application_id}/disburse"): INSTITUTION_WORK,
    ("GET", "/institution/loans"): INSTITUTION,
    ("GET", "/institution/loans/{loan_id}"): INSTITUTION,
    ("POST", "/institution/loans/{loan_id}/reports"): INSTITUTION,
    ("GET", "/institution/consents"): INSTITUTION,
    ("GET", "/operator/products"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/operator/products/{product_id}"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/products/{product_id}/list"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/products/{product_id}/send-back"): frozenset({Role.OPERATOR_ADMIN}),
    ("PUT", "/api/v1/market/products/{external_id}"): INSTITUTION_WORK,
    ("GET", "/api/v1/market/products"): INSTITUTION,
    ("GET", "/api/v1/market/applications"): INSTITUTION,
    ("POST", "/api/v1/market/applications/{application_id}/decision"): INSTITUTION_DECIDE,
    ("GET", "/api/v1/market/loans"): INSTITUTION,
    ("POST", "/api/v1/market/loans/{loan_id}/reports"): INSTITUTION,
    ("GET", "/government"): GOVERNMENT,
    ("GET", "/operator"): OPERATOR,
    ("GET", "/org/staff"): ORG_ADMINS,
    ("POST", "/org/staff"): ORG_ADMINS,
    ("POST", "/org/staff/{user_id}/disable"): ORG_ADMINS,
    ("POST", "/org/staff/{user_id}/enable"): ORG_ADMINS,
    ("POST", "/org/staff/{user_id}/reset-password"): ORG_ADMINS,
    ("GET", "/org/api-clients"): frozenset({Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}),
    ("POST", "/org/api-clients"): frozenset({Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}),
    ("POST", "/org/api-clients/{client_pk}/revoke"): frozenset(
        {Role.INSTITUTION_ADMIN, Role.DEPARTMENT_ADMIN}
    ),
    ("GET", "/operator/organisations"): OPERATOR,
    ("POST", "/operator/organisations"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/operator/registry"): frozenset({Role.OPERATOR_ADMIN, Role.DATA_ADMIN}),
    ("GET", "/operator/audit"): frozenset({Role.AUDITOR}),
    ("GET", "/operator/audit.xlsx"): frozenset({Role.AUDITOR}),
    ("POST", "/org/staff/{user_id}/roles"): ORG_ADMINS,
    # objections to report data: the enterprise raises, the department (or the operator admin for sources
    # without one) answers, the operator admin and the auditor see them all
    ("GET", "/enterprise/objections"): ENTERPRISE,
    ("POST", "/enterprise/objections"): ENTERPRISE,
    ("POST", "/enterprise/objections/{objection_id}/withdraw"): ENTERPRISE,
    ("GET", "/government/objections"): frozenset(
        {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.OPERATOR_ADMIN}
    ),
    ("POST", "/objections/{objection_id}/answer"): frozenset(
        {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.OPERATOR_ADMIN}
    ),
    ("POST", "/objections/{objection_id}/corrected"): frozenset(
        {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF, Role.OPERATOR_ADMIN}
    ),
    ("GET", "/operator/objections"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR}),
    ("GET", "/operator/report-queries"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR}),
    ("GET", "/operator/report-queries.xlsx"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR}),
    ("GET", "/operator/retention"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR}),
    ("POST", "/api/v1/auth/token"): EVERYONE,
    ("GET", "/api/v1/me"): LOGGED_IN,
    ("GET", "/api/v1/uscc/{code}"): EVERYONE,
    # the evidence log: key, head and consistency proofs are public; proofs and receipts of an entry go to
    # its parties and the auditor (checked per entry: another party's entry answers 404)
    ("GET", "/api/v1/evidence/public-key"): EVERYONE,
    ("GET", "/api/v1/evidence/head"): EVERYONE,
    ("GET", "/api/v1/evidence/consistency"): EVERYONE,
    ("GET", "/api/v1/evidence/entries/{seq}/proof"): ENTERPRISE | INSTITUTION | {Role.AUDITOR},
    ("GET", "/api/v1/evidence/entries/{seq}/receipt"): ENTERPRISE | INSTITUTION | {Role.AUDITOR},
    ("GET", "/evidence/receipts/{seq}.json"): ENTERPRISE | INSTITUTION | {Role.AUDITOR},
    ("POST", "/api/v1/enterprises/register"): EVERYONE,
    ("GET", "/api/v1/organisations"): OPERATOR,
    ("POST", "/api/v1/organisations"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/api/v1/organisation"): LOGGED_IN,
    ("GET", "/api/v1/staff"): ORG_ADMINS | {Role.AUDITOR},
    ("GET", "/operator/data"): OPERATOR,
    ("GET", "/operator/data/{source_id}"): OPERATOR,
    ("GET", "/operator/data/{source_id}/quarantine"): frozenset({Role.DATA_ADMIN}),
    ("GET", "/operator/data/batches/{batch_id}"): OPERATOR,
    ("GET", "/api/v1/data/sources"): OPERATOR,
    ("GET", "/api/v1/data/sources/{source_id}"): OPERATOR,
    ("GET", "/api/v1/data/batches"): OPERATOR,
    ("POST", "/api/v1/ingest/{source_id}"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("GET", "/operator/quality"): OPERATOR,
    ("GET", "/operator/screen"): OPERATOR,
    ("GET", "/operator/screen.json"): OPERATOR,
    ("GET", "/operator/models"): OPERATOR,
    ("GET", "/operator/models/{model_id}"): OPERATOR,
    ("POST", "/operator/models/train"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/operator/models/thresholds"): OPERATOR,
    ("POST", "/operator/models/thresholds"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/models/{model_id}/backtest"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/models/{model_id}/activate"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/models/{model_id}/versions"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/quality/run"): frozenset({Role.DATA_ADMIN}),
    ("GET", "/operator/quality/{run_id}"): OPERATOR,
    ("GET", "/operator/quality/{run_id}/report"): OPERATOR,
    ("GET", "/api/v1/data/quality/runs"): OPERATOR,
    ("GET", "/api/v1/data/quality/runs/{run_id}"): OPERATOR,
    ("GET", "/notifications"): LOGGED_IN,
    ("GET", "/account/notifications"): LOGGED_IN,
    ("POST", "/account/notifications"): LOGGED_IN,
    ("GET", "/org/webhooks"): WEBHOOK_ADMINS,
    ("POST", "/org/webhooks"): WEBHOOK_ADMINS,
    ("POST", "/org/webhooks/{endpoint_id}/rotate"): WEBHOOK_ADMINS,
    ("POST", "/org/webhooks/{endpoint_id}/test"): WEBHOOK_ADMINS,
    ("POST", "/org/webhooks/{endpoint_id}/pause"): WEBHOOK_ADMINS,
    ("POST", "/org/webhooks/{endpoint_id}/resume"): WEBHOOK_ADMINS,
    ("POST", "/org/webhooks/deliveries/{delivery_id}/retry"): WEBHOOK_ADMINS,
    ("GET", "/operator/deliveries"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/deliveries/{delivery_id}/retry"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/operator/sms-outbox"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/notifications/{notification_id}/read"): LOGGED_IN,
    ("POST", "/notifications/read-all"): LOGGED_IN,
    ("GET", "/api/v1/notifications"): LOGGED_IN,
    ("GET", "/api/docs"): EVERYONE,
    ("GET", "/api/openapi.json"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): EVERYONE,
    ("GET", "/government/whitelists"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("POST", "/government/whitelists"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("GET", "/government/whitelists/{whitelist_id}"): frozenset(
        {Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}
    ),
    ("GET", "/government/dispatch"): frozenset({Role.OPERATOR_ADMIN, Role.DEPARTMENT_ADMIN}),
    ("POST", "/government/dispatch"): frozenset({Role.OPERATOR_ADMIN, Role.DEPARTMENT_ADMIN}),
    ("GET", "/government/dispatch/{run_id}"): frozenset({Role.OPERATOR_ADMIN, Role.DEPARTMENT_ADMIN}),
    ("GET", "/government/ranking"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR} | GOVERNMENT),
    ("GET", "/government/ranking/export"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR} | GOVERNMENT),
    ("GET", "/government/statistics"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR} | GOVERNMENT),
    ("GET", "/government/statistics/export.xlsx"): frozenset(
        {Role.OPERATOR_ADMIN, Role.AUDITOR} | GOVERNMENT
    ),
    ("GET", "/government/statistics/export.pdf"): frozenset({Role.OPERATOR_ADMIN, Role.AUDITOR} | GOVERNMENT),
    ("GET", "/government/statistics/monthly-report.pdf"): frozenset(
        {Role.OPERATOR_ADMIN, Role.AUDITOR} | GOVERNMENT
    ),
    ("POST", "/government/statistics/refresh"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/government/statistics/refresh.json"): frozenset(
        {Role.OPERATOR_ADMIN, Role.AUDITOR} | GOVERNMENT
    ),
    ("GET", "/institution/assignments"): INSTITUTION,
    ("POST", "/institution/assignments/{assignment_id}/contacted"): frozenset(
        {Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER}
    ),
    ("POST", "/institution/assignments/{assignment_id}/declined"): frozenset(
        {Role.INSTITUTION_ADMIN, Role.ACCOUNT_MANAGER}
    ),
    # the policy supermarket, policy effects and the government fund supermarket
    ("GET", "/government/policies"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("POST", "/government/policies"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("GET", "/government/policies/{policy_id}"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("POST", "/government/policies/{policy_id}"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("POST", "/government/policies/{policy_id}/publish"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("POST", "/government/policies/{policy_id}/withdraw"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("GET", "/government/policies/{policy_id}/effect"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("GET", "/government/policies/{policy_id}/effect.xlsx"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("GET", "/government/policy-applications"): frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF}),
    ("GET", "/government/policy-applications/{application_id}"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("GET", "/government/policy-applications/{application_id}/materials/{material_id}"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("POST", "/government/policy-applications/{application_id}/approve"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("POST", "/government/policy-applications/{application_id}/reject"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("POST", "/government/policy-applications/{application_id}/recheck"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("POST", "/government/policy-applications/{application_id}/disburse"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("POST", "/government/policy-objections/{objection_id}/answer"): (
        frozenset({Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF})
    ),
    ("GET", "/enterprise/policies"): ENTERPRISE,
    ("GET", "/enterprise/policies/{policy_id}"): ENTERPRISE,
    ("POST", "/enterprise/policies/{policy_id}/apply"): ENTERPRISE,
    ("GET", "/enterprise/policy-applications"): ENTERPRISE,
    ("GET", "/enterprise/policy-applications/{application_id}"): ENTERPRISE,
    ("POST", "/enterprise/policy-applications/{application_id}/withdraw"): ENTERPRISE,
    ("GET", "/enterprise/funds"): ENTERPRISE,
    ("POST", "/enterprise/funds/{fund_id}/apply"): ENTERPRISE,
    ("GET", "/policies/publicity"): LOGGED_IN,
    ("POST", "/policies/publicity/{application_id}/objections"): LOGGED_IN,
    ("GET", "/government/investment-funds"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/investment-funds"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/investment-applications/{application_id}"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/investment-applications/{application_id}/approve"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/investment-applications/{application_id}/reject"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/investment-applications/{application_id}/invest"): frozenset({Role.FUND_MANAGER}),
    # risk-sharing funds and claims (issue 6)
    ("GET", "/government/funds"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("POST", "/government/funds"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/funds/{fund_id}"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("POST", "/government/funds/{fund_id}/contributions"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/funds/{fund_id}/cover"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/funds/{fund_id}/ledger"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/government/claims"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/government/claims/{claim_id}"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("POST", "/government/claims/{claim_id}/approve"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/claims/{claim_id}/reject"): frozenset({Role.FUND_MANAGER}),
    # scheme editing, guarantee fees, collateral values and the funds / policies API (issue 6, part 2)
    ("GET", "/government/fund-schemes"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("POST", "/government/fund-schemes"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/fund-schemes/{scheme_id}"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("POST", "/government/fund-schemes/{scheme_id}"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/funds/{fund_id}/scheme"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/fees"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/government/fees.xlsx"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/institution/fees"): INSTITUTION,
    ("POST", "/institution/applications/{application_id}/collateral"): INSTITUTION_DECIDE,
    ("GET", "/api/v1/funds"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/api/v1/funds/{fund_id}"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/api/v1/funds/{fund_id}/covered-loans"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/api/v1/fund-claims"): frozenset({Role.FUND_MANAGER, Role.AUDITOR}),
    ("GET", "/api/v1/claims"): INSTITUTION,
    ("POST", "/api/v1/claims"): INSTITUTION_DECIDE,
    ("GET", "/api/v1/covered-loans"): INSTITUTION,
    ("GET", "/api/v1/policies"): LOGGED_IN,
    ("GET", "/api/v1/policies/eligible"): ENTERPRISE,
    ("GET", "/api/v1/policy-applications"): ENTERPRISE,
    ("GET", "/institution/claims"): INSTITUTION,
    ("POST", "/institution/claims"): frozenset({Role.INSTITUTION_ADMIN, Role.RISK_OFFICER}),
    ("POST", "/institution/claims/{claim_id}/recoveries"): frozenset(
        {Role.INSTITUTION_ADMIN, Role.RISK_OFFICER}
    ),
    # Bridge loans, interest subsidies, fund simulation (funds/bridge.py, subsidies.py, simulation.py)
    ("GET", "/enterprise/bridge-loans"): ENTERPRISE,
    ("POST", "/enterprise/bridge-loans"): ENTERPRISE,
    ("GET", "/enterprise/bridge-loans/{bridge_id}"): ENTERPRISE,
    ("POST", "/enterprise/bridge-loans/{bridge_id}/withdraw"): ENTERPRISE,
    ("GET", "/institution/bridge-loans"): INSTITUTION,
    ("GET", "/institution/bridge-loans/{bridge_id}"): INSTITUTION,
    ("POST", "/institution/bridge-loans/{bridge_id}/confirm"): INSTITUTION_DECIDE,
    ("POST", "/institution/bridge-loans/{bridge_id}/decline"): INSTITUTION_DECIDE,
    ("GET", "/government/bridge-funds"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/bridge-funds"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/bridge-funds/{bridge_fund_id}"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/bridge-funds/{bridge_fund_id}/contributions"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/bridge-loans/{bridge_id}"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/bridge-loans/{bridge_id}/approve"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/bridge-loans/{bridge_id}/reject"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/bridge-loans/{bridge_id}/disburse"): frozenset({Role.FUND_MANAGER}),
    ("POST", "/government/bridge-loans/{bridge_id}/repay"): frozenset({Role.FUND_MANAGER}),
    ("GET", "/government/subsidies"): SUBSIDY_MANAGERS,
    ("POST", "/government/subsidies"): SUBSIDY_MANAGERS,
    ("GET", "/government/subsidies/{subsidy_policy_id}"): SUBSIDY_MANAGERS,
    ("POST", "/government/subsidies/{subsidy_policy_id}/budget"): SUBSIDY_MANAGERS,
    ("POST", "/government/subsidies/{subsidy_policy_id}/runs"): SUBSIDY_MANAGERS,
    ("GET", "/government/subsidy-runs/{subsidy_run_id}"): SUBSIDY_MANAGERS,
    ("GET", "/government/subsidy-runs/{subsidy_run_id}/export.xlsx"): SUBSIDY_MANAGERS,
    ("POST", "/government/subsidy-runs/{subsidy_run_id}/pay"): SUBSIDY_MANAGERS,
    ("POST", "/government/subsidy-runs/{subsidy_run_id}/discard"): SUBSIDY_MANAGERS,
    ("GET", "/government/simulation"): GOVERNMENT,
    ("POST", "/government/simulation"): GOVERNMENT,
    # sub-platforms (issue 9): the operator admin runs them; the landing is public; the scoped statistics
    # go to the operator and the departments (only the owning department's staff: checked per object, 404)
    ("GET", "/operator/subplatforms"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/operator/subplatforms/new"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/subplatforms"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/operator/subplatforms/{subplatform_id}"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/subplatforms/{subplatform_id}"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/subplatforms/{subplatform_id}/features"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/subplatforms/{subplatform_id}/enable"): frozenset({Role.OPERATOR_ADMIN}),
    ("POST", "/operator/subplatforms/{subplatform_id}/disable"): frozenset({Role.OPERATOR_ADMIN}),
    ("GET", "/government/subplatforms"): GOVERNMENT | {Role.OPERATOR_ADMIN, Role.AUDITOR},
    ("GET", "/s/{slug}"): EVERYONE,
    ("GET", "/s/{slug}/theme.css"): EVERYONE,
    ("GET", "/s/{slug}/statistics"): GOVERNMENT | {Role.OPERATOR_ADMIN, Role.AUDITOR},
    ("GET", "/s/{slug}/statistics/export.xlsx"): GOVERNMENT | {Role.OPERATOR_ADMIN, Role.AUDITOR},
    ("GET", "/s/{slug}/statistics/export.pdf"): GOVERNMENT | {Role.OPERATOR_ADMIN, Role.AUDITOR},
    ("GET", "/s/{slug}/statistics/monthly-report.pdf"): GOVERNMENT | {Role.OPERATOR_ADMIN, Role.AUDITOR},
    # risk monitoring: institutions watch borrowers, departments whitelists, the operator the platform's sets
    ("GET", "/monitoring"): MONITOR_READ,
    ("GET", "/monitoring/alerts"): MONITOR_READ,
    ("GET", "/monitoring/alerts/{alert_id}"): MONITOR_READ,
    ("POST", "/monitoring/alerts/{alert_id}/acknowledge"): MONITOR_MANAGE,
    ("POST", "/monitoring/alerts/{alert_id}/resolve"): MONITOR_MANAGE,
    ("GET", "/monitoring/enterprises/{uscc}"): MONITOR_READ,
    ("GET", "/monitoring/rule-sets"): MONITOR_READ,
    ("POST", "/monitoring/rule-sets"): MONITOR_MANAGE,
    ("POST", "/monitoring/rule-sets/adopt"): MONITOR_MANAGE,
    ("GET", "/monitoring/rule-sets/{set_id}"): MONITOR_READ,
    ("POST", "/monitoring/rule-sets/{set_id}/rules"): MONITOR_MANAGE,
    ("POST", "/monitoring/rule-sets/{set_id}/rules/{code}/retire"): MONITOR_MANAGE,
    ("POST", "/monitoring/rule-sets/{set_id}/backtest"): MONITOR_MANAGE,
    ("POST", "/monitoring/rule-sets/{set_id}/activate"): MONITOR_MANAGE,
    ("POST", "/api/v1/monitoring/rules/check"): MONITOR_MANAGE,
    ("GET", "/api/v1/monitoring/alerts"): MONITOR_READ,
}

PATH_VALUES = {
    "user_id": "999999",
    "client_pk": "999999",
    "code": "91110000600037341L",
    "source_id": "tax_monthly",
    "run_id": "999999",
    "model_id": "999999",
    "uscc": "91110000600037341L",
    "batch_id": "no-such-batch",
    "notification_id": "999999",
    "whitelist_id": "999999",
    "assignment_id": "999999",
    "loan_id": "999999",
    "external_id": "NO-SUCH-PRODUCT",
    "product_id": "999999",
    "need_id": "999999",
    "order_id": "999999",
    "application_id": "999999",
    "consent_id": "999999",
    "policy_id": "999999",
    "material_id": "999999",
    "objection_id": "999999",
    "bridge_id": "999999",
    "bridge_fund_id": "999999",
    "subsidy_policy_id": "999999",
    "subsidy_run_id": "999999",
    "fund_id": "999999",
    "claim_id": "999999",
    "scheme_id": "999999",
    "endpoint_id": "999999",
    "delivery_id": "999999",
    "seq": "999999",
    "alert_id": "999999",
    "set_id": "999999",
    "slug": "no-such-subplatform",
    "subplatform_id": "999999",
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, included routers flattened; static mounts aside."""
    routes = set()
    for route in iter_route_contexts(app.routes):
        methods = getattr(route, "methods", None) or set()
        routes |= {(method, route.path) for method in methods if method != "HEAD"}
    return routes


def test_every_route_is_declared(app: FastAPI) -> None:
    assert app_routes(app) == set(MATRIX), "declare new routes in MATRIX (and remove deleted ones)"


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


# Routes whose guard lets institutions through but whose object needs the enterprise's consent: a 403
# saying so is the object-level refusal (tests/web/test_credit_report.py covers consent), not the guard's.
CONSENT_GATED = {"/reports/{uscc}", "/reports/{uscc}.pdf", "/api/v1/reports/{uscc}"}


def _denied(method: str, path: str, status: int, location: str, anonymous: bool, body: str = "") -> bool:
    if status == 403 and path in CONSENT_GATED and ("consent_required" in body or CONSENT_TEXT in body):
        return False
    if status in (401, 403):
        return True
    # A page answers an anonymous visitor by sending them to the login page.
    return anonymous and status in (302, 303) and location.startswith("/login")


def test_route_role_matrix(app: FastAPI, login: Callable[[str], object]) -> None:
    from tests.conftest import new_client

    clients: dict[object, object] = {ANON: None}
    for username, _name, role, _org in DEMO_USERS:
        clients[role] = login(username)
    problems = []
    for (method, path), allowed in sorted(MATRIX.items()):
        if path in ("/logout", "/logout/all"):
            continue  # checked separately: logging out would end the clients' sessions
        for who, logged_in in clients.items():
            if logged_in is None:
                client = new_client(app)
                client.get("/login")
                headers = {"X-CSRF-Token": client.cookies.get("xyd_csrf", "")}
            else:
                client, headers = logged_in.client, {"X-CSRF-Token": logged_in.csrf}  # type: ignore[attr-defined]
            response = client.request(method, _url(path), headers=headers, follow_redirects=False)
            denied = _denied(
                method,
                path,
                response.status_code,
                response.headers.get("location", ""),
                who == ANON,
                response.text,
            )
            if denied == (who in allowed):
                problems.append(f"{method} {path} as {who}: {response.status_code}")
            if not denied and response.status_code == 403 and who not in INSTITUTION:
                problems.append(f"{method} {path} as {who}: only institutions need a consent")
            if denied and who != ANON and response.status_code != 403:
                problems.append(f"{method} {path} as {who}: expected 403, got {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/logout/all"])
def test_logout_all_needs_a_session(app: FastAPI, path: str) -> None:
    from tests.conftest import csrf_from, new_client

    client = new_client(app)
    token = csrf_from(client.get("/login").text)
    response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
