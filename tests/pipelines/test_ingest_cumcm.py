"""The real CUMCM 2020 problem C invoice files ingest as they are into ``vat_invoices``.

302 + 302 gzipped per-enterprise CSVs (SOURCE.md: 395,175 purchase and 330,835 sales invoice rows). The
files carry no direction column: it is derived from the counterparty header (销方单位代号 → 进项,
购方单位代号 → 销项). Every row is accepted except repeated keys (enterprise, direction, invoice number),
which the quarantine keeps with ``duplicate_key``; negative amounts and void invoices stay.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from xinyidai.data.ingest import Outcome, ingest_files
from xinyidai.data.lake import Lake
from xinyidai.data.models import IngestBatch

DATA = Path("/work/shared/data/cumcm2020c")
INPUT = DATA / "no_credit_history_enterprise_input_invoice"
OUTPUT = DATA / "no_credit_history_enterprise_output_invoice"
EXPECTED = {"进项": 395_175, "销项": 330_835}

pytestmark = pytest.mark.skipif(not INPUT.is_dir(), reason="CUMCM 2020 C data not present")


def test_cumcm_invoices_ingest_as_delivered(tmp_path: Path, db: Session) -> None:
    lake = Lake(tmp_path / "lake", fsync=False)
    paths = sorted(INPUT.glob("E*.csv.gz")) + sorted(OUTPUT.glob("E*.csv.gz"))
    assert len(paths) == 604
    received = datetime(2020, 3, 1, tzinfo=UTC)

    result = ingest_files(
        "vat_invoices", paths, lake=lake, session=db, provider="CUMCM 2020 C", received_at=received
    )

    assert result.outcome is Outcome.PUBLISHED, result.error
    assert result.rows_read == sum(EXPECTED.values())
    assert set(result.rejects_by_reason) == {"duplicate_key"}  # the only reason anything is held back
    assert result.periods[0] == "2016-10" and result.periods[-1] == "2020-02"

    con = lake.connection()
    accepted = dict(lake.query("vat_invoices").aggregate("direction, count(*)", "direction").fetchall())
    quarantine = con.from_arrow(lake.quarantine("vat_invoices"))
    held = quarantine.aggregate(
        "CASE WHEN raw LIKE '%销方单位代号%' THEN '进项' ELSE '销项' END AS direction, count(*)", "direction"
    ).fetchall()
    assert {d: accepted[d] + dict(held).get(d, 0) for d in EXPECTED} == EXPECTED
    # most repeats are exact copies of an earlier row; the rest share an invoice number with other content
    identical = sum(json.loads(p)["identical"] for (p,) in quarantine.select("params").fetchall())
    assert 6000 < identical < result.rows_rejected

    relation = lake.query("vat_invoices")
    (void, negative, blank_status) = relation.aggregate(
        "count(*) FILTER (status = '作废发票'), count(*) FILTER (amount < 0),"
        " count(*) FILTER (status IS NULL)"
    ).fetchall()[0]
    assert void > 40_000 and negative > 0 and blank_status == 0  # ' 作废发票' was trimmed, not rejected
    sample = (
        relation.filter("enterprise = 'E124' AND invoice_number = '18891676'").to_arrow_table().to_pylist()
    )
    assert sample[0]["direction"] == "进项" and sample[0]["counterparty"] == "C00014"
    assert str(sample[0]["total"]) == "396.00" and sample[0]["_row"] == 2

    batch = db.get(IngestBatch, result.batch_id)
    assert batch is not None and len(batch.files) == 604 and len(batch.parts) == len(result.periods)
    assert batch.files[0].columns["derived"] == {"direction": "进项"}
    assert batch.files[-1].columns["derived"] == {"direction": "销项"}

    again = ingest_files("vat_invoices", paths, lake=lake, session=db, received_at=received)
    assert again.outcome is Outcome.UNCHANGED and len(again.files) == 604
