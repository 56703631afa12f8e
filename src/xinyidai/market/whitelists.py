"""Whitelists (白名单): a department's list of enterprises for a programme, pushed to institutions.

A department uploads an Excel workbook (.xlsx) or a CSV file (UTF-8, with or without BOM, or GB18030 —
which contains GBK and GB2312) with a header row and the columns credit code (统一社会信用代码), enterprise
name (企业名称), programme (项目) and reason (推荐理由). Every line is checked: the credit code (GB 32100,
check character included), the name, one programme for the whole file, duplicates, lengths.

**All or nothing.** If any line fails, nothing is saved and the department gets the list of every bad
line with what is wrong, to correct the file and upload it again. A whitelist is an official decision of
the department (usually adopted at a meeting and often published); a list saved without its faulty lines
would reach the banks looking complete while the enterprises left off silently miss the programme, and
the department would have to find out which ones. Faults are nearly always a typo in a few codes, quick to
fix at the source. Facts that do not make a line wrong (the code is not in the enterprise registry, the
name differs from the registry's) are shown as notices on the saved list.

Each entry is then tracked: ``new`` → ``assigned`` (dispatch gave it to an institution) → ``contacted``
(the institution says so) → ``applied`` → ``approved`` with the amount, the last two read from the
platform's own applications and loans for that credit code at that institution.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from xinyidai.accounts.models import EnterpriseProfile, Organisation
from xinyidai.core.access import Permission, Principal, can, require, sees_all_organisations
from xinyidai.core.clock import utcnow
from xinyidai.core.codes import DIVISIONS
from xinyidai.core.errors import NotFound, ValidationFailed
from xinyidai.core.i18n import N_
from xinyidai.core.uscc import InvalidUSCC, validate_uscc
from xinyidai.data.lake import Lake
from xinyidai.data.models import RegistryEnterprise
from xinyidai.market.models import Application, Loan, Whitelist, WhitelistEntry
from xinyidai.rating import service as rating

MAX_LINES = 50_000
MAX_REASON = 500
MAX_NAME = 200
MAX_PROGRAMME = 200
PROGRESS = ("new", "assigned", "contacted", "applied", "approved")

HEADERS: dict[str, tuple[str, ...]] = {
    "uscc": (
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "uscc",
        "credit code",
        "unified social credit code",
    ),
    "name": ("企业名称", "名称", "单位名称", "name", "enterprise name", "enterprise"),
    "programme": ("项目", "项目名称", "计划", "专项", "programme", "program"),
    "reason": ("推荐理由", "理由", "原因", "备注", "reason"),
}

PROBLEMS: dict[str, str] = {
    "unreadable_encoding": N_(
        "The file is neither UTF-8 nor GB18030 text (first unreadable byte on line %(line)s); "
        "save it as CSV UTF-8 or as an Excel workbook"
    ),
    "broken_xlsx": N_(
        "The file is not a readable Excel workbook (.xlsx); open it in Excel and save it again"
    ),
    "unsupported": N_("Upload an Excel workbook (.xlsx) or a CSV file"),
    "empty_file": N_("The file is empty"),
    "no_header": N_(
        "No header row with a credit code column was found in the first rows "
        "(expected 统一社会信用代码, 企业名称, 项目, 推荐理由)"
    ),
    "no_lines": N_("The file has a header but no enterprises"),
    "too_many": N_("The file has more than %(max)s lines; split it"),
    "uscc_missing": N_("The credit code is empty"),
    "name_missing": N_("The enterprise name is empty"),
    "name_too_long": N_("The enterprise name is longer than %(max)s characters"),
    "reason_too_long": N_("The reason is longer than %(max)s characters"),
    "duplicate": N_("Credit code %(uscc)s is already on line %(first)s"),
    "programme_differs": N_(
        "Programme %(programme)s differs from %(first)s on line %(first_line)s: one programme per file"
    ),
    "programme_missing": N_("Name the programme: in the form or in a 项目 column"),
    "programme_too_long": N_("The programme name is longer than %(max)s characters"),
}
NOTICES: dict[str, str] = {
    "not_in_registry": N_("Not found in the enterprise registry: it cannot be matched by region or industry"),
    "name_differs": N_("The registry's name is %(registry)s"),
    "not_active": N_("The registry says %(status)s"),
}


@dataclass(frozen=True)
class LineProblem:
    """One fault: the line (0 for the whole file), a code from ``PROBLEMS`` or the USCC validator's msgid."""

    line: int
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    value: str = ""


class WhitelistRejected(ValidationFailed):
    """The file was refused; ``problems`` lists every bad line. Nothing was saved."""

    title = "The whitelist was not saved: correct the lines below and upload the whole file again"

    def __init__(self, problems: list[LineProblem]) -> None:
        super().__init__(self.title, field="file")
        self.problems = problems


