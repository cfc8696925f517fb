"""``vecron job``: apply, list, show, versions, run, enable, disable, delete, ledger, schema."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vecron.cli.render import print_execution
from vecron.cli.session import (
    OPERATOR,
    JsonFlag,
    out,
    print_json,
    print_view,
    run,
    runtime,
    with_runtime,
)
from vecron.errors import ExecutionFailed, ValidationError
from vecron.models.execution import ExecutionStatus
from vecron.services.paging import collect

if TYPE_CHECKING:
    from vecron.runtime import Runtime
    from vecron.services.views import ExecutionView, JobSummary

app = typer.Typer(no_args_is_help=True)


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Option("-f", "--file", help="A job document (JSON/YAML) or a folder of them.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; save nothing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create or update jobs from files and show what changed (a diff for updates).

    Every document is validated before anything is saved: one bad file saves nothing.
    """
    changes = run(with_runtime(ctx, lambda rt: rt.jobs.apply(OPERATOR, file, dry_run=dry_run)))
    if as_json:
        print_view(changes)
        return
    for c in changes:
        style = {"created": "green", "updated": "yellow", "unchanged": "dim"}[c.change]
        prefix = "would be " if dry_run and c.change != "unchanged" else ""
        out.print(f"[{style}]{c.name}: {prefix}{c.change}[/] (v{c.version}, {c.source})")
        if c.change == "updated" and c.diff:
            out.print(c.diff, markup=False)


def _moment(job: JobSummary) -> str:
    return job.next_fire_at.isoformat() if job.next_fire_at else "-"


def _rate(job: JobSummary) -> str:
    return "-" if job.success_rate is None else f"{job.success_rate:.0%}"


