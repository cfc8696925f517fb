"""Variables: global and job-scoped (the job's wins), secret ones encrypted at rest.

Values are text. A template sees ``{{ vars.NAME }}`` as a string; a JSON document
stored as a variable stays text until a template parses it. A secret value is stored
only as a Fernet token whose plaintext also names the variable's scope and name, so a
token copied onto another variable in the database fails to open instead of handing
one job another's secret (Fernet has no associated data to bind it otherwise).

Nothing is cached: :meth:`VariableService.resolve_for_execution` reads the database,
so a change is seen by the next execution without a restart (S3.1).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from vecron.auth import Permission, Principal
from vecron.clock import utcnow
from vecron.errors import ConflictError, NotFoundError, SecretKeyError, ValidationError
from vecron.events import ChangeKind, EventSink, NullSink, VariableChanged
from vecron.jobs.masking import MASK
from vecron.models.job import JobRecord
from vecron.secrets.redaction import MIN_SECRET_LENGTH, maskable
from vecron.services.audit import Gate
from vecron.services.views import KeyRotation, VariableView
from vecron.store.base import Store, StoredVariable

if TYPE_CHECKING:
    from vecron.secrets.box import SecretBox

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def check_name(name: str) -> str:
    """:raises ValidationError: not a variable name (``^[A-Za-z_][A-Za-z0-9_]{0,127}$``)."""
    if NAME_PATTERN.fullmatch(name) is None:
        raise ValidationError(
            f"{name!r} is not a variable name",
            field="name",
            hint="a letter or _, then up to 127 letters, digits or _",
        )
    return name


def check_value(value: str, *, secret: bool, field: str = "value") -> str:
    """:raises ValidationError: a value no database holds, or a secret one too short to
    be masked (:data:`~vecron.secrets.redaction.MIN_SECRET_LENGTH`) or only asterisks."""
    if "\x00" in value:
        # PostgreSQL text cannot hold it; refuse on every backend alike.
        raise ValidationError("a variable value cannot contain a NUL character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (undecodable bytes of an argument) is no text a database holds.
        raise ValidationError("a variable value must be valid Unicode text", field=field) from None
    if secret and not maskable(value):
        # Unmasked it would show everywhere, and masking every "ab" would wreck outputs.
        raise ValidationError(
            f"a secret value must have at least {MIN_SECRET_LENGTH} characters and not "
            "only asterisks, or it cannot be masked",
            field=field,
            hint="use a longer value, or a plain variable if it is not secret",
        )
    return value


def _label(name: str, job: str | None) -> str:
    return f"variable {name!r}" if job is None else f"variable {name!r} of job {job!r}"


@dataclass(frozen=True, slots=True)
class ResolvedVariables:
    """What one execution sees: ``values`` goes into the templates' ``vars``;
    ``secret_values`` (plaintexts) must be masked in every output, log line and stored
    context; ``secret_names`` are the names whose values are secret."""

    values: Mapping[str, str] = field(default_factory=dict)
    secret_values: frozenset[str] = frozenset()
    secret_names: frozenset[str] = frozenset()


def variable_resource(name: str, job: str | None) -> str:
    """``variable:NAME`` for a global variable, ``variable:JOB/NAME`` for a job's own."""
    return f"variable:{name}" if job is None else f"variable:{job}/{name}"


