"""The trigger service and the trigger policy, on SQLite and PostgreSQL: which kinds may
start a job, what a run asked for carries into its Job Context, and one ``overlap:
skip`` job fired by its schedule, by hand and by a webhook at the same time runs once.

The ``webhook`` kind here is a test trigger type registered by this module (the real
one is the ``vecron-trigger-webhook`` plugin, unregistered for these tests if present):
the service judges any event trigger the same way.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pluggy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import steps as support_steps
from tests.support.engine import running
from vecron import Trigger, TriggerConfig, TriggerState, hookimpl
from vecron.auth import LOCAL_OPERATOR
from vecron.clock import utcnow
from vecron.errors import ConflictError, TriggerForbidden, ValidationError
from vecron.models.definition import JobDefinition, MisfirePolicy
from vecron.models.execution import Execution, ExecutionStatus, OccurrenceStatus
from vecron.models.overlap import SKIPPED_REASON
from vecron.models.policy import TriggerPolicy
from vecron.plugin.manager import get_plugin_manager
from vecron.plugin.registry import Registry
from vecron.runtime import Runtime
from vecron.scheduling.scheduler import Scheduler
from vecron.services.views import Fired
from vecron.settings import Settings
from vecron.store.sql import SqlStore


class HookConfig(TriggerConfig):
    """A test webhook: no settings."""


class HookTrigger(Trigger[HookConfig]):
    kind = "webhook"
    Config = HookConfig
    scheduled = False

    def next_fire_time(self, after: datetime, state: TriggerState) -> None:
        return None


@hookimpl
def vecron_register_triggers(register: Registry) -> None:
    register.add_trigger(HookTrigger)


@pytest.fixture
async def rt(store_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime with the test executors and the test ``webhook`` trigger."""
    pm: pluggy.PluginManager = get_plugin_manager()
    for name in ("trigger_webhook", "vecron_trigger_webhook"):
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
    pm.register(support_steps, name="vecron-test-steps")
    pm.register(sys.modules[__name__], name="vecron-test-webhook")
    settings = Settings(database_url=store_url, storage_url=f"file://{tmp_path}/storage", port=0)
    async with Runtime(settings, pm=pm) as runtime:
        yield runtime


def job(name: str, *triggers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": "UTC",
        "triggers": list(triggers),
        "steps": [{"id": "a", "type": "record"}],
        **fields,
    }


async def save(rt: Runtime, document: dict[str, Any]) -> None:
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))


HOOK = {"type": "webhook"}
CRON = {"type": "cron", "expression": "0 0 * * * ?"}


# -- which kinds start a job ---------------------------------------------------------

KINDS = st.lists(st.sampled_from(["manual", "webhook", "cron", "once"]), max_size=4)


@given(kinds=KINDS, allow_manual=st.booleans())
def test_a_job_allows_its_triggers_kinds_and_manual_unless_it_says_otherwise(
    kinds: list[str], allow_manual: bool
) -> None:
    definition = JobDefinition.model_validate(
        {
            "name": "j",
            "timezone": "UTC",
            "triggers": [{"type": k} for k in kinds],
            "steps": [{"id": "a", "type": "record"}],
            "policy": {"allow_manual": allow_manual},
        }
    )
    policy = TriggerPolicy(definition)
    assert policy.kinds == set(kinds) | ({"manual"} if allow_manual else set())
    for kind in ("manual", "webhook", "cron", "file"):
        if kind in policy.kinds:
            policy.admit("j", kind, enabled=True)
        else:
            with pytest.raises(TriggerForbidden) as refused:
                policy.admit("j", kind, enabled=True)
            assert refused.value.problems[0].code == "trigger-not-allowed"
        with pytest.raises(TriggerForbidden, match="disabled"):
            policy.admit("j", kind, enabled=False)


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=600), unique=True, max_size=30),
    misfire=st.sampled_from(MisfirePolicy),
    grace=st.integers(min_value=0, max_value=120),
    cap=st.integers(min_value=1, max_value=5),
)
def test_every_due_fire_time_runs_or_is_recorded_with_its_reason(
    offsets: list[int], misfire: MisfirePolicy, grace: int, cap: int
) -> None:
    """What the scheduler asks the policy: each fire time runs or is dropped (with a
    reason), never both; one on time always runs; ``run_once`` runs at most one late."""
    definition = JobDefinition.model_validate(
        {
            **job("j"),
            "policy": {"misfire": misfire, "misfire_grace": grace, "run_all_cap": cap},
        }
    )
    policy = TriggerPolicy(definition)
    now = T0 + timedelta(seconds=600)
    due = sorted(T0 + timedelta(seconds=s) for s in offsets)
    decision = policy.misfires(due, now)
    dropped = [d.fire_time for d in decision.dropped]
    assert sorted([*decision.run, *dropped]) == due and not set(decision.run) & set(dropped)
    assert decision.run == sorted(decision.run)
    on_time = [f for f in due if not policy.late(f, now)]
    late_run = [f for f in decision.run if policy.late(f, now)]
    assert set(on_time) <= set(decision.run)
    assert all(d.reason.startswith("misfire policy") for d in decision.dropped)
    if misfire is MisfirePolicy.SKIP:
        assert late_run == []
    elif misfire is MisfirePolicy.RUN_ONCE:
        assert len(late_run) == (0 if on_time or not due else 1)
    else:
        assert len(late_run) == min(cap, len(due) - len(on_time))


