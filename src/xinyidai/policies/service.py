"""The policy capability's use cases — what routers, the demo and other capabilities call.

The policy supermarket (``supermarket``), policy effects (``effect``) and the government fund supermarket
(``fund_supermarket``); this module is their one public face.
"""

from __future__ import annotations

from xinyidai.policies.effect import EffectReport, Estimate, export_xlsx
from xinyidai.policies.effect import evaluate as policy_effect
from xinyidai.policies.eligibility import Eligibility, eligibility_fields
from xinyidai.policies.eligibility import validate as validate_eligibility
from xinyidai.policies.fund_supermarket import (
    ApplicantView,
    apply_to_fund,
    create_fund,
    decide_fund_application,
    fund_names,
    investments_of,
    list_fund_applications,
    list_funds,
    move_fund,
    record_investment,
    review_view,
)
from xinyidai.policies.materials import MAX_MATERIAL_BYTES, MaterialUpload
from xinyidai.policies.supermarket import (
    PolicyMatch,
    answer_objection,
    application_counts,
    application_events,
    application_materials,
    apply,
    browse_policies,
    check_window,
    decide,
    disburse,
    get_application,
    get_policy,
    in_publicity,
    judge_policies,
    list_applications,
    list_policies,
    lodge_objection,
    material_file,
    move_policy,
    objections_of,
    policies_for,
    policy_titles,
    recheck,
    save_policy,
    withdraw,
)

__all__ = [
    "MAX_MATERIAL_BYTES",
    "ApplicantView",
    "EffectReport",
    "Eligibility",
    "Estimate",
    "MaterialUpload",
    "PolicyMatch",
    "answer_objection",
    "application_counts",
    "application_events",
    "application_materials",
    "apply",
    "apply_to_fund",
    "browse_policies",
    "check_window",
    "create_fund",
    "decide",
    "decide_fund_application",
    "disburse",
    "eligibility_fields",
    "export_xlsx",
    "fund_names",
    "get_application",
    "get_policy",
    "in_publicity",
    "investments_of",
    "judge_policies",
    "list_applications",
    "list_fund_applications",
    "list_funds",
    "list_policies",
    "lodge_objection",
    "material_file",
    "move_fund",
    "move_policy",
    "objections_of",
    "policies_for",
    "policy_effect",
    "policy_titles",
    "recheck",
    "record_investment",
    "review_view",
    "save_policy",
    "validate_eligibility",
    "withdraw",
]
