"""What a service call leaves behind: its audit entry (who, what, where from), its typed
events once committed, and views with nothing secret in clear."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from vecron.auth import LOCAL_OPERATOR, AuditEntry, AuditOutcome, Permission, Principal
from vecron.clock import utcnow
from vecron.errors import ConflictError, ValidationError
from vecron.events import (
    Event,
    ExecutionCreated,
    JobChanged,
    VariableChanged,
)
from vecron.models.execution import ExecutionStatus, Outcome
from vecron.runtime import Runtime
from vecron.secrets.redaction import MASK
from vecron.services.executions import ExecutionService

ALICE = Principal(
    subject="alice",
    permissions=frozenset(Permission),
    source="api",
    address="198.51.100.4",
)
TOKEN = "bearer-token-5d1e"


class Recorder:
    """An event sink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for e in self.events:
            if isinstance(e, JobChanged):
                out.append(("job", e.job_name, e.change.value, e.actor))
            elif isinstance(e, VariableChanged):
                out.append(("variable", e.name, e.job or "", e.change.value, e.actor))
            elif isinstance(e, ExecutionCreated):
                out.append(("execution", e.trigger))
        return out


@pytest.fixture
def events(runtime: Runtime) -> Recorder:
    recorder = Recorder()
    runtime.jobs.events = recorder
    runtime.triggers.events = recorder
    runtime.executions.events = recorder
    runtime.variables.events = recorder
    return recorder


def document(name: str, **fields: object) -> dict[str, object]:
    return {"name": name, "steps": [{"id": "a", "type": "record"}], **fields}


async def actions(runtime: Runtime) -> list[tuple[str, str, AuditOutcome]]:
    """Alice's audit entries, oldest first."""
    entries: Sequence[AuditEntry] = await runtime.store.list_audit(actor="alice")
    assert all((e.source, e.address) == ("api", "198.51.100.4") for e in entries)
    return [(e.action, e.resource, e.outcome) for e in reversed(entries)]


async def test_job_changes_are_audited_and_announced(runtime: Runtime, events: Recorder) -> None:
    jobs = runtime.jobs
    await jobs.save(ALICE, jobs.parse(document("report")))
    await jobs.save(ALICE, jobs.parse(document("report")))  # unchanged: nothing happened
    await jobs.save(ALICE, jobs.parse(document("report", description="v2")))
    await jobs.set_enabled(ALICE, "report", False)
    await jobs.set_enabled(ALICE, "report", True)
    await jobs.delete(ALICE, "report")
    ok = AuditOutcome.OK
    assert await actions(runtime) == [
        ("job.create", "job:report", ok),
        ("job.update", "job:report", ok),
        ("job.disable", "job:report", ok),
        ("job.enable", "job:report", ok),
        ("job.delete", "job:report", ok),
    ]
    assert events.kinds() == [
        ("job", "report", change, "alice")
        for change in ("created", "updated", "disabled", "enabled", "deleted")
    ]


async def test_runs_and_reruns_are_audited_and_announced(
    runtime: Runtime, events: Recorder
) -> None:
    jobs = runtime.jobs
    await jobs.save(LOCAL_OPERATOR, jobs.parse(document("report")))
    events.events.clear()
    fired = await runtime.triggers.fire(
        ALICE, "report", kind="manual", idempotency_key="k", params={"a": "1"}
    )
    again = await runtime.triggers.fire(
        ALICE, "report", kind="manual", idempotency_key="k", params={"a": "1"}
    )
    first = fired.execution
    assert (fired.created, again.created, again.execution.id) == (True, False, first.id)
    assert first.triggered_by == "alice"  # no front end named one: the principal
    # A worker gives up on it: dead-lettered.
    now = utcnow()
    [claimed] = await runtime.store.claim(
        [first.id], "w", lease_until=now + timedelta(minutes=1), now=now
    )
    await runtime.store.record(
        [], [Outcome.dead_lettered(claimed, ExecutionStatus.FAILED, now, "x")]
    )
    woken: list[bool] = []
    executions = ExecutionService(
        runtime.store, runtime.storage, on_change=lambda: woken.append(True), events=events
    )
    rerun = await executions.rerun(ALICE, first.id, extra_attempts=2)
    assert rerun.status is ExecutionStatus.QUEUED and rerun.max_attempts == 3
    assert woken == [True]  # the scheduler hands it to a worker at once
    assert await actions(runtime) == [
        ("job.run", "job:report", AuditOutcome.OK),  # once: the repeat changed nothing
        ("execution.rerun", f"execution:{first.id}", AuditOutcome.OK),
    ]
    [run_entry] = await runtime.store.list_audit(action="job.run")
    # The trigger kind and the parameter names, never their values.
    assert run_entry.detail == {"kind": "manual", "params": ["a"]}
    assert events.kinds() == [("execution", "manual"), ("execution", "rerun")]


