"""``vecron api``: serve the REST API alone (no scheduler, no worker)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer


def api(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="Port of the API, /healthz and /readyz (env VECRON_PORT).")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (env VECRON_HOST; default loopback).")
    ] = None,
) -> None:
    """Serve the REST API (/api/v1, /api/v1/docs) and the probes, without scheduling or
    running jobs."""
    from vecron import Runtime, command_settings

    settings = command_settings(ctx, port=port, host=host)

    async def serve() -> None:
        from vecron import serve_app, tune_for_serving
        from vecron_api.app import create_app

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with (
            Runtime(settings) as rt,
            serve_app(create_app(rt), settings.host, settings.port) as bound,
        ):
            tune_for_serving()
            typer.echo(f"vecron API on http://{settings.host}:{bound}/api/v1/docs", err=True)
            await stop.wait()

    asyncio.run(serve())
