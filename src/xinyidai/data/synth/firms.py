"""The enterprises of one chunk: who they are (registry facts) and their hidden traits.

A firm is an individual business (个体工商户, USCC ``92``, about 17 %), a farmers' cooperative (``93``) or
a company (``91``). Most companies are micro or small. Three life-cycles: firms that existed before the
window, firms founded during it, and a few that had already closed before it (they only appear in the
registry, with their status date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinyidai.core.codes import divisions_of
from xinyidai.data.synth import arrays, names, profiles
from xinyidai.data.synth.plan import BURN_IN, CityPlan, stream, to_days

INDIVIDUAL_SHARE = 0.17
PRE_CLOSED_SHARE = 0.03
NEW_PER_YEAR = 0.09  # share of the registry founded per year of window (entries)
USCC_REFORM_DAYS = to_days(date(2015, 10, 1))  # GB 32100 codes issued to new firms from then on


@dataclass
class Firms:
    """Arrays describing the firms of one chunk (one entry per firm)."""

    ids: np.ndarray  # global firm number
    section: np.ndarray  # index into profiles.SECTIONS
    division: pa.Array  # GB/T 4754 code, section letter + division (``C34``)
    size: np.ndarray  # 0 micro, 1 small, 2 medium, 3 large
    individual: np.ndarray
    entity_type: np.ndarray  # index into profiles.ENTITY_TYPES
    county: np.ndarray  # index into names.COUNTIES
    founded_days: np.ndarray
    birth_t: np.ndarray  # horizon month of founding (negative: before the horizon)
    pre_closed: np.ndarray  # closed before the horizon
    pre_closed_days: np.ndarray
    pre_closed_status: np.ndarray  # 1 吊销, 2 注销 (for pre-closed firms)
    uscc_matrix: np.ndarray  # (n, 18) ASCII
    uscc: pa.Array
    name: pa.Array
    legal_rep: pa.Array
    legal_rep_id: pa.Array
    legal_rep_phone: pa.Array
    address: pa.Array
    capital_wan_cents: np.ndarray  # registered capital in 0.01 万元
    # hidden traits
    quality: np.ndarray  # long-run health level
    volatility: np.ndarray
    base_sales: np.ndarray  # typical monthly sales, yuan
    base_staff: np.ndarray  # typical insured headcount
    has_social_security: np.ndarray
    has_housing_fund: np.ndarray
    has_electricity: np.ndarray
    has_water: np.ndarray
    has_gas: np.ndarray
    exporter: np.ndarray
    patent_holder: np.ndarray
    trademark_holder: np.ndarray
    vat_sample: np.ndarray  # invoices delivered (the firm authorised invoice sharing)

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])


def person_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Chinese personal names: a common surname and one or two given-name characters."""
    surname = arrays.choose(names.SURNAMES, rng.integers(0, len(names.SURNAMES), n))
    first = arrays.choose(names.GIVEN, rng.integers(0, len(names.GIVEN), n))
    second_words = (*names.GIVEN, "")
    # about a third of given names have one character
    second_index = np.where(rng.random(n) < 0.33, len(names.GIVEN), rng.integers(0, len(names.GIVEN), n))
    return arrays.join(surname, first, arrays.choose(second_words, second_index))


def _weighted(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.shape[0], size=n, p=p / p.sum())


