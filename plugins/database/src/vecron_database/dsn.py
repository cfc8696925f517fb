"""Database URLs: which server a step talks to, through which async driver.

Users write the URL they know (``postgres://``, ``mysql://``, ``sqlite:///``…); vecron
runs every backend through SQLAlchemy's asyncio layer, so each is mapped to its async
driver. A sync driver (``+psycopg2``, ``+pymysql``) would block the worker's event loop,
hence it is refused rather than silently swapped.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: Backend name → the async driver vecron runs it with.
ASYNC_DRIVERS = {
    "postgresql": "asyncpg",
    "mysql": "aiomysql",
    "sqlite": "aiosqlite",
    "oracle": "oracledb",
}
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "oracle": 1521}
#: Query options that would send the driver to another server or a local socket than
#: the URL's host and port: the one the egress policy checks.
SERVER_OPTIONS = frozenset(
    {"host", "hostaddr", "port", "unix_socket", "dsn", "service", "servicefile"}
)


def database_url(dsn: str, password: str | None = None) -> URL:
    """``dsn`` as a SQLAlchemy URL on the backend's async driver; ``password`` replaces
    the one in the URL.

    :raises ValueError: not a URL, an unsupported backend or driver, or no host. The
        message never repeats the URL: it may hold a password.
    """
    try:
        url = make_url(dsn)
    except (ArgumentError, ValueError, TypeError):
        raise ValueError(
            "not a database URL; write e.g. postgresql://user@host:5432/dbname"
        ) from None
    name, _, driver = url.drivername.partition("+")
    backend = _ALIASES.get(name, name)
    expected = ASYNC_DRIVERS.get(backend)
    if expected is None:
        raise ValueError(
            f"unsupported database {name!r}; use postgresql, mysql, mariadb, sqlite or oracle"
        )
    if driver and driver != expected:
        raise ValueError(
            f"driver {driver!r} is not supported: vecron runs {backend} through the async "
            f"driver {expected!r}; write {backend}:// or {backend}+{expected}://"
        )
    if backend != "sqlite" and not url.host:
        raise ValueError(f"a {backend} URL needs a host")
    chosen = sorted(SERVER_OPTIONS.intersection(url.query)) if backend != "sqlite" else []
    if chosen:
        raise ValueError(
            f"query option {chosen[0]!r} is not supported: the server is the URL's host and port"
        )
    url = url.set(drivername=f"{backend}+{expected}")
    if backend == "mysql" and "charset" not in url.query:
        # aiomysql's default charset cannot hold every Unicode character.
        url = url.update_query_dict({"charset": "utf8mb4"})
    if password is not None:
        url = url.set(password=password)
    return url


def server_of(url: URL) -> str:
    """``postgresql://db.example.com:5432/sales``: the server and database, never the
    user or password (what the circuit breaker groups by and messages name)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return f"sqlite:///{url.database or ':memory:'}"
    host = url.host or ""
    if ":" in host:
        host = f"[{host}]"
    port = url.port or DEFAULT_PORTS.get(backend, 0)
    database = url.database or url.query.get("service_name") or ""
    if not isinstance(database, str):  # a repeated query key gives a tuple
        database = database[0]
    return f"{backend}://{host}:{port}/{database}"
