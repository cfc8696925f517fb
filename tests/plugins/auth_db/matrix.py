"""Example requests of the ``db`` backend's operations for the API's route x role matrix
(tests/api/test_matrix.py): ``EXAMPLES.update(auth_db.matrix.EXAMPLES)``.

Each example makes what it changes or uses up (a user, a role, a refresh token) on the
world's database, so every call succeeds whoever called before. The session examples
(``login``, ``refreshTokens``, ``logout``) need the ``db`` backend enabled in the served
app's settings ``auth_backends`` (it may follow another backend: ``("static", "db")``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from tests.api.examples import Call, Example, fixed, of
from tests.api.world import World
from vecron import LOCAL_OPERATOR, Permission
from vecron_auth_db import records
from vecron_auth_db.backend import Services
from vecron_auth_db.tokens import new_refresh_token, refresh_digest
from vecron_auth_db.views import RoleCreate, UserCreate

#: The user the session examples log in as, and its password.
SESSION_USER = "matrix-session"
SESSION_PASSWORD = "matrix session password"


def services(world: World) -> Services:
    return Services.over(world.rt)


async def new_user(world: World, name: str | None = None, password: str = SESSION_PASSWORD) -> str:
    name = name or world.name("user")
    new = UserCreate(name=name, password=SecretStr(password), roles=["viewer"])
    await services(world).users.create(LOCAL_OPERATOR, new)
    return name


async def new_role(world: World) -> str:
    name = world.name("role")
    await services(world).roles.create(
        LOCAL_OPERATOR, RoleCreate(name=name, permissions=[Permission.JOB_READ])
    )
    return name


async def session_user_id(world: World) -> str:
    async with world.rt.store.connect() as conn:
        found = await records.user_by_name(conn, SESSION_USER)
    if found is None:
        await new_user(world, SESSION_USER)
        return await session_user_id(world)
    return found.id


async def live_refresh_token(world: World) -> str:
    """A live refresh token of the session user, stored the way a login stores one."""
    token, user_id = new_refresh_token(), await session_user_id(world)
    async with world.rt.store.begin() as conn:
        await records.add_token(
            conn,
            digest=refresh_digest(token),
            user_id=user_id,
            family=None,
            now=datetime.now(UTC),
            life=timedelta(hours=1),
        )
    return token


async def _login(world: World) -> Call:
    await session_user_id(world)
    return Call(json={"username": SESSION_USER, "password": SESSION_PASSWORD})


async def _with_refresh_token(world: World) -> Call:
    return Call(json={"refresh_token": await live_refresh_token(world)})


async def _on_new_user(world: World) -> Call:
    return Call(path={"name": await new_user(world)})


async def _update_user(world: World) -> Call:
    return Call(path={"name": await new_user(world)}, json={"roles": ["operator"]})


async def _on_new_role(world: World) -> Call:
    return Call(path={"name": await new_role(world)})


async def _update_role(world: World) -> Call:
    return Call(path={"name": await new_role(world)}, json={"description": "changed"})


EXAMPLES: dict[str, Example] = {
    "login": _login,
    "refreshTokens": _with_refresh_token,
    "logout": _with_refresh_token,
    "listUsers": fixed(Call()),
    "createUser": of(lambda w: Call(json={"name": w.name("user"), "password": SESSION_PASSWORD})),
    "getUser": _on_new_user,
    "updateUser": _update_user,
    "deleteUser": _on_new_user,
    "listRoles": fixed(Call()),
    "createRole": of(lambda w: Call(json={"name": w.name("role"), "permissions": ["job:read"]})),
    "getRole": fixed(Call(path={"name": "viewer"})),
    "updateRole": _update_role,
    "deleteRole": _on_new_role,
}
