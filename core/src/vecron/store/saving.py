"""Creating and versioning jobs (:meth:`Store.save_job`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.ids import new_id
from vecron.models.definition import JobDefinition

from . import rows
from .base import SaveResult
from .schema import job_versions, jobs
from .statements import Statements, bump_revision


async def save_job(
    conn: AsyncConnection,
    statements: Statements,
    definition: JobDefinition,
    *,
    next_fire_at: datetime | None,
    now: datetime,
) -> SaveResult:
    """Inside the caller's write transaction."""
    document = rows.definition_json(definition)
    while True:
        found = await conn.execute(
            select(jobs).where(jobs.c.name == definition.name).with_for_update()
        )
        current = found.mappings().first()
        if current is not None:
            break
        job_id = new_id()
        inserted = await conn.execute(
            statements.insert(jobs)
            .values(
                id=job_id,
                name=definition.name,
                enabled=definition.enabled,
                version=1,
                definition=document,
                created_at=now,
                updated_at=now,
                next_fire_at=next_fire_at,
                last_finished_at=None,
            )
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(*jobs.c)
        )
        created = inserted.mappings().first()
        if created is None:
            continue  # PostgreSQL: a concurrent save created it; update that one
        await conn.execute(
            insert(job_versions).values(
                job_id=job_id, version=1, definition=document, created_at=now
            )
        )
        await bump_revision(conn)
        return SaveResult(job=rows.job_record(created), change="created")

    previous = JobDefinition.model_validate(current["definition"])
    if rows.definition_json(previous) == document:
        return SaveResult(job=rows.job_record(current), change="unchanged")
    version = current["version"] + 1
    changed = await conn.execute(
        update(jobs)
        .where(jobs.c.id == current["id"])
        .values(
            version=version,
            definition=document,
            enabled=definition.enabled,
            updated_at=now,
            next_fire_at=next_fire_at,
        )
        .returning(*jobs.c)
    )
    updated = changed.mappings().one()
    await conn.execute(
        insert(job_versions).values(
            job_id=current["id"], version=version, definition=document, created_at=now
        )
    )
    await bump_revision(conn)
    return SaveResult(job=rows.job_record(updated), change="updated", previous=previous)
