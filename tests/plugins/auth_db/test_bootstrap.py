"""The first start makes one ``admin``: with VECRON_ADMIN_PASSWORD, or with a generated
password printed once to stderr and kept in ``<state_dir>/admin-password`` (0600)."""

from __future__ import annotations

import asyncio
import stat

import pytest

from vecron import ValidationError
from vecron.runtime import Runtime
from vecron_auth_db.backend import DbAuthBackend

from .conftest import ADDRESS, PASSWORD, Clock, api_caller, bearer, start_backend


async def test_a_generated_password_is_printed_once_and_kept_private(
    sqlite_runtime: Runtime,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("VECRON_ADMIN_PASSWORD", raising=False)
    first = await start_backend(sqlite_runtime, clock)
    printed = capsys.readouterr()
    path = sqlite_runtime.settings.state_dir / "admin-password"
    password = path.read_text().strip()
    assert len(password) >= 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert printed.err.count(password) == 1 and password not in printed.out
    assert await first.login("admin", password, ADDRESS)

    second = await start_backend(sqlite_runtime, clock)  # a restart
    again = capsys.readouterr()
    assert password not in again.err + again.out and "created user" not in again.err
    assert path.read_text().strip() == password
    assert await second.login("admin", password, ADDRESS)


async def test_the_environment_password_is_honoured(
    sqlite_runtime: Runtime,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VECRON_ADMIN_PASSWORD", PASSWORD)
    backend = await start_backend(sqlite_runtime, clock)
    printed = capsys.readouterr()
    assert "VECRON_ADMIN_PASSWORD" in printed.err and PASSWORD not in printed.err + printed.out
    assert not (sqlite_runtime.settings.state_dir / "admin-password").exists()
    pair = await backend.login("admin", PASSWORD, ADDRESS)
    caller = await backend.authenticate(bearer(pair.access_token))
    assert caller is not None and caller.subject == "admin"
    view = await backend.users.get(caller, "admin")
    assert view.roles == ["admin"] and not view.disabled


async def test_a_weak_environment_password_stops_the_start(
    sqlite_runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECRON_ADMIN_PASSWORD", "admin")
    with pytest.raises(ValidationError) as caught:
        await start_backend(sqlite_runtime, clock)
    assert caught.value.field == "VECRON_ADMIN_PASSWORD"
    assert "admin" not in caught.value.message.replace("VECRON_ADMIN_PASSWORD", "")


async def test_concurrent_starts_make_one_admin(
    runtime: Runtime,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On SQLite and PostgreSQL."""
    monkeypatch.delenv("VECRON_ADMIN_PASSWORD", raising=False)
    backends: list[DbAuthBackend] = await asyncio.gather(
        *(start_backend(runtime, clock) for _ in range(5))
    )
    printed = capsys.readouterr().err
    assert printed.count("created user 'admin' with password") == 1
    password = (runtime.settings.state_dir / "admin-password").read_text().strip()
    listed = await backends[0].users.list(api_caller())
    assert [u.name for u in listed] == ["admin"]
    for backend in backends:
        assert await backend.login("admin", password, ADDRESS)
