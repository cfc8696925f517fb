"""``vecron exec``: list and show executions."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from vecron.cli.render import print_execution
from vecron.cli.session import out, print_json, run, with_runtime
from vecron.errors import ValidationError
from vecron.models.execution import ExecutionStatus
from vecron.services.executions import execution_dict

app = typer.Typer(no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Option(help="Only this job (name or id).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Executions, newest first."""
    try:
        wanted = ExecutionStatus(status) if status else None
    except ValueError:
        raise ValidationError(
            f"unknown status {status!r}; one of: " + ", ".join(s.value for s in ExecutionStatus),
            field="--status",
        ) from None

    async def body(rt: Any) -> Any:
        job_id = (await rt.jobs.get(job)).id if job else None
        return await rt.executions.list_executions(job_id=job_id, status=wanted, limit=limit)

    executions = run(with_runtime(ctx, body))
    if as_json:
        print_json([execution_dict(e) for e in executions])
        return
    table = Table("id", "job", "status", "trigger", "attempt", "scheduled", "started", "finished")
    for e in executions:
        table.add_row(
            e.id,
            e.job_name,
            e.status.value,
            e.trigger,
            f"{e.attempt}/{e.max_attempts}",
            _t(e.scheduled_at),
            _t(e.started_at),
            _t(e.finished_at),
        )
    out.print(table)


def _t(value: Any) -> str:
    return value.isoformat(timespec="milliseconds") if value else "-"


@app.command("show")
def show(ctx: typer.Context, execution_id: str, as_json: JsonFlag = False) -> None:
    """One execution with each step's result."""
    detail = run(with_runtime(ctx, lambda rt: rt.executions.get(execution_id)))
    print_execution(detail, as_json=as_json)


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

    async def body(rt: Any) -> Any:
        execution = await rt.executions.rerun(execution_id, extra_attempts=attempts)
        rt.wakeup.notify()
        return execution

    execution = run(with_runtime(ctx, body))
    if as_json:
        print_json(execution_dict(execution))
    else:
        left = execution.max_attempts - execution.attempt
        out.print(f"execution {execution.id}: queued again ({left} attempts)")