async def test_manual_runs_are_allowed_unless_the_job_says_otherwise(rt: Runtime) -> None:
    await save(rt, job("hourly", CRON))
    fired = await rt.triggers.fire(LOCAL_OPERATOR, "hourly", kind="manual", by="alice")
    assert fired.created
    assert (fired.execution.trigger, fired.execution.triggered_by) == ("manual", "alice")
    await save(rt, job("scheduled-only", CRON, policy={"allow_manual": False}))
    with pytest.raises(TriggerForbidden) as refused:
        await rt.triggers.fire(LOCAL_OPERATOR, "scheduled-only", kind="manual")
    error = refused.value
    assert (error.status, error.exit_code, error.problems[0].code) == (
        403,
        77,
        "trigger-not-allowed",
    )
    assert error.problems[0].params["allowed"] == ["cron"]


async def test_a_job_without_a_webhook_trigger_refuses_webhooks(rt: Runtime) -> None:
    await save(rt, job("manual-only"))
    with pytest.raises(TriggerForbidden, match="does not allow webhook runs"):
        await rt.triggers.fire(LOCAL_OPERATOR, "manual-only", kind="webhook")
    await save(rt, job("both", HOOK, CRON))
    fired = await rt.triggers.fire(LOCAL_OPERATOR, "both", kind="webhook", by="hook:abc")
    assert (fired.execution.trigger, fired.execution.triggered_by) == ("webhook", "hook:abc")


async def test_a_disabled_job_is_started_by_no_trigger(rt: Runtime) -> None:
    await save(rt, job("paused", HOOK))
    await rt.jobs.set_enabled(LOCAL_OPERATOR, "paused", False)
    for kind in ("manual", "webhook"):
        with pytest.raises(TriggerForbidden) as refused:
            await rt.triggers.fire(LOCAL_OPERATOR, "paused", kind=kind)
        assert refused.value.problems[0].code == "job-disabled"
    job_id = (await rt.store.get_job("paused")).id
    assert await rt.store.list_executions(job_id=job_id) == []


async def test_kinds_that_are_not_asked_for_are_refused(rt: Runtime) -> None:
    await save(rt, job("hourly", CRON))
    for kind, reason in (("cron", "scheduled-kind"), ("carrier-pigeon", "unknown-kind")):
        with pytest.raises(ValidationError) as refused:
            await rt.triggers.fire(LOCAL_OPERATOR, "hourly", kind=kind)
        assert (refused.value.field, refused.value.problems[0].code) == ("kind", reason)


async def test_a_manual_only_job_is_never_scheduled(rt: Runtime) -> None:
    for document in (job("listed", {"type": "manual"}), job("default"), job("hook", HOOK)):
        await save(rt, document)
        assert (await rt.store.get_job(document["name"])).next_fire_at is None
    far = utcnow() + timedelta(days=400)
    assert await rt.store.due_jobs(far, 100) == []


