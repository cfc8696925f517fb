"""The step's egress policy for SQL: which server a DSN may reach, and which files.

A server's name is resolved and checked once; its pool then connects to the checked
addresses only. A SQLite database is a local file: vecron's own database, key and
storage are refused, whatever name reaches them (relative, symlinked, a ``file:`` URI),
and so is an ``ATTACH`` of them from another database.
"""

from __future__ import annotations

import sqlite3
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import event
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from vecron import EgressDenied, EgressPolicy

from .dsn import DEFAULT_PORTS

STEP_TYPE = "database"
Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]


async def checked_addresses(egress: EgressPolicy, url: URL) -> tuple[str, ...]:
    """The addresses a step may open ``url`` at; none for SQLite, whose file is checked.

    :raises EgressDenied: the server, one of its addresses, or the SQLite file is refused.
    :raises OSError: the server's name does not resolve.
    """
    backend = url.get_backend_name()
    if backend == "sqlite":
        for path in sqlite_paths(url.database):
            egress.check_path(path)
        return ()
    assert url.host is not None  # database_url requires one
    port = url.port or DEFAULT_PORTS.get(backend, 0)
    database = url.database or url.username
    found = await egress.check(STEP_TYPE, url.host, port, database=database)
    return tuple(str(address) for address in found)


def sqlite_paths(name: str | None) -> list[str]:
    """The files a SQLite database name may open: the name as a path and, for a
    ``file:`` URI, the URI's path (which one SQLite takes depends on how it opens it)."""
    if not name or name == ":memory:":
        return []
    paths = [name]
    if name.startswith("file:"):
        parts = urlsplit(name)
        path = unquote(parts.path)
        if parts.netloc in ("", "localhost") and path and path != ":memory:":
            paths.append(path)
    return paths


def pin(engine: AsyncEngine, url: URL, addresses: Sequence[str]) -> None:
    """Make ``engine`` connect to ``addresses`` (in order, the next when one fails), not
    to the name in ``url``.

    Not when TLS verifies the server's name: the certificate is checked against the
    name the driver connects to, so it keeps the name — and the certificate check then
    proves the peer is that server, wherever the name points by then.
    """
    dialect = engine.sync_engine.dialect
    if not addresses or _verifies_hostname(dialect.create_connect_args(url)[1]):
        return

    def connect(dialect: Dialect, _record: Any, _cargs: Any, _cparams: Any) -> Any:
        failure: Exception | None = None
        for address in addresses:
            args, params = dialect.create_connect_args(url.set(host=address))
            try:
                return dialect.connect(*args, **params)
            except Exception as exc:  # the next checked address may answer
                failure = exc
        assert failure is not None
        raise failure

    event.listen(engine.sync_engine, "do_connect", connect)


def guard_attach(engine: AsyncEngine, egress: EgressPolicy) -> None:
    """Refuse ``ATTACH`` (and ``VACUUM INTO``) of a file ``egress`` protects, or of a
    name that is not a literal, which SQLite does not show the authorizer."""
    authorize = attach_authorizer(egress)

    def install(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(lambda driver: driver.set_authorizer(authorize))

    event.listen(engine.sync_engine, "connect", install)


def attach_authorizer(egress: EgressPolicy) -> Authorizer:
    def authorize(
        action: int, name: str | None, _arg: str | None, _db: str | None, _trigger: str | None
    ) -> int:
        if action != sqlite3.SQLITE_ATTACH:
            return sqlite3.SQLITE_OK
        if name is None:
            return sqlite3.SQLITE_DENY
        try:
            for path in sqlite_paths(name):
                egress.check_path(path)
        except EgressDenied:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize


def _verifies_hostname(params: Mapping[str, Any]) -> bool:
    tls = params.get("ssl", params.get("sslmode"))
    if isinstance(tls, ssl.SSLContext):
        return tls.check_hostname
    if isinstance(tls, str):
        return tls.lower().replace("_", "-") == "verify-full"
    if isinstance(tls, Mapping):
        # PyMySQL's and aiomysql's default: a certificate is checked against the name.
        return tls.get("check_hostname", True) is not False
    return False
