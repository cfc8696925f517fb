"""Variables in SQL: global ones have the scope ``''``, job-scoped ones their job's id.

The store only moves text: a secret variable's value arrives already encrypted, so no
statement here ever carries a secret in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from vecron.store.base import StoredVariable
from vecron.store.schema import GLOBAL_SCOPE, variables
from vecron.store.statements import RowSource, Statements, chunks


def _scope_key(scope: str | None) -> str:
    return GLOBAL_SCOPE if scope is None else scope


def stored_variable(row: RowMapping) -> StoredVariable:
    scope = row["scope"]
    return StoredVariable(
        scope=None if scope == GLOBAL_SCOPE else scope,
        name=row["name"],
        value=row["value"],
        secret=bool(row["secret"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _key(scope: str | None, name: str) -> Any:
    return (variables.c.scope == _scope_key(scope)) & (variables.c.name == name)


async def set_variable(
    conn: AsyncConnection,
    statements: Statements,
    scope: str | None,
    name: str,
    value: str,
    *,
    secret: bool,
    now: datetime,
) -> StoredVariable:
    insert = statements.insert(variables).values(
        scope=_scope_key(scope),
        name=name,
        value=value,
        secret=secret,
        created_at=now,
        updated_at=now,
    )
    upsert = insert.on_conflict_do_update(
        index_elements=["scope", "name"],
        set_={"value": value, "secret": secret, "updated_at": now},
    ).returning(*variables.c)
    row = (await conn.execute(upsert)).mappings().one()
    return stored_variable(row)


async def get_variable(
    conn: AsyncConnection, scope: str | None, name: str
) -> StoredVariable | None:
    row = (await conn.execute(select(variables).where(_key(scope, name)))).mappings().first()
    return None if row is None else stored_variable(row)


async def list_variables(
    conn: AsyncConnection, *, scope: str | None, every_scope: bool
) -> list[StoredVariable]:
    query = select(variables).order_by(variables.c.scope, variables.c.name)
    if not every_scope:
        query = query.where(variables.c.scope == _scope_key(scope))
    return [stored_variable(row) for row in (await conn.execute(query)).mappings()]


async def delete_variable(conn: AsyncConnection, scope: str | None, name: str) -> bool:
    result = await conn.execute(delete(variables).where(_key(scope, name)))
    return bool(result.rowcount)


async def delete_job_variables(conn: AsyncConnection, job_id: str) -> None:
    await conn.execute(delete(variables).where(variables.c.scope == job_id))


async def variables_for_jobs(
    conn: AsyncConnection, job_ids: Sequence[str]
) -> dict[str, list[StoredVariable]]:
    wanted = sorted(set(job_ids))
    if not wanted:
        return {}
    found: dict[str, list[StoredVariable]] = {job_id: [] for job_id in wanted}
    global_ones: list[StoredVariable] = []
    # Globals come with the first chunk only; a job's own follow them (and so win).
    for index, chunk in enumerate(chunks(wanted)):
        scopes = [*chunk, GLOBAL_SCOPE] if index == 0 else list(chunk)
        query = (
            select(variables)
            .where(variables.c.scope.in_(scopes))
            .order_by(variables.c.scope, variables.c.name)
        )
        for row in (await conn.execute(query)).mappings():
            variable = stored_variable(row)
            if variable.scope is None:
                global_ones.append(variable)
            else:
                found[variable.scope].append(variable)
    return {job_id: [*global_ones, *found[job_id]] for job_id in job_ids}


async def rotate_secret_values(
    conn: AsyncConnection,
    statements: Statements,
    rotate: Callable[[StoredVariable], str],
    *,
    lock: bool,
) -> int:
    query = select(variables).where(variables.c.secret).order_by(variables.c.scope)
    if lock:
        query = query.with_for_update()
    secret = [stored_variable(row) for row in (await conn.execute(query)).mappings()]
    # Every new token is computed before the first write: a value no key decrypts
    # raises here and the transaction changes nothing.
    data = [(_scope_key(v.scope), v.name, rotate(v)) for v in secret]
    await statements.update_each(
        conn, [("scope", String()), ("name", String()), ("value", Text())], data, _set_value
    )
    return len(data)


def _set_value(row: RowSource) -> Update:
    return (
        update(variables)
        .where(variables.c.scope == row["scope"], variables.c.name == row["name"])
        .values(value=row["value"])
    )
