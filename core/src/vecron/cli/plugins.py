"""``vecron plugins``: what is installed."""

from __future__ import annotations

import typer
from rich.table import Table

from vecron.cli.session import OPERATOR, JsonFlag, out, print_view, run, with_runtime

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Installed plugins with their distributions, versions, hooks and what they add."""
    views = run(with_runtime(ctx, lambda rt: rt.plugins.list(OPERATOR)))
    if as_json:
        print_view(views)
        return
    table = Table("plugin", "distribution", "version", "adds", "hooks")
    for view in views:
        adds = [
            *(f"executor {k}" for k in view.executors),
            *(f"trigger {k}" for k in view.triggers),
            *(f"auth {k}" for k in view.auth_backends),
            *(f"notifier {k}" for k in view.notifiers),
        ]
        table.add_row(
            view.name,
            view.distribution or "",
            view.version or "",
            ", ".join(adds),
            ", ".join(view.hooks),
        )
    out.print(table)
