"""The permission matrix of the service layer: every public service method that reads or
changes state, the permission it needs (SPEC S8.2), and the audit action and resource
it records. tests/core/test_services_permissions.py proves each row against the real
services; the REST API's tests map their endpoints onto the same rows.

A new public service method fails that test until it has a row here, or an entry in
:data:`STATELESS` saying why it needs no permission.
"""

from __future__ import annotations

import inspect
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import vecron.services
from vecron.auth import LOCAL_OPERATOR, Permission, Principal
from vecron.clock import utcnow
from vecron.models.execution import ExecutionStatus, Outcome
from vecron.runtime import Runtime


@dataclass(frozen=True, slots=True)
class World:
    """What the calls act on: a job, a dead-lettered execution of it and a queued one, a
    secret variable of it, and a document to apply."""

    job: str
    execution_id: str
    variable: str
    document: Path
    queued_id: str
    hooked: str = "matrix-hooked"


JOB_DOCUMENT = {"triggers": [{"type": "manual"}], "steps": [{"id": "a", "type": "record"}]}


async def build_world(rt: Runtime, home: Path) -> World:
    """Made through the services as the local operator, the dead letter through the store
    as a worker would leave it."""
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse({"name": "matrix", **JOB_DOCUMENT}))
    execution = (await rt.triggers.fire(LOCAL_OPERATOR, "matrix", kind="manual")).execution
    now = utcnow()
    [claimed] = await rt.store.claim(
        [execution.id], "matrix-worker", lease_until=now + timedelta(minutes=5), now=now
    )
    outcome = Outcome.dead_lettered(claimed, ExecutionStatus.FAILED, now, "boom")
    assert await rt.store.record([], [outcome]) == [True]
    await rt.variables.set(LOCAL_OPERATOR, "TOKEN", "matrix-secret", job="matrix", secret=True)
    document = home / "applied.yaml"
    document.write_text('{"name": "matrix-applied", "steps": [{"id": "a", "type": "record"}]}')
    queued = (await rt.triggers.fire(LOCAL_OPERATOR, "matrix", kind="manual")).execution
    hooked = {"name": "matrix-hooked", **JOB_DOCUMENT, "triggers": [{"type": "webhook"}]}
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(hooked))
    await webhooks(rt).regenerate(LOCAL_OPERATOR, "matrix-hooked")
    return World(
        job="matrix",
        execution_id=execution.id,
        variable="TOKEN",
        document=document,
        queued_id=queued.id,
    )


def webhooks(rt: Runtime) -> Any:
    """The webhook plugin's service (vecron-trigger-webhook) over ``rt``."""
    import time

    from vecron_trigger_webhook import WebhookService
    from vecron_trigger_webhook.limits import MemoryLimits

    return WebhookService(rt, MemoryLimits(time.monotonic))