class VariableService:
    """Set, read, list and delete variables; resolve them for an execution."""

    def __init__(
        self,
        store: Store,
        box: SecretBox,
        *,
        events: EventSink | None = None,
        gate: Gate | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.box = box
        self.events: EventSink = events or NullSink()
        self.clock = clock
        self.gate = gate or Gate(store, clock=lambda: self.clock())

    # -- sealing ------------------------------------------------------------------
    @staticmethod
    def _binding(scope: str | None, name: str) -> str:
        return f"{scope or ''}/{name}\n"

    def seal(self, scope: str | None, name: str, value: str) -> str:
        """The token stored for secret ``value`` of variable ``name`` in ``scope`` (a job
        id; None = global): it opens only as that variable."""
        return self.box.encrypt(self._binding(scope, name) + value)

    def _open(self, variable: StoredVariable, label: str) -> str:
        plaintext = self.box.decrypt(variable.value, name=f"secret {label}")
        binding = self._binding(variable.scope, variable.name)
        if not plaintext.startswith(binding):
            raise SecretKeyError(
                f"the encrypted value stored for secret {label} belongs to another variable",
                hint="the database row was altered; set the variable again",
            )
        return plaintext[len(binding) :]

    def _view(
        self, variable: StoredVariable, job: JobRecord | None, *, reveal: bool
    ) -> VariableView:
        value = variable.value
        if variable.secret:
            value = (
                self._open(variable, _label(variable.name, job.name if job else None))
                if reveal
                else MASK
            )
        return VariableView(
            name=variable.name,
            job=job.name if job else None,
            job_id=variable.scope,
            secret=variable.secret,
            value=value,
            created_at=variable.created_at,
            updated_at=variable.updated_at,
        )

    async def _job(self, job: str | None) -> JobRecord | None:
        return None if job is None else await self.store.get_job(job)

    # -- commands -----------------------------------------------------------------
    async def set(
        self,
        principal: Principal,
        name: str,
        value: str,
        *,
        job: str | None = None,
        secret: bool = False,
    ) -> VariableView:
        """Create or replace a variable (``job`` is a job name or id; None = global).

        :raises ValidationError: bad name, or a secret value too short to be masked
            (:data:`~vecron.secrets.redaction.MIN_SECRET_LENGTH`) or made only of asterisks.
        :raises NotFoundError: no such job.
        :raises ConflictError: it is secret and ``secret`` is False (a value meant to be
            secret must not be stored in clear by a forgotten flag).
        """
        resource = variable_resource(name, job)
        await self.gate.check(principal, Permission.VARIABLE_WRITE, "variable.set", resource)
        check_name(name)
        check_value(value, secret=secret)
        record = await self._job(job)
        scope = record.id if record else None
        existing = await self.store.get_variable(scope, name)
        label = _label(name, record.name if record else None)
        if existing is not None and existing.secret and not secret:
            raise ConflictError(
                f"{label} is secret; a plain value does not replace it",
                reason="variable-is-secret",
            )
        stored_value = self.seal(scope, name, value) if secret else value
        stored = await self.store.set_variable(
            scope,
            name,
            stored_value,
            secret=secret,
            now=self.clock(),
            audit=self.gate.entry(
                principal,
                "variable.set",
                variable_resource(name, record.name if record else None),
                detail={"secret": secret},  # never the value
            ),
        )
        change = ChangeKind.CREATED if existing is None else ChangeKind.UPDATED
        self._changed(principal, name, record, change)
        return self._view(stored, record, reveal=False)

    async def get(self, principal: Principal, name: str, *, job: str | None = None) -> VariableView:
        """The variable in exactly that scope; a secret one masked.

        :raises NotFoundError: no such variable (or job).
        """
        resource = variable_resource(name, job)
        await self.gate.check(principal, Permission.VARIABLE_READ, "variable.read", resource)
        variable, record = await self._find(name, job)
        return self._view(variable, record, reveal=False)

    async def reveal(
        self, principal: Principal, name: str, *, job: str | None = None
    ) -> VariableView:
        """The variable with a secret value in clear. Whoever may change a variable may
        see it; each reveal of a secret is in the audit log.

        :raises NotFoundError: no such variable (or job).
        :raises SecretKeyError: the value cannot be decrypted.
        """
        resource = variable_resource(name, job)
        await self.gate.check(principal, Permission.VARIABLE_WRITE, "variable.reveal", resource)
        variable, record = await self._find(name, job)
        view = self._view(variable, record, reveal=True)
        if variable.secret:
            await self.gate.record(self.gate.entry(principal, "variable.reveal", resource))
        return view

    async def _find(self, name: str, job: str | None) -> tuple[StoredVariable, JobRecord | None]:
        check_name(name)
        record = await self._job(job)
        variable = await self.store.get_variable(record.id if record else None, name)
        if variable is None:
            raise NotFoundError(
                f"{_label(name, record.name if record else None)} not found",
                reason="variable-not-found",
            )
        return variable, record

    async def delete(self, principal: Principal, name: str, *, job: str | None = None) -> None:
        """:raises NotFoundError: no such variable (or job)."""
        resource = variable_resource(name, job)
        await self.gate.check(principal, Permission.VARIABLE_WRITE, "variable.delete", resource)
        check_name(name)
        record = await self._job(job)
        label = _label(name, record.name if record else None)
        entry = self.gate.entry(
            principal, "variable.delete", variable_resource(name, record.name if record else None)
        )
        if not await self.store.delete_variable(record.id if record else None, name, audit=entry):
            raise NotFoundError(f"{label} not found", reason="variable-not-found")
        self._changed(principal, name, record, ChangeKind.DELETED)

    async def list(
        self, principal: Principal, *, job: str | None = None
    ) -> builtins.list[VariableView]:
        """Every variable (global and every job's), or only the job's own with ``job``;
        secret values masked."""
        resource = "variable:*" if job is None else variable_resource("*", job)
        await self.gate.check(principal, Permission.VARIABLE_READ, "variable.list", resource)
        if job is not None:
            record = await self.store.get_job(job)
            found = await self.store.list_variables(scope=record.id)
            return [self._view(v, record, reveal=False) for v in found]
        found = await self.store.list_variables(every_scope=True)
        jobs = (
            {j.id: j for j in await self.store.list_jobs()} if any(v.scope for v in found) else {}
        )
        views = []
        for variable in found:
            if variable.scope is not None and variable.scope not in jobs:
                continue  # its job was deleted between the two reads
            views.append(self._view(variable, jobs.get(variable.scope or ""), reveal=False))
        return views

    async def rotate_key(self, principal: Principal) -> KeyRotation:
        """Re-encrypt every secret value under the first configured key, in one
        transaction. Afterwards older keys can be removed.

        :raises SecretKeyError: a value no configured key decrypts (nothing changed).
        """
        await self.gate.check(principal, Permission.USER_ADMIN, "secrets.rotate-key", "variable:*")
        count = await self.store.rotate_secret_values(
            lambda v: self.box.rotate(v.value, name=f"secret {_label(v.name, v.scope)}"),
            audit=self.gate.entry(principal, "secrets.rotate-key", "variable:*"),
        )
        return KeyRotation(reencrypted=count)

    def _changed(
        self, principal: Principal, name: str, job: JobRecord | None, change: ChangeKind
    ) -> None:
        self.events.emit(
            VariableChanged(
                at=self.clock(),
                name=name,
                job=job.name if job else None,
                change=change,
                actor=principal.subject,
            )
        )

    # -- executions ---------------------------------------------------------------
    def _resolve(self, found: Sequence[StoredVariable], job_id: str) -> ResolvedVariables:
        # Globals come first, so a job's own variable of the same name replaces it; only
        # the winners are decrypted.
        winners = {variable.name: variable for variable in found}
        values: dict[str, str] = {}
        secret_names: set[str] = set()
        for name, variable in winners.items():
            if variable.secret:
                scope = None if variable.scope is None else job_id
                values[name] = self._open(variable, _label(name, scope))
                secret_names.add(name)
            else:
                values[name] = variable.value
        return ResolvedVariables(
            values=values,
            secret_values=frozenset(values[name] for name in secret_names),
            secret_names=frozenset(secret_names),
        )

    async def resolve_for_execution(self, job_id: str) -> ResolvedVariables:
        """The variables an execution of ``job_id`` sees, read now (one query).

        :raises SecretKeyError: a secret no configured key decrypts.
        """
        return self._resolve(await self.store.variables_for_job(job_id), job_id)

    async def resolve_globals(self) -> ResolvedVariables:
        """The global variables alone, read now: what operators' settings may reference
        as ``{{ vars.NAME }}`` (a notifier's signing secret), never a job's own.

        :raises SecretKeyError: a secret no configured key decrypts.
        """
        return self._resolve(await self.store.list_variables(scope=None), "")

    async def resolve_for_executions(self, job_ids: Sequence[str]) -> dict[str, ResolvedVariables]:
        """:meth:`resolve_for_execution` for a batch of jobs, in one query."""
        found = await self.store.variables_for_jobs(job_ids)
        return {job_id: self._resolve(found[job_id], job_id) for job_id in found}
