"""Failures on each backend: final or retryable, one line naming the server, never the
password or a bound value; statement timeouts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from vecron.errors import FinalError, RetryableError, StepError
from vecron.jobs.masking import MASK
from vecron.plugin.executor import StepContext
from vecron.testing import make_step_context
from vecron_database import DatabaseConfig, DatabaseExecutor

from .conftest import MARIADB, Backend

PASSWORD = "pw-Zq8!never-shown"
SECRET_VALUE = "value-7f3c-never-shown"


async def fail(executor: DatabaseExecutor, ctx: StepContext, dsn: str, **config: Any) -> StepError:
    with pytest.raises(StepError) as caught:
        await executor.run(ctx, DatabaseConfig.model_validate({"dsn": dsn, **config}))
    message = caught.value.message
    assert "\n" not in message
    assert PASSWORD not in message and SECRET_VALUE not in message
    return caught.value


def with_password(dsn: str) -> str:
    url = make_url(dsn)
    return url.set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELEC 1", "SELEC"),
        ("SELECT * FROM no_such_table_zz", "no_such_table_zz"),
    ],
)
async def test_bad_sql_is_final_and_says_why(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend, sql: str, words: str
) -> None:
    error = await fail(executor, ctx, backend.dsn, sql=sql)
    assert isinstance(error, FinalError)
    assert words in error.message
    assert error.message.startswith(backend.name.replace("mariadb", "mysql") + "://")


async def test_constraint_violation_is_final_and_shows_no_value(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create(columns="v VARCHAR(200) PRIMARY KEY")
    await backend.execute(f"INSERT INTO {table} VALUES ('{SECRET_VALUE}')")
    error = await fail(
        executor,
        ctx,
        backend.dsn,
        sql=f"INSERT INTO {table} VALUES (:v)",
        params={"v": SECRET_VALUE},
    )
    assert isinstance(error, FinalError)
    assert (
        "***" in error.message or "duplicate" in error.message.lower() or "UNIQUE" in error.message
    )


async def test_a_refused_value_is_not_shown(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    # asyncpg and MariaDB quote the value they refuse; SQLite needs a CHECK to refuse it.
    check = " CHECK (typeof(n) = 'integer')" if backend.name == "sqlite" else ""
    table = await backend.create(columns=f"n INTEGER NOT NULL{check}")
    error = await fail(
        executor,
        ctx,
        backend.dsn,
        sql=f"INSERT INTO {table} VALUES (:v)",
        params={"v": SECRET_VALUE},
    )
    assert isinstance(error, FinalError)


async def test_missing_parameter_is_final_before_connecting(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    error = await fail(executor, ctx, backend.dsn, sql="SELECT :a AS a, :b AS b", params={"a": 1})
    assert isinstance(error, FinalError)
    assert ":b" in error.message
    assert len(executor.engines) == 0


async def test_statement_timeout(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    error = await fail(executor, ctx, backend.dsn, sql=backend.slow_sql, statement_timeout=0.5)
    assert error.retryable
    assert "timed out after 0.5 s" in error.message
    # The pool's connection is usable again: the statement was stopped, not abandoned.
    out = await executor.run(
        ctx, DatabaseConfig.model_validate({"dsn": backend.dsn, "sql": "SELECT 1 AS one"})
    )
    assert out["rows"] == [{"one": 1}]


async def test_lock_conflict_is_retryable(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    await backend.execute(f"INSERT INTO {table} VALUES (1, 'a')")
    async with backend.engine.connect() as holder:
        # Another session holds a write lock on the row (SQLite: on the database).
        await holder.begin()
        await holder.execute(text(f"UPDATE {table} SET v = 'held' WHERE id = 1"))
        dsn, sql = backend.dsn, f"SELECT * FROM {table} WHERE id = 1 FOR UPDATE NOWAIT"
        if backend.name == "sqlite":
            dsn, sql = f"{backend.dsn}?timeout=0.05", f"UPDATE {table} SET v = 'b'"
        error = await fail(executor, ctx, dsn, sql=sql)
        await holder.rollback()
    assert isinstance(error, RetryableError), error.message


async def test_connection_refused_is_retryable_and_hides_the_password(
    executor: DatabaseExecutor, ctx: StepContext
) -> None:
    for dsn in (
        f"postgresql://app:{PASSWORD}@127.0.0.1:1/sales",
        f"mysql://app:{PASSWORD}@127.0.0.1:1/sales",
    ):
        error = await fail(executor, ctx, dsn, sql="SELECT 1")
        assert isinstance(error, RetryableError)
        assert "127.0.0.1:1" in error.message


async def test_wrong_password_is_final_and_never_shown(
    executor: DatabaseExecutor, ctx: StepContext
) -> None:
    error = await fail(executor, ctx, with_password(MARIADB), sql="SELECT 1")
    assert isinstance(error, FinalError)
    assert "Access denied" in error.message
    # Given in its own field, the password is hidden just the same.
    error = await fail(executor, ctx, MARIADB, password=PASSWORD, sql="SELECT 1")
    assert isinstance(error, FinalError)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_execution_secret_is_masked_before_the_message_is_cut(
    executor: DatabaseExecutor, backend: Backend
) -> None:
    # Not a bound value: only the execution's secrets name it. The message quotes the
    # table name and is cut at 500 characters, in the middle of the secret.
    secret = "tbl_secret_" + "q" * 30
    ctx = make_step_context(secrets=frozenset({secret}))
    error = await fail(executor, ctx, backend.dsn, sql=f'SELECT * FROM "{"t" * 470}{secret}"')
    assert f"no such table: {'t' * 470}{MASK}" in error.message
    assert "tbl_secret" not in error.message


async def test_unknown_database_is_final(executor: DatabaseExecutor, ctx: StepContext) -> None:
    dsn = make_url(MARIADB).set(database="no_such_db_zz").render_as_string(hide_password=False)
    error = await fail(executor, ctx, dsn, sql="SELECT 1")
    assert isinstance(error, FinalError)
    assert "no_such_db_zz" in error.message


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"], indirect=True)
async def test_a_pooled_connection_the_server_closed_is_replaced(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    step = {"dsn": backend.dsn, "sql": "SELECT 1 AS one"}
    await executor.run(ctx, DatabaseConfig.model_validate(step))
    if backend.name == "postgresql":
        kill = (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await backend.execute(kill)
    else:
        ids = await backend.fetch(
            "SELECT id FROM information_schema.processlist "
            "WHERE id <> CONNECTION_ID() AND db = 'test' AND command = 'Sleep'"
        )
        for (thread,) in ids:
            await backend.execute(f"KILL CONNECTION {int(thread)}")
    assert (await executor.run(ctx, DatabaseConfig.model_validate(step)))["rows"] == [{"one": 1}]


async def running_copies(backend: Backend, sql: str) -> int:
    if backend.name == "postgresql":
        query = "SELECT count(*) FROM pg_stat_activity WHERE query = :q AND state = 'active'"
    else:
        query = "SELECT count(*) FROM information_schema.processlist WHERE info = :q"
    return int((await backend.fetch(query, {"q": sql}))[0][0])


async def test_cancelled_statement_leaves_nothing_running(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    task = asyncio.create_task(
        executor.run(
            ctx, DatabaseConfig.model_validate({"dsn": backend.dsn, "sql": backend.slow_sql})
        )
    )
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    if backend.name != "sqlite":
        # The server stops it (asyncpg's cancel request, MariaDB's KILL QUERY).
        for _ in range(50):
            if await running_copies(backend, backend.slow_sql) == 0:
                break
            await asyncio.sleep(0.1)
        assert await running_copies(backend, backend.slow_sql) == 0
    out = await executor.run(
        ctx, DatabaseConfig.model_validate({"dsn": backend.dsn, "sql": "SELECT 2 AS two"})
    )
    assert out["rows"] == [{"two": 2}]


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"], indirect=True)
async def test_a_timeout_does_not_outlive_its_step_on_the_pooled_connection(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    if backend.name == "postgresql":
        query = "SELECT current_setting('statement_timeout') AS t"
        expected = ("2s", "0")
    else:
        query = "SELECT @@SESSION.max_statement_time AS t"
        expected = (2.0, 0.0)
    step = {"dsn": backend.dsn, "sql": query}
    inside = await executor.run(
        ctx, DatabaseConfig.model_validate({**step, "statement_timeout": 2})
    )
    after = await executor.run(ctx, DatabaseConfig.model_validate(step))
    assert (inside["rows"][0]["t"], after["rows"][0]["t"]) == expected
