"""Row files parsed a piece at a time: the cut between pieces never changes the rows."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecron.errors import FinalError
from vecron.plugin.executor import StepContext
from vecron_database.rows import CsvParser, JsonLinesParser, Parser, batches_from_file

CELLS = st.text(alphabet=st.sampled_from('ab,"\n é;'), max_size=8)  # a lone CR is no line end
TABLES = st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=8)


def parse_in_pieces(parser: Parser, text: str, cuts: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start = 0
    for cut in sorted(cuts):
        rows += parser.feed(text[start:cut])
        start = cut
    rows += parser.feed(text[start:])
    return rows + parser.finish()


def csv_text(records: list[list[str]], newline: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows([["a", "b", "c"], *records])
    return buffer.getvalue()


@settings(max_examples=50)
@given(TABLES, st.sampled_from(["\n", "\r\n"]), st.lists(st.integers(0, 400), max_size=6))
def test_csv_pieces_parse_like_the_whole(
    records: list[list[str]], newline: str, cuts: list[int]
) -> None:
    text = csv_text(records, newline)
    rows = parse_in_pieces(CsvParser("t.csv"), text, [c % (len(text) + 1) for c in cuts])
    expected = [
        dict(zip("abc", r, strict=True)) for r in csv.reader(io.StringIO(text, newline=""))
    ][1:]
    assert rows == [r for r in expected if r]


@settings(max_examples=50)
@given(
    st.lists(
        st.dictionaries(st.text(max_size=3), st.text(max_size=5) | st.integers(), max_size=3),
        max_size=6,
    ),
    st.lists(st.integers(0, 300), max_size=5),
)
def test_json_lines_pieces_parse_like_the_whole(
    rows: list[dict[str, Any]], cuts: list[int]
) -> None:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    parsed = parse_in_pieces(JsonLinesParser("t.jsonl"), text, [c % (len(text) + 1) for c in cuts])
    assert parsed == rows


def test_csv_last_line_may_lack_a_newline_and_blank_lines_are_skipped() -> None:
    parser = CsvParser("t.csv")
    assert parser.feed("a,b\n\n1,2\n3,") == [{"a": "1", "b": "2"}]
    assert parser.finish() == [{"a": "3", "b": ""}]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('a,b\n1,"open\n', "record 2"),
        ("a,a\n1,2\n", "column 'a' twice"),
        (",b\n1,2\n", "empty column name"),
    ],
)
def test_csv_errors(text: str, words: str) -> None:
    with pytest.raises(FinalError, match=words):
        parse_in_pieces(CsvParser("t.csv"), text, [])


async def test_a_file_with_a_byte_order_mark_in_batches(ctx: StepContext) -> None:
    assert ctx.files is not None
    body = "\ufeffid,name\n" + "".join(f"{i},n{i}\n" for i in range(1, 26))
    await ctx.files.write_bytes("in.csv", body.encode("utf-8"))
    batches = [b async for b in batches_from_file(ctx.files, "in.csv", size=10)]
    assert [(b.first, len(b.rows)) for b in batches] == [(1, 10), (11, 10), (21, 5)]
    assert batches[0].rows[0] == {"id": "1", "name": "n1"}
    assert batches[2].label == "rows 21-25"


async def test_an_unclosed_quote_cannot_fill_memory(
    ctx: StepContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vecron_database.rows.MAX_RECORD", 1000)
    assert ctx.files is not None
    await ctx.files.write_bytes("big.csv", b'a,b\n1,"' + b"x\n" * 5000)
    with pytest.raises(FinalError, match="without an end"):
        [b async for b in batches_from_file(ctx.files, "big.csv")]
