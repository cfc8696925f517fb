"""Domain models: job definitions, executions, occurrences."""

from __future__ import annotations

from vecron.models.definition import JobDefinition as JobDefinition
from vecron.models.definition import MisfirePolicy as MisfirePolicy
from vecron.models.definition import OverlapPolicy as OverlapPolicy
from vecron.models.definition import RetryPolicy as RetryPolicy
from vecron.models.definition import SchedulePolicy as SchedulePolicy
from vecron.models.definition import StepSpec as StepSpec
from vecron.models.definition import TriggerSpec as TriggerSpec
from vecron.models.execution import Execution as Execution
from vecron.models.execution import ExecutionStatus as ExecutionStatus
from vecron.models.execution import Occurrence as Occurrence
from vecron.models.execution import OccurrenceStatus as OccurrenceStatus
from vecron.models.execution import StepResult as StepResult
from vecron.models.execution import StepStatus as StepStatus
from vecron.models.job import JobRecord as JobRecord
