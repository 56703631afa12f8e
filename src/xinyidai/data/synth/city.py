"""Generate a whole synthetic city: every department's delivery, the ground truth and a manifest."""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xinyidai.core.codes import region_name
from xinyidai.data.synth import arrays, events, holdings, monthly, names, profiles, registry
from xinyidai.data.synth.delivery import SPECS
from xinyidai.data.synth.economy import Chunk, Macro, simulate_macro
from xinyidai.data.synth.firms import generate_firms
from xinyidai.data.synth.output import TRUTH, DeliveryWriter, DirtLogEntry, utc_timestamp
from xinyidai.data.synth.plan import BURN_IN, NO_EVENT, CityPlan, Serials, parse_month, stream
from xinyidai.data.synth.tables import Delivery

Progress = Callable[[str, int, int], None]
Builder = Callable[[Chunk], Delivery]
GENERATOR_VERSION: Final = 1
CITY: Final = "371000"

BUILDERS: Final[tuple[tuple[str, Builder], ...]] = (
    ("registration", registry.registration),
    ("registration_changes", registry.registration_changes),
    ("annual_reports", registry.annual_reports),
    ("admin_licences", holdings.admin_licences),
    ("admin_penalties", events.admin_penalties),
    ("patents", holdings.patents),
    ("trademarks", holdings.trademarks),
    ("tax_monthly", monthly.tax_monthly),
    ("tax_credit_grade", registry.tax_credit_grade),
    ("vat_invoices", monthly.vat_invoices),
    ("social_security", monthly.social_security),
    ("housing_fund", monthly.housing_fund),
    ("electricity", monthly.electricity),
    ("water", monthly.water),
    ("gas", monthly.gas),
    ("court_cases", events.court_cases),
    ("dishonest_debtors", events.dishonest_debtors),
    ("customs_monthly", monthly.customs_monthly),
    ("customs_credit", registry.customs_credit),
    ("real_estate_mortgages", holdings.real_estate_mortgages),
    ("public_credit_grade", registry.public_credit_grade),
    ("red_black_lists", registry.red_black_lists),
    ("financial_risk_lists", events.financial_risk_lists),
)


