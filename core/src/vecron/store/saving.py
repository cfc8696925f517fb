"""Creating and versioning jobs (:meth:`Store.save_job`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.errors import ConflictError
from vecron.ids import new_id
from vecron.models.definition import JobDefinition
from vecron.store import rows
from vecron.store.base import SaveResult
from vecron.store.schema import job_versions, jobs
from vecron.store.statements import Statements, bump_revision, chunks


def exists(name: str) -> ConflictError:
    return ConflictError(f"job {name!r} exists already", field="name", reason="job-exists")


async def save_job(
    conn: AsyncConnection,
    statements: Statements,
    definition: JobDefinition,
    *,
    next_fire_at: datetime | None,
    now: datetime,
    create_only: bool = False,
) -> SaveResult:
    """Inside the caller's write transaction.

    :raises ConflictError: ``create_only`` and the job exists.
    """
    document = rows.definition_json(definition)
    while True:
        found = await conn.execute(
            select(jobs).where(jobs.c.name == definition.name).with_for_update()
        )
        current = found.mappings().first()
        if current is not None:
            if create_only:
                raise exists(definition.name)
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


async def save_jobs(
    conn: AsyncConnection,
    statements: Statements,
    items: Sequence[tuple[JobDefinition, datetime | None]],
    *,
    now: datetime,
    create_only: bool = False,
) -> list[SaveResult]:
    """Inside the caller's write transaction. Jobs new by name are inserted with one
    multi-row statement per table (registering 100,000 jobs must not take 100,000
    round trips); existing ones go through :func:`save_job`.

    :raises ConflictError: ``create_only`` and one of the jobs exists (or is named twice).
    """
    existing: set[str] = set()
    for chunk in chunks(sorted({d.name for d, _ in items})):
        found = await conn.execute(select(jobs.c.name).where(jobs.c.name.in_(chunk)))
        existing.update(found.scalars())
    if create_only and existing:
        raise exists(min(existing))
    fresh: dict[str, dict[str, Any]] = {}
    for definition, next_fire_at in items:
        if definition.name in existing or definition.name in fresh:
            continue
        fresh[definition.name] = {
            "id": new_id(),
            "name": definition.name,
            "enabled": definition.enabled,
            "version": 1,
            "definition": rows.definition_json(definition),
            "created_at": now,
            "updated_at": now,
            "next_fire_at": next_fire_at,
            "last_finished_at": None,
        }
    created: dict[str, SaveResult] = {}
    if fresh:
        values = list(fresh.values())
        await conn.execute(
            statements.insert(jobs).on_conflict_do_nothing(index_elements=["name"]), values
        )
        # Those actually inserted: on PostgreSQL a concurrent save may have won a name.
        inserted: dict[str, Any] = {}
        for chunk in chunks([v["id"] for v in values]):
            part = await conn.execute(select(jobs).where(jobs.c.id.in_(chunk)))
            inserted.update({row["name"]: row for row in part.mappings()})
        first_versions = [
            {"job_id": v["id"], "version": 1, "definition": v["definition"], "created_at": now}
            for v in values
            if v["name"] in inserted
        ]
        if first_versions:  # (empty when every new name lost a race: no statement then)
            await conn.execute(insert(job_versions), first_versions)
        created = {
            name: SaveResult(job=rows.job_record(row), change="created")
            for name, row in inserted.items()
        }
        await bump_revision(conn)
    results = []
    for definition, next_fire_at in items:
        result = created.pop(definition.name, None)
        if result is None:  # existed already, a repeat in ``items``, or lost a race
            result = await save_job(
                conn,
                statements,
                definition,
                next_fire_at=next_fire_at,
                now=now,
                create_only=create_only,
            )
        results.append(result)
    return results
