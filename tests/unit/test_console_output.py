"""The console's output formats: the streaming Excel writer read back by openpyxl, and the inline-SVG
charts (escaped labels, drill-down links, tooltips, nothing scripted)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from xinyidai.consoles.xlsx import sheet_name, write_xlsx
from xinyidai.web import charts


def test_the_workbook_reads_back_with_openpyxl() -> None:
    rows = [
        ["地区", "金额", "笔数", "空", "日期", "是否"],
        ['威海市 <&> "x"', Decimal("1234.50"), 3, None, date(2026, 11, 1), True],
        ["控制\x01字符", 0.25, -1, "", "2026-Q4", False],
    ]
    content = write_xlsx([("统计/明细[1]", iter(rows)), ("统计/明细[1]", iter([["second"]]))])
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["统计 明细 1", "统计 明细 1 2"]
    got = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert got[0] == ["地区", "金额", "笔数", "空", "日期", "是否"]
    assert got[1] == ['威海市 <&> "x"', 1234.5, 3, None, "2026-11-01", True]
    assert got[2] == ["控制字符", 0.25, -1, None, "2026-Q4", False]
    assert [list(r) for r in book.worksheets[1].iter_rows(values_only=True)] == [["second"]]


def test_many_rows_stream() -> None:
    content = write_xlsx([("x", ([i, f"r{i}", i / 2] for i in range(5000)))])
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 5000 and rows[-1] == (4999, "r4999", 2499.5)


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    assert sheet_name("a" * 40, taken) == "a" * 31
    assert len(sheet_name("a" * 40, taken)) <= 31
    assert sheet_name("", taken) == "Sheet"


def test_charts_escape_link_and_carry_tooltips() -> None:
    svg = charts.bar_chart(
        [
            charts.Bar(
                "<b>环翠区</b>", 12.5, "/government/statistics?region=371002&dim=industry", "tip & more"
            )
        ],
        title="按地区",
    )
    text = str(svg)
    assert "<b>环翠区" not in text and "&lt;b&gt;环翠区" in text
    assert 'href="/government/statistics?region=371002&amp;dim=industry"' in text
    assert "<title>tip &amp; more</title>" in text
    assert "<script" not in text and "style=" not in text  # the content policy allows neither
    stacked = str(
        charts.stacked_bar_chart(["2026-01", "2026-02"], [("a", [1.0, 2.0]), ("b", [0.0, 1.0])], title="t")
    )
    assert stacked.count("<rect") >= 4 and "2026-02 · a: 2" in stacked
    line = str(charts.line_chart(["2026-01", "2026-02", "2026-03"], [("a", [1.0, None, 3.0])], title="t"))
    assert line.count("<circle") == 2 and "<polyline" not in line  # a gap splits the line
    assert str(charts.bar_chart([], title="t")) == ""
