"""CSV in and out: delimiters, quote characters, encodings (UTF-8, BOM, cp1258)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from vecron.errors import FinalError

from .support import VIETNAMESE, Harness, csv_bytes, csv_rows

TABLE = [
    ["tên", "thành phố", "ghi chú"],
    ["Nguyễn Văn Ánh", "Đà Nẵng", "phở, bún; chả | cá"],
    ["Trần Thị Bích", "Hà Nội", 'nói "xin chào"\nhai dòng'],
    ["Lê Đức Thọ", "Huế", "tab\there"],
]

# Every Vietnamese letter: each vowel shape with each tone, both cases, and đ.
VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
ALL_LETTERS = "".join(
    unicodedata.normalize("NFC", vowel + tone) for vowel in VOWELS for tone in TONES
)
ALL_LETTERS += ALL_LETTERS.upper() + "đĐ"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|", "#", "~", "ő"])
async def test_every_delimiter_round_trips(files: Harness, delimiter: str) -> None:
    await files.put("in.csv", csv_bytes(TABLE, delimiter=delimiter))
    result = await files.run(
        {
            "input": {"file": "in.csv", "delimiter": delimiter},
            "output": {"name": "out.csv", "delimiter": delimiter},
        }
    )
    assert result["columns"] == TABLE[0]
    assert result["rows"][0] == dict(zip(TABLE[0], TABLE[1], strict=True))
    assert result["row_count"] == 3
    assert csv_rows(await files.get("out.csv"), delimiter=delimiter) == TABLE


async def test_tab_may_be_written_as_backslash_t(files: Harness) -> None:
    await files.put("in.tsv", csv_bytes(TABLE, delimiter="\t"))
    result = await files.run({"input": {"file": "in.tsv", "format": "csv", "delimiter": "\\t"}})
    assert result["columns"] == TABLE[0]


async def test_a_wrong_delimiter_gives_one_column(files: Harness) -> None:
    await files.put("in.csv", csv_bytes([["a", "b"], ["1", "2"]], delimiter=";"))
    result = await files.run({"input": {"file": "in.csv"}})
    assert result["columns"] == ["a;b"]


@pytest.mark.parametrize("quotechar", ['"', "'", "`"])
async def test_quote_character_round_trips(files: Harness, quotechar: str) -> None:
    table = [["a", "b"], [f"x,{quotechar}y{quotechar}", "1"], ["line\nbreak", ""]]
    await files.put("in.csv", csv_bytes(table, quotechar=quotechar))
    await files.run(
        {
            "input": {"file": "in.csv", "quotechar": quotechar},
            "output": {"name": "out.csv", "quotechar": quotechar},
        }
    )
    assert csv_rows(await files.get("out.csv"), quotechar=quotechar) == table


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258", "windows-1258", "utf-16"])
async def test_every_encoding_round_trips(files: Harness, encoding: str) -> None:
    table = [*TABLE, ["chữ", ALL_LETTERS, VIETNAMESE]]
    original = csv_bytes(table, encoding="utf-8")
    await files.put("in.csv", original)
    await files.run(
        {"input": {"file": "in.csv"}, "output": {"name": "out.csv", "encoding": encoding}}
    )
    written = await files.get("out.csv")
    # ... and back to UTF-8 through a second step that reads the legacy encoding.
    result = await files.run(
        {"input": {"file": "out.csv", "encoding": encoding}, "output": {"name": "back.csv"}}
    )
    assert await files.get("back.csv") == original
    assert result["rows"][-1]["thành phố"] == ALL_LETTERS
    if encoding == "utf-8-sig":
        assert written.startswith(b"\xef\xbb\xbf")
    elif encoding == "utf-8":
        assert not written.startswith(b"\xef\xbb\xbf")


async def test_the_default_reads_utf8_with_and_without_bom(files: Harness) -> None:
    data = csv_bytes(TABLE)
    await files.put("plain.csv", data)
    await files.put("bom.csv", b"\xef\xbb\xbf" + data)
    plain = await files.run({"input": {"file": "plain.csv"}})
    bom = await files.run({"input": {"file": "bom.csv"}})
    assert plain["columns"] == bom["columns"] == TABLE[0]
    assert plain["rows"] == bom["rows"]


async def test_cp1258_stores_toned_letters_decomposed_and_reads_them_as_nfc(
    files: Harness,
) -> None:
    await files.put("in.csv", csv_bytes([["tên"], ["Nguyễn"], ["ệ"]]))
    await files.run(
        {"input": {"file": "in.csv"}, "output": {"name": "out.csv", "encoding": "cp1258"}}
    )
    written = await files.get("out.csv")
    # ễ is ê (0xEA) + combining tilde (0xDE); ệ is ê + combining dot below (0xF2).
    assert "Nguyê\u0303n".encode("cp1258") in written
    assert b"\xea\xde" in written and b"\xea\xf2" in written
    result = await files.run({"input": {"file": "out.csv", "encoding": "cp1258"}})
    assert [row["tên"] for row in result["rows"]] == ["Nguyễn", "ệ"]
    assert all(unicodedata.is_normalized("NFC", row["tên"]) for row in result["rows"])


async def test_reading_decomposed_utf8_keeps_it_unless_asked(files: Harness) -> None:
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    await files.put("in.csv", csv_bytes([["city"], [decomposed]]))
    kept = await files.run({"input": {"file": "in.csv"}})
    assert kept["rows"][0]["city"] == decomposed
    normalised = await files.run({"input": {"file": "in.csv", "normalize_nfc": True}})
    assert normalised["rows"][0]["city"] == "Hà Nội"


async def test_a_character_cp1258_cannot_hold_names_row_and_column(files: Harness) -> None:
    await files.put("in.csv", csv_bytes([["id", "tên"], ["1", "Ánh"], ["2", "Ánh 漢字"]]))
    with pytest.raises(FinalError) as caught:
        await files.run(
            {"input": {"file": "in.csv"}, "output": {"name": "out.csv", "encoding": "cp1258"}}
        )
    message = caught.value.message
    assert "row 3" in message and "'tên'" in message and "漢" in message
    assert "cp1258" in message


async def test_latin1_output_refuses_vietnamese_naming_the_cell(files: Harness) -> None:
    await files.put("in.csv", csv_bytes([["a", "b"], ["x", "ễ"]]))
    with pytest.raises(FinalError, match=r"row 2, column 'b'.*latin-1"):
        await files.run(
            {"input": {"file": "in.csv"}, "output": {"name": "out.csv", "encoding": "latin-1"}}
        )


async def test_wrong_input_encoding_is_a_final_error(files: Harness) -> None:
    await files.put("in.csv", "a\nHà\n".encode("cp1258"))
    with pytest.raises(FinalError, match="not valid utf-8-sig text"):
        await files.run({"input": {"file": "in.csv"}})


async def test_header_row_skips_the_lines_above_it(files: Harness) -> None:
    await files.put("in.csv", csv_bytes([["Báo cáo tháng 1"], [], ["a", "b"], ["1", "2"]]))
    result = await files.run({"input": {"file": "in.csv", "header_row": 3}})
    assert result["columns"] == ["a", "b"]
    assert result["rows"] == [{"a": "1", "b": "2"}]


async def test_no_header_row_numbers_the_columns(files: Harness) -> None:
    await files.put("in.csv", csv_bytes([["1", "x"], ["2", "y"]]))
    result = await files.run({"input": {"file": "in.csv", "header_row": 0}})
    assert result["columns"] == ["column_1", "column_2"]
    assert result["row_count"] == 2


async def test_headers_are_trimmed_named_and_made_unique(files: Harness) -> None:
    await files.put("in.csv", csv_bytes([[" a ", "", "a", "a"], ["1", "2", "3", "4"]]))
    result = await files.run({"input": {"file": "in.csv"}})
    assert result["columns"] == ["a", "column_2", "a_2", "a_3"]


async def test_short_rows_are_padded_and_blank_lines_skipped(files: Harness) -> None:
    await files.put("in.csv", b"a,b,c\r\n1\r\n\r\n2,3,4\r\n5,6,,\r\n")
    result = await files.run({"input": {"file": "in.csv"}})
    assert result["rows"] == [
        {"a": "1", "b": None, "c": None},
        {"a": "2", "b": "3", "c": "4"},
        {"a": "5", "b": "6", "c": ""},
    ]


async def test_a_value_beyond_the_header_is_a_final_error(files: Harness) -> None:
    await files.put("in.csv", b"a,b\r\n1,2\r\n3,4,5\r\n")
    with pytest.raises(FinalError, match=r"row 3 has a value in column 3 .* 2 columns"):
        await files.run({"input": {"file": "in.csv"}})


async def test_values_are_written_as_csv_text(files: Harness) -> None:
    from datetime import date, datetime
    from decimal import Decimal

    rows: list[dict[str, Any]] = [
        {
            "int": -5,
            "dec": Decimal("12.50"),
            "float": 0.1,
            "bool": True,
            "none": None,
            "day": date(2024, 1, 31),
            "at": datetime(2024, 1, 31, 8, 30),
            "nested": {"a": [1, "ễ"]},
        }
    ]
    await files.run({"rows": rows, "output": {"name": "out.csv"}})
    assert csv_rows(await files.get("out.csv"))[1] == [
        "-5",
        "12.50",
        "0.1",
        "true",
        "",
        "2024-01-31",
        "2024-01-31T08:30:00",
        '{"a": [1, "ễ"]}',
    ]
