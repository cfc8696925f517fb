"""Import and export of jobs as portable files (S7.3).

:class:`JobTransfer` is the part of :class:`~vecron.services.jobs.JobService` that moves
jobs between installations: an export is one :class:`ExportDocument` in which every
secret value is a placeholder (:mod:`vecron.jobs.portable`); an import validates every
job before it saves any, fills the placeholders from the secrets given and saves all the
jobs with their variables in one transaction — or, best effort, each valid job on its
own and a report of the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

from vecron.auth import Permission, Principal
from vecron.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
    VecronError,
)
from vecron.jobs.documents import load_json
from vecron.jobs.portable import (
    FORMAT_VERSION,
    exported_document,
    placeholder_name,
    placeholders_in,
)
from vecron.models.definition import JobDefinition
from vecron.plugin.manager import core_version
from vecron.plugin.registry import Registry
from vecron.services.audit import Gate
from vecron.services.importing import (
    Candidate,
    check_duplicates,
    check_job,
    export_of,
    name_taken,
    report,
)
from vecron.services.jobfiles import CheckedDocuments
from vecron.services.jobreads import job_resource
from vecron.services.views.transfer import (
    ConflictPolicy,
    ExportDocument,
    ExportedJob,
    ExportedVariable,
    ImportChange,
    ImportReport,
    SecretPlaceholder,
)
from vecron.store.base import NewVariable, SaveResult, Store, StoredVariable

if TYPE_CHECKING:
    from vecron.services.variables import VariableService

ALL_JOBS = "job:*"
#: The setting that limits an export's size, for the API's body and the CLI's file alike.
SIZE_SETTING = "api_max_body_bytes"
_NAME_LENGTH = 128


class JobTransfer:
    """Export and import, for :class:`~vecron.services.jobs.JobService`."""

    store: Store
    registry: Registry
    gate: Gate
    clock: Callable[[], datetime]
    variables: VariableService | None
    max_import_bytes: int
    parse: Callable[[Any], JobDefinition]

    #: :meth:`JobService._save <vecron.services.jobs.JobService._save>`: one transaction.
    _save: Callable[..., Awaitable[list[SaveResult]]]

    # -- export ---------------------------------------------------------------------
    async def export(
        self,
        principal: Principal,
        names: Sequence[str] = (),
        *,
        all_jobs: bool = False,
        variables: bool = True,
    ) -> ExportDocument:
        """The jobs ``names`` (or every job) as one portable document: their definitions
        and, with ``variables``, their own variables; every secret value a placeholder.
        Permission ``job:read`` (and ``variable:read`` with ``variables``); audited as
        ``job.export``.

        :raises ValidationError: neither names nor ``all_jobs``, or both; or no job at all.
        :raises NotFoundError: a named job does not exist (every missing one named).
        :raises PermissionDenied: without the permissions.
        """
        await self.gate.check(principal, Permission.JOB_READ, "job.export", ALL_JOBS)
        if variables:
            await self.gate.check(principal, Permission.VARIABLE_READ, "job.export", "variable:*")
        if bool(names) == all_jobs:
            raise ValidationError(
                "name the jobs to export, or ask for all of them (not both)",
                field="names",
                reason="selection",
            )
        if all_jobs:
            records = await self.store.list_jobs()
        else:
            wanted = list(dict.fromkeys(names))
            found = await self.store.jobs_by_name(wanted)
            missing = [n for n in wanted if n not in found]
            if missing:
                raise NotFoundError(
                    f"no job named {', '.join(map(repr, missing))}",
                    field="names",
                    reason="job-not-found",
                    params={"names": missing},
                )
            records = [found[n] for n in wanted]
        if not records:
            raise ValidationError("there are no jobs to export", field="names", reason="empty")
        stored: dict[str, list[StoredVariable]] = {}
        if variables:
            for v in await self.store.list_variables(every_scope=True):
                if v.scope is not None:
                    stored.setdefault(v.scope, []).append(v)
        secrets: list[str] = []
        jobs = [
            ExportedJob(
                definition=exported_document(job.definition, self.registry, secrets),
                variables=[_exported(v, job.name, secrets) for v in stored.get(job.id, [])],
            )
            for job in records
        ]
        exported = [job.name for job in records]
        await self.gate.record(
            self.gate.entry(
                principal,
                "job.export",
                ALL_JOBS,
                detail={"jobs": exported, "variables": variables, "secrets": len(secrets)},
            )
        )
        return ExportDocument(
            format_version=FORMAT_VERSION,
            exported_at=self.clock(),
            exported_by=principal.subject,
            vecron_version=core_version(),
            secrets=secrets,
            jobs=jobs,
        )

    # -- reading an export ------------------------------------------------------------
    def read_export(self, text: str | bytes, *, source: str = "<input>") -> Any:
        """An export's text (a file, a request body) as data, under the size limit.

        :raises ValidationError: larger than the limit (reason ``limit``), not UTF-8, or
            not JSON (reason ``syntax``, with line and column).
        """
        size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "replace"))
        self._check_size(size, source)
        try:
            return load_json(text, source)
        except UnicodeDecodeError:
            raise ValidationError(f"{source}: not UTF-8 text", reason="syntax") from None
        except RecursionError:
            raise ValidationError(f"{source}: JSON nested too deep", reason="syntax") from None

    def read_export_file(self, path: Path) -> Any:
        """:meth:`read_export` of a file, its size checked before it is read.

        :raises ValidationError: no such file, or as :meth:`read_export`.
        """
        try:
            self._check_size(path.stat().st_size, str(path))
            return self.read_export(path.read_bytes(), source=str(path))
        except OSError as exc:
            raise ValidationError(
                f"{path}: cannot read it: {exc.strerror}", field="file", reason="unreadable"
            ) from None

    def _check_size(self, size: int, source: str) -> None:
        if size > self.max_import_bytes:
            raise ValidationError(
                f"{source}: the export is {size:,} bytes; the limit is "
                f"{self.max_import_bytes:,} (setting {SIZE_SETTING})",
                reason="limit",
                params={"limit": self.max_import_bytes, "setting": SIZE_SETTING},
            )

    # -- import ---------------------------------------------------------------------
    async def import_(
        self,
        principal: Principal,
        document: Any,
        *,
        on_conflict: ConflictPolicy = "fail",
        secrets: Mapping[str, str] | None = None,
        best_effort: bool = False,
    ) -> ImportReport:
        """Save the jobs of an export (data as :meth:`read_export` gives it), the
        placeholders filled from ``secrets`` (by name), a taken name handled by
        ``on_conflict``. Every job is checked before any is saved; all are saved in one
        transaction. With ``best_effort`` each valid job is saved on its own and the
        report says why the others failed. Permission ``job:write`` (and
        ``variable:write`` when the export holds variables); each saved job audited as
        ``job.import``.

        :raises ValidationError: the document is not an export, or of a newer format;
            a secret given for no placeholder; without ``best_effort``, every problem of
            every job (a placeholder without a value: reason ``secret-missing``, naming
            it). Nothing is saved.
        :raises ConflictError: without ``best_effort``, a taken name under ``fail``.
        :raises PermissionDenied: without the permissions.
        """
        await self.gate.check(principal, Permission.JOB_WRITE, "job.import", ALL_JOBS)
        export = export_of(document)
        if any(job.variables for job in export.jobs):
            await self.gate.check(principal, Permission.VARIABLE_WRITE, "job.import", "variable:*")
        if on_conflict not in get_args(ConflictPolicy):
            raise ValidationError(
                f"on_conflict is one of {', '.join(get_args(ConflictPolicy))}, not {on_conflict!r}",
                field="on_conflict",
                reason="enum",
            )
        given = dict(secrets or {})
        known = set(placeholders_in(export.model_dump(mode="json")))
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValidationError(
                f"secrets given for no placeholder of this export: {', '.join(unknown)}",
                field="secrets",
                reason="unknown-secret",
                params={"names": unknown, "placeholders": sorted(known)},
            )
        checked = [
            check_job(f"jobs[{i}]", job, given, self.parse) for i, job in enumerate(export.jobs)
        ]
        check_duplicates(checked)
        if not best_effort:
            error = CheckedDocuments([], [], [p for job in checked for p in job.problems]).error()
            if error is not None:
                raise error
        names = await self._names(checked, on_conflict, best_effort)
        if best_effort:
            for job in checked:
                if job.definition is not None and not job.problems:
                    await self._store(principal, [job], names, on_conflict, best_effort=True)
        else:
            await self._store(principal, checked, names, on_conflict, best_effort=False)
        return report(checked)

    async def _names(
        self, checked: list[Candidate], policy: ConflictPolicy, best_effort: bool
    ) -> dict[str, str]:
        """The name each valid job is saved under; a job whose name is taken under
        ``fail`` gets a problem (or, without best effort, the import fails)."""
        valid = [job for job in checked if job.definition is not None and not job.problems]
        wanted = [cast(JobDefinition, job.definition).name for job in valid]
        taken = set(await self.store.jobs_by_name(wanted))
        names = {name: name for name in wanted}
        if policy == "fail":
            clashes = [name for name in wanted if name in taken]
            if clashes and not best_effort:
                several = len(clashes) > 1
                raise ConflictError(
                    f"job{'s' if several else ''} {', '.join(map(repr, clashes))} "
                    f"exist{'' if several else 's'} already; choose another conflict policy "
                    "(rename or overwrite)",
                    field="name",
                    reason="job-exists",
                    params={"names": clashes},
                )
            for job in valid:
                if job.definition is not None and job.definition.name in taken:
                    job.problems.append(name_taken(job.definition.name, job.source))
        elif policy == "rename":
            used = taken | set(wanted)
            for name in wanted:
                if name in taken:
                    names[name] = await self._free_name(name, used)
                    used.add(names[name])
        return names

    async def _free_name(self, name: str, used: set[str]) -> str:
        """The first of ``NAME-2``, ``NAME-3``… that no job has (nor another import)."""
        number = 2
        while True:
            batch = []
            for n in range(number, number + 20):
                suffix = f"-{n}"
                batch.append(name[: _NAME_LENGTH - len(suffix)] + suffix)
            existing = set(await self.store.jobs_by_name(batch)) | used
            for candidate in batch:
                if candidate not in existing:
                    return candidate
            number += 20

    async def _store(
        self,
        principal: Principal,
        jobs: list[Candidate],
        names: Mapping[str, str],
        policy: ConflictPolicy,
        *,
        best_effort: bool,
    ) -> None:
        """Save ``jobs`` under their names in one transaction with their variables; in
        best effort (one job at a time) a refusal becomes the job's problem."""
        definitions: list[JobDefinition] = []
        for job in jobs:
            definition = cast(JobDefinition, job.definition)
            definitions.append(definition.model_copy(update={"name": names[definition.name]}))
        by_name = {d.name: job for d, job in zip(definitions, jobs, strict=True)}
        variables = self.variables

        def values(saved: Sequence[SaveResult]) -> list[NewVariable]:
            made = []
            for result in saved:
                for name, value, secret in by_name[result.job.name].variables:
                    if secret:
                        if variables is None:
                            raise ValidationError("this installation cannot store secrets")
                        value = variables.seal(result.job.id, name, value)
                    made.append(
                        NewVariable(scope=result.job.id, name=name, value=value, secret=secret)
                    )
            return made

        audit = [
            self.gate.entry(
                principal,
                "job.import",
                job_resource(d.name),
                detail={
                    "source": job.source,
                    "exported_as": job.name,
                    "variables": [name for name, _, _ in job.variables],
                },
            )
            for d, job in zip(definitions, jobs, strict=True)
        ]
        try:
            results = await self._save(
                principal,
                definitions,
                create_only=policy != "overwrite",
                variables=values,
                audit=audit,
            )
        except VecronError as exc:
            if not best_effort:
                raise
            jobs[0].problems += [replace(p, source=jobs[0].source) for p in exc.problems]
            return
        for result, job in zip(results, jobs, strict=True):
            job.definition = result.job.definition
            job.saved = (cast(ImportChange, result.change), result.job.version)


def _exported(variable: StoredVariable, job: str, secrets: list[str]) -> ExportedVariable:
    if not variable.secret:
        return ExportedVariable(name=variable.name, value=variable.value)
    name = placeholder_name(job, f"vars.{variable.name}")
    secrets.append(name)
    return ExportedVariable(
        name=variable.name, secret=True, value=SecretPlaceholder.model_validate({"$secret": name})
    )