async def test_a_refused_run_leaves_no_entry_and_no_event(
    runtime: Runtime, events: Recorder
) -> None:
    jobs = runtime.jobs
    await jobs.save(LOCAL_OPERATOR, jobs.parse(document("single", policy={"overlap": "skip"})))
    events.events.clear()
    await runtime.triggers.fire(ALICE, "single", kind="manual")
    with pytest.raises(ConflictError):
        await runtime.triggers.fire(ALICE, "single", kind="manual")
    assert await actions(runtime) == [("job.run", "job:single", AuditOutcome.OK)]
    assert events.kinds() == [("execution", "manual")]


async def test_variable_changes_are_audited_without_their_values(
    runtime: Runtime, events: Recorder
) -> None:
    await runtime.jobs.save(LOCAL_OPERATOR, runtime.jobs.parse(document("report")))
    events.events.clear()
    variables = runtime.variables
    await variables.set(ALICE, "TOKEN", TOKEN, secret=True)
    await variables.set(ALICE, "TOKEN", TOKEN + "-2", secret=True)
    await variables.set(ALICE, "URL", "https://example.test", job="report")
    assert (await variables.get(ALICE, "TOKEN")).value == MASK  # a read: no entry
    assert (await variables.reveal(ALICE, "TOKEN")).value == TOKEN + "-2"
    await variables.delete(ALICE, "URL", job="report")
    assert (await variables.rotate_key(ALICE)).reencrypted == 1
    ok = AuditOutcome.OK
    assert await actions(runtime) == [
        ("variable.set", "variable:TOKEN", ok),
        ("variable.set", "variable:TOKEN", ok),
        ("variable.set", "variable:report/URL", ok),
        ("variable.reveal", "variable:TOKEN", ok),
        ("variable.delete", "variable:report/URL", ok),
        ("secrets.rotate-key", "variable:*", ok),
    ]
    assert events.kinds() == [
        ("variable", "TOKEN", "", "created", "alice"),
        ("variable", "TOKEN", "", "updated", "alice"),
        ("variable", "URL", "report", "created", "alice"),
        ("variable", "URL", "report", "deleted", "alice"),
    ]
    entries = await runtime.store.list_audit(actor="alice")
    everything = repr(entries) + repr(events.events)
    assert TOKEN not in everything


async def test_job_views_and_apply_diffs_mask_secret_fields(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "api.json"
    step = {"id": "call", "type": "http", "url": "http://127.0.0.1:9/"}
    path.write_text(
        json.dumps({"name": "api", "steps": [{**step, "auth": {"type": "bearer", "token": TOKEN}}]})
    )
    [created] = await runtime.jobs.apply(ALICE, path)
    assert created.change == "created" and TOKEN not in created.diff and MASK in created.diff
    path.write_text(path.read_text().replace("127.0.0.1:9", "127.0.0.1:10"))
    [updated] = await runtime.jobs.apply(ALICE, path, dry_run=True)
    assert updated.change == "updated" and "127.0.0.1:10" in updated.diff
    assert TOKEN not in updated.diff
    shown = await runtime.jobs.get(ALICE, "api")
    assert shown.definition["steps"][0]["auth"]["token"] == MASK
    assert TOKEN not in shown.model_dump_json()
    # The dry run saved nothing; the real apply was audited once.
    assert (await runtime.store.get_job("api")).version == 1
    assert await actions(runtime) == [("job.create", "job:api", AuditOutcome.OK)]


async def test_execution_filters_are_checked_by_the_service(runtime: Runtime) -> None:
    with pytest.raises(ValidationError) as bad:
        await runtime.executions.list_executions(ALICE, status="finished")
    assert bad.value.field == "status" and "succeeded" in bad.value.message
    await runtime.jobs.save(LOCAL_OPERATOR, runtime.jobs.parse(document("report")))
    execution = (await runtime.triggers.fire(ALICE, "report", kind="manual")).execution
    by_name = await runtime.executions.list_executions(ALICE, job="report", status="queued")
    by_id = await runtime.executions.list_executions(ALICE, job=execution.job_id)
    assert [e.id for e in by_name.items] == [e.id for e in by_id.items] == [execution.id]
    running = await runtime.executions.list_executions(ALICE, status=ExecutionStatus.RUNNING)
    assert running.items == [] and running.next_cursor is None


async def test_the_audit_log_is_for_admins(runtime: Runtime) -> None:
    await runtime.jobs.save(ALICE, runtime.jobs.parse(document("report")))
    entries = (await runtime.audit.list(ALICE, action="job.create")).items
    assert [(e.actor, e.resource) for e in entries] == [("alice", "job:report")]
    naive_since = (utcnow() + timedelta(hours=1)).replace(tzinfo=None)  # read as UTC
    later = await runtime.audit.list(ALICE, since=naive_since)
    assert later.items == [] and later.next_cursor is None