@dataclass
class CitySummary:
    """What :func:`generate_city` produced.

    Attributes:
        out: the delivery folder.
        enterprises, months, seed, end_month: the plan.
        rows: delivered rows per source (dirty and duplicate rows included).
        files: number of department files written (the corrected re-delivery included).
        bytes: their total size.
        truth_rows: rows of each ground-truth table.
        dirt_items: number of items in ``_truth/dirt.parquet``.
        elapsed_seconds: wall-clock time of the generation.
        peak_rss_bytes: the process's peak resident memory so far (``getrusage``), which includes
            whatever the process held before the call.
    """

    out: Path
    enterprises: int
    months: int
    seed: int
    end_month: date
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    truth_rows: dict[str, int] = field(default_factory=dict)
    dirt_items: int = 0
    elapsed_seconds: float = 0.0
    peak_rss_bytes: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate_city(
    out: Path,
    *,
    enterprises: int,
    months: int,
    seed: int,
    end_month: date | str = "2026-10",
    dirt: float = 0.02,
    progress: Progress | None = None,
    threads: int = 2,
) -> CitySummary:
    """Write a synthetic city's department deliveries, ground truth and manifest under ``out``.

    The same arguments give byte-identical files. Work is done in chunks of 50,000 enterprises, so memory
    stays bounded whatever the city's size.

    Args:
        out: the delivery folder: created if missing; it must be empty or hold an earlier synthetic city,
            which is replaced.
        enterprises: enterprises in the registry (all that ever appear, including closed ones).
        months: delivered months, ending with ``end_month``.
        seed: the seed everything derives from.
        end_month: the last delivered month (``YYYY-MM`` or a date).
        dirt: share of rows with one injected defect (0 for clean files; also turns off the late and
            corrected deliveries).
        progress: called as ``progress(task, completed, total)`` after each source of each chunk, with
            ``task`` a source id (or ``_truth``) and completed/total counted in enterprises.
        threads: sources of a chunk written concurrently (Arrow and NumPy release the GIL); the files
            are the same for any value.

    Returns:
        Row counts per source, files written, elapsed time and peak memory.
    """
    started = time.perf_counter()
    plan = CityPlan(
        enterprises=enterprises, months=months, seed=seed, end_month=parse_month(end_month), dirt=dirt
    )
    out = Path(out)
    _clear_output(out)
    macro = simulate_macro(plan)
    serials = Serials()
    writer = DeliveryWriter(out, plan)
    truth = TruthWriter(out, plan)
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None

    def deliver(chunk: Chunk, source_id: str, build: Builder) -> list[DirtLogEntry]:
        rng = stream(plan.seed, "dirt", chunk.index, source_id)
        return [writer.write(source_id, stem, data, rng) for stem, data in build(chunk)]

    try:
        for index in range(plan.n_chunks):
            chunk = Chunk(plan, index, generate_firms(plan, index), macro, serials)
            _, hi = plan.chunk_bounds(index)
            if pool is None:
                for source_id, build in BUILDERS:
                    for entry in deliver(chunk, source_id, build):
                        writer.log(entry)
                    if progress is not None:
                        progress(source_id, hi, plan.enterprises)
            else:
                prepare(chunk)
                futures = [pool.submit(deliver, chunk, source_id, build) for source_id, build in BUILDERS]
                for (source_id, _), future in zip(BUILDERS, futures, strict=True):
                    for entry in future.result():
                        writer.log(entry)
                    if progress is not None:
                        progress(source_id, hi, plan.enterprises)
            truth.write(chunk)
            if progress is not None:
                progress("_truth", hi, plan.enterprises)
            del chunk
    finally:
        if pool is not None:
            pool.shutdown()
    records = writer.close()
    truth.close(macro)
    delivered = {source_id: 0 for source_id, _ in BUILDERS}
    for record in records:
        if record.corrects is None:
            delivered[record.source] += record.rows
    summary = CitySummary(
        out=out,
        enterprises=enterprises,
        months=months,
        seed=seed,
        end_month=plan.end_month,
        rows=delivered,
        files=len(records),
        bytes=sum(r.bytes for r in records),
        truth_rows=dict(truth.rows),
        dirt_items=writer.dirt_total,
    )
    manifest = {
        "generator": "xinyidai.data.synth",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "enterprises": enterprises,
        "months": months,
        "start_month": plan.start_month.strftime("%Y-%m"),
        "end_month": plan.end_month.strftime("%Y-%m"),
        "dirt": dirt,
        "chunk_size": plan.chunk_size,
        "city": {
            "code": CITY,
            "name": region_name(CITY),
            "counties": dict(zip(names.COUNTIES, names.COUNTY_NAMES, strict=True)),
        },
        "downturn": {
            "from": plan.month(max(0, macro.downturn[0])).strftime("%Y-%m"),
            "to": plan.month(min(plan.horizon - 1, macro.downturn[1])).strftime("%Y-%m"),
        },
        "sources": {
            source_id: {
                "rows": delivered[source_id],
                "files": sum(1 for r in records if r.source == source_id),
                "format": SPECS[source_id].format,
                "encoding": "utf-8" if SPECS[source_id].format == "xlsx" else SPECS[source_id].encoding,
                "headers": SPECS[source_id].headers,
                "layout": SPECS[source_id].layout,
            }
            for source_id, _ in BUILDERS
        },
        "files": [r.as_json() for r in records],
        "truth": {
            "enterprises": f"{TRUTH}/enterprises.parquet",
            "monthly": f"{TRUTH}/monthly.parquet",
            "macro": f"{TRUTH}/macro.parquet",
            "dirt": f"{TRUTH}/dirt.parquet",
            "rows": dict(truth.rows),
        },
        "dirt_items": {"total": writer.dirt_total, "by_kind": dict(sorted(writer.dirt_counts.items()))},
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    for record in records:
        stamp = utc_timestamp(record.delivered_at)
        os.utime(out / record.path, (stamp, stamp))
    summary.elapsed_seconds = time.perf_counter() - started
    summary.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return summary


def _clear_output(out: Path) -> None:
    """Make ``out`` ready: create it, or empty an earlier synthetic city there; refuse anything else.

    Leftover files of a bigger earlier city would otherwise be ingested with the new one.
    """
    if not out.exists():
        out.mkdir(parents=True)
        return
    entries = list(out.iterdir())
    if not entries:
        return
    manifest = out / "manifest.json"
    try:
        earlier = json.loads(manifest.read_text(encoding="utf-8")).get("generator") == "xinyidai.data.synth"
    except (OSError, ValueError, AttributeError):
        earlier = False
    ours = {*SPECS, TRUTH, "manifest.json"}
    if not earlier or any(entry.name not in ours for entry in entries):
        raise FileExistsError(f"{out} is not empty and does not hold only an earlier synthetic city")
    for entry in entries:
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def prepare(c: Chunk) -> None:
    """Compute, in a fixed order, everything several sources share, before sources run in threads.

    Shared records hand out serial numbers (case numbers, decision numbers), so they must be built once
    and in the same order whatever the thread timing.
    """
    for name in (
        "h",
        "in_default",
        "to_default",
        "ramp",
        "sales",
        "tax",
        "staff",
        "social_security",
        "housing_fund",
        "electricity",
        "water",
        "gas",
        "customs",
    ):
        getattr(c, name)
    events.court_records(c)
    events.penalty_records(c)
    registry.changes(c)
    registry.tax_grades(c)


class TruthWriter:
    """Ground truth as Parquet: enterprises, monthly latent health and default labels, the macro path."""

    def __init__(self, out: Path, plan: CityPlan) -> None:
        self.out = out / TRUTH
        self.plan = plan
        self.rows: dict[str, int] = {"enterprises": 0, "monthly": 0}
        self._enterprises: pq.ParquetWriter | None = None
        self._monthly: pq.ParquetWriter | None = None

    def write(self, c: Chunk) -> None:
        f, plan = c.firms, c.plan
        final = registry.changes(c)
        closed = (c.death_days >= 0) & (c.death_days <= plan.end_days)
        has_default = c.default_t < NO_EVENT
        default_days = plan.month_days[np.minimum(c.default_t, plan.horizon - 1)]
        firms = pa.table(
            {
                "firm_id": pa.array(f.ids),
                "uscc": f.uscc,
                "name": final.name,
                "entity_type": arrays.choose(profiles.ENTITY_TYPES, f.entity_type),
                "individual": pa.array(f.individual),
                "section": arrays.choose(profiles.SECTION_CODES, f.section),
                "industry_code": f.division,
                "size_class": arrays.choose(profiles.SIZE_LABELS, f.size),
                "region_code": arrays.choose(names.COUNTIES, f.county),
                "founded_on": arrays.dates(f.founded_days),
                "status": arrays.choose(("存续", "吊销", "注销"), np.where(closed, c.death_status, 0)),
                "status_changed_on": arrays.dates(np.maximum(c.death_days, 0), closed),
                "quality": pa.array(f.quality.astype(np.float32)),
                "default_month": arrays.dates(default_days, has_default),
                "exporter": pa.array(f.exporter),
                "has_social_security": pa.array(f.has_social_security),
                "vat_sample": pa.array(f.vat_sample),
            }
        )
        if self._enterprises is None:
            self._enterprises = pq.ParquetWriter(self.out / "enterprises.parquet", firms.schema)
        self._enterprises.write_table(firms)
        self.rows["enterprises"] += firms.num_rows

        window = np.arange(BURN_IN, plan.observed)
        alive = c.alive[:, window]
        firm, w = np.nonzero(alive)
        t = window[w]
        to_default = c.default_t[firm] - t
        monthly_rows = pa.table(
            {
                "firm_id": pa.array(f.ids[firm]),
                "uscc": f.uscc.take(pa.array(firm)),
                "month": arrays.dates(plan.month_days[t]),
                "health": pa.array(c.health[firm, t]),
                "default_hazard": pa.array(c.hazard[firm, t]),
                "in_default": pa.array(to_default <= 0),
                "default_within_12m": pa.array((to_default >= 1) & (to_default <= 12)),
                "months_to_default": pa.array(
                    to_default.astype(np.int32), mask=c.default_t[firm] >= NO_EVENT
                ),
            }
        )
        if self._monthly is None:
            self._monthly = pq.ParquetWriter(self.out / "monthly.parquet", monthly_rows.schema)
        self._monthly.write_table(monthly_rows)
        self.rows["monthly"] += monthly_rows.num_rows

    def close(self, macro: Macro) -> None:
        for writer in (self._enterprises, self._monthly):
            if writer is not None:
                writer.close()
        horizon = np.arange(self.plan.horizon)
        first, last = macro.downturn
        pq.write_table(
            pa.table(
                {
                    "month": arrays.dates(self.plan.month_days[horizon]),
                    "delivered": pa.array((horizon >= BURN_IN) & (horizon < self.plan.observed)),
                    "business_cycle": pa.array(macro.level),
                    "downturn": pa.array((horizon >= first) & (horizon <= last)),
                }
            ),
            self.out / "macro.parquet",
        )
