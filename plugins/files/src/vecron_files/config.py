"""The ``files`` step's configuration: one pydantic model, the single source of truth (S4.5)."""

from __future__ import annotations

import codecs
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from vecron import ExecutorConfig, TypeName, ValidationError, check_key, is_template

Format = Literal["csv", "xlsx", "jsonl"]

GIB = 1024**3
#: Most rows a step may put inline in its output: the Job Context must stay small.
MAX_INLINE_ROWS = 10_000

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: What Excel refuses in a sheet title.
_BAD_SHEET_TITLE = re.compile(r"[\\/*?:\[\]]")


def format_of(name: str, given: Format | None) -> Format | None:
    """``given``, else the format the file name's extension says; None when it says none."""
    if given is not None:
        return given
    lowered = name.lower()
    return next((fmt for ext, fmt in _EXTENSIONS.items() if lowered.endswith(ext)), None)


def _file_name(value: str) -> str:
    if is_template(value):  # checked by the worker once it is rendered
        return value
    try:
        return check_key(value, field="name")
    except ValidationError as error:
        raise ValueError(error.message) from None


def _one_char(value: str, what: str) -> str:
    # YAML users write '\t' in single quotes, which is a backslash and a t.
    value = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if len(value) != 1:
        raise ValueError(f"the {what} must be exactly one character, not {value!r}")
    if value in "\r\n":
        raise ValueError(f"the {what} cannot be a line break")
    return value


def _encoding(value: str) -> str:
    try:
        info = codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown encoding {value!r}") from None
    # base64, rot13, zlib… are codecs but not text encodings.
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"{value!r} is not a text encoding")
    return value


