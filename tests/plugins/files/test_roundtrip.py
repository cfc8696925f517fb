"""Round trips preserve data: XLSX → JSON → XLSX and CSV → JSON → CSV over random tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from .support import csv_bytes, csv_rows, run_steps, xlsx_bytes, xlsx_values

# Letters a Vietnamese table holds, plus the punctuation that stresses CSV quoting.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
VIETNAMESE = "ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
PUNCTUATION = " ,;|\"'.:/()-+=@#\t\n"

names = st.text(alphabet=LETTERS + VIETNAMESE + "_ ", min_size=1, max_size=12).map(
    lambda text: text.strip() or "cột"
)
# Text starting like a formula is covered by the neutralisation tests; here the export
# switches neutralising off, so such text must survive unchanged too.
texts = st.text(alphabet=LETTERS + VIETNAMESE + PUNCTUATION, max_size=30) | st.sampled_from(
    ["Nguyễn Văn Ánh, Đà Nẵng, phở", "Hà Nội", "=1+1", "-12", "0012", ""]
)
integers = st.integers(min_value=-(10**15), max_value=10**15)
decimals = st.decimals(
    min_value=Decimal("-1000000000"),
    max_value=Decimal("1000000000"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
KINDS = {"text": texts, "int": integers, "decimal": decimals}


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[str], list[list[Any]]]:
    """Unique column names, a kind per column, and rows of values of those kinds."""
    columns = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    kinds = [draw(st.sampled_from(list(KINDS))) for _ in columns]
    row = st.tuples(*(KINDS[kind] for kind in kinds)).map(list)
    rows = draw(st.lists(row, max_size=8))
    return columns, kinds, rows


def _types(columns: list[str], kinds: list[str]) -> dict[str, str]:
    return {column: kind for column, kind in zip(columns, kinds, strict=True) if kind != "text"}


def _csv_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


@settings(max_examples=40)
@given(tables())
def test_csv_to_json_to_csv_preserves_the_text(
    table: tuple[list[str], list[str], list[Any]],
) -> None:
    columns, kinds, rows = table
    original = [columns, *([_csv_text(value) for value in row] for row in rows)]
    outputs, stored = run_steps(
        {"in.csv": csv_bytes(original)},
        [
            {
                "input": {"file": "in.csv"},
                "transform": {"types": _types(columns, kinds)},
                "output": {"name": "mid.jsonl"},
                "max_rows_in_output": 100,
            },
            {
                "input": {"file": "mid.jsonl"},
                "output": {"name": "out.csv", "neutralise_formulas": False},
            },
        ],
    )
    # A row with no value at all is a blank line: readers skip those.
    kept = [row for row in original[1:] if any(row)]
    if not kept:
        # JSON lines have no header: with no row, the column names are gone.
        assert csv_rows(stored["out.csv"]) == []
        return
    assert csv_rows(stored["out.csv"]) == [columns, *kept]
    assert outputs[0]["row_count"] == len(kept)
    # The JSON rows hold the typed values: ints as numbers, decimals exactly, as text.
    for row, json_row in zip(kept, outputs[0]["rows"], strict=True):
        for column, kind, text in zip(columns, kinds, row, strict=True):
            value = json_row[column]
            if kind == "int":
                assert value == (int(text) if text else None)
            elif kind == "decimal":
                assert value == (text or None)
            else:
                assert value == text


def _xlsx_value(value: Any) -> Any:
    # Excel keeps numbers as binary floats; openpyxl reads whole ones back as int.
    if isinstance(value, Decimal):
        number = float(value)
        return int(number) if number.is_integer() else number
    return None if value == "" else value


@settings(max_examples=30)
@given(tables())
def test_xlsx_to_json_to_xlsx_preserves_the_values(
    table: tuple[list[str], list[str], list[Any]],
) -> None:
    columns, kinds, rows = table
    rows = [[None if value == "" else value for value in row] for row in rows]
    workbook = xlsx_bytes({"Dữ liệu": [columns, *rows]})
    types = {
        column: "decimal" for column, kind in zip(columns, kinds, strict=True) if kind == "decimal"
    }
    outputs, stored = run_steps(
        {"in.xlsx": workbook},
        [
            {
                "input": {"file": "in.xlsx", "sheet": "Dữ liệu"},
                "output": {"name": "mid.jsonl"},
            },
            {
                "input": {"file": "mid.jsonl"},
                "transform": {"types": types},
                "output": {
                    "name": "out.xlsx",
                    "sheet_name": "Dữ liệu",
                    "neutralise_formulas": False,
                },
            },
        ],
    )
    kept = [row for row in rows if any(value is not None for value in row)]
    expected = [tuple(columns), *(tuple(_xlsx_value(v) for v in row) for row in kept)]
    assert outputs[1]["row_count"] == len(kept)
    if not kept:
        # JSON lines have no header: with no row, the column names are gone.
        assert xlsx_values(stored["out.xlsx"]) == {"Dữ liệu": []}
        return
    assert xlsx_values(stored["out.xlsx"]) == {"Dữ liệu": expected}


@settings(max_examples=25)
@given(tables())
def test_xlsx_rows_in_the_step_output_rebuild_the_workbook(
    table: tuple[list[str], list[str], list[Any]],
) -> None:
    # The template path: a later step writes `rows: "{{ steps.read.output.rows }}"`.
    columns, kinds, rows = table
    rows = [[None if value == "" else value for value in row] for row in rows]
    workbook = xlsx_bytes({"Sheet1": [columns, *rows]})
    outputs, _ = run_steps({"in.xlsx": workbook}, [{"input": {"file": "in.xlsx", "sheet": 0}}])
    kept = [row for row in rows if any(value is not None for value in row)]
    if not kept:
        assert outputs[0]["rows"] == []
        return
    types = {
        column: "decimal" for column, kind in zip(columns, kinds, strict=True) if kind == "decimal"
    }
    _, stored = run_steps(
        {},
        [
            {
                "rows": outputs[0]["rows"],
                "transform": {"types": types},
                "output": {"name": "out.xlsx", "neutralise_formulas": False},
            }
        ],
    )
    expected = [tuple(columns), *(tuple(_xlsx_value(v) for v in row) for row in kept)]
    assert xlsx_values(stored["out.xlsx"]) == {"Sheet1": expected}
