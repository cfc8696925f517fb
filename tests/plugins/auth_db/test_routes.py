"""The backend's routes through the real API app (aiohttp's test client, a runtime on
SQLite): login, refresh, logout, users and roles; and acceptance 3, every JWT attack
answering 401 with problem JSON."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.api.harness import PREFIX, Api, api_settings, expect_problem, served
from vecron_api.keys import BACKENDS
from vecron_auth_db import DbAuthBackend

from .conftest import PASSWORD

NO_PLUGINS: Any = lambda pm: None  # noqa: E731  (only the installed plugins)


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv("VECRON_ADMIN_PASSWORD", PASSWORD)
    settings = api_settings(
        tmp_path,
        auth_backends=("db",),
        auth={"db": {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}},
    )
    async with served(settings, plugins=NO_PLUGINS) as found:
        yield found


def db_backend(api: Api) -> DbAuthBackend:
    found = api.client.app[BACKENDS]["db"]
    assert isinstance(found, DbAuthBackend)
    return found


async def login(api: Api, username: str = "admin", password: str = PASSWORD) -> dict[str, Any]:
    response = await api.client.post(
        f"{PREFIX}/auth/login", json={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = await response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_and_me(api: Api) -> None:
    pair = await login(api)
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900
    me = await api.client.get(f"{PREFIX}/auth/me", headers=bearer(pair["access_token"]))
    assert me.status == 200
    assert (await me.json())["subject"] == "admin"


async def test_wrong_password_and_unknown_user_answer_alike(api: Api) -> None:
    answers = []
    for username in ("admin", "nobody-here"):
        response = await api.client.post(
            f"{PREFIX}/auth/login", json={"username": username, "password": "wrong password!"}
        )
        answers.append(await expect_problem(response, 401, "unauthenticated"))
    assert answers[0] == answers[1]
    assert answers[0]["detail"] == "invalid username or password"


async def test_ten_failures_answer_429_with_retry_after(api: Api) -> None:
    for _ in range(10):
        response = await api.client.post(
            f"{PREFIX}/auth/login", json={"username": "admin", "password": "wrong password!"}
        )
        await expect_problem(response, 401)
    locked = await api.client.post(
        f"{PREFIX}/auth/login", json={"username": "admin", "password": PASSWORD}
    )
    await expect_problem(locked, 429, "too-many-requests")
    assert 0 < int(locked.headers["Retry-After"]) <= 300


async def test_refresh_rotates_and_reuse_is_refused(api: Api) -> None:
    first = await login(api)
    url = f"{PREFIX}/auth/refresh"
    second = await api.client.post(url, json={"refresh_token": first["refresh_token"]})
    assert second.status == 200
    rotated = await second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    replay = await api.client.post(url, json={"refresh_token": first["refresh_token"]})
    body = await expect_problem(replay, 401)
    assert first["refresh_token"] not in json.dumps(body)
    family = await api.client.post(url, json={"refresh_token": rotated["refresh_token"]})
    await expect_problem(family, 401)


async def test_logout_revokes(api: Api) -> None:
    pair = await login(api)
    out = await api.client.post(
        f"{PREFIX}/auth/logout", json={"refresh_token": pair["refresh_token"]}
    )
    assert out.status == 204
    after = await api.client.post(
        f"{PREFIX}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    await expect_problem(after, 401)


async def test_users_and_roles_over_http(api: Api) -> None:
    admin = bearer((await login(api))["access_token"])
    created = await api.client.post(
        f"{PREFIX}/users",
        json={"name": "vic", "password": PASSWORD, "roles": ["viewer"]},
        headers=admin,
    )
    assert created.status == 201
    view = await created.json()
    assert view["name"] == "vic" and view["roles"] == ["viewer"]
    assert "password" not in json.dumps(view) and "$argon2" not in json.dumps(view)

    viewer = bearer((await login(api, "vic"))["access_token"])
    denied = await api.client.get(f"{PREFIX}/users", headers=viewer)
    await expect_problem(denied, 403, "forbidden")
    await expect_problem(await api.client.get(f"{PREFIX}/users"), 401)

    listed = await api.client.get(f"{PREFIX}/users", headers=admin)
    assert [u["name"] for u in await listed.json()] == ["admin", "vic"]
    weak = await api.client.post(
        f"{PREFIX}/users", json={"name": "w", "password": "short"}, headers=admin
    )
    await expect_problem(weak, 422)
    extra = await api.client.post(
        f"{PREFIX}/users",
        json={"name": "w", "password": PASSWORD, "password_hash": "x"},
        headers=admin,
    )
    await expect_problem(extra, 422)

    role = await api.client.post(
        f"{PREFIX}/roles", json={"name": "runner", "permissions": ["job:execute"]}, headers=admin
    )
    assert role.status == 201
    changed = await api.client.put(
        f"{PREFIX}/users/vic", json={"roles": ["runner"], "disabled": True}, headers=admin
    )
    assert changed.status == 200 and (await changed.json())["disabled"] is True
    # Disabled: the token stops at once.
    await expect_problem(await api.client.get(f"{PREFIX}/auth/me", headers=viewer), 401)
    in_use = await api.client.delete(f"{PREFIX}/roles/runner", headers=admin)
    await expect_problem(in_use, 409)
    gone = await api.client.delete(f"{PREFIX}/users/vic", headers=admin)
    assert gone.status == 204
    assert (await api.client.delete(f"{PREFIX}/roles/runner", headers=admin)).status == 204
    await expect_problem(await api.client.get(f"{PREFIX}/users/vic", headers=admin), 404)
    roles = await api.client.get(f"{PREFIX}/roles/admin", headers=admin)
    assert (await roles.json())["builtin"] is True


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def attacks(api: Api) -> dict[str, str]:
    """Acceptance 3: a token for each attack."""
    backend = db_backend(api)
    admin = bearer((await login(api))["access_token"])
    await api.client.post(
        f"{PREFIX}/users", json={"name": "off", "password": PASSWORD, "roles": ["viewer"]},
        headers=admin,
    )  # fmt: skip
    await api.client.post(
        f"{PREFIX}/users", json={"name": "gone", "password": PASSWORD, "roles": ["viewer"]},
        headers=admin,
    )  # fmt: skip
    off, gone = await login(api, "off"), await login(api, "gone")
    await api.client.put(f"{PREFIX}/users/off", json={"disabled": True}, headers=admin)
    await api.client.delete(f"{PREFIX}/users/gone", headers=admin)

    good = (await login(api))["access_token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    key = await backend.started.keys.current()

    def signed(changes: dict[str, Any], **header: Any) -> str:
        headers = {"kid": key.kid, **header}
        return jwt.encode({**claims, **changes}, key.secret, algorithm="HS256", headers=headers)

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    head, _, signature = good.split(".")
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': key.kid})}.{b64(claims)}.",
        "hs256 with another key": jwt.encode(
            claims, b"x" * 32, algorithm="HS256", headers={"kid": key.kid}
        ),
        "rs256": jwt.encode(claims, private, algorithm="RS256", headers={"kid": key.kid}),
        "expired": signed({"exp": claims["iat"] - 3600, "nbf": claims["iat"] - 7200}),
        "nbf in the future": signed({"nbf": claims["iat"] + 3600}),
        "wrong iss": signed({"iss": "https://elsewhere.example"}),
        "wrong aud": signed({"aud": "another-api"}),
        "unknown kid": signed({}, kid="no-such-key"),
        "kid with a path": signed({}, kid="../../../../etc/passwd"),
        "kid with sql": signed({}, kid="' OR '1'='1"),
        "tampered payload": f"{head}.{b64({**claims, 'name': 'root'})}.{signature}",
        "refresh token as access token": off["refresh_token"],
        "disabled user": off["access_token"],
        "deleted user": gone["access_token"],
    }


async def test_every_jwt_attack_answers_401_problem_json(api: Api) -> None:
    for name, token in (await attacks(api)).items():
        response = await api.client.get(f"{PREFIX}/auth/me", headers=bearer(token))
        body = await expect_problem(response, 401, "unauthenticated")
        shown = json.dumps(body) + str(response.headers)
        assert all(p not in shown for p in token.split(".") if len(p) >= 8), name


async def test_a_revoked_refresh_token_answers_401(api: Api) -> None:
    pair = await login(api)
    await api.client.post(f"{PREFIX}/auth/logout", json={"refresh_token": pair["refresh_token"]})
    response = await api.client.post(
        f"{PREFIX}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    await expect_problem(response, 401, "unauthenticated")


async def test_the_routes_are_documented(api: Api) -> None:
    document = await (await api.client.get(f"{PREFIX}/openapi.json")).json()
    operations = {
        op["operationId"]: op for item in document["paths"].values() for op in item.values()
    }
    for public in ("login", "refreshTokens", "logout"):
        assert operations[public]["security"] == []
    for admin in ("listUsers", "createUser", "getUser", "updateUser", "deleteUser",
                  "listRoles", "createRole", "getRole", "updateRole", "deleteRole"):  # fmt: skip
        assert operations[admin]["x-permission"] == "user:admin"
