"""vecron: an enterprise job scheduler. This is the public API for plugin authors.

A plugin imports from ``vecron`` only (and tests from :mod:`vecron.testing`): every
submodule is internal and may move between releases; import-linter holds the built-in
plugins to this rule. docs/writing-plugins.md describes each name.

Names are imported on first use: ``import vecron`` loads nothing else, so a CLI command,
pytest's plugin discovery or a plugin's own import pays only for what it touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vecron.auth.audit import AuditEntry as AuditEntry
    from vecron.auth.audit import AuditOutcome as AuditOutcome
    from vecron.auth.principal import LOCAL_OPERATOR as LOCAL_OPERATOR
    from vecron.auth.principal import Permission as Permission
    from vecron.auth.principal import Principal as Principal
    from vecron.auth.principal import authorize as authorize
    from vecron.auth.roles import BUILTIN_ROLES as BUILTIN_ROLES
    from vecron.auth.roles import permissions_of as permissions_of
    from vecron.cli.session import JsonFlag as JsonFlag
    from vecron.cli.session import command_settings as command_settings
    from vecron.cli.session import print_view as print_view
    from vecron.cli.session import with_runtime as with_runtime
    from vecron.errors import BackendUnavailable as BackendUnavailable
    from vecron.errors import ConfigurationError as ConfigurationError
    from vecron.errors import ConflictError as ConflictError
    from vecron.errors import EgressDenied as EgressDenied
    from vecron.errors import FinalError as FinalError
    from vecron.errors import NotFoundError as NotFoundError
    from vecron.errors import PermissionDenied as PermissionDenied
    from vecron.errors import PluginError as PluginError
    from vecron.errors import Problem as Problem
    from vecron.errors import RetryableError as RetryableError
    from vecron.errors import StepError as StepError
    from vecron.errors import TemplateError as TemplateError
    from vecron.errors import TooManyRequests as TooManyRequests
    from vecron.errors import TriggerForbidden as TriggerForbidden
    from vecron.errors import Unauthenticated as Unauthenticated
    from vecron.errors import ValidationError as ValidationError
    from vecron.errors import VecronError as VecronError
    from vecron.errors import problems_from_pydantic as problems_from_pydantic
    from vecron.events.kinds import ChangeKind as ChangeKind
    from vecron.events.kinds import DeadLettered as DeadLettered
    from vecron.events.kinds import Event as Event
    from vecron.events.kinds import EventKind as EventKind
    from vecron.events.kinds import ExecutionCreated as ExecutionCreated
    from vecron.events.kinds import ExecutionFinished as ExecutionFinished
    from vecron.events.kinds import ExecutionMissed as ExecutionMissed
    from vecron.events.kinds import ExecutionSkipped as ExecutionSkipped
    from vecron.events.kinds import ExecutionStarted as ExecutionStarted
    from vecron.events.kinds import JobChanged as JobChanged
    from vecron.events.kinds import RetryScheduled as RetryScheduled
    from vecron.events.kinds import StepFinished as StepFinished
    from vecron.events.kinds import VariableChanged as VariableChanged
    from vecron.health import add_probes as add_probes
    from vecron.health import serve_app as serve_app
    from vecron.models.bounds import MAX_SECONDS as MAX_SECONDS
    from vecron.models.bounds import MIN_PERIOD as MIN_PERIOD
    from vecron.models.bounds import Instant as Instant
    from vecron.models.bounds import PositiveSeconds as PositiveSeconds
    from vecron.models.bounds import Seconds as Seconds
    from vecron.models.bounds import check_duration as check_duration
    from vecron.models.dst import DstFold as DstFold
    from vecron.models.dst import DstGap as DstGap
    from vecron.plugin.auth import AuthBackend as AuthBackend
    from vecron.plugin.auth import AuthBackendConfig as AuthBackendConfig
    from vecron.plugin.auth import AuthRequest as AuthRequest
    from vecron.plugin.auth import AuthServices as AuthServices
    from vecron.plugin.auth import Database as Database
    from vecron.plugin.egress import EgressPolicy as EgressPolicy
    from vecron.plugin.egress import default_egress as default_egress
    from vecron.plugin.executor import BoundSql as BoundSql
    from vecron.plugin.executor import Executor as Executor
    from vecron.plugin.executor import ExecutorConfig as ExecutorConfig
    from vecron.plugin.executor import StepContext as StepContext
    from vecron.plugin.files import ExecutionFiles as ExecutionFiles
    from vecron.plugin.files import StoredFile as StoredFile
    from vecron.plugin.hookspecs import hookimpl as hookimpl
    from vecron.plugin.notifier import Alert as Alert
    from vecron.plugin.notifier import AlertKind as AlertKind
    from vecron.plugin.notifier import Notifier as Notifier
    from vecron.plugin.notifier import NotifierConfig as NotifierConfig
    from vecron.plugin.registry import Registry as Registry
    from vecron.plugin.trigger import ScheduleContext as ScheduleContext
    from vecron.plugin.trigger import Trigger as Trigger
    from vecron.plugin.trigger import TriggerConfig as TriggerConfig
    from vecron.plugin.trigger import TriggerState as TriggerState
    from vecron.plugin.values import ConversionError as ConversionError
    from vecron.plugin.values import Converter as Converter
    from vecron.plugin.values import TypeName as TypeName
    from vecron.plugin.values import convert as convert
    from vecron.plugin.values import converter as converter
    from vecron.plugin.values import json_safe as json_safe
    from vecron.plugin.values import to_str as to_str
    from vecron.runtime import Runtime as Runtime
    from vecron.runtime import tune_for_serving as tune_for_serving
    from vecron.secrets.redaction import excerpt as excerpt
    from vecron.services.views.executions import ExecutionSummary as ExecutionSummary
    from vecron.services.views.executions import ExecutionView as ExecutionView
    from vecron.services.views.executions import Fired as Fired
    from vecron.services.views.executions import StepView as StepView
    from vecron.services.views.jobs import AppliedDocument as AppliedDocument
    from vecron.services.views.jobs import JobSummary as JobSummary
    from vecron.services.views.jobs import JobVersionSummary as JobVersionSummary
    from vecron.services.views.jobs import JobView as JobView
    from vecron.services.views.jobs import LedgerEntry as LedgerEntry
    from vecron.services.views.jobs import SavedJob as SavedJob
    from vecron.services.views.jobs import ValidationReport as ValidationReport
    from vecron.services.views.pages import Page as Page
    from vecron.services.views.plugins import PluginView as PluginView
    from vecron.services.views.schedules import ScheduleExplanation as ScheduleExplanation
    from vecron.services.views.transfer import ConflictPolicy as ConflictPolicy
    from vecron.services.views.transfer import ExportDocument as ExportDocument
    from vecron.services.views.transfer import ImportReport as ImportReport
    from vecron.services.views.variables import VariableView as VariableView
    from vecron.settings import Settings as Settings
    from vecron.storage.base import CHUNK_SIZE as CHUNK_SIZE
    from vecron.storage.base import ObjectInfo as ObjectInfo
    from vecron.storage.base import check_key as check_key
    from vecron.store.migrate import run_migrations as run_migrations
    from vecron.templates.condition import truth as truth
    from vecron.templates.program import Program as Program
    from vecron.templates.program import compile_program as compile_program
    from vecron.templates.program import is_template as is_template

#: Where each public name lives; tests/plugins/sdk checks it matches the imports above.
_HOMES: dict[str, str] = {
    "JobVersionSummary": "vecron.services.views.jobs",
    "ValidationReport": "vecron.services.views.jobs",
    "PluginView": "vecron.services.views.plugins",
    "JobSummary": "vecron.services.views.jobs",
    "JobView": "vecron.services.views.jobs",
    "SavedJob": "vecron.services.views.jobs",
    "AppliedDocument": "vecron.services.views.jobs",
    "LedgerEntry": "vecron.services.views.jobs",
    "ExecutionSummary": "vecron.services.views.executions",
    "ExecutionView": "vecron.services.views.executions",
    "StepView": "vecron.services.views.executions",
    "Fired": "vecron.services.views.executions",
    "Page": "vecron.services.views.pages",
    "ScheduleExplanation": "vecron.services.views.schedules",
    "ConflictPolicy": "vecron.services.views.transfer",
    "ExportDocument": "vecron.services.views.transfer",
    "ImportReport": "vecron.services.views.transfer",
    "VariableView": "vecron.services.views.variables",
    "command_settings": "vecron.cli.session",
    "serve_app": "vecron.health",
    "tune_for_serving": "vecron.runtime",
    "add_probes": "vecron.health",
    "PluginError": "vecron.errors",
    "Problem": "vecron.errors",
    "problems_from_pydantic": "vecron.errors",
    "ConfigurationError": "vecron.errors",
    "BackendUnavailable": "vecron.errors",
    "Runtime": "vecron.runtime",
    "Settings": "vecron.settings",
    "with_runtime": "vecron.cli.session",
    "print_view": "vecron.cli.session",
    "LOCAL_OPERATOR": "vecron.auth.principal",
    "JsonFlag": "vecron.cli.session",
    "AuthBackend": "vecron.plugin.auth",
    "AuthBackendConfig": "vecron.plugin.auth",
    "Alert": "vecron.plugin.notifier",
    "AlertKind": "vecron.plugin.notifier",
    "Notifier": "vecron.plugin.notifier",
    "NotifierConfig": "vecron.plugin.notifier",
    "AuthRequest": "vecron.plugin.auth",
    "AuthServices": "vecron.plugin.auth",
    "Database": "vecron.plugin.auth",
    "Principal": "vecron.auth.principal",
    "Permission": "vecron.auth.principal",
    "authorize": "vecron.auth.principal",
    "BUILTIN_ROLES": "vecron.auth.roles",
    "permissions_of": "vecron.auth.roles",
    "Unauthenticated": "vecron.errors",
    "PermissionDenied": "vecron.errors",
    "ConflictError": "vecron.errors",
    "TooManyRequests": "vecron.errors",
    "TriggerForbidden": "vecron.errors",
    "run_migrations": "vecron.store.migrate",
    "AuditEntry": "vecron.auth.audit",
    "AuditOutcome": "vecron.auth.audit",
    "EgressDenied": "vecron.errors",
    "FinalError": "vecron.errors",
    "NotFoundError": "vecron.errors",
    "RetryableError": "vecron.errors",
    "StepError": "vecron.errors",
    "TemplateError": "vecron.errors",
    "ValidationError": "vecron.errors",
    "VecronError": "vecron.errors",
    "ChangeKind": "vecron.events.kinds",
    "DeadLettered": "vecron.events.kinds",
    "Event": "vecron.events.kinds",
    "EventKind": "vecron.events.kinds",
    "ExecutionCreated": "vecron.events.kinds",
    "ExecutionFinished": "vecron.events.kinds",
    "ExecutionMissed": "vecron.events.kinds",
    "ExecutionSkipped": "vecron.events.kinds",
    "ExecutionStarted": "vecron.events.kinds",
    "JobChanged": "vecron.events.kinds",
    "RetryScheduled": "vecron.events.kinds",
    "StepFinished": "vecron.events.kinds",
    "VariableChanged": "vecron.events.kinds",
    "EgressPolicy": "vecron.plugin.egress",
    "default_egress": "vecron.plugin.egress",
    "MAX_SECONDS": "vecron.models.bounds",
    "MIN_PERIOD": "vecron.models.bounds",
    "Instant": "vecron.models.bounds",
    "PositiveSeconds": "vecron.models.bounds",
    "Seconds": "vecron.models.bounds",
    "check_duration": "vecron.models.bounds",
    "BoundSql": "vecron.plugin.executor",
    "Executor": "vecron.plugin.executor",
    "ExecutorConfig": "vecron.plugin.executor",
    "StepContext": "vecron.plugin.executor",
    "ExecutionFiles": "vecron.plugin.files",
    "StoredFile": "vecron.plugin.files",
    "hookimpl": "vecron.plugin.hookspecs",
    "Registry": "vecron.plugin.registry",
    "DstFold": "vecron.models.dst",
    "DstGap": "vecron.models.dst",
    "ScheduleContext": "vecron.plugin.trigger",
    "Trigger": "vecron.plugin.trigger",
    "TriggerConfig": "vecron.plugin.trigger",
    "TriggerState": "vecron.plugin.trigger",
    "ConversionError": "vecron.plugin.values",
    "Converter": "vecron.plugin.values",
    "TypeName": "vecron.plugin.values",
    "convert": "vecron.plugin.values",
    "converter": "vecron.plugin.values",
    "json_safe": "vecron.plugin.values",
    "to_str": "vecron.plugin.values",
    "excerpt": "vecron.secrets.redaction",
    "CHUNK_SIZE": "vecron.storage.base",
    "ObjectInfo": "vecron.storage.base",
    "check_key": "vecron.storage.base",
    "truth": "vecron.templates.condition",
    "Program": "vecron.templates.program",
    "compile_program": "vecron.templates.program",
    "is_template": "vecron.templates.program",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
