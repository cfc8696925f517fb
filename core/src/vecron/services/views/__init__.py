"""What services return: one pydantic view per thing.

The CLI prints a view's ``model_dump(mode="json")`` with ``--json``, the REST API returns
it unchanged and the dashboard renders it, so the three never disagree on a field. Views
hold nothing secret in clear: job configs and secret variables come masked.
"""

from __future__ import annotations

from vecron.services.views.alerts import AlertTestView as AlertTestView
from vecron.services.views.executions import ExecutionSummary as ExecutionSummary
from vecron.services.views.executions import ExecutionView as ExecutionView
from vecron.services.views.executions import Fired as Fired
from vecron.services.views.executions import StepView as StepView
from vecron.services.views.jobs import AppliedDocument as AppliedDocument
from vecron.services.views.jobs import CheckedDocument as CheckedDocument
from vecron.services.views.jobs import DocumentProblem as DocumentProblem
from vecron.services.views.jobs import JobSummary as JobSummary
from vecron.services.views.jobs import JobVersionSummary as JobVersionSummary
from vecron.services.views.jobs import JobView as JobView
from vecron.services.views.jobs import LedgerEntry as LedgerEntry
from vecron.services.views.jobs import SavedJob as SavedJob
from vecron.services.views.jobs import ValidationReport as ValidationReport
from vecron.services.views.pages import Page as Page
from vecron.services.views.schedules import ScheduledFire as ScheduledFire
from vecron.services.views.schedules import ScheduleExplanation as ScheduleExplanation
from vecron.services.views.transfer import ExportDocument as ExportDocument
from vecron.services.views.transfer import ExportedJob as ExportedJob
from vecron.services.views.transfer import ExportedVariable as ExportedVariable
from vecron.services.views.transfer import ImportedJob as ImportedJob
from vecron.services.views.transfer import ImportReport as ImportReport
from vecron.services.views.transfer import SecretPlaceholder as SecretPlaceholder
from vecron.services.views.variables import KeyRotation as KeyRotation
from vecron.services.views.variables import VariableView as VariableView
