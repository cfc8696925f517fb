"""``GET /metrics``: the process's registry in Prometheus's text format."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from vecron.metrics.instruments import Metrics

METRICS = web.AppKey("metrics", Metrics)


async def metrics_page(request: web.Request) -> web.Response:
    body = await request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_metrics(app: web.Application, metrics: Metrics) -> None:
    """Serve ``metrics`` at ``/metrics``, outside the API's ``/api/v1`` like the probes."""
    app[METRICS] = metrics
    app.router.add_get("/metrics", metrics_page)
