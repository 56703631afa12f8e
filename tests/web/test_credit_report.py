"""The credit report: the enterprise reads its concise report, an institution the full one; personal data is
masked in the page, the PDF and the JSON; every look is recorded; everyone else is refused."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from tests.conftest import LoggedIn, new_client
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.core import i18n
from xinyidai.core.audit import AuditRecord
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_factory, session_scope
from xinyidai.core.settings import Settings
from xinyidai.core.uscc import ALPHABET, make_uscc
from xinyidai.data import service as data
from xinyidai.market import service as market
from xinyidai.market.models import Consent, ReportQuery
from xinyidai.market.schemas import ConsentInput
from xinyidai.rating import service as rating

AS_OF = date(2026, 1, 20)
RECEIVED = datetime(2026, 1, 5, tzinfo=UTC)
PEERS = 30  # the enterprise and 29 firms of the same industry (C13) and size (micro)
OWN_RANK = 20  # the enterprise's sales are the 21st smallest of the 30
NAME = "威海海燕食品有限公司"
LEGAL_REP, ID_NUMBER, PHONE = "赵德明", "370202198209092334", "15637224329"
MASKED_REP, MASKED_ID, MASKED_PHONE = "赵**", "370202********2334", "156****4329"
MORTGAGEE = "威海市商业银行"


def deliver(engine: Engine, settings: Settings, folder: Path, source: str, text: str) -> None:
    path = folder / f"{source}.csv"
    path.write_text(text, encoding="utf-8")
    session = session_factory(engine)()
    try:
        data.ingest_files(
            source, [path], lake=data.open_lake(settings), session=session, received_at=RECEIVED
        )
    finally:
        session.close()


def peer_usccs() -> list[str]:
    return [make_uscc("371002", "MB" + ALPHABET[n // 31] * 5 + ALPHABET[n % 31]) for n in range(PEERS - 1)]


def own_uscc(engine: Engine) -> str:
    with session_scope(engine) as db:
        user = db.scalars(select(User).where(User.username == "ent_admin")).one()
        return user.organisation.enterprise.uscc


MONTHS = [f"{2024 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]  # 2024-01 … 2025-12


@pytest.fixture
def city(engine: Engine, settings: Settings, tmp_path: Path, world: object) -> str:
    """A small city rated as of AS_OF: the demo enterprise among 29 peers, 24 months of declarations, its
    headcount and electricity, a court case, a mortgage and a patent. Returns the enterprise's USCC."""
    uscc = own_uscc(engine)
    firms = peer_usccs()
    firms.insert(OWN_RANK, uscc)
    reg = "uscc,name,founded_on,region_code,industry_code,legal_rep_name,legal_rep_id_number,legal_rep_phone,"
    reg += "status\n"
    for n, code in enumerate(firms):
        name, rep, id_number, phone = (
            (NAME, LEGAL_REP, ID_NUMBER, PHONE)
            if code == uscc
            else (f"威海同行{n}食品有限公司", "李同行", f"37020219800101{n:04d}", f"1390000{n:04d}")
        )
        reg += f"{code},{name},2015-03-0{1 + n % 9},371002,C13,{rep},{id_number},{phone},存续\n"
    deliver(engine, settings, tmp_path, "registration", reg)
    tax = "uscc,period,sales,tax_paid,tax_arrears\n" + "".join(
        f"{code},{month},{10000 * (rank + 1)},{300 * (rank + 1)},0\n"
        for rank, code in enumerate(firms)
        for month in MONTHS
    )
    deliver(engine, settings, tmp_path, "tax_monthly", tax)
    deliver(
        engine,
        settings,
        tmp_path,
        "social_security",
        "uscc,period,insured\n" + "".join(f"{uscc},{month},5\n" for month in MONTHS),
    )
    deliver(
        engine,
        settings,
        tmp_path,
        "electricity",
        "uscc,period,usage\n"
        + "".join(f"{uscc},{month},{1000 + 10 * n}\n" for n, month in enumerate(MONTHS)),
    )
    deliver(
        engine,
        settings,
        tmp_path,
        "court_cases",
        f"uscc,case_number,role,case_type,cause,amount,filed_on\n{uscc},(2025)鲁1002民初77号,被告,民事,买卖合同纠纷,"
        "56000,2025-06-01\n",
    )
    deliver(
        engine,
        settings,
        tmp_path,
        "real_estate_mortgages",
        f"uscc,certificate_number,registered_on,secured_amount,mortgagee,status\n{uscc},鲁(2024)威海市不动产证明第0000077号,"
        f"2024-04-01,3000000,{MORTGAGEE},现势\n",
    )
    deliver(
        engine,
        settings,
        tmp_path,
        "patents",
        f"uscc,patent_number,patent_type,filed_on,legal_status\n{uscc},202410000077.1,发明,2024-02-01,有效\n",
    )
    with session_scope(engine) as db:
        rating.rate_all(db, data.open_lake(settings), AS_OF)
    authorise_bank(engine)
    return uscc


