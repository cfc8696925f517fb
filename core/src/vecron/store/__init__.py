"""The database: the source of truth for jobs, executions and the occurrence ledger.

:func:`open_store` picks the backend from the URL; drivers are imported only when the
URL asks for them.
"""

from __future__ import annotations

import importlib

from vecron.errors import ConfigurationError
from vecron.store.base import JobFires as JobFires
from vecron.store.base import NewOccurrence as NewOccurrence
from vecron.store.base import SaveResult as SaveResult
from vecron.store.base import Store as Store
from vecron.urls import redact_url

DEFAULT_URL = "sqlite+aiosqlite:///./.vecron/vecron.db"

# Plain scheme spellings map to the async driver the store uses.
_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def open_store(url: str) -> Store:
    """The store for ``url`` (not started: call ``await store.start()``, then
    ``upgrade()`` if the schema may be behind).

    :raises ConfigurationError: unknown scheme, or the PostgreSQL driver is missing.
    """
    scheme, separator, rest = url.partition("://")
    driver = _SCHEMES.get(scheme.lower()) if separator else None
    if driver is None:
        raise ConfigurationError(
            f"unsupported database URL {redact_url(url)!r}",
            field="database_url",
            hint="use sqlite+aiosqlite:///path/to/vecron.db or postgresql+asyncpg://user@host/db",
        )
    if driver == "postgresql+asyncpg":
        try:
            importlib.import_module("asyncpg")
        except ImportError as exc:
            raise ConfigurationError(
                f"database URL {redact_url(url)!r} needs the asyncpg driver",
                field="database_url",
                hint="install vecron-core[postgres]",
            ) from exc
    from vecron.store.sql import SqlStore

    return SqlStore(f"{driver}://{rest}")
