"""The synthetic city: deterministic, complete, realistic, and with exactly the dirt it says it has."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from xinyidai.core.uscc import is_valid_uscc, normalise
from xinyidai.data.catalogue import Field, Source, catalogue
from xinyidai.data.catalogue.sources import platform as platform_sources
from xinyidai.data.synth import SPECS, generate_city

ENTERPRISES = 3000
MONTHS = 24
SEED = 20261022
END = date(2026, 10, 1)
# the department sources: the platform's own loan book is delivered by the platform, not by the city
SOURCES = [s for s in catalogue().sources.values() if s not in platform_sources.SOURCES]


# --- reading a delivery the way ingestion would ------------------------------------------------------


@dataclass
class Delivered:
    """One delivered file: its manifest entry, header and rows as text (None for an empty cell)."""

    entry: dict[str, object]
    headers: list[str]
    rows: list[list[str | None]]


def _xlsx_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_file(path: Path, entry: dict[str, object]) -> Delivered:
    fmt = entry["format"]
    if fmt == "csv":
        encoding = "utf-8-sig" if entry["encoding"] == "utf-8-sig" else str(entry["encoding"])
        with path.open(encoding=encoding, newline="") as handle:
            lines = list(csv.reader(handle))
        return Delivered(entry, lines[0], [[cell or None for cell in line] for line in lines[1:]])
    if fmt == "jsonl":
        headers: list[str] = []
        rows: list[list[str | None]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line, parse_float=str, parse_int=str)
            headers = list(record)
            rows.append([None if v is None else str(v) for v in record.values()])
        return Delivered(entry, headers, rows)
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheet = workbook.active
    table = [[_xlsx_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return Delivered(entry, [str(h) for h in table[0]], table[1:])


def field_for(source: Source, header: str) -> Field:
    """The catalogue field a header names (its name, Chinese or English name, or an alias)."""
    wanted = header.strip().casefold()
    for f in source.fields:
        if wanted in {h.casefold() for h in f.headers}:
            return f
    raise AssertionError(f"{source.id}: header {header!r} maps to no field")


def as_number(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


_MONTH = re.compile(r"^(\d{4})\D?(\d{1,2})")


def as_month(text: str | None) -> date | None:
    if text is None:
        return None
    found = _MONTH.match(text.strip())
    return date(int(found.group(1)), int(found.group(2)), 1) if found else None


@dataclass
class City:
    out: Path
    manifest: dict[str, object]
    files: dict[str, Delivered]
    dirt: list[dict[str, object]]
    enterprises: list[dict[str, object]]

    def of(self, source_id: str, *, corrected: bool = False) -> Iterator[tuple[str, Delivered]]:
        for path, delivered in sorted(self.files.items()):
            if (
                delivered.entry["source"] == source_id
                and (delivered.entry["corrects"] is not None) == corrected
            ):
                yield path, delivered

    def clean(self, source_id: str) -> list[dict[str, str | None]]:
        """Rows of a source without any dirty row, keyed by field name."""
        source = catalogue().get(source_id)
        dirty = {(d["file"], d["row"]) for d in self.dirt if d["source"] == source_id}
        out = []
        for path, delivered in self.of(source_id):
            names = [field_for(source, h).name for h in delivered.headers]
            for i, row in enumerate(delivered.rows):
                if (path, i) not in dirty:
                    out.append(dict(zip(names, row, strict=True)))
        return out


def _load(out: Path) -> City:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = {e["path"]: read_file(out / e["path"], e) for e in manifest["files"]}
    dirt = pq.read_table(out / "_truth" / "dirt.parquet").to_pylist()
    enterprises = pq.read_table(out / "_truth" / "enterprises.parquet").to_pylist()
    return City(out, manifest, files, dirt, enterprises)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    out = tmp_path_factory.mktemp("city")
    summary = generate_city(out, enterprises=ENTERPRISES, months=MONTHS, seed=SEED, end_month=END, dirt=0.02)
    loaded = _load(out)
    assert summary.files == len(loaded.files)
    assert summary.rows == {s: v["rows"] for s, v in loaded.manifest["sources"].items()}
    return loaded


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- determinism --------------------------------------------------------------------------------------


def test_the_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_city(tmp_path / name, enterprises=800, months=8, seed=seed, end_month="2025-12")
        runs[name] = _digests(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert len(runs["a"]) > 100
    changed = [path for path in runs["a"] if runs["c"].get(path) != runs["a"][path]]
    department_files = [p for p in runs["a"] if not p.startswith("_truth")]
    assert len(changed) >= 0.9 * len(department_files)


# --- layout, headers, formats ------------------------------------------------------------------------


def test_every_catalogue_source_has_a_folder_of_files(city: City) -> None:
    for source in SOURCES:
        folder = city.out / source.id
        assert folder.is_dir(), source.id
        assert any(folder.iterdir()), source.id
    on_disk = {
        str(p.relative_to(city.out)) for p in city.out.glob("*/*") if not p.parent.name.startswith("_")
    }
    assert on_disk == set(city.files)


def test_headers_map_one_to_one_onto_catalogue_fields(city: City) -> None:
    styles = set()
    for path, delivered in city.files.items():
        source = catalogue().get(str(delivered.entry["source"]))
        names = [field_for(source, h).name for h in delivered.headers]
        assert sorted(names) == sorted(f.name for f in source.fields), path
        styles.add(SPECS[source.id].headers)
    assert styles == {"zh", "alias", "en", "name"}


def test_the_manifest_counts_every_row(city: City) -> None:
    assert city.manifest["seed"] == SEED
    assert city.manifest["end_month"] == "2026-10"
    assert city.manifest["start_month"] == "2024-11"
    for path, delivered in city.files.items():
        assert delivered.entry["rows"] == len(delivered.rows), path
        assert delivered.entry["bytes"] == (city.out / path).stat().st_size
    totals = Counter()
    for delivered in city.files.values():
        if delivered.entry["corrects"] is None:
            totals[delivered.entry["source"]] += len(delivered.rows)
    assert {s: v["rows"] for s, v in city.manifest["sources"].items()} == dict(totals)


def test_monthly_sources_deliver_one_file_per_month(city: City) -> None:
    months = [f"{y}-{m:02d}" for y, m in ((2024, 11), (2024, 12))] + [f"2025-{m:02d}" for m in range(1, 13)]
    months += [f"2026-{m:02d}" for m in range(1, 11)]
    for source_id in ("tax_monthly", "social_security", "housing_fund", "electricity", "water", "gas"):
        stems = sorted(d.entry["period"] for _, d in city.of(source_id))
        assert stems == months, source_id


def test_gbk_files_are_gbk_and_not_utf8(city: City) -> None:
    gbk = [p for p, d in city.files.items() if d.entry["encoding"] == "gbk"]
    assert {city.files[p].entry["source"] for p in gbk} >= {
        "housing_fund",
        "admin_penalties",
        "dishonest_debtors",
    }
    for path in gbk:
        raw = (city.out / path).read_bytes()
        raw.decode("gbk")
        if any(ord(c) > 127 for c in city.files[path].headers[0]):
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")


def test_xlsx_opens_with_openpyxl_and_jsonl_parses(city: City) -> None:
    xlsx = [p for p, d in city.files.items() if d.entry["format"] == "xlsx"]
    jsonl = [p for p, d in city.files.items() if d.entry["format"] == "jsonl"]
    assert {city.files[p].entry["source"] for p in xlsx} == {"tax_credit_grade", "customs_credit"}
    assert {city.files[p].entry["source"] for p in jsonl} == {"gas", "court_cases"}
    for path in xlsx:
        workbook = openpyxl.load_workbook(city.out / path)
        assert workbook.active.max_row == city.files[path].entry["rows"] + 1
    for path in jsonl:
        for line in (city.out / path).read_text(encoding="utf-8").splitlines():
            assert isinstance(json.loads(line), dict)


# --- dirt ---------------------------------------------------------------------------------------------


def _cell(city: City, item: dict[str, object]) -> str | None:
    delivered = city.files[str(item["file"])]
    source = catalogue().get(str(item["source"]))
    names = [field_for(source, h).name for h in delivered.headers]
    return delivered.rows[int(item["row"])][names.index(str(item["field"]))]


def _same(cell: str | None, value: object) -> bool:
    if value is None:
        return cell is None
    if cell == value:
        return True
    a, b = as_number(cell), as_number(str(value))
    return a is not None and b is not None and a == b


def test_every_dirt_item_is_where_the_log_says(city: City) -> None:
    rows = [d for d in city.dirt if d["row"] is not None]
    assert rows
    for item in rows:
        delivered = city.files[str(item["file"])]
        row = int(item["row"])
        if item["kind"] == "duplicate_row":
            assert delivered.rows[row] == delivered.rows[row - 1]
        else:
            assert _same(_cell(city, item), item["value"]), item


def test_usccs_are_valid_except_the_injected_ones(city: City) -> None:
    bad_kinds = {"uscc_check", "uscc_forbidden_letter"}
    expected = set()
    for d in city.dirt:
        source = catalogue().get(str(d["source"]))
        if d["kind"] in bad_kinds or (d["kind"] == "missing_required" and d["field"] == source.entity_field):
            expected.add((d["file"], d["row"]))
    found = set()
    checked = 0
    for path, delivered in city.files.items():
        source = catalogue().get(str(delivered.entry["source"]))
        column = [field_for(source, h).name for h in delivered.headers].index(str(source.entity_field))
        for i, row in enumerate(delivered.rows):
            checked += 1
            if row[column] is None or not is_valid_uscc(row[column]):
                found.add((path, i))
    assert found == expected
    assert checked > 200_000
    fullwidth = [d for d in city.dirt if d["kind"] == "uscc_fullwidth"]
    assert fullwidth and all(
        is_valid_uscc(str(d["value"])) and normalise(str(d["value"])) == d["original"] for d in fullwidth
    )


def test_the_dirt_rate_is_as_requested_and_every_kind_occurs(city: City) -> None:
    row_items = [d for d in city.dirt if d["row"] is not None and d["kind"] != "corrected_value"]
    total = sum(len(d.rows) for d in city.files.values() if d.entry["corrects"] is None)
    assert 0.015 < len(row_items) / total < 0.025
    kinds = Counter(d["kind"] for d in city.dirt)
    assert set(kinds) == {
        "uscc_check",
        "uscc_forbidden_letter",
        "uscc_fullwidth",
        "duplicate_row",
        "missing_required",
        "out_of_range",
        "implausible_value",
        "date_format",
        "thousands_separator",
        "wan_yuan",
        "corrected_value",
        "late_delivery",
        "corrected_delivery",
    }
    assert {d["outcome"] for d in city.dirt} == {
        "quarantine",
        "duplicate",
        "flag",
        "normalise",
        "superseded",
        "late",
    }
    assert city.manifest["dirt_items"]["total"] == len(city.dirt)


def test_normalisable_dirt_keeps_the_value(city: City) -> None:
    for d in city.dirt:
        if d["kind"] == "thousands_separator":
            assert Decimal(str(d["value"]).replace(",", "")) == Decimal(str(d["original"]))
        elif d["kind"] == "wan_yuan":
            number = Decimal(str(d["value"]).removesuffix("万元").removesuffix("万"))
            unit = catalogue().get(str(d["source"])).field(str(d["field"])).unit
            assert number * (1 if unit == "万元" else 10000) == Decimal(str(d["original"]))
        elif d["kind"] == "date_format":
            assert as_month(str(d["value"])) == as_month(str(d["original"]))
            assert d["value"] != d["original"]


def test_late_and_corrected_deliveries_are_recorded(city: City) -> None:
    late = [d for d in city.files.values() if d.entry["late"]]
    assert len(late) == 1 and late[0].entry["source"] == "social_security"
    path = city.out / str(late[0].entry["path"])
    delivered_at = datetime.fromisoformat(str(late[0].entry["delivered_at"]))
    assert os.stat(path).st_mtime == delivered_at.timestamp()
    month_end = as_month(str(late[0].entry["period"]))
    assert month_end is not None and (delivered_at.date() - month_end).days > 45

    corrected = [(p, d) for p, d in city.files.items() if d.entry["corrects"] is not None]
    assert len(corrected) == 1
    corrected_path, fixed = corrected[0]
    assert corrected_path.endswith(".corrected.csv")
    original = city.files[str(fixed.entry["corrects"])]
    duplicates = {
        d["row"] for d in city.dirt if d["file"] == fixed.entry["corrects"] and d["kind"] == "duplicate_row"
    }
    assert len(fixed.rows) == len(original.rows) - len(duplicates)
    slips = [d for d in city.dirt if d["kind"] == "corrected_value"]
    assert slips and all(d["file"] == fixed.entry["corrects"] for d in slips)
    for d in slips:
        assert Decimal(str(d["value"])) == 10 * Decimal(str(d["original"]))


# --- the city looks like a city ------------------------------------------------------------------------


def test_proportions_of_a_real_registry(city: City) -> None:
    firms = city.enterprises
    n = len(firms)
    assert n == ENTERPRISES
    individual = sum(f["individual"] for f in firms) / n
    assert 0.14 < individual < 0.21
    assert all(f["uscc"][1] == "2" for f in firms if f["individual"])
    sections = Counter(f["section"] for f in firms).most_common(2)
    assert {s for s, _ in sections} == {"C", "F"}
    sizes = Counter(f["size_class"] for f in firms)
    assert (sizes["micro"] + sizes["small"]) / n > 0.88
    assert sizes["micro"] > sizes["small"] > sizes["medium"] > sizes["large"]
    exporters = {r["uscc"] for r in city.clean("customs_monthly")}
    assert 0.03 < len(exporters) / n < 0.08
    patent_holders = {r["uscc"] for r in city.clean("patents")}
    by_section = {f["uscc"]: f["section"] for f in firms}
    rate = {
        s: sum(by_section.get(u) == s for u in patent_holders) / sum(v == s for v in by_section.values())
        for s in ("C", "F", "H")
    }
    assert rate["C"] > 2 * max(rate["F"], rate["H"])


def test_personal_fields_look_real_and_check(city: City) -> None:
    rows = city.clean("registration")
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for row in rows:
        number = str(row["legal_rep_id_number"])
        assert re.fullmatch(r"\d{17}[\dX]", number)
        assert (
            "10X98765432"[sum(int(c) * w for c, w in zip(number, weights, strict=False)) % 11] == number[17]
        )
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        assert 24 <= (END - born).days / 365.25 <= 67
        assert re.fullmatch(r"1[358]\d{9}", str(row["legal_rep_phone"]))
        assert 2 <= len(str(row["legal_rep_name"])) <= 3


def _registry_dates(text: str | None) -> date | None:
    if text is None:
        return None
    y, m, d = (int(x) for x in re.split(r"\D+", text.strip())[:3])
    return date(y, m, d)


def test_registration_status_follows_the_firms_life(city: City) -> None:
    registry = {r["uscc"]: r for r in city.clean("registration")}
    last_tax: dict[str, date] = {}
    first_tax: dict[str, date] = {}
    for row in city.clean("tax_monthly"):
        month = as_month(row["period"])
        assert month is not None
        uscc = str(row["uscc"])
        last_tax[uscc] = max(last_tax.get(uscc, month), month)
        first_tax[uscc] = min(first_tax.get(uscc, month), month)
    closed = [r for r in registry.values() if r["status"] != "存续"]
    assert {r["status"] for r in closed} == {"吊销", "注销"}
    assert 0.04 < len(closed) / len(registry) < 0.25
    for uscc, row in registry.items():
        changed = _registry_dates(row["status_changed_on"])
        founded = _registry_dates(row["founded_on"])
        assert founded is not None
        if row["status"] == "存续":
            assert changed is None
            continue
        assert changed is not None and founded < changed <= date(2026, 10, 31)
        if uscc in last_tax:  # monthly rows stop before the month the firm closed
            assert last_tax[uscc] < changed.replace(day=1)
    founded_in_window = [
        r for r in registry.values() if (_registry_dates(r["founded_on"]) or END) >= date(2024, 11, 1)
    ]
    assert len(founded_in_window) > 0.08 * len(registry)
    for row in founded_in_window:
        uscc = str(row["uscc"])
        founded = _registry_dates(row["founded_on"])
        assert founded is not None
        if uscc in first_tax:
            assert first_tax[uscc] >= founded.replace(day=1)


# --- ground truth and correlations ---------------------------------------------------------------------


def _panel(city: City) -> tuple[dict[str, date], dict[tuple[str, date], dict[str, float]]]:
    defaults = {
        str(f["uscc"]): f["default_month"] for f in city.enterprises if f["default_month"] is not None
    }
    panel: dict[tuple[str, date], dict[str, float]] = defaultdict(dict)
    for row in city.clean("tax_monthly"):
        sales = as_number(row["sales"])
        if sales is not None and sales > 0:
            panel[(str(row["uscc"]), as_month(row["period"]))]["log_sales"] = math.log(sales)
    for row in city.clean("electricity"):
        usage = as_number(row["usage"])
        if usage is not None and usage > 0:
            panel[(str(row["uscc"]), as_month(row["period"]))]["log_kwh"] = math.log(usage)
    for row in city.clean("social_security"):
        insured, separations = as_number(row["insured"]), as_number(row["separations"])
        if insured and separations is not None and insured > 0:
            key = (str(row["uscc"]), as_month(row["period"]))
            panel[key]["insured"] = float(insured)
            panel[key]["separations"] = float(separations)
    return defaults, panel


def _months_before(month: date, k: int) -> date:
    index = month.year * 12 + month.month - 1 - k
    return date(index // 12, index % 12 + 1, 1)


def _trend(
    panel: dict[tuple[str, date], dict[str, float]], uscc: str, anchor: date, key: str
) -> float | None:
    recent = [panel.get((uscc, _months_before(anchor, k)), {}).get(key) for k in (1, 2, 3)]
    earlier = [panel.get((uscc, _months_before(anchor, k)), {}).get(key) for k in (7, 8, 9)]
    recent = [v for v in recent if v is not None]
    earlier = [v for v in earlier if v is not None]
    if not recent or not earlier:
        return None
    return statistics.fmean(recent) - statistics.fmean(earlier)


def _separation_rate(
    panel: dict[tuple[str, date], dict[str, float]], uscc: str, anchor: date, ks: range
) -> tuple[float, float]:
    sep = ins = 0.0
    for k in ks:
        cell = panel.get((uscc, _months_before(anchor, k)), {})
        if "insured" in cell:
            sep += cell["separations"]
            ins += cell["insured"]
    return sep, ins


def test_defaulters_decline_before_default_and_others_do_not(city: City) -> None:
    defaults, panel = _panel(city)
    start = date(2025, 8, 1)
    end = date(2026, 10, 1)
    defaulters = [(u, d) for u, d in defaults.items() if start <= d <= end]
    assert len(defaulters) > 60
    anchors = sorted({d for _, d in defaulters})
    survivors = [f["uscc"] for f in city.enterprises if f["default_month"] is None and f["status"] == "存续"]
    results = {}
    for key in ("log_sales", "log_kwh"):
        bad = [t for u, d in defaulters if (t := _trend(panel, u, d, key)) is not None]
        good = [
            t
            for i, u in enumerate(survivors)
            if (t := _trend(panel, u, anchors[i % len(anchors)], key)) is not None
        ]
        results[key] = (statistics.fmean(bad), statistics.fmean(good))
        assert statistics.fmean(bad) < statistics.fmean(good) - 0.15, (key, results[key])
    bad_sep = [_separation_rate(panel, u, d, range(1, 7)) for u, d in defaulters]
    good_sep = [
        _separation_rate(panel, u, anchors[i % len(anchors)], range(1, 7)) for i, u in enumerate(survivors)
    ]
    bad_rate = sum(s for s, _ in bad_sep) / sum(i for _, i in bad_sep)
    good_rate = sum(s for s, _ in good_sep) / sum(i for _, i in good_sep)
    assert bad_rate > 2 * good_rate, (bad_rate, good_rate)


def test_staff_turnover_rises_months_before_sales_fall(city: City) -> None:
    """Shenzhen's finding: separations lead revenue as a default warning."""
    defaults, panel = _panel(city)
    defaulters = [(u, d) for u, d in defaults.items() if date(2025, 11, 1) <= d <= date(2026, 10, 1)]
    assert len(defaulters) > 40
    early = [_separation_rate(panel, u, d, range(10, 13)) for u, d in defaulters]
    middle = [_separation_rate(panel, u, d, range(4, 7)) for u, d in defaulters]
    early_rate = sum(s for s, _ in early) / sum(i for _, i in early)
    middle_rate = sum(s for s, _ in middle) / sum(i for _, i in middle)
    assert middle_rate > 1.5 * early_rate, (early_rate, middle_rate)

    def mean_sales(ks: range) -> float:
        values = [
            v
            for u, d in defaulters
            for k in ks
            if (v := panel.get((u, _months_before(d, k)), {}).get("log_sales")) is not None
        ]
        return statistics.fmean(values)

    assert abs(mean_sales(range(4, 7)) - mean_sales(range(10, 13))) < 0.15
    assert mean_sales(range(1, 3)) < mean_sales(range(10, 13)) - 0.2


