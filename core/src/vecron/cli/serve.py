"""Long-running commands: ``up``, ``scheduler``, ``worker``."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer

from vecron.cli.session import OPERATOR, out, run, state
from vecron.telemetry import get_logger
from vecron.urls import redact_url

log = get_logger("vecron")


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def _serve(
    ctx: typer.Context,
    *,
    scheduler: bool,
    worker: bool,
    api: bool,
    example: bool,
    port: int | None,
    concurrency: int | None,
) -> None:
    from vecron.health import health_app, serve_app
    from vecron.runtime import Runtime, tune_for_serving

    settings = state(ctx).settings(port=port)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    async with (
        Runtime(settings) as rt,
        serve_app(
            web_app(rt) if api else health_app(rt.readiness_checks(), rt.metrics),
            settings.host,
            settings.port,
        ) as bound,
    ):
        tune_for_serving()
        log.info(
            "listening",
            url=f"http://{settings.host}:{bound}/",
            database=redact_url(settings.database_url),
            queue=redact_url(settings.queue_url),
            lock=redact_url(settings.lock_url),
            storage=redact_url(settings.storage_url),
        )
        if example:
            await _seed_example(rt, settings.host, bound)
        tasks = []
        if scheduler:
            tasks.append(asyncio.create_task(rt.scheduler().run(stop)))
        if worker:
            tasks.append(asyncio.create_task(rt.worker(concurrency=concurrency).run(stop)))
        await asyncio.wait(
            [*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        stop.set()
        for task in tasks:
            await task  # re-raises a crash of the scheduler or worker


def web_app(rt: Any) -> Any:
    """What this process serves on its port: the API's app when a plugin gives one
    (``vecron_web_app``), else the probes alone."""
    from aiohttp import web

    from vecron.errors import ConfigurationError
    from vecron.health import health_app

    app = rt.pm.hook.vecron_web_app(runtime=rt)
    if app is None:
        return health_app(rt.readiness_checks(), rt.metrics)
    if not isinstance(app, web.Application):
        raise ConfigurationError(f"vecron_web_app returned {type(app).__name__}, no web app")
    return app


async def _seed_example(rt: Any, host: str, port: int) -> None:
    """A fresh database gets one job that visibly runs: GET our own /healthz every 5 s."""
    if (await rt.jobs.list_jobs(OPERATOR, limit=1)).items or "http" not in rt.registry.executors:
        return
    definition = rt.jobs.parse(
        {
            "name": "example-healthz",
            "description": "Example: GET vecron's own /healthz every 5 seconds.",
            "triggers": [{"type": "cron", "expression": "*/5 * * * * ?"}],
            "steps": [
                {
                    "id": "ping",
                    "type": "http",
                    "method": "GET",
                    "url": f"http://{host}:{port}/healthz",
                    "timeout": 10,
                }
            ],
            "retry": {"max_attempts": 3, "delay": 1},
        }
    )
    await rt.jobs.save(OPERATOR, definition)
    out.print(
        "created example job 'example-healthz' (GET /healthz every 5 s); "
        "watch it with `vecron exec list`, stop it with `vecron job disable example-healthz`"
    )


Port = Annotated[int | None, typer.Option(help="Port of /healthz and /readyz (env VECRON_PORT).")]
ApiPort = Annotated[
    int | None, typer.Option(help="Port of the API, /healthz and /readyz (env VECRON_PORT).")
]
Concurrency = Annotated[
    int | None, typer.Option(help="Executions run at once (env VECRON_WORKER_CONCURRENCY).")
]


def up(
    ctx: typer.Context,
    port: ApiPort = None,
    concurrency: Concurrency = None,
    example: Annotated[
        bool, typer.Option(help="Create the example job in an empty database.")
    ] = True,
) -> None:
    """Run scheduler, worker and the REST API in one process on the configured backends
    (embedded by default)."""
    run(
        _serve(
            ctx,
            scheduler=True,
            worker=True,
            api=True,
            example=example,
            port=port,
            concurrency=concurrency,
        )
    )


def scheduler(ctx: typer.Context, port: Port = None) -> None:
    """Run only the scheduler (with /healthz and /readyz; `vecron api` serves the API)."""
    run(
        _serve(
            ctx,
            scheduler=True,
            worker=False,
            api=False,
            example=False,
            port=port,
            concurrency=None,
        )
    )


def worker(ctx: typer.Context, port: Port = None, concurrency: Concurrency = None) -> None:
    """Run only a worker (with /healthz and /readyz)."""
    run(
        _serve(
            ctx,
            scheduler=False,
            worker=True,
            api=False,
            example=False,
            port=port,
            concurrency=concurrency,
        )
    )
