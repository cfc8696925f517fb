"""``vecron exec``: list, show, cancel and re-run executions; the dead letters."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated

import typer

from vecron.cli.render import print_execution, print_executions
from vecron.cli.session import (
    OPERATOR,
    JsonFlag,
    moment_option,
    out,
    print_view,
    run,
    with_runtime,
)
from vecron.services.paging import collect

if TYPE_CHECKING:
    from vecron.runtime import Runtime
    from vecron.services.views import ExecutionSummary

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Option(help="Only this job (name or id).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    trigger: Annotated[
        str | None, typer.Option(help="Only those this trigger made (cron, manual, webhook ...).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only those created at or after this ISO datetime.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only those created before this ISO datetime.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Executions, newest first."""
    start, end = moment_option(since, "--since"), moment_option(until, "--until")

    def fetch(rt: Runtime) -> Awaitable[list[ExecutionSummary]]:
        return collect(
            lambda cursor, size: rt.executions.list_executions(
                OPERATOR,
                job=job,
                status=status,
                trigger=trigger,
                since=start,
                until=end,
                cursor=cursor,
                limit=size,
            ),
            limit,
        )

    print_executions(run(with_runtime(ctx, fetch)), as_json=as_json)


@app.command("dead-letters")
def dead_letters(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Option(help="Only this job (name or id).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Executions that failed for good, the last dead-lettered first (re-run them with
    ``vecron exec rerun``)."""

    def fetch(rt: Runtime) -> Awaitable[list[ExecutionSummary]]:
        return collect(
            lambda cursor, size: rt.executions.dead_letters(
                OPERATOR, job=job, cursor=cursor, limit=size
            ),
            limit,
        )

    print_executions(run(with_runtime(ctx, fetch)), as_json=as_json)


@app.command("show")
def show(ctx: typer.Context, execution_id: str, as_json: JsonFlag = False) -> None:
    """One execution with each step's result (``--json``: with the whole Job Context)."""
    view = run(
        with_runtime(ctx, lambda rt: rt.executions.get(OPERATOR, execution_id, context=True))
    )
    print_execution(view, as_json=as_json)


@app.command("rerun")
def rerun(
    ctx: typer.Context,
    execution_id: str,
    attempts: Annotated[
        int | None, typer.Option(min=1, help="Attempts it gets (default: the job's max).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-run a dead-lettered execution; it resumes at the step that failed."""
    execution = run(
        with_runtime(
            ctx, lambda rt: rt.executions.rerun(OPERATOR, execution_id, extra_attempts=attempts)
        )
    )
    if as_json:
        print_view(execution)
    else:
        left = execution.max_attempts - execution.attempt
        out.print(f"execution {execution.id}: queued again ({left} attempts)")


@app.command("cancel")
def cancel(ctx: typer.Context, execution_id: str, as_json: JsonFlag = False) -> None:
    """Cancel an execution: a queued one at once; a running one is stopped by its worker
    at its next lease extension."""
    execution = run(with_runtime(ctx, lambda rt: rt.executions.cancel(OPERATOR, execution_id)))
    if as_json:
        print_view(execution)
    elif execution.status.value == "cancelled":
        out.print(f"execution {execution.id}: cancelled")
    else:
        out.print(f"execution {execution.id}: {execution.status.value}, cancel requested")
