"""Reading jobs — by id or name, by names in bulk — and the definitions of their versions.

Each function runs on the caller's connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.errors import NotFoundError
from vecron.models.definition import JobDefinition
from vecron.models.job import JobRecord
from vecron.store import rows
from vecron.store.schema import job_versions, jobs
from vecron.store.statements import chunks


async def get_job(conn: AsyncConnection, ref: str) -> JobRecord:
    """By id or by name. :raises NotFoundError: no such job."""
    found = (
        (await conn.execute(select(jobs).where(or_(jobs.c.id == ref, jobs.c.name == ref))))
        .mappings()
        .all()
    )
    if not found:
        raise NotFoundError(f"job {ref!r} not found", reason="job-not-found")
    # A name could look like another job's id; the id wins.
    best = next((row for row in found if row["id"] == ref), found[0])
    return rows.job_record(best)


async def jobs_by_name(conn: AsyncConnection, names: Sequence[str]) -> dict[str, JobRecord]:
    found: dict[str, JobRecord] = {}
    for chunk in chunks(sorted(set(names))):
        result = await conn.execute(select(jobs).where(jobs.c.name.in_(chunk)))
        found.update({row["name"]: rows.job_record(row) for row in result.mappings()})
    return found


async def list_jobs(conn: AsyncConnection) -> list[JobRecord]:
    found = await conn.execute(select(jobs).order_by(jobs.c.name))
    return [rows.job_record(row) for row in found.mappings()]


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
