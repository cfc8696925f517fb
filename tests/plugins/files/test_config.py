"""The ``files`` step's configuration: what validates, what is refused and why."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from vecron.plugin.manager import build_registry, get_plugin_manager
from vecron_files import FilesConfig, FilesExecutor

from .support import Harness


def validate(document: dict[str, Any]) -> FilesConfig:
    return FilesConfig.model_validate(document)


def refused(document: dict[str, Any]) -> str:
    with pytest.raises(pydantic.ValidationError) as caught:
        FilesConfig.model_validate(document)
    return str(caught.value)


def test_the_plugin_registers_the_files_step() -> None:
    registry = build_registry(get_plugin_manager())
    assert registry.executors["files"] is FilesExecutor


def test_defaults() -> None:
    config = validate({"input": {"file": "sftp/report.csv"}, "output": {"name": "out.xlsx"}})
    assert config.input is not None and config.output is not None
    assert config.input.resolved_format == "csv"
    assert (config.input.delimiter, config.input.quotechar) == (",", '"')
    assert config.input.encoding == "utf-8-sig" and config.input.header_row == 1
    assert config.input.sheet is None
    assert config.output.resolved_format == "xlsx"
    assert config.output.encoding == "utf-8" and config.output.sheet_name == "Sheet1"
    assert config.output.neutralise_formulas is True
    assert config.max_rows_in_output == 100
    assert config.transform.columns is None and config.transform.types == {}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.CSV", "csv"),
        ("b.xlsx", "xlsx"),
        ("c.xlsm", "xlsx"),
        ("d.jsonl", "jsonl"),
        ("e.ndjson", "jsonl"),
    ],
)
def test_the_format_comes_from_the_extension(name: str, fmt: str) -> None:
    config = validate({"input": {"file": name}})
    assert config.input is not None and config.input.resolved_format == fmt


def test_an_unknown_extension_needs_a_format() -> None:
    assert "input.format: cannot tell the format of 'data.txt'" in refused(
        {"input": {"file": "data.txt"}}
    )
    assert "output.format" in refused({"rows": [], "output": {"name": "out"}})
    config = validate({"input": {"file": "data.txt", "format": "csv"}})
    assert config.input is not None and config.input.resolved_format == "csv"


def test_exactly_one_of_input_and_rows() -> None:
    assert "exactly one of input and rows" in refused({})
    assert "exactly one of input and rows" in refused(
        {"input": {"file": "a.csv"}, "rows": [{"a": 1}]}
    )


def test_every_sheet_cannot_go_to_a_single_table_format() -> None:
    message = refused({"input": {"file": "a.xlsx"}, "output": {"name": "b.csv"}})
    assert "set input.sheet" in message
    assert "set input.sheet" in refused(
        {"input": {"file": "a.xlsx"}, "output": {"name": "b.jsonl"}}
    )
    validate({"input": {"file": "a.xlsx", "sheet": 0}, "output": {"name": "b.csv"}})
    validate({"input": {"file": "a.xlsx"}, "output": {"name": "b.xlsx"}})


@pytest.mark.parametrize("delimiter", [",,", "", "\n", "\r"])
def test_a_delimiter_is_one_character_and_no_line_break(delimiter: str) -> None:
    assert "delimiter" in refused({"input": {"file": "a.csv", "delimiter": delimiter}})


@pytest.mark.parametrize(("given", "tab"), [("\t", "\t"), ("\\t", "\t"), ("tab", "\t")])
def test_tab_can_be_written_three_ways(given: str, tab: str) -> None:
    config = validate({"input": {"file": "a.csv", "delimiter": given}})
    assert config.input is not None and config.input.delimiter == tab


def test_delimiter_and_quote_must_differ() -> None:
    assert "must differ" in refused(
        {"input": {"file": "a.csv", "delimiter": "'", "quotechar": "'"}}
    )


@pytest.mark.parametrize("encoding", ["klingon", "base64", "rot13"])
def test_an_encoding_must_be_a_known_text_encoding(encoding: str) -> None:
    assert encoding in refused({"input": {"file": "a.csv", "encoding": encoding}})
    assert encoding in refused({"rows": [], "output": {"name": "a.csv", "encoding": encoding}})


@pytest.mark.parametrize("title", ["", "x" * 32, "a/b", "a[1]", "what?"])
def test_a_sheet_name_must_suit_excel(title: str) -> None:
    assert "sheet name" in refused({"rows": [], "output": {"name": "a.xlsx", "sheet_name": title}})


def test_types_accept_a_shorthand_and_formats_only_for_times() -> None:
    config = validate(
        {
            "rows": [],
            "transform": {"types": {"a": "int", "b": {"type": "date", "format": "%d/%m/%Y"}}},
        }
    )
    assert config.transform.types["a"].type == "int"
    assert config.transform.types["b"].format == "%d/%m/%Y"
    assert "format applies to date and datetime" in refused(
        {"rows": [], "transform": {"types": {"a": {"type": "int", "format": "%d"}}}}
    )
    assert "types" in refused({"rows": [], "transform": {"types": {"a": "money"}}})


def test_columns_targets_must_be_distinct() -> None:
    assert "used twice: ['x']" in refused(
        {"rows": [], "transform": {"columns": {"a": "x", "b": "x"}}}
    )


def test_max_rows_in_output_is_capped() -> None:
    assert "max_rows_in_output" in refused({"rows": [], "max_rows_in_output": 10_001})
    assert "max_rows_in_output" in refused({"rows": [], "max_rows_in_output": -1})


def test_templated_names_are_checked_once_rendered() -> None:
    # The worker validates the rendered config again; at apply time the name is a template.
    config = validate({"input": {"file": "{{ steps.fetch.output.files[0].name }}"}})
    assert config.input is not None and config.input.resolved_format is None


def test_the_schema_names_every_field() -> None:
    schema = FilesConfig.model_json_schema()
    assert {"input", "rows", "transform", "output", "max_rows_in_output"} <= set(
        schema["properties"]
    )


async def test_inline_rows_with_a_mapping_and_no_rows_give_the_header(files: Harness) -> None:
    # `rows: "{{ steps.query.output.rows }}"` may be empty: that is not an error.
    result = await files.run(
        {
            "rows": [],
            "transform": {"columns": {"id": "ma"}, "types": {"ma": "int"}},
            "output": {"name": "out.csv"},
        }
    )
    assert result["columns"] == ["ma"] and result["row_count"] == 0
    assert await files.get("out.csv") == b"ma\r\n"


async def test_json_rows_without_a_key_read_it_as_null(files: Harness) -> None:
    await files.put("in.jsonl", b'{"a": 1}\n\n{"a": 2, "b": "x"}\n')
    result = await files.run(
        {"input": {"file": "in.jsonl"}, "transform": {"columns": {"a": "a", "c": "c"}}}
    )
    assert result["rows"] == [{"a": 1, "c": None}, {"a": 2, "c": None}]
    plain = await files.run({"input": {"file": "in.jsonl"}})
    assert plain["columns"] == ["a", "b"]
    assert plain["rows"] == [{"a": 1, "b": None}, {"a": 2, "b": "x"}]


@pytest.mark.parametrize(
    ("line", "message"),
    [(b"[1, 2]", "a JSON object is expected"), (b"{oops", "line 2"), (b'{"a": NaN}', "NaN")],
)
async def test_bad_json_lines_are_final_errors(files: Harness, line: bytes, message: str) -> None:
    from vecron.errors import FinalError

    await files.put("in.jsonl", b'{"a": 1}\n' + line + b"\n")
    with pytest.raises(FinalError, match=message):
        await files.run({"input": {"file": "in.jsonl"}})


async def test_no_storage_is_a_final_error() -> None:
    from vecron.errors import FinalError
    from vecron.testing.step_contexts import make_step_context

    config = validate({"input": {"file": "a.csv"}})
    with pytest.raises(FinalError, match="needs object storage"):
        await FilesExecutor().run(make_step_context(None), config)
    # Inline rows and no output need no storage at all.
    result = await FilesExecutor().run(make_step_context(None), validate({"rows": [{"a": 1}]}))
    assert result["rows"] == [{"a": 1}] and result["file"] is None
