"""The audit log a page at a time (AuditService.list), on SQLite and PostgreSQL: entries
of one instant are told apart by id, so every filter and page size gives each entry once,
newest first; a cursor serves only its own filters."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest

from vecron.auth import LOCAL_OPERATOR, AuditEntry
from vecron.errors import ValidationError
from vecron.services.audit import AuditService
from vecron.store.sql import SqlStore

from .test_store import T0
from .test_store_audit import entry


async def walk(service: AuditService, size: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = await service.list(LOCAL_OPERATOR, cursor=cursor, limit=size, **filters)
        seen += [e.id for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


async def test_every_filter_and_page_size_gives_each_entry_once(store: SqlStore) -> None:
    written: list[AuditEntry] = []
    for step, actor, resource in itertools.product(range(3), ("alice", "bob"), ("job:a", "job:b")):
        for action in ("job.create", "job.update"):
            one = entry(action, resource, at=T0 + timedelta(seconds=step), actor=actor)
            await store.add_audit(one)
            written.append(one)
    service = AuditService(store)
    newest_first = sorted(written, key=lambda e: (e.at, e.id), reverse=True)
    for actor, resource, action, since in itertools.product(
        (None, "bob"), (None, "job:a"), (None, "job.update"), (None, T0 + timedelta(seconds=1))
    ):
        expected = [
            e.id
            for e in newest_first
            if (actor is None or e.actor == actor)
            and (resource is None or e.resource == resource)
            and (action is None or e.action == action)
            and (since is None or e.at >= since)
        ]
        assert expected
        filters = {"actor": actor, "resource": resource, "action": action, "since": since}
        for size in (1, 5, 500):
            assert await walk(service, size, **filters) == expected, (filters, size)

    first = await service.list(LOCAL_OPERATOR, actor="bob", limit=2)
    assert first.next_cursor is not None
    with pytest.raises(ValidationError) as bad:
        await service.list(LOCAL_OPERATOR, actor="alice", cursor=first.next_cursor)
    assert bad.value.field == "cursor"
    for limit in (0, 501):
        with pytest.raises(ValidationError) as bad:
            await service.list(LOCAL_OPERATOR, limit=limit)
        assert bad.value.field == "limit"
