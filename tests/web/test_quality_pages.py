"""The data admin runs the quality checks from the browser, reads the results, the report and the alerts."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.conftest import LoggedIn
from tests.web.test_data_pages import load_city
from xinyidai.core.settings import Settings


def test_data_admin_runs_checks_and_follows_the_alert(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    load_city(engine, settings, tmp_path)
    admin = login("op_data")
    empty = admin.client.get("/operator/quality")
    assert empty.status_code == 200 and "尚未进行数据质量检查" in empty.text

    started = admin.post_form("/operator/quality/run", follow_redirects=False)
    assert started.status_code == 303
    run_url = started.headers["location"]
    run_page = admin.client.get(run_url)
    assert run_page.status_code == 200 and 'data-testid="quality-result-row"' in run_page.text
    assert run_page.text.count('data-testid="quality-source-row"') == 25
    failed_only = admin.client.get(run_url + "?failed=1&source=tax_monthly")
    assert "通过</td>" not in failed_only.text.replace("未通过</td>", "")

    report = admin.client.get(run_url + "/report")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert load_workbook(io.BytesIO(report.content)).sheetnames == ["概览", "数据源", "规则明细"]

    sources = admin.client.get("/operator/data")
    assert sources.text.count('data-testid="quality-score"') == 25 and "<polyline" in sources.text
    detail = admin.client.get("/operator/data/tax_monthly")
    assert 'data-testid="source-quality-row"' in detail.text

    # The dirty synthetic city fails some rules: the data admin has alerts, with a count in the top bar.
    inbox = admin.client.get("/notifications")
    unread = int(re.search(r'data-testid="unread-count">(\d+)<', inbox.text).group(1))  # type: ignore[union-attr]
    assert unread == inbox.text.count('data-testid="notification"') > 0
    assert "数据质量异常" in inbox.text
    first_id = re.search(r'action="/notifications/(\d+)/read"', inbox.text).group(1)  # type: ignore[union-attr]
    opened = admin.post_form(f"/notifications/{first_id}/read", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/operator/quality/")
    after = admin.client.get("/notifications")
    assert f'data-testid="unread-count">{unread - 1}<' in after.text
    admin.post_form("/notifications/read-all")
    assert 'data-testid="unread-count"' not in admin.client.get("/notifications").text

    api = admin.client.get("/api/v1/data/quality/runs").json()
    assert api[0]["rules_total"] >= 300
    one = admin.client.get(f"/api/v1/data/quality/runs/{api[0]['id']}").json()
    assert len(one["results"]) == api[0]["rules_total"]
    assert admin.client.get("/api/v1/data/sources").json()[0]["quality_score"] is not None


def test_others_do_not_see_the_data_admins_alerts(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    load_city(engine, settings, tmp_path)
    admin = login("op_data")
    admin.post_form("/operator/quality/run")
    alerts = admin.client.get("/api/v1/notifications").json()
    assert alerts and alerts[0]["title"].startswith("数据质量异常")
    for username in ("op_audit", "bank_risk", "ent_admin"):
        other = login(username)
        assert other.client.get("/api/v1/notifications").json() == []
        assert other.post_form(f"/notifications/{alerts[0]['id']}/read").status_code == 404
    auditor = login("op_audit")
    assert auditor.client.get("/operator/quality").status_code == 200
    assert "立即检查" not in auditor.client.get("/operator/quality").text
    assert auditor.post_form("/operator/quality/run").status_code == 403
    assert auditor.client.get("/operator/quality/999999").status_code == 404
