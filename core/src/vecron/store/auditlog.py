"""The audit log in SQL: entries written inside the transaction of the change they record.

Every mutating store method takes ``audit=`` and calls :func:`write_audit` on its own
connection before the transaction commits, so a change that fails leaves no entry and an
entry whose insert fails (an id used twice) takes its change down with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.auth.audit import DEFAULT_AUDIT_LIMIT, AuditEntry, AuditFilters
from vecron.errors import ConflictError, ValidationError
from vecron.store.base import Position
from vecron.store.schema import audit_log
from vecron.store.statements import keyset_before


def _values(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "source": entry.source,
        "address": entry.address,
        "action": entry.action,
        "resource": entry.resource,
        "outcome": entry.outcome.value,
        # JSON-safe (datetimes as ISO text): it is stored as JSON text on both servers.
        "detail": entry.model_dump(mode="json", include={"detail"})["detail"],
    }


async def write_audit(conn: AsyncConnection, entries: Sequence[AuditEntry | None]) -> None:
    """Insert ``entries`` (``None`` ones skipped) inside the caller's transaction.

    :raises ConflictError: an entry's id is already in the log; the caller's transaction
        then fails whole, change included.
    """
    values = [_values(entry) for entry in entries if entry is not None]
    if not values:
        return
    try:
        await conn.execute(insert(audit_log), values)
    except IntegrityError:
        ids = ", ".join(repr(v["id"]) for v in values)
        raise ConflictError(f"an audit entry with id {ids} exists already") from None


def entry(row: RowMapping) -> AuditEntry:
    return AuditEntry.model_validate(dict(row))  # the columns are the entry's fields


def audit_query(filters: AuditFilters, before: Position | None = None) -> Select[Any]:
    """Newest first by ``(at, id)``, from strictly before ``before`` when given; a range
    scan of ``ix_audit_log_at`` or, for one actor or resource, of its own index."""
    query = select(audit_log)
    if (actor := filters.get("actor")) is not None:
        query = query.where(audit_log.c.actor == actor)
    if (resource := filters.get("resource")) is not None:
        query = query.where(audit_log.c.resource == resource)
    if (action := filters.get("action")) is not None:
        query = query.where(audit_log.c.action == action)
    if (since := filters.get("since")) is not None:
        query = query.where(audit_log.c.at >= since)
    if before is not None:
        query = query.where(keyset_before(audit_log.c.at, audit_log.c.id, before))
    limit = filters.get("limit", DEFAULT_AUDIT_LIMIT)
    if limit < 0:
        raise ValidationError(f"limit must be 0 or more, not {limit}", field="limit")
    # Newest first; ids (UUIDv7) break ties between entries of one instant.
    return query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)


def entries(found: Iterable[RowMapping]) -> list[AuditEntry]:
    return [entry(row) for row in found]
