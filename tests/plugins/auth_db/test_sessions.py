"""Refresh tokens: stored as SHA-256 only, rotated on every refresh, a reused one revokes
its family, logout revokes, and they die with the user's password or account. Logins
are audited, without the password."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from vecron import TooManyRequests, Unauthenticated
from vecron.runtime import Runtime
from vecron_auth_db import DbAuthBackend
from vecron_auth_db.tables import refresh_tokens
from vecron_auth_db.views import UserUpdate

from .conftest import (
    ADDRESS,
    PASSWORD,
    Clock,
    add_user,
    api_caller,
    audit_entries,
    bearer,
    start_backend,
)


async def refresh_refused(backend: DbAuthBackend, token: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        await backend.refresh(token, ADDRESS)
    assert len(token) < 8 or token not in str(caught.value.problem())


async def test_refresh_rotates_the_pair(backend: DbAuthBackend) -> None:
    first = await backend.login("admin", PASSWORD, ADDRESS)
    second = await backend.refresh(first.refresh_token, ADDRESS)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert await backend.authenticate(bearer(second.access_token)) is not None
    third = await backend.refresh(second.refresh_token, ADDRESS)
    assert third.refresh_token.startswith("vrt_") and len(third.refresh_token) == 4 + 43


async def test_reuse_revokes_the_whole_family(
    backend: DbAuthBackend, sqlite_runtime: Runtime
) -> None:
    stolen = await backend.login("admin", PASSWORD, ADDRESS)
    rightful = await backend.refresh(stolen.refresh_token, ADDRESS)
    other_session = await backend.login("admin", PASSWORD, ADDRESS)
    await refresh_refused(backend, stolen.refresh_token)  # the thief replays it
    await refresh_refused(backend, rightful.refresh_token)  # the family is gone
    assert await backend.refresh(other_session.refresh_token, ADDRESS)  # others live on
    denied = await audit_entries(sqlite_runtime, "auth.refresh")
    assert {e.outcome.value for e in denied} == {"denied"}
    assert sorted(e.detail["reason"] for e in denied) == ["refused", "reused"]


async def test_refresh_tokens_expire(backend: DbAuthBackend, clock: Clock) -> None:
    pair = await backend.login("admin", PASSWORD, ADDRESS)
    clock.advance(7 * 24 * 3600)
    await refresh_refused(backend, pair.refresh_token)


async def test_logout_revokes_the_refresh_token(backend: DbAuthBackend) -> None:
    pair = await backend.login("admin", PASSWORD, ADDRESS)
    await backend.logout(pair.refresh_token, ADDRESS)
    await refresh_refused(backend, pair.refresh_token)
    await backend.logout(pair.refresh_token, ADDRESS)  # again: no error, nothing told
    await backend.logout("vrt_never-issued", ADDRESS)


@pytest.mark.parametrize("garbage", ["", "vrt_", "vrt_unknown", "eyJ.eyJ.sig", "x" * 500])
async def test_unknown_refresh_tokens_are_refused(backend: DbAuthBackend, garbage: str) -> None:
    await refresh_refused(backend, garbage)


async def test_disabling_or_a_new_password_ends_refresh(backend: DbAuthBackend) -> None:
    await add_user(backend, "dee", "viewer")
    await add_user(backend, "pat", "viewer")
    dee = await backend.login("dee", PASSWORD, ADDRESS)
    pat = await backend.login("pat", PASSWORD, ADDRESS)
    await backend.users.update(api_caller(), "dee", UserUpdate(disabled=True))
    await backend.users.update(
        api_caller(), "pat", UserUpdate.model_validate({"password": "a brand new password"})
    )
    await refresh_refused(backend, dee.refresh_token)
    await refresh_refused(backend, pat.refresh_token)
    await backend.users.update(api_caller(), "dee", UserUpdate(disabled=False))
    await refresh_refused(backend, dee.refresh_token)


async def test_only_the_digest_is_stored(backend: DbAuthBackend) -> None:
    pair = await backend.login("admin", PASSWORD, ADDRESS)
    async with backend.started.database.connect() as conn:
        rows = (await conn.execute(select(refresh_tokens))).mappings().all()
    stored = " ".join(str(dict(row)) for row in rows)
    secret_part = pair.refresh_token.removeprefix("vrt_")
    assert rows and secret_part not in stored
    assert all(len(row["token_hash"]) == 64 for row in rows)


async def test_concurrent_refreshes_of_one_token_let_one_through(
    runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite and PostgreSQL: the row lock makes the second a reuse."""
    monkeypatch.setenv("VECRON_ADMIN_PASSWORD", PASSWORD)
    backend = await start_backend(runtime, clock)
    pair = await backend.login("admin", PASSWORD, ADDRESS)
    results = await asyncio.gather(
        *(backend.refresh(pair.refresh_token, f"192.0.2.{n}") for n in range(5)),
        return_exceptions=True,
    )
    passed = [r for r in results if not isinstance(r, BaseException)]
    assert len(passed) == 1, results
    assert all(isinstance(r, Unauthenticated) for r in results if isinstance(r, BaseException))
    await refresh_refused(backend, passed[0].refresh_token)  # the family was revoked


async def test_logins_are_audited_without_the_password(
    backend: DbAuthBackend, sqlite_runtime: Runtime
) -> None:
    await backend.login("admin", PASSWORD, ADDRESS)
    with pytest.raises(Unauthenticated):
        await backend.login("admin", "a wrong password here", ADDRESS)
    entries = await audit_entries(sqlite_runtime, "auth.login")
    assert sorted(e.outcome.value for e in entries) == ["failed", "ok"]
    assert all(e.actor == "admin" and e.address == ADDRESS for e in entries)
    shown = " ".join(e.model_dump_json() for e in entries)
    assert PASSWORD not in shown and "a wrong password here" not in shown


async def test_a_locked_out_login_is_not_checked(backend: DbAuthBackend) -> None:
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await backend.login("admin", "a wrong password here", ADDRESS)
    with pytest.raises(TooManyRequests):
        await backend.login("admin", PASSWORD, ADDRESS)
