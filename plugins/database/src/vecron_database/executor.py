"""The ``database`` executor: one transaction per step, values always bound (S4.2)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Coroutine, Mapping
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from vecron import ConversionError, Executor, FinalError, StepContext, StepError

from .config import DatabaseConfig
from .dialects import Dialect, dialect_of
from .dsn import server_of
from .egress import checked_addresses
from .engines import MAX_ENGINES, EngineCache
from .failures import secret_texts, step_error, timed_out
from .results import Outcome, affected, table
from .rows import Batch, batches_from_file, batches_of
from .statements import Statement, bind_names, statements_of
from .values import coerce_all

T = TypeVar("T")

#: Seconds past ``statement_timeout`` the server gets to report its own timeout before
#: vecron stops the statement itself.
SERVER_GRACE = 1.0
#: Seconds a stopped statement gets to end before its task is cancelled.
STOP_GRACE = 5.0


class DatabaseExecutor(Executor[DatabaseConfig]):
    """Runs SQL (or calls a procedure) and returns the rows or the affected row count.

    Errors: connection failures, deadlocks, lock and serialization conflicts and
    statement timeouts are retryable; authentication, SQL, constraint and input errors
    are final. Messages name the server, never the password or a bound value.
    """

    kind = "database"
    Config = DatabaseConfig
    sql_fields = frozenset({"sql"})

    def __init__(self, *, max_engines: int = MAX_ENGINES) -> None:
        self.engines = EngineCache(max_engines)

    async def start(self, exit_stack: AsyncExitStack) -> None:
        exit_stack.push_async_callback(self.engines.aclose)

    def target(self, config: DatabaseConfig) -> str | None:
        """``postgresql://host:5432/db``: the server, without user or password."""
        return server_of(config.url())

    async def run(self, ctx: StepContext, config: DatabaseConfig) -> Mapping[str, Any]:
        url = config.url()
        dialect = dialect_of(url)
        statements, params = _plan(config, dialect)
        if config.rows_from is not None:
            await _check_file(ctx, config.rows_from)
        try:
            addresses = await checked_addresses(ctx.egress, url)
        except OSError as exc:  # the name does not resolve: maybe a DNS hiccup
            raise step_error(exc, dialect, where=server_of(url), timeout=None, secrets=()) from None
        engine = await self.engines.get(url, ctx.egress, addresses)
        step = _Step(config, dialect, engine, server_of(url))
        try:
            if config.batched:
                source = (
                    batches_of(config.rows)
                    if config.rows is not None
                    else batches_from_file(ctx.files, config.rows_from or "")
                )
                # Closed even when a batch fails half-way: the file's stream with it.
                async with aclosing(source) as batches:
                    return await step.batched(statements[0], params, batches)
            return await step.statements(statements, params)
        except StepError:
            raise
        except Exception as exc:
            raise step_error(
                exc,
                dialect,
                where=step.where,
                timeout=config.statement_timeout,
                secrets=secret_texts(url.password, step.bound) | ctx.secrets,
            ) from None


async def _check_file(ctx: StepContext, name: str) -> None:
    # Before connecting: a missing file is the likelier mistake, and costs no connection.
    if ctx.files is None:
        raise FinalError("rows_from: this worker has no file storage configured")
    if not await ctx.files.exists(name):
        raise FinalError(f"rows_from: no file {name!r} among this execution's files")


def _plan(cfg: DatabaseConfig, dialect: Dialect) -> tuple[list[Statement], dict[str, Any]]:
    """The statements to run and the values they bind (not yet coerced), checked
    before anything connects.

    :raises FinalError: several statements where one is allowed, a ``types`` entry that
        names no placeholder, a placeholder without a value.
    """
    if cfg.procedure is not None:
        procedure = cfg.procedure
        sql = dialect.procedure_sql(procedure.name, len(procedure.args), procedure.kind)
        verb = "SELECT" if sql.startswith("SELECT") else "CALL"
        statements = [Statement(sql, verb)]
        params = {f"a{i}": value for i, value in enumerate(procedure.args)}
    else:
        assert cfg.sql is not None  # the config validator ensures one of the two
        sql = cfg.sql.text
        statements = [
            Statement(dialect.statement(s.text), s.verb)
            for s in statements_of(sql, multiple=cfg.multiple_statements)
        ]
        params = {**cfg.params, **cfg.sql.params}
    names = [bind_names(text(statement.text)) for statement in statements]
    used = set().union(*names)
    for name in cfg.types:
        if name not in used:
            raise FinalError(f"types.{name}: the SQL has no :{name} placeholder")
    if not cfg.batched:
        for index, needed in enumerate(names):
            missing = sorted(needed - params.keys())
            if missing:
                where = f"statement {index + 1}: " if len(statements) > 1 else ""
                raise FinalError(f"sql: {where}:{missing[0]} has no value; add it to params")
        try:
            params = _bindable(dialect, coerce_all(params, cfg.types))
        except ConversionError as exc:
            raise FinalError(f"types: {exc}") from None
    return statements, params


