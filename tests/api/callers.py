"""Who calls the API in the route x role matrix, per auth backend: a bearer token for each
role, and the permissions that role has.

- ``static``: the static-token test backend (tests/support/static_tokens.py), built-in roles.
- ``keycloak``: tokens issued by a real OpenID provider shaped like a Keycloak realm
  (tests/support/oidc), realm and client roles mapped to vecron's built-in roles and to
  custom roles of one permission each.
- ``db``: users of the database backend with each built-in role and custom roles of one
  permission each (made through the API by its first admin), tokens from
  ``POST /auth/login``.

The ``db`` backend is enabled beside the others too, so its own routes (login, users,
roles) answer whichever backend signs callers in.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.api.harness import PREFIX, TOKENS, Api, api_settings
from tests.api.world import DbUsers
from tests.support import static_tokens
from tests.support.oidc import CLIENT_ID, OidcProvider, RealmUser
from vecron import BUILTIN_ROLES, Permission

#: A caller with no role at all: signed in, allowed nothing that needs a permission.
NOBODY = "nobody"
#: Roles of one permission each (backends with custom roles): ``only-job-read`` ...
ONE_PERMISSION: dict[str, frozenset[Permission]] = {
    f"only-{p.value.replace(':', '-')}": frozenset({p}) for p in Permission
}
BUILTIN: dict[str, frozenset[Permission]] = {
    **{name: frozenset(perms) for name, perms in BUILTIN_ROLES.items()},
    NOBODY: frozenset(),
}


#: The database backend's first admin (``VECRON_ADMIN_PASSWORD``), and every db user's.
ADMIN_PASSWORD = "matrix-admin-password"
USER_PASSWORD = "matrix-user-password"
#: OWASP's minimum argon2id cost: the matrix logs in often, and the minimum is allowed.
DB_CONFIG = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}


async def nothing(api: Api) -> None:
    return None


@dataclass
class Callers:
    """One backend's settings and its callers: ``roles`` maps each role to its
    permissions; :meth:`token` gives a bearer token of a user with exactly that role.
    ``prepare`` runs once the app answers (it may make users through it)."""

    backend: str
    settings: dict[str, Any]
    roles: Mapping[str, frozenset[Permission]]
    issue: Callable[[str], Awaitable[str]]
    prepare: Callable[[Api], Awaitable[None]] = nothing
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    async def token(self, role: str) -> str:
        # Tokens live minutes: one per role, fetched again when it grows old.
        cached = self._tokens.get(role)
        if cached is None or time.monotonic() - cached[1] > 120:
            cached = (await self.issue(role), time.monotonic())
            self._tokens[role] = cached
        return cached[0]


@asynccontextmanager
async def static_callers(home: Path) -> AsyncIterator[Callers]:
    async def issue(role: str) -> str:
        return f"static-{role}"

    settings = with_db(static_tokens.KIND, **{static_tokens.KIND: {"tokens": TOKENS}})
    yield Callers("static", settings, BUILTIN, issue)


def with_db(*kinds: str, **auth: Any) -> dict[str, Any]:
    """Settings enabling backends ``kinds`` and then ``db``, with ``auth`` settings."""
    return {"auth_backends": (*kinds, "db"), "auth": {**auth, "db": DB_CONFIG}}


@asynccontextmanager
async def db_callers(home: Path) -> AsyncIterator[Callers]:
    made: dict[str, DbUsers] = {}

    async def prepare(api: Api) -> None:
        made["db"] = DbUsers(api, ADMIN_PASSWORD, USER_PASSWORD)
        admin = await made["db"].login()
        headers = {"Authorization": f"Bearer {admin['access_token']}"}
        for name, permissions in ONE_PERMISSION.items():
            role = {"name": name, "permissions": sorted(permissions)}
            answer = await api.client.post(f"{PREFIX}/roles", json=role, headers=headers)
            assert answer.status == 201, await answer.text()
        for role in (*BUILTIN, *ONE_PERMISSION):
            user = {
                "name": f"u-{role}",
                "password": USER_PASSWORD,
                "roles": [] if role == NOBODY else [role],
            }
            answer = await api.client.post(f"{PREFIX}/users", json=user, headers=headers)
            assert answer.status == 201, await answer.text()

    async def issue(role: str) -> str:
        pair = await made["db"].login(f"u-{role}", USER_PASSWORD)
        token: str = pair["access_token"]
        return token

    yield Callers("db", with_db(), {**BUILTIN, **ONE_PERMISSION}, issue, prepare)


#: The realm's users: one per role, holding the realm role of that name; the operator
#: holds a client role of vecron's client instead, as Keycloak setups often do.
def realm_users() -> tuple[RealmUser, ...]:
    users = [
        RealmUser(f"kc-{role}", f"{role}-pw", () if role == NOBODY else (role,))
        for role in (*BUILTIN, *ONE_PERMISSION)
        if role != "operator"
    ]
    users.append(RealmUser("kc-operator", "operator-pw", (), {CLIENT_ID: ("run-everything",)}))
    return tuple(users)


@asynccontextmanager
async def keycloak_callers(home: Path) -> AsyncIterator[Callers]:
    provider = OidcProvider(home, users=realm_users())
    provider.start()
    try:
        roles = {name: name for name in (*BUILTIN, *ONE_PERMISSION) if name != NOBODY}
        roles["client:run-everything"] = "operator"
        del roles["operator"]
        config = {
            "server": provider.server,
            "realm": provider.realm,
            "client_id": CLIENT_ID,
            "roles": roles,
            "custom_roles": {
                name: sorted(p.value for p in ps) for name, ps in ONE_PERMISSION.items()
            },
        }

        async def issue(role: str) -> str:
            import asyncio

            return await asyncio.to_thread(provider.token, f"kc-{role}")

        yield Callers(
            "keycloak", with_db("keycloak", keycloak=config), {**BUILTIN, **ONE_PERMISSION}, issue
        )
    finally:
        provider.stop()


CALLERS: dict[str, Callable[[Path], Any]] = {
    "static": static_callers,
    "db": db_callers,
    "keycloak": keycloak_callers,
}
#: Role labels per backend, known when tests are collected.
ROLES: dict[str, tuple[str, ...]] = {
    "static": tuple(BUILTIN),
    "db": (*BUILTIN, *ONE_PERMISSION),
    "keycloak": (*BUILTIN, *ONE_PERMISSION),
}


def settings_for(callers: Callers, home: Path) -> Any:
    return api_settings(home, **callers.settings)
