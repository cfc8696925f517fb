"""The event bus: typed events to pluggy observers and to subscriptions, never blocking or
failing the emitter; the scheduler's events."""

from __future__ import annotations

import asyncio
import threading
import types
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pluggy
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from structlog.testing import capture_logs

from tests.core.test_scheduler import NOW, T0, every_10s, stale_job
from vecron import hookimpl
from vecron.events import (
    EventBus,
    EventKind,
    EventTransport,
    ExecutionCreated,
    ExecutionMissed,
    JobChanged,
    Subscription,
    parse_event,
)
from vecron.events.kinds import EVENT_CLASSES, ChangeKind, Event
from vecron.plugin.manager import get_plugin_manager
from vecron.runtime import Runtime
from vecron.scheduling.scheduler import Scheduler
from vecron.store import JobFires

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def created(n: int = 0) -> ExecutionCreated:
    return ExecutionCreated(at=AT, execution_id=f"e{n}", job_id="j", trigger="schedule")


def changed(name: str = "nightly") -> JobChanged:
    return JobChanged(
        at=AT, job_id="j", job_name=name, change=ChangeKind.UPDATED, actor="local-operator"
    )


class Seen:
    """An observer that records what it was given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def vecron_execution_event(self, event: Event) -> None:
        self.events.append(event)


class Raises(Seen):
    """Records, then raises: a buggy observer."""

    @hookimpl
    def vecron_execution_event(self, event: Event) -> None:
        self.events.append(event)
        raise RuntimeError(f"observer bug on {event.kind}")


class Stuck(Seen):
    """A hung observer: records each event only after ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    @hookimpl
    def vecron_execution_event(self, event: Event) -> None:
        self.release.wait(30)
        self.events.append(event)


def bare_pm() -> pluggy.PluginManager:
    return get_plugin_manager(load_entrypoints=False)


# -- the event classes ---------------------------------------------------------------


def _strategy(annotation: Any) -> st.SearchStrategy[Any]:
    if isinstance(annotation, types.UnionType):
        return st.one_of(*(_strategy(a) for a in get_args(annotation)))
    if annotation is float:  # JSON has no NaN or infinity; no emitter sends them
        return st.floats(allow_nan=False, allow_infinity=False)
    if annotation is datetime:
        return st.datetimes(timezones=st.just(UTC))
    return st.from_type(annotation)


def _any_event(cls: type[BaseModel]) -> st.SearchStrategy[Any]:
    fields = {
        name: _strategy(field.annotation)
        for name, field in cls.model_fields.items()
        if name != "kind"
    }
    return st.builds(cls, **fields)


@given(st.one_of(*(_any_event(cls) for cls in EVENT_CLASSES)))
def test_every_event_round_trips_through_json_typed(event: Event) -> None:
    again = parse_event(event.model_dump_json())
    assert type(again) is type(event)
    assert again == event
    assert parse_event(event.model_dump(mode="json")) == event


def test_one_class_per_kind() -> None:
    kinds = [cls.model_fields["kind"].default for cls in EVENT_CLASSES]
    assert kinds == list(EventKind)


# -- observers, through pluggy ------------------------------------------------------------


async def test_a_raising_observer_is_logged_and_hides_nothing() -> None:
    pm = bare_pm()
    first, broken, twin_broken, last = Seen(), Raises(), Raises(), Seen()
    # Two instances of one class: the failure must be pinned on the right one.
    for name, plugin in [("first", first), ("broken", broken), ("twin", twin_broken)]:
        pm.register(plugin, name=name)
    pm.register(last, name="last")
    async with EventBus(pm) as bus:
        with capture_logs() as logs:
            bus.emit(created(1))
            bus.emit(created(2))
            await bus.flush()
    for observer in (first, broken, twin_broken, last):
        assert observer.events == [created(1), created(2)]  # each once
    failures = [entry for entry in logs if entry["event"] == "event observer failed"]
    assert sorted(entry["plugin"] for entry in failures) == ["broken", "broken", "twin", "twin"]


