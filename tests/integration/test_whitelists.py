"""Whitelists (白名单) and dispatch (派单) on a real database (SQLite and PostgreSQL): line-by-line
validation that writes nothing on a bad file, dispatch within capacity and coverage, tracking."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import EnterpriseProfile, Organisation, User
from xinyidai.core.access import OrgKind, Principal
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import NotFound, PermissionDenied
from xinyidai.core.uscc import check_character
from xinyidai.data.models import RegistryEnterprise
from xinyidai.market import service as market
from xinyidai.market.models import Application, Assignment, Need, Product, Whitelist, WhitelistEntry
from xinyidai.market.whitelists import WhitelistRejected, parse

HEADER = "统一社会信用代码,企业名称,项目,推荐理由\n"


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


def registry(db: Session, count: int) -> list[RegistryEnterprise]:
    return list(db.scalars(select(RegistryEnterprise).order_by(RegistryEnterprise.uscc).limit(count)))


def wrong_check(code: str) -> str:
    right = check_character(code[:17])
    return code[:17] + ("1" if right != "1" else "2")


def csv_of(rows: list[tuple[str, str, str, str]]) -> str:
    return HEADER + "".join(",".join(r) + "\n" for r in rows)


def institution(db: Session, key_name: str) -> Organisation:
    return db.scalars(select(Organisation).where(Organisation.name == key_name)).one()


def list_product(db: Session, org: Organisation, **kw: object) -> Product:
    values: dict[str, object] = {
        "institution_id": org.id,
        "external_id": f"P-{org.id}-{kw.get('name', 'x')}",
        "name": "鲸e贷",
        "product_type": "credit",
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000"),
        "term_min": 3,
        "term_max": 36,
        "rate_min": Decimal("3.45"),
        "rate_max": Decimal("6.00"),
        "status": "listed",
        "regions": [],
        "industries": [],
        "sizes": [],
        "grades": [],
    }
    values.update(kw)
    product = Product(**values)
    db.add(product)
    db.flush()
    return product


def open_need(db: Session, enterprise: Organisation, amount: int, term: int = 12) -> Need:
    profile = db.get(EnterpriseProfile, enterprise.id)
    assert profile is not None
    need = Need(
        enterprise_id=enterprise.id,
        uscc=profile.uscc,
        enterprise_name=enterprise.name,
        amount=Decimal(amount),
        term_months=term,
        purpose="流动资金",
        region_code=enterprise.region_code or "",
        industry_section=profile.industry_section,
        size_class=profile.size_class,
        grade="B",
        expires_on=today_local() + timedelta(days=30),
    )
    db.add(need)
    db.flush()
    return need


@pytest.fixture
def people(world: list[demo.DemoLogin], engine: Engine) -> dict[str, Principal]:
    with session_scope(engine) as db:
        return {n: who(db, n) for n in ("gov_admin", "gov_staff", "bank_manager", "bank_risk", "op_admin")}


def test_a_good_csv_in_utf8_or_gb18030_and_an_xlsx_are_saved_whole(
    engine: Engine, people: dict[str, Principal]
) -> None:
    with session_scope(engine) as db:
        firms = registry(db, 6)
        rows = [(f.uscc, f.name, "2026年专精特新贷款", "专精特新中小企业") for f in firms[:3]]
        text = csv_of(rows)
        utf8 = market.upload_whitelist(
            db, people["gov_staff"], filename="名单.csv", data=text.encode("utf-8-sig")
        )
        gb = market.upload_whitelist(
            db, people["gov_staff"], filename="名单.csv", data=text.encode("gb18030")
        )
        assert utf8.programme == gb.programme == "2026年专精特新贷款"
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["说明：2026年第一批"])  # a title row above the header is fine
        sheet.append(["统一社会信用代码", "企业名称", "推荐理由"])
        for f in firms[3:]:
            sheet.append([f.uscc, f.name, "首贷户"])
        buffer = io.BytesIO()
        book.save(buffer)
        xlsx = market.upload_whitelist(
            db, people["gov_admin"], filename="list.xlsx", data=buffer.getvalue(), programme="首贷培育"
        )
        assert (utf8.entries, gb.entries, xlsx.entries) == (3, 3, 3)
        names = db.scalars(select(WhitelistEntry.enterprise_name).where(WhitelistEntry.whitelist_id == gb.id))
        assert sorted(names) == sorted(f.name for f in firms[:3])  # Chinese read back right from GB18030
        assert xlsx.programme == "首贷培育"
        # department staff see their department's lists; the lists belong to it
        assert {w.id for w in market.list_whitelists(db, people["gov_staff"])} == {utf8.id, gb.id, xlsx.id}


def test_every_bad_line_is_named_and_nothing_is_written(engine: Engine, people: dict[str, Principal]) -> None:
    with session_scope(engine) as db:
        firms = registry(db, 4)
        rows = [
            (firms[0].uscc, firms[0].name, "专项", ""),
            (wrong_check(firms[1].uscc), firms[1].name, "专项", ""),  # line 3: check character
            (firms[0].uscc, "重复企业", "专项", ""),  # line 4: duplicate of line 2
            ("", firms[2].name, "专项", ""),  # line 5: no code
            (firms[3].uscc, "", "专项", ""),  # line 6: no name
        ]
        with pytest.raises(WhitelistRejected) as refused:
            market.upload_whitelist(db, people["gov_staff"], filename="bad.csv", data=csv_of(rows).encode())
        lines = [(p.line, p.message) for p in refused.value.problems]
        assert [line for line, _ in lines] == [3, 4, 5, 6]
        assert "check character" in lines[0][1]
        assert "already on line" in lines[1][1] and refused.value.problems[1].params["first"] == 2
    with session_scope(engine) as db:
        assert db.scalar(select(func.count()).select_from(Whitelist)) == 0
        assert db.scalar(select(func.count()).select_from(WhitelistEntry)) == 0


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("broken.xlsx", b"PK\x03\x04 this is not really a workbook", "not a readable Excel workbook"),
        (
            "list.csv",
            "统一社会信用代码,企业名称\n".encode() + b"\xff\xfe\x80\x80,\xff\n",
            "neither UTF-8 nor GB18030",
        ),
        ("list.csv", b"", "empty"),
        ("list.csv", "企业名称,理由\n某公司,x\n".encode(), "No header row"),
    ],
)
def test_unreadable_files_are_refused_whole(name: str, data: bytes, code: str) -> None:
    with pytest.raises(WhitelistRejected) as refused:
        parse(name, data, "专项")
    assert code in refused.value.problems[0].message and refused.value.problems[0].line == 0


def test_one_programme_per_file(engine: Engine, people: dict[str, Principal]) -> None:
    with session_scope(engine) as db:
        firms = registry(db, 2)
        rows = [(firms[0].uscc, firms[0].name, "甲", ""), (firms[1].uscc, firms[1].name, "乙", "")]
        with pytest.raises(WhitelistRejected) as refused:
            parse("x.csv", csv_of(rows).encode())
        assert (
            refused.value.problems[0].line == 3
            and "one programme per file" in refused.value.problems[0].message
        )


def test_dispatch_respects_capacity_and_coverage_and_the_whitelist_is_tracked(
    engine: Engine, people: dict[str, Principal]
) -> None:
    with session_scope(engine) as db:
        bank = institution(db, "威海市商业银行")
        ccb = institution(db, "中国建设银行威海分行")
        list_product(db, bank, name="鲸e贷")
        list_product(db, ccb, name="建行快贷", regions=["370200"])  # a Qingdao product: fits nobody here
        enterprises = list(
            db.scalars(
                select(Organisation)
                .where(Organisation.kind == OrgKind.ENTERPRISE.value)
                .order_by(Organisation.id)
            )
        )
        needs = [open_need(db, e, 500_000) for e in enterprises[:3]]
        open_need(db, enterprises[3], 50_000_000)  # above every product's range
        firms = registry(db, 2)
        wl = market.upload_whitelist(
            db,
            people["gov_admin"],
            filename="w.csv",
            data=csv_of([(f.uscc, f.name, "专项", "") for f in firms]).encode(),
        )
        wl_id, need_ids = wl.id, {n.id for n in needs}

    with session_scope(engine) as db, pytest.raises(PermissionDenied):
        market.dispatch(db, None, people["gov_staff"], include_needs=True)

    with session_scope(engine) as db:
        # The bank has one account manager: 4 a day is its capacity. The needs (grade B) go first, then
        # one of the whitelisted (unrated) enterprises.
        result = market.dispatch(
            db, None, people["gov_admin"], include_needs=True, whitelist_id=wl_id, per_manager=4, slack=None
        )
        assert result.run.needs == 6 and result.run.assigned == 4
        assert result.run.gap <= Decimal("0.000001")
        rows = db.scalars(select(Assignment).where(Assignment.run_id == result.run.id)).all()
        assert {a.institution_id for a in rows} == {bank.id}  # the CCB product fits nobody
        assert all(a.need_id in need_ids or a.whitelist_entry_id for a in rows)
        codes = {r["code"] for r in rows[0].reasons}
        assert {"product", "coverage", "probability", "capacity"} <= codes and codes & {"grade", "unrated"}
        # The same day, the bank's capacity is used up: a second run assigns nothing.
        again = market.dispatch(
            db, None, people["gov_admin"], include_needs=True, whitelist_id=wl_id, per_manager=4, slack=None
        )
        assert again.run.needs == 2 and again.run.assigned == 0  # one need, one entry left
        run_id = result.run.id

    with session_scope(engine) as db:
        manager = people["bank_manager"]
        mine, total = market.institution_assignments(db, manager)
        assert total == 4
        entry_assignment = next(r.assignment for r in mine if r.assignment.whitelist_entry_id)
        need_assignment = next(r.assignment for r in mine if r.assignment.need_id)
        market.mark_assignment(db, manager, need_assignment.id, "contacted")
        with pytest.raises(PermissionDenied):
            market.mark_assignment(db, people["bank_risk"], need_assignment.id, "declined")
        summary = market.run_summary(db, people["gov_admin"], run_id)
        assert summary.total == 4 and summary.per_institution[0][1] == 4
        with pytest.raises(NotFound):
            market.run_summary(db, people["op_admin"], 999_999)
        entry = db.get(WhitelistEntry, entry_assignment.whitelist_entry_id)
        assert entry is not None and entry.status == "assigned" and entry.institution_id == bank.id
        market.mark_assignment(db, manager, entry_assignment.id, "contacted")
        assert entry.status == "contacted"
        # The enterprise applies to the bank and is approved: the whitelist shows it, with the amount.
        db.add(
            Application(
                enterprise_id=enterprises[0].id,
                uscc=entry.uscc,
                enterprise_name=entry.enterprise_name,
                institution_id=bank.id,
                product_id=db.scalars(select(Product.id).where(Product.institution_id == bank.id)).one(),
                amount=Decimal("300000"),
                term_months=12,
                status="approved",
                approved_amount=Decimal("280000"),
            )
        )
        db.flush()
        view = market.whitelist_view(db, people["gov_admin"], wl_id)
        assert view.counts["approved"] == 1 and view.approved_amount == Decimal("280000")

    with session_scope(engine) as db:
        # The bank declines a need: a later dispatch never offers it that need again.
        declined = market.mark_assignment(db, people["bank_manager"], need_assignment.id, "declined")
        later = market.dispatch(db, None, people["op_admin"], include_needs=True, per_manager=50, slack=None)
        given = db.scalars(select(Assignment.need_id).where(Assignment.run_id == later.run.id)).all()
        # it was a candidate again (with the need no product fits), but only the bank fits it
        assert later.run.needs == 2 and given == [] and declined.need_id is not None
