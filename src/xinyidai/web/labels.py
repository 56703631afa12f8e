"""Display labels for codes shown in pages (English message ids, translated by the catalogue)."""

from __future__ import annotations

from xinyidai.core.i18n import N_

ROLE_LABELS: dict[str, str] = {
    "enterprise_admin": N_("Enterprise administrator"),
    "enterprise_staff": N_("Enterprise staff"),
    "institution_admin": N_("Institution administrator"),
    "account_manager": N_("Account manager"),
    "risk_officer": N_("Risk officer"),
    "department_admin": N_("Department administrator"),
    "department_staff": N_("Department staff"),
    "fund_manager": N_("Fund manager"),
    "operator_admin": N_("System administrator"),
    "data_admin": N_("Data administrator"),
    "auditor": N_("Security auditor"),
}

ORG_KIND_LABELS: dict[str, str] = {
    "enterprise": N_("Enterprise"),
    "institution": N_("Financial institution"),
    "department": N_("Government department"),
    "operator": N_("Platform operator"),
}

INSTITUTION_TYPE_LABELS: dict[str, str] = {
    "bank": N_("Bank"),
    "guarantee": N_("Guarantee company"),
    "insurer": N_("Insurer"),
}

SIZE_LABELS: dict[str, str] = {
    "micro": N_("Micro"),
    "small": N_("Small"),
    "medium": N_("Medium"),
    "large": N_("Large"),
}

RESULT_LABELS: dict[str, str] = {
    "success": N_("Success"),
    "failure": N_("Failure"),
    "denied": N_("Denied"),
}

FREQUENCY_LABELS: dict[str, str] = {
    "realtime": N_("Real time"),
    "daily": N_("Daily"),
    "monthly": N_("Monthly"),
    "quarterly": N_("Quarterly"),
    "yearly": N_("Yearly"),
}

SENSITIVITY_LABELS: dict[str, str] = {
    "public": N_("Public"),
    "internal": N_("Internal"),
    "personal": N_("Personal"),
}

BATCH_STATUS_LABELS: dict[str, str] = {
    "pending": N_("Pending"),
    "published": N_("Published"),
    "superseded": N_("Superseded"),
    "failed": N_("Failed"),
}

RULE_KIND_LABELS: dict[str, str] = {
    "completeness": N_("Completeness"),
    "validity": N_("Validity"),
    "range": N_("Range"),
    "plausibility": N_("Plausibility"),
    "uniqueness": N_("Uniqueness"),
    "referential": N_("Referential integrity"),
    "consistency": N_("Cross-source consistency"),
    "timeliness": N_("Timeliness"),
    "volume": N_("Volume"),
}

SEVERITY_LABELS: dict[str, str] = {
    "info": N_("Info"),
    "warning": N_("Warning"),
    "error": N_("Error"),
    "alert": N_("Alert"),
}

MODEL_KIND_LABELS: dict[str, str] = {
    "expert": N_("Expert scorecard"),
    "statistical": N_("Statistical scorecard"),
}

MODEL_STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "active": N_("Active"),
    "retired": N_("Retired"),
}

LABELS = {
    "role": ROLE_LABELS,
    "kind": ORG_KIND_LABELS,
    "institution_type": INSTITUTION_TYPE_LABELS,
    "size": SIZE_LABELS,
    "result": RESULT_LABELS,
    "frequency": FREQUENCY_LABELS,
    "sensitivity": SENSITIVITY_LABELS,
    "batch_status": BATCH_STATUS_LABELS,
    "rule_kind": RULE_KIND_LABELS,
    "severity": SEVERITY_LABELS,
    "model_kind": MODEL_KIND_LABELS,
    "model_status": MODEL_STATUS_LABELS,
}
