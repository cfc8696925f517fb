"""Domain models: job definitions, executions, occurrences."""

from __future__ import annotations

from .definition import (
    JobDefinition as JobDefinition,
)
from .definition import (
    MisfirePolicy as MisfirePolicy,
)
from .definition import (
    OverlapPolicy as OverlapPolicy,
)
from .definition import (
    RetryPolicy as RetryPolicy,
)
from .definition import (
    SchedulePolicy as SchedulePolicy,
)
from .definition import (
    StepSpec as StepSpec,
)
from .definition import (
    TriggerSpec as TriggerSpec,
)
from .execution import (
    Execution as Execution,
)
from .execution import (
    ExecutionStatus as ExecutionStatus,
)
from .execution import (
    Occurrence as Occurrence,
)
from .execution import (
    OccurrenceStatus as OccurrenceStatus,
)
from .execution import (
    StepResult as StepResult,
)
from .execution import (
    StepStatus as StepStatus,
)
from .job import JobRecord as JobRecord
