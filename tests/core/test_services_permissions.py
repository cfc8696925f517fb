"""Acceptance 4: every service method that reads or changes state refuses a principal
without its permission — PermissionDenied, nothing changed, a denied audit entry — and
lets one with only that permission through. The rows are tests/support/service_permissions.py,
the matrix the REST API reuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from tests.support.service_permissions import (
    ROWS,
    STATELESS,
    Row,
    World,
    build_world,
    service_methods,
)
from vecron.auth import AuditOutcome, Permission, Principal
from vecron.auth.principal import ALL_PERMISSIONS
from vecron.errors import PermissionDenied
from vecron.models.alerts import AlertSettings
from vecron.runtime import Runtime
from vecron.settings import Settings


@pytest.fixture
async def world(
    tmp_path: Path, test_pm: pluggy.PluginManager
) -> AsyncIterator[tuple[Runtime, World]]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/vecron.db",
        storage_url=f"file://{tmp_path}/storage",
        port=0,
        alerts=AlertSettings.model_validate({"notifiers": {"matrix-log": {"type": "log"}}}),
    )
    async with Runtime(settings, pm=test_pm) as rt:
        yield rt, await build_world(rt, tmp_path)


async def snapshot(rt: Runtime) -> dict[str, Any]:
    """Everything a service call could change, as the store has it."""
    store = rt.store
    return {
        "revision": await store.revision(),
        "jobs": [
            (j.id, j.name, j.version, j.enabled, j.next_fire_at) for j in await store.list_jobs()
        ],
        "executions": [
            (e.id, e.status, e.attempt, e.max_attempts, e.dead_lettered_at)
            for e in await store.list_executions(limit=1000)
        ],
        "variables": [
            (v.scope, v.name, v.value, v.updated_at)
            for v in await store.list_variables(every_scope=True)
        ],
        "audit": [e.id for e in await store.list_audit(limit=10_000)],
    }


def test_every_public_service_method_has_a_row() -> None:
    rows = {row.name for row in ROWS}
    assert len(rows) == len(ROWS), "a method has two rows"
    assert not rows & set(STATELESS), "a method is both in the matrix and stateless"
    missing = service_methods() - rows - set(STATELESS)
    assert not missing, f"add these to tests/support/service_permissions.py: {sorted(missing)}"
    gone = (rows | set(STATELESS)) - service_methods()
    assert not gone, f"rows for methods that no longer exist: {sorted(gone)}"


def test_every_permission_guards_something() -> None:
    assert {row.permission for row in ROWS} == set(Permission)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
async def test_a_principal_without_the_permission_is_refused(
    world: tuple[Runtime, World], row: Row
) -> None:
    rt, w = world
    lacking = Principal(
        subject=f"lacks-{row.permission.value}",
        permissions=ALL_PERMISSIONS - {row.permission},
        source="api",
        address="192.0.2.7",
    )
    before = await snapshot(rt)
    with pytest.raises(PermissionDenied) as refused:
        await row.call(rt, lacking, w)
    assert refused.value.permission == row.permission.value
    assert refused.value.resource == row.resource_in(w)
    assert (refused.value.status, refused.value.exit_code) == (403, 77)
    after = await snapshot(rt)
    [entry] = await rt.store.list_audit(actor=lacking.subject)
    assert after == {**before, "audit": [entry.id, *before["audit"]]}, "the refusal changed state"
    assert (entry.outcome, entry.action, entry.resource) == (
        AuditOutcome.DENIED,
        row.action,
        row.resource_in(w),
    )
    assert (entry.source, entry.address) == ("api", "192.0.2.7")
    assert entry.detail == {"permission": row.permission.value}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
async def test_the_permission_alone_is_enough(world: tuple[Runtime, World], row: Row) -> None:
    rt, w = world
    only = Principal(
        subject=f"only-{row.permission.value}", permissions=frozenset({row.permission})
    )
    await row.call(rt, only, w)  # no PermissionDenied, and the call did its work
    denied = [
        e for e in await rt.store.list_audit(actor=only.subject) if e.outcome is AuditOutcome.DENIED
    ]
    assert denied == []
