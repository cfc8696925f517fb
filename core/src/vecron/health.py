"""``/healthz`` (the process is alive), ``/readyz`` (its backends answer) and ``/metrics``.

``/readyz`` asks every backend the process uses — database, queue, lock — and answers
503 naming the ones that do not, so a load balancer or Kubernetes stops sending work to
a process that cannot do it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from aiohttp import web

from vecron.metrics import Metrics, add_metrics

Check = Callable[[], Awaitable[object]]
CHECKS = web.AppKey("checks", Mapping[str, Check])


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _probe(check: Check) -> str:
    try:
        async with asyncio.timeout(2):
            await check()
    except Exception as exc:
        return f"unavailable: {str(exc)[:200]}"
    return "ok"


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[CHECKS]
    results = dict(
        zip(checks, await asyncio.gather(*(_probe(c) for c in checks.values())), strict=True)
    )
    ready = all(value == "ok" for value in results.values())
    return web.json_response(
        {"status": "ready" if ready else "unavailable", **results}, status=200 if ready else 503
    )


def add_probes(
    app: web.Application, checks: Mapping[str, Check], metrics: Metrics | None = None
) -> None:
    """Serve ``/healthz`` and ``/readyz`` from ``app`` (the API's app adds them too), and
    ``/metrics`` when given the process's ``metrics``."""
    app[CHECKS] = checks
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if metrics is not None:
        add_metrics(app, metrics)


def health_app(checks: Mapping[str, Check], metrics: Metrics | None = None) -> web.Application:
    app = web.Application()
    add_probes(app, checks, metrics)
    return app


@asynccontextmanager
async def serve_health(
    checks: Mapping[str, Check], host: str, port: int, metrics: Metrics | None = None
) -> AsyncIterator[int]:
    """Serve the probes alone; yields the bound port (useful with port 0)."""
    async with serve_app(health_app(checks, metrics), host, port) as bound:
        yield bound


@asynccontextmanager
async def serve_app(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve ``app``; yields the bound port (useful with port 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        addresses = runner.addresses
        yield int(addresses[0][1]) if addresses else port
    finally:
        await runner.cleanup()
