"""The trigger contract: when a job fires."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from vecron.models.dst import DstFold as DstFold
from vecron.models.dst import DstGap as DstGap


class TriggerConfig(BaseModel):
    """Base of every trigger's ``Config`` model. Its docstring describes the trigger type
    in the job JSON Schema; give every field a ``description``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: A trigger's Config class; the default makes a bare ``Trigger`` mean "some trigger".
TriggerConfigT = TypeVar("TriggerConfigT", bound=TriggerConfig, default=TriggerConfig)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleContext:
    """The job-level facts every scheduled trigger needs.

    ``start_at``/``end_at`` are aware; fire times outside them are never returned.
    """

    tz: ZoneInfo
    start_at: datetime | None = None
    end_at: datetime | None = None
    dst_gap: DstGap = DstGap.SHIFT
    dst_fold: DstFold = DstFold.FIRST


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerState:
    """What the store remembers between fires, so triggers stay stateless.

    ``anchor`` is the job's start (``start_at`` or when it was created): fixed-rate
    periods count from it. ``last_finished_at`` is the end of the previous execution.
    """

    anchor: datetime
    last_finished_at: datetime | None = None


class Trigger(Generic[TriggerConfigT], metaclass=ABCMeta):
    """Decides when a job fires; generic over its ``Config``: ``class Cron(Trigger[CronConfig])``.

    Rules for implementers: every datetime in and out is timezone-aware; the result of
    ``next_fire_time(after)`` is strictly greater than ``after``; calling it again with
    the returned value gives the following fire time, so fire times strictly increase.
    """

    kind: ClassVar[str]
    #: The trigger's pydantic model, the class named in ``Trigger[...]`` (set on the class).
    Config: type[TriggerConfigT]
    #: False for event-driven triggers (manual, webhook): the scheduler never asks them.
    scheduled: ClassVar[bool] = True
    #: True when the next fire depends on the previous execution's end (fixed delay).
    after_finish: ClassVar[bool] = False

    def __init__(self, config: TriggerConfigT, schedule: ScheduleContext) -> None:
        """``config`` is validated (an instance of ``Config``): never validate it again."""
        self.config = config
        self.schedule = schedule

    @abstractmethod
    def next_fire_time(self, after: datetime, state: TriggerState) -> datetime | None:
        """The first fire time strictly after ``after``, or None when there is none.

        :raises vecron.errors.ValidationError: never for a config that validated.
        """
