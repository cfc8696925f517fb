"""The scheduler leadership epoch: electing a leader and fencing an ex-leader's writes.

Each function runs inside the caller's write transaction and locks the one
``scheduler_leader`` row, so an election and a fenced write never interleave.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.errors import FencedOut
from vecron.store.schema import scheduler_leader
from vecron.store.statements import Statements

#: The one row of ``scheduler_leader``.
LEADER_ROW = "scheduler"


async def _current_epoch(conn: AsyncConnection) -> int | None:
    found = await conn.execute(
        select(scheduler_leader.c.epoch)
        .where(scheduler_leader.c.name == LEADER_ROW)
        .with_for_update()
    )
    epoch = found.scalar_one_or_none()
    return None if epoch is None else int(epoch)


async def check_epoch(conn: AsyncConnection, epoch: int) -> None:
    """:raises FencedOut: another scheduler was elected since ``epoch``."""
    current = await _current_epoch(conn)
    if current != epoch:
        raise FencedOut(f"scheduler epoch {epoch} was superseded by {current}; not writing")


async def elect(conn: AsyncConnection, statements: Statements, owner: str, now: datetime) -> int:
    """Record ``owner`` as the leader; the new, higher epoch."""
    if await _current_epoch(conn) is None:
        inserted = await conn.execute(
            statements.insert(scheduler_leader)
            .values(name=LEADER_ROW, epoch=1, owner=owner, elected_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if inserted.rowcount == 1:
            return 1
    result = await conn.execute(
        update(scheduler_leader)
        .where(scheduler_leader.c.name == LEADER_ROW)
        .values(epoch=scheduler_leader.c.epoch + 1, owner=owner, elected_at=now)
        .returning(scheduler_leader.c.epoch)
    )
    return int(result.scalar_one())
