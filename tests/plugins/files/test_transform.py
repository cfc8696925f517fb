"""Column mapping, type conversion and row filtering."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from vecron.errors import FinalError, TemplateError
from vecron.jobs.masking import MASK

from .support import Harness, csv_bytes, csv_rows, xlsx_bytes

ORDERS = [
    ["id", "customer", "city", "amount", "day", "paid"],
    ["1", "Nguyễn Văn Ánh", "Hà Nội", "150.50", "31/01/2024", "yes"],
    ["2", "Trần Thị Bích", "Đà Nẵng", "99", "01/02/2024", "no"],
    ["3", "Lê Đức Thọ", "Hà Nội", "80", "02/02/2024", "1"],
    ["4", "Phạm Thị Hương", "Hà Nội", "1000", "", "0"],
]
TYPES = {
    "amount": "decimal",
    "id": "int",
    "day": {"type": "date", "format": "%d/%m/%Y"},
    "paid": "bool",
}


async def run_orders(files: Harness, transform: dict[str, Any], **extra: Any) -> dict[str, Any]:
    await files.put("orders.csv", csv_bytes(ORDERS))
    return await files.run({"input": {"file": "orders.csv"}, "transform": transform, **extra})


async def test_mapping_keeps_renames_and_orders_columns(files: Harness) -> None:
    result = await run_orders(
        files,
        {"columns": {"city": "thanh_pho", "id": "ma"}},
        output={"name": "out.csv"},
    )
    assert result["columns"] == ["thanh_pho", "ma"]
    assert result["rows"][0] == {"thanh_pho": "Hà Nội", "ma": "1"}
    assert csv_rows(await files.get("out.csv"))[:2] == [["thanh_pho", "ma"], ["Hà Nội", "1"]]


async def test_a_mapped_column_that_is_missing_is_a_final_error(files: Harness) -> None:
    with pytest.raises(FinalError, match=r"transform.columns: \['town'\] not found.*'city'"):
        await run_orders(files, {"columns": {"town": "t"}})


async def test_types_convert_each_column(files: Harness) -> None:
    result = await run_orders(files, {"types": TYPES}, output={"name": "out.jsonl"})
    assert result["rows"][0] == {
        "id": 1,
        "customer": "Nguyễn Văn Ánh",
        "city": "Hà Nội",
        "amount": "150.50",
        "day": "2024-01-31",
        "paid": True,
    }
    # An empty cell is None, whatever the type.
    assert result["rows"][3]["day"] is None
    lines = (await files.get("out.jsonl")).decode().splitlines()
    assert json.loads(lines[2]) == {**result["rows"][2]}
    assert json.loads(lines[0])["amount"] == "150.50"  # decimals stay exact, as text


async def test_types_are_keyed_by_the_target_name(files: Harness) -> None:
    result = await run_orders(
        files, {"columns": {"amount": "so_tien"}, "types": {"so_tien": "float"}}
    )
    assert result["rows"][0] == {"so_tien": 150.5}
    with pytest.raises(FinalError, match=r"transform.types: \['amount'\] not among"):
        await run_orders(files, {"columns": {"amount": "so_tien"}, "types": {"amount": "int"}})


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("int", "12", 12),
        ("int", " -7 ", -7),
        ("int", "12.0", 12),
        ("decimal", "0.10", "0.10"),
        ("decimal", "-1e3", "-1E+3"),
        ("float", "2.5", 2.5),
        ("bool", "TRUE", True),
        ("bool", "off", False),
        ("str", "  kept  ", "  kept  "),
        ("date", "2024-02-29", "2024-02-29"),
        ("datetime", "2024-02-29T08:30:00+07:00", "2024-02-29T08:30:00+07:00"),
        ("datetime", "2024-02-29", "2024-02-29T00:00:00"),
    ],
)
async def test_conversion_of_text(files: Harness, kind: str, value: str, expected: Any) -> None:
    result = await files.run({"rows": [{"v": value}], "transform": {"types": {"v": kind}}})
    assert result["rows"] == [{"v": expected}]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("int", "12.5"),
        ("int", "mười hai"),
        ("decimal", "NaN"),
        ("float", "inf"),
        ("bool", "maybe"),
        ("date", "31/01/2024"),
        ("datetime", "yesterday"),
        ("int", True),
    ],
)
async def test_a_value_that_does_not_convert_names_row_column_and_value(
    files: Harness, kind: str, value: Any
) -> None:
    rows = [{"v": "1" if kind != "bool" else "yes"}, {"v": value}]
    if kind in ("date", "datetime"):
        rows[0] = {"v": "2024-01-01"}
    with pytest.raises(FinalError) as caught:
        await files.run({"rows": rows, "transform": {"types": {"v": kind}}})
    message = caught.value.message
    assert message.startswith("row 2, column 'v': cannot convert")
    assert repr(str(value)) in message and kind in message


async def test_a_long_value_is_shortened_in_the_message(files: Harness) -> None:
    long = "x" * 500
    with pytest.raises(FinalError) as caught:
        await files.run({"rows": [{"v": long}], "transform": {"types": {"v": "int"}}})
    assert repr("x" * 49 + "…") in caught.value.message
    assert "x" * 50 not in caught.value.message


async def test_a_secret_in_a_value_is_masked_before_the_value_is_shortened(
    files: Harness,
) -> None:
    secret = "s3cr3t-" + "k" * 60
    files.ctx = replace(files.ctx, secrets=frozenset({secret}))
    with pytest.raises(FinalError) as caught:
        await files.run({"rows": [{"v": "x" * 20 + secret}], "transform": {"types": {"v": "int"}}})
    assert repr("x" * 20 + MASK) in caught.value.message
    assert "s3cr3t" not in caught.value.message


async def test_date_formats_and_excel_serial_numbers(files: Harness) -> None:
    await files.put("in.xlsx", xlsx_bytes({"S": [["day", "at"], [45322, "31.01.2024 08:30"]]}))
    result = await files.run(
        {
            "input": {"file": "in.xlsx", "sheet": "S"},
            "transform": {
                "types": {"day": "date", "at": {"type": "datetime", "format": "%d.%m.%Y %H:%M"}}
            },
        }
    )
    assert result["rows"] == [{"day": "2024-01-31", "at": "2024-01-31T08:30:00"}]


@pytest.mark.parametrize(
    ("number", "why"),
    [(0.5, "an Excel day number below 1 is not a date"), (3e6, "out of range")],
)
async def test_an_excel_day_number_that_is_no_date_is_a_final_error(
    files: Harness, number: float, why: str
) -> None:
    await files.put("in.xlsx", xlsx_bytes({"S": [["day"], [number]]}))
    with pytest.raises(FinalError, match=f"row 2, column 'day': cannot convert .*{why}"):
        await files.run(
            {"input": {"file": "in.xlsx", "sheet": "S"}, "transform": {"types": {"day": "date"}}}
        )


async def test_durations_objects_and_numbers_as_booleans(files: Harness) -> None:
    # An XLSX duration cell arrives as a timedelta: shown as a time, as CSV writes it.
    await files.put("in.xlsx", xlsx_bytes({"S": [["span"], [timedelta(hours=10, minutes=30)]]}))
    result = await files.run({"input": {"file": "in.xlsx", "sheet": "S"}})
    assert result["rows"] == [{"span": "10:30:00"}]
    rows = [{"o": {"a": [1, 2]}, "b": 1.0}, {"o": None, "b": 0}]
    result = await files.run({"rows": rows, "transform": {"types": {"o": "str", "b": "bool"}}})
    assert result["rows"] == [{"o": '{"a": [1, 2]}', "b": True}, {"o": None, "b": False}]


async def test_filter_keeps_matching_rows_after_conversion(files: Harness) -> None:
    result = await run_orders(
        files,
        {
            "types": TYPES,
            "filter": "row.amount > 100 and row.city == 'Hà Nội'",
        },
        output={"name": "out.csv"},
    )
    assert [row["id"] for row in result["rows"]] == [1, 4]
    assert result["row_count"] == 2
    assert result["file"]["rows"] == 2
    assert [row[0] for row in csv_rows(await files.get("out.csv"))] == ["id", "1", "4"]


async def test_filter_sees_target_names(files: Harness) -> None:
    result = await run_orders(
        files,
        {
            "columns": {"paid": "da_tra", "id": "ma"},
            "types": {"da_tra": "bool"},
            "filter": "row.da_tra",
        },
    )
    assert [row["ma"] for row in result["rows"]] == ["1", "3"]


async def test_an_undefined_column_in_the_filter_names_the_row(files: Harness) -> None:
    with pytest.raises(FinalError) as caught:
        await run_orders(files, {"filter": "row.amout > 100"})
    assert "row 2" in caught.value.message and "row.amout" in caught.value.message


async def test_a_filter_that_fails_on_a_row_names_it(files: Harness) -> None:
    # Text compared with a number: no type conversion was asked for.
    with pytest.raises(FinalError, match=r"row 2: .*transform\.filter"):
        await run_orders(files, {"filter": "row.amount > 100"})


async def test_a_filter_with_a_syntax_error_fails_before_reading(files: Harness) -> None:
    with pytest.raises(TemplateError, match=r"transform\.filter"):
        await run_orders(files, {"filter": "row.amount >"})


async def test_the_filter_cannot_reach_python_internals(files: Harness) -> None:
    with pytest.raises(FinalError):
        await run_orders(files, {"filter": "row.__class__"})


async def test_inline_rows_are_capped_but_the_file_has_them_all(files: Harness) -> None:
    rows = [{"n": number} for number in range(250)]
    result = await files.run({"rows": rows, "output": {"name": "all.csv"}})
    assert len(result["rows"]) == 100
    assert result["truncated"] is True
    assert result["row_count"] == 250
    assert len(csv_rows(await files.get("all.csv"))) == 251
    small = await files.run({"rows": rows, "max_rows_in_output": 0})
    assert small["rows"] == [] and small["truncated"] is True and small["row_count"] == 250


async def test_inline_rows_take_every_key_in_order(files: Harness) -> None:
    result = await files.run({"rows": [{"a": 1}, {"b": 2, "a": 3}]})
    assert result["columns"] == ["a", "b"]
    assert result["rows"] == [{"a": 1, "b": None}, {"a": 3, "b": 2}]
    assert result["truncated"] is False
