"""What a token's user may do is kept for ``user_cache_seconds``: a change made through
the backend's own services applies to the very next request; one made by another
process (the CLI: its own services over the same database) within that time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.plugins.auth_db.conftest import (
    PASSWORD,
    BackendFactory,
    Clock,
    add_user,
    api_caller,
    bearer,
)
from vecron import Permission, Unauthenticated
from vecron_auth_db import DbAuthBackend
from vecron_auth_db.backend import Services
from vecron_auth_db.grants import Grants
from vecron_auth_db.records import UserRecord
from vecron_auth_db.views import RoleCreate, RoleUpdate, UserUpdate


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def a_user(name: str = "ana") -> UserRecord:
    at = datetime(2026, 12, 7, tzinfo=UTC)
    return UserRecord(
        id=f"id-{name}",
        name=name,
        password_hash="$argon2id$",
        roles=("viewer",),
        disabled=False,
        token_generation=0,
        created_at=at,
        updated_at=at,
    )


def test_a_grant_is_kept_for_its_seconds_then_read_again() -> None:
    ticks = Ticks()
    grants = Grants(5, clock=ticks)
    user = a_user()
    grants.keep(user, frozenset({Permission.JOB_READ}), read_in=grants.epoch)
    ticks.now += 4.9
    found = grants.get(user.id)
    assert found is not None and found.permissions == {Permission.JOB_READ}
    ticks.now += 0.1
    assert grants.get(user.id) is None


def test_a_read_begun_before_a_change_is_not_kept() -> None:
    grants = Grants(5, clock=Ticks())
    user = a_user()
    read_in = grants.epoch  # a request starts reading the user ...
    grants.forget()  # ... a change commits meanwhile ...
    grants.keep(user, frozenset(), read_in=read_in)  # ... what it read is already old
    assert grants.get(user.id) is None
    grants.keep(user, frozenset(), read_in=grants.epoch)
    assert grants.get(user.id) is not None


def test_zero_seconds_keeps_nothing() -> None:
    grants = Grants(0, clock=Ticks())
    grants.keep(a_user(), frozenset(), read_in=grants.epoch)
    assert grants.get("id-ana") is None


async def login(backend: DbAuthBackend, name: str) -> str:
    return (await backend.login(name, PASSWORD, "192.0.2.1")).access_token


async def test_a_change_through_the_backend_applies_to_the_next_request(
    backend: DbAuthBackend,
) -> None:
    await backend.roles.create(
        api_caller(),
        RoleCreate.model_validate({"name": "readers", "permissions": ["job:read", "job:write"]}),
    )
    await add_user(backend, "ana", "readers")
    token = await login(backend, "ana")
    first = await backend.authenticate(bearer(token))
    assert first is not None and Permission.JOB_WRITE in first.permissions
    await backend.roles.update(
        api_caller(), "readers", RoleUpdate.model_validate({"permissions": ["job:read"]})
    )
    narrowed = await backend.authenticate(bearer(token))
    assert narrowed is not None and Permission.JOB_WRITE not in narrowed.permissions
    await backend.users.update(api_caller(), "ana", UserUpdate.model_validate({"disabled": True}))
    with pytest.raises(Unauthenticated):
        await backend.authenticate(bearer(token))


async def test_a_change_made_elsewhere_applies_within_the_cache_time(
    make_backend: BackendFactory, clock: Clock
) -> None:
    backend = await make_backend(user_cache_seconds=5)
    ticks = Ticks()
    backend.started.services.grants._clock = ticks  # the cache's own monotonic clock
    await add_user(backend, "bo", "operator")
    token = await login(backend, "bo")
    assert await backend.authenticate(bearer(token)) is not None
    # The CLI: its own services over the same database, not this backend's.
    cli = Services.of(
        backend.config,
        backend.started.database,
        backend.started.services.auditor,
        clock,
    )
    await cli.users.update(api_caller(), "bo", UserUpdate.model_validate({"disabled": True}))
    ticks.now += 4.0
    assert await backend.authenticate(bearer(token)) is not None  # still as read
    ticks.now += 1.0
    with pytest.raises(Unauthenticated, match="disabled"):
        await backend.authenticate(bearer(token))


async def test_with_zero_seconds_every_request_reads_the_user(
    make_backend: BackendFactory, clock: Clock
) -> None:
    backend = await make_backend(user_cache_seconds=0)
    await add_user(backend, "cy", "viewer")
    token = await login(backend, "cy")
    assert await backend.authenticate(bearer(token)) is not None
    cli = Services.of(
        backend.config, backend.started.database, backend.started.services.auditor, clock
    )
    await cli.users.delete(api_caller(), "cy")
    with pytest.raises(Unauthenticated, match="no longer exists"):
        await backend.authenticate(bearer(token))
