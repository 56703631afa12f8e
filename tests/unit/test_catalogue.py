"""The source catalogue is complete and self-consistent."""

from __future__ import annotations

import re

import pytest

from xinyidai.data.catalogue import FieldType, Sensitivity, catalogue

REQUIRED_SOURCES = {
    "registration",
    "registration_changes",
    "annual_reports",
    "tax_monthly",
    "tax_credit_grade",
    "social_security",
    "housing_fund",
    "electricity",
    "water",
    "gas",
    "court_cases",
    "dishonest_debtors",
    "admin_penalties",
    "admin_licences",
    "patents",
    "trademarks",
    "customs_monthly",
    "customs_credit",
    "real_estate_mortgages",
    "public_credit_grade",
    "red_black_lists",
    "financial_risk_lists",
    "vat_invoices",
}
SOURCES = list(catalogue().sources.values())


def test_the_issue_s_sources_are_all_declared() -> None:
    assert len(SOURCES) >= 14
    assert set(catalogue().sources) >= REQUIRED_SOURCES


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.id)
def test_source_is_well_formed(source) -> None:  # type: ignore[no-untyped-def]
    assert re.fullmatch(r"[a-z][a-z0-9_]+", source.id)
    assert source.owner and re.search(r"[\u4e00-\u9fff]", source.name_zh) and source.name_en
    headers: dict[str, str] = {}
    for field in source.fields:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", field.name)
        assert re.search(r"[\u4e00-\u9fff]", field.name_zh), field.name
        assert field.description.endswith((".", ")")), field.name
        for header in field.headers:
            key = header.strip().lower()
            assert headers.setdefault(key, field.name) == field.name, (
                f"{source.id}: header {header} is ambiguous"
            )
        if field.type is FieldType.CODE:
            assert field.codes
    if source.entity_field:
        assert source.field(source.entity_field).type in (FieldType.USCC, FieldType.ENTITY_REF)
        assert source.field(source.entity_field).required


def test_personal_data_is_marked_for_masking() -> None:
    registration = catalogue().get("registration")
    personal = {f.name for f in registration.fields if f.sensitivity is Sensitivity.PERSONAL}
    assert personal == {"legal_rep_name", "legal_rep_id_number", "legal_rep_phone"}


def test_money_fields_state_their_unit() -> None:
    for source in SOURCES:
        for field in source.fields:
            if field.type is FieldType.DECIMAL:
                assert field.unit in ("元", "万元"), f"{source.id}.{field.name}"


def test_fields_are_many_enough_to_matter() -> None:
    assert sum(len(s.fields) for s in SOURCES) >= 140
