"""``vecron plugins``: what is installed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vecron.cli.session import out, print_json, runtime

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Installed plugins with their distributions, versions, hooks, executors and triggers."""
    from vecron.plugin.manager import list_plugins

    rt = runtime(ctx)
    infos = list_plugins(rt.pm, rt.registry)
    if as_json:
        print_json([i.as_dict() for i in infos])
        return
    table = Table("plugin", "distribution", "version", "executors", "triggers", "hooks")
    for i in infos:
        table.add_row(
            i.name,
            i.distribution or "",
            i.version or "",
            ", ".join(i.executors),
            ", ".join(i.triggers),
            ", ".join(i.hooks),
        )
    out.print(table)