@dataclass(frozen=True)
class ParsedLine:
    line: int
    uscc: str
    name: str
    programme: str
    reason: str


# ----------------------------------------------------------------------------------------- reading


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        utf8_error = error
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as error:
        first = min(utf8_error.start, error.start)
        line = data.count(b"\n", 0, first) + 1
        raise WhitelistRejected([LineProblem(0, PROBLEMS["unreadable_encoding"], {"line": line})]) from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(filename: str, data: bytes) -> list[tuple[int, list[str]]]:
    """The file's rows as (line number, cells), blank rows dropped. Raises WhitelistRejected."""
    if not data:
        raise WhitelistRejected([LineProblem(0, PROBLEMS["empty_file"])])
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if lower.endswith((".xls",)) or (not lower.endswith((".csv", ".txt")) and b"\x00" in data[:1024]):
        raise WhitelistRejected([LineProblem(0, PROBLEMS["unsupported"])])
    text = _decode(data)
    sample = text[:4096]
    delimiter = max((",", "\t", ";", "，"), key=sample.count)
    if delimiter == "，":  # a full-width comma typed as separator
        text, delimiter = text.replace("，", ","), ","
    rows = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        values = [c.strip() for c in cells]
        if any(values):
            rows.append((number, values))
    return rows


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise WhitelistRejected([LineProblem(0, PROBLEMS["broken_xlsx"])]) from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            values = [_cell(v) for v in cells]
            if any(values):
                rows.append((number, values))
            if len(rows) > MAX_LINES + 20:
                break
        return rows
    except WhitelistRejected:
        raise
    except Exception:  # a damaged sheet inside a readable zip: openpyxl raises many kinds
        raise WhitelistRejected([LineProblem(0, PROBLEMS["broken_xlsx"])]) from None
    finally:
        book.close()


def _header(rows: list[tuple[int, list[str]]]) -> tuple[int, dict[str, int]]:
    """The index in ``rows`` of the header row and each known column's position."""
    names = {alias.lower(): key for key, aliases in HEADERS.items() for alias in aliases}
    for at, (_number, cells) in enumerate(rows[:10]):
        columns: dict[str, int] = {}
        for position, cell in enumerate(cells):
            key = names.get(cell.replace(" ", "").lower()) or names.get(cell.lower())
            if key and key not in columns:
                columns[key] = position
        if "uscc" in columns:
            return at, columns
    raise WhitelistRejected([LineProblem(0, PROBLEMS["no_header"])])


def parse(filename: str, data: bytes, programme: str = "") -> tuple[str, list[ParsedLine]]:
    """Check every line of an uploaded whitelist; returns the programme and the lines, or raises
    WhitelistRejected with every problem found (never just the first)."""
    rows = read_rows(filename, data)
    if not rows:
        raise WhitelistRejected([LineProblem(0, PROBLEMS["empty_file"])])
    at, columns = _header(rows)
    body = rows[at + 1 :]
    if not body:
        raise WhitelistRejected([LineProblem(0, PROBLEMS["no_lines"])])
    if len(body) > MAX_LINES:
        raise WhitelistRejected([LineProblem(0, PROBLEMS["too_many"], {"max": MAX_LINES})])

    def get(cells: list[str], key: str) -> str:
        position = columns.get(key)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    problems: list[LineProblem] = []
    seen: dict[str, int] = {}
    chosen = programme.strip()
    chosen_line = 0
    lines = []
    for number, cells in body:
        raw = get(cells, "uscc")
        name, line_programme, reason = get(cells, "name"), get(cells, "programme"), get(cells, "reason")
        code = raw
        if not raw:
            problems.append(LineProblem(number, PROBLEMS["uscc_missing"]))
        else:
            try:
                code = str(validate_uscc(raw))
            except InvalidUSCC as error:
                problems.append(LineProblem(number, error.message, dict(error.params), raw))
                code = ""
        if code:
            if code in seen:
                problems.append(
                    LineProblem(number, PROBLEMS["duplicate"], {"uscc": code, "first": seen[code]}, raw)
                )
            else:
                seen[code] = number
        if not name:
            problems.append(LineProblem(number, PROBLEMS["name_missing"], value=raw))
        elif len(name) > MAX_NAME:
            problems.append(LineProblem(number, PROBLEMS["name_too_long"], {"max": MAX_NAME}, raw))
        if len(reason) > MAX_REASON:
            problems.append(LineProblem(number, PROBLEMS["reason_too_long"], {"max": MAX_REASON}, raw))
        if line_programme and not programme.strip():
            if not chosen:
                chosen, chosen_line = line_programme, number
            elif line_programme != chosen:
                problems.append(
                    LineProblem(
                        number,
                        PROBLEMS["programme_differs"],
                        {"programme": line_programme, "first": chosen, "first_line": chosen_line},
                        raw,
                    )
                )
        lines.append(ParsedLine(number, code, name, line_programme or chosen, reason))
    if not chosen:
        problems.insert(0, LineProblem(0, PROBLEMS["programme_missing"]))
    elif len(chosen) > MAX_PROGRAMME:
        problems.insert(0, LineProblem(0, PROBLEMS["programme_too_long"], {"max": MAX_PROGRAMME}))
    if problems:
        raise WhitelistRejected(problems)
    return chosen, lines


