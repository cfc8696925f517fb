"""``vecron schedule explain``: the next fire times of a cron expression."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from vecron.cli.session import out, print_json, state
from vecron.errors import ValidationError

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
    from vecron.jobs.documents import check_timezone
    from vecron.plugin.manager import build_registry, get_plugin_manager
    from vecron.plugin.trigger import ScheduleContext
    from vecron.services.schedules import build_trigger, explain_schedule

    zone = check_timezone(tz or state(ctx).settings().timezone, field="--tz")
    start = datetime.now(UTC)
    if after:
        try:
            start = datetime.fromisoformat(after)
        except ValueError:
            raise ValidationError(f"not an ISO datetime: {after!r}", field="--after") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
    trigger = build_trigger(
        build_registry(get_plugin_manager()),
        "cron",
        {"expression": expression},
        ScheduleContext(tz=zone),
    )
    previews = explain_schedule(trigger, count=count, after=start)
    if as_json:
        print_json(
            {
                "expression": expression,
                "timezone": zone.key,
                "fires": [
                    {"at": p.at.isoformat(), "local": p.local.isoformat(), "note": p.note}
                    for p in previews
                ],
            }
        )
        return
    table = Table("#", f"local time ({zone.key})", "UTC", "note")
    for index, p in enumerate(previews, 1):
        table.add_row(
            str(index),
            p.local.strftime("%a %Y-%m-%d %H:%M:%S %z"),
            p.at.strftime("%Y-%m-%d %H:%M:%S"),
            p.note or "",
        )
    out.print(table)
