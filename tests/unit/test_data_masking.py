"""The masking engine: scalar and vectorised paths agree and hide what they must."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyidai.data.catalogue import catalogue
from xinyidai.data.masking import Viewer, mask_record, mask_table, mask_value

REGISTRATION = catalogue().get("registration")
PUBLIC_VIEW = Viewer(sees_personal=False, sees_internal=True)


def test_registration_row_is_masked_for_a_bank() -> None:
    row = {
        "uscc": "91371002MA00AN4W14",
        "name": "威海海鑫制造有限公司",
        "legal_rep_name": "张三丰",
        "legal_rep_id_number": "371002198001011234",
        "legal_rep_phone": "13563101234",
    }
    masked = mask_record(REGISTRATION, row, PUBLIC_VIEW)
    assert masked["legal_rep_name"] == "张**"
    assert masked["legal_rep_id_number"] == "371002********1234"
    assert masked["legal_rep_phone"] == "135****1234"
    assert masked["uscc"] == row["uscc"] and masked["name"] == row["name"]
    assert mask_record(REGISTRATION, row, Viewer(sees_personal=True)) == row


def test_internal_fields_are_hidden_from_outsiders() -> None:
    tax = catalogue().get("tax_monthly")
    assert mask_value(tax.field("sales"), 1000, Viewer(sees_internal=False)) is None
    assert mask_value(tax.field("uscc"), "X", Viewer(sees_internal=False)) == "X"


def test_table_masking_matches_record_masking() -> None:
    rows = [
        {
            "legal_rep_name": "李",
            "legal_rep_id_number": "370102199001011234",
            "legal_rep_phone": "18612345678",
        },
        {"legal_rep_name": "欧阳娜娜", "legal_rep_id_number": "12345", "legal_rep_phone": None},
        {"legal_rep_name": "", "legal_rep_id_number": "", "legal_rep_phone": "1234567"},
    ]
    table = mask_table(REGISTRATION, pa.Table.from_pylist(rows), PUBLIC_VIEW)
    assert table.to_pylist() == [mask_record(REGISTRATION, r, PUBLIC_VIEW) for r in rows]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789X张李欧阳 ", max_size=20)), max_size=20))
def test_vectorised_and_scalar_paths_agree(values: list[str | None]) -> None:
    for name in ("legal_rep_name", "legal_rep_id_number", "legal_rep_phone"):
        field = REGISTRATION.field(name)
        table = mask_table(REGISTRATION, pa.table({name: pa.array(values, pa.string())}), PUBLIC_VIEW)
        expected = [mask_value(field, v.strip() if v else v, PUBLIC_VIEW) if v else v for v in values]
        assert table.column(name).to_pylist() == expected


def test_quarantined_raw_rows_are_masked_by_header() -> None:
    from xinyidai.data.masking import mask_raw

    raw = {
        "法定代表人": "王小明",
        "法定代表人证件号码": "370102199001011234",
        "企业名称": "某某公司",
        "extra": "x",
    }
    masked = mask_raw(REGISTRATION, raw, PUBLIC_VIEW)
    assert masked == {
        "法定代表人": "王**",
        "法定代表人证件号码": "370102********1234",
        "企业名称": "某某公司",
        "extra": "x",
    }
