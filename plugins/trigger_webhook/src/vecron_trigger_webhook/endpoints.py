"""Reading and writing endpoint rows, on vecron's database (``vecron.Database``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import aware, endpoints


@dataclass(frozen=True, slots=True)
class Endpoint:
    job_id: str
    hook_id: str
    sealed_secret: str
    sealed_previous: str | None
    previous_until: datetime | None
    created_at: datetime
    rotated_at: datetime

    def sealed_secrets(self, now: datetime) -> list[str]:
        """The sealed secrets that verify at ``now``: the current one, and the one before
        it while its grace lasts."""
        found = [self.sealed_secret]
        previous, until = self.sealed_previous, self.previous_until
        if previous is not None and until is not None and now < until:
            found.append(previous)
        return found


def _endpoint(row: RowMapping) -> Endpoint:
    created = aware(row["created_at"])
    rotated = aware(row["rotated_at"])
    assert created is not None and rotated is not None  # NOT NULL columns
    return Endpoint(
        job_id=row["job_id"],
        hook_id=row["hook_id"],
        sealed_secret=row["sealed_secret"],
        sealed_previous=row["sealed_previous"],
        previous_until=aware(row["previous_until"]),
        created_at=created,
        rotated_at=rotated,
    )


async def by_hook(conn: AsyncConnection, hook_id: str) -> Endpoint | None:
    query = select(endpoints).where(endpoints.c.hook_id == hook_id)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _endpoint(row)


async def by_job(conn: AsyncConnection, job_id: str, *, lock: bool = False) -> Endpoint | None:
    query = select(endpoints).where(endpoints.c.job_id == job_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _endpoint(row)


async def create(
    conn: AsyncConnection, *, job_id: str, hook_id: str, sealed: str, now: datetime
) -> None:
    await conn.execute(
        insert(endpoints).values(
            job_id=job_id,
            hook_id=hook_id,
            sealed_secret=sealed,
            sealed_previous=None,
            previous_until=None,
            created_at=now,
            rotated_at=now,
        )
    )


async def rotate(
    conn: AsyncConnection, old: Endpoint, *, sealed: str, now: datetime, grace_until: datetime
) -> None:
    """A new current secret; the old one verifies until ``grace_until`` (``now``: never)."""
    keep = grace_until > now
    await conn.execute(
        update(endpoints)
        .where(endpoints.c.job_id == old.job_id)
        .values(
            sealed_secret=sealed,
            sealed_previous=old.sealed_secret if keep else None,
            previous_until=grace_until if keep else None,
            rotated_at=now,
        )
    )
