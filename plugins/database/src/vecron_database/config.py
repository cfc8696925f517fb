"""The ``database`` step's configuration: one pydantic model, the single source of truth (S4.5)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import URL

from vecron import BoundSql, ExecutorConfig, VecronError, check_key

from .dsn import database_url
from .values import ParamType

#: ``name``, ``schema.name`` or ``database.schema.name`` (Oracle: ``schema.package.name``).
PROCEDURE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}")
BIND_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The names the worker gives template values in ``sql``: ``p0``, ``p1``…
TEMPLATE_PARAM = re.compile(r"p\d+")
ROW_FORMATS = (".jsonl", ".ndjson", ".csv")
MAX_ROWS_LIMIT = 100_000


class Procedure(BaseModel):
    """A stored procedure or function called with bound arguments ``:a0``, ``:a1``…"""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str = Field(description="Dotted identifier: name, schema.name or db.schema.name.")
    args: list[Any] = Field(default_factory=list, description="Arguments, each bound.")
    kind: Literal["procedure", "function"] = Field(
        "procedure", description="A function's result is returned as the rows."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if PROCEDURE_NAME.fullmatch(value) is None:
            raise ValueError(
                "must be an identifier such as name or schema.name "
                "(letters, digits, _ and $; at most three parts)"
            )
        return value


class DatabaseConfig(ExecutorConfig):
    """One SQL statement (or a procedure call) in one transaction.

    Exactly one of ``sql`` and ``procedure``. ``rows`` / ``rows_from`` run ``sql`` once
    per row, in batches.
    """

    # A rejected input may be the DSN (with its password) or a value bound to the SQL.
    model_config = ConfigDict(hide_input_in_errors=True)

    dsn: SecretStr = Field(
        description="SQLAlchemy URL: postgresql://, mysql:// (or mariadb://), sqlite:///, "
        "oracle://. Masked everywhere."
    )
    password: SecretStr | None = Field(
        None, description="Replaces the URL's password (no percent-encoding needed)."
    )
    # Job documents hold SQL as text (BoundSql's schema says so); BoundSql is what the
    # worker makes of it.
    sql: BoundSql | None = Field(
        None,
        description="SQL text. {{ expressions }} become bound parameters; :name "
        "placeholders take their value from params (or from each row).",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Values of the :name placeholders in sql."
    )
    procedure: Procedure | None = Field(
        None, description="A stored procedure or function to call instead of sql."
    )
    rows: list[dict[str, Any]] | None = Field(
        None, description="Run sql once per row; a row's keys name its placeholders."
    )
    rows_from: str | None = Field(
        None, description="Like rows, read from a file of this execution (.jsonl or .csv)."
    )
    types: dict[str, ParamType] = Field(
        default_factory=dict,
        description="Convert named parameters (and row values) before binding them.",
    )
    max_rows: int = Field(
        1000, ge=1, le=MAX_ROWS_LIMIT, description="Rows returned at most; more sets truncated."
    )
    statement_timeout: float | None = Field(
        None, gt=0, le=86_400, description="Seconds one statement may run."
    )
    multiple_statements: bool = Field(
        False, description="Allow several ;-separated statements, run in one transaction."
    )

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, value: SecretStr) -> SecretStr:
        database_url(value.get_secret_value())  # raises ValueError without the URL in it
        return value

    @field_validator("params", "types")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if BIND_NAME.fullmatch(name) is None:
                raise ValueError(f"{name!r} is not a parameter name (letters, digits, _)")
        return value

    @field_validator("rows_from")
    @classmethod
    def _rows_from(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            check_key(value, field="rows_from")
        except VecronError as exc:
            raise ValueError(exc.message) from None
        if not value.lower().endswith(ROW_FORMATS):
            raise ValueError(f"must name a {', '.join(ROW_FORMATS)} file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DatabaseConfig:
        if (self.sql is None) == (self.procedure is None):
            raise ValueError("give exactly one of sql and procedure")
        if self.procedure is not None:
            if self.params:
                raise ValueError("params go with sql; pass a procedure's values in its args")
            if self.url().get_backend_name() == "sqlite":
                raise ValueError("SQLite has no stored procedures; use sql")
        if self.rows is not None and self.rows_from is not None:
            raise ValueError("give at most one of rows and rows_from")
        if self.batched and self.procedure is not None:
            raise ValueError("rows and rows_from go with sql, not with procedure")
        if self.batched and self.multiple_statements:
            raise ValueError("rows and rows_from run one statement; drop multiple_statements")
        if self.sql is not None:
            clash = sorted(set(self.params) & set(self.sql.params))
            if clash:
                raise ValueError(
                    f"params.{clash[0]}: the name is taken by a {{{{ }}}} value in sql "
                    "(the worker names those p0, p1…); rename the parameter"
                )
        return self

    @property
    def batched(self) -> bool:
        """Does the step run ``sql`` once per row?"""
        return self.rows is not None or self.rows_from is not None

    def url(self) -> URL:
        """The DSN on its async driver, with ``password`` applied."""
        password = None if self.password is None else self.password.get_secret_value()
        return database_url(self.dsn.get_secret_value(), password)
