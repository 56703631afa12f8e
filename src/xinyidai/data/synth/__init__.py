"""The synthetic city: a whole city's department deliveries, with the ground truth behind them.

``generate_city(out, enterprises=N, months=M, seed=S)`` writes, for Weihai (371000) and its four
counties, what 23 departments would deliver over M months ending with ``end_month``, so that
``xinyidai ingest --all out`` loads it, and what really happened, so that tests can check ingestion,
quality rules, indicators and ratings against it. Same arguments, byte-identical files.

Layout::

    out/manifest.json                 seed, sizes, months, downturn, every file (rows, bytes, encoding,
                                      delivery time, late / corrects / initial_load), dirt counts
    out/<source_id>/YYYY-MM.csv       monthly sources: one file per reporting month
    out/<source_id>/YYYY-MM.jsonl     (gas, court_cases as JSON lines)
    out/<source_id>/YYYY-MM.csv       event sources: events dated that month; the first file is the
                                      initial load and also holds the history (burn-in year, older
                                      licences, patents, trademarks, mortgages)
    out/registration/YYYY-MM.csv      snapshot as of the last month (UTF-8 with BOM)
    out/customs_credit/YYYY-MM.xlsx   snapshot (XLSX)
    out/annual_reports/YYYY.csv       one file per report year; tax_credit_grade/YYYY.xlsx likewise
    out/public_credit_grade/YYYYQn.csv
    out/tax_monthly/YYYY-MM.corrected.csv   a second version of one month (the corrected delivery)
    out/_truth/enterprises.parquet    every firm: section, size, region, founding, status, default month
    out/_truth/monthly.parquet        firm x delivered month while active: latent health, monthly default
                                      hazard, in_default, default_within_12m (a loan taken that month
                                      defaults within 12 months; labels are complete, the future is
                                      simulated), months_to_default
    out/_truth/macro.parquet          the business cycle and the downturn months
    out/_truth/dirt.parquet           every injected defect: source, file, row (0-based data row, header
                                      excluded), kind, field, value written, original value, outcome

Each department's conventions (format, encoding, header words, quoting, line ends, date and month
styles) are fixed per source in :data:`SPECS`; :mod:`.dirt` lists the defect kinds and what ingestion
should do with each. The health model is described in :mod:`.economy`.
"""

from __future__ import annotations

from xinyidai.data.synth.city import CitySummary, generate_city
from xinyidai.data.synth.delivery import SPECS, DeliverySpec
from xinyidai.data.synth.dirt import OUTCOMES as DIRT_OUTCOMES

__all__ = ["DIRT_OUTCOMES", "SPECS", "CitySummary", "DeliverySpec", "generate_city"]
