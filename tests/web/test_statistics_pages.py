"""The government console over HTTP: the page with its filters, charts and drill-down links, the Excel and
PDF exports, the monthly report, bad filters, freshness, and who may not look."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.conftest import LoggedIn
from tests.integration.test_statistics import build_market
from xinyidai.consoles import statistics as stats
from xinyidai.consoles.statistics_refresh import refresh
from xinyidai.core import i18n
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings


@pytest.fixture
def refreshed(login: Callable[[str], LoggedIn], engine: Engine, settings: Settings) -> dict[str, object]:
    facts = build_market(engine)
    with session_scope(engine) as db:
        refresh(db, settings.home / "lake", triggered_by="test")
    return facts


def test_before_the_first_refresh_the_page_says_so(login: Callable[[str], LoggedIn]) -> None:
    page = login("gov_staff").client.get("/government/statistics")
    assert page.status_code == 200 and 'data-testid="no-figures"' in page.text
    assert login("gov_staff").client.get("/government/statistics/export.xlsx").status_code == 404


def test_the_console_shows_figures_charts_and_drills_down(
    login: Callable[[str], LoggedIn], refreshed: dict[str, object]
) -> None:
    staff = login("gov_staff").client
    page = staff.get("/government/statistics")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'data-testid="freshness"' in text
    assert re.search(r'data-testid="kpi-loans".*?class="value">2<', text, re.S)
    assert re.search(r'data-testid="kpi-disbursed_amount".*?class="value">75.00<', text, re.S)
    assert re.search(r'data-testid="kpi-npl_rate".*?class="value">50.0%<', text, re.S)
    assert "<svg" in text and "<title>" in text and "<script" not in text
    for chart in ("chart-dimension", "chart-amounts", "chart-flow", "chart-npl"):
        assert f'data-testid="{chart}"' in text
    # the city's bar and row link to its districts; the district's to its industries
    region = str(refreshed["region"])
    city = region[:4] + "00"
    drill = re.search(r'<a href="([^"]+)" data-testid="drill">', text)
    assert drill is not None and f"region={city}" in unescape(drill.group(1))
    districts = staff.get(unescape(drill.group(1)))
    assert districts.status_code == 200
    assert f'data-key="{region}"' in districts.text
    down = re.search(r'<a href="([^"]+)" data-testid="drill-link">', districts.text)
    assert down is not None and "dim=industry" in unescape(down.group(1))
    industries = staff.get(unescape(down.group(1)))
    assert f'data-key="{refreshed["section"]}"' in industries.text
    # other dimensions and filters
    by_product = staff.get("/government/statistics?dim=product")
    assert "统计贷" in by_product.text
    empty = staff.get(
        "/government/statistics?size=large"
        if refreshed["size"] != "large"
        else "/government/statistics?size=micro"
    )
    assert re.search(r'data-testid="kpi-loans".*?class="value">0<', empty.text, re.S)
    quarterly = staff.get("/government/statistics?granularity=quarter&dim=period")
    assert f"{today_local().year}-Q{(today_local().month - 1) // 3 + 1}" in quarterly.text
    # no personal data: the legal representative's name and the users' phones never appear
    assert "王海燕" not in text and "legal" not in text


def test_bad_filters_give_a_clear_message_and_the_default_view(
    login: Callable[[str], LoggedIn], refreshed: dict[str, object]
) -> None:
    staff = login("gov_admin").client
    page = staff.get("/government/statistics?from=2026-05&to=2026-01")
    assert page.status_code == 200 and 'data-testid="form-error"' in page.text
    assert i18n.translations("zh_CN").gettext("The first month is after the last month") in page.text
    assert staff.get("/government/statistics?region=999999").status_code == 200
    assert staff.get("/government/statistics/monthly-report.pdf?month=2026-13").status_code == 422


def test_exports_and_monthly_report(login: Callable[[str], LoggedIn], refreshed: dict[str, object]) -> None:
    staff = login("fund_manager").client
    xlsx = staff.get("/government/statistics/export.xlsx?dim=institution")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    sheets = book.sheetnames
    assert len(sheets) == 3
    summary = list(book[sheets[0]].iter_rows(values_only=True))
    gettext = i18n.translations("zh_CN").gettext
    header = summary[3]
    body = [r for r in summary[4:] if r and r[0]]
    assert body[-1][0] == gettext("Total")
    assert body[-1][header.index(gettext(stats.MEASURE_LABELS["loans"]))] == 2
    assert body[-1][header.index(gettext(stats.MEASURE_LABELS["disbursed_amount"]))] == 750000
    detail = list(book[sheets[2]].iter_rows(values_only=True))
    assert len(detail) > 1  # header and the cells
    pdf = staff.get("/government/statistics/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    report = staff.get(f"/government/statistics/monthly-report.pdf?month={today_local():%Y-%m}")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert report.headers["content-type"] == "application/pdf"


@pytest.mark.parametrize("username", ["ent_admin", "bank_admin", "bank_risk", "op_data"])
def test_enterprises_institutions_and_data_admins_are_refused(
    login: Callable[[str], LoggedIn], username: str
) -> None:
    client = login(username).client
    for url in (
        "/government/statistics",
        "/government/statistics/export.xlsx",
        "/government/statistics/export.pdf",
        "/government/statistics/monthly-report.pdf",
    ):
        assert client.get(url, follow_redirects=False).status_code == 403, url


@pytest.mark.parametrize("username", ["gov_admin", "gov_staff", "fund_manager", "op_admin", "op_audit"])
def test_departments_fund_managers_operator_and_auditor_may_look(
    login: Callable[[str], LoggedIn], username: str
) -> None:
    assert login(username).client.get("/government/statistics").status_code == 200
