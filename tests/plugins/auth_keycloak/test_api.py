"""Through the REST API: Keycloak tokens of the realm call it, and every forged one gets a
401 problem document (issue 11, acceptances 3 and 4), alone or beside the ``db`` backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.plugins.auth_keycloak.conftest import settings_for
from tests.plugins.auth_keycloak.forgeries import ATTACKS
from tests.support.oidc import ROLE_USER, OidcProvider
from vecron import Runtime, Settings
from vecron.plugin.manager import get_plugin_manager
from vecron_api.app import create_app

ME = "/api/v1/auth/me"
PROBLEM = "application/problem+json"


@pytest.fixture(params=[("keycloak",), ("keycloak", "db")], ids=["keycloak", "keycloak+db"])
async def client(
    request: pytest.FixtureRequest,
    oidc_provider: OidcProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[TestClient[Any, Any]]:
    monkeypatch.setenv("VECRON_ADMIN_PASSWORD", "keycloak-tests-admin-pw")  # for `db`
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/vecron.db",
        storage_url=f"file://{tmp_path}/storage",
        state_dir=tmp_path / "state",
        auth_backends=request.param,
        auth={
            "keycloak": settings_for(oidc_provider),
            "db": {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1},
        },
    )
    async with (
        Runtime(settings, pm=get_plugin_manager()) as rt,
        TestClient(TestServer(create_app(rt))) as found,
    ):
        yield found


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_realm_users_call_the_api_with_their_mapped_roles(
    client: TestClient[Any, Any], oidc_provider: OidcProvider
) -> None:
    for user, subject, roles in (
        ("alice", "alice", ["admin"]),
        ("olga", "olga", ["operator"]),
        ("nobody", "nobody", []),
        *((user, user, [role]) for role, user in ROLE_USER.items()),
    ):
        response = await client.get(ME, headers=auth(oidc_provider.token(user)))
        assert response.status == 200, await response.text()
        me = await response.json()
        assert (me["subject"], me["roles"], me["source"]) == (subject, roles, "api")
    response = await client.get(ME, headers=auth(oidc_provider.client_token()))
    assert (await response.json())["subject"] == "service-account-vecron"


async def test_roles_decide_what_a_realm_user_may_do(
    client: TestClient[Any, Any], oidc_provider: OidcProvider
) -> None:
    # `nobody` is authenticated (200 on /auth/me) but holds no permission: 403, not 401.
    response = await client.get("/api/v1/jobs", headers=auth(oidc_provider.token("nobody")))
    assert response.status == 403, await response.text()
    response = await client.get("/api/v1/jobs", headers=auth(oidc_provider.token("victor")))
    assert response.status == 200, await response.text()


async def test_every_forged_token_is_a_401_problem(
    client: TestClient[Any, Any], oidc_provider: OidcProvider
) -> None:
    other_realm = oidc_provider.claims(iss=f"{oidc_provider.server}/realms/other")
    cases: dict[str, dict[str, str]] = {
        "no token": {},
        "wrong iss": auth(oidc_provider.sign(other_realm)),
        **{name: auth(attack(oidc_provider)) for name, (attack, _) in ATTACKS.items()},
    }
    for name, headers in cases.items():
        response = await client.get(ME, headers=headers)
        text = await response.text()
        assert response.status == 401, f"{name}: {response.status} {text}"
        assert response.content_type == PROBLEM, name
        problem = await response.json(content_type=None)
        assert (problem["status"], problem["code"]) == (401, "unauthenticated"), name
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        leaked = [piece for piece in token.split(".") if len(piece) > 8 and piece in text]
        assert not leaked, f"{name}: the answer quotes the token"