def authorise_bank(engine: Engine) -> None:
    """The enterprise authorises its bank to read its full report for loan review and post-loan management."""
    with session_scope(engine) as db:
        ent = accounts.principal_for(db.scalars(select(User).where(User.username == "ent_admin")).one())
        bank = db.scalars(select(User).where(User.username == "bank_manager")).one()
        for purpose in ("loan_review", "post_loan"):
            market.give_consent(
                db,
                ent,
                ConsentInput(
                    institution_id=bank.organisation_id,
                    purpose=purpose,
                    expires_on=today_local() + timedelta(days=30),
                ),
            )


def report_views(engine: Engine) -> list[AuditRecord]:
    with session_scope(engine) as db:
        records = list(
            db.scalars(
                select(AuditRecord)
                .where(AuditRecord.event_type == "credit_report.viewed")
                .order_by(AuditRecord.id)
            )
        )
        db.expunge_all()
        return records


def pdf_strings(pdf: bytes) -> str:
    """The PDF's streams inflated and its UTF-16 strings decoded: the metadata and the font names."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    raw = b"\n".join(chunks)
    texts = [
        bytes.fromhex(h.decode()).decode("utf-16-be", "replace")
        for h in re.findall(rb"<[Ff][Ee][Ff][Ff]([0-9A-Fa-f]+)>", raw)
    ]
    return raw.decode("latin-1") + "\n" + "\n".join(texts)


def pdf_text(pdf: bytes, folder: Path) -> str | None:
    """The PDF's text by pdftotext or pypdf, whichever is installed (None when neither is)."""
    if shutil.which("pdftotext"):
        path = folder / "report.pdf"
        path.write_bytes(pdf)
        return subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout
    try:
        import pypdf  # type: ignore[import-not-found]
    except ImportError:
        return None
    import io

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_the_enterprise_sees_its_concise_report(login: Callable[[str], LoggedIn], city: str) -> None:
    page = login("ent_admin").client.get("/enterprise/report")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert f'data-testid="enterprise-name">{NAME}<' in html and f'data-testid="uscc">{city}<' in html
    assert re.search(r'data-testid="grade">[ABCD]<', html) and 'data-testid="reasons-down"' in html
    assert html.count('data-testid="indicator-row"') > 60 and html.count('data-testid="percentile"') > 20
    # 24 months of each series: one unbroken line per chart
    for key in ("sales", "tax_paid", "insured", "electricity"):
        chart = html.split(f'data-testid="chart-{key}"')[1].split("</figure>")[0]
        assert (
            chart.count("<polyline") == 1
            and len(re.search(r'points="([^"]+)"', chart).group(1).split()) == 24
        )  # type: ignore[union-attr]
    assert 'data-testid="records-court_cases"' in html and "(2025)鲁1002民初77号" in html
    assert 'data-testid="records-real_estate_mortgages"' in html and "0000077" in html
    # masked, and the concise version shows neither the ID number and phone nor other parties
    assert f'data-testid="legal-representative">{MASKED_REP}<' in html
    for secret in (LEGAL_REP, ID_NUMBER, PHONE, MASKED_ID, MASKED_PHONE, MORTGAGEE):
        assert secret not in html
    assert 'data-testid="report-number">XYD20260120' in html


