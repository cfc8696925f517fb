"""``/healthz`` (the process is alive) and ``/readyz`` (its backends answer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from .store.base import Store

STORE = web.AppKey("store", Store)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(2):
            await request.app[STORE].revision()
    except Exception as exc:
        return web.json_response({"status": "unavailable", "store": str(exc)[:200]}, status=503)
    return web.json_response({"status": "ready"})


def health_app(store: Store) -> web.Application:
    app = web.Application()
    app[STORE] = store
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serve_health(store: Store, host: str, port: int) -> AsyncIterator[int]:
    """Serve the probes; yields the bound port (useful with port 0)."""
    runner = web.AppRunner(health_app(store), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        yield sockets[0].getsockname()[1] if sockets else port
    finally:
        await runner.cleanup()
