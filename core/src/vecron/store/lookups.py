"""Reading jobs — by id or name, by names in bulk — and the definitions of their versions.

Each function runs on the caller's connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.errors import NotFoundError
from vecron.models.definition import JobDefinition
from vecron.models.job import JobRecord
from vecron.store import rows
from vecron.store.base import JobVersion
from vecron.store.schema import JOB_READ_COLUMNS, job_versions, jobs
from vecron.store.statements import chunks


async def get_job(conn: AsyncConnection, ref: str) -> JobRecord:
    """By id or by name. :raises NotFoundError: no such job."""
    query = select(*JOB_READ_COLUMNS).where(or_(jobs.c.id == ref, jobs.c.name == ref))
    found = (await conn.execute(query)).mappings().all()
    if not found:
        raise NotFoundError(f"job {ref!r} not found", reason="job-not-found")
    # A name could look like another job's id; the id wins.
    best = next((row for row in found if row["id"] == ref), found[0])
    return rows.job_record(best)


async def jobs_by_name(conn: AsyncConnection, names: Sequence[str]) -> dict[str, JobRecord]:
    found: dict[str, JobRecord] = {}
    for chunk in chunks(sorted(set(names))):
        result = await conn.execute(select(*JOB_READ_COLUMNS).where(jobs.c.name.in_(chunk)))
        found.update({row["name"]: rows.job_record(row) for row in result.mappings()})
    return found


async def list_jobs(
    conn: AsyncConnection,
    *,
    enabled: bool | None = None,
    search: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[JobRecord]:
    """See :meth:`Store.list_jobs`: walks the unique name index in order, from ``after``."""
    query = select(*JOB_READ_COLUMNS)
    if enabled is not None:
        query = query.where(jobs.c.enabled == enabled)
    if search:
        # Names are ASCII (NAME_PATTERN), so lower() agrees on both databases; % and _
        # in the search are matched as themselves.
        query = query.where(func.lower(jobs.c.name).contains(search.lower(), autoescape=True))
    if after is not None:
        query = query.where(jobs.c.name > after)
    query = query.order_by(jobs.c.name)
    if limit is not None:
        query = query.limit(limit)
    found = await conn.execute(query)
    return [rows.job_record(row) for row in found.mappings()]


async def versions_of(conn: AsyncConnection, job_id: str) -> list[JobVersion]:
    """Oldest first (the primary key's order)."""
    found = await conn.execute(
        select(job_versions).where(job_versions.c.job_id == job_id).order_by(job_versions.c.version)
    )
    return [
        JobVersion(
            job_id=row["job_id"],
            version=row["version"],
            definition=rows.job_definition(row["job_id"], row["version"], row["definition"]),
            saved_at=row["created_at"],
        )
        for row in found.mappings()
    ]


async def job_definition(conn: AsyncConnection, job_id: str, version: int) -> JobDefinition:
    """:raises NotFoundError: no such job or version."""
    document = (
        await conn.execute(
            select(job_versions.c.definition).where(
                job_versions.c.job_id == job_id, job_versions.c.version == version
            )
        )
    ).scalar_one_or_none()
    if document is None:
        raise NotFoundError(f"job {job_id!r} has no version {version}")
    return JobDefinition.model_validate(document)


async def job_definitions(
    conn: AsyncConnection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], JobDefinition]:
    """Those of ``keys`` that exist; one query per chunk of job ids."""
    found: dict[tuple[str, int], JobDefinition] = {}
    wanted = set(keys)
    for chunk in chunks(sorted({job_id for job_id, _ in wanted})):
        result = await conn.execute(
            select(job_versions.c.job_id, job_versions.c.version, job_versions.c.definition).where(
                job_versions.c.job_id.in_(chunk)
            )
        )
        for job_id, version, document in result:
            if (job_id, version) in wanted:
                found[(job_id, version)] = JobDefinition.model_validate(document)
    return found