async def test_observers_are_called_through_pluggy() -> None:
    """A hook wrapper sees every call: the bus does not call implementations itself."""
    pm = bare_pm()
    wrapped: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def vecron_execution_event(self, event: Event) -> Any:
            wrapped.append(event.kind.value)
            return (yield)

    seen = Seen()
    pm.register(seen, name="seen")
    pm.register(Wrapper(), name="wrapper")
    async with EventBus(pm) as bus:
        bus.emit(changed())
        await bus.flush()
    assert wrapped == ["job.changed"]
    assert len(seen.events) == 1


async def test_a_slow_observer_never_blocks_the_emitter_or_the_loop() -> None:
    pm = bare_pm()
    stuck = Stuck()
    pm.register(stuck, name="stuck")
    async with EventBus(pm) as bus, bus.subscribe() as events:
        for n in range(3):
            bus.emit(created(n))  # returns at once although the observer hangs
        # The loop keeps running: subscriptions get the events meanwhile.
        got = [await events.next(timeout=5) for _ in range(3)]
        assert [e.execution_id for e in got if isinstance(e, ExecutionCreated)] == [
            "e0",
            "e1",
            "e2",
        ]
        assert stuck.events == []
        stuck.release.set()
        await bus.flush()
    assert len(stuck.events) == 3


async def test_observers_behind_by_the_buffer_lose_events_not_the_emitter() -> None:
    pm = bare_pm()
    stuck = Stuck()
    pm.register(stuck, name="stuck")
    async with EventBus(pm, buffer=2) as bus:
        for n in range(5):
            bus.emit(created(n))
            await asyncio.sleep(0)  # the transport keeps up: only the observers fall behind
        stuck.release.set()
        await bus.flush()
    # The first is being delivered, two wait; the other two found the buffer full.
    assert 2 <= len(stuck.events) <= 3
    assert bus.dropped == 5 - len(stuck.events)


class BrokenTransport(EventTransport):
    async def publish(self, event: Event) -> None:
        raise ConnectionError("link down")

    async def attach(self, subscription: Subscription) -> None:
        return None

    async def detach(self, subscription: Subscription) -> None:
        return None


async def test_a_broken_transport_loses_events_and_fails_nothing() -> None:
    pm = bare_pm()
    seen = Seen()
    pm.register(seen, name="seen")
    async with EventBus(pm, BrokenTransport()) as bus:
        bus.emit(created())
        bus.emit(created())
        await bus.flush()
    assert bus.dropped == 2
    assert len(seen.events) == 2  # observers of this process still got them


async def test_emit_outside_a_running_bus_drops_and_never_raises() -> None:
    seen = Seen()
    pm = bare_pm()
    pm.register(seen, name="seen")
    bus = EventBus(pm)
    bus.emit(created())  # before start
    async with bus:
        pass
    bus.emit(created())  # after close
    assert bus.dropped == 2
    assert seen.events == []


async def test_emit_from_another_thread_is_delivered() -> None:
    async with EventBus(bare_pm()) as bus, bus.subscribe() as events:
        await asyncio.to_thread(bus.emit, created(7))
        event = await events.next(timeout=5)
    assert isinstance(event, ExecutionCreated) and event.execution_id == "e7"


# -- subscriptions ----------------------------------------------------------------------


async def test_subscriptions_get_the_kinds_they_ask_for_and_observers_each_event_once() -> None:
    pm = bare_pm()
    seen = Seen()
    pm.register(seen, name="seen")
    async with (
        EventBus(pm) as bus,
        bus.subscribe([EventKind.JOB_CHANGED]) as jobs,
        bus.subscribe() as everything,
    ):
        bus.emit(created(1))
        bus.emit(changed("a"))
        bus.emit(created(2))
        assert await jobs.next(timeout=5) == changed("a")
        assert [(await everything.next(timeout=5)).kind for _ in range(3)] == [
            EventKind.EXECUTION_CREATED,
            EventKind.JOB_CHANGED,
            EventKind.EXECUTION_CREATED,
        ]
        await bus.flush()
        with pytest.raises(TimeoutError):
            await jobs.next(timeout=0.05)
    assert len(seen.events) == 3  # handed to the observers once, whoever subscribed


