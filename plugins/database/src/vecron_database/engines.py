"""One connection pool per database URL, shared by every step of the worker process."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from vecron import EgressPolicy, default_egress

from .egress import guard_attach, pin

#: Pools kept open at once; the least recently used one is closed beyond this.
MAX_ENGINES = 32
#: URL with its password, the policy, and the addresses checked (sorted: a name whose
#: answers rotate keeps its pool).
_Key = tuple[str, EgressPolicy, tuple[str, ...]]


class EngineCache:
    """Engines by URL (password included: another password is another pool), egress
    policy and the addresses it checked: the pool connects to those only."""

    def __init__(self, limit: int = MAX_ENGINES) -> None:
        self.limit = limit
        self._engines: OrderedDict[_Key, AsyncEngine] = OrderedDict()
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._engines)

    async def get(
        self, url: URL, egress: EgressPolicy | None = None, addresses: Sequence[str] = ()
    ) -> AsyncEngine:
        egress = egress or default_egress()
        key = (url.render_as_string(hide_password=False), egress, tuple(sorted(addresses)))
        async with self._lock:
            engine = self._engines.get(key)
            if engine is not None:
                self._engines.move_to_end(key)
                return engine
            engine = self._engines[key] = create_async_engine(
                url,
                # SQLAlchemy's exception text would otherwise carry the bound values.
                hide_parameters=True,
                # Jobs run minutes or hours apart: check a pooled connection before use
                # rather than fail a step on one the server closed meanwhile.
                pool_pre_ping=True,
            )
            if url.get_backend_name() == "sqlite":
                guard_attach(engine, egress)
            else:
                pin(engine, url, addresses)
            evicted = self._evict()
        for old in evicted:
            await old.dispose()
        return engine

    def _evict(self) -> list[AsyncEngine]:
        # Least recently used first, skipping pools a running step holds a connection of:
        # disposing those would strand the connection. All busy? The cache may exceed its
        # limit until one is idle.
        evicted: list[AsyncEngine] = []
        for key in list(self._engines)[:-1]:  # never the one just made
            if len(self._engines) <= self.limit:
                break
            if not _in_use(self._engines[key]):
                evicted.append(self._engines.pop(key))
        return evicted

    async def aclose(self) -> None:
        """Close every pool (``start`` registers this on the worker's exit stack)."""
        async with self._lock:
            engines = list(self._engines.values())
            self._engines.clear()
        for engine in engines:
            await engine.dispose()


def _in_use(engine: AsyncEngine) -> bool:
    checkedout = getattr(engine.pool, "checkedout", None)  # QueuePool has it, StaticPool not
    return bool(checkedout()) if callable(checkedout) else False