def test_truth_labels_match_default_months(city: City) -> None:
    monthly = pq.read_table(city.out / "_truth" / "monthly.parquet").to_pylist()
    defaults = {f["firm_id"]: f["default_month"] for f in city.enterprises}
    assert len(monthly) > ENTERPRISES * MONTHS * 0.75
    positives = 0
    for row in monthly:
        d = defaults[row["firm_id"]]
        months_ahead = None if d is None else (d.year - row["month"].year) * 12 + d.month - row["month"].month
        assert row["default_within_12m"] == (months_ahead is not None and 1 <= months_ahead <= 12)
        assert row["in_default"] == (months_ahead is not None and months_ahead <= 0)
        positives += row["default_within_12m"]
    assert 0.02 < positives / len(monthly) < 0.15
    healthy = [r["health"] for r in monthly if not r["default_within_12m"] and not r["in_default"]]
    doomed = [r["health"] for r in monthly if r["default_within_12m"]]
    assert statistics.fmean(doomed) < statistics.fmean(healthy) - 0.5


def test_dishonest_debtors_come_from_lost_enforcement_cases(city: City) -> None:
    cases = {(r["uscc"], r["case_number"]): r for r in city.clean("court_cases")}
    listed = city.clean("dishonest_debtors")
    assert listed
    found = 0
    for row in listed:
        case = cases.get((row["uscc"], row["case_number"]))
        if case is None:  # the enforcement case row may itself be a dirty row
            continue
        found += 1
        assert case["case_type"] == "执行" and case["role"] == "被执行人"
        assert "执" in str(row["case_number"])
    assert found > 0.8 * len(listed)
    defaulted = {str(f["uscc"]) for f in city.enterprises if f["default_month"] is not None}
    share = sum(r["uscc"] in defaulted for r in listed) / len(listed)
    assert share > 0.5


