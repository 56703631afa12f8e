"""Products as an Excel workbook: export an institution's products, import them back, a blank template.

One row per product, one column per field of ``ProductInput`` (Chinese headers; the English field name is
accepted too). Enumerations are written as Chinese labels and read back as labels or codes, lists are
separated by ``、`` (commas and semicolons are accepted), yes/no fields are ``是``/``否``, and the pricing
by grade is ``A=3.45；B=4.2``.

Import upserts by the institution's own product id (``external_id``). Every row is validated first —
types and ranges, the admission rule and the limit formula, duplicates within the file, whether a changed
product may be edited in its state — and if any row fails, nothing is written and the report names each
failing row, its column and what is wrong. An exported file imported unchanged changes nothing.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyidai.core.access import Permission, Principal, require
from xinyidai.core.errors import ValidationFailed, XydError
from xinyidai.core.i18n import N_
from xinyidai.market import states
from xinyidai.market.models import Product
from xinyidai.market.products import check_strategy, list_products, product_values, upsert_product
from xinyidai.market.schemas import ProductInput

__all__ = [
    "COLUMNS",
    "ImportReport",
    "RowError",
    "export_products",
    "import_products",
    "product_template",
]

SHEET = "产品"
GUIDE_SHEET = "填写说明"
MAX_ROWS = 2000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PRODUCT_TYPE_ZH = {
    "credit": "信用贷款",
    "mortgage": "抵押贷款",
    "guarantee": "担保贷款",
    "policy": "政策性产品",
}
REPAYMENT_ZH = {
    "bullet": "到期还本付息",
    "interest_first": "先息后本",
    "equal_installment": "等额本息",
    "equal_principal": "等额本金",
    "flexible": "随借随还",
}
SIZE_ZH = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}
COLLATERAL_ZH = {"none": "无", "mortgage": "抵押", "pledge": "质押", "guarantor": "保证"}
YES, NO = "是", "否"
_TRUE = {"是", "y", "yes", "true", "1", "t", "对", "√"}
_FALSE = {"否", "n", "no", "false", "0", "f", "不", "×", ""}
_LIST_SPLIT = re.compile(r"[,，、;；\s]+")
_PAIR_SPLIT = re.compile(r"[=:：]")


@dataclass(frozen=True)
class Column:
    """One column of the sheet: the field, its Chinese header, how it is written and what it holds."""

    name: str
    header: str
    kind: str  # text | decimal | int | enum | list | bool | pricing
    hint: str
    required: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)


COLUMNS: tuple[Column, ...] = (
    Column(
        "external_id",
        "产品编号",
        "text",
        "贵机构自己的产品编号：字母、数字、_ . -，最多 64 位；按它更新",
        True,
    ),
    Column("name", "产品名称", "text", "2–100 个字", True),
    Column(
        "product_type", "产品类型", "enum", "信用贷款、抵押贷款、担保贷款、政策性产品", True, PRODUCT_TYPE_ZH
    ),
    Column("description", "产品说明", "text", "最多 4000 字"),
    Column("amount_min", "最低金额（元）", "decimal", "元，最多两位小数", True),
    Column("amount_max", "最高金额（元）", "decimal", "元，最多两位小数", True),
    Column("term_min", "最短期限（月）", "int", "1–360 个月", True),
    Column("term_max", "最长期限（月）", "int", "1–360 个月", True),
    Column("rate_min", "最低年利率（%）", "decimal", "年化百分比，3.85 即 3.85%", True),
    Column("rate_max", "最高年利率（%）", "decimal", "年化百分比", True),
    Column(
        "repayment_methods",
        "还款方式",
        "list",
        "一种或多种，用顿号分隔：到期还本付息、先息后本、等额本息、等额本金、随借随还",
        True,
        REPAYMENT_ZH,
    ),
    Column("regions", "目标地区", "list", "六位行政区划代码，用顿号分隔；空表示不限"),
    Column("industries", "目标行业门类", "list", "国民经济行业门类字母 A–T，用顿号分隔；空表示不限"),
    Column("sizes", "企业规模", "list", "微型、小型、中型、大型，用顿号分隔；空表示不限", labels=SIZE_ZH),
    Column("grades", "信用等级", "list", "A、B、C、D，用顿号分隔；空表示不限"),
    Column("collateral", "担保方式", "enum", "无、抵押、质押、保证；空为无", labels=COLLATERAL_ZH),
    Column("pure_credit", "纯信用", "bool", "是 / 否"),
    Column("online", "线上办理", "bool", "是 / 否"),
    Column("instant", "秒批", "bool", "是 / 否；秒批产品须填写额度公式"),
    Column("auto_disburse", "自动放款", "bool", "是 / 否；仅秒批产品可自动放款"),
    Column("admission_rule", "准入规则", "text", "规则表达式，结果为真或假，例如 grade in ('A','B')"),
    Column("limit_formula", "额度公式", "text", "规则表达式，结果为金额（元）"),
    Column("pricing", "分级定价（年利率%）", "pricing", "等级=年利率，用分号分隔，例如 A=3.45；B=4.2"),
)
_BY_HEADER: dict[str, Column] = {
    **{c.name.lower(): c for c in COLUMNS},
    **{c.header: c for c in COLUMNS},
}
_HEADER_OF = {c.name: c.header for c in COLUMNS}


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row: the row number in the sheet, the column header, a message id."""

    row: int
    column: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    """The outcome of an import: how many products were created, updated or left unchanged, or why not."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- export -----------------------------------------------------------------------------------------


def _label_list(values: Iterable[str], labels: Mapping[str, str]) -> str:
    return "、".join(labels.get(v, v) for v in values)


def _cell(column: Column, value: Any) -> Any:
    if column.kind == "decimal":
        return Decimal(value).normalize() if value is not None else None
    if column.kind == "enum":
        return column.labels.get(value, value)
    if column.kind == "list":
        return _label_list(value or [], column.labels)
    if column.kind == "bool":
        return YES if value else NO
    if column.kind == "pricing":
        return "；".join(f"{grade}={rate}" for grade, rate in sorted((value or {}).items()))
    return value


def _book(rows: Sequence[Mapping[str, Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E8F0FC")
    sheet.append([c.header for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(column.header) * 2 + 4))
    sheet.freeze_panes = "B2"
    for values in rows:
        sheet.append([_cell(c, values.get(c.name)) for c in COLUMNS])
    guide = book.create_sheet(GUIDE_SHEET)
    guide.append(["列", "字段", "必填", "填写方法"])
    for cell in guide[1]:
        cell.font = bold
    for column in COLUMNS:
        guide.append([column.header, column.name, "是" if column.required else "", column.hint])
    guide.append([])
    guide.append(
        ["说明", "", "", "每行一个产品，按产品编号新增或更新；任何一行有误则整个文件不导入，并列出出错的行。"]
    )
    guide.append(["", "", "", "已上架的产品被修改后重新进入平台审核。"])
    for letter, width in (("A", 22), ("B", 20), ("C", 6), ("D", 80)):
        guide.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_products(session: Session, principal: Principal) -> bytes:
    """The institution's own products, every status, as an Excel workbook (oldest first)."""
    require(principal, Permission.PRODUCTS_MANAGE)
    products: list[Product] = []
    offset = 0
    while True:
        page, total = list_products(session, principal, own=True, limit=500, offset=offset)
        products.extend(page)
        offset += len(page)
        if not page or offset >= total:
            break
    rows = []
    for product in sorted(products, key=lambda p: p.id):
        values = product_values(product)
        values["external_id"] = product.external_id
        rows.append(values)
    return _book(rows)


