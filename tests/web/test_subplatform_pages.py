"""Sub-platform pages (issue #9): the operator's forms, the public landing with its theme, entering through a
sub-platform and coming back to it after login, and statistics only for the owning department and the
operator."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import Engine, select

from tests.conftest import PASSWORD, LoggedIn, csrf_from, new_client
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.consoles import subplatforms as sub
from xinyidai.consoles.statistics_refresh import refresh
from xinyidai.consoles.subplatform_models import Subplatform
from xinyidai.core import i18n
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings
from xinyidai.market.models import Product
from xinyidai.policies.models import Policy

NDRC = "威海市发展和改革委员会"
FINANCE = "威海市财政局"
PLACES = {"huancui": "环翠", "rongcheng": "荣成", "waimao": "外贸"}


def product_name(slug: str) -> str:
    return f"{PLACES.get(slug, slug)}鲸e贷（纯信用·秒批）"


def policy_title(slug: str) -> str:
    return f"{PLACES.get(slug, slug)}小微企业稳岗扩岗补贴"


def _org_id(engine: Engine, name: str) -> int:
    with session_scope(engine) as db:
        return db.scalars(select(Organisation.id).where(Organisation.name == name)).one()


def make_subplatform(engine: Engine, slug: str = "huancui", owner: str = NDRC, **extra: object) -> int:
    """A sub-platform made through the service, with one listed product and one published policy featured."""
    with session_scope(engine) as db:
        op = accounts.principal_for(db.scalars(select(User).where(User.username == "op_admin")).one())
        owner_id = db.scalars(select(Organisation.id).where(Organisation.name == owner)).one()
        fields: dict[str, object] = {
            "slug": slug,
            "name": "环翠区信易贷子平台",
            "kind": "district",
            "owner_id": owner_id,
            "colour": "#0f766e",
            "tagline": "环翠区企业融资专区",
            "banner": "区级风险补偿资金分担",
            "region_code": "371002",
        }
        fields.update(extra)
        sp = sub.create_subplatform(db, op, sub.SubplatformInput(**fields))  # type: ignore[arg-type]
        bank = db.scalars(select(Organisation).where(Organisation.name == "威海市商业银行")).one()
        product = Product(
            institution_id=bank.id,
            external_id=f"{slug}-P",
            name=product_name(slug),
            product_type="credit",
            amount_min=Decimal(50000),
            amount_max=Decimal(3000000),
            term_min=3,
            term_max=12,
            rate_min=Decimal("3.45"),
            rate_max=Decimal("5.5"),
            pure_credit=True,
            status="listed",
        )
        policy = Policy(
            department_id=owner_id,
            issuer=owner,
            title=policy_title(slug),
            benefit="最高 10 万元",
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            status="published",
            created_by="gov_admin",
        )
        db.add_all([product, policy])
        db.flush()
        sub.set_features(db, op, sp.id, [product.id], [policy.id])
        return sp.id


def form(**overrides: str) -> dict[str, object]:
    fields: dict[str, object] = {
        "slug": "waimao",
        "name": "外贸企业融资子平台",
        "kind": "theme",
        "colour": "#b45309",
        "tagline": "出口信用保险保单融资",
        "banner": "",
        "region_code": "",
        "industry_divisions": "",
        "scope_expression": "exports_12m > 0",
    }
    fields.update(overrides)
    return fields


def test_the_operator_creates_edits_and_disables_through_the_pages(
    app: FastAPI, login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    op = login("op_admin")
    assert 'href="/operator/subplatforms"' in op.client.get("/operator").text  # in the operator's menu
    page = op.client.get("/operator/subplatforms/new")
    assert page.status_code == 200 and 'data-testid="subplatform-form"' in page.text
    owner = str(_org_id(engine, NDRC))
    created = op.post_form("/operator/subplatforms", {**form(), "owner_id": owner}, follow_redirects=False)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    sp_id = int(re.search(r"/operator/subplatforms/(\d+)", location).group(1))  # type: ignore[union-attr]
    edit = op.client.get(location)
    assert 'data-testid="saved"' in edit.text and "exports_12m &gt; 0" in edit.text
    listing = op.client.get("/operator/subplatforms")
    assert "外贸企业融资子平台" in listing.text and 'href="/s/waimao"' in listing.text

    changed = op.post_form(
        f"/operator/subplatforms/{sp_id}",
        {**form(name="外贸子平台", product_types=["guarantee", "credit"]), "owner_id": owner},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    with session_scope(engine) as db:
        sp = db.get(Subplatform, sp_id)
        assert sp is not None and sp.name == "外贸子平台" and sp.product_types == ["credit", "guarantee"]

    refused = op.post_form(
        f"/operator/subplatforms/{sp_id}", {**form(name="改坏了", colour="#zzzzzz"), "owner_id": owner}
    )
    assert refused.status_code == 422 and 'data-testid="features-form"' in refused.text
    with session_scope(engine) as db:
        sp = db.get(Subplatform, sp_id)
        assert sp is not None and sp.name == "外贸子平台"  # nothing half-written
    assert op.post_form(f"/operator/subplatforms/{sp_id}/disable", follow_redirects=False).status_code == 303
    assert new_client(app).get("/s/waimao").status_code == 404
    disabled = op.client.get(f"/operator/subplatforms/{sp_id}").text
    assert f'data-testid="subplatform-status">{i18n.translate("Disabled", None, "zh_CN")}<' in disabled
    assert op.post_form(f"/operator/subplatforms/{sp_id}/enable", follow_redirects=False).status_code == 303
    assert new_client(app).get("/s/waimao").status_code == 200


def test_bad_input_is_shown_by_its_field_and_nothing_is_saved(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    op = login("op_admin")
    owner = str(_org_id(engine, NDRC))
    bad_colour = op.post_form("/operator/subplatforms", {**form(colour="orange"), "owner_id": owner})
    assert bad_colour.status_code == 422
    assert 'data-testid="form-error"' in bad_colour.text
    assert i18n.translate(
        "The colour must be written as # and six hexadecimal digits, e.g. #1f5fbf", None, "zh_CN"
    ) in bad_colour.text.replace("&#39;", "'")
    assert 'value="外贸企业融资子平台"' in bad_colour.text  # what was typed is kept
    bad_rule = op.post_form(
        "/operator/subplatforms", {**form(scope_expression="exports_12m >"), "owner_id": owner}
    )
    assert bad_rule.status_code == 422 and "第 13 个字符处" in bad_rule.text  # ">" lacks its operand
    bad_slug = op.post_form("/operator/subplatforms", {**form(slug="Wai Mao!"), "owner_id": owner})
    assert bad_slug.status_code == 422
    make_subplatform(engine, "waimao")
    taken = op.post_form("/operator/subplatforms", {**form(), "owner_id": owner})
    assert taken.status_code == 422
    assert (
        i18n.translate("The address /s/%(slug)s is already taken", {"slug": "waimao"}, "zh_CN") in taken.text
    )
    with session_scope(engine) as db:
        assert [s.slug for s in db.scalars(select(Subplatform))] == ["waimao"]


def test_featuring_a_delisted_product_is_refused_on_the_page(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    sp_id = make_subplatform(engine)
    with session_scope(engine) as db:
        product = db.scalars(select(Product)).one()
        product.status = "delisted"
        product_id = product.id
    op = login("op_admin")
    refused = op.post_form(f"/operator/subplatforms/{sp_id}/features", {"products": [str(product_id)]})
    assert refused.status_code == 422
    assert (
        i18n.translate(
            "The product %(name)s is not listed and cannot be featured",
            {"name": product_name("huancui")},
            "zh_CN",
        )
        in refused.text
    )
    with session_scope(engine) as db:
        sp = db.get(Subplatform, sp_id)
        assert sp is not None and len(sp.features) == 2  # unchanged


def test_anyone_sees_the_landing_with_its_theme_and_featured_items(
    app: FastAPI, login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    login("op_admin")  # builds the demo world
    make_subplatform(engine)
    client = new_client(app)
    page = client.get("/s/huancui")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="subplatform-name">环翠区信易贷子平台' in html
    assert "环翠区企业融资专区" in html and "区级风险补偿资金分担" in html
    assert '<link rel="stylesheet" href="/s/huancui/theme.css">' in html
    assert 'style="' not in html  # the content policy allows no inline styles
    assert product_name("huancui") in html and policy_title("huancui") in html
    assert 'href="/login?next=/s/huancui"' in html and 'href="/register"' in html
    assert client.cookies.get(sub.COOKIE) == "huancui"
    css = client.get("/s/huancui/theme.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--blue: #0f766e" in css.text
    assert client.get("/s/no-such-one").status_code == 404
    assert client.get("/s/no-such-one/theme.css").status_code == 404


def test_an_enterprise_entering_through_a_subplatform_comes_back_to_it(
    app: FastAPI, login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    login("op_admin")
    make_subplatform(engine)
    client = new_client(app)
    landing = client.get("/s/huancui")
    login_page = client.get("/login?next=/s/huancui")
    assert 'value="/s/huancui"' in login_page.text  # the login form carries where to come back to
    response = client.post(
        "/login",
        data={
            "username": "ent_admin",
            "password": PASSWORD,
            "next": "/s/huancui",
            "csrf_token": csrf_from(login_page.text),
        },
        follow_redirects=False,
    )
    assert landing.status_code == 200
    assert response.status_code == 303 and response.headers["location"] == "/s/huancui"
    back = client.get("/s/huancui")
    assert 'data-testid="subplatform-home"' in back.text  # signed in: to the workbench, no login button
    assert 'data-testid="subplatform-login"' not in back.text
    home = client.get("/enterprise")
    assert 'data-testid="entered-through"' in home.text
    assert (
        i18n.translate("Entered through the %(name)s sub-platform", {"name": "环翠区信易贷子平台"}, "zh_CN")
        in home.text
    )
    assert product_name("huancui") in home.text and policy_title("huancui") in home.text
    # an enterprise that did not come through a sub-platform sees no such panel
    assert 'data-testid="entered-through"' not in login("ent_staff").client.get("/enterprise").text


def test_statistics_go_only_to_the_owning_department_and_the_operator(
    login: Callable[[str], LoggedIn], engine: Engine, app: FastAPI, settings: Settings
) -> None:
    login("op_admin")
    make_subplatform(engine)  # run by the development and reform commission
    make_subplatform(engine, "rongcheng", owner=FINANCE, region_code="371082", name="荣成市子平台")
    with session_scope(engine) as db:
        refresh(db, settings.home / "lake")
    for username in ("gov_staff", "gov_admin", "op_admin", "op_audit"):
        page = login(username).client.get("/s/huancui/statistics")
        assert page.status_code == 200, username
        assert 'data-testid="headline"' in page.text and 'data-testid="scope-enterprises"' in page.text
        assert "环翠区" in page.text
    gov = login("gov_staff")
    assert gov.client.get("/s/rongcheng/statistics").status_code == 404  # another department's
    mine = gov.client.get("/government/subplatforms")
    assert "环翠区信易贷子平台" in mine.text and "荣成市子平台" not in mine.text
    assert 'href="/government/subplatforms"' in gov.client.get("/government").text
    fund = login("fund_manager")
    assert fund.client.get("/s/huancui/statistics").status_code == 404
    assert fund.client.get("/s/rongcheng/statistics").status_code == 200
    for username in ("bank_admin", "ent_admin", "op_data"):
        assert login(username).client.get("/s/huancui/statistics").status_code == 403, username
    anonymous = new_client(app).get("/s/huancui/statistics", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    # the landing shows the statistics link to its staff only
    assert 'data-testid="subplatform-statistics-link"' in gov.client.get("/s/huancui").text
    assert 'data-testid="subplatform-statistics-link"' not in fund.client.get("/s/huancui").text


def test_the_scoped_console_exports_and_reports_only_its_scope(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    """The sub-platform's console is the government console narrowed: its filters stay inside the district,
    its drill-down links stay on its address, and its Excel, PDF and monthly report carry its name."""
    login("op_admin")
    make_subplatform(engine)
    with session_scope(engine) as db:
        refresh(db, settings.home / "lake")
    gov = login("gov_staff").client
    page = gov.get("/s/huancui/statistics?dim=industry")
    assert page.status_code == 200
    assert 'action="/s/huancui/statistics"' in page.text and 'href="/government/statistics?' not in page.text
    region_options = re.findall(r'<option value="(\d{6})"', page.text)
    assert region_options and all(code.startswith("3710") for code in region_options)
    assert "371082" not in region_options  # 荣成 is not in 环翠's scope
    xlsx = gov.get("/s/huancui/statistics/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "huancui-statistics-" in xlsx.headers["content-disposition"]
    pdf = gov.get("/s/huancui/statistics/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    report = gov.get(f"/s/huancui/statistics/monthly-report.pdf?month={date.today():%Y-%m}")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert "huancui-monthly-report-" in report.headers["content-disposition"]
    # another department's sub-platform's exports are not found, a bank's are forbidden
    make_subplatform(engine, "rongcheng", owner=FINANCE, region_code="371082", name="荣成市子平台")
    assert gov.get("/s/rongcheng/statistics/export.xlsx").status_code == 404
    assert login("bank_admin").client.get("/s/huancui/statistics/export.xlsx").status_code == 403


def test_a_rule_scope_waits_for_the_next_refresh(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    login("op_admin")
    make_subplatform(engine, "waimao", kind="theme", region_code="", scope_expression="exports_12m > 0")
    with session_scope(engine) as db:
        refresh(db, settings.home / "lake")  # the demo world has no indicator snapshot: nothing to evaluate
    gov = login("gov_staff").client
    page = gov.get("/s/waimao/statistics")
    assert page.status_code == 200
    assert 'data-testid="scope-pending"' in page.text and 'data-testid="headline"' not in page.text
    assert i18n.translate("A scope with a rule cannot be shown until then.", {}, "zh_CN") in page.text
    refused = gov.get("/s/waimao/statistics/export.xlsx")
    assert refused.status_code == 409