#: A name in the execution's files: a safe relative key.
FileName = Annotated[str, AfterValidator(_file_name)]
#: A text encoding Python knows.
Encoding = Annotated[str, AfterValidator(_encoding)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _CsvDialect(_Model):
    delimiter: str = Field(
        ",", description="CSV field separator: one character (`,` `;` `|`, `\\t` for tab, …)."
    )
    quotechar: str = Field('"', description="CSV quote character: one character.")

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        return _one_char(value, "delimiter")

    @field_validator("quotechar")
    @classmethod
    def _quotechar(cls, value: str) -> str:
        return _one_char(value, "quote character")

    @model_validator(mode="after")
    def _distinct(self) -> _CsvDialect:
        if self.delimiter == self.quotechar:
            raise ValueError("the delimiter and the quote character must differ")
        return self


class InputFile(_CsvDialect):
    """The file a step reads, from the execution's files (e.g. one an ``sftp`` step fetched)."""

    file: FileName = Field(description="Name in the execution's files, e.g. `sftp/report.xlsx`.")
    format: Format | None = Field(
        None, description="`csv`, `xlsx` or `jsonl`; None: from the file name's extension."
    )
    sheet: str | int | None = Field(
        None,
        description="XLSX: a sheet name, or a 0-based index; None reads every sheet.",
    )
    header_row: int = Field(
        1,
        ge=0,
        description="Row (1-based) holding the column names; rows above it are skipped. "
        "0: no header, columns are named column_1, column_2, …",
    )
    encoding: Encoding = Field(
        "utf-8-sig",
        description="CSV/JSONL text encoding; the default reads UTF-8 with or without a BOM.",
    )
    normalize_nfc: bool | None = Field(
        None,
        description="Normalise text to Unicode NFC. None: only for cp1258, whose Vietnamese "
        "letters are stored decomposed.",
    )
    max_uncompressed_bytes: int = Field(
        GIB, gt=0, description="XLSX: refuse a workbook whose parts unpack to more bytes."
    )
    max_compression_ratio: float = Field(
        100.0,
        gt=1,
        description="XLSX: refuse a workbook with a part (over 1 MiB unpacked) packed tighter.",
    )
    max_zip_members: int = Field(10_000, gt=0, description="XLSX: refuse more parts than this.")

    @property
    def resolved_format(self) -> Format | None:
        return format_of(self.file, self.format)


class ColumnType(_Model):
    """The type a column's values are converted to; ``format`` is a strptime format."""

    type: TypeName = Field(description="int, decimal, float, date, datetime, bool or str.")
    format: str | None = Field(
        None, description="date/datetime only: a strptime format such as `%d/%m/%Y`."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `types: {amount: decimal}` reads better in YAML than a mapping per column.
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _format_for_times(self) -> ColumnType:
        if self.format is not None and self.type not in ("date", "datetime"):
            raise ValueError(f"format applies to date and datetime, not to {self.type}")
        return self


class Transform(_Model):
    """What happens to each row between reading and writing, in this order."""

    columns: dict[str, str] | None = Field(
        None,
        description="Source column → target name. When given, only these columns are kept, "
        "in this order.",
    )
    types: dict[str, ColumnType] = Field(
        default_factory=dict,
        description="Target column → type (int, decimal, float, date, datetime, bool, str).",
    )
    filter: str | None = Field(
        None,
        description="An expression over `row` (after renaming and conversion); rows for "
        "which it is false are dropped, e.g. `row.amount > 100 and row.city == 'Hà Nội'`.",
    )

    @field_validator("columns")
    @classmethod
    def _distinct_targets(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("columns must map at least one column")
        targets = list(value.values())
        twice = sorted({name for name in targets if targets.count(name) > 1})
        if twice:
            raise ValueError(f"target column names used twice: {twice}")
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the filter is empty")
        return value


class OutputFile(_CsvDialect):
    """The file a step writes into the execution's files."""

    name: FileName = Field(description="Name in the execution's files, e.g. `export/report.csv`.")
    format: Format | None = Field(
        None, description="`csv`, `xlsx` or `jsonl`; None: from the name's extension."
    )
    encoding: Encoding = Field("utf-8", description="CSV text encoding, e.g. utf-8-sig, cp1258.")
    sheet_name: str = Field(
        "Sheet1", description="XLSX: the sheet's title (all-sheet inputs keep their titles)."
    )
    neutralise_formulas: bool = Field(
        True,
        description="CSV/XLSX: prefix `'` to text starting with = + - @ tab or CR, so "
        "spreadsheets do not run it as a formula (numbers are never changed).",
    )

    @field_validator("sheet_name")
    @classmethod
    def _sheet_name(cls, value: str) -> str:
        if not 1 <= len(value) <= 31 or _BAD_SHEET_TITLE.search(value):
            raise ValueError(r"a sheet name has 1 to 31 characters, none of \ / * ? : [ ]")
        return value

    @property
    def resolved_format(self) -> Format | None:
        return format_of(self.name, self.format)


class FilesConfig(ExecutorConfig):
    """Read a table (a file or inline rows), transform its rows, write them to a file.

    Exactly one of ``input`` and ``rows``.
    """

    input: InputFile | None = Field(None, description="The file to read.")
    rows: list[dict[str, Any]] | None = Field(
        None, description="Inline rows instead of a file, e.g. `{{ steps.query.output.rows }}`."
    )
    transform: Transform = Field(
        default_factory=Transform, description="What happens to the rows between in and out."
    )
    output: OutputFile | None = Field(None, description="The file to write; None writes none.")
    max_rows_in_output: int = Field(
        100,
        ge=0,
        le=MAX_INLINE_ROWS,
        description="How many rows (per sheet) are also put in the step's output.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FilesConfig:
        if (self.input is None) == (self.rows is None):
            raise ValueError("give exactly one of input and rows")
        source, target = self.input, self.output
        for where, spec, name in (("input", source, "file"), ("output", target, "name")):
            path = getattr(spec, name, None)
            if spec is None or path is None or is_template(path):
                continue
            if spec.resolved_format is None:
                raise ValueError(
                    f"{where}.format: cannot tell the format of {path!r} from its name; "
                    "set csv, xlsx or jsonl"
                )
        if self.all_sheets and target is not None and target.resolved_format in ("csv", "jsonl"):
            raise ValueError(
                f"output.format {target.resolved_format} holds one table but input.sheet is "
                "unset (every sheet): set input.sheet to a sheet name or 0-based index"
            )
        return self

    @property
    def all_sheets(self) -> bool:
        """Every sheet of an XLSX input is read (and written, to an XLSX output)."""
        return (
            self.input is not None
            and self.input.resolved_format == "xlsx"
            and self.input.sheet is None
        )
