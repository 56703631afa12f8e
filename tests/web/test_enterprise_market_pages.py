"""The enterprise's marketplace pages: the supermarket, needs and offers side by side, applying, the
authorisations it signs, and nobody else's objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn, csrf_from
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import Organisation, User
from xinyidai.core import i18n
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.settings import Settings
from xinyidai.data import service as data
from xinyidai.demo import DEMO_PASSWORD
from xinyidai.market import service as market
from xinyidai.market.models import Application, Consent, Need, Order
from xinyidai.market.schemas import OfferInput, ProductInput
from xinyidai.rating import service as rating

KEY_RE = re.compile(r'name="idempotency_key" value="([0-9a-f]+)"')


def who(engine: Engine, username: str) -> Principal:
    with session_scope(engine) as db:
        return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def list_product(engine: Engine, **overrides: object) -> int:
    fields: dict[str, object] = {
        "external_id": "WH-CREDIT-01",
        "name": "鲸e贷",
        "product_type": "credit",
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000"),
        "term_min": 3,
        "term_max": 36,
        "rate_min": Decimal("3.45"),
        "rate_max": Decimal("6.00"),
        "repayment_methods": ["interest_first", "equal_installment"],
        "pure_credit": True,
        "pricing": {"A": Decimal("3.45"), "B": Decimal("4.20"), "C": Decimal("5.50")},
    }
    fields.update(overrides)
    bank, op = who(engine, "bank_admin"), who(engine, "op_admin")
    with session_scope(engine) as db:
        product = market.upsert_product(db, bank, ProductInput.model_validate(fields)).product
        market.submit_product(db, bank, product.id)
        market.review_product(db, op, product.id, approve=True)
        return product.id


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def need_form(page: str, **overrides: object) -> dict[str, object]:
    match = KEY_RE.search(page)
    assert match, "the publish form carries an idempotency key"
    form: dict[str, object] = {
        "idempotency_key": match.group(1),
        "amount": "500,000",
        "term_months": "12",
        "purpose": "working_capital",
        "description": "采购原材料",
        "collateral": "none",
        "valid_days": "30",
        "authorise_takers": "on",
    }
    form.update(overrides)
    return form


def test_publish_a_need_once_compare_offers_and_accept_one(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    product_id = list_product(engine)
    ent = login("ent_admin")
    page = ent.client.get("/enterprise/needs")
    assert page.status_code == 200 and 'data-testid="need-form"' in page.text
    form = need_form(page.text)
    first = ent.post_form("/enterprise/needs", form, follow_redirects=False)
    second = ent.post_form("/enterprise/needs", form, follow_redirects=False)  # a double submit
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(engine, Need) == 1
    need_id = int(first.headers["location"].rsplit("/", 1)[1])
    with session_scope(engine) as db:
        consent = db.scalars(select(Consent).where(Consent.need_id == need_id)).one()
        assert consent.signed_by == "ent_admin"  # "authorise takers" signed with the need

    # two banks take it up, one offers
    manager = who(engine, "bank_manager")
    with session_scope(engine) as db:
        order = market.grab(db, manager, need_id)
        market.make_offer(
            db,
            manager,
            order.id,
            OfferInput(
                product_id=product_id,
                amount=Decimal("480000"),
                rate=Decimal("4.35"),
                term_months=12,
                fees=Decimal("1200"),
                repayment_method="interest_first",
            ),
        )
        order_id = order.id
    detail = ent.client.get(f"/enterprise/needs/{need_id}")
    assert detail.status_code == 200
    assert 'data-testid="offers"' in detail.text and "威海市商业银行" in detail.text
    assert "480,000.00" in detail.text and "4.35%" in detail.text and "1,200.00" in detail.text
    assert f'data-order="{order_id}"' in detail.text

    accepted = ent.post_form(f"/enterprise/needs/{need_id}/offers/{order_id}/accept", follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"].startswith(
        "/enterprise/applications/"
    )
    application = ent.client.get(accepted.headers["location"])
    assert application.status_code == 200 and 'data-testid="event-row"' in application.text
    assert "ent_admin" in application.text
    with session_scope(engine) as db:
        need = db.get(Need, need_id)
        assert need is not None and need.status == "matched"
        assert db.get(Order, order_id).status == "accepted"  # type: ignore[union-attr]
    # accepting again is an illegal move: shown in words, nothing changes
    again = ent.post_form(f"/enterprise/needs/{need_id}/offers/{order_id}/accept")
    assert again.status_code == 409 and 'data-testid="form-error"' in again.text
    assert count(engine, Application) == 1
    # the withdraw button is gone and withdrawing anyway is refused with the state machine's message
    refused = ent.post_form(f"/enterprise/needs/{need_id}/withdraw")
    assert refused.status_code == 409
    expected = i18n.translate(
        "You cannot %(action_label)s now: it is %(state_label)s",
        {"action_label": "withdraw", "state_label": "Matched"},
        "zh_CN",
    )
    assert expected in refused.text


def test_apply_out_of_range_is_refused_in_chinese_and_nothing_is_created(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    product_id = list_product(engine)
    ent = login("ent_admin")
    page = ent.client.get(f"/enterprise/products/{product_id}")
    assert page.status_code == 200 and 'data-testid="consent-text"' in page.text
    assert "授权" in page.text  # the consent text the enterprise agrees to is shown with the checkbox
    key = KEY_RE.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"idempotency_key": key, "amount": "50", "term_months": "12", "purpose": "equipment"}
    refused = ent.post_form(f"/enterprise/products/{product_id}/apply", {**form, "authorise": "on"})
    assert refused.status_code == 422 and 'data-testid="form-error"' in refused.text
    message = i18n.translate(
        "The amount must be between %(low)s and %(high)s yuan",
        {"low": "100,000.00", "high": "3,000,000.00"},
        "zh_CN",
    )
    assert message in refused.text
    assert count(engine, Application) == 0 and count(engine, Consent) == 0

    ok = ent.post_form(
        f"/enterprise/products/{product_id}/apply",
        {**form, "amount": "200000", "authorise": "on"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    again = ent.post_form(
        f"/enterprise/products/{product_id}/apply",
        {**form, "amount": "200000", "authorise": "on"},
        follow_redirects=False,
    )
    assert again.headers["location"] == ok.headers["location"]  # applied once
    assert count(engine, Application) == 1
    shown = ent.client.get(ok.headers["location"])
    assert 'data-testid="submitted"' in shown.text and 'data-testid="withdraw-application"' in shown.text
    listing = ent.client.get("/enterprise/applications")
    assert listing.text.count('data-testid="application-row"') == 1
    withdrawn = ent.post_form(ok.headers["location"].split("?")[0] + "/withdraw", follow_redirects=True)
    assert withdrawn.status_code == 200 and 'data-testid="withdraw-application"' not in withdrawn.text


def deliver(engine: Engine, settings: Settings, tmp_path: Path, source: str, text: str) -> None:
    path = tmp_path / f"{source}.csv"
    path.write_text(text, encoding="utf-8")
    session = session_factory(engine)()
    try:
        data.ingest_files(
            source,
            [path],
            lake=data.open_lake(settings),
            session=session,
            received_at=datetime(2026, 1, 12, tzinfo=UTC),
        )
    finally:
        session.close()


def test_instant_product_shows_its_outcome_at_once(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    product_id = list_product(
        engine,
        external_id="310",
        name="310快贷",
        instant=True,
        auto_disburse=True,
        limit_formula="1000000",
    )
    ent = login("ent_admin")
    supermarket = ent.client.get("/enterprise/products")
    assert supermarket.status_code == 200 and f'data-product="{product_id}"' in supermarket.text

    def apply(amount: str) -> str:
        page = ent.client.get(f"/enterprise/products/{product_id}").text
        key = KEY_RE.search(page).group(1)  # type: ignore[union-attr]
        applied = ent.post_form(
            f"/enterprise/products/{product_id}/apply",
            {"idempotency_key": key, "amount": amount, "term_months": "12", "purpose": "trade"},
            follow_redirects=True,
        )
        assert applied.status_code == 200 and 'data-testid="outcome"' in applied.text
        return applied.text

    # no data about the enterprise yet: refused at once, with the reason in words
    refused = apply("300000")
    assert 'data-testid="outcome-refused"' in refused
    assert i18n.translate("The platform has no data about your enterprise yet", None, "zh_CN") in refused

    # its tax and registration arrive and it is rated: approved and disbursed on the spot ("310")
    with session_scope(engine) as db:
        uscc = market.own_enterprise(db, None, who(engine, "ent_admin")).uscc
    deliver(engine, settings, tmp_path, "registration",
            "uscc,name,founded_on,region_code,industry_code,legal_rep_name,status\n"
            f"{uscc},演示企业,2012-05-01,371002,C13,王海燕,存续\n")  # fmt: skip
    deliver(engine, settings, tmp_path, "tax_monthly",
            "统一社会信用代码,所属期,销售收入,实缴税额,欠税余额\n"
            + "".join(f"{uscc},2025-{m:02d},800000,40000,0\n" for m in range(1, 13)))  # fmt: skip
    with session_scope(engine) as db:
        rating.rate_all(db, data.open_lake(settings), date(2026, 1, 20))
    approved = apply("300000")
    assert 'data-testid="outcome-approved"' in approved and 'data-testid="outcome-loan"' in approved
    assert "300,000.00" in approved
    loans = ent.client.get("/enterprise/loans")
    assert loans.text.count('data-testid="loan-row"') == 1 and "AUTO-" in loans.text
    supermarket = ent.client.get("/enterprise/products")
    assert 'data-testid="eligible"' in supermarket.text and 'data-testid="closest"' not in supermarket.text


def test_supermarket_shows_what_the_enterprise_lacks(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    list_product(engine, grades=["A"], name="优选贷")  # the demo enterprise has no grade: it lacks one
    ent = login("ent_staff")
    page = ent.client.get("/enterprise/products")
    assert page.status_code == 200
    assert 'data-testid="closest"' in page.text and 'data-testid="lack"' in page.text
    assert 'data-testid="not-eligible"' in page.text
    filtered = ent.client.get("/enterprise/products?type=mortgage")
    assert 'data-testid="product-row"' not in filtered.text


def test_give_and_revoke_a_consent_with_the_signed_text(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    bank_id = who(engine, "bank_admin").organisation_id
    ent = login("ent_admin")
    page = ent.client.get("/enterprise/consents")
    assert page.status_code == 200 and 'data-testid="consent-form"' in page.text
    expires = (today_local() + timedelta(days=60)).isoformat()
    form = {
        "institution_id": str(bank_id),
        "report_types": ["full"],
        "purpose": "loan_review",
        "expires_on": expires,
    }
    preview = ent.post_form("/enterprise/consents/preview", form)
    assert preview.status_code == 200
    text = re.search(r'name="signed_text" value="([^"]+)"', preview.text).group(1)  # type: ignore[union-attr]
    assert "威海市商业银行" in text and expires in text
    assert count(engine, Consent) == 0  # reading the text signs nothing

    tampered = ent.post_form("/enterprise/consents", {**form, "signed_text": text + "另加条款"})
    assert tampered.status_code == 409 and count(engine, Consent) == 0
    signed = ent.post_form("/enterprise/consents", {**form, "signed_text": text}, follow_redirects=False)
    assert signed.status_code == 303
    with session_scope(engine) as db:
        consent = db.scalars(select(Consent)).one()
        assert consent.text == text and consent.signed_by == "ent_admin" and consent.status == "given"
        consent_id = consent.id
    listing = ent.client.get("/enterprise/consents")
    assert 'data-testid="revoke"' in listing.text
    revoked = ent.post_form(f"/enterprise/consents/{consent_id}/revoke", follow_redirects=False)
    assert revoked.status_code == 303
    twice = ent.post_form(f"/enterprise/consents/{consent_id}/revoke")
    assert twice.status_code == 409 and 'data-testid="form-error"' in twice.text
    with session_scope(engine) as db:
        assert db.get(Consent, consent_id).status == "revoked"  # type: ignore[union-attr]
    looks = ent.client.get("/enterprise/consents/looks")
    assert looks.status_code == 200


def test_staff_cannot_sign_a_consent(login: Callable[[str], LoggedIn], engine: Engine) -> None:
    bank_id = who(engine, "bank_admin").organisation_id
    staff = login("ent_staff")
    page = staff.client.get("/enterprise/consents")
    assert page.status_code == 200 and 'data-testid="consent-form"' not in page.text
    form = {
        "institution_id": str(bank_id),
        "report_types": ["full"],
        "purpose": "loan_review",
        "expires_on": (today_local() + timedelta(days=30)).isoformat(),
    }
    assert staff.post_form("/enterprise/consents/preview", form).status_code == 403
    assert staff.post_form("/enterprise/consents", {**form, "signed_text": "x"}).status_code == 403
    assert count(engine, Consent) == 0


@pytest.fixture
def other_enterprise(engine: Engine, login: Callable[[str], LoggedIn]) -> Callable[[], LoggedIn]:
    """A user of a second registered enterprise of the demo city."""
    with session_scope(engine) as db:
        mine = db.scalars(select(User).where(User.username == "ent_admin")).one().organisation_id
        other = db.scalars(
            select(Organisation)
            .where(Organisation.kind == OrgKind.ENTERPRISE.value, Organisation.id != mine)
            .order_by(Organisation.id)
        ).first()
        assert other is not None
        accounts.create_user(
            db, other, username="other_ent", display_name="别家企业", roles=[Role.ENTERPRISE_ADMIN],
            password=DEMO_PASSWORD,
        )  # fmt: skip
    return lambda: login("other_ent")


def test_another_enterprise_cannot_open_my_need_or_application(
    login: Callable[[str], LoggedIn], engine: Engine, other_enterprise: Callable[[], LoggedIn]
) -> None:
    product_id = list_product(engine)
    ent = login("ent_admin")
    page = ent.client.get("/enterprise/needs")
    published = ent.post_form("/enterprise/needs", need_form(page.text), follow_redirects=False)
    need_url = published.headers["location"]
    key = KEY_RE.search(ent.client.get(f"/enterprise/products/{product_id}").text).group(1)  # type: ignore[union-attr]
    applied = ent.post_form(
        f"/enterprise/products/{product_id}/apply",
        {"idempotency_key": key, "amount": "200000", "term_months": "6", "purpose": "other"},
        follow_redirects=False,
    )
    application_url = applied.headers["location"].split("?")[0]
    stranger = other_enterprise()
    assert stranger.client.get(need_url).status_code == 404
    assert stranger.client.get(application_url).status_code == 404
    assert stranger.post_form(need_url + "/withdraw").status_code == 404
    assert stranger.post_form(application_url + "/withdraw").status_code == 404
    assert 'data-testid="need-row"' not in stranger.client.get("/enterprise/needs").text
    with session_scope(engine) as db:
        assert db.scalars(select(Need)).one().status == "open"
        assert db.scalars(select(Application)).one().status == "submitted"


def test_navigation_points_at_the_marketplace_pages(login: Callable[[str], LoggedIn]) -> None:
    ent = login("ent_staff")
    home = ent.client.get("/enterprise")
    for path in (
        "/enterprise/needs",
        "/enterprise/consents",
        "/enterprise/applications",
        "/enterprise/products",
    ):
        assert f'href="{path}"' in home.text
    assert csrf_from(home.text)
