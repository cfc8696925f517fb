"""``vecron db``: migrations."""

from __future__ import annotations

import typer

from vecron.cli.session import out, run, state
from vecron.urls import redact_url

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply every database migration (safe to repeat)."""
    from vecron.store import open_store

    settings = state(ctx).settings()

    async def body() -> None:
        store = open_store(settings.database_url)
        await store.start()
        try:
            await store.upgrade()
        finally:
            await store.close()

    run(body())
    out.print(f"database at {redact_url(settings.database_url)} is up to date")
