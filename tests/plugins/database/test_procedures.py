"""Stored procedures and functions, called with bound arguments."""

from __future__ import annotations

import pytest

from vecron.errors import FinalError
from vecron.plugin.executor import StepContext
from vecron_database import DatabaseConfig, DatabaseExecutor

from .conftest import Backend

EVIL = "'); DROP TABLE t; --"


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"], indirect=True)
async def test_procedure_runs_with_bound_arguments(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    name = backend.table("add_row")  # dropped as a table: the procedure is dropped below
    if backend.name == "postgresql":
        body = (
            f"CREATE PROCEDURE {name}(i INTEGER, s VARCHAR) LANGUAGE sql "
            f"AS $$ INSERT INTO {table} VALUES (i, s) $$"
        )
    else:
        body = (
            f"CREATE PROCEDURE {name}(IN i INTEGER, IN s VARCHAR(200)) "
            f"INSERT INTO {table} VALUES (i, s)"
        )
    await backend.execute(body)
    try:
        await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {"dsn": backend.dsn, "procedure": {"name": name, "args": [5, EVIL]}}
            ),
        )
        assert await backend.fetch(f"SELECT id, v FROM {table}") == [(5, EVIL)]
    finally:
        await backend.execute(f"DROP PROCEDURE {name}")


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"], indirect=True)
async def test_function_result_comes_back_as_rows(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    name = backend.table("twice")
    if backend.name == "postgresql":
        body = (
            f"CREATE FUNCTION {name}(x INTEGER) RETURNS INTEGER LANGUAGE sql AS $$ SELECT x * 2 $$"
        )
    else:
        body = f"CREATE FUNCTION {name}(x INTEGER) RETURNS INTEGER DETERMINISTIC RETURN x * 2"
    await backend.execute(body)
    try:
        out = await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {
                    "dsn": backend.dsn,
                    "procedure": {"name": name, "args": ["21"], "kind": "function"},
                    "types": {"a0": "int"},
                }
            ),
        )
        assert out["row_count"] == 1
        assert list(out["rows"][0].values()) == [42]
    finally:
        await backend.execute(f"DROP FUNCTION {name}")


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
async def test_procedure_result_set_is_returned(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    name = backend.table("listing")
    await backend.execute(f"CREATE PROCEDURE {name}(IN n INTEGER) SELECT n AS n, n + 1 AS m")
    try:
        out = await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {"dsn": backend.dsn, "procedure": {"name": name, "args": [1]}}
            ),
        )
        assert out["rows"] == [{"n": 1, "m": 2}]
        # The connection is clean for the next step (no result set left unread).
        again = await executor.run(
            ctx, DatabaseConfig.model_validate({"dsn": backend.dsn, "sql": "SELECT 3 AS x"})
        )
        assert again["rows"] == [{"x": 3}]
    finally:
        await backend.execute(f"DROP PROCEDURE {name}")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_unknown_procedure_is_final(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    with pytest.raises(FinalError, match="no_such_proc"):
        await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {"dsn": backend.dsn, "procedure": {"name": "no_such_proc"}}
            ),
        )
