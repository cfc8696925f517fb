"""Hostile inputs: zip bombs, billion laughs, formula injection, path escapes."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from defusedxml import EntitiesForbidden
from openpyxl import load_workbook

from vecron.errors import FinalError
from vecron_files import FilesConfig

from .support import Harness, csv_bytes, csv_rows, xlsx_bytes

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def billion_laughs(root: str) -> bytes:
    """The classic: ten levels of ten references, 10⁹ 'lol's once expanded (~3 GB)."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<!DOCTYPE {root} [{''.join(entities)}]>\n"
        f'<{root} xmlns="{SHEET_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
        f"<is><t>&lol9;</t></is></c></row></sheetData></{root}>"
    ).encode()


def replace_part(workbook: bytes, part: str, data: bytes) -> bytes:
    """``workbook`` with ``part`` replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != part:
                target.writestr(info.filename, source.read(info.filename))
        with target.open(part, "w", force_zip64=True) as stream:
            stream.write(data)
    return buffer.getvalue()


def padded_sheet(megabytes: int) -> bytes:
    """A valid sheet XML padded with whitespace: packs about 1000 to 1."""
    head = f'<?xml version="1.0"?><worksheet xmlns="{SHEET_NS}"><sheetData>'.encode()
    return head + b" " * (megabytes << 20) + b"</sheetData></worksheet>"


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Peak bytes Python allocated inside the block (every thread)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


WORKBOOK = xlsx_bytes({"Sheet": [["tên"], ["Ánh"]]})


async def test_a_zip_bomb_is_refused_for_its_ratio(files: Harness) -> None:
    bomb = replace_part(WORKBOOK, "xl/worksheets/sheet1.xml", padded_sheet(40))
    assert len(bomb) < 200_000
    await files.put("bomb.xlsx", bomb)
    with peak_memory() as peak, pytest.raises(FinalError) as caught:
        await files.run({"input": {"file": "bomb.xlsx"}})
    assert "sheet1.xml" in caught.value.message
    assert "max_compression_ratio" in caught.value.message
    assert "zip bomb" in caught.value.message
    assert peak[0] < 8 << 20, f"{peak[0]} bytes allocated"


async def test_a_workbook_unpacking_past_the_limit_is_refused(files: Harness) -> None:
    large = replace_part(WORKBOOK, "xl/worksheets/sheet1.xml", padded_sheet(3))
    await files.put("large.xlsx", large)
    config = {"input": {"file": "large.xlsx", "max_uncompressed_bytes": 2 << 20}}
    with pytest.raises(FinalError, match=r"unpacks to \d+ bytes, over input.max_uncompressed"):
        await files.run(config)
    # The same workbook within the limits reads (it is valid, just padded).
    allowed = {"input": {"file": "large.xlsx", "max_compression_ratio": 100_000}}
    assert (await files.run(allowed))["row_count"] == 0


async def test_too_many_parts_are_refused(files: Harness) -> None:
    await files.put("in.xlsx", WORKBOOK)
    with pytest.raises(FinalError, match=r"has \d+ parts, over input.max_zip_members \(3\)"):
        await files.run({"input": {"file": "in.xlsx", "max_zip_members": 3}})


def test_the_default_limits_are_one_gib_and_ratio_100() -> None:
    config = FilesConfig.model_validate({"input": {"file": "a.xlsx"}})
    assert config.input is not None
    assert config.input.max_uncompressed_bytes == 1 << 30
    assert config.input.max_compression_ratio == 100


@pytest.mark.parametrize(
    ("part", "root"),
    [
        ("xl/worksheets/sheet1.xml", "worksheet"),
        ("xl/sharedStrings.xml", "sst"),
        ("xl/workbook.xml", "workbook"),
    ],
)
async def test_billion_laughs_is_refused_before_parsing(
    files: Harness, part: str, root: str
) -> None:
    await files.put("lol.xlsx", replace_part(WORKBOOK, part, billion_laughs(root)))
    with peak_memory() as peak, pytest.raises(FinalError) as caught:
        await files.run({"input": {"file": "lol.xlsx"}})
    assert part in caught.value.message and "DTD" in caught.value.message
    assert peak[0] < 8 << 20


def test_openpyxl_read_only_refuses_entities_on_its_own(tmp_path: object) -> None:
    # Verified, not assumed: openpyxl parses read-only sheets through defusedxml.
    lol = replace_part(WORKBOOK, "xl/worksheets/sheet1.xml", billion_laughs("worksheet"))
    with pytest.raises(ValueError) as caught:
        load_workbook(io.BytesIO(lol), read_only=True)
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(link, EntitiesForbidden) for link in chain)


# -- formula injection --------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
HARMLESS = ["-12.5", "+7", "Nguyễn", "a=b", " =1", "'=already"]


async def test_csv_export_neutralises_formulas_but_not_numbers(files: Harness) -> None:
    rows = [{"=cmd": text, "n": -5, "d": Decimal("-1.5")} for text in DANGEROUS + HARMLESS]
    await files.run({"rows": rows, "output": {"name": "out.csv"}})
    written = csv_rows(await files.get("out.csv"))
    assert written[0] == ["'=cmd", "n", "d"]
    assert [row[0] for row in written[1:]] == ["'" + text for text in DANGEROUS] + HARMLESS
    assert all(row[1:] == ["-5", "-1.5"] for row in written[1:])


async def test_xlsx_export_neutralises_formulas_but_not_numbers(files: Harness) -> None:
    rows = [{"v": text, "n": -5} for text in DANGEROUS + HARMLESS]
    await files.run({"rows": rows, "output": {"name": "out.xlsx"}})
    sheet = load_workbook(io.BytesIO(await files.get("out.xlsx")))["Sheet1"]
    values = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    expected = ["'" + text for text in DANGEROUS] + HARMLESS
    # XML turns a lone carriage return into a line feed when read back.
    assert [value for value, _ in values] == [text.replace("\r", "\n") for text in expected]
    assert all(number == -5 for _, number in values)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


async def test_neutralising_can_be_turned_off_and_text_stays_text(files: Harness) -> None:
    rows = [{"v": "=1+1"}, {"v": "@x"}]
    await files.run({"rows": rows, "output": {"name": "out.xlsx", "neutralise_formulas": False}})
    await files.run({"rows": rows, "output": {"name": "out.csv", "neutralise_formulas": False}})
    sheet = load_workbook(io.BytesIO(await files.get("out.xlsx")))["Sheet1"]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert csv_rows(await files.get("out.csv"))[1:] == [["=1+1"], ["@x"]]


async def test_json_lines_are_never_neutralised(files: Harness) -> None:
    await files.run({"rows": [{"v": "=1+1"}], "output": {"name": "out.jsonl"}})
    assert await files.get("out.jsonl") == b'{"v": "=1+1"}\n'


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape.csv", "/etc/passwd", "a/../../b.csv"])
def test_names_leaving_the_execution_are_refused_by_the_config(name: str) -> None:
    with pytest.raises(ValueError, match=r"\.\.|absolute"):
        FilesConfig.model_validate({"input": {"file": name, "format": "csv"}})
    with pytest.raises(ValueError, match=r"\.\.|absolute"):
        FilesConfig.model_validate({"rows": [], "output": {"name": name, "format": "csv"}})


@pytest.mark.parametrize("name", ["../escape.csv", "x/../../y.csv"])
async def test_names_leaving_the_execution_are_final_errors_at_run_time(
    files: Harness, name: str
) -> None:
    # A name rendered from data at run time bypasses nothing: the storage refuses it too.
    valid = FilesConfig.model_validate({"input": {"file": "a.csv"}})
    assert valid.input is not None
    sneaky = valid.model_copy(update={"input": valid.input.model_copy(update={"file": name})})
    with pytest.raises(FinalError, match=r"input.file: .*'\.\.'"):
        await files.executor.run(files.ctx, sneaky)
    output = FilesConfig.model_validate({"rows": [{"a": 1}], "output": {"name": "o.csv"}})
    assert output.output is not None
    bad = output.model_copy(update={"output": output.output.model_copy(update={"name": name})})
    with pytest.raises(FinalError, match=r"output.name: .*'\.\.'"):
        await files.executor.run(files.ctx, bad)


async def test_a_missing_input_file_is_a_final_error(files: Harness) -> None:
    with pytest.raises(FinalError, match=r"file 'sftp/nothing\.csv' not found in this execution"):
        await files.run({"input": {"file": "sftp/nothing.csv"}})


async def test_csv_with_a_huge_field_is_a_final_error(files: Harness) -> None:
    await files.put("in.csv", csv_bytes([["a"], ["x" * 200_000]]))
    with pytest.raises(FinalError, match="row 2: field larger than field limit"):
        await files.run({"input": {"file": "in.csv"}})
