"""Latent financial health and everything departments observe of it, for one chunk of firms.

The health model, in a few sentences:

* Each firm has a long-run level (its quality: bigger firms higher, new firms lower) and a monthly
  deviation that follows an AR(1) (ρ = 0.92) driven by firm noise; on top sit a city business cycle with
  a downturn hump in the window and small industry shocks, each section with its own sensitivity.
* The monthly probability of a loan default is logistic in health (young firms riskier). The first such
  month is the firm's default month; after it health drops by one unit, and 60 % of defaulters close
  (吊销 or 注销) within months. Firms also close voluntarily, more often when unhealthy and when they
  are individual businesses.
* Observables follow health: sales (with seasonality, a dip in the three months before default and a
  halving after it), tax, utilities, headcount. Staff leave *before* trouble shows in revenue:
  separations respond to health three months ahead and rise over the nine months before a default
  (the Shenzhen platform's finding). Arrears of tax, social security, housing fund and utilities appear
  with probability rising as health falls and jump after default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from xinyidai.data.synth import profiles
from xinyidai.data.synth.firms import Firms
from xinyidai.data.synth.plan import BURN_IN, NO_EVENT, CityPlan, Serials, stream

RHO = 0.92
DEFAULT_INTERCEPT = -6.5
DEFAULT_SLOPE = -1.4
POST_DEFAULT_DROP = 1.0
STAFF_LEAD = 3  # months by which separations anticipate health


@dataclass(frozen=True)
class Macro:
    """City-wide paths shared by every chunk (so they depend on the seed only).

    Attributes:
        level: business-cycle level per horizon month (0 normal, about -0.6 at the bottom of the downturn).
        industry: small shocks per section and month.
        downturn: horizon months ``(first, last)`` of the downturn.
    """

    level: np.ndarray
    industry: np.ndarray
    downturn: tuple[int, int]


def simulate_macro(plan: CityPlan) -> Macro:
    rng = stream(plan.seed, "macro")
    h = plan.horizon
    noise = np.zeros(h)
    for t in range(1, h):
        noise[t] = 0.7 * noise[t - 1] + 0.05 * rng.standard_normal()
    centre = BURN_IN + 0.45 * plan.months
    width = max(1.5, plan.months / 8)
    months = np.arange(h)
    level = noise - 0.6 * np.exp(-0.5 * ((months - centre) / width) ** 2)
    industry = np.zeros((len(profiles.SECTIONS), h))
    shocks = rng.standard_normal((len(profiles.SECTIONS), h))
    for m in range(1, h):
        industry[:, m] = 0.8 * industry[:, m - 1] + 0.05 * shocks[:, m]
    first = int(np.floor(centre - 1.5 * width))
    last = int(np.ceil(centre + 1.5 * width))
    return Macro(level=level, industry=industry, downturn=(first, last))


def _first(mask: np.ndarray) -> np.ndarray:
    """Index of the first True per row, or NO_EVENT."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1), NO_EVENT).astype(np.int64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))  # type: ignore[no-any-return]