def test_the_pdf_is_a_real_pdf_with_the_enterprise_in_chinese(
    login: Callable[[str], LoggedIn], city: str, tmp_path: Path
) -> None:
    client = login("ent_admin").client
    response = client.get("/enterprise/report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith(f'attachment; filename="credit-report-{city}-')
    pdf = response.content
    assert pdf.startswith(b"%PDF") and b"%%EOF" in pdf[-64:]
    inside = pdf_strings(pdf)
    assert NAME in inside  # the document title, in Chinese
    assert re.search(r"/BaseFont /[A-Z]+\+Noto-?Sans-?CJK", inside)  # set in Debian's CJK font
    text = pdf_text(pdf, tmp_path)
    if text is not None:
        assert NAME in text.replace(" ", "") and MASKED_REP in text
    for secret in (LEGAL_REP, ID_NUMBER, PHONE):
        assert secret not in inside and (text is None or secret not in text)
    full = client.get("/enterprise/report.pdf?version=full").content
    assert ID_NUMBER not in pdf_strings(full) and PHONE not in pdf_strings(full)


def test_a_bank_reads_the_full_version_masked(login: Callable[[str], LoggedIn], city: str) -> None:
    bank = login("bank_manager").client
    page = bank.get(f"/reports/{city}")
    assert page.status_code == 200
    html = page.text
    assert f'data-testid="legal-rep-id">{MASKED_ID}<' in html
    assert f'data-testid="legal-rep-phone">{MASKED_PHONE}<' in html
    assert MORTGAGEE in html  # the full version names the other parties
    for secret in (LEGAL_REP, ID_NUMBER, PHONE):
        assert secret not in html

    answer = bank.get(f"/api/v1/reports/{city}", params={"purpose": "post_loan"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["version"] == "full" and body["purpose"] == "post_loan" and body["as_of"] == AS_OF.isoformat()
    assert body["basics"]["legal_representative"] == MASKED_REP
    assert (
        body["basics"]["legal_rep_id_number"] == MASKED_ID
        and body["basics"]["legal_rep_phone"] == MASKED_PHONE
    )
    for secret in (LEGAL_REP, ID_NUMBER, PHONE):
        assert secret not in answer.text
    assert body["peer_group"] == {"industry_division": "13", "size_class": "micro"}
    sales = next(i for d in body["dimensions"] for i in d["indicators"] if i["id"] == "sales_12m")
    assert sales["value"] == 12 * 10000 * (OWN_RANK + 1)
    assert sales["peer_level"] == "industry_size" and sales["peer_firms"] == PEERS
    assert sales["percentile"] == pytest.approx(100 * OWN_RANK / (PEERS - 1), abs=0.1)
    assert len(body["months"]) == 24 and body["months"][0]["month"] == "2024-01-01"
    assert body["months"][-1]["sales"] == f"{10000 * (OWN_RANK + 1)}.00"  # amounts exact, as strings
    records = {r["source"]: r for r in body["records"]}
    assert records["court_cases"]["total"] == 1 and records["court_cases"]["rows"][0]["amount"] == "56000.00"
    assert records["real_estate_mortgages"]["rows"][0]["mortgagee"] == MORTGAGEE
    assert bank.get(f"/api/v1/reports/{city}", params={"purpose": "self_inquiry"}).status_code == 422

    pdf = bank.get(f"/reports/{city}.pdf").content
    assert pdf.startswith(b"%PDF") and ID_NUMBER not in pdf_strings(pdf)


def test_the_report_explains_the_rating_like_the_rating_service(
    login: Callable[[str], LoggedIn], city: str, engine: Engine, settings: Settings
) -> None:
    body = login("bank_risk").client.get(f"/api/v1/reports/{city}").json()
    with session_scope(engine) as db:
        rated = rating.enterprise_rating(db, data.open_lake(settings), city)
    assert (body["rating"]["grade"], body["rating"]["score"]) == (rated.grade, rated.score)
    assert {k: body["rating"][k] for k in rated.reasons} == rated.reasons


def test_a_re_rating_of_the_day_refreshes_the_report(
    login: Callable[[str], LoggedIn], city: str, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    bank = login("bank_manager").client
    records = bank.get(f"/api/v1/reports/{city}").json()["records"]
    assert next(r for r in records if r["source"] == "dishonest_debtors")["total"] == 0
    deliver(
        engine,
        settings,
        tmp_path,
        "dishonest_debtors",
        f"uscc,case_number,listed_on\n{city},(2025)鲁1002执9号,2025-12-20\n",
    )
    with session_scope(engine) as db:
        rating.rate_all(db, data.open_lake(settings), AS_OF, recompute_indicators=True)
    body = bank.get(f"/api/v1/reports/{city}").json()
    assert body["rating"]["grade"] == "D" and body["rating"]["knock_out"]
    assert next(r for r in body["records"] if r["source"] == "dishonest_debtors")["total"] == 1


def test_every_look_is_recorded(login: Callable[[str], LoggedIn], city: str, engine: Engine) -> None:
    ent, bank = login("ent_admin"), login("bank_manager")
    before = len(report_views(engine))
    ent.client.get("/enterprise/report")
    ent.client.get("/enterprise/report.pdf?version=full")
    bank.client.get(f"/reports/{city}?purpose=loan_review")
    bank.client.get(f"/api/v1/reports/{city}?purpose=post_loan")
    views = report_views(engine)[before:]
    assert [
        (v.actor_username, v.detail["version"], v.detail["purpose"], v.detail["channel"]) for v in views
    ] == [
        ("ent_admin", "concise", "self_inquiry", "page"),
        ("ent_admin", "full", "self_inquiry", "pdf"),
        ("bank_manager", "full", "loan_review", "page"),
        ("bank_manager", "full", "post_loan", "json"),
    ]
    assert all(v.object_type == "enterprise" and v.object_id == city and v.result == "success" for v in views)
    assert all(v.actor_user_id is not None and v.actor_organisation_id is not None for v in views)
    assert all(v.detail["as_of"] == AS_OF.isoformat() for v in views)


def test_others_are_refused(
    app: FastAPI, login: Callable[[str], LoggedIn], city: str, engine: Engine
) -> None:
    other = peer_usccs()[0]
    ent = login("ent_admin").client
    assert ent.get(f"/reports/{other}").status_code in (403, 404)
    assert ent.get(f"/api/v1/reports/{other}").status_code in (403, 404)
    government = login("gov_staff").client
    assert government.get(f"/reports/{city}").status_code == 403
    assert government.get(f"/api/v1/reports/{city}").status_code == 403
    assert login("bank_manager").client.get("/enterprise/report").status_code == 403
    before = len(report_views(engine))
    anonymous = new_client(app)
    assert anonymous.get(f"/api/v1/reports/{city}").status_code == 401
    assert anonymous.get(f"/reports/{city}", follow_redirects=False).headers["location"].startswith("/login")
    assert len(report_views(engine)) == before  # refusals show nothing, so they are no looks


def test_an_unknown_or_unrated_enterprise_is_not_found(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    bank = login("bank_manager").client
    ent = login("ent_admin").client
    unrated = ent.get("/enterprise/report")
    assert unrated.status_code == 404 and i18n.translate("This enterprise has no rating yet") in unrated.text
    with session_scope(engine) as db:
        rating.rate_all(db, data.open_lake(settings), AS_OF)  # nobody is in the lake: nobody is rated
    problem = bank.get("/api/v1/reports/91110000600037341L").json()  # valid, but in no registry
    assert problem["status"] == 403  # nobody there gave a consent, whether it exists or not
    authorise_bank(engine)
    assert bank.get(f"/api/v1/reports/{own_uscc(engine)}").json()["detail"] == i18n.translate(
        "This enterprise has no rating yet"
    )
    assert bank.get("/reports/not-a-code").status_code == 404
    assert report_views(engine) == []


def test_an_institution_without_a_live_consent_is_refused_and_the_attempt_recorded(
    login: Callable[[str], LoggedIn], city: str, engine: Engine
) -> None:
    bank = login("bank_manager").client
    assert bank.get(f"/reports/{city}?purpose=loan_review").status_code == 200
    with session_scope(engine) as db:
        for consent in db.scalars(select(Consent).where(Consent.uscc == city)):
            consent.status = "revoked"  # the enterprise revokes both
    refused = bank.get(f"/reports/{city}?purpose=loan_review")
    assert refused.status_code == 403
    assert i18n.translate(market.ConsentRequired.title) in refused.text
    assert bank.get(f"/api/v1/reports/{city}?purpose=post_loan").status_code == 403
    assert bank.get(f"/reports/{city}.pdf").status_code == 403
    with session_scope(engine) as db:
        looks = [(q.result, q.channel) for q in db.scalars(select(ReportQuery).order_by(ReportQuery.id))]
    assert looks == [("allowed", "page"), ("refused", "page"), ("refused", "json"), ("refused", "pdf")]
    ent = login("ent_admin").client
    assert ent.get("/enterprise/report").status_code == 200  # the enterprise itself needs no consent
