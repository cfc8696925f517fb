"""Queries and DML on each backend: rows as JSON, the row cap, row counts, bound values,
one transaction per step."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from vecron.errors import FinalError
from vecron.plugin.executor import StepContext
from vecron.templates import compile_sql
from vecron_database import DatabaseConfig, DatabaseExecutor

from .conftest import Backend

EVIL = "'; DROP TABLE t; --"


async def run(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend, **config: Any
) -> dict[str, Any]:
    return dict(
        await executor.run(ctx, DatabaseConfig.model_validate({"dsn": backend.dsn, **config}))
    )


async def test_select_returns_columns_and_rows_as_json(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create(
        columns="id INTEGER, v VARCHAR(50), amount DECIMAL(10,2), day DATE, note VARCHAR(10)"
    )
    await backend.execute(
        f"INSERT INTO {table} VALUES (1, 'a', 12.50, '2026-03-01', NULL), "
        "(2, 'b', 0.25, '2026-12-31', 'x')"
    )
    out = await run(executor, ctx, backend, sql=f"SELECT * FROM {table} ORDER BY id")
    json.dumps(out, allow_nan=False)
    assert out["columns"] == ["id", "v", "amount", "day", "note"]
    assert out["row_count"] == 2
    assert out["truncated"] is False
    first = out["rows"][0]
    assert (first["id"], first["v"], first["day"], first["note"]) == (1, "a", "2026-03-01", None)
    # PostgreSQL and MariaDB return Decimal (kept exact, as text); SQLite a float.
    assert first["amount"] == (12.5 if backend.name == "sqlite" else "12.50")


async def test_row_cap_stops_at_max_rows_and_says_truncated(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    await backend.execute(
        f"INSERT INTO {table} (id, v) VALUES (:id, 'x')",
        [{"id": i} for i in range(25)],  # type: ignore[arg-type]
    )
    query = f"SELECT id FROM {table} ORDER BY id"
    capped = await run(executor, ctx, backend, sql=query, max_rows=10)
    assert [row["id"] for row in capped["rows"]] == list(range(10))
    assert (capped["row_count"], capped["truncated"]) == (10, True)
    exact = await run(executor, ctx, backend, sql=query, max_rows=25)
    assert (exact["row_count"], exact["truncated"]) == (25, False)


async def test_dml_reports_affected_rows(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    await backend.execute(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
    out = await run(
        executor,
        ctx,
        backend,
        sql=f"UPDATE {table} SET v = :v WHERE id < :n",
        params={"v": "z", "n": 4},
    )
    assert out == {"columns": [], "rows": [], "row_count": 3, "truncated": False}
    assert await backend.fetch(f"SELECT count(*) FROM {table} WHERE v = 'z'") == [(3,)]


async def test_template_and_named_parameters_are_bound(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    sql = {"text": f"INSERT INTO {table} (id, v) VALUES (:id, :p0)", "params": {"p0": "tmpl"}}
    out = await run(executor, ctx, backend, sql=sql, params={"id": 7})
    assert out["row_count"] == 1
    assert await backend.fetch(f"SELECT id, v FROM {table}") == [(7, "tmpl")]


async def test_a_hostile_value_is_only_ever_a_value(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    sql = {"text": f"INSERT INTO {table} (id, v) VALUES (1, :p0)", "params": {"p0": EVIL}}
    await run(executor, ctx, backend, sql=sql)
    await run(
        executor,
        ctx,
        backend,
        sql=f"INSERT INTO {table} (id, v) VALUES (2, :v)",
        params={"v": EVIL},
    )
    assert await backend.has_table(table)
    assert await backend.fetch(f"SELECT v FROM {table} ORDER BY id") == [(EVIL,), (EVIL,)]


async def test_more_than_one_statement_is_refused_before_anything_runs(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    with pytest.raises(FinalError, match="2 statements") as caught:
        await run(
            executor, ctx, backend, sql=f"INSERT INTO {table} VALUES (1, 'a'); DROP TABLE {table}"
        )
    assert "multiple_statements" in caught.value.message
    assert await backend.fetch(f"SELECT count(*) FROM {table}") == [(0,)]
    # A trailing semicolon or comment is not a second statement.
    out = await run(executor, ctx, backend, sql=f"SELECT count(*) AS n FROM {table}; -- done")
    assert out["rows"] == [{"n": 0}]


async def test_multiple_statements_run_in_order_in_one_transaction(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    out = await run(
        executor,
        ctx,
        backend,
        sql=f"INSERT INTO {table} VALUES (1, :v); UPDATE {table} SET id = 2;"
        f" SELECT id, v FROM {table}; DELETE FROM {table} WHERE id = 99",
        params={"v": "one"},
        multiple_statements=True,
    )
    assert out["rows"] == [{"id": 2, "v": "one"}]  # the last statement that returned rows
    # The second statement fails: the first one is rolled back with it.
    with pytest.raises(FinalError, match="statement 2 of 2"):
        await run(
            executor,
            ctx,
            backend,
            sql=f"INSERT INTO {table} VALUES (3, 'x'); INSERT INTO no_such_table_zz VALUES (1)",
            multiple_statements=True,
        )
    assert await backend.fetch(f"SELECT id FROM {table}") == [(2,)]


async def test_statements_without_rows_sum_their_counts(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    out = await run(
        executor,
        ctx,
        backend,
        sql=f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b'); UPDATE {table} SET v = 'c'",
        multiple_statements=True,
    )
    assert out["row_count"] == 4


async def test_types_convert_named_parameters(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create(columns="amount DECIMAL(10,2), day DATE, n INTEGER")
    await run(
        executor,
        ctx,
        backend,
        sql=f"INSERT INTO {table} VALUES (:amount, :day, :n)",
        params={"amount": "19.99", "day": "2026-03-01", "n": "42"},
        types={"amount": "decimal", "day": "date", "n": "int"},
    )
    out = await run(executor, ctx, backend, sql=f"SELECT amount, day, n FROM {table}")
    row = out["rows"][0]
    assert (str(row["amount"]), row["day"], row["n"]) == ("19.99", "2026-03-01", 42)


async def test_template_value_with_a_postgres_style_cast(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    if backend.name != "postgresql":
        sql = {"text": "SELECT CAST(:p0 AS INTEGER) + 1 AS n", "params": {"p0": 41}}
    else:
        # What the worker makes of `{{ n }}::int`: the placeholder stays a bind.
        compiled = compile_sql("SELECT {{ n }}::int + 1 AS n", step_id="s")
        sql = {"text": compiled.text, "params": {"p0": 41}}
    out = await run(executor, ctx, backend, sql=sql)
    assert out["rows"] == [{"n": 42}]


async def test_duplicate_column_names_are_kept_apart(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    out = await run(executor, ctx, backend, sql="SELECT 1 AS a, 2 AS a")
    assert out["columns"] == ["a", "a_2"]
    assert out["rows"] == [{"a": 1, "a_2": 2}]


async def test_one_pool_per_dsn(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    for _ in range(3):
        await run(executor, ctx, backend, sql="SELECT 1 AS one")
    assert len(executor.engines) == 1


async def test_concurrent_steps_share_the_pool(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    async def one(n: int) -> Any:
        out = await run(
            executor, ctx, backend, sql="SELECT CAST(:n AS INTEGER) AS n", params={"n": n}
        )
        return out["rows"][0]["n"]

    assert await asyncio.gather(*(one(n) for n in range(30))) == list(range(30))
    assert len(executor.engines) == 1
