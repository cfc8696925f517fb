"""Typed events: what happened to executions, jobs and variables.

Emitted by the scheduler (created, skipped, missed), the worker (started, step finished,
retry scheduled, finished, dead-lettered) and the services (job changed, variable
changed); delivered to ``vecron_execution_event`` observers through pluggy and published
to other processes through the :class:`EventBus`. Delivery is best effort: the store is
the truth, an event is a hint that something in it changed.
"""

from __future__ import annotations

from vecron.events.bus import EventBus as EventBus
from vecron.events.kinds import ChangeKind as ChangeKind
from vecron.events.kinds import DeadLettered as DeadLettered
from vecron.events.kinds import Event as Event
from vecron.events.kinds import EventKind as EventKind
from vecron.events.kinds import EventSink as EventSink
from vecron.events.kinds import ExecutionCreated as ExecutionCreated
from vecron.events.kinds import ExecutionFinished as ExecutionFinished
from vecron.events.kinds import ExecutionMissed as ExecutionMissed
from vecron.events.kinds import ExecutionSkipped as ExecutionSkipped
from vecron.events.kinds import ExecutionStarted as ExecutionStarted
from vecron.events.kinds import JobChanged as JobChanged
from vecron.events.kinds import NullSink as NullSink
from vecron.events.kinds import RetryScheduled as RetryScheduled
from vecron.events.kinds import StepFinished as StepFinished
from vecron.events.kinds import VariableChanged as VariableChanged
from vecron.events.kinds import parse_event as parse_event
from vecron.events.transport import EventTransport as EventTransport
from vecron.events.transport import MemoryTransport as MemoryTransport
from vecron.events.transport import Subscription as Subscription
