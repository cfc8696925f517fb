"""The Typer application and its global flags (the top configuration layer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vecron.cli import (
    alerts,
    audit,
    db,
    execs,
    jobs,
    plugins,
    schedule,
    secrets,
    serve,
    transfer,
    variables,
)
from vecron.cli.session import CliState

app = typer.Typer(
    name="vecron",
    help="vecron: cron with seconds and time zones, multi-step jobs, executor plugins.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option(help="Settings file (default ./vecron.toml; env VECRON_CONFIG).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (env VECRON_DATABASE_URL).")
    ] = None,
    queue_url: Annotated[str | None, typer.Option(help="Queue URL (env VECRON_QUEUE_URL).")] = None,
    storage_url: Annotated[
        str | None, typer.Option(help="Object storage URL (env VECRON_STORAGE_URL).")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="Default time zone of new jobs.")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
) -> None:
    """Settings come from defaults < vecron.toml < VECRON_* environment < these flags."""
    import os

    if config is not None:
        os.environ["VECRON_CONFIG"] = str(config)
    ctx.obj = CliState(
        overrides={
            "database_url": database_url,
            "queue_url": queue_url,
            "storage_url": storage_url,
            "timezone": timezone,
            "log_level": log_level,
        }
    )
    _configure_logging(ctx.obj)


def _configure_logging(cli: CliState) -> None:
    """Logs go to stderr from the first line on, so ``--json`` output on stdout stays clean."""
    from vecron.errors import ConfigurationError
    from vecron.telemetry import configure_logging

    try:
        settings = cli.settings()
    except ConfigurationError:
        configure_logging()  # the command reports the bad setting itself
        return
    configure_logging(settings.log_level, settings.log_format)


app.command("up")(serve.up)
app.command("scheduler")(serve.scheduler)
app.command("worker")(serve.worker)
transfer.register(jobs.app)
app.add_typer(jobs.app, name="job", help="Create, change, inspect and run jobs.")
app.add_typer(execs.app, name="exec", help="Inspect executions.")
app.add_typer(schedule.app, name="schedule", help="Explain schedules.")
app.add_typer(plugins.app, name="plugins", help="Installed plugins.")
app.add_typer(db.app, name="db", help="Database migrations.")
app.add_typer(variables.app, name="var", help="Global and job variables; secret ones masked.")
app.add_typer(alerts.app, name="alerts", help="Alerts: test a configured notifier.")
app.add_typer(audit.app, name="audit", help="The audit log: changes and refused attempts.")
app.add_typer(
    secrets.app,
    name="secrets",
    help="Keys of secret variables (production must set VECRON_SECRET_KEYS).",
)
