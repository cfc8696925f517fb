"""How executions look on a terminal."""

from __future__ import annotations

import json
from datetime import datetime

from rich.table import Table

from vecron.cli.session import out, print_view
from vecron.services.views import ExecutionSummary, ExecutionView

#: Longest step output or error a table cell shows; ``--json`` has them whole.
CELL_LIMIT = 300


def moment(value: datetime | None) -> str:
    return value.isoformat(timespec="milliseconds") if value else "-"


def print_execution(view: ExecutionView, *, as_json: bool) -> None:
    if as_json:
        print_view(view)
        return
    e = view
    colour = {"succeeded": "green", "running": "cyan", "queued": "blue"}.get(e.status.value, "red")
    out.print(f"execution {e.id}  job {e.job_name} v{e.job_version}  [{colour}]{e.status.value}[/]")
    out.print(
        f"trigger {e.trigger} by {e.triggered_by or '-'}  attempt {e.attempt}/{e.max_attempts}"
        f"  scheduled {e.scheduled_at.isoformat() if e.scheduled_at else '-'}"
    )
    if e.error:
        out.print(f"error: {e.error}", markup=False)
    if view.steps:
        table = Table("step", "status", "attempt", "ms", "output / error")
        for s in view.steps:
            ms = int((s.finished_at - s.started_at).total_seconds() * 1000)
            text = s.error or json.dumps(s.output, ensure_ascii=False, default=str)
            table.add_row(
                s.step_id,
                s.status.value,
                str(s.attempt),
                str(ms),
                text if len(text) < CELL_LIMIT else text[: CELL_LIMIT - 3] + "...",
            )
        out.print(table)


def print_executions(executions: list[ExecutionSummary], *, as_json: bool) -> None:
    if as_json:
        print_view(executions)
        return
    table = Table("id", "job", "status", "trigger", "attempt", "scheduled", "started", "finished")
    for e in executions:
        table.add_row(
            e.id,
            e.job_name,
            e.status.value,
            e.trigger,
            f"{e.attempt}/{e.max_attempts}",
            moment(e.scheduled_at),
            moment(e.started_at),
            moment(e.finished_at),
        )
    out.print(table)
