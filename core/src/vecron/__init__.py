"""vecron: an enterprise job scheduler. This is the public API for plugin authors."""

from __future__ import annotations

from vecron.errors import FinalError as FinalError
from vecron.errors import RetryableError as RetryableError
from vecron.errors import StepError as StepError
from vecron.errors import VecronError as VecronError
from vecron.models.bounds import MAX_SECONDS as MAX_SECONDS
from vecron.models.bounds import MIN_PERIOD as MIN_PERIOD
from vecron.models.bounds import Instant as Instant
from vecron.models.bounds import PositiveSeconds as PositiveSeconds
from vecron.models.bounds import Seconds as Seconds
from vecron.models.bounds import check_duration as check_duration
from vecron.plugin.executor import Executor as Executor
from vecron.plugin.executor import ExecutorConfig as ExecutorConfig
from vecron.plugin.executor import StepContext as StepContext
from vecron.plugin.hookspecs import hookimpl as hookimpl
from vecron.plugin.registry import Registry as Registry
from vecron.plugin.trigger import ScheduleContext as ScheduleContext
from vecron.plugin.trigger import Trigger as Trigger
from vecron.plugin.trigger import TriggerConfig as TriggerConfig
from vecron.plugin.trigger import TriggerState as TriggerState
