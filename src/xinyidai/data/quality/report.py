"""The dated quality report: an Excel workbook a data admin can file or send to a department.

Three sheets, in Chinese (the people who read it are the departments' data staff): a summary of the run,
each source's score, and every rule's result with the failing ones first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xinyidai.data.catalogue import catalogue

if TYPE_CHECKING:
    from xinyidai.data.models import QualityRun

__all__ = ["report_name", "write_report"]

KIND_ZH = {
    "completeness": "完整性",
    "validity": "有效性",
    "range": "取值范围",
    "plausibility": "合理性",
    "uniqueness": "唯一性",
    "referential": "关联一致性",
    "consistency": "跨源一致性",
    "timeliness": "及时性",
    "volume": "数据量波动",
}
SEVERITY_ZH = {"info": "提示", "warning": "警告", "error": "错误"}
_BOLD = Font(bold=True)
_FAILED = PatternFill("solid", fgColor="FDE2E1")


def report_name(run: QualityRun) -> str:
    return f"quality-{run.as_of.isoformat()}-run{run.id}.xlsx"


def write_report(run: QualityRun, folder: Path) -> Path:
    """Write the run's workbook into ``folder`` (atomically: a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "概览"
    for row in (
        ("数据质量检查报告",),
        ("检查日期", run.as_of.isoformat()),
        ("检查所属期", run.period or "—"),
        ("规则总数", run.rules_total),
        ("未通过规则", run.rules_failed),
        ("阻断性问题", run.rules_blocking),
        ("通过率（%）", float(run.score)),
        ("耗时（秒）", float(run.elapsed_seconds)),
    ):
        summary.append(row)
    summary["A1"].font = Font(bold=True, size=14)
    summary.column_dimensions["A"].width = 16
    summary.column_dimensions["B"].width = 20

    by_source: dict[str, list[int]] = {}
    for result in run.results:
        counts = by_source.setdefault(result.source_id, [0, 0])
        counts[0] += 1
        counts[1] += int(result.passed)
    sources = book.create_sheet("数据源")
    sources.append(("数据源", "标识", "提供部门", "规则数", "通过数", "得分"))
    for source_id, (total, passed) in by_source.items():
        source = catalogue().get(source_id)
        sources.append(
            (source.name_zh, source_id, source.owner, total, passed, round(100 * passed / total, 2))
        )
    _style_header(sources, (22, 22, 26, 8, 8, 8))

    rules = book.create_sheet("规则明细")
    rules.append(("规则", "数据源", "类型", "级别", "检查行数", "未通过行数", "通过率", "结果", "说明"))
    for result in sorted(run.results, key=lambda r: (r.passed, r.source_id, r.rule_id)):
        detail = "；".join(f"{k}={v}" for k, v in result.detail.items())
        rules.append(
            (
                result.rule_id,
                catalogue().get(result.source_id).name_zh,
                KIND_ZH.get(result.kind, result.kind),
                SEVERITY_ZH.get(result.severity, result.severity),
                result.rows_checked,
                result.rows_failed,
                float(result.pass_rate),
                "通过" if result.passed else "未通过",
                detail,
            )
        )
        if not result.passed:
            for cell in rules[rules.max_row]:
                cell.fill = _FAILED
    _style_header(rules, (44, 20, 12, 8, 12, 12, 10, 8, 50))
    rules.freeze_panes = "A2"

    target = folder / report_name(run)
    descriptor, temporary = tempfile.mkstemp(dir=folder, suffix=".xlsx.part")
    os.close(descriptor)
    try:
        book.save(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _style_header(sheet: Worksheet, widths: tuple[int, ...]) -> None:
    for cell in sheet[1]:
        cell.font = _BOLD
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