def test_a_clean_city_has_no_dirt(tmp_path: Path) -> None:
    summary = generate_city(tmp_path, enterprises=500, months=6, seed=9, dirt=0.0)
    assert summary.dirt_items == 0
    city = _load(tmp_path)
    assert not city.dirt
    assert not any(d.entry["late"] or d.entry["corrects"] for d in city.files.values())
    for delivered in city.files.values():
        source = catalogue().get(str(delivered.entry["source"]))
        column = [field_for(source, h).name for h in delivered.headers].index(str(source.entity_field))
        assert all(row[column] is not None and is_valid_uscc(row[column]) for row in delivered.rows)


def test_progress_is_reported_per_source_and_chunk(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate_city(tmp_path, enterprises=300, months=3, seed=1, progress=lambda *a: calls.append(a))
    tasks = {task for task, _, _ in calls}
    assert tasks == {s.id for s in SOURCES} | {"_truth"}
    assert all(done == total == 300 for _, done, total in calls)


def test_an_earlier_city_is_replaced_but_other_folders_are_refused(tmp_path: Path) -> None:
    city_dir = tmp_path / "city"
    generate_city(city_dir, enterprises=200, months=4, seed=1)
    generate_city(city_dir, enterprises=100, months=2, seed=2)
    manifest = json.loads((city_dir / "manifest.json").read_text(encoding="utf-8"))
    assert {str(p.relative_to(city_dir)) for p in city_dir.glob("*/*.*") if p.parent.name != "_truth"} == {
        f["path"] for f in manifest["files"]
    }
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        generate_city(other, enterprises=100, months=2, seed=1)
    assert (other / "notes.txt").exists()
