"""XLSX in and out: sheet selection, every sheet, cell types."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from vecron.errors import FinalError

from .support import VIETNAMESE, Harness, csv_rows, xlsx_bytes, xlsx_values

WORKBOOK = {
    "Khách hàng": [["tên", "thành phố"], ["Nguyễn Văn Ánh", "Đà Nẵng"], ["Lê Đức Thọ", "Huế"]],
    "Đơn hàng": [["mã", "số tiền", "ngày"], [1, 150.5, datetime(2024, 1, 31)]],
    "Trống": [],
}


async def test_one_sheet_by_name(files: Harness) -> None:
    await files.put("in.xlsx", xlsx_bytes(WORKBOOK))
    result = await files.run({"input": {"file": "in.xlsx", "sheet": "Đơn hàng"}})
    assert result["sheet"] == "Đơn hàng"
    assert result["sheet_names"] == ["Khách hàng", "Đơn hàng", "Trống"]
    assert result["columns"] == ["mã", "số tiền", "ngày"]
    assert result["rows"] == [{"mã": 1, "số tiền": 150.5, "ngày": "2024-01-31T00:00:00"}]


@pytest.mark.parametrize(("index", "title"), [(0, "Khách hàng"), (1, "Đơn hàng"), (2, "Trống")])
async def test_one_sheet_by_index(files: Harness, index: int, title: str) -> None:
    await files.put("in.xlsx", xlsx_bytes(WORKBOOK))
    result = await files.run({"input": {"file": "in.xlsx", "sheet": index}})
    assert result["sheet"] == title
    assert result["row_count"] == len(WORKBOOK[title][1:])


async def test_every_sheet_is_keyed_by_its_name(files: Harness) -> None:
    await files.put("in.xlsx", xlsx_bytes(WORKBOOK))
    result = await files.run({"input": {"file": "in.xlsx"}, "output": {"name": "out.xlsx"}})
    assert list(result["sheets"]) == ["Khách hàng", "Đơn hàng", "Trống"]
    assert result["sheets"]["Khách hàng"]["rows"][0] == {
        "tên": "Nguyễn Văn Ánh",
        "thành phố": "Đà Nẵng",
    }
    assert result["sheets"]["Trống"] == {
        "rows": [],
        "row_count": 0,
        "columns": [],
        "truncated": False,
    }
    assert result["row_count"] == 3
    assert result["file"]["rows"] == 3
    written = xlsx_values(await files.get("out.xlsx"))
    assert list(written) == ["Khách hàng", "Đơn hàng", "Trống"]
    assert written["Khách hàng"] == [tuple(row) for row in WORKBOOK["Khách hàng"]]
    assert written["Đơn hàng"] == [tuple(row) for row in WORKBOOK["Đơn hàng"]]


@pytest.mark.parametrize("sheet", ["Missing", 3, -1])
async def test_an_unknown_sheet_is_a_final_error(files: Harness, sheet: str | int) -> None:
    await files.put("in.xlsx", xlsx_bytes(WORKBOOK))
    with pytest.raises(FinalError, match=r"input\.sheet") as caught:
        await files.run({"input": {"file": "in.xlsx", "sheet": sheet}})
    assert "Khách hàng" in caught.value.message


async def test_the_output_sheet_name_and_real_cell_types(files: Harness) -> None:
    rows = [
        {
            "tên": VIETNAMESE,
            "số tiền": "1234.50",
            "ngày": "31/01/2024",
            "lúc": "2024-01-31T08:30:00+07:00",
            "có": "yes",
            "số": "42",
        }
    ]
    await files.run(
        {
            "rows": rows,
            "transform": {
                "types": {
                    "số tiền": "decimal",
                    "ngày": {"type": "date", "format": "%d/%m/%Y"},
                    "lúc": "datetime",
                    "có": "bool",
                    "số": "int",
                }
            },
            "output": {"name": "out.xlsx", "sheet_name": "Báo cáo"},
        }
    )
    workbook = load_workbook(io.BytesIO(await files.get("out.xlsx")))
    sheet = workbook["Báo cáo"]
    cells = [cell for cell in sheet[2]]
    assert cells[0].value == VIETNAMESE
    assert cells[1].data_type == "n" and cells[1].value == 1234.5
    assert cells[2].is_date and cells[2].value == datetime(2024, 1, 31)
    # Excel has no time zones: the wall-clock time is kept.
    assert cells[3].is_date and cells[3].value == datetime(2024, 1, 31, 8, 30)
    assert cells[4].value is True
    assert cells[5].data_type == "n" and cells[5].value == 42


async def test_header_row_and_gaps_keep_excel_row_numbers(files: Harness) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = "Báo cáo"
    sheet["A3"], sheet["B3"] = "a", "b"
    sheet["A4"], sheet["B4"] = 1, "x"
    sheet["A7"], sheet["B7"] = "not a number", "y"
    buffer = io.BytesIO()
    workbook.save(buffer)
    await files.put("in.xlsx", buffer.getvalue())
    config = {"input": {"file": "in.xlsx", "sheet": 0, "header_row": 3}}
    result = await files.run(config)
    assert result["columns"] == ["a", "b"]
    assert result["row_count"] == 2
    with pytest.raises(FinalError, match=r"row 7, column 'a': cannot convert 'not a number'"):
        await files.run({**config, "transform": {"types": {"a": "int"}}})


async def test_a_value_beyond_the_header_names_the_sheet(files: Harness) -> None:
    await files.put("in.xlsx", xlsx_bytes({"S": [["a"], [1], [2, "extra"]]}))
    with pytest.raises(FinalError, match=r"sheet 'S': row 3 has a value in column 2"):
        await files.run({"input": {"file": "in.xlsx"}})


async def test_xlsx_to_csv_with_a_column_mapping(files: Harness) -> None:
    await files.put("sftp/report.xlsx", xlsx_bytes(WORKBOOK))
    result = await files.run(
        {
            "input": {"file": "sftp/report.xlsx", "sheet": "Đơn hàng"},
            "transform": {
                "columns": {"ngày": "day", "số tiền": "amount"},
                "types": {"day": "date", "amount": "decimal"},
            },
            "output": {"name": "export/orders.csv"},
        }
    )
    assert csv_rows(await files.get("export/orders.csv")) == [
        ["day", "amount"],
        ["2024-01-31", "150.5"],
    ]
    assert result["rows"] == [{"day": "2024-01-31", "amount": "150.5"}]
    assert result["file"]["name"] == "export/orders.csv"
    assert result["file"]["key"].endswith("/files/export/orders.csv")


async def test_decimals_and_dates_are_real_xlsx_values_and_text_in_json(
    files: Harness,
) -> None:
    rows = [{"d": Decimal("0.10"), "day": date(2024, 2, 29)}]
    result = await files.run({"rows": rows, "output": {"name": "out.xlsx"}})
    assert result["rows"] == [{"d": "0.10", "day": "2024-02-29"}]
    values = xlsx_values(await files.get("out.xlsx"))["Sheet1"]
    assert values[1] == (0.1, datetime(2024, 2, 29))


async def test_a_file_that_is_not_a_workbook_is_a_final_error(files: Harness) -> None:
    await files.put("in.xlsx", b"name,city\nA,B\n")
    with pytest.raises(FinalError, match="not an XLSX workbook"):
        await files.run({"input": {"file": "in.xlsx"}})


async def test_a_control_character_in_xlsx_output_names_the_cell(files: Harness) -> None:
    with pytest.raises(FinalError, match=r"row 2, column 'b': .*control character"):
        await files.run(
            {
                "rows": [{"a": "ok", "b": "ok"}, {"a": "ok", "b": "bell\x07"}],
                "output": {"name": "out.xlsx"},
            }
        )


async def test_text_longer_than_a_cell_holds_is_refused_not_cut(files: Harness) -> None:
    rows = [{"a": "ok", "b": "x" * 32_767}, {"a": "ok", "b": "ễ" * 32_768}]
    before = set(ALL_TEMP_FILES)
    with pytest.raises(FinalError, match=r"row 2, column 'b': text of 32768 characters"):
        await files.run({"rows": rows, "output": {"name": "out.xlsx"}})
    # openpyxl's own temporary sheet file is gone too, not left until the process exits.
    assert set(ALL_TEMP_FILES) <= before
    await files.run({"rows": rows[:1], "output": {"name": "out.xlsx"}})
    assert xlsx_values(await files.get("out.xlsx"))["Sheet1"][1] == ("ok", "x" * 32_767)
