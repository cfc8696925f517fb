"""What differs between backends: procedure calls, statement timeouts, stopping a
running statement, and which error codes mean "try again"."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from vecron import FinalError

Verdict = Literal["timeout", "retryable", "final"]
ProcedureKind = Literal["procedure", "function"]

#: Seconds a side connection may take to stop another one's statement.
INTERRUPT_LIMIT = 5.0


def placeholders(arity: int) -> str:
    return ", ".join(f":a{i}" for i in range(arity))


class Dialect:
    """One backend's behaviour. Instances are stateless and shared."""

    name: ClassVar[str]
    #: Does the server itself stop a statement after ``statement_timeout``? Then its own
    #: error is awaited a little longer than the timeout before vecron steps in.
    server_timeout: ClassVar[bool] = False

    def procedure_sql(self, name: str, arity: int, kind: ProcedureKind) -> str:
        """The statement that calls ``name`` with bound arguments ``:a0``…"""
        raise NotImplementedError

    def statement(self, sql: str) -> str:
        """A statement as the driver accepts it."""
        return sql

    def adapt(self, value: Any) -> Any:
        """A coerced value as the driver binds it."""
        return value

    async def set_timeout(self, conn: AsyncConnection, seconds: float | None) -> None:
        """Make the server stop statements of this transaction after ``seconds``."""

    async def interrupt(
        self, engine: AsyncEngine, conn: AsyncConnection, task: asyncio.Task[Any]
    ) -> None:
        """Stop the statement ``task`` runs on ``conn`` (timed out or cancelled).

        The default cancels the task: asyncpg then sends the server a cancel request.
        (python-oracledb gets the same; it is not tested against a live server.)
        """
        task.cancel()

    def error_code(self, error: BaseException) -> str | None:
        """The driver error's code (SQLSTATE, MySQL number…), if it has one."""
        return None

    def verdict(self, code: str) -> Verdict:
        return "final"

    def describe(self, error: BaseException) -> str:
        """The driver's message, without the SQL or the parameters."""
        return str(error)


class PostgreSQL(Dialect):
    name = "postgresql"
    server_timeout = True
    # Connection exceptions, insufficient resources, operator intervention, system errors.
    _RETRY_CLASSES = ("08", "53", "57", "58")
    # serialization_failure, deadlock_detected, lock_not_available
    _RETRY_CODES = frozenset({"40001", "40P01", "55P03"})
    _CLASS_PREFIX = re.compile(r"^<class '[^']+'>: ")
    # asyncpg quotes the refused value: "invalid input for query argument $1: 'x' (why)".
    _ARGUMENT = re.compile(r"^(invalid input for query argument \$\d+): .*? \((.*)\)$", re.S)

    def procedure_sql(self, name: str, arity: int, kind: ProcedureKind) -> str:
        if kind == "function":
            return f"SELECT * FROM {name}({placeholders(arity)})"
        return f"CALL {name}({placeholders(arity)})"

    async def set_timeout(self, conn: AsyncConnection, seconds: float | None) -> None:
        if seconds is not None:
            # is_local=true: SET LOCAL, so the pooled connection keeps its own setting.
            milliseconds = str(max(1, round(seconds * 1000)))
            await conn.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": milliseconds}
            )

    def error_code(self, error: BaseException) -> str | None:
        for candidate in (error, error.__cause__):
            code = getattr(candidate, "sqlstate", None)
            if isinstance(code, str):
                return code
        return None

    def verdict(self, code: str) -> Verdict:
        if code == "57014":  # query_canceled: statement_timeout
            return "timeout"
        if code in self._RETRY_CODES or code[:2] in self._RETRY_CLASSES:
            return "retryable"
        return "final"

    def describe(self, error: BaseException) -> str:
        message = self._CLASS_PREFIX.sub("", str(error))
        argument = self._ARGUMENT.match(message)
        if argument is not None:
            message = f"{argument.group(1)}: {argument.group(2)} (declare its type in `types`)"
        code = self.error_code(error)
        return f"{message} (SQLSTATE {code})" if code else message