@dataclass
class _Step:
    """One run of a step. ``where`` and ``bound`` follow the statement or batch being
    run, for the error message: what it names, and the values it must not show."""

    cfg: DatabaseConfig
    dialect: Dialect
    engine: AsyncEngine
    server: str
    where: str = ""
    bound: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.where = self.server

    async def statements(
        self, statements: list[Statement], params: dict[str, Any]
    ) -> dict[str, Any]:
        """Run each statement in order in one transaction; the output is the last result
        with rows, or the rows affected by them all."""
        self.bound = list(params.values())
        last, count = None, 0
        async with self.engine.connect() as conn, conn.begin():
            await self.dialect.set_timeout(conn, self.cfg.statement_timeout)
            for index, statement in enumerate(statements):
                if len(statements) > 1:
                    self.where = f"{self.server}: statement {index + 1} of {len(statements)}"
                outcome = await self._guarded(conn, self._execute(conn, statement, params))
                if outcome.returns_rows:
                    last = outcome
                else:
                    count += outcome.affected
            self.where = self.server
        return table(last, self.cfg.max_rows) if last is not None else affected(count)

    async def batched(
        self, statement: Statement, params: dict[str, Any], source: AsyncGenerator[Batch, None]
    ) -> dict[str, Any]:
        """Run ``statement`` once per row, a batch at a time, in one transaction."""
        needed = bind_names(text(statement.text))
        template_names = set(self.cfg.sql.params) if self.cfg.sql is not None else set()
        count, total = 0, 0
        clause = text(statement.text)
        async with self.engine.connect() as conn, conn.begin():
            await self.dialect.set_timeout(conn, self.cfg.statement_timeout)
            async for batch in source:
                values = [
                    self._row_values(batch.first + i, row, params, needed, template_names)
                    for i, row in enumerate(batch.rows)
                ]
                self.where = f"{self.server}: {batch.label}"
                self.bound = [value for row in values for value in row.values()]
                result = await self._guarded(conn, conn.execute(clause, values))
                # asyncpg does not report the rows a batch affected: count the rows sent.
                count += result.rowcount if result.rowcount >= 0 else len(values)
                total += len(values)
                self.where, self.bound = self.server, []
        return {**affected(count), "input_rows": total}

    def _row_values(
        self,
        number: int,
        row: Mapping[str, Any],
        params: Mapping[str, Any],
        needed: set[str],
        template_names: set[str],
    ) -> dict[str, Any]:
        clash = sorted(template_names.intersection(row))
        if clash:
            raise FinalError(
                f"row {number}: column {clash[0]!r} is also the name of a {{{{ }}}} value "
                "in sql (the worker names those p0, p1…); rename the column"
            )
        merged = {**params, **row}  # a row's value wins over params
        missing = sorted(needed - merged.keys())
        if missing:
            raise FinalError(f"row {number}: no value for :{missing[0]}")
        try:
            values = coerce_all({name: merged[name] for name in needed}, self.cfg.types)
            return _bindable(self.dialect, values)
        except ConversionError as exc:
            raise FinalError(f"row {number}: {exc}") from None

    async def _execute(
        self, conn: AsyncConnection, statement: Statement, params: dict[str, Any]
    ) -> Outcome:
        clause = text(statement.text)
        limit = self.cfg.max_rows + 1  # one more than kept tells whether there were more
        if statement.is_query and conn.dialect.supports_server_side_cursors:
            # A server-side cursor: rows past the cap are never fetched.
            streamed = await conn.stream(clause, params)
            try:
                return Outcome(list(streamed.keys()), await streamed.fetchmany(limit), True)
            finally:
                await streamed.close()
        result = await conn.execute(clause, params)
        if result.returns_rows:
            try:
                return Outcome(list(result.keys()), result.fetchmany(limit), True)
            finally:
                result.close()
        return Outcome([], [], False, max(result.rowcount, 0))

    async def _guarded(self, conn: AsyncConnection, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` (a statement on ``conn``) in a task of its own, so that when it
        runs past the timeout, or the step is cancelled, the statement can be stopped
        on the server before the transaction is rolled back."""
        task = asyncio.create_task(work)
        timeout = self.cfg.statement_timeout
        limit = None
        if timeout is not None:
            limit = timeout + (SERVER_GRACE if self.dialect.server_timeout else 0.0)
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        except asyncio.CancelledError:
            await self._stop(conn, task)
            raise
        if not done:
            await self._stop(conn, task)
            assert timeout is not None
            raise timed_out(self.where, timeout, "", ())
        return task.result()

    async def _stop(self, conn: AsyncConnection, task: asyncio.Task[Any]) -> None:
        try:
            await self.dialect.interrupt(self.engine, conn, task)
        except Exception:  # stopping it on the server failed: at least stop waiting
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_GRACE)
        if task.done() and not task.cancelled():
            task.exception()  # the error we caused by stopping it; seen, not reported


def _bindable(dialect: Dialect, values: dict[str, Any]) -> dict[str, Any]:
    return {name: dialect.adapt(value) for name, value in values.items()}
