"""Ingestion end to end on small files: what is accepted, quarantined, refused, and what readers see."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.pipelines.conftest import RECEIVED, usccs
from xinyidai.core.errors import NotFound
from xinyidai.data import service
from xinyidai.data.ingest import (
    REJECT_REASONS,
    BatchResult,
    FileRefused,
    IngestMode,
    Outcome,
    UnknownSource,
    ingest_directory,
    ingest_files,
    ingest_rows,
)
from xinyidai.data.lake import Lake
from xinyidai.data.models import IngestBatch, IngestFile, IngestPart

SS_HEADER = ["统一社会信用代码", "所属期", "参保人数", "新增参保人数", "减少参保人数", "缴费金额", "欠费金额"]
CODES = usccs(300)

Write = Callable[..., Path]
Ingest = Callable[..., BatchResult]


def ss_rows(period: str = "2024-01", count: int = 5, insured: int = 10) -> list[list[object]]:
    return [SS_HEADER] + [[CODES[i], period, insured + i, 1, 0, f"{1000 + i}.50", "0"] for i in range(count)]


def rows_of(lake: Lake, source_id: str, order: str = "_row", **kwargs: object) -> list[dict[str, object]]:
    return lake.query(source_id, **kwargs).order(order).to_arrow_table().to_pylist()  # type: ignore[arg-type]


def nothing_written(lake: Lake, source_id: str) -> bool:
    parquet = list(lake.root.glob(f"{source_id}/**/*.parquet")) + list(
        lake.root.glob("_quarantine/**/*.parquet")
    )
    staging = list(lake.root.glob("_staging/*/*"))
    return not parquet and not staging and lake.query(source_id).aggregate("count(*)").fetchall() == [(0,)]


# ------------------------------------------------------------------------------------------------ happy path


def test_clean_file_is_published_typed_and_queryable(
    write: Write, ingest: Ingest, lake: Lake, db: Session
) -> None:
    result = ingest("social_security", write("ss.csv", ss_rows()))

    assert result.outcome is Outcome.PUBLISHED and result.ok
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (5, 5, 0)
    assert result.periods == ("2024-01",)
    assert result.mode is IngestMode.REPLACE
    rows = rows_of(lake, "social_security")
    assert rows[0]["uscc"] == CODES[0]
    assert rows[0]["period"] == date(2024, 1, 1)
    assert rows[0]["insured"] == 10
    assert rows[0]["contributions"] == Decimal("1000.50")
    assert rows[0]["_row"] == 2 and rows[0]["_file"] == 0 and rows[0]["_batch_id"] == result.batch_id
    assert (lake.root / f"social_security/period=2024-01/{result.batch_id}.parquet").exists()

    batch = db.get(IngestBatch, result.batch_id)
    assert batch is not None and batch.status == "published" and batch.periods == ["2024-01"]
    assert batch.files[0].sha256 == result.files[0].sha256 and len(batch.files[0].sha256) == 64
    assert [p.path for p in batch.parts] == [f"social_security/period=2024-01/{result.batch_id}.parquet"]
    stats = {s.source_id: s for s in lake.stats()}["social_security"]
    assert (stats.rows, stats.periods, stats.batches) == (5, ("2024-01",), 1)
    assert stats.last_received_at == RECEIVED


def test_query_filters_with_bound_parameters(write: Write, ingest: Ingest, lake: Lake) -> None:
    ingest("social_security", write("ss.csv", ss_rows()))
    rows = lake.query("social_security", "insured >= $least", params={"least": 13}).fetchall()
    assert len(rows) == 2
    assert lake.scan("social_security", columns=["uscc"]).num_rows == 5


def test_empty_lake_query_has_the_catalogue_schema(lake: Lake) -> None:
    relation = lake.query("social_security")
    assert relation.fetchall() == []
    assert relation.columns[:3] == ["uscc", "period", "insured"]


# ------------------------------------------------------------------------------------------------ encodings


def test_gbk_file_labelled_utf8_is_read_right(write: Write, ingest: Ingest, lake: Lake) -> None:
    header = ["企业代号", "发票号码", "开票日期", "销方单位代号", "金额", "税额", "价税合计", "发票状态"]
    rows = [header, ["E1", "001", "2024/1/5", "C1", "100", "13", "113", "作废发票"]]
    path = write("invoices.utf8.csv", rows, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    result = ingest("vat_invoices", path)

    assert result.rows_accepted == 1
    assert result.files[0].encoding == "gb18030"
    assert [n.code for n in result.notices] == ["encoding_mismatch"]
    row = rows_of(lake, "vat_invoices")[0]
    assert (row["status"], row["direction"]) == ("作废发票", "进项")


def test_utf8_with_bom_and_gbk_without_label_are_read(write: Write, ingest: Ingest, lake: Lake) -> None:
    text = "".join(",".join(map(str, r)) + "\n" for r in ss_rows())
    assert ingest("social_security", write("bom.csv", b"\xef\xbb\xbf" + text.encode())).rows_accepted == 5
    gbk = ingest("social_security", write("plain.csv", text, encoding="gbk"))
    assert gbk.outcome is Outcome.UNCHANGED or gbk.rows_accepted == 5  # same rows, other bytes: a new batch


def test_excel_unicode_text_tab_separated_utf16(write: Write, ingest: Ingest, lake: Lake) -> None:
    text = "".join("\t".join(map(str, r)) + "\r\n" for r in ss_rows())
    result = ingest("social_security", write("export.txt", text.encode("utf-16")))
    assert (result.rows_accepted, result.files[0].encoding) == (5, "utf-16")


def test_damaged_utf8_is_refused_not_garbled(write: Write, ingest: Ingest, lake: Lake, db: Session) -> None:
    data = "".join(",".join(map(str, r)) + "\n" for r in ss_rows()).encode()
    broken = data.replace("所属期".encode(), "所属期".encode()[:-1] + b"\xff", 1)

    result = ingest("social_security", write("broken.csv", broken))

    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, FileRefused) and result.error.reason == "bad_encoding"
    assert result.error.params["line"] == 1
    assert nothing_written(lake, "social_security")
    batch = db.scalars(select(IngestBatch)).one()
    assert (batch.status, batch.error_code) == ("failed", "bad_encoding")
    assert "UTF-8" in (batch.error_message or "")


# ------------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("zero.csv", b"", "empty_file"),
        ("blank.csv", b"\xef\xbb\xbf \n\n", "empty_file"),
        ("header_only.csv", ",".join(SS_HEADER).encode() + b"\n", "no_rows"),
        ("header_only_no_newline.csv", ",".join(SS_HEADER).encode(), "no_rows"),
        ("nothing_known.csv", b"a,b,c\n1,2,3\n", "header_not_found"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "unsupported_format"),
        ("damaged.xlsx", b"PK\x03\x04 not really a zip", "corrupt_file"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(
    write: Write, ingest: Ingest, lake: Lake, name: str, content: bytes, reason: str
) -> None:
    result = ingest("social_security", write(name, content))
    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, FileRefused)
    assert result.error.reason == reason
    assert name in str(result.error)
    assert nothing_written(lake, "social_security")


def test_truncated_file_is_refused_and_the_complete_one_then_accepted(
    write: Write, ingest: Ingest, lake: Lake
) -> None:
    text = "".join(",".join(map(str, r)) + "\n" for r in ss_rows())
    cut = text[: text.rindex("\n", 0, len(text) - 1) + 30]  # last line cut mid-row

    refused = ingest("social_security", write("cut.csv", cut))

    assert refused.error is not None and getattr(refused.error, "reason", None) == "truncated_file"
    assert "the last row has" in str(refused.error)
    assert nothing_written(lake, "social_security")
    assert ingest("social_security", write("whole.csv", text)).rows_accepted == 5


def test_truncated_gzip_and_open_quote_are_refused(write: Write, ingest: Ingest, lake: Lake) -> None:
    text = "".join(",".join(map(str, r)) + "\n" for r in ss_rows(count=200))
    gz = write("ss.csv.gz", text, gz=True)
    gz.write_bytes(gz.read_bytes()[:-40])
    quoted = write("quoted.csv", text + f'{CODES[0]},2024-02,1,1,1,"1,000')

    for path in (gz, quoted):
        result = ingest("social_security", path)
        assert getattr(result.error, "reason", None) == "truncated_file", path
    assert nothing_written(lake, "social_security")


def test_gzip_file_is_read(write: Write, ingest: Ingest) -> None:
    text = "".join(",".join(map(str, r)) + "\n" for r in ss_rows())
    assert ingest("social_security", write("ss.csv.gz", text, gz=True)).rows_accepted == 5


def test_a_bad_file_refuses_the_whole_delivery(write: Write, ingest: Ingest, lake: Lake) -> None:
    good = write("good.csv", ss_rows())
    empty = write("empty.csv", b"")
    result = ingest("social_security", good, empty)
    assert result.outcome is Outcome.FAILED and "empty.csv" in str(result.error)
    assert nothing_written(lake, "social_security")


def test_unknown_source_raises(write: Write, lake: Lake, db: Session) -> None:
    with pytest.raises(UnknownSource) as raised:
        ingest_files("no_such_source", [write("x.csv", ss_rows())], lake=lake, session=db)
    assert raised.value.params == {"source": "no_such_source"}
    assert db.scalars(select(IngestBatch)).all() == []


# ------------------------------------------------------------------------------------------------ headers


def test_extra_columns_are_ignored_and_recorded(
    write: Write, ingest: Ingest, lake: Lake, db: Session
) -> None:
    rows = [[*r, "x", "y"] for r in ss_rows()]
    rows[0][-2:] = ["备注", "经办人"]
    result = ingest("social_security", write("extra.csv", rows))
    assert result.rows_accepted == 5
    notice = next(n for n in result.notices if n.code == "ignored_columns")
    assert notice.params["columns"] == "备注, 经办人"
    batch = db.get(IngestBatch, result.batch_id)
    assert batch is not None and batch.notices[0]["code"] == "ignored_columns"
    assert batch.files[0].columns["headers"]["备注"] is None
    assert "备注" not in lake.query("social_security").columns


def test_missing_required_columns_refuse_the_file_naming_them(
    write: Write, ingest: Ingest, lake: Lake
) -> None:
    rows = [[r[0], *r[2:]] for r in ss_rows()]  # no 所属期
    result = ingest("social_security", write("missing.csv", rows))
    assert getattr(result.error, "reason", None) == "missing_columns"
    assert "所属期 (period)" in str(result.error)
    assert nothing_written(lake, "social_security")


def test_renamed_and_reordered_columns_map_through_aliases(write: Write, ingest: Ingest, lake: Lake) -> None:
    header = ["欠缴金额", "Insured headcount", "ＵＳＣＣ", " 月份 ", "*增员人数", "实缴金额"]
    rows = [header, ["0", "7", CODES[0], "2024-03", "1", "99"]]
    result = ingest("social_security", write("renamed.csv", rows))
    assert result.rows_accepted == 1
    row = rows_of(lake, "social_security")[0]
    assert (row["uscc"], row["insured"], row["new_hires"], row["contributions"]) == (
        CODES[0],
        7,
        1,
        Decimal("99"),
    )
    assert row["separations"] is None


def test_two_columns_for_one_field_are_refused(write: Write, ingest: Ingest) -> None:
    rows = [[*r, r[2]] for r in ss_rows()]
    rows[0][-1] = "在保人数"
    result = ingest("social_security", write("twice.csv", rows))
    assert getattr(result.error, "reason", None) == "ambiguous_columns"


def test_leading_unnamed_index_column_is_ignored(write: Write, ingest: Ingest, lake: Lake) -> None:
    rows = [["", *ss_rows()[0]]] + [[i, *r] for i, r in enumerate(ss_rows()[1:])]
    result = ingest("social_security", write("indexed.csv", rows))
    assert result.rows_accepted == 5 and not result.notices


def test_header_unit_converts_amounts(write: Write, ingest: Ingest, lake: Lake) -> None:
    header = [*SS_HEADER[:5], "缴费金额（万元）", "欠费金额"]
    result = ingest("social_security", write("wan.csv", [header, [CODES[0], "2024-01", 1, 0, 0, "1.5", "3"]]))
    assert [n.code for n in result.notices] == ["header_unit"]
    assert rows_of(lake, "social_security")[0]["contributions"] == Decimal("15000.00")


def test_an_amount_too_large_once_its_header_unit_applies_is_refused_alone(
    write: Write, ingest: Ingest, lake: Lake
) -> None:
    header = [*SS_HEADER[:5], "缴费金额（万元）", "欠费金额"]
    rows = [
        header,
        [CODES[0], "2024-01", 1, 0, 0, "9999999999999", "3"],
        [CODES[1], "2024-01", 1, 0, 0, "2", "0"],
    ]
    result = ingest("social_security", write("huge.csv", rows))
    assert result.ok and result.rows_accepted == 1 and dict(result.rejects_by_reason) == {"out_of_range": 1}
    assert rows_of(lake, "social_security")[0]["contributions"] == Decimal("20000.00")


def test_xlsx_with_a_merged_two_row_header(tmp_path: Path, ingest: Ingest, lake: Lake) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["2024年1月社会保险参保缴费情况"])
    sheet.append(["统一社会信用代码", "所属期", "人数", None, None, "金额", None])
    sheet.append([None, None, "参保人数", "新增参保人数", "减少参保人数", "缴费金额", "欠费金额"])
    sheet.merge_cells("A1:G1")
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:B3")
    sheet.merge_cells("C2:E2")
    sheet.merge_cells("F2:G2")
    sheet.append([CODES[0], datetime(2024, 1, 1), 12, 1, 0, 1234.5, 0])
    sheet.append([None] * 7)
    sheet.append([CODES[1], "2024-01", 3.0, 0, 1, "2,000", None])
    path = tmp_path / "ss.xlsx"
    book.save(path)

    result = ingest("social_security", path)

    assert result.rows_accepted == 2, result
    assert result.files[0].format == "xlsx"
    rows = rows_of(lake, "social_security")
    assert [r["_row"] for r in rows] == [4, 6]
    assert rows[0]["contributions"] == Decimal("1234.50") and rows[0]["period"] == date(2024, 1, 1)
    assert rows[1]["insured"] == 3 and rows[1]["contributions"] == Decimal("2000.00")


def test_json_lines_file(write: Write, ingest: Ingest, lake: Lake) -> None:
    lines = [
        {"uscc": CODES[0], "period": "2024-01", "usage": 12.5, "bill": "10.20", "arrears": 0},
        {"uscc": CODES[1], "period": "2024-01", "usage": "oops", "bill": 1},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n\n{not json}\n"
    result = ingest("electricity", write("power.jsonl", text))
    assert (result.rows_accepted, result.rejects_by_reason) == (1, {"malformed_row": 1, "wrong_type": 1})
    assert rows_of(lake, "electricity")[0]["usage"] == 12.5


# ------------------------------------------------------------------------------------------------ values


def test_dates_in_the_common_chinese_formats(write: Write, ingest: Ingest, lake: Lake) -> None:
    header = ["统一社会信用代码", "年度", "评价等级", "评价日期"]
    formats = ["2024-01-05", "2024/1/5", "2024年1月5日", "20240105", "2024.01.05", "2024-01-05 00:00:00"]
    rows = [header] + [[CODES[i], 2023, "A", f] for i, f in enumerate(formats)]
    result = ingest("public_credit_grade", write("grades.csv", rows))
    assert result.rows_accepted == len(formats), result.rejects_by_reason
    assert {r["evaluated_on"] for r in rows_of(lake, "public_credit_grade")} == {date(2024, 1, 5)}


def test_months_in_the_common_formats_are_first_days(write: Write, ingest: Ingest, lake: Lake) -> None:
    months = ["2024-01", "2024/1", "2024年1月", "202401", "2024.1"]
    rows = [SS_HEADER] + [[CODES[i], m, 1, 0, 0, 1, 0] for i, m in enumerate(months)]
    assert ingest("social_security", write("months.csv", rows)).rows_accepted == 5
    assert {r["period"] for r in rows_of(lake, "social_security")} == {date(2024, 1, 1)}


def test_amounts_with_separators_full_width_digits_and_wan(write: Write, ingest: Ingest, lake: Lake) -> None:
    amounts = ["1,234.50", "1.5万元", "2万", "300元", "１２３", " 7 ", "0.125", "-0"]
    expected = ["1234.50", "15000.00", "20000.00", "300.00", "123.00", "7.00", "0.13", "0.00"]
    rows = [SS_HEADER] + [[CODES[i], "2024-01", 1, 0, 0, f'"{a}"', 0] for i, a in enumerate(amounts)]
    assert ingest("social_security", write("amounts.csv", rows)).rows_accepted == len(amounts)
    assert [r["contributions"] for r in rows_of(lake, "social_security")] == [Decimal(e) for e in expected]


def test_wrong_values_go_to_quarantine_with_reasons_and_raw_values(
    write: Write, ingest: Ingest, lake: Lake, db: Session
) -> None:
    bad_check = CODES[5][:-1] + ("0" if CODES[5][-1] != "0" else "1")
    rows = [
        SS_HEADER,
        [CODES[0], "2024-01", 1, 0, 0, 1, 0],
        [CODES[1], "2024-01", "abc", 0, 0, 1, 0],  # wrong type
        [CODES[2], "2024-13", 1, 0, 0, 1, 0],  # no such month
        [CODES[3], "2024-01", 1, 0, 0, -5, 0],  # below the minimum
        ["", "2024-01", 1, 0, 0, 1, 0],  # missing required
        [bad_check, "2024-01", 1, 0, 0, 1, 0],  # check character
        [CODES[6], "2030-01", 1, 0, 0, 1, 0],  # after the receipt date
        [CODES[7], "2024-01", 1, 0, 0, "lots", "x"],  # two problems
    ]
    result = ingest("social_security", write("dirty.csv", rows))

    assert result.rows_accepted == 1 and result.rows_rejected == 7
    assert result.rejects_by_reason == {
        "wrong_type": 2,
        "bad_date": 1,
        "out_of_range": 1,
        "missing_required": 1,
        "invalid_uscc": 1,
        "future_date": 1,
    }
    quarantine = {r["row"]: r for r in lake.quarantine("social_security").to_pylist()}
    assert sorted(quarantine) == [3, 4, 5, 6, 7, 8, 9]
    assert quarantine[3]["field"] == "insured"
    assert json.loads(quarantine[3]["params"]) == {"field": "参保人数", "value": "abc", "expected": "integer"}
    assert json.loads(quarantine[3]["raw"])["参保人数"] == "abc"
    assert json.loads(quarantine[5]["params"])["minimum"] == "0"
    uscc = json.loads(quarantine[7]["params"])
    assert uscc["problem"] == "check_character" and uscc["problem_expected"] == CODES[5][-1]
    assert json.loads(quarantine[8]["params"])["received_on"] == "2024-06-01"
    assert [p["field"] for p in json.loads(quarantine[9]["problems"])] == ["contributions", "arrears"]
    assert all(r["_batch_id"] == result.batch_id for r in quarantine.values())
    batch = db.get(IngestBatch, result.batch_id)
    assert (
        batch is not None
        and batch.quarantine_path == f"_quarantine/social_security/{result.batch_id}.parquet"
    )
    assert batch.files[0].rows_rejected == 7


def test_duplicate_keys_keep_the_first_row(write: Write, ingest: Ingest, lake: Lake) -> None:
    rows = ss_rows(count=3)
    rows.append([CODES[1].lower(), "2024/1", 99, 0, 0, 1, 0])  # same key after normalising
    rows.append(list(rows[1]))  # an identical copy
    result = ingest("social_security", write("dups.csv", rows))
    assert (result.rows_accepted, result.rejects_by_reason) == (3, {"duplicate_key": 2})
    assert [r["insured"] for r in rows_of(lake, "social_security")] == [10, 11, 12]
    params = [json.loads(r["params"]) for r in lake.quarantine("social_security").sort_by("row").to_pylist()]
    assert [(p["first_row"], p["identical"]) for p in params] == [(3, False), (2, True)]


def test_malformed_middle_row_is_quarantined(write: Write, ingest: Ingest, lake: Lake) -> None:
    text = "".join(",".join(map(str, r)) + "\n" for r in ss_rows(count=2)) + "x,y\n"
    text += ",".join(map(str, ss_rows(count=3)[3])) + "\n"
    result = ingest("social_security", write("short_row.csv", text))
    assert (result.rows_accepted, result.rejects_by_reason) == (3, {"malformed_row": 1})
    record = lake.quarantine("social_security").to_pylist()[0]
    assert record["row"] == 4 and json.loads(record["raw"]) == {"_text": "x,y"}
    assert [r["_row"] for r in rows_of(lake, "social_security")] == [2, 3, 5]


# ------------------------------------------------------------------------------------------------ batches


def test_resending_the_same_file_is_a_no_op(write: Write, ingest: Ingest, lake: Lake, db: Session) -> None:
    path = write("ss.csv", ss_rows())
    first = ingest("social_security", path)
    again = ingest("social_security", path, received_at=RECEIVED + timedelta(days=1))

    assert again.outcome is Outcome.UNCHANGED and again.batch_id is None
    assert again.files[0].already_in == first.batch_id
    assert [(n.code, n.params["batch"]) for n in again.notices] == [("already_received", first.batch_id)]
    assert len(db.scalars(select(IngestBatch)).all()) == 1
    assert len(rows_of(lake, "social_security")) == 5


def test_a_corrected_delivery_supersedes_the_period(
    write: Write, ingest: Ingest, lake: Lake, db: Session
) -> None:
    jan = ingest("social_security", write("jan.csv", ss_rows("2024-01", count=4, insured=10)))
    feb = ingest("social_security", write("feb.csv", ss_rows("2024-02", count=4, insured=20)))
    corrected_at = RECEIVED + timedelta(days=3)
    fixed = ingest(
        "social_security",
        write("jan_fixed.csv", ss_rows("2024-01", count=3, insured=50)),
        received_at=corrected_at,
    )

    assert fixed.superseded == (jan.batch_id,)
    now = rows_of(lake, "social_security", order="period, _row")
    assert [(r["period"].month, r["insured"]) for r in now] == [(1, 50), (1, 51), (1, 52)] + [
        (2, 20 + i) for i in range(4)
    ]
    before = rows_of(lake, "social_security", order="period, _row", as_of=corrected_at - timedelta(seconds=1))
    assert [r["insured"] for r in before if r["period"].month == 1] == [10, 11, 12, 13]
    assert rows_of(lake, "social_security", as_of=RECEIVED - timedelta(seconds=1)) == []

    statuses = {b.id: b.status for b in db.scalars(select(IngestBatch))}
    assert statuses == {jan.batch_id: "superseded", feb.batch_id: "published", fixed.batch_id: "published"}
    old = db.scalars(select(IngestPart).where(IngestPart.batch_id == jan.batch_id)).one()
    assert (old.superseded_by, old.superseded_at) == (fixed.batch_id, corrected_at)


def test_an_older_delivery_ingested_late_does_not_hide_the_newer(
    write: Write, ingest: Ingest, lake: Lake
) -> None:
    newer = ingest("social_security", write("new.csv", ss_rows(insured=50)))
    late = ingest(
        "social_security", write("old.csv", ss_rows(insured=10)), received_at=RECEIVED - timedelta(days=5)
    )
    assert late.outcome is Outcome.PUBLISHED and newer.ok
    assert {r["insured"] for r in rows_of(lake, "social_security")} == {50, 51, 52, 53, 54}
    past = rows_of(lake, "social_security", as_of=RECEIVED - timedelta(days=1))
    assert {r["insured"] for r in past} == {10, 11, 12, 13, 14}


def test_increments_keep_the_newest_row_per_key(write: Write, ingest: Ingest, lake: Lake) -> None:
    header = ["统一社会信用代码", "名单类别", "名单名称", "列入日期", "移出日期"]
    first = [
        header,
        [CODES[0], "黑名单", "安全生产黑名单", "2024-01-05", ""],
        [CODES[1], "红名单", "A级纳税人", "2024-02-01", ""],
    ]
    second = [header, [CODES[0], "黑名单", "安全生产黑名单", "2024-01-05", "2024-05-01"]]
    a = ingest("red_black_lists", write("a.csv", first))
    b = ingest("red_black_lists", write("b.csv", second), received_at=RECEIVED + timedelta(days=1))

    assert a.mode is IngestMode.APPEND and b.superseded == ()
    rows = {r["uscc"]: r for r in rows_of(lake, "red_black_lists")}
    assert len(rows) == 2 and rows[CODES[0]]["removed_on"] == date(2024, 5, 1)
    earlier = {r["uscc"]: r for r in rows_of(lake, "red_black_lists", as_of=RECEIVED)}
    assert earlier[CODES[0]]["removed_on"] is None
    assert {s.source_id: s for s in lake.stats()}["red_black_lists"].rows == 2


def test_pushed_rows_are_checked_like_files(lake: Lake, db: Session) -> None:
    records = [
        {
            "统一社会信用代码": CODES[0],
            "所属期": "2024-01",
            "用电量": 100,
            "应缴费用": 12.5,
            "欠费金额": None,
        },
        {"统一社会信用代码": CODES[1], "所属期": "2024-01", "用电量": "-1", "应缴费用": "1"},
    ]
    result = ingest_rows(
        "electricity", records, lake=lake, session=db, provider="state-grid", received_at=RECEIVED
    )
    assert (result.rows_accepted, result.rejects_by_reason) == (1, {"out_of_range": 1})
    assert result.files[0].format == "records"
    row = lake.query("electricity").to_arrow_table().to_pylist()[0]
    assert row["bill"] == Decimal("12.50") and row["arrears"] is None
    again = ingest_rows("electricity", records, lake=lake, session=db, received_at=RECEIVED)
    assert again.outcome is Outcome.UNCHANGED
    mixed = [{"uscc": CODES[2], "period": "2024-01"}, {"统一社会信用代码": CODES[3], "所属期": "2024-01"}]
    refused = ingest_rows("electricity", mixed, lake=lake, session=db, received_at=RECEIVED)
    assert getattr(refused.error, "reason", None) == "ambiguous_columns"


def _touch(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_delivery_folder_one_batch_per_source_and_day(tmp_path: Path, lake: Lake, db: Session) -> None:
    root = tmp_path / "delivery"
    folder = root / "social_security"
    folder.mkdir(parents=True)
    (root / "_truth").mkdir()
    (root / "mystery").mkdir()
    day1, day2 = datetime(2024, 2, 12, 1, tzinfo=UTC), datetime(2024, 3, 12, 1, tzinfo=UTC)
    files = {
        "2024-01.csv": (ss_rows("2024-01", insured=10), day1),
        "2024-01-part2.csv": ([SS_HEADER, [CODES[9], "2024-01", 99, 0, 0, 1, 0]], day1),
        "2024-02.csv": (ss_rows("2024-02", insured=20), day2),
        "2024-01.corrected.csv": (ss_rows("2024-01", count=2, insured=30), day2 + timedelta(hours=1)),
    }
    for name, (rows, when) in files.items():
        path = folder / name
        path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
        _touch(path, when)
    (folder / "README.md").write_text("notes", encoding="utf-8")
    (root / "_truth" / "social_security.csv").write_text("not a delivery", encoding="utf-8")
    (root / "mystery" / "x.csv").write_text("a\n1\n", encoding="utf-8")
    (root / "manifest.json").write_text("{}", encoding="utf-8")

    results = ingest_directory(root, lake=lake, session=db)

    assert [r.source_id for r in results] == ["mystery", "social_security", "social_security"]
    assert isinstance(results[0].error, UnknownSource)
    first, second = results[1:]
    assert (first.received_at, first.rows_accepted, first.periods) == (day1, 6, ("2024-01",))
    assert [n.code for n in first.notices] == ["unrecognised_files"]
    assert second.received_at == day2 + timedelta(hours=1) and second.superseded == (first.batch_id,)
    now = rows_of(lake, "social_security", order="period, _row")
    assert [(r["period"].month, r["insured"]) for r in now] == [(1, 30), (1, 31)] + [
        (2, 20 + i) for i in range(5)
    ]
    as_of_day1 = rows_of(lake, "social_security", as_of=day1)
    assert sorted(r["insured"] for r in as_of_day1) == [10, 11, 12, 13, 14, 99]

    again = ingest_directory(root, lake=lake, session=db, sources=["social_security"])
    assert [r.outcome for r in again] == [Outcome.UNCHANGED, Outcome.UNCHANGED]


def test_service_entry_points(write: Write, ingest: Ingest, lake: Lake, db: Session) -> None:
    result = ingest("social_security", write("ss.csv", [*ss_rows(), ["bad", "2024-01", 1, 0, 0, 1, 0]]))
    batch = service.get_ingest_batch(db, result.batch_id or "")
    assert batch.rows_rejected == 1 and batch.files[0].name == "ss.csv"
    assert [b.id for b in service.list_ingest_batches(db, "social_security")] == [result.batch_id]
    rejected = service.quarantined_rows(lake, "social_security")
    assert rejected[0]["reason"] == "invalid_uscc" and rejected[0]["raw"]["统一社会信用代码"] == "bad"
    assert REJECT_REASONS[rejected[0]["reason"]] % rejected[0]["params"]
    with pytest.raises(NotFound):
        service.get_ingest_batch(db, "nope")
    assert {s.source_id: s.rows for s in service.lake_stats(lake)}["social_security"] == 5


def test_a_dead_runs_pending_batch_is_cleaned_up_by_the_next_run(
    write: Write, ingest: Ingest, lake: Lake, db: Session
) -> None:
    db.add(
        IngestBatch(
            id="dead",
            source_id="social_security",
            status="pending",
            mode="replace",
            received_at=RECEIVED,
            worker="elsewhere:1",
            periods=[],
            rejects_by_reason={},
            notices=[],
        )
    )
    db.add(IngestFile(batch_id="dead", position=0, name="x.csv", sha256="0" * 64, size_bytes=1, columns={}))
    db.commit()
    orphan = lake.root / "social_security" / "period=2024-01" / "dead.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half")
    (lake.root / "_staging" / "social_security" / "dead").mkdir(parents=True)

    result = ingest("social_security", write("ss.csv", ss_rows()))

    assert result.ok and not orphan.exists()
    assert not list((lake.root / "_staging").glob("*/*"))
    dead = db.get(IngestBatch, "dead")
    assert dead is not None and (dead.status, dead.error_code) == ("failed", "interrupted")
    assert len(rows_of(lake, "social_security")) == 5


def test_received_at_must_be_timezone_aware(write: Write, lake: Lake, db: Session) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ingest_files(
            "social_security",
            [write("x.csv", ss_rows())],
            lake=lake,
            session=db,
            received_at=datetime(2024, 1, 1),
        )
    assert datetime.now(UTC) > RECEIVED


def test_a_large_period_is_written_in_pieces_and_superseded_whole(
    write: Write, ingest: Ingest, lake: Lake, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("xinyidai.data.ingest.publish.PIECE_ROWS", 2)
    first = ingest("social_security", write("big.csv", ss_rows(count=5)))
    files = {p.name for p in (lake.root / "social_security" / "period=2024-01").iterdir()}
    assert files == {f"{first.batch_id}{suffix}.parquet" for suffix in ("", "-1", "-2")}
    assert len(rows_of(lake, "social_security")) == 5

    fixed = ingest(
        "social_security", write("fix.csv", ss_rows(count=3, insured=70)), received_at=RECEIVED + timedelta(1)
    )
    assert fixed.superseded == (first.batch_id,)
    assert sorted(r["insured"] for r in rows_of(lake, "social_security")) == [70, 71, 72]
    parts = db.scalars(select(IngestPart).where(IngestPart.batch_id == first.batch_id)).all()
    assert len(parts) == 3 and all(p.superseded_by == fixed.batch_id for p in parts)
