"""The policy and fund supermarkets' pages: a department writes a policy (a bad rule is shown where it is
wrong), an enterprise applies with files, the department reviews, anyone objects during publicity, the
effect report exports, and nobody sees another department's applications."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, select

from tests.conftest import LoggedIn
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.demo_policies import DEMO_PDF, fill_policies
from xinyidai.policies.models import PolicyApplication, PolicyObjection

TODAY = today_local()


def policy_form(**overrides: str) -> dict[str, str]:
    form = {
        "title": "稳岗补贴",
        "issuer": "威海市发展和改革委员会",
        "benefit": "最高20万元",
        "benefit_max": "200,000",
        "opens_on": (TODAY - timedelta(days=5)).isoformat(),
        "closes_on": (TODAY + timedelta(days=30)).isoformat(),
        "publicity_days": "5",
        "summary": "",
        "materials": "申请表\n营业执照",
        "eligibility": "",
    }
    form.update(overrides)
    return form


def create_policy(gov: LoggedIn, **overrides: str) -> int:
    response = gov.post_form("/government/policies", policy_form(**overrides), follow_redirects=False)
    assert response.status_code == 303, response.text
    policy_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert (
        gov.post_form(f"/government/policies/{policy_id}/publish", follow_redirects=False).status_code == 303
    )
    return policy_id


def test_an_invalid_rule_is_shown_by_its_field_with_the_position(login: Callable[[str], LoggedIn]) -> None:
    gov = login("gov_admin")
    response = gov.post_form("/government/policies", policy_form(eligibility="grade = = 'A'"))
    assert response.status_code == 422
    assert 'data-testid="form-error"' in response.text and "9" in response.text
    assert "grade = = &#39;A&#39;" in response.text  # what was typed is kept


def test_apply_review_and_object_through_the_pages(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    gov = login("gov_admin")
    policy_id = create_policy(gov)
    ent = login("ent_admin")
    listing = ent.client.get("/enterprise/policies")
    assert listing.status_code == 200 and 'data-testid="eligible-policy"' in listing.text
    page = ent.client.get(f"/enterprise/policies/{policy_id}")
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.text)
    assert key
    # one material missing: refused by its field, nothing saved
    missing = ent.client.post(
        f"/enterprise/policies/{policy_id}/apply",
        data={"csrf_token": ent.csrf, "idempotency_key": key.group(1)},
        files={"material_0": ("申请表.pdf", DEMO_PDF, "application/pdf")},
    )
    assert missing.status_code == 422 and "营业执照" in missing.text
    files = {
        "material_0": ("申请表.pdf", DEMO_PDF, "application/pdf"),
        "material_1": ("执照.pdf", DEMO_PDF, "application/pdf"),
    }
    applied = ent.client.post(
        f"/enterprise/policies/{policy_id}/apply",
        data={"csrf_token": ent.csrf, "idempotency_key": key.group(1), "amount_requested": "30000"},
        files=files,
        follow_redirects=False,
    )
    assert applied.status_code == 303, applied.text
    app_id = int(applied.headers["location"].rsplit("/", 1)[1])
    assert ent.client.get(f"/enterprise/policy-applications/{app_id}").status_code == 200

    review = gov.client.get(f"/government/policy-applications/{app_id}")
    assert review.status_code == 200 and 'data-testid="check-eligible"' in review.text
    material = re.search(rf"/government/policy-applications/{app_id}/materials/(\d+)", review.text)
    assert material
    download = gov.client.get(material.group(0))
    assert download.status_code == 200 and download.content == DEMO_PDF
    approved = gov.post_form(
        f"/government/policy-applications/{app_id}/approve", {"amount": "30000"}, follow_redirects=False
    )
    assert approved.status_code == 303
    early = gov.post_form(
        f"/government/policy-applications/{app_id}/disburse",
        {"amount": "30000", "disbursed_on": TODAY.isoformat()},
    )
    assert early.status_code == 409 and 'data-testid="form-error"' in early.text

    bank = login("bank_manager")
    public = bank.client.get("/policies/publicity")
    assert public.status_code == 200 and 'data-testid="publicity-row"' in public.text
    lodged = bank.post_form(
        f"/policies/publicity/{app_id}/objections", {"text": "参保人数有误，请核实"}, follow_redirects=False
    )
    assert lodged.status_code == 303
    with session_scope(engine) as db:
        objection = db.scalars(select(PolicyObjection)).one()
    answered = gov.post_form(
        f"/government/policy-objections/{objection.id}/answer",
        {"decision": "dismiss", "answer": "经核实无误", "application_id": str(app_id)},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    effect = gov.client.get(f"/government/policies/{policy_id}/effect")
    assert effect.status_code == 200 and 'data-testid="estimates"' in effect.text
    export = gov.client.get(f"/government/policies/{policy_id}/effect.xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"


def test_a_rejected_application_cannot_be_approved(login: Callable[[str], LoggedIn], engine: Engine) -> None:
    gov = login("gov_admin")
    policy_id = create_policy(gov, materials="")
    ent = login("ent_admin")
    applied = ent.post_form(f"/enterprise/policies/{policy_id}/apply", {}, follow_redirects=False)
    assert applied.status_code == 303
    app_id = int(applied.headers["location"].rsplit("/", 1)[1])
    assert (
        gov.post_form(
            f"/government/policy-applications/{app_id}/reject", {"reason": "不符合"}, follow_redirects=False
        ).status_code
        == 303
    )
    again = gov.post_form(f"/government/policy-applications/{app_id}/approve", {})
    assert again.status_code == 409
    with session_scope(engine) as db:
        assert db.get(PolicyApplication, app_id).status == "rejected"  # type: ignore[union-attr]


def test_outside_the_window_the_enterprise_is_told(login: Callable[[str], LoggedIn]) -> None:
    gov = login("gov_admin")
    policy_id = create_policy(
        gov,
        materials="",
        opens_on=(TODAY + timedelta(days=5)).isoformat(),
        closes_on=(TODAY + timedelta(days=9)).isoformat(),
    )
    ent = login("ent_admin")
    refused = ent.post_form(f"/enterprise/policies/{policy_id}/apply", {})
    assert refused.status_code == 409 and 'data-testid="form-error"' in refused.text


def test_the_demo_pages_and_another_departments_view(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as db:
        fill_policies(db, settings)
        ids = db.scalars(select(PolicyApplication.id)).all()
    gov = login("gov_admin")
    queue = gov.client.get("/government/policy-applications")
    assert queue.status_code == 200 and queue.text.count('data-testid="queue-row"') == 4
    for app_id in ids:
        assert gov.client.get(f"/government/policy-applications/{app_id}").status_code == 200
    ent = login("ent_admin")
    assert 'data-testid="closest-policies"' in ent.client.get("/enterprise/products").text
    assert ent.client.get("/enterprise/funds").status_code == 200
    manager = login("fund_manager")
    funds = manager.client.get("/government/investment-funds")
    assert funds.status_code == 200 and funds.text.count('data-testid="fund-application-row"') == 2
    first = re.search(r"/government/investment-applications/(\d+)", funds.text)
    assert first and 'data-testid="platform-data"' in manager.client.get(first.group(0)).text
    # the enterprise cannot open the department's pages, nor another enterprise's application
    assert ent.client.get(f"/government/policy-applications/{ids[0]}").status_code == 403
    others = [i for i in ids if i != min(ids)]
    assert ent.client.get(f"/enterprise/policy-applications/{others[0]}").status_code == 404