async def test_allow_manual_false_contradicts_a_manual_trigger(rt: Runtime) -> None:
    for document in (
        job("j", {"type": "manual"}, policy={"allow_manual": False}),
        {**job("j"), "triggers": [], "policy": {"allow_manual": False}},
    ):
        with pytest.raises(ValidationError) as bad:
            rt.jobs.parse(document)
        assert bad.value.problems[0].field == "policy.allow_manual"
        assert bad.value.problems[0].code == "contradiction"


# -- what a run carries ----------------------------------------------------------------

PAYLOAD = {"payload": {"order_id": 31, "lines": [1, 2]}, "query": {"a": "1"}, "headers": {}}


async def test_trigger_data_reaches_the_context_and_the_templates_from_the_store(
    rt: Runtime, store_url: str, calls: Any
) -> None:
    document = job("orders", HOOK)
    document["steps"] = [
        {"id": "a", "type": "record", "label": "order-{{ webhook.payload.order_id }}"},
        {"id": "b", "type": "record", "label": "q-{{ trigger.query.a }}-{{ trigger.type }}"},
    ]
    await save(rt, document)
    fired = await rt.triggers.fire(
        LOCAL_OPERATOR, "orders", kind="webhook", trigger_data=PAYLOAD, idempotency_key="d1"
    )
    # Durable: another process's store reads it back with the execution.
    other = SqlStore(store_url)
    await other.start()
    try:
        stored = await other.get_execution(fired.execution.id)
    finally:
        await other.close()
    assert stored.trigger_data == PAYLOAD
    async with running(rt):
        view = await rt.executions.wait(
            LOCAL_OPERATOR, fired.execution.id, timeout=30, context=True
        )
    assert view.status is ExecutionStatus.SUCCEEDED, view.error
    assert dict(calls.counts) == {"order-31": 1, "q-1-webhook": 1}
    assert view.context is not None
    trigger = view.context["trigger"]
    assert (trigger["type"], trigger["payload"], trigger["query"]) == (
        "webhook",
        PAYLOAD["payload"],
        {"a": "1"},
    )


async def test_trigger_data_may_not_replace_what_vecron_records(rt: Runtime) -> None:
    await save(rt, job("orders", HOOK))
    for data, reason in (({"type": "manual"}, "reserved-key"), ({"x": {1, 2}}, "not-json")):
        with pytest.raises(ValidationError) as bad:
            await rt.triggers.fire(LOCAL_OPERATOR, "orders", kind="webhook", trigger_data=data)
        assert (bad.value.field, bad.value.problems[0].code) == ("trigger_data", reason)


async def test_one_key_is_exactly_once_per_job_and_kind(rt: Runtime) -> None:
    await save(rt, job("orders", HOOK, allow_concurrent=True))
    results = await asyncio.gather(
        *(
            rt.triggers.fire(
                LOCAL_OPERATOR, "orders", kind=kind, idempotency_key="id-7", trigger_data=PAYLOAD
            )
            for kind in ("webhook", "manual") * 10
        )
    )
    by_kind: dict[str, set[str]] = {}
    for fired, kind in zip(results, ("webhook", "manual") * 10, strict=True):
        by_kind.setdefault(kind, set()).add(fired.execution.id)
    assert all(len(ids) == 1 for ids in by_kind.values())
    assert by_kind["webhook"] != by_kind["manual"]
    assert sum(fired.created for fired in results) == 2


# -- acceptance: one run of a no-overlap job, whoever fires it -------------------------

Refusals = list[tuple[str, str]]  # (who, reason)


async def _settle(rt: Runtime, job_id: str, timeout: float = 30) -> list[Execution]:
    async with asyncio.timeout(timeout):
        while True:
            found = await rt.store.list_executions(job_id=job_id)
            if found and all(e.status.finished for e in found):
                return found
            await asyncio.sleep(0.05)


async def _fire(rt: Runtime, kind: str) -> Fired:
    data = PAYLOAD if kind == "webhook" else None
    return await rt.triggers.fire(
        LOCAL_OPERATOR, "single", kind=kind, by=f"{kind}-caller", trigger_data=data
    )


def _answers(results: list[Any], who: list[str]) -> Refusals:
    refused: Refusals = []
    for name, result in zip(who, results, strict=True):
        if isinstance(result, ConflictError):
            assert (result.status, result.problems[0].code) == (409, "job-running")
            refused.append((name, "job-running"))
        elif isinstance(result, BaseException):
            raise result
    return refused