def _permute(ids: np.ndarray, modulus: int, rng_seed: int, salt: int) -> np.ndarray:
    """A seed-dependent bijection of ``0..modulus-1`` (affine, multiplier coprime with the modulus)."""
    g = stream(rng_seed, "uscc-permutation", salt)
    multiplier = int(g.integers(modulus // 7, modulus // 3)) | 1
    while np.gcd(multiplier, modulus) != 1:
        multiplier += 2
    offset = int(g.integers(0, modulus))
    # ids < 10^7 and multiplier < 31^6 / 3 keep the product inside int64
    return (ids.astype(np.int64) * multiplier + offset) % modulus


def _bodies(ids: np.ndarray, founded: np.ndarray, individual: np.ndarray, seed: int) -> np.ndarray:
    """Unique 8-character organisation-code bodies: ``MA`` + 6 base-31 characters after the 2015 reform,
    8 digits (old organisation codes) or ``L`` + 7 digits (old individual businesses) before it."""
    n = ids.shape[0]
    body = np.empty((n, 8), dtype=np.uint8)
    new = founded >= USCC_REFORM_DAYS
    modern = _permute(ids, 31**6, seed, 1)
    body[:, 0] = ord("M")
    body[:, 1] = ord("A")
    body[:, 2:] = arrays.alphabet_bytes(arrays.base31(modern, 6))
    old_company = _permute(ids, 10**8, seed, 2)
    old_individual = _permute(ids, 10**7, seed, 3)
    company_rows = ~new & ~individual
    body[company_rows] = arrays.digits(old_company[company_rows], 8)
    individual_rows = ~new & individual
    body[individual_rows, 0] = ord("L")
    body[individual_rows, 1:] = arrays.digits(old_individual[individual_rows], 7)
    return body


def generate_firms(plan: CityPlan, chunk: int) -> Firms:
    """The firms of ``chunk``, reproducible from the plan's seed and the chunk number."""
    rng = stream(plan.seed, "firms", chunk)
    lo, hi = plan.chunk_bounds(chunk)
    n = hi - lo
    ids = np.arange(lo, hi, dtype=np.int64)

    individual = rng.random(n) < INDIVIDUAL_SHARE
    section = np.where(
        individual,
        _weighted(rng, profiles.column("individual_weight"), n),
        _weighted(rng, profiles.column("company_weight"), n),
    )
    division_codes: list[str] = []
    division_index = np.zeros(n, dtype=np.int64)
    for s, profile in enumerate(profiles.SECTIONS):
        options = [f"{profile.code}{d.code}" for d in divisions_of(profile.code)]
        rows = section == s
        division_index[rows] = len(division_codes) + rng.integers(0, len(options), int(rows.sum()))
        division_codes.extend(options)
    division = arrays.choose(division_codes, division_index)

    size = np.where(individual, 0, _weighted(rng, np.array(profiles.SIZE_WEIGHTS), n))
    cooperative = ~individual & (section == profiles.SECTION_INDEX["A"]) & (rng.random(n) < 0.4)
    size = np.where(cooperative, np.minimum(size, 1), size)
    forms = np.array(profiles.COMPANY_FORMS)[_weighted(rng, np.array(profiles.COMPANY_FORM_WEIGHTS), n)]
    forms = np.where((size >= 2) & (rng.random(n) < 0.15), 1, forms)  # bigger firms are more often 股份
    entity_type = np.where(
        individual, profiles.INDIVIDUAL_TYPE, np.where(cooperative, profiles.COOPERATIVE_TYPE, forms)
    )
    county = _weighted(rng, np.array(names.COUNTY_WEIGHTS), n)

    # life-cycle
    p_new = min(0.45, NEW_PER_YEAR * plan.months / 12)
    roll = rng.random(n)
    pre_closed = roll < PRE_CLOSED_SHARE
    new = (roll >= PRE_CLOSED_SHARE) & (roll < PRE_CLOSED_SHARE + p_new)
    start = plan.window_start_days
    horizon_start = int(plan.month_days[0])
    age_days = 30 + rng.exponential(6.5 * 365, n)
    age_days = np.minimum(age_days, 35 * 365)
    founded = (start - age_days).astype(np.int64)
    birth_month = BURN_IN + rng.integers(0, plan.months, n)
    new_days = plan.random_days(birth_month, rng)
    founded = np.where(new, new_days, founded)
    closed_founded = horizon_start - (400 + rng.exponential(5 * 365, n)).astype(np.int64)
    founded = np.where(pre_closed, closed_founded, founded)
    pre_closed_days = horizon_start - 1 - rng.integers(0, 730, n)
    pre_closed_days = np.maximum(pre_closed_days, founded + 200)
    pre_closed_status = np.where(rng.random(n) < 0.45, 1, 2)
    birth_t = plan.month_index(founded)

    # identity
    authority = np.full(n, ord("9"), dtype=np.uint8)
    entity = np.where(individual, ord("2"), np.where(cooperative, ord("3"), ord("1"))).astype(np.uint8)
    division_digits = np.frombuffer("".join(names.COUNTIES).encode(), dtype=np.uint8).reshape(-1, 6)[county]
    body = _bodies(ids, founded, individual, plan.seed)
    uscc_matrix = arrays.uscc_bytes(authority, entity, division_digits, body)
    uscc = arrays.fixed_width([uscc_matrix])

    brand = arrays.join(
        arrays.choose(names.BRAND_CHARS, rng.integers(0, len(names.BRAND_CHARS), n)),
        arrays.choose(names.BRAND_CHARS, rng.integers(0, len(names.BRAND_CHARS), n)),
    )
    words: list[str] = []
    word_index = np.zeros(n, dtype=np.int64)
    shop_words: list[str] = []
    shop_index = np.zeros(n, dtype=np.int64)
    for s, profile in enumerate(profiles.SECTIONS):
        rows = section == s
        word_index[rows] = len(words) + rng.integers(0, len(profile.word), int(rows.sum()))
        words.extend(profile.word)
        shops = profile.shop_words or ("经营部",)
        shop_index[rows] = len(shop_words) + rng.integers(0, len(shops), int(rows.sum()))
        shop_words.extend(shops)
    suffixes = [names.COMPANY_SUFFIXES.get(t, "") for t in profiles.ENTITY_TYPES]
    company_name = arrays.join(
        "威海", brand, arrays.choose(words, word_index), arrays.choose(suffixes, entity_type)
    )
    shop_name = arrays.join(
        arrays.choose(names.COUNTY_NAMES, county), brand, arrays.choose(shop_words, shop_index)
    )
    name = pc.if_else(pa.array(individual), shop_name, company_name)

    legal_rep = person_names(rng, n)
    birth_region = np.frombuffer("".join(names.BIRTH_REGIONS).encode(), dtype=np.uint8).reshape(-1, 6)
    rep_birth = plan.end_days - (rng.uniform(25, 66, n) * 365.25).astype(np.int64)
    rep_id = arrays.fixed_width(
        [
            arrays.id_numbers(
                birth_region[rng.integers(0, len(names.BIRTH_REGIONS), n)],
                rep_birth,
                rng.integers(0, 1000, n),
            )
        ]
    )
    prefixes = np.frombuffer("".join(names.PHONE_PREFIXES).encode(), dtype=np.uint8).reshape(-1, 3)
    phone = arrays.fixed_width(
        [prefixes[rng.integers(0, len(names.PHONE_PREFIXES), n)], arrays.digits(rng.integers(0, 10**8, n), 8)]
    )
    address = arrays.join(
        "山东省威海市",
        arrays.choose(names.COUNTY_NAMES, county),
        arrays.choose(names.ROADS, rng.integers(0, len(names.ROADS), n)),
        arrays.to_text(rng.integers(1, 400, n)),
        "号",
    )
    capital_steps = np.array([[3, 5, 10, 30, 50, 100], [100, 200, 300, 500, 800, 1000]], dtype=np.int64)
    capital = np.where(
        individual,
        capital_steps[0][rng.integers(0, 6, n)],
        capital_steps[1][rng.integers(0, 6, n)] * np.array([0.1, 1.0, 5.0, 30.0])[size],
    )
    capital_wan_cents = (np.asarray(capital, dtype=np.float64) * 100).astype(np.int64)

    # hidden traits
    quality = rng.normal(0.0, 0.75, n) + np.array([0.0, 0.1, 0.25, 0.35])[size] - 0.1 * individual
    quality = quality - 0.25 * new
    volatility = 0.2 + 0.06 * (size == 0) + 0.04 * new
    sales_factor = profiles.column("sales_factor")[section]
    median = np.where(individual, profiles.INDIVIDUAL_SALES, profiles.SIZE_SALES[size]) * sales_factor
    sigma = np.where(individual, 0.8, profiles.SIZE_SALES_SIGMA[size])
    base_sales = median * np.exp(rng.normal(0.0, 1.0, n) * sigma)
    staff = np.select(
        [individual, size == 0, size == 1, size == 2],
        [
            rng.poisson(1.0, n),
            np.clip(1 + rng.poisson(3.0, n), 1, 9),
            np.exp(rng.uniform(np.log(10), np.log(99), n)),
            rng.uniform(100, 299, n),
        ],
        np.exp(rng.uniform(np.log(300), np.log(3000), n)),
    )
    base_staff = np.maximum(np.rint(staff), 0).astype(np.int64)
    coverage = np.where(individual, 0.2, np.array([0.8, 0.97, 1.0, 1.0])[size])
    has_social_security = (rng.random(n) < coverage) & (base_staff > 0)
    hf_coverage = np.where(individual, 0.01, np.array([0.1, 0.35, 0.7, 0.95])[size])
    has_housing_fund = has_social_security & (rng.random(n) < hf_coverage)
    has_electricity = rng.random(n) < np.where(individual, 0.6, 0.92)
    has_water = rng.random(n) < np.where(individual, 0.45, 0.6)
    has_gas = rng.random(n) < profiles.column("gas_share")[section]
    export_p = profiles.column("exporter_share")[section] * np.array([0.8, 2.0, 3.5, 4.5])[size]
    exporter = ~individual & (rng.random(n) < export_p)
    patent_p = profiles.column("patent_share")[section] * np.array([0.6, 1.8, 3.5, 5.0])[size]
    patent_holder = ~individual & (rng.random(n) < patent_p)
    trademark_p = profiles.column("trademark_share")[section] * np.where(individual, 0.2, 1.0)
    trademark_holder = rng.random(n) < trademark_p
    vat_sample = ~individual & (rng.random(n) < 0.02)

    return Firms(
        ids=ids,
        section=section,
        division=division,
        size=size,
        individual=individual,
        entity_type=entity_type,
        county=county,
        founded_days=founded,
        birth_t=birth_t,
        pre_closed=pre_closed,
        pre_closed_days=pre_closed_days,
        pre_closed_status=pre_closed_status,
        uscc_matrix=uscc_matrix,
        uscc=uscc,
        name=name,
        legal_rep=legal_rep,
        legal_rep_id=rep_id,
        legal_rep_phone=phone,
        address=address,
        capital_wan_cents=capital_wan_cents,
        quality=quality,
        volatility=volatility,
        base_sales=base_sales,
        base_staff=base_staff,
        has_social_security=has_social_security,
        has_housing_fund=has_housing_fund,
        has_electricity=has_electricity,
        has_water=has_water,
        has_gas=has_gas,
        exporter=exporter,
        patent_holder=patent_holder,
        trademark_holder=trademark_holder,
        vat_sample=vat_sample,
    )