# ----------------------------------------------------------------------------------------- use cases


def upload_whitelist(
    session: Session, principal: Principal, *, filename: str, data: bytes, programme: str = ""
) -> Whitelist:
    """Save a department's whitelist if every line is right (else WhitelistRejected, nothing written)."""
    require(principal, Permission.WHITELISTS_MANAGE)
    chosen, lines = parse(filename, data, programme)
    whitelist = Whitelist(
        department_id=principal.organisation_id,
        programme=chosen,
        filename=filename[-200:],
        entries=len(lines),
        uploaded_by=principal.username,
    )
    session.add(whitelist)
    session.flush()
    now = utcnow()
    session.execute(
        insert(WhitelistEntry),
        [
            {
                "whitelist_id": whitelist.id,
                "uscc": line.uscc,
                "enterprise_name": line.name,
                "reason": line.reason,
                "status": "new",
                "updated_at": now,
            }
            for line in lines
        ],
    )
    return whitelist


def _scope(stmt: Any, principal: Principal) -> Any:
    if sees_all_organisations(principal):
        return stmt
    return stmt.where(Whitelist.department_id == principal.organisation_id)


def list_whitelists(session: Session, principal: Principal) -> Sequence[Whitelist]:
    """The department's own whitelists (the operator's dispatchers see every department's)."""
    if not sees_all_organisations(principal):
        require_any(principal, Permission.WHITELISTS_MANAGE, Permission.DISPATCH)
    return session.scalars(_scope(select(Whitelist), principal).order_by(Whitelist.id.desc())).all()


def require_any(principal: Principal, *permissions: Permission) -> None:
    """Allowed if the principal has any of the permissions (403 otherwise)."""
    if not any(can(principal, p) for p in permissions):
        require(principal, permissions[0])


def get_whitelist(session: Session, principal: Principal, whitelist_id: int) -> Whitelist:
    require_any(principal, Permission.WHITELISTS_MANAGE, Permission.DISPATCH)
    found: Whitelist | None = session.scalars(
        _scope(select(Whitelist).where(Whitelist.id == whitelist_id), principal)
    ).first()
    if found is None:
        raise NotFound()
    return found


def sync_progress(session: Session, whitelist: Whitelist) -> None:
    """Move entries to ``applied`` / ``approved`` (with the amount) from the platform's applications
    and loans for that credit code at the assigned institution, since the list was uploaded."""
    entries = session.scalars(
        select(WhitelistEntry).where(
            WhitelistEntry.whitelist_id == whitelist.id, WhitelistEntry.institution_id.is_not(None)
        )
    ).all()
    if not entries:
        return
    usccs = [e.uscc for e in entries]
    applied = {
        (u, i): status
        for u, i, status in session.execute(
            select(Application.uscc, Application.institution_id, Application.status).where(
                Application.uscc.in_(usccs), Application.created_at >= whitelist.uploaded_at
            )
        ).all()
        if status not in ("withdrawn",)
    }
    approved_apps = {
        (u, i): amount
        for u, i, amount in session.execute(
            select(Application.uscc, Application.institution_id, func.sum(Application.approved_amount))
            .where(
                Application.uscc.in_(usccs),
                Application.created_at >= whitelist.uploaded_at,
                Application.status.in_(("approved", "disbursed")),
            )
            .group_by(Application.uscc, Application.institution_id)
        ).all()
    }
    loans = {
        (u, i): amount
        for u, i, amount in session.execute(
            select(Loan.uscc, Loan.institution_id, func.sum(Loan.amount))
            .join(Application, Application.id == Loan.application_id)
            .where(Loan.uscc.in_(usccs), Application.created_at >= whitelist.uploaded_at)
            .group_by(Loan.uscc, Loan.institution_id)
        ).all()
    }
    now = utcnow()
    for e in entries:
        key = (e.uscc, e.institution_id)
        if key in approved_apps or key in loans:
            amount = loans.get(key) or approved_apps.get(key)
            if e.status != "approved" or e.approved_amount != amount:
                e.status = "approved"
                e.approved_amount = Decimal(amount) if amount is not None else None
                e.updated_at = now
        elif key in applied and e.status in ("assigned", "contacted"):
            e.status, e.updated_at = "applied", now


