"""The statistics page's refresh over HTTP: the operator's button queues one job and comes back to the same
view with a notice, every viewer sees the status line (and its JSON) while a refresh is queued or running,
the page is plain again once it is done, an operator sees why the last one failed, and nobody else may
press the button."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

import pytest
from sqlalchemy import Engine, select

from tests.conftest import LoggedIn
from xinyidai.consoles import refresh_jobs as jobs
from xinyidai.consoles.statistics_models import ConsoleRefresh, ConsoleRefreshJob
from xinyidai.core.database import session_scope
from xinyidai.core.settings import Settings

BASE = "/government/statistics"


def all_jobs(engine: Engine) -> list[ConsoleRefreshJob]:
    with session_scope(engine) as db:
        return list(db.scalars(select(ConsoleRefreshJob).order_by(ConsoleRefreshJob.id)))


def test_the_operator_queues_a_refresh_and_every_viewer_sees_it_under_way(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    admin, staff = login("op_admin"), login("gov_staff")
    page = admin.client.get(BASE)
    assert 'data-testid="refresh-now"' in page.text and "立即刷新统计" in page.text
    assert 'data-testid="refresh-status"' not in page.text and "<script" not in page.text
    assert "立即刷新统计" in page.text.split('data-testid="no-figures"')[1]  # the notice names the button
    assert 'data-testid="refresh-now"' not in staff.client.get(BASE).text

    sent = admin.post_form(f"{BASE}/refresh?dim=product&granularity=quarter", follow_redirects=False)
    assert sent.status_code == 303
    back = sent.headers["location"]
    assert back.startswith(BASE + "?") and "dim=product" in back and "granularity=quarter" in back
    assert "refresh=requested" in back
    again = admin.post_form(f"{BASE}/refresh", follow_redirects=False)  # a double click
    assert again.status_code == 303
    [job] = all_jobs(engine)
    assert (job.status, job.requested_by) == ("queued", "op_admin") and job.slot.startswith("manual:")

    shown = admin.client.get(back)
    assert 'data-testid="refresh-requested"' in shown.text
    assert 'data-testid="refresh-status"' in shown.text and "等待" in shown.text
    assert '<script src="/static/statistics_refresh.js"' in shown.text
    viewer = staff.client.get(BASE)
    assert (
        'data-testid="refresh-status"' in viewer.text and 'data-testid="refresh-requested"' not in viewer.text
    )
    status = staff.client.get(f"{BASE}/refresh.json")
    assert status.status_code == 200 and status.headers["cache-control"] == "no-store"
    assert status.json()["state"] == "queued" and "等待" in status.json()["text"]

    with session_scope(engine) as db:  # a worker picks it up
        assert jobs.claim_next(db, "host-a:1") is not None
    running = staff.client.get(f"{BASE}/refresh.json").json()
    assert running["state"] == "running" and "统计正在刷新" in running["text"]
    assert "统计正在刷新" in unescape(staff.client.get(BASE).text)

    jobs.run_job(engine, settings, job.id)
    assert staff.client.get(f"{BASE}/refresh.json").json() == {"state": "idle", "seconds": 0, "text": ""}
    after = staff.client.get(BASE)
    assert 'data-testid="refresh-status"' not in after.text and 'data-testid="freshness"' in after.text
    assert "<script" not in after.text


def test_an_operator_sees_why_the_last_refresh_failed_and_others_do_not(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings
) -> None:
    admin, staff = login("op_admin"), login("gov_staff")
    admin.post_form(f"{BASE}/refresh", follow_redirects=False)
    [job] = all_jobs(engine)
    with session_scope(engine) as db:
        jobs.claim_next(db, "host-a:1")

    def broken(*_args: object, **_kwargs: object) -> ConsoleRefresh:
        raise OSError("No space left on device: '/srv/xyd/lake/_consoles'")

    jobs.run_job(engine, settings, job.id, refresh=broken)
    page = unescape(admin.client.get(BASE).text)
    assert 'data-testid="refresh-failed"' in page and "No space left on device" in page
    assert 'data-testid="refresh-failed"' not in staff.client.get(BASE).text
    # a worker that stopped is named in Chinese
    with session_scope(engine) as db:
        failed = db.get(ConsoleRefreshJob, job.id)
        assert failed is not None
        failed.error = jobs.WORKER_STOPPED
    assert "刷新" in admin.client.get(BASE).text.split('data-testid="refresh-failed"')[1].split("</div>")[0]


@pytest.mark.parametrize("username", ["gov_admin", "fund_manager", "op_audit", "op_data", "bank_admin"])
def test_nobody_else_may_press_the_button(
    login: Callable[[str], LoggedIn], engine: Engine, username: str
) -> None:
    assert login(username).post_form(f"{BASE}/refresh", follow_redirects=False).status_code == 403
    assert all_jobs(engine) == []
