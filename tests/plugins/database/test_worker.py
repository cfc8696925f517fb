"""Through the real worker: a template value reaches SQL only as a bound value, and rows
flow from one database step to the next."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.support.engine import apply, run_and_wait, running
from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus, StepStatus
from vecron.runtime import Runtime

EVIL = "'; DROP TABLE t; --"


async def read(path: Path, sql: str) -> tuple[bool, list[tuple[object, ...]]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            exists = await conn.run_sync(lambda sync: inspect(sync).has_table("t"))
            rows = [tuple(r) for r in await conn.execute(text(sql))] if exists else []
            return exists, rows
    finally:
        await engine.dispose()


async def create(path: Path, *statements: str) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def test_a_variable_holding_sql_is_inserted_as_a_value(
    runtime: Runtime, tmp_path: Path
) -> None:
    target = tmp_path / "target.db"
    await create(target, "CREATE TABLE t (v VARCHAR(100))")
    await runtime.variables.set(LOCAL_OPERATOR, "EVIL", EVIL)
    await apply(
        runtime,
        {
            "name": "evil-insert",
            "steps": [
                {
                    "id": "insert",
                    "type": "database",
                    "dsn": f"sqlite:///{target}",
                    "sql": "INSERT INTO t(v) VALUES ({{ vars.EVIL }})",
                }
            ],
        },
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "evil-insert")
    assert detail.status is ExecutionStatus.SUCCEEDED, detail.error
    assert [s.status for s in detail.steps] == [StepStatus.SUCCEEDED]
    assert await read(target, "SELECT v FROM t") == (True, [(EVIL,)])


async def test_rows_of_one_step_feed_the_next(runtime: Runtime, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    await create(
        target,
        "CREATE TABLE t (v VARCHAR(100))",
        "CREATE TABLE source (id INTEGER, amount VARCHAR(20))",
        "INSERT INTO source VALUES (1, '1.50'), (2, '2.25')",
        "CREATE TABLE copy (id INTEGER, amount DECIMAL(10,2), label VARCHAR(20))",
    )
    dsn = f"sqlite:///{target}"
    await apply(
        runtime,
        {
            "name": "copy-rows",
            "steps": [
                {"id": "read", "type": "database", "dsn": dsn, "sql": "SELECT * FROM source"},
                {
                    "id": "write",
                    "type": "database",
                    "dsn": dsn,
                    "sql": "INSERT INTO copy VALUES (:id, :amount, :label)",
                    "rows": "{{ steps.read.output.rows }}",
                    "params": {"label": "{{ execution.job }}"},
                    "types": {"amount": "decimal"},
                },
            ],
        },
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "copy-rows")
    assert detail.status is ExecutionStatus.SUCCEEDED, detail.error
    _, rows = await read(target, "SELECT id, amount, label FROM copy ORDER BY id")
    assert rows == [(1, 1.5, "copy-rows"), (2, 2.25, "copy-rows")]
