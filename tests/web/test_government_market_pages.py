"""The department's whitelist, dispatch and ranking pages, and the institution's dispatched list."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from tests.conftest import LoggedIn
from tests.integration.test_whitelists import (
    csv_of,
    institution,
    list_product,
    open_need,
    registry,
    wrong_check,
)
from xinyidai.accounts.models import Organisation
from xinyidai.core.access import OrgKind
from xinyidai.core.database import session_scope
from xinyidai.core.uscc import make_uscc
from xinyidai.market.models import (
    Application,
    ApplicationEvent,
    Assignment,
    DispatchRun,
    Loan,
    Product,
    Whitelist,
)


def upload(client: LoggedIn, name: str, data: bytes, programme: str = "") -> object:
    return client.client.post(
        "/government/whitelists",
        data={"csrf_token": client.csrf, "programme": programme},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )


def test_a_department_uploads_a_whitelist_and_a_bad_file_is_reported_line_by_line(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    with session_scope(engine) as db:
        firms = [(f.uscc, f.name) for f in registry(db, 3)]
    staff = login("gov_staff")
    page = staff.client.get("/government/whitelists")
    assert page.status_code == 200 and 'data-testid="upload-form"' in page.text

    bad = csv_of(
        [(firms[0][0], firms[0][1], "专项", ""), (wrong_check(firms[1][0]), firms[1][1], "专项", "")]
    )
    refused = upload(staff, "名单.csv", bad.encode("gb18030"))
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert refused.text.count('data-testid="problem-row"') == 1  # type: ignore[attr-defined]
    assert "<td>3</td>" in refused.text and "校验" in refused.text  # type: ignore[attr-defined]
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Whitelist)) == 0

    good = csv_of([(code, name, "首贷培育", "首贷户") for code, name in firms])
    saved = upload(staff, "名单.csv", good.encode("gb18030"))
    assert saved.status_code == 303  # type: ignore[attr-defined]
    detail = staff.client.get(saved.headers["location"])  # type: ignore[attr-defined]
    assert detail.status_code == 200 and detail.text.count('data-testid="entry-row"') == 3
    assert "首贷培育" in detail.text and firms[0][1] in detail.text
    # The staff member may not dispatch it: no dispatch link, and the dispatch page answers 403.
    assert "/government/dispatch?whitelist=" not in detail.text
    assert staff.client.get("/government/dispatch").status_code == 403
    denied = staff.post_form("/government/dispatch", {"include_needs": "on"}, follow_redirects=False)
    assert denied.status_code == 403


def test_the_department_admin_dispatches_and_the_bank_sees_only_its_own(
    login: Callable[[str], LoggedIn], engine: Engine
) -> None:
    with session_scope(engine) as db:
        bank = institution(db, "威海市商业银行")
        ccb = institution(db, "中国建设银行威海分行")
        list_product(db, bank, name="鲸e贷")
        enterprises = list(
            db.scalars(
                select(Organisation)
                .where(Organisation.kind == OrgKind.ENTERPRISE.value)
                .order_by(Organisation.id)
            )
        )
        for e in enterprises[:3]:
            open_need(db, e, 500_000)
        other_run = DispatchRun(dispatched_by="op_admin", organisation_id=ccb.id, needs=1, institutions=1)
        db.add(other_run)
        db.flush()
        foreign = Assignment(
            run_id=other_run.id, institution_id=ccb.id, uscc=make_uscc("371002", "MA3C4D5E"), reasons=[]
        )
        db.add(foreign)
        db.flush()
        foreign_id = foreign.id

    admin = login("gov_admin")
    form = admin.client.get("/government/dispatch")
    assert form.status_code == 200 and 'data-testid="dispatch-form"' in form.text
    ran = admin.post_form(
        "/government/dispatch",
        {"include_needs": "on", "per_manager": "10", "slack": "20"},
        follow_redirects=False,
    )
    assert ran.status_code == 303, ran.text
    result = admin.client.get(ran.headers["location"])
    assert result.status_code == 200
    assert re.search(r'data-testid="assigned">3<', result.text)
    assert result.text.count('data-testid="assignment-row"') == 3
    assert "威海市商业银行" in result.text and "鲸e贷" in result.text
    assert "预期成功概率" in result.text or "Expected chance" in result.text  # the reasons, in words
    nothing = admin.post_form("/government/dispatch", {}, follow_redirects=False)
    assert nothing.status_code == 422 and 'data-testid="form-error"' in nothing.text

    manager = login("bank_manager")
    mine = manager.client.get("/institution/assignments")
    assert mine.status_code == 200 and mine.text.count('data-testid="my-assignment-row"') == 3
    assert make_uscc("371002", "MA3C4D5E") not in mine.text  # the CCB's assignment is not shown
    with session_scope(engine) as db:
        first = db.scalars(
            select(Assignment.id).where(Assignment.institution_id == bank.id).order_by(Assignment.id)
        ).first()
    done = manager.post_form(f"/institution/assignments/{first}/contacted", follow_redirects=False)
    assert done.status_code == 303
    again = manager.post_form(f"/institution/assignments/{first}/contacted", follow_redirects=False)
    assert again.status_code == 409  # already contacted: an illegal move, shown on the page
    other = manager.post_form(f"/institution/assignments/{foreign_id}/declined", follow_redirects=False)
    assert other.status_code == 404  # another institution's assignment does not exist for this bank
    with session_scope(engine) as db:
        assert db.get(Assignment, foreign_id).status == "assigned"  # type: ignore[union-attr]
        assert db.get(Assignment, first).status == "contacted"  # type: ignore[union-attr]
    risk = login("bank_risk")
    assert risk.client.get("/institution/assignments").status_code == 200
    assert risk.post_form(f"/institution/assignments/{first}/declined").status_code == 403


def test_the_ranking_by_period_and_its_excel_export(login: Callable[[str], LoggedIn], engine: Engine) -> None:
    with session_scope(engine) as db:
        bank = institution(db, "威海市商业银行")
        product = list_product(db, bank, name="鲸e贷")
        ent = db.scalars(select(Organisation).where(Organisation.kind == OrgKind.ENTERPRISE.value)).first()
        assert ent is not None
        submitted = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
        for k, (status, hours) in enumerate((("approved", 5), ("rejected", 20), ("disbursed", 8))):
            app = Application(
                enterprise_id=ent.id,
                uscc=f"U{k}",
                enterprise_name=ent.name,
                institution_id=bank.id,
                product_id=product.id,
                amount=Decimal("500000"),
                term_months=12,
                status=status,
                created_at=submitted,
                updated_at=submitted,
            )
            db.add(app)
            db.flush()
            db.add(
                ApplicationEvent(
                    application_id=app.id,
                    from_status="submitted",
                    to_status="accepted",
                    actor_username="bank_manager",
                    actor_organisation_id=bank.id,
                    occurred_at=submitted + timedelta(hours=hours),
                )
            )
            if status == "disbursed":
                db.add(
                    Loan(
                        application_id=app.id,
                        institution_id=bank.id,
                        enterprise_id=ent.id,
                        uscc=f"U{k}",
                        product_id=product.id,
                        amount=Decimal("400000"),
                        rate=Decimal("4.2000"),
                        term_months=12,
                        disbursed_on=submitted.date(),
                        maturity_on=submitted.date() + timedelta(days=365),
                        outstanding=Decimal("400000"),
                    )
                )
        db.flush()
        assert db.scalar(select(func.count()).select_from(Product)) == 1

    admin = login("gov_admin")
    page = admin.client.get("/government/ranking?kind=quarter&period=2026-Q1")
    assert page.status_code == 200
    first_row = page.text[page.text.index('data-testid="ranking-row"') :]
    cells = re.findall(r"<td>([^<]*)</td>", first_row)[:8]
    assert cells[1] == "威海市商业银行" and cells[2] == "3"  # three applications
    assert cells[3] == "8.0" and cells[4] == "66.7%"  # median 8 h; 2 approved of 3 decided
    assert cells[5] == "1" and cells[6] == "400,000.00" and cells[7] == "4.2000"
    assert admin.client.get("/government/ranking?kind=month&period=2026-04").status_code == 200
    assert admin.client.get("/government/ranking?kind=year&period=nonsense").status_code == 200
    export = admin.client.get("/government/ranking/export?kind=quarter&period=2026-Q1")
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert "2026-Q1" in export.headers["content-disposition"]
    assert login("bank_admin").client.get("/government/ranking").status_code == 403