class Chunk:
    """One chunk of firms: latent paths, life events and cached observables.

    Matrices are ``(firms, months)``: health and hazard over the whole horizon, observables over the
    observed months (burn-in and window).
    """

    def __init__(self, plan: CityPlan, index: int, firms: Firms, macro: Macro, serials: Serials) -> None:
        self.plan = plan
        self.index = index
        self.firms = firms
        self.macro = macro
        self.serials = serials
        self.n = firms.n
        self.T = plan.observed
        self.memo: dict[str, Any] = {}  # records shared by several sources (court cases, grades, ...)
        self._simulate()

    def rng(self, name: str) -> np.random.Generator:
        """The chunk's random stream for one purpose."""
        return stream(self.plan.seed, "chunk", self.index, name)

    # --- latent paths -----------------------------------------------------------------------------

    def _simulate(self) -> None:
        f, plan = self.firms, self.plan
        rng = self.rng("health")
        n, horizon = self.n, plan.horizon
        eps = rng.standard_normal((n, horizon), dtype=np.float32)
        z = (rng.standard_normal(n) * f.volatility / np.sqrt(1 - RHO**2)).astype(np.float32)
        beta = profiles.column("macro_beta")[f.section].astype(np.float32)
        quality = f.quality.astype(np.float32)
        vol = f.volatility.astype(np.float32)
        health = np.empty((n, horizon), dtype=np.float32)
        for t in range(horizon):
            z = RHO * z + vol * eps[:, t]
            health[:, t] = quality + z + beta * self.macro.level[t] + self.macro.industry[f.section, t]
        del eps
        t_grid = np.arange(horizon)[None, :]
        age = t_grid - f.birth_t[:, None]
        young = (age >= 0) & (age < 24)
        hazard = sigmoid(DEFAULT_INTERCEPT + DEFAULT_SLOPE * health + 0.5 * young).astype(np.float32)

        exists = (age >= 0) & ~f.pre_closed[:, None]
        exit_rate = np.where(f.individual, 0.005, 0.0015)[:, None] * np.exp(-0.4 * health)
        exit_month = _first((rng.random((n, horizon), dtype=np.float32) < exit_rate) & (age >= 1) & exists)
        defaults = (rng.random((n, horizon), dtype=np.float32) < hazard) & (age >= 3) & exists
        defaults &= t_grid < exit_month[:, None]
        default_t = _first(defaults)
        defaulted = default_t < NO_EVENT
        closes = defaulted & (rng.random(n) < 0.6)
        lag = 1 + rng.geometric(1 / 6, n)
        closure_after_default = np.where(closes, default_t + lag, NO_EVENT)
        death_t = np.minimum(exit_month, closure_after_default)
        death_t = np.where(death_t >= horizon, NO_EVENT, death_t)
        via_default = closure_after_default <= exit_month
        revoked = np.where(via_default, rng.random(n) < 0.55, rng.random(n) < 0.15)
        status = np.where(death_t < NO_EVENT, np.where(revoked, 1, 2), 0)
        health -= POST_DEFAULT_DROP * (t_grid >= default_t[:, None])

        died = death_t < NO_EVENT
        death_days = np.full(n, -1, dtype=np.int64)
        death_days[died] = plan.random_days(death_t[died], rng)
        # pre-closed firms: closed before the horizon
        death_t = np.where(f.pre_closed, -1, death_t)
        death_days = np.where(f.pre_closed, f.pre_closed_days, death_days)
        status = np.where(f.pre_closed, f.pre_closed_status, status)

        self.health = health
        self.hazard = hazard
        self.default_t = default_t
        self.death_t = death_t
        self.death_days = death_days
        self.death_status = status
        self.start_t = np.maximum(f.birth_t, 0)
        grid = np.arange(self.T)[None, :]
        self.alive = (grid >= self.start_t[:, None]) & (grid < death_t[:, None]) & ~f.pre_closed[:, None]

    # --- shared helpers ---------------------------------------------------------------------------

    @cached_property
    def h(self) -> np.ndarray:
        """Health over the observed months."""
        return self.health[:, : self.T]

    @cached_property
    def in_default(self) -> np.ndarray:
        return np.arange(self.T)[None, :] >= self.default_t[:, None]

    @cached_property
    def to_default(self) -> np.ndarray:
        """Months until default (positive before it; large when there is none)."""
        return self.default_t[:, None] - np.arange(self.T)[None, :]

    @cached_property
    def ramp(self) -> np.ndarray:
        """New firms grow into their size over their first months."""
        age = np.arange(self.T)[None, :] - self.firms.birth_t[:, None]
        return np.where(age >= 0, 1.0 - np.exp(-(age + 1) / 3.0), 0.0)

    def stressed(self, name: str, intercept: float, slope: float, default_jump: float) -> np.ndarray:
        """Months in which the firm fails to pay a bill: logistic in health, higher once in default."""
        p = sigmoid(intercept - slope * self.h + default_jump * self.in_default)
        return self.rng(name).random((self.n, self.T), dtype=np.float32) < p

    @staticmethod
    def arrears(
        due: np.ndarray, stressed: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Paid amounts and the arrears balance at each month end (fen): unpaid bills accumulate and are
        settled with probability 0.5 in a month the firm can pay."""
        paid = np.where(stressed, 0, due)
        balance = np.zeros(due.shape[0], dtype=np.int64)
        out = np.empty_like(due)
        settle = rng.random(due.shape, dtype=np.float32) < 0.5
        for t in range(due.shape[1]):
            balance = np.where(stressed[:, t], balance + due[:, t], np.where(settle[:, t], 0, balance))
            out[:, t] = balance
        return paid, out

    def firm_factor(self, name: str, sigma: float) -> np.ndarray:
        """A per-firm lognormal multiplier with median 1."""
        return np.exp(self.rng(name).normal(0.0, sigma, self.n))

    # --- observables ------------------------------------------------------------------------------

    @cached_property
    def sales(self) -> np.ndarray:
        """Monthly declared sales, yuan (0 when not active)."""
        f = self.firms
        rng = self.rng("sales")
        k = self.to_default
        q = f.quality[:, None]
        pre = np.where((k >= 1) & (k <= 3), np.exp(-0.15 * (4 - np.clip(k, 0, 4))), 1.0)
        post = np.where(k <= 0, 0.5, 1.0)
        season = profiles.SEASON[self.plan.month_of_year[: self.T]][None, :]
        noise = np.exp(0.15 * rng.standard_normal((self.n, self.T), dtype=np.float32))
        level = f.base_sales[:, None] * np.exp(0.45 * (self.h - q) + 0.2 * q)
        sales = level * self.ramp * pre * post * season * noise
        zero_p = 0.015 + 0.05 * f.individual[:, None] + 0.15 * self.in_default
        zero = rng.random((self.n, self.T), dtype=np.float32) < zero_p
        return np.where(zero | ~self.alive, 0.0, sales)

    @cached_property
    def tax(self) -> tuple[np.ndarray, np.ndarray]:
        """Tax paid and tax arrears (fen) per month."""
        f = self.firms
        rng = self.rng("tax")
        general = ~f.individual & ((f.size >= 1) | (f.base_sales > 150_000))
        rate = np.where(general, rng.uniform(0.02, 0.05, self.n), 0.01)[:, None]
        due = self.sales * rate * np.exp(0.1 * rng.standard_normal((self.n, self.T)))
        # small-scale taxpayers under 100,000 yuan a month are exempt from VAT
        due = np.where(~general[:, None] & (self.sales < 100_000), self.sales * 0.0003, due)
        due_fen = np.rint(due * 100).astype(np.int64)
        stressed = self.stressed("tax-stress", -6.0, 2.2, 3.0) & self.alive
        return self.arrears(due_fen, stressed, rng)

    @cached_property
    def staff(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Insured headcount, new hires and separations per month (0 for firms without social security)."""
        f = self.firms
        rng = self.rng("staff")
        n, months = self.n, self.T
        target = f.base_staff[:, None] * np.exp(0.35 * (self.h - f.quality[:, None])) * self.ramp
        lead = self.health[:, STAFF_LEAD : months + STAFF_LEAD]
        k = self.to_default
        before = np.where((k >= 1) & (k <= 9), np.clip((10 - k) / 7.0, 0.0, 1.0), 0.0)
        rate = np.clip(0.022 * np.exp(-0.35 * lead) + 0.07 * before + 0.10 * self.in_default, 0.0, 0.9)
        insured = np.zeros((n, months), dtype=np.int64)
        hires = np.zeros((n, months), dtype=np.int64)
        separations = np.zeros((n, months), dtype=np.int64)
        previous = np.where(self.start_t == 0, np.rint(target[:, 0]), 0).astype(np.int64)
        covered = f.has_social_security
        for t in range(months):
            alive = self.alive[:, t] & covered
            starting = alive & (self.start_t == t) & (t > 0)
            sep = rng.binomial(previous, rate[:, t])
            gap = target[:, t] - previous + sep
            mean = np.maximum(0.0, 0.5 * gap) + 0.01 * previous
            mean = np.where(self.in_default[:, t], 0.3 * mean, mean)
            hire = rng.poisson(mean)
            hire = np.where(starting, np.maximum(1, np.rint(0.6 * target[:, t])).astype(np.int64), hire)
            sep = np.where(starting, 0, sep)
            current = np.maximum(previous - sep + hire, 0)
            insured[:, t] = np.where(alive, current, 0)
            hires[:, t] = np.where(alive, hire, 0)
            separations[:, t] = np.where(alive, np.minimum(sep, previous), 0)
            previous = np.where(alive, current, previous)
        return insured, hires, separations

    @cached_property
    def social_security(self) -> tuple[np.ndarray, np.ndarray]:
        """Contributions paid and arrears (fen)."""
        insured = self.staff[0]
        rng = self.rng("social-security")
        per_head = rng.uniform(1300.0, 2200.0, self.n)[:, None]
        due = np.rint(insured * per_head * 100).astype(np.int64)
        stressed = self.stressed("social-security-stress", -5.8, 2.5, 3.5) & (insured > 0)
        return self.arrears(due, stressed, rng)

    @cached_property
    def housing_fund(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Contributors, amount deposited (fen) and consecutive months in arrears."""
        insured = self.staff[0]
        rng = self.rng("housing-fund")
        share = rng.uniform(0.5, 1.0, self.n)[:, None]
        contributors = rng.binomial(insured, np.broadcast_to(share, insured.shape))
        per_head = rng.uniform(500.0, 1500.0, self.n)[:, None]
        due = np.rint(contributors * per_head * 100).astype(np.int64)
        stressed = self.stressed("housing-fund-stress", -5.3, 2.3, 3.5)
        amount = np.where(stressed, 0, due)
        months_in_arrears = np.zeros_like(due)
        run = np.zeros(self.n, dtype=np.int64)
        for t in range(self.T):
            run = np.where(stressed[:, t], run + 1, 0)
            months_in_arrears[:, t] = run
        return contributors, amount, months_in_arrears

    def _utility(
        self,
        name: str,
        base: np.ndarray,
        per_yuan: np.ndarray,
        price: tuple[float, float],
        season: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = self.rng(name)
        intensity = per_yuan * np.exp(rng.normal(0.0, 0.4, self.n))
        base_use = base * np.exp(rng.normal(0.0, 0.3, self.n))
        noise = np.exp(0.08 * rng.standard_normal((self.n, self.T), dtype=np.float32))
        use = (base_use[:, None] * self.ramp + self.sales * intensity[:, None]) * season[None, :] * noise
        use = np.where(self.in_default, use * 0.8, use)
        use = np.round(np.where(self.alive, use, 0.0), 1)
        tariff = rng.uniform(price[0], price[1], self.n)[:, None]
        bill = np.rint(use * tariff * 100).astype(np.int64)
        stressed = self.stressed(f"{name}-stress", -6.0, 2.0, 3.0) & self.alive
        _, arrears = self.arrears(bill, stressed, rng)
        return use, bill, arrears

    @cached_property
    def electricity(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """kWh, bill and arrears (fen)."""
        f = self.firms
        base = np.where(f.individual, 150.0, np.array([200.0, 1500.0, 15_000.0, 120_000.0])[f.size])
        season = profiles.ELECTRICITY_SEASON[self.plan.month_of_year[: self.T]]
        return self._utility(
            "electricity", base, profiles.column("kwh_per_yuan")[f.section], (0.62, 0.78), season
        )

    @cached_property
    def water(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = self.firms
        base = 2.0 * (f.base_staff + 2)
        return self._utility(
            "water", base, profiles.column("water_per_yuan")[f.section], (4.2, 5.6), np.ones(self.T)
        )

    @cached_property
    def gas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = self.firms
        base = np.where(f.individual, 60.0, np.array([120.0, 600.0, 4000.0, 20_000.0])[f.size])
        season = np.where(np.isin(self.plan.month_of_year[: self.T], (0, 1, 10, 11)), 1.4, 0.9)
        return self._utility("gas", base, profiles.column("gas_per_yuan")[f.section], (3.3, 3.9), season)

    @cached_property
    def customs(self) -> tuple[np.ndarray, np.ndarray]:
        """Imports and exports (fen) of exporters."""
        rng = self.rng("customs")
        export_share = rng.uniform(0.3, 0.9, self.n)[:, None]
        import_share = rng.uniform(0.0, 0.3, self.n)[:, None]
        shape = (self.n, self.T)
        exports = self.sales * export_share * np.exp(0.3 * rng.standard_normal(shape))
        imports = self.sales * import_share * np.exp(0.3 * rng.standard_normal(shape))
        exports = np.where(rng.random(shape) < 0.15, 0.0, exports)
        imports = np.where(rng.random(shape) < 0.4, 0.0, imports)
        return np.rint(imports * 100).astype(np.int64), np.rint(exports * 100).astype(np.int64)

    # --- events -----------------------------------------------------------------------------------

    def events(self, name: str, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Firm and month of each event of a Poisson process with the given monthly rate (active months)."""
        counts = self.rng(name).poisson(np.where(self.alive, rate, 0.0))
        firm, month = np.nonzero(counts)
        repeat = counts[firm, month]
        return np.repeat(firm, repeat), np.repeat(month, repeat)

    def per_month(self, firm: np.ndarray, month: np.ndarray) -> np.ndarray:
        """An ``(n, T)`` count of events by firm and month (events outside the observed months ignored)."""
        out = np.zeros((self.n, self.T), dtype=np.int64)
        keep = (month >= 0) & (month < self.T)
        np.add.at(out, (firm[keep], month[keep]), 1)
        return out

    def active_at(self, days: np.ndarray, firm: np.ndarray) -> np.ndarray:
        """Whether each firm is still registered (not closed) on each day."""
        f = self.firms
        closed = self.death_days[firm]
        active: np.ndarray = (f.founded_days[firm] <= days) & ((closed < 0) | (days < closed))
        return active