async def test_a_slow_subscriber_loses_the_newest_and_sees_how_many() -> None:
    async with EventBus(bare_pm()) as bus, bus.subscribe(buffer=2) as events:
        for n in range(5):
            bus.emit(created(n))
        await bus.flush()
        assert events.dropped == 3
        got = [await events.next(timeout=5) for _ in range(2)]
    assert [e.execution_id for e in got if isinstance(e, ExecutionCreated)] == ["e0", "e1"]


async def test_a_subscription_ends_with_its_block() -> None:
    async with EventBus(bare_pm()) as bus:
        async with bus.subscribe() as events:
            bus.emit(created())
            await bus.flush()
        assert [e async for e in events] == [created()]  # what was buffered, then the end
        bus.emit(created(2))  # no longer subscribed
        await bus.flush()
        assert [e async for e in events] == []


# -- the scheduler's events -------------------------------------------------------------


def scheduler(rt: Runtime) -> Scheduler:
    return Scheduler(
        rt.store,
        rt.queue,
        rt.registry,
        wakeup=rt.wakeup,
        lookahead=1.0,
        clock=lambda: NOW,
        events=rt.events,
    )


async def scheduled_events(rt: Runtime, **policy: Any) -> tuple[Any, list[Event]]:
    job = await stale_job(rt, every_10s("late", **policy))
    async with rt.events.subscribe() as events:
        report = await scheduler(rt).tick()
        await rt.events.flush()
        subscription_events = []
        while True:
            try:
                subscription_events.append(await events.next(timeout=0.05))
            except TimeoutError:
                break
    assert len([e for e in subscription_events if e.kind == EventKind.EXECUTION_CREATED]) == len(
        report.created
    )
    return job, subscription_events


LATE = [T0 + timedelta(seconds=10 * i) for i in range(7)]


async def test_the_scheduler_announces_created_and_missed_fires(runtime: Runtime) -> None:
    job, events = await scheduled_events(runtime, misfire="run_all", run_all_cap=3)
    made = [e for e in events if isinstance(e, ExecutionCreated)]
    assert [(e.job_id, e.trigger, e.fire_time, e.at) for e in made] == [
        (job.id, "schedule", fire, NOW) for fire in LATE[-3:]
    ]
    ledger = {o.execution_id: o.fire_time for o in await runtime.store.occurrences(job.id)}
    assert {e.execution_id: e.fire_time for e in made} == {
        k: v for k, v in ledger.items() if k is not None
    }
    missed = [e for e in events if isinstance(e, ExecutionMissed)]
    assert [(e.job_id, e.fire_time, e.reason) for e in missed] == [
        (job.id, fire, "misfire policy run_all") for fire in LATE[:4]
    ]


async def test_coalesced_fires_are_announced_as_missed(runtime: Runtime) -> None:
    _, events = await scheduled_events(runtime, misfire="run_once")
    missed = [e for e in events if isinstance(e, ExecutionMissed)]
    assert [(e.fire_time, e.reason) for e in missed] == [
        (fire, "misfire policy run_once") for fire in LATE[:-1]
    ]
    assert [e.fire_time for e in events if isinstance(e, ExecutionCreated)] == LATE[-1:]


async def test_a_stale_decision_is_not_reported_as_applied(runtime: Runtime) -> None:
    """What the scheduler announces comes from what the store applied."""
    job = await stale_job(runtime, every_10s("raced", misfire="skip"))
    plan = scheduler(runtime).plan(job, NOW, NOW + timedelta(seconds=1))
    first = await runtime.store.apply_fires([plan])
    assert first.decisions == (plan,)
    again = await runtime.store.apply_fires([plan])  # another scheduler got there first
    assert again.decisions == () and list(again) == []
    assert isinstance(plan, JobFires)