async def _outcome(rt: Runtime, refused: Refusals) -> None:
    """Exactly one execution ran; the two others are recorded with their reason."""
    record = await rt.store.get_job("single")
    executions = await _settle(rt, record.id)
    ran = [e for e in executions if e.status is ExecutionStatus.SUCCEEDED]
    assert len(ran) == 1, executions
    skipped = [e for e in executions if e.status is ExecutionStatus.SKIPPED]
    assert len(ran) + len(skipped) == len(executions)
    ledger = await rt.store.occurrences(record.id)
    for execution in skipped:  # a scheduled run that started while another held the job
        assert execution.scheduled_at is not None and execution.error == SKIPPED_REASON
        [entry] = [o for o in ledger if o.execution_id == execution.id]
        assert (entry.status, entry.reason) == (OccurrenceStatus.SKIPPED, SKIPPED_REASON)
        refused.append(("schedule", SKIPPED_REASON))
    winner = "schedule" if ran[0].scheduled_at is not None else ran[0].trigger
    assert sorted([winner, *(who for who, _ in refused)]) == ["manual", "schedule", "webhook"]


#: Runs long enough that runs fired at the same instant overlap.
SINGLE = {
    **job("single", HOOK, allow_concurrent=False),
    "steps": [{"id": "a", "type": "record", "sleep": 1.0}],
}


def once_at(at: datetime) -> dict[str, Any]:
    return {**SINGLE, "triggers": [*SINGLE["triggers"], {"type": "once", "at": at.isoformat()}]}


def ticking_at(rt: Runtime, at: datetime) -> Scheduler:
    clock: Callable[[], datetime] = lambda: at  # noqa: E731 - the fire instant, held
    return Scheduler(rt.store, rt.queue, rt.registry, wakeup=rt.wakeup, lookahead=0, clock=clock)


async def test_schedule_manual_and_webhook_at_the_same_instant_run_once(
    rt: Runtime, calls: Any
) -> None:
    fire_time = utcnow() + timedelta(milliseconds=200)
    await save(rt, once_at(fire_time))
    results = await asyncio.gather(
        ticking_at(rt, fire_time).tick(),
        _fire(rt, "manual"),
        _fire(rt, "webhook"),
        return_exceptions=True,
    )
    refused = _answers(results, ["schedule", "manual", "webhook"])
    async with running(rt):
        await _outcome(rt, refused)
    assert sum(calls.counts.values()) == 1


async def test_a_running_scheduled_run_refuses_manual_and_webhook(rt: Runtime, calls: Any) -> None:
    await save(rt, once_at(utcnow() + timedelta(milliseconds=200)))
    record = await rt.store.get_job("single")
    async with running(rt):
        async with asyncio.timeout(30):
            while not any(
                e.status is ExecutionStatus.RUNNING
                for e in await rt.store.list_executions(job_id=record.id)
            ):
                await asyncio.sleep(0.02)
        results = await asyncio.gather(
            _fire(rt, "manual"), _fire(rt, "webhook"), return_exceptions=True
        )
        refused = _answers(results, ["manual", "webhook"])
        assert refused == [("manual", "job-running"), ("webhook", "job-running")]
        await _outcome(rt, refused)
    [entry] = await rt.store.occurrences(record.id)
    assert entry.status is OccurrenceStatus.FIRED
    assert sum(calls.counts.values()) == 1


@pytest.mark.parametrize("first", ["manual", "webhook"])
async def test_a_run_asked_for_first_holds_the_job_against_the_schedule_and_the_other(
    rt: Runtime, calls: Any, first: str
) -> None:
    fire_time = utcnow() + timedelta(milliseconds=200)
    await save(rt, once_at(fire_time))
    admitted = await _fire(rt, first)
    other = "webhook" if first == "manual" else "manual"
    results = await asyncio.gather(
        ticking_at(rt, fire_time).tick(), _fire(rt, other), return_exceptions=True
    )
    refused = _answers(results, ["schedule", other])
    assert refused == [(other, "job-running")]
    async with running(rt):
        await _outcome(rt, refused)
    finished = await rt.store.get_execution(admitted.execution.id)
    assert (finished.status, finished.trigger) == (ExecutionStatus.SUCCEEDED, first)
