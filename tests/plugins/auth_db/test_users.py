"""The user and role services: ``user:admin`` checked through vecron.authorize, every
change and refusal audited, views without hashes, and no change may leave the
installation without an administrator."""

from __future__ import annotations

import pytest

from vecron import ConflictError, NotFoundError, Permission, PermissionDenied, ValidationError
from vecron.runtime import Runtime
from vecron_auth_db import DbAuthBackend
from vecron_auth_db.views import RoleCreate, RoleUpdate, UserCreate, UserUpdate

from .conftest import ADDRESS, PASSWORD, add_user, api_caller, audit_entries, bearer

VIEWER = api_caller("vera", frozenset({"viewer"}))


async def test_only_user_admins_may_manage_users_and_refusals_are_audited(
    backend: DbAuthBackend, sqlite_runtime: Runtime
) -> None:
    new = UserCreate.model_validate({"name": "x", "password": PASSWORD})
    attempts = [
        backend.users.list(VIEWER),
        backend.users.get(VIEWER, "admin"),
        backend.users.create(VIEWER, new),
        backend.users.update(VIEWER, "admin", UserUpdate(disabled=True)),
        backend.users.delete(VIEWER, "admin"),
        backend.roles.list(VIEWER),
        backend.roles.create(VIEWER, RoleCreate(name="r", permissions=[])),
        backend.roles.delete(VIEWER, "r"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            await attempt
    denied = [e for e in await audit_entries(sqlite_runtime) if e.outcome.value == "denied"]
    assert len(denied) == len(attempts)
    assert {e.actor for e in denied} == {"vera"} and {e.address for e in denied} == {ADDRESS}
    assert {e.action for e in denied} >= {"user.create", "user.delete", "role.create"}


async def test_changes_are_audited_without_secrets(
    backend: DbAuthBackend, sqlite_runtime: Runtime
) -> None:
    await add_user(backend, "alice", "operator")
    await backend.users.update(
        api_caller(), "alice", UserUpdate.model_validate({"password": "a new long password"})
    )
    await backend.users.delete(api_caller(), "alice")
    entries = await audit_entries(sqlite_runtime)
    changes = {(e.action, e.resource, e.outcome.value) for e in entries}
    assert changes >= {
        ("user.create", "user:alice", "ok"),
        ("user.update", "user:alice", "ok"),
        ("user.delete", "user:alice", "ok"),
    }
    update = next(e for e in entries if e.action == "user.update")
    assert update.detail == {"changed": ["password"]}
    shown = " ".join(e.model_dump_json() for e in entries)
    assert PASSWORD not in shown and "a new long password" not in shown and "$argon2" not in shown


async def test_views_hold_no_hash(backend: DbAuthBackend) -> None:
    await add_user(backend, "hal", "viewer", "operator")
    view = await backend.users.get(api_caller(), "hal")
    assert set(view.model_dump()) == {
        "name", "roles", "permissions", "disabled", "created_at", "updated_at"
    }  # fmt: skip
    assert view.roles == ["viewer", "operator"]
    assert (
        Permission.JOB_WRITE in view.permissions and Permission.USER_ADMIN not in view.permissions
    )
    assert "$argon2" not in view.model_dump_json()


async def test_failed_changes_answer_with_their_errors(
    backend: DbAuthBackend, sqlite_runtime: Runtime
) -> None:
    await add_user(backend, "dup", "viewer")
    with pytest.raises(ConflictError):
        await add_user(backend, "dup", "viewer")
    with pytest.raises(ValidationError) as unknown:
        await add_user(backend, "newbie", "viewer", "wizard")
    assert unknown.value.field == "roles[1]"
    with pytest.raises(NotFoundError):
        await backend.users.update(api_caller(), "ghost", UserUpdate(disabled=True))
    with pytest.raises(NotFoundError):
        await backend.users.get(api_caller(), "ghost")
    failed = [e for e in await audit_entries(sqlite_runtime) if e.outcome.value == "failed"]
    assert sorted(e.detail["code"] for e in failed) == ["conflict", "not-found", "validation"]


async def test_the_last_administrator_stays(backend: DbAuthBackend) -> None:
    admin = api_caller()
    for change in (UserUpdate(disabled=True), UserUpdate(roles=["viewer"])):
        with pytest.raises(ConflictError) as caught:
            await backend.users.update(admin, "admin", change)
        assert caught.value.problems[0].code == "last-admin"
    with pytest.raises(ConflictError):
        await backend.users.delete(admin, "admin")
    await add_user(backend, "second", "admin")
    await backend.users.delete(admin, "admin")
    assert [u.name for u in await backend.users.list(admin)] == ["second"]


async def test_custom_roles(backend: DbAuthBackend) -> None:
    admin = api_caller()
    made = await backend.roles.create(
        admin,
        RoleCreate(
            name="runner",
            permissions=[Permission.JOB_EXECUTE, Permission.JOB_READ],
            description="runs jobs",
        ),
    )
    assert made.builtin is False and made.permissions == [
        Permission.JOB_EXECUTE,
        Permission.JOB_READ,
    ]
    names = [r.name for r in await backend.roles.list(admin)]
    assert names == ["admin", "operator", "viewer", "runner"]
    await add_user(backend, "rue", "runner")
    token = (await backend.login("rue", PASSWORD, ADDRESS)).access_token
    who = await backend.authenticate(bearer(token))
    assert who is not None and who.permissions == {Permission.JOB_EXECUTE, Permission.JOB_READ}

    await backend.roles.update(admin, "runner", RoleUpdate(permissions=[Permission.JOB_READ]))
    who = await backend.authenticate(bearer(token))
    assert who is not None and who.permissions == {Permission.JOB_READ}

    with pytest.raises(ConflictError) as in_use:
        await backend.roles.delete(admin, "runner")
    assert in_use.value.problems[0].code == "role-in-use"
    await backend.users.update(admin, "rue", UserUpdate(roles=["viewer"]))
    await backend.roles.delete(admin, "runner")
    with pytest.raises(NotFoundError):
        await backend.roles.get(admin, "runner")


@pytest.mark.parametrize("name", ["admin", "operator", "viewer"])
async def test_builtin_roles_cannot_change(backend: DbAuthBackend, name: str) -> None:
    admin = api_caller()
    assert (await backend.roles.get(admin, name)).builtin
    with pytest.raises(ConflictError):
        await backend.roles.create(admin, RoleCreate(name=name, permissions=[]))
    with pytest.raises(ConflictError):
        await backend.roles.update(admin, name, RoleUpdate(permissions=[]))
    with pytest.raises(ConflictError):
        await backend.roles.delete(admin, name)


async def test_a_custom_admin_role_counts_as_an_administrator(backend: DbAuthBackend) -> None:
    admin = api_caller()
    await backend.roles.create(
        admin, RoleCreate(name="keeper", permissions=[Permission.USER_ADMIN])
    )
    await add_user(backend, "kim", "keeper")
    await backend.users.update(admin, "admin", UserUpdate(roles=["viewer"]))
    with pytest.raises(ConflictError):
        await backend.roles.update(admin, "keeper", RoleUpdate(permissions=[Permission.JOB_READ]))