Call = Callable[[Runtime, Principal, World], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Row:
    """``service.method`` needs ``permission``; a refusal is audited as ``action`` on
    ``resource`` (``{job}``, ``{execution_id}``, ``{variable}``, ``{queued_id}`` are the
    world's)."""

    service: str
    """The class name, e.g. ``JobService``."""
    method: str
    permission: Permission
    action: str
    resource: str
    call: Call

    @property
    def name(self) -> str:
        return f"{self.service}.{self.method}"

    def resource_in(self, world: World) -> str:
        return self.resource.format(
            job=world.job,
            execution_id=world.execution_id,
            variable=world.variable,
            queued_id=world.queued_id,
            hooked=world.hooked,
        )


def _new_document() -> dict[str, Any]:
    return {"name": "matrix-new", **JOB_DOCUMENT}


def _new_job(rt: Runtime) -> Any:
    return rt.jobs.parse(_new_document())


def _export_of_new_job() -> dict[str, Any]:
    """An export (as ``job export`` writes it) of a job the world does not have."""
    return {
        "format_version": 1,
        "exported_at": "2026-12-07T00:00:00Z",
        "exported_by": "matrix",
        "vecron_version": None,
        "jobs": [{"definition": {**_new_document(), "name": "matrix-imported"}}],
    }


ROWS: tuple[Row, ...] = (
    # -- alerts -------------------------------------------------------------------------
    Row(
        "AlertService",
        "test",
        Permission.JOB_WRITE,
        "alert.test",
        "notifier:matrix-log",
        lambda rt, p, w: rt.alerts.test(p, "matrix-log"),
    ),
    # -- jobs ---------------------------------------------------------------------------
    Row(
        "JobService",
        "list_jobs",
        Permission.JOB_READ,
        "job.list",
        "job:*",
        lambda rt, p, w: rt.jobs.list_jobs(p),
    ),
    Row(
        "JobService",
        "get",
        Permission.JOB_READ,
        "job.read",
        "job:{job}",
        lambda rt, p, w: rt.jobs.get(p, w.job),
    ),
    Row(
        "JobService",
        "ledger",
        Permission.JOB_READ,
        "job.ledger",
        "job:{job}",
        lambda rt, p, w: rt.jobs.ledger(p, w.job),
    ),
    Row(
        "JobService",
        "versions",
        Permission.JOB_READ,
        "job.versions",
        "job:{job}",
        lambda rt, p, w: rt.jobs.versions(p, w.job),
    ),
    Row(
        "JobService",
        "version",
        Permission.JOB_READ,
        "job.version",
        "job:{job}",
        lambda rt, p, w: rt.jobs.version(p, w.job, 1),
    ),
    Row(
        "JobService",
        "save",
        Permission.JOB_WRITE,
        "job.save",
        "job:matrix-new",
        lambda rt, p, w: rt.jobs.save(p, _new_job(rt)),
    ),
    Row(
        "JobService",
        "save_many",
        Permission.JOB_WRITE,
        "job.save",
        "job:matrix-new",
        lambda rt, p, w: rt.jobs.save_many(p, [_new_job(rt)]),
    ),
    Row(
        "JobService",
        "apply",
        Permission.JOB_WRITE,
        "job.apply",
        "job:matrix-applied",
        lambda rt, p, w: rt.jobs.apply(p, w.document),
    ),
    Row(
        "JobService",
        "apply_documents",
        Permission.JOB_WRITE,
        "job.apply",
        "job:*",
        lambda rt, p, w: rt.jobs.apply_documents(p, [("documents[0]", _new_document())]),
    ),
    Row(
        "JobService",
        "validate",
        Permission.JOB_WRITE,
        "job.validate",
        "job:*",
        lambda rt, p, w: rt.jobs.validate(p, [("documents[0]", _new_document())]),
    ),
    Row(
        "JobService",
        "create",
        Permission.JOB_WRITE,
        "job.create",
        "job:matrix-new",
        lambda rt, p, w: rt.jobs.create(p, _new_job(rt)),
    ),
    Row(
        "JobService",
        "set_enabled",
        Permission.JOB_WRITE,
        "job.disable",
        "job:{job}",
        lambda rt, p, w: rt.jobs.set_enabled(p, w.job, False),
    ),
    Row(
        "JobService",
        "delete",
        Permission.JOB_DELETE,
        "job.delete",
        "job:{job}",
        lambda rt, p, w: rt.jobs.delete(p, w.job),
    ),
    Row(
        "TriggerService",
        "fire",
        Permission.JOB_EXECUTE,
        "job.run",
        "job:{job}",
        lambda rt, p, w: rt.triggers.fire(p, w.job, kind="manual"),
    ),
    Row(
        "JobService",
        "export",
        Permission.JOB_READ,
        "job.export",
        "job:*",
        lambda rt, p, w: rt.jobs.export(p, [w.job], variables=False),
    ),
    Row(
        "JobService",
        "import_",
        Permission.JOB_WRITE,
        "job.import",
        "job:*",
        lambda rt, p, w: rt.jobs.import_(p, _export_of_new_job()),
    ),
    # -- executions -------------------------------------------------------------------
    Row(
        "ExecutionService",
        "list_executions",
        Permission.EXECUTION_READ,
        "execution.list",
        "execution:*",
        lambda rt, p, w: rt.executions.list_executions(p, job=w.job),
    ),
    Row(
        "ExecutionService",
        "dead_letters",
        Permission.EXECUTION_READ,
        "execution.dead-letters",
        "execution:*",
        lambda rt, p, w: rt.executions.dead_letters(p, job=w.job),
    ),
    Row(
        "ExecutionService",
        "get",
        Permission.EXECUTION_READ,
        "execution.read",
        "execution:{execution_id}",
        lambda rt, p, w: rt.executions.get(p, w.execution_id, context=True),
    ),
    Row(
        "ExecutionService",
        "cancel",
        Permission.JOB_EXECUTE,
        "execution.cancel",
        "execution:{queued_id}",
        lambda rt, p, w: rt.executions.cancel(p, w.queued_id),
    ),
    Row(
        "ExecutionService",
        "wait",
        Permission.EXECUTION_READ,
        "execution.read",
        "execution:{execution_id}",
        lambda rt, p, w: rt.executions.wait(p, w.execution_id, timeout=5),
    ),
    Row(
        "ExecutionService",
        "rerun",
        Permission.JOB_EXECUTE,
        "execution.rerun",
        "execution:{execution_id}",
        lambda rt, p, w: rt.executions.rerun(p, w.execution_id),
    ),
    # -- variables --------------------------------------------------------------------
    Row(
        "VariableService",
        "list",
        Permission.VARIABLE_READ,
        "variable.list",
        "variable:*",
        lambda rt, p, w: rt.variables.list(p),
    ),
    Row(
        "VariableService",
        "get",
        Permission.VARIABLE_READ,
        "variable.read",
        "variable:{job}/{variable}",
        lambda rt, p, w: rt.variables.get(p, w.variable, job=w.job),
    ),
    Row(
        "VariableService",
        "reveal",
        Permission.VARIABLE_WRITE,
        "variable.reveal",
        "variable:{job}/{variable}",
        lambda rt, p, w: rt.variables.reveal(p, w.variable, job=w.job),
    ),
    Row(
        "VariableService",
        "set",
        Permission.VARIABLE_WRITE,
        "variable.set",
        "variable:PLAIN",
        lambda rt, p, w: rt.variables.set(p, "PLAIN", "value"),
    ),
    Row(
        "VariableService",
        "delete",
        Permission.VARIABLE_WRITE,
        "variable.delete",
        "variable:{job}/{variable}",
        lambda rt, p, w: rt.variables.delete(p, w.variable, job=w.job),
    ),
    Row(
        "VariableService",
        "rotate_key",
        Permission.USER_ADMIN,
        "secrets.rotate-key",
        "variable:*",
        lambda rt, p, w: rt.variables.rotate_key(p),
    ),
    # -- audit ------------------------------------------------------------------------
    Row(
        "AuditService",
        "list",
        Permission.USER_ADMIN,
        "audit.read",
        "audit",
        lambda rt, p, w: rt.audit.list(p),
    ),
    # -- execution files and plugins ----------------------------------------------------
    Row(
        "ExecutionFileService",
        "names",
        Permission.EXECUTION_READ,
        "execution.files",
        "execution:{execution_id}",
        lambda rt, p, w: rt.files.names(p, w.execution_id),
    ),
    Row(
        "ExecutionFileService",
        "open",
        Permission.EXECUTION_READ,
        "execution.file",
        "execution:{execution_id}",
        lambda rt, p, w: _missing_file(rt, p, w),
    ),
    # -- plugins' services --------------------------------------------------------------
    Row(
        "WebhookService",
        "show",
        Permission.JOB_READ,
        "webhook.read",
        "job:{hooked}",
        lambda rt, p, w: webhooks(rt).show(p, w.hooked),
    ),
    Row(
        "WebhookService",
        "regenerate",
        Permission.JOB_WRITE,
        "webhook.regenerate",
        "job:{hooked}",
        lambda rt, p, w: webhooks(rt).regenerate(p, w.hooked),
    ),
    Row(
        "PluginService",
        "list",
        Permission.JOB_READ,
        "plugin.list",
        "plugin:*",
        lambda rt, p, w: rt.plugins.list(p),
    ),
)


async def _missing_file(rt: Runtime, principal: Principal, world: World) -> Any:
    """Opening a file the execution does not have: allowed callers get NotFoundError
    past the permission check, refused ones PermissionDenied before it."""
    from vecron.errors import NotFoundError

    try:
        return await rt.files.open(principal, world.execution_id, "none.csv")
    except NotFoundError:
        return None


#: Public service methods that read no state or take no principal, with why they need no
#: permission.
STATELESS: dict[str, str] = {
    "WebhookService.deliver": "a delivery's signature is its credential, not a principal; "
    "it fires the job as webhook:<hook id>, through JobService",
    "JobService.parse": "validates a document against the installed plugins",
    "JobService.load_path": "reads and validates documents from files",
    "JobService.parse_text": "reads JSON or YAML text under the document limits",
    "JobService.schema": "the JSON Schema of the installed plugins",
    "JobService.read_export": "reads an export's JSON text under the size limit",
    "JobService.read_export_file": "reads an export's file under the size limit",
    "VariableService.seal": "encrypts a value for one variable; stores nothing",
    "ScheduleService.explain": "previews a schedule from its document",
    "VariableService.resolve_for_execution": "the worker's, for the execution it runs",
    "VariableService.resolve_for_executions": "the worker's, for the executions it runs",
    "VariableService.resolve_globals": "alert delivery's, for the notifier settings it sends with",
    "AuditService.unauthenticated": "records a refusal; the caller has no identity to check",
}


#: Modules of the built-in plugins that hold services of their own.
PLUGIN_SERVICES = ("vecron_trigger_webhook.service",)


def service_methods() -> set[str]:
    """``Class.method`` of every public method of every ``*Service`` in vecron.services
    and in :data:`PLUGIN_SERVICES`."""
    found: set[str] = set()
    modules = [i.name for i in pkgutil.walk_packages(vecron.services.__path__, "vecron.services.")]
    for module_name in [*modules, *PLUGIN_SERVICES]:
        module = import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not name.endswith("Service") or cls.__module__ != module.__name__:
                continue
            for method, _ in inspect.getmembers(cls, inspect.isfunction):
                if not method.startswith("_"):
                    found.add(f"{name}.{method}")
    return found