@app.command("list")
def list_(
    ctx: typer.Context,
    enabled: Annotated[
        bool | None,
        typer.Option("--enabled/--disabled", help="Only enabled (or disabled) jobs."),
    ] = None,
    search: Annotated[
        str | None, typer.Option(help="Only jobs whose name holds this, in any case.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """All jobs with their last run, success rate (7 days) and next fire time."""

    def every_page(rt: Runtime) -> Awaitable[list[JobSummary]]:
        return collect(
            lambda cursor, size: rt.jobs.list_jobs(
                OPERATOR, enabled=enabled, search=search, cursor=cursor, limit=size
            )
        )

    jobs = run(with_runtime(ctx, every_page))
    if as_json:
        print_view(jobs)
        return
    table = Table(
        "name", "enabled", "v", "triggers", "steps", "last run", "ok 7d", "next fire (UTC)"
    )
    for j in jobs:
        table.add_row(
            j.name,
            "yes" if j.enabled else "no",
            str(j.version),
            ", ".join(j.triggers),
            ", ".join(j.steps),
            j.last_status.value if j.last_status else "-",
            _rate(j),
            _moment(j),
        )
    out.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str,
    version: Annotated[
        int | None, typer.Option(min=1, help="This saved version's definition.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """One job: its definition (secrets masked), scheduling state and stats."""
    job = run(
        with_runtime(
            ctx,
            lambda rt: (
                rt.jobs.get(OPERATOR, name)
                if version is None
                else rt.jobs.version(OPERATOR, name, version)
            ),
        )
    )
    if as_json:
        print_view(job)
        return
    for key, value in job.model_dump(mode="json", exclude={"definition"}).items():
        out.print(f"[bold]{key}[/]: {value}")
    out.print(json.dumps(job.definition, indent=2, ensure_ascii=False), markup=False)


def _params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"--param {item!r} must look like KEY=VALUE")
        params[key] = value
    return params


@app.command("run")
def run_(
    ctx: typer.Context,
    name: str,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the end; exit 1 if it fails.")
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE, repeatable.")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Same key twice gives the same execution.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: give up after this many seconds.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a job now (manual trigger).

    Refused (exit 77) if the job is disabled or has policy.allow_manual: false.

    Refused (exit 75) if it allows no overlap and a run of it is in progress.
    """
    params = _params(param or [])

    async def body(rt: Runtime) -> ExecutionView:
        execution = (
            await rt.triggers.fire(
                OPERATOR,
                name,
                kind="manual",
                params=params,
                by=f"cli:{getpass.getuser()}",
                idempotency_key=idempotency_key,
            )
        ).execution
        if not wait:
            return await rt.executions.get(OPERATOR, execution.id, context=True)
        finished = rt.executions.wait(OPERATOR, execution.id, timeout=timeout, context=True)
        if rt.settings.queue_url.startswith("memory:"):
            return await _work_here(rt, finished)
        return await finished

    view = run(with_runtime(ctx, body))
    print_execution(view, as_json=as_json)
    if wait and view.status is not ExecutionStatus.SUCCEEDED:
        error = f": {view.error}" if view.error else ""
        raise ExecutionFailed(f"execution {view.id} ended {view.status.value}{error}")


async def _work_here(rt: Runtime, finished: Awaitable[ExecutionView]) -> ExecutionView:
    """With the in-process queue nobody else sees the execution: this process relays
    and works until it is finished, as ``vecron up`` would."""
    from vecron.scheduling.relay import Relay

    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(rt.worker(concurrency=4).run(stop, grace=5)),
        asyncio.create_task(
            Relay(rt.store, rt.queue, batch_size=rt.settings.batch_size).run(
                stop, rt.wakeup, lookahead=rt.settings.scheduler_lookahead
            )
        ),
    ]
    try:
        return await finished
    finally:
        stop.set()
        await asyncio.gather(*tasks)


def _set_enabled(ctx: typer.Context, name: str, enabled: bool, as_json: bool) -> None:
    job = run(with_runtime(ctx, lambda rt: rt.jobs.set_enabled(OPERATOR, name, enabled)))
    if as_json:
        print_view(job)
    else:
        out.print(f"{job.name}: {'enabled' if enabled else 'disabled'}")


@app.command("enable")
def enable(ctx: typer.Context, name: str, as_json: JsonFlag = False) -> None:
    """Schedule the job again from now."""
    _set_enabled(ctx, name, True, as_json)


@app.command("disable")
def disable(ctx: typer.Context, name: str, as_json: JsonFlag = False) -> None:
    """Stop scheduling the job; executions not started yet are cancelled."""
    _set_enabled(ctx, name, False, as_json)


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete a job (its execution history stays)."""
    if not yes and not typer.confirm(f"delete job {name!r}?"):
        raise typer.Abort()
    job = run(with_runtime(ctx, lambda rt: rt.jobs.delete(OPERATOR, name)))
    if as_json:
        print_view(job)
    else:
        out.print(f"{job.name}: deleted")


@app.command("ledger")
def ledger(
    ctx: typer.Context,
    name: str,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The job's planned fires, newest first: fired, skipped, missed or coalesced, and why."""
    entries = run(with_runtime(ctx, lambda rt: rt.jobs.ledger(OPERATOR, name, limit=limit)))
    if as_json:
        print_view(entries)
        return
    table = Table("fire time (UTC)", "status", "reason", "execution")
    for e in entries:
        table.add_row(e.fire_time.isoformat(), e.status.value, e.reason or "", e.execution_id or "")
    out.print(table)


@app.command("versions")
def versions(ctx: typer.Context, name: str, as_json: JsonFlag = False) -> None:
    """Every saved version of a job, oldest first (``job show NAME --version N`` shows
    one)."""
    found = run(with_runtime(ctx, lambda rt: rt.jobs.versions(OPERATOR, name)))
    if as_json:
        print_view(found)
        return
    table = Table("v", "saved (UTC)", "enabled", "triggers", "steps", "")
    for v in found:
        table.add_row(
            str(v.version),
            v.saved_at.isoformat(timespec="seconds"),
            "yes" if v.enabled else "no",
            ", ".join(v.triggers),
            ", ".join(v.steps),
            "current" if v.current else "",
        )
    out.print(table)


@app.command("schema")
def schema(ctx: typer.Context) -> None:
    """The JSON Schema of job documents for the installed executors and triggers."""
    from vecron.jobs.documents import json_schema

    print_json(json_schema(runtime(ctx).registry))
