"""``vecron audit``: who did what to which resource, when, from where (S8.3)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from vecron.cli.session import OPERATOR, moment_option, out, print_view, run, with_runtime
from vecron.services.paging import collect

if TYPE_CHECKING:
    from vecron.auth import AuditEntry
    from vecron.runtime import Runtime

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    resource: Annotated[
        str | None, typer.Option(help="Only this resource (job:NAME, execution:ID, variable:NAME).")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action (job.create, variable.set ...).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only entries at or after this ISO datetime.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The audit log, newest first: every change, and every refused attempt."""
    start = moment_option(since, "--since")

    def fetch(rt: Runtime) -> Awaitable[list[AuditEntry]]:
        return collect(
            lambda cursor, size: rt.audit.list(
                OPERATOR,
                actor=actor,
                resource=resource,
                action=action,
                since=start,
                cursor=cursor,
                limit=size,
            ),
            limit,
        )

    entries = run(with_runtime(ctx, fetch))
    if as_json:
        print_view(entries)
        return
    table = Table("at (UTC)", "actor", "source", "action", "resource", "outcome")
    for e in entries:
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            Text(e.actor),
            Text(e.source if e.address is None else f"{e.source} {e.address}"),
            e.action,
            Text(e.resource),
            e.outcome.value,
        )
    out.print(table)
