"""The ``database`` config: DSN normalisation, what may be combined, targets; Oracle's
wiring, which needs no server to check."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from vecron.plugin.manager import build_registry, get_plugin_manager
from vecron_database import DatabaseConfig, DatabaseExecutor
from vecron_database.dialects import MySQL, Oracle, PostgreSQL, SQLite, dialect_of
from vecron_database.dsn import database_url, server_of

SECRET = "Pa55-w0rd-xyz"


def config(**fields: Any) -> DatabaseConfig:
    return DatabaseConfig.model_validate({"dsn": "sqlite:///x.db", "sql": "SELECT 1", **fields})


def invalid(**fields: Any) -> str:
    with pytest.raises(pydantic.ValidationError) as caught:
        config(**fields)
    return str(caught.value)


@pytest.mark.parametrize(
    ("dsn", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
        ("mysql://u@h/db", "mysql+aiomysql"),
        ("mariadb://u@h/db", "mysql+aiomysql"),
        ("mysql+aiomysql://u@h/db", "mysql+aiomysql"),
        ("sqlite:///rel.db", "sqlite+aiosqlite"),
        ("sqlite:////abs/x.db", "sqlite+aiosqlite"),
        ("oracle://u@h:1521/?service_name=ORCL", "oracle+oracledb"),
        ("oracle+oracledb://u@h/XE", "oracle+oracledb"),
    ],
)
def test_dsn_maps_to_the_async_driver(dsn: str, driver: str) -> None:
    assert database_url(dsn).drivername == driver


def test_mysql_gets_a_full_unicode_charset_unless_given() -> None:
    assert database_url("mysql://u@h/db").query["charset"] == "utf8mb4"
    assert database_url("mysql://u@h/db?charset=latin1").query["charset"] == "latin1"


@pytest.mark.parametrize(
    ("dsn", "words"),
    [
        (f"postgresql+psycopg2://u:{SECRET}@h/db", "driver 'psycopg2' is not supported"),
        (f"mysql+pymysql://u:{SECRET}@h/db", "driver 'pymysql' is not supported"),
        (f"oracle+cx_oracle://u:{SECRET}@h/db", "driver 'cx_oracle' is not supported"),
        (f"mssql://u:{SECRET}@h/db", "unsupported database 'mssql'"),
        (f"postgresql://u:{SECRET}@/db", "needs a host"),
        (f"not a url {SECRET}", "not a database URL"),
    ],
)
def test_bad_dsn_is_named_and_never_shown(dsn: str, words: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        config(dsn=dsn)
    message = str(caught.value)
    assert words in message
    assert caught.value.errors()[0]["loc"] == ("dsn",)
    assert SECRET not in message


def test_password_field_replaces_the_dsn_password() -> None:
    cfg = config(dsn="postgresql://app:old@db/sales", password="n3w:p@ss/word")
    assert cfg.url().password == "n3w:p@ss/word"
    assert "n3w" not in repr(cfg)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"sql": None}, "exactly one of sql and procedure"),
        ({"procedure": {"name": "p"}}, "exactly one of sql and procedure"),
        ({"sql": None, "procedure": {"name": "p"}}, "SQLite has no stored procedures"),
        ({"rows": [], "rows_from": "a.csv"}, "at most one of rows and rows_from"),
        ({"rows": [], "multiple_statements": True}, "drop multiple_statements"),
        ({"rows_from": "a.txt"}, ".jsonl, .ndjson, .csv"),
        ({"rows_from": "../a.csv"}, "'..'"),
        ({"rows_from": "/etc/a.csv"}, "relative"),
        ({"params": {"bad name": 1}}, "not a parameter name"),
        ({"types": {"x": "money"}}, "types.x"),
        ({"max_rows": 0}, "max_rows"),
        ({"max_rows": 100_001}, "max_rows"),
        ({"statement_timeout": 0}, "statement_timeout"),
        ({"sql": {"text": "SELECT :p0", "params": {"p0": 1}}, "params": {"p0": 2}}, "params.p0"),
        ({"id": "x"}, "Extra inputs"),
    ],
)
def test_invalid_combinations(fields: dict[str, Any], words: str) -> None:
    assert words in invalid(**fields)


def test_procedure_with_params_is_refused() -> None:
    message = invalid(dsn="postgresql://u@h/db", sql=None, procedure={"name": "p"}, params={"a": 1})
    assert "procedure's values in its args" in message


@pytest.mark.parametrize(
    "name",
    ["p; DROP TABLE t", "1abc", "a.b.c.d", "name()", "a..b", "", "a b", "x'--"],
)
def test_procedure_name_must_be_an_identifier(name: str) -> None:
    message = invalid(dsn="postgresql://u@h/db", sql=None, procedure={"name": name})
    assert "procedure.name" in message


@pytest.mark.parametrize("name", ["calc", "sales.calc", "db.sales.calc", "pkg_1.do$it"])
def test_procedure_names_accepted(name: str) -> None:
    cfg = config(dsn="postgresql://u@h/db", sql=None, procedure={"name": name})
    assert cfg.procedure is not None and cfg.procedure.name == name


@pytest.mark.parametrize(
    ("dsn", "target"),
    [
        (
            f"postgresql://app:{SECRET}@db.example.com/sales",
            "postgresql://db.example.com:5432/sales",
        ),
        (f"postgres://app:{SECRET}@db:6543/sales", "postgresql://db:6543/sales"),
        (f"mysql://root:{SECRET}@10.0.0.5/shop", "mysql://10.0.0.5:3306/shop"),
        (f"mariadb://root:{SECRET}@[::1]:3307/shop", "mysql://[::1]:3307/shop"),
        ("sqlite:////var/data/app.db", "sqlite:////var/data/app.db"),
        (f"oracle://scott:{SECRET}@ora:1522/?service_name=ORCL", "oracle://ora:1522/ORCL"),
        (f"oracle://scott:{SECRET}@ora/XE", "oracle://ora:1521/XE"),
    ],
)
def test_target_is_the_server_without_credentials(dsn: str, target: str) -> None:
    executor = DatabaseExecutor()
    assert executor.target(config(dsn=dsn)) == target
    assert server_of(database_url(dsn)) == target


@pytest.mark.parametrize(
    ("dialect", "kind", "sql"),
    [
        (PostgreSQL(), "procedure", "CALL s.p(:a0, :a1)"),
        (PostgreSQL(), "function", "SELECT * FROM s.p(:a0, :a1)"),
        (MySQL(), "procedure", "CALL s.p(:a0, :a1)"),
        (MySQL(), "function", "SELECT s.p(:a0, :a1) AS result"),
        (Oracle(), "procedure", "BEGIN s.p(:a0, :a1); END;"),
        (Oracle(), "function", "SELECT s.p(:a0, :a1) AS result FROM dual"),
    ],
)
def test_procedure_sql_per_dialect(dialect: Any, kind: str, sql: str) -> None:
    assert dialect.procedure_sql("s.p", 2, kind) == sql


def test_procedure_without_arguments() -> None:
    assert PostgreSQL().procedure_sql("p", 0, "procedure") == "CALL p()"
    assert Oracle().procedure_sql("p", 0, "function") == "SELECT p() AS result FROM dual"


async def test_oracle_is_wired() -> None:
    url = database_url("oracle://scott:tiger@ora:1521/?service_name=ORCL")
    assert isinstance(dialect_of(url), Oracle)
    engine = await DatabaseExecutor().engines.get(url)  # no connection is made yet
    try:
        assert engine.dialect.driver == "oracledb"
        assert engine.dialect.is_async  # python-oracledb in asyncio mode
    finally:
        await engine.dispose()
    oracle = Oracle()
    assert oracle.statement("SELECT 1 FROM dual;") == "SELECT 1 FROM dual"
    assert oracle.statement("BEGIN p(:a0); END;") == "BEGIN p(:a0); END;"
    assert oracle.verdict("ORA-00060") == "retryable"  # deadlock
    assert oracle.verdict("DPY-6005") == "retryable"  # cannot connect
    assert oracle.verdict("ORA-01017") == "final"  # invalid username/password
    assert oracle.verdict("DPY-4024") == "timeout"  # call timeout


@pytest.mark.parametrize(
    ("dialect", "code", "verdict"),
    [
        (PostgreSQL(), "57014", "timeout"),
        (PostgreSQL(), "40P01", "retryable"),
        (PostgreSQL(), "40001", "retryable"),
        (PostgreSQL(), "08006", "retryable"),
        (PostgreSQL(), "57P01", "retryable"),
        (PostgreSQL(), "28P01", "final"),
        (PostgreSQL(), "23505", "final"),
        (PostgreSQL(), "42601", "final"),
        (MySQL(), "1213", "retryable"),
        (MySQL(), "2013", "retryable"),
        (MySQL(), "1969", "timeout"),
        (MySQL(), "3024", "timeout"),
        (MySQL(), "1045", "final"),
        (MySQL(), "1062", "final"),
        (SQLite(), "SQLITE_BUSY", "retryable"),
        (SQLite(), "SQLITE_CONSTRAINT_UNIQUE", "final"),
    ],
)
def test_error_codes(dialect: Any, code: str, verdict: str) -> None:
    assert dialect.verdict(code) == verdict


def test_the_plugin_registers_the_database_step() -> None:
    registry = build_registry(get_plugin_manager())
    assert registry.executor("database") is DatabaseExecutor
    assert DatabaseExecutor.sql_fields == frozenset({"sql"})
