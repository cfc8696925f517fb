"""``vecron job``: apply, list, show, run, enable, disable, delete, schema."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vecron.cli.render import print_execution
from vecron.cli.session import out, print_json, run, with_runtime
from vecron.errors import ExecutionFailed, ValidationError
from vecron.jobs.masking import masked_document
from vecron.models.execution import ExecutionStatus
from vecron.models.job import JobRecord

app = typer.Typer(no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def job_summary(job: JobRecord) -> dict[str, Any]:
    d = job.definition
    return {
        "id": job.id,
        "name": job.name,
        "enabled": job.enabled,
        "version": job.version,
        "timezone": d.timezone,
        "triggers": [t.type for t in d.triggers],
        "steps": [s.id for s in d.steps],
        "next_fire_at": job.next_fire_at.isoformat() if job.next_fire_at else None,
        "last_finished_at": job.last_finished_at.isoformat() if job.last_finished_at else None,
        "updated_at": job.updated_at.isoformat(),
    }


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
    changes = run(with_runtime(ctx, lambda rt: rt.jobs.apply(file, dry_run=dry_run)))
    if as_json:
        print_json(
            [
                {
                    "name": c.name,
                    "source": c.source,
                    "change": c.change,
                    "version": c.version,
                    "diff": c.diff,
                }
                for c in changes
            ]
        )
        return
    for c in changes:
        style = {"created": "green", "updated": "yellow", "unchanged": "dim"}[c.change]
        prefix = "would be " if dry_run and c.change != "unchanged" else ""
        out.print(f"[{style}]{c.name}: {prefix}{c.change}[/] (v{c.version}, {c.source})")
        if c.change == "updated" and c.diff:
            out.print(c.diff, markup=False)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """All jobs with their next fire time."""
    jobs = run(with_runtime(ctx, lambda rt: rt.jobs.list_jobs()))
    if as_json:
        print_json([job_summary(j) for j in jobs])
        return
    table = Table("name", "enabled", "v", "triggers", "steps", "next fire (UTC)")
    for j in jobs:
        s = job_summary(j)
        table.add_row(
            j.name,
            "yes" if j.enabled else "no",
            str(j.version),
            ", ".join(s["triggers"]),
            ", ".join(s["steps"]),
            s["next_fire_at"] or "-",
        )
    out.print(table)


@app.command("show")
def show(ctx: typer.Context, name: str, as_json: JsonFlag = False) -> None:
    """One job: its definition (secrets masked) and scheduling state."""

    async def body(rt: Any) -> dict[str, Any]:
        job = await rt.jobs.get(name)
        return {**job_summary(job), "definition": masked_document(job.definition, rt.registry)}

    data = run(with_runtime(ctx, body))
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key != "definition":
            out.print(f"[bold]{key}[/]: {value}")
    out.print(json.dumps(data["definition"], indent=2, ensure_ascii=False), markup=False)


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
    """Run a job now (manual trigger)."""
    params = _params(param or [])

    async def body(rt: Any) -> Any:
        execution, _ = await rt.jobs.run_now(
            name,
            params=params,
            triggered_by=f"cli:{getpass.getuser()}",
            idempotency_key=idempotency_key,
        )
        if not wait:
            return await rt.executions.get(execution.id)
        if rt.settings.queue_url.startswith("memory:"):
            return await _run_here(rt, execution, timeout)
        return await rt.executions.wait(execution.id, timeout=timeout)

    detail = run(with_runtime(ctx, body))
    print_execution(detail, as_json=as_json)
    if wait and detail.execution.status is not ExecutionStatus.SUCCEEDED:
        raise ExecutionFailed(
            f"execution {detail.execution.id} ended {detail.execution.status.value}"
            + (f": {detail.execution.error}" if detail.execution.error else "")
        )


async def _run_here(rt: Any, execution: Any, timeout: float | None) -> Any:
    """With the in-process queue nobody else can see the execution: run a worker here."""
    from vecron.queue import QueueMessage

    stop = asyncio.Event()
    worker = rt.worker(concurrency=4)
    task = asyncio.create_task(worker.run(stop, grace=5))
    try:
        await rt.queue.publish(
            [QueueMessage(execution.id, execution.not_before, execution.attempt)]
        )
        async with asyncio.timeout(timeout):
            while True:  # retries come back unpublished: hand each attempt to the worker
                current = await rt.store.get_execution(execution.id)
                if current.status.finished:
                    return await rt.executions.get(execution.id)
                if (
                    current.status is ExecutionStatus.QUEUED
                    and current.attempt > 0
                    and not current.published
                ):
                    await rt.queue.publish(
                        [QueueMessage(current.id, current.not_before, current.attempt)]
                    )
                    await rt.store.mark_published([current])
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


def _set_enabled(ctx: typer.Context, name: str, enabled: bool, as_json: bool) -> None:
    job = run(with_runtime(ctx, lambda rt: rt.jobs.set_enabled(name, enabled)))
    if as_json:
        print_json(job_summary(job))
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
    job = run(with_runtime(ctx, lambda rt: rt.jobs.delete(name)))
    if as_json:
        print_json({"deleted": job.name, "id": job.id})
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
    _, occurrences = run(with_runtime(ctx, lambda rt: rt.jobs.ledger(name, limit=limit)))
    rows = [
        {
            "fire_time": o.fire_time.isoformat(),
            "status": o.status.value,
            "reason": o.reason,
            "execution_id": o.execution_id,
            "recorded_at": o.recorded_at.isoformat(),
        }
        for o in occurrences
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("fire time (UTC)", "status", "reason", "execution")
    for r in rows:
        table.add_row(r["fire_time"], r["status"], r["reason"] or "", r["execution_id"] or "")
    out.print(table)


@app.command("schema")
def schema(ctx: typer.Context) -> None:
    """The JSON Schema of job documents for the installed executors and triggers."""
    from vecron.jobs.documents import json_schema
    from vecron.plugin.manager import build_registry, get_plugin_manager

    print_json(json_schema(build_registry(get_plugin_manager())))
