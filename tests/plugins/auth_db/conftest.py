"""Fixtures of the database auth backend's tests: a runtime on a fresh database (SQLite,
and PostgreSQL where a test asks for ``store_url``), a clock the test moves, a started
backend and helpers to make users and requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import sqlite_url, store_url  # noqa: F401  (fixtures)
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from vecron import AuditEntry, AuthRequest, AuthServices, Principal
from vecron.runtime import Runtime
from vecron.secrets.box import generate_key
from vecron.settings import Settings
from vecron_auth_db import DbAuthBackend, DbAuthConfig
from vecron_auth_db.views import UserCreate

#: OWASP's minimum argon2id cost: the tests hash often, and the minimum is allowed.
FAST_HASHING = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}
PASSWORD = "correct horse battery staple"
ADDRESS = "192.0.2.10"


@dataclass
class Clock:
    """Now, as the test says: ``clock.advance(seconds)``."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def runtime_settings(database_url: str, home: Path) -> Settings:
    return Settings(
        database_url=database_url,
        storage_url=f"file://{home}/storage",
        secret_keys=(generate_key(),),
        state_dir=home / "state",
        port=0,
    )


@pytest.fixture
async def runtime(store_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:  # noqa: F811
    """vecron's runtime (plugins from their entry points, so this backend's migrations
    are applied) on a fresh database: SQLite and PostgreSQL."""
    async with Runtime(runtime_settings(store_url, tmp_path)) as rt:
        yield rt


@pytest.fixture
async def sqlite_runtime(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:  # noqa: F811
    """The runtime on SQLite only, for tests whose subject is not the database."""
    async with Runtime(runtime_settings(sqlite_url, tmp_path)) as rt:
        yield rt


def services_of(rt: Runtime) -> AuthServices:
    """What the API lends each backend when it starts."""
    return AuthServices(
        database=rt.store,
        secrets=rt.secrets,
        state_dir=rt.settings.state_dir,
        audit=rt.store.add_audit,
        events=rt.events,
        settings=rt.settings,
    )


BackendFactory = Callable[..., Awaitable[DbAuthBackend]]


async def start_backend(rt: Runtime, clock: Clock, **settings: Any) -> DbAuthBackend:
    config = DbAuthConfig.model_validate({**FAST_HASHING, **settings})
    backend = DbAuthBackend(config, clock=clock)
    await backend.start(services_of(rt))
    return backend


@pytest.fixture
async def make_backend(
    sqlite_runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BackendFactory]:
    """``await make_backend(**config)``: a backend started on the SQLite runtime, its
    first admin's password being :data:`PASSWORD`."""
    monkeypatch.setenv("VECRON_ADMIN_PASSWORD", PASSWORD)
    started: list[DbAuthBackend] = []

    async def make(**settings: Any) -> DbAuthBackend:
        backend = await start_backend(sqlite_runtime, clock, **settings)
        started.append(backend)
        return backend

    yield make
    for backend in started:
        await backend.close()


@pytest.fixture
async def backend(make_backend: BackendFactory) -> DbAuthBackend:
    return await make_backend()


def api_caller(name: str = "admin", roles: frozenset[str] = frozenset({"admin"})) -> Principal:
    from vecron import permissions_of

    return Principal(
        subject=name, permissions=permissions_of(roles), roles=roles, source="api", address=ADDRESS
    )


async def add_user(backend: DbAuthBackend, name: str, *roles: str, disabled: bool = False) -> None:
    await backend.users.create(
        api_caller(),
        UserCreate.model_validate(
            {"name": name, "password": PASSWORD, "roles": list(roles), "disabled": disabled}
        ),
    )


def bearer(token: str, address: str = ADDRESS) -> AuthRequest:
    return AuthRequest(headers={"authorization": f"Bearer {token}"}, address=address)


async def audit_entries(rt: Runtime, action: str | None = None) -> list[AuditEntry]:
    return await rt.store.list_audit(action=action)