class MySQL(Dialect):
    """MySQL and MariaDB (SQLAlchemy tells them apart on connect)."""

    name = "mysql"
    server_timeout = True
    _INFO_KEY = "vecron_statement_timeout"
    _RETRY_CODES = frozenset(
        {
            "1040",  # too many connections
            "1053",  # server shutdown in progress
            "1158",  # network read/write errors
            "1159",
            "1160",
            "1161",
            "1205",  # lock wait timeout
            "1213",  # deadlock
            "1317",  # query interrupted (KILL QUERY)
            "1927",  # connection killed
            "2002",  # cannot connect
            "2003",
            "2006",  # server has gone away
            "2013",  # lost connection
            "2055",
        }
    )
    # MariaDB max_statement_time, MySQL max_execution_time.
    _TIMEOUT_CODES = frozenset({"1969", "3024"})

    def procedure_sql(self, name: str, arity: int, kind: ProcedureKind) -> str:
        if kind == "function":
            return f"SELECT {name}({placeholders(arity)}) AS result"
        return f"CALL {name}({placeholders(arity)})"

    async def set_timeout(self, conn: AsyncConnection, seconds: float | None) -> None:
        # A session setting outlives the step on the pooled connection, so it is noted in
        # the connection's info and put back when the next step wants another value.
        info = conn.info
        if info.get(self._INFO_KEY) == seconds:
            return
        mariadb = bool(getattr(conn.dialect, "is_mariadb", False))
        variable = "max_statement_time" if mariadb else "max_execution_time"
        if seconds is None:
            await conn.execute(text(f"SET SESSION {variable} = DEFAULT"))
        else:
            # MariaDB counts seconds; MySQL milliseconds (and limits SELECTs only).
            value: float | int = seconds if mariadb else max(1, round(seconds * 1000))
            await conn.execute(text(f"SET SESSION {variable} = :value"), {"value": value})
        info[self._INFO_KEY] = seconds

    async def interrupt(
        self, engine: AsyncEngine, conn: AsyncConnection, task: asyncio.Task[Any]
    ) -> None:
        # Closing the socket would leave the statement running on the server (and holding
        # its locks); KILL QUERY from a second connection stops it there.
        raw = await conn.get_raw_connection()
        thread_id = int(raw.driver_connection.thread_id())  # type: ignore[union-attr]
        try:
            async with asyncio.timeout(INTERRUPT_LIMIT), engine.connect() as killer:
                await killer.execute(text(f"KILL QUERY {thread_id}"))
        except Exception:  # the server may be gone: cancelling the task is all that is left
            task.cancel()

    def error_code(self, error: BaseException) -> str | None:
        args = getattr(error, "args", ())
        if args and isinstance(args[0], int):
            return str(args[0])
        return None

    def verdict(self, code: str) -> Verdict:
        if code in self._TIMEOUT_CODES:
            return "timeout"
        return "retryable" if code in self._RETRY_CODES else "final"

    def describe(self, error: BaseException) -> str:
        args: tuple[Any, ...] = getattr(error, "args", ())
        if len(args) >= 2 and isinstance(args[0], int):
            return f"{args[1]} (MySQL error {args[0]})"
        return str(error)


class SQLite(Dialect):
    name = "sqlite"

    def adapt(self, value: Any) -> Any:
        # sqlite3 binds no Decimal, and its date adapters are deprecated (Python 3.12):
        # text, which SQLite's NUMERIC and date functions read.
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, date):
            return value.isoformat()
        return value

    # SQLITE_INTERRUPT outside a timeout: someone else interrupted the statement.
    _RETRY_PREFIXES = (
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_IOERR",
        "SQLITE_FULL",
        "SQLITE_INTERRUPT",
    )

    def procedure_sql(self, name: str, arity: int, kind: ProcedureKind) -> str:
        raise FinalError("procedure: SQLite has no stored procedures; use sql")

    async def interrupt(
        self, engine: AsyncEngine, conn: AsyncConnection, task: asyncio.Task[Any]
    ) -> None:
        # The statement runs in aiosqlite's thread; cancelling the coroutine would not
        # stop it. sqlite3's interrupt() may be called from any thread.
        raw = await conn.get_raw_connection()
        await raw.driver_connection.interrupt()  # type: ignore[union-attr]

    def error_code(self, error: BaseException) -> str | None:
        name = getattr(error, "sqlite_errorname", None)
        return name if isinstance(name, str) else None

    def verdict(self, code: str) -> Verdict:
        return "retryable" if code.startswith(self._RETRY_PREFIXES) else "final"

    def describe(self, error: BaseException) -> str:
        code = self.error_code(error)
        return f"{error} ({code})" if code else str(error)


class Oracle(Dialect):
    """python-oracledb in asyncio mode. Not tested against a live server here."""

    name = "oracle"
    _PLSQL = re.compile(r"^\s*(BEGIN|DECLARE|CREATE)\b", re.IGNORECASE)
    _RETRY_CODES = frozenset(
        {
            "ORA-00054",  # resource busy (NOWAIT)
            "ORA-00060",  # deadlock
            "ORA-01033",  # initialisation or shutdown in progress
            "ORA-01034",  # not available
            "ORA-01089",  # immediate shutdown
            "ORA-03113",  # end-of-file on communication channel
            "ORA-03114",  # not connected
            "ORA-03135",  # connection lost contact
            "ORA-08177",  # cannot serialize access
            "ORA-12170",  # connect timeout
            "ORA-12514",  # listener does not know the service (yet)
            "ORA-12528",  # listener: all instances blocking
            "ORA-12537",  # connection closed
            "ORA-12541",  # no listener
            "ORA-12543",  # destination host unreachable
            "DPY-4011",  # connection closed
            "DPY-6005",  # cannot connect
        }
    )
    _TIMEOUT_CODES = frozenset({"DPY-4024", "ORA-01013", "ORA-03156"})

    def procedure_sql(self, name: str, arity: int, kind: ProcedureKind) -> str:
        if kind == "function":
            return f"SELECT {name}({placeholders(arity)}) AS result FROM dual"
        return f"BEGIN {name}({placeholders(arity)}); END;"

    def statement(self, sql: str) -> str:
        # Oracle refuses a SQL statement ending in ';' but a PL/SQL block needs its own.
        if self._PLSQL.match(sql):
            return sql
        return sql.rstrip().removesuffix(";").rstrip()

    def error_code(self, error: BaseException) -> str | None:
        args = getattr(error, "args", ())
        code = getattr(args[0], "full_code", None) if args else None
        return code if isinstance(code, str) else None

    def verdict(self, code: str) -> Verdict:
        if code in self._TIMEOUT_CODES:
            return "timeout"
        return "retryable" if code in self._RETRY_CODES else "final"

    def describe(self, error: BaseException) -> str:
        # oracledb appends help URLs on further lines.
        return str(error).splitlines()[0] if str(error) else type(error).__name__


_DIALECTS: dict[str, Dialect] = {d.name: d for d in (PostgreSQL(), MySQL(), SQLite(), Oracle())}


def dialect_of(url: URL) -> Dialect:
    return _DIALECTS[url.get_backend_name()]