@dataclass(frozen=True)
class EntryRow:
    entry: WhitelistEntry
    institution: str
    notices: list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class WhitelistView:
    whitelist: Whitelist
    rows: list[EntryRow]
    counts: dict[str, int]
    approved_amount: Decimal
    total: int


def whitelist_view(
    session: Session, principal: Principal, whitelist_id: int, *, limit: int = 500, offset: int = 0
) -> WhitelistView:
    """A whitelist with its entries' progress (brought up to date first) and the registry notices."""
    whitelist = get_whitelist(session, principal, whitelist_id)
    sync_progress(session, whitelist)
    session.flush()
    counts = dict.fromkeys(PROGRESS, 0)
    for status, count in session.execute(
        select(WhitelistEntry.status, func.count())
        .where(WhitelistEntry.whitelist_id == whitelist_id)
        .group_by(WhitelistEntry.status)
    ).all():
        counts[status] = int(count)
    amount = session.scalar(
        select(func.coalesce(func.sum(WhitelistEntry.approved_amount), 0)).where(
            WhitelistEntry.whitelist_id == whitelist_id
        )
    )
    entries = session.scalars(
        select(WhitelistEntry)
        .where(WhitelistEntry.whitelist_id == whitelist_id)
        .order_by(WhitelistEntry.id)
        .limit(limit)
        .offset(offset)
    ).all()
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({e.institution_id for e in entries if e.institution_id})
            )
        ).all()
    )
    registry = {
        r.uscc: r
        for r in session.scalars(
            select(RegistryEnterprise).where(RegistryEnterprise.uscc.in_([e.uscc for e in entries]))
        ).all()
    }
    rows = []
    for e in entries:
        notices: list[tuple[str, dict[str, Any]]] = []
        found = registry.get(e.uscc)
        if found is None:
            notices.append((NOTICES["not_in_registry"], {}))
        else:
            if e.enterprise_name and found.name != e.enterprise_name:
                notices.append((NOTICES["name_differs"], {"registry": found.name}))
            if found.status and found.status != "存续":
                notices.append((NOTICES["not_active"], {"status": found.status}))
        rows.append(EntryRow(e, names.get(e.institution_id or 0, ""), notices))
    return WhitelistView(whitelist, rows, counts, Decimal(amount or 0), whitelist.entries)


def entry_profiles(
    session: Session, lake: Lake | None, usccs: Sequence[str]
) -> dict[str, tuple[str, str, str, str]]:
    """(region, industry section, size, grade) of each credit code: the platform's enterprise record, else
    the registry's; the newest grade from the rating snapshot when there is one."""
    out: dict[str, tuple[str, str, str, str]] = {}
    if not usccs:
        return out
    for chunk_start in range(0, len(usccs), 5000):
        chunk = list(usccs[chunk_start : chunk_start + 5000])
        for r in session.scalars(select(RegistryEnterprise).where(RegistryEnterprise.uscc.in_(chunk))).all():
            division = DIVISIONS.get(r.industry_division or "")
            out[r.uscc] = (r.region_code or "", division.section if division else "", r.size_class or "", "")
        for uscc, region, section, size in session.execute(
            select(EnterpriseProfile.uscc, Organisation.region_code, EnterpriseProfile.industry_section,
                   EnterpriseProfile.size_class)
            .join(Organisation, Organisation.id == EnterpriseProfile.organisation_id)
            .where(EnterpriseProfile.uscc.in_(chunk))
        ).all():  # fmt: skip
            out[uscc] = (region or "", section or "", size or "", "")
    grades = _grades(lake, list(out))
    return {u: (r, s, z, grades.get(u, "")) for u, (r, s, z, _g) in out.items()}


def _grades(lake: Lake | None, usccs: list[str]) -> dict[str, str]:
    if lake is None or not usccs:
        return {}
    dates = rating.rating_dates(lake)
    if not dates:
        return {}
    path = lake.root / rating.RATINGS_DIR / f"as_of={dates[-1].isoformat()}.parquet"
    try:
        table = pq.read_table(path, columns=["uscc", "grade"], filters=[("uscc", "in", usccs)])
    except (OSError, ValueError):
        return {}
    return {
        str(u): str(g) for u, g in zip(table["uscc"].to_pylist(), table["grade"].to_pylist(), strict=True)
    }
