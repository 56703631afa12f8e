"""Field declarations shared by many sources."""

from __future__ import annotations

from xinyidai.data.catalogue.model import Field, FieldType, PersonalKind, Sensitivity


def uscc(required: bool = True) -> Field:
    return Field(
        "uscc",
        "统一社会信用代码",
        "Unified social credit code",
        FieldType.USCC,
        "The enterprise the row is about (GB 32100-2015).",
        sensitivity=Sensitivity.PUBLIC,
        required=required,
        aliases=("社会信用代码", "信用代码", "企业统一社会信用代码", "USCC", "credit_code"),
    )


def period() -> Field:
    return Field(
        "period",
        "所属期",
        "Period",
        FieldType.MONTH,
        "The reporting month the figures belong to.",
        required=True,
        aliases=("统计期", "月份", "所属月份", "税款所属期", "month"),
    )


def year() -> Field:
    return Field(
        "year",
        "年度",
        "Year",
        FieldType.INTEGER,
        "The year the row belongs to.",
        required=True,
        minimum=1949,
        maximum=2100,
        aliases=("评价年度", "年份", "报告年度"),
    )


def money(
    name: str,
    name_zh: str,
    name_en: str,
    description: str,
    *,
    unit: str = "元",
    minimum: float | None = 0,
    aliases: tuple[str, ...] = (),
) -> Field:
    return Field(
        name, name_zh, name_en, FieldType.DECIMAL, description, unit=unit, minimum=minimum, aliases=aliases
    )


def count(
    name: str,
    name_zh: str,
    name_en: str,
    description: str,
    *,
    unit: str = "人",
    aliases: tuple[str, ...] = (),
) -> Field:
    return Field(
        name, name_zh, name_en, FieldType.INTEGER, description, unit=unit, minimum=0, aliases=aliases
    )


def day(
    name: str,
    name_zh: str,
    name_en: str,
    description: str,
    *,
    required: bool = False,
    aliases: tuple[str, ...] = (),
    future: bool = False,
) -> Field:
    return Field(
        name, name_zh, name_en, FieldType.DATE, description, required=required, aliases=aliases, future=future
    )


def text(
    name: str,
    name_zh: str,
    name_en: str,
    description: str,
    *,
    required: bool = False,
    sensitivity: Sensitivity = Sensitivity.INTERNAL,
    aliases: tuple[str, ...] = (),
) -> Field:
    return Field(
        name,
        name_zh,
        name_en,
        FieldType.STRING,
        description,
        required=required,
        sensitivity=sensitivity,
        aliases=aliases,
    )


def code(
    name: str,
    name_zh: str,
    name_en: str,
    description: str,
    codes: tuple[str, ...],
    *,
    required: bool = False,
    aliases: tuple[str, ...] = (),
) -> Field:
    return Field(
        name, name_zh, name_en, FieldType.CODE, description, codes=codes, required=required, aliases=aliases
    )


def person_name(
    name: str,
    name_zh: str,
    name_en: str,
    description: str,
    *,
    required: bool = False,
    aliases: tuple[str, ...] = (),
) -> Field:
    return Field(
        name,
        name_zh,
        name_en,
        FieldType.STRING,
        description,
        sensitivity=Sensitivity.PERSONAL,
        personal=PersonalKind.NAME,
        required=required,
        aliases=aliases,
    )


def id_number(name: str, name_zh: str, name_en: str, description: str) -> Field:
    return Field(
        name,
        name_zh,
        name_en,
        FieldType.STRING,
        description,
        sensitivity=Sensitivity.PERSONAL,
        personal=PersonalKind.ID_NUMBER,
    )


def phone(name: str, name_zh: str, name_en: str, description: str) -> Field:
    return Field(
        name,
        name_zh,
        name_en,
        FieldType.STRING,
        description,
        sensitivity=Sensitivity.PERSONAL,
        personal=PersonalKind.PHONE,
    )
