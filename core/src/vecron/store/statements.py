"""Statement builders whose best form differs between SQLite and PostgreSQL.

``update_each`` applies one UPDATE per row of data. SQLite runs in-process, where a
driver ``executemany`` loops in C inside one call; on PostgreSQL that would be one
statement per row on the server, so there it is one ``UPDATE ... FROM unnest(arrays)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, bindparam, column, func, literal, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from vecron.store.schema import REVISION_ROW, revision
from vecron.store.timestamp import UtcDateTime

#: Ids per ``IN (...)`` list; keeps every statement far below both servers' bind limits.
IN_CHUNK = 2000

#: The per-row values an UPDATE built by ``update_each`` refers to, by name.
RowSource = Mapping[str, ColumnElement[Any]]


def keyset_before(
    moment: ColumnElement[Any], row_id: ColumnElement[Any], position: tuple[datetime, str]
) -> ColumnElement[bool]:
    """``(moment, row_id) < position``: the next page of a newest-first keyset listing, as
    one row-value comparison, which both databases turn into the bound of an index
    range scan."""
    at, last_id = position
    return tuple_(moment, row_id) < tuple_(literal(at, UtcDateTime()), literal(last_id, String()))


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


async def bump_revision(conn: AsyncConnection) -> None:
    await conn.execute(
        update(revision).where(revision.c.id == REVISION_ROW).values(value=revision.c.value + 1)
    )


class Statements:
    """Dialect-specific forms of the statements the store batches."""

    def __init__(self, *, sqlite: bool) -> None:
        self.sqlite = sqlite

    def insert(self, table: Table) -> SqliteInsert | PostgresInsert:
        """An INSERT that supports ``on_conflict_do_nothing`` / ``_do_update``."""
        return sqlite_insert(table) if self.sqlite else postgres_insert(table)

    async def update_each(
        self,
        conn: AsyncConnection,
        columns: Sequence[tuple[str, TypeEngine[Any]]],
        data: Sequence[tuple[Any, ...]],
        build: Callable[[RowSource], Update],
    ) -> None:
        """Run ``build(row)`` for every row of ``data`` (one tuple per row, in
        ``columns`` order). Rows must not update the same target row twice."""
        if not data:
            return
        names = [name for name, _ in columns]
        if self.sqlite:
            source = {name: bindparam(f"v_{name}", type_=type_) for name, type_ in columns}
            await conn.execute(
                build(source),
                [
                    {f"v_{name}": value for name, value in zip(names, row, strict=True)}
                    for row in data
                ],
            )
            return
        # One array parameter per column, unnested into rows: the statement text is
        # the same for any batch size, so both the compiled form and the server's
        # prepared statement are reused.
        rows = (
            func.unnest(*(bindparam(f"v_{name}", type_=ARRAY(type_)) for name, type_ in columns))
            .table_valued(*(column(name, type_) for name, type_ in columns))
            .render_derived(name="v")
        )
        await conn.execute(
            build({name: rows.c[name] for name in names}),
            {
                f"v_{name}": list(values)
                for name, values in zip(names, zip(*data, strict=True), strict=True)
            },
        )
