"""``vecron job webhook NAME [--regenerate] [--json]``: a job's webhook URL, and its
signing secret when it is made, acting as :data:`vecron.LOCAL_OPERATOR`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

import vecron
from vecron import LOCAL_OPERATOR, JsonFlag

from .limits import MemoryLimits
from .service import WebhookService
from .views import WebhookView


def webhook(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The job's name.")],
    regenerate: Annotated[
        bool,
        typer.Option(
            "--regenerate",
            help="Make the signing secret, or a new one (the old one keeps working for the "
            "trigger's grace seconds); it is printed this once.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show a job's webhook URL; --regenerate makes its signing secret."""

    async def act(rt: vecron.Runtime) -> WebhookView:
        settings = rt.settings
        service = WebhookService(
            rt, MemoryLimits(lambda: 0.0), base_url=f"http://{settings.host}:{settings.port}"
        )
        if regenerate:
            return await service.regenerate(LOCAL_OPERATOR, name)
        return await service.show(LOCAL_OPERATOR, name)

    view = asyncio.run(vecron.with_runtime(ctx, act))
    if as_json:
        vecron.print_view(view)
        return
    typer.echo(f"url: {view.url}")
    if view.secret is not None:
        typer.echo(f"secret: {view.secret}")
        typer.echo("(shown this once; it is stored encrypted)", err=True)
    if view.previous_valid_until is not None:
        typer.echo(f"previous secret valid until: {view.previous_valid_until.isoformat()}")
    if not view.enabled:
        typer.echo("note: the job lists no webhook trigger; deliveries are refused (403)")


def add_to(cli: typer.Typer) -> None:
    """Add ``webhook`` to core's ``vecron job`` group."""
    for group in cli.registered_groups:
        if group.name == "job" and group.typer_instance is not None:
            group.typer_instance.command("webhook")(webhook)
            return
    cli.command("job-webhook")(webhook)  # no job group (never in vecron itself)
