"""vecron: an enterprise job scheduler. This is the public API for plugin authors."""

from __future__ import annotations

from .errors import FinalError as FinalError
from .errors import RetryableError as RetryableError
from .errors import StepError as StepError
from .errors import VecronError as VecronError
from .executor import Executor as Executor
from .executor import ExecutorConfig as ExecutorConfig
from .executor import StepContext as StepContext
from .hookspecs import hookimpl as hookimpl
from .models.bounds import MAX_SECONDS as MAX_SECONDS
from .models.bounds import MIN_PERIOD as MIN_PERIOD
from .models.bounds import Instant as Instant
from .models.bounds import PositiveSeconds as PositiveSeconds
from .models.bounds import Seconds as Seconds
from .models.bounds import check_duration as check_duration
from .registry import Registry as Registry
from .trigger import ScheduleContext as ScheduleContext
from .trigger import Trigger as Trigger
from .trigger import TriggerConfig as TriggerConfig
from .trigger import TriggerState as TriggerState
