"""Reading the uploaded file: what spreadsheets produce is read as the person meant."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, CampaignKind
from campaigns.paper.rows import FileRefused, RowRejected, check_row, read_rows


def _petition() -> Campaign:
    return Campaign(slug="p", kind=CampaignKind.petition)


def test_bom_semicolons_blank_lines_and_spreadsheet_row_numbers() -> None:
    data = (
        "\ufeffName;Country;Region;Show_Name\r\n"
        '"أحمد\nالحلبي";SY;حلب;نعم\r\n'  # a cell on two lines is still one sheet row
        ";;;\r\n"
        "Rojda Xelîl;tr;Gaziantep;\r\n"
    ).encode()

    rows = read_rows(data)

    assert [row.number for row in rows] == [2, 4]
    first = check_row(_petition(), rows[0])
    assert (first.name, first.country, first.region, first.show_name) == (
        "أحمد الحلبي", "SY", "حلب", True,
    )
    second = check_row(_petition(), rows[1])
    assert (second.name, second.country, second.show_name) == ("Rojda Xelîl", "TR", False)


def test_a_row_with_more_cells_than_columns_is_rejected() -> None:
    [row] = read_rows(b"full_name,country,region\nAhmad, Halabi,SY,Aleppo\n")
    with pytest.raises(RowRejected) as rejected:
        check_row(_petition(), row)
    assert "extra_cells" in rejected.value.reasons


def test_cells_guarded_by_our_own_exports_are_read_back() -> None:
    [row] = read_rows("full_name,phone,country,region\nSami,'+963944123456,SY,حلب\n".encode())
    assert check_row(_petition(), row).phone == "+963944123456"


def test_every_problem_of_a_row_is_reported() -> None:
    [row] = read_rows(b"full_name,email,country,region\n,bad,,\n")
    with pytest.raises(RowRejected) as rejected:
        check_row(_petition(), row)
    assert rejected.value.reasons == [
        "name_missing", "country_missing", "region_missing", "email_invalid",
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfef\x00u\x00", "not_utf8"),
        (b"", "empty"),
        (b"full_name,country,region,full_name\n", "repeated_columns"),
        (b'full_name,country,region\n"unclosed\0', "unreadable"),
    ],
)
def test_unreadable_files(data: bytes, reason: str) -> None:
    with pytest.raises(FileRefused) as refused:
        read_rows(data)
    assert refused.value.reason == reason
