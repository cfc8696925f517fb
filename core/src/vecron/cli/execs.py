"""``vecron exec``: list, show and re-run executions."""

from __future__ import annotations

from typing import Annotated

import typer

from vecron.cli.render import print_execution, print_executions
from vecron.cli.session import OPERATOR, JsonFlag, out, print_view, run, with_runtime

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Option(help="Only this job (name or id).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Executions, newest first."""
    executions = run(
        with_runtime(
            ctx,
            lambda rt: rt.executions.list_executions(OPERATOR, job=job, status=status, limit=limit),
        )
    )
    print_executions(executions, as_json=as_json)


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
