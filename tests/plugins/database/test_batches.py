"""``rows`` and ``rows_from``: one statement run once per row, in batches, in one
transaction, with ``types`` converting the values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vecron.errors import FinalError
from vecron.plugin.executor import StepContext
from vecron.testing.step_contexts import make_step_context
from vecron_database import DatabaseConfig, DatabaseExecutor

from .conftest import Backend

COLUMNS = "id INTEGER PRIMARY KEY, name VARCHAR(100), amount DECIMAL(10,2), day DATE"
TYPES = {"id": "int", "amount": "decimal", "day": "date"}


def insert(table: str) -> str:
    return f"INSERT INTO {table} (id, name, amount, day) VALUES (:id, :name, :amount, :day)"


async def contents(backend: Backend, table: str) -> list[tuple[Any, ...]]:
    rows = await backend.fetch(f"SELECT id, name, amount, day FROM {table} ORDER BY id")
    return [(i, n, str(a), str(d)) for i, n, a, d in rows]


async def test_inline_rows_are_inserted_with_types(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create(columns=COLUMNS)
    rows = [
        {"id": "1", "name": "Ann", "amount": "12.50", "day": "2026-03-01", "ignored": "x"},
        {"id": 2, "name": "Bob", "amount": 3, "day": "2026-03-02"},
    ]
    out = await executor.run(
        ctx,
        DatabaseConfig.model_validate(
            {"dsn": backend.dsn, "sql": insert(table), "rows": rows, "types": TYPES}
        ),
    )
    assert out == {"columns": [], "rows": [], "row_count": 2, "truncated": False, "input_rows": 2}
    amounts = ("12.5", "3") if backend.name == "sqlite" else ("12.50", "3.00")
    assert await contents(backend, table) == [
        (1, "Ann", amounts[0], "2026-03-01"),
        (2, "Bob", amounts[1], "2026-03-02"),
    ]


async def test_params_are_defaults_for_every_row(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    await executor.run(
        ctx,
        DatabaseConfig.model_validate(
            {
                "dsn": backend.dsn,
                "sql": f"INSERT INTO {table} (id, v) VALUES (:id, :v)",
                "params": {"v": "default"},
                "rows": [{"id": 1}, {"id": 2, "v": "own"}],
            }
        ),
    )
    assert await backend.fetch(f"SELECT id, v FROM {table} ORDER BY id") == [
        (1, "default"),
        (2, "own"),
    ]


async def test_a_csv_file_of_the_execution_is_streamed_in_batches(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create(columns=COLUMNS)
    lines = ["id,name,amount,day"] + [
        f'{i},"Name, {i}",{i}.25,2026-01-{1 + i % 28:02d}' for i in range(1, 2501)
    ]
    assert ctx.files is not None
    await ctx.files.write_bytes("in/orders.csv", ("\r\n".join(lines) + "\r\n").encode())
    out = await executor.run(
        ctx,
        DatabaseConfig.model_validate(
            {"dsn": backend.dsn, "sql": insert(table), "rows_from": "in/orders.csv", "types": TYPES}
        ),
    )
    assert (out["row_count"], out["input_rows"]) == (2500, 2500)
    stored = await contents(backend, table)
    assert len(stored) == 2500
    assert stored[0][:2] == (1, "Name, 1")
    assert stored[-1][0] == 2500


async def test_a_json_lines_file_of_the_execution(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create(columns=COLUMNS)
    rows = [
        {"id": 1, "name": "Ann", "amount": "1.10", "day": "2026-03-01"},
        {"id": 2, "name": None, "amount": None, "day": None},
    ]
    assert ctx.files is not None
    await ctx.files.write_bytes("rows.jsonl", "\n".join(json.dumps(r) for r in rows).encode())
    out = await executor.run(
        ctx,
        DatabaseConfig.model_validate(
            {"dsn": backend.dsn, "sql": insert(table), "rows_from": "rows.jsonl", "types": TYPES}
        ),
    )
    assert out["row_count"] == 2
    stored = await backend.fetch(f"SELECT id, name, amount FROM {table} ORDER BY id")
    assert stored[1] == (2, None, None)


async def test_a_bad_row_rolls_back_every_batch(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create(columns=COLUMNS)
    rows = [{"id": i, "name": "n", "amount": "1", "day": "2026-01-01"} for i in range(1, 1501)]
    rows[1200]["id"] = 5  # a duplicate key in the second batch
    with pytest.raises(FinalError, match="rows 1001-1500") as caught:
        await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {"dsn": backend.dsn, "sql": insert(table), "rows": rows, "types": TYPES}
            ),
        )
    assert not caught.value.retryable
    assert await backend.fetch(f"SELECT count(*) FROM {table}") == [(0,)]


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        (
            [{"id": 1, "name": "a", "amount": "x1", "day": None}],
            "row 1: :amount is not a valid decimal",
        ),
        ([{"id": 1, "name": "a", "amount": 1}], "row 1: no value for :day"),
        ([{}, {"id": 1, "name": "a", "amount": 1, "day": "2026-02-30"}], "row 1: no value"),
    ],
)
async def test_row_errors_name_the_row(
    executor: DatabaseExecutor,
    ctx: StepContext,
    backend: Backend,
    rows: list[dict[str, Any]],
    words: str,
) -> None:
    table = await backend.create(columns=COLUMNS)
    with pytest.raises(FinalError) as caught:
        await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {"dsn": backend.dsn, "sql": insert(table), "rows": rows, "types": TYPES}
            ),
        )
    assert words in caught.value.message
    assert "x1" not in caught.value.message


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_row_column_may_not_take_a_template_name(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    sql = {"text": f"INSERT INTO {table} (id, v) VALUES (:id, :p0)", "params": {"p0": "t"}}
    with pytest.raises(FinalError, match="'p0'"):
        await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {"dsn": backend.dsn, "sql": sql, "rows": [{"id": 1, "p0": "x"}]}
            ),
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("missing.csv", None, "no file 'missing.csv'"),
        ("bad.jsonl", b'{"id": 1}\n[1, 2]\n', "line 2 is not a JSON object"),
        ("bad.csv", b"id,v\n1,a\n2\n", "record 3 has 1 fields"),
        ("latin.csv", "id,v\n1,café\n".encode("latin-1"), "not UTF-8"),
    ],
)
async def test_file_errors_are_final(
    executor: DatabaseExecutor,
    ctx: StepContext,
    backend: Backend,
    name: str,
    data: bytes | None,
    words: str,
) -> None:
    table = await backend.create()
    assert ctx.files is not None
    if data is not None:
        await ctx.files.write_bytes(name, data)
    with pytest.raises(FinalError, match=words):
        await executor.run(
            ctx,
            DatabaseConfig.model_validate(
                {
                    "dsn": backend.dsn,
                    "sql": f"INSERT INTO {table} VALUES (:id, :v)",
                    "rows_from": name,
                }
            ),
        )
    assert await backend.fetch(f"SELECT count(*) FROM {table}") == [(0,)]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_rows_from_without_storage_is_final(
    executor: DatabaseExecutor, backend: Backend
) -> None:
    with pytest.raises(FinalError, match="no file storage"):
        await executor.run(
            make_step_context(None),
            DatabaseConfig.model_validate(
                {"dsn": backend.dsn, "sql": "SELECT :id", "rows_from": "x.csv"}
            ),
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_no_rows_run_nothing(
    executor: DatabaseExecutor, ctx: StepContext, backend: Backend
) -> None:
    table = await backend.create()
    out = await executor.run(
        ctx,
        DatabaseConfig.model_validate(
            {"dsn": backend.dsn, "sql": f"INSERT INTO {table} VALUES (:id, :v)", "rows": []}
        ),
    )
    assert (out["row_count"], out["input_rows"]) == (0, 0)
