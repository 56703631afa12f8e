"""The operator's data pages and the department push API, over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import LoggedIn
from xinyidai.core.database import session_factory
from xinyidai.core.settings import Settings
from xinyidai.data import service as data
from xinyidai.data.synth import generate_city


def load_city(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    generate_city(tmp_path / "city", enterprises=300, months=2, seed=7)
    session = session_factory(engine)()
    try:
        data.ingest_directory(tmp_path / "city", lake=data.open_lake(settings), session=session)
    finally:
        session.close()


def test_data_pages_show_sources_batches_and_masked_quarantine(
    login: Callable[[str], LoggedIn], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    load_city(engine, settings, tmp_path)
    admin = login("op_data")
    page = admin.client.get("/operator/data")
    assert page.status_code == 200
    assert page.text.count('data-testid="source-row"') == 25 and "纳税申报月度数据" in page.text
    detail = admin.client.get("/operator/data/registration")
    assert detail.status_code == 200 and 'data-testid="batch-row"' in detail.text
    assert "个人" in detail.text  # sensitivity of the legal representative's fields
    batch_id = re.search(r'href="/operator/data/batches/([^"]+)"', detail.text).group(1)  # type: ignore[union-attr]
    lineage = admin.client.get(f"/operator/data/batches/{batch_id}")
    assert lineage.status_code == 200 and 'data-testid="batch-file-row"' in lineage.text
    assert 'data-testid="batch-part-row"' in lineage.text and "registration/" in lineage.text
    assert admin.client.get("/operator/data/batches/no-such-batch").status_code == 404
    quarantine = admin.client.get("/operator/data/registration/quarantine")
    assert quarantine.status_code == 200
    for id_number in re.findall(r"证件号码=(\S+?)[；<]", quarantine.text):
        assert "*" in id_number or not id_number
    missing = admin.client.get("/operator/data/no_such_source")
    assert missing.status_code == 404


def test_auditor_reads_sources_but_not_the_quarantine(login: Callable[[str], LoggedIn]) -> None:
    auditor = login("op_audit")
    assert auditor.client.get("/operator/data").status_code == 200
    assert auditor.client.get("/operator/data/tax_monthly/quarantine").status_code == 403


def test_department_system_pushes_rows(
    login: Callable[[str], LoggedIn], app: FastAPI, settings: Settings
) -> None:
    admin = login("gov_admin")
    page = admin.post_form("/org/api-clients", {"name": "税务数据接口", "scopes": ["data.push"]})
    client_id = re.search(r"<code>(xyd_[^<]+)</code>", page.text).group(1)  # type: ignore[union-attr]
    secret = re.search(
        r'data-testid="client-secret">.*?<code>[^<]+</code>.*?<code>([^<]+)</code>', page.text, re.S
    ).group(1)  # type: ignore[union-attr]
    machine = TestClient(app, base_url="https://testserver")
    token = machine.post("/api/v1/auth/token", data={"client_id": client_id, "client_secret": secret}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    rows = [
        {
            "统一社会信用代码": "91310115MA1K3BTP2B",
            "所属期": "2026年9月",
            "销售收入": "1,234,567.89",
            "实缴税额": "12.5万元",
            "欠税余额": "0",
        },
        {
            "统一社会信用代码": "91110000600037341N",
            "所属期": "2026-09",
            "销售收入": "10",
            "实缴税额": "1",
            "欠税余额": "0",
        },
    ]
    pushed = machine.post("/api/v1/ingest/tax_monthly", json={"rows": rows}, headers=headers)
    assert pushed.status_code == 201, pushed.text
    body = pushed.json()
    assert body["rows_accepted"] == 1 and body["rows_rejected"] == 1
    assert body["rejects_by_reason"] == {"invalid_uscc": 1}
    visible = data.open_lake(settings).scan("tax_monthly").to_pylist()
    assert [str(r["tax_paid"]) for r in visible] == ["125000.00"]
    unknown = machine.post("/api/v1/ingest/no_such_source", json={"rows": rows}, headers=headers)
    assert unknown.status_code == 404
    bad = machine.post(
        "/api/v1/ingest/tax_monthly", json={"rows": rows}, headers={"Authorization": "Bearer x"}
    )
    assert bad.status_code == 401
