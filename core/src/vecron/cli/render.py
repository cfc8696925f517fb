"""How executions look on a terminal."""

from __future__ import annotations

import json

from rich.table import Table

from vecron.cli.session import out, print_json
from vecron.services.executions import ExecutionDetail


def print_execution(detail: ExecutionDetail, *, as_json: bool) -> None:
    if as_json:
        print_json(detail.as_dict())
        return
    e = detail.execution
    colour = {"succeeded": "green", "running": "cyan", "queued": "blue"}.get(e.status.value, "red")
    out.print(f"execution {e.id}  job {e.job_name} v{e.job_version}  [{colour}]{e.status.value}[/]")
    out.print(
        f"trigger {e.trigger} by {e.triggered_by or '-'}  attempt {e.attempt}/{e.max_attempts}"
        f"  scheduled {e.scheduled_at.isoformat() if e.scheduled_at else '-'}"
    )
    if e.error:
        out.print(f"error: {e.error}", markup=False)
    if detail.steps:
        table = Table("step", "status", "attempt", "ms", "output / error")
        for s in detail.steps:
            ms = int((s.finished_at - s.started_at).total_seconds() * 1000)
            text = s.error or json.dumps(s.output, ensure_ascii=False, default=str)
            table.add_row(
                s.step_id,
                s.status.value,
                str(s.attempt),
                str(ms),
                text if len(text) < 300 else text[:297] + "...",
            )
        out.print(table)
