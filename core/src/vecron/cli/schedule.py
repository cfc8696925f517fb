"""``vecron schedule explain``: the next fire times of a cron expression."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vecron.cli.session import moment_option, out, print_view, runtime

app = typer.Typer(no_args_is_help=True)


@app.command("explain")
def explain(
    ctx: typer.Context,
    expression: Annotated[
        str, typer.Argument(help="Quartz cron (6-7 fields) or Unix cron (5 fields).")
    ],
    tz: Annotated[
        str | None, typer.Option("--tz", help="IANA time zone (default from settings).")
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000)] = 10,
    after: Annotated[
        str | None, typer.Option(help="Start after this ISO datetime (default now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the next fire times in the time zone, marking DST transitions."""
    explanation = runtime(ctx).schedules.explain(
        {"type": "cron", "expression": expression},
        timezone=tz,
        count=count,
        after=moment_option(after, "--after"),
    )
    if as_json:
        print_view(explanation)
        return
    table = Table("#", f"local time ({explanation.timezone})", "UTC", "note")
    for index, fire in enumerate(explanation.fires, 1):
        table.add_row(
            str(index),
            fire.local.strftime("%a %Y-%m-%d %H:%M:%S %z"),
            fire.at.strftime("%Y-%m-%d %H:%M:%S"),
            fire.note or "",
        )
    out.print(table)
