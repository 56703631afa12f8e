"""The government console's view as an Excel workbook, rows streamed into the file (``consoles/xlsx.py``:
100,000 detail rows in a few seconds and little memory).

Sheets: the breakdown by the view's dimension with its total, the NPL rates by grade, and every cell of the
view at the finest grain (period, district, division, size, institution, product, grade) in 元.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from xinyidai.consoles import statistics as stats
from xinyidai.consoles.xlsx import write_xlsx
from xinyidai.core import codes
from xinyidai.core.clock import format_local
from xinyidai.core.i18n import N_


def _cell(value: Any) -> Any:
    """Excel cells: Decimal money as float (Excel has no decimal type), the rest as is."""
    return float(value) if isinstance(value, Decimal) else value


DETAIL_KEYS = (
    N_("Statistical period"),
    N_("District"),
    N_("Industry division"),
    N_("Size class"),
    N_("Institution"),
    N_("Product"),
    N_("Grade"),
)


def export_xlsx(
    store: stats.FactStore,
    filters: stats.Filters,
    dim: stats.Dimension,
    gettext: Callable[[str], str],
    *,
    detail_limit: int = stats.DETAIL_LIMIT,
) -> bytes:
    """The view as a workbook: the breakdown by ``dim`` with its total, the NPL rates by grade, and every
    cell of the view at the finest grain (at most ``detail_limit`` rows), amounts in 元."""
    measures = [m for m in stats.MEASURES if m != "rate_amount"]
    derived = list(stats.DERIVED_LABELS)

    def summary() -> Iterator[list[Any]]:
        yield [gettext("Figures as of %(time)s") % {"time": format_local(store.as_of)}]
        yield [gettext("Statistical period"), f"{filters.start:%Y-%m}", f"{filters.end:%Y-%m}"]
        yield []
        yield (
            [gettext(stats.DIMENSIONS[dim])]
            + [gettext(stats.MEASURE_LABELS[m]) for m in measures]
            + [gettext(stats.DERIVED_LABELS[d]) for d in derived]
        )
        totals = stats.totals(store, filters)
        totals.label = gettext("Total")
        for row in [*stats.breakdown(store, filters, dim), totals]:
            yield [row.label] + [_cell(row[m]) for m in measures] + [_cell(row.derived(d)) for d in derived]

    def grades() -> Iterator[list[Any]]:
        yield [
            gettext("Grade at disbursement"),
            gettext("Loans disbursed"),
            gettext("Non-performing loans"),
            gettext("Non-performing rate"),
        ]
        for g in stats.npl_by_grade(store, filters):
            yield [g.label, g["loans"], g["npl_loans"], _cell(g.npl_rate)]

    def detail() -> Iterator[Sequence[Any]]:
        yield [gettext(k) for k in DETAIL_KEYS] + [gettext(stats.MEASURE_LABELS[m]) for m in measures]
        regions = {code: r.name_zh for code, r in codes.regions().items()}
        sizes = {k: gettext(v) for k, v in stats.SIZE_LABELS.items()}
        names = store.names
        for cell in stats.detail_rows(store, filters, detail_limit):
            period, region, division, size, inst, product, grade = cell[:7]
            yield (
                period,
                regions.get(region, region),
                division,
                sizes.get(size, size),
                names.get(("institution", inst), "") if inst else "",
                names.get(("product", product), "") if product else "",
                grade,
                *cell[7:],
            )

    return write_xlsx(
        [
            (gettext("By dimension"), summary()),
            (gettext("NPL by grade"), grades()),
            (gettext("Cells in detail"), detail()),
        ]
    )
