"""``vecron db``: migrations."""

from __future__ import annotations

import typer

from vecron.cli.session import out, run, state
from vecron.urls import redact_url

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply every database migration, core's and the plugins' (safe to repeat)."""
    from vecron.plugin.manager import build_registry, get_plugin_manager
    from vecron.store import open_store

    settings = state(ctx).settings()
    plugins = tuple(build_registry(get_plugin_manager()).migrations.values())

    async def body() -> None:
        store = open_store(settings.database_url)
        await store.start()
        try:
            await store.upgrade(plugins)
        finally:
            await store.close()

    run(body())
    out.print(f"database at {redact_url(settings.database_url)} is up to date")