def product_template() -> bytes:
    """An empty workbook with the headers and the guide sheet."""
    return _book([])


# --- import -----------------------------------------------------------------------------------------


class _CellError(Exception):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _from_label(value: str, labels: Mapping[str, str]) -> str:
    for code, label in labels.items():
        if value in (code, label):
            return code
    return value  # not one of them: the schema names the allowed values


def _parse(column: Column, value: Any) -> Any:
    """A cell's value as the schema expects it; None for an empty cell (the default applies)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return [] if column.kind == "list" else ({} if column.kind == "pricing" else None)
    if column.kind == "decimal":
        if isinstance(value, bool):
            raise _CellError(N_("Write a number"))
        if isinstance(value, int | float | Decimal):
            return Decimal(str(value))
        try:
            return Decimal(_text(value).replace(",", "").replace("，", ""))
        except InvalidOperation:
            raise _CellError(N_("Write a number")) from None
    if column.kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else _text(value)
    if column.kind == "enum":
        return _from_label(_text(value), column.labels)
    if column.kind == "list":
        return [_from_label(part, column.labels) for part in _LIST_SPLIT.split(_text(value)) if part]
    if column.kind == "bool":
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _CellError(N_("Write 是 (yes) or 否 (no)"))
    if column.kind == "pricing":
        pricing: dict[str, Decimal] = {}
        for part in _LIST_SPLIT.split(_text(value)):
            if not part:
                continue
            pieces = _PAIR_SPLIT.split(part)
            if len(pieces) != 2:
                raise _CellError(N_("Write the pricing as grade=rate, for example A=3.45；B=4.2"))
            try:
                pricing[pieces[0].strip().upper()] = Decimal(pieces[1].strip())
            except InvalidOperation:
                raise _CellError(N_("Write the pricing as grade=rate, for example A=3.45；B=4.2")) from None
        return pricing
    return _text(value)


_PYDANTIC_MESSAGES = {
    "missing": N_("This field is required"),
    "string_too_short": N_("Must be at least %(min_length)s characters"),
    "string_too_long": N_("Must be at most %(max_length)s characters"),
    "string_pattern_mismatch": N_("The format is invalid"),
    "string_type": N_("Write text"),
    "int_parsing": N_("Must be a whole number"),
    "int_from_float": N_("Must be a whole number"),
    "int_type": N_("Must be a whole number"),
    "decimal_parsing": N_("Write a number"),
    "decimal_type": N_("Write a number"),
    "decimal_max_places": N_("At most %(decimal_places)s decimal places"),
    "decimal_max_digits": N_("At most %(max_digits)s digits"),
    "decimal_whole_digits": N_("At most %(whole_digits)s digits before the decimal point"),
    "greater_than": N_("Must be greater than %(gt)s"),
    "greater_than_equal": N_("Must be at least %(ge)s"),
    "less_than_equal": N_("Must be at most %(le)s"),
    "too_short": N_("Must have at least %(min_length)s items"),
    "literal_error": N_("Must be one of: %(expected)s"),
    "bool_parsing": N_("Write 是 (yes) or 否 (no)"),
}


def _pydantic_errors(row: int, exc: ValidationError) -> list[RowError]:
    errors = []
    for err in exc.errors():
        loc = err.get("loc", ())
        name = str(loc[0]) if loc else ""
        ctx = {
            k: str(v) for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | float | str | Decimal)
        }
        message = _PYDANTIC_MESSAGES.get(err.get("type", ""), N_("The value is invalid"))
        errors.append(RowError(row, _HEADER_OF.get(name, name), message, ctx))
    return errors


def _xyd_error(row: int, exc: XydError) -> RowError:
    return RowError(row, _HEADER_OF.get(exc.field or "", exc.field or ""), exc.message, dict(exc.params))


def _normalised(data: ProductInput) -> dict[str, Any]:
    """``data`` in the form of ``product_values`` (to tell an unchanged row from a changed one)."""
    values: dict[str, Any] = {c.name: getattr(data, c.name) for c in COLUMNS if c.name != "external_id"}
    for name in ("amount_min", "amount_max", "rate_min", "rate_max"):
        values[name] = Decimal(values[name]).normalize()
    values["pricing"] = {k: Decimal(v).normalize() for k, v in data.pricing.items()}
    return values


def _read_rows(content: bytes) -> tuple[list[Column | None], list[tuple[int, tuple[Any, ...]]]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # styles missing in files written by other programs
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise ValidationFailed("The file is not an Excel workbook (.xlsx)", field="file") from None
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        rows = [(i, tuple(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
    except Exception:  # a damaged sheet inside a readable zip: openpyxl raises many kinds
        raise ValidationFailed("The file is not an Excel workbook (.xlsx)", field="file") from None
    finally:
        book.close()
    if not rows:
        raise ValidationFailed("The sheet is empty: the first row must hold the column headers", field="file")
    header = [_BY_HEADER.get(_text(h).lower()) or _BY_HEADER.get(_text(h)) for h in rows[0][1]]
    return header, rows[1:]


def import_products(session: Session, principal: Principal, content: bytes) -> ImportReport:
    """Create or update the institution's products from a workbook; all rows or none.

    Returns the report; when it has errors nothing was written.
    """
    require(principal, Permission.PRODUCTS_MANAGE)
    header, rows = _read_rows(content)
    report = ImportReport()
    named = {c.name for c in header if c is not None}
    for column in COLUMNS:
        if column.required and column.name not in named:
            report.errors.append(RowError(1, column.header, N_("This column is missing")))
    if report.errors:
        return report
    rows = [(n, r) for n, r in rows if any(_text(v) for v in r)]
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(
            "The file has %(rows)s products; import at most %(max)s at a time",
            field="file",
            rows=len(rows),
            max=MAX_ROWS,
        )
    report.rows = len(rows)
    existing = {p.external_id: p for p in _own_products(session, principal)}
    seen: dict[str, int] = {}
    planned: list[tuple[ProductInput, Product | None, bool]] = []
    for number, cells in rows:
        fields: dict[str, Any] = {}
        row_errors: list[RowError] = []
        for index, value in enumerate(cells):
            known = header[index] if index < len(header) else None
            if known is None:
                continue  # a column the template does not have (notes, say) is ignored
            try:
                parsed = _parse(known, value)
            except _CellError as exc:
                row_errors.append(RowError(number, known.header, exc.message, exc.params))
                continue
            if parsed is not None:
                fields[known.name] = parsed
        if row_errors:
            report.errors.extend(row_errors)
            continue
        try:
            data = ProductInput.model_validate(fields)
            check_strategy(data)
        except ValidationError as exc:
            report.errors.extend(_pydantic_errors(number, exc))
            continue
        except XydError as exc:
            report.errors.append(_xyd_error(number, exc))
            continue
        if data.external_id in seen:
            report.errors.append(
                RowError(
                    number,
                    _HEADER_OF["external_id"],
                    N_("The product id %(id)s is already on row %(row)s"),
                    {"id": data.external_id, "row": seen[data.external_id]},
                )
            )
            continue
        seen[data.external_id] = number
        product = existing.get(data.external_id)
        changed = product is None or product_values(product) != _normalised(data)
        if product is not None and changed:
            try:
                states.next_state("product", product.status, "edit")
            except XydError as exc:
                report.errors.append(_xyd_error(number, exc))
                continue
        planned.append((data, product, changed))
    if report.errors:
        return report
    for data, product, changed in planned:
        if not changed:
            report.unchanged += 1
            continue
        upsert_product(session, principal, data)
        if product is None:
            report.created += 1
        else:
            report.updated += 1
    return report


def _own_products(session: Session, principal: Principal) -> Sequence[Product]:
    return session.scalars(select(Product).where(Product.institution_id == principal.organisation_id)).all()
