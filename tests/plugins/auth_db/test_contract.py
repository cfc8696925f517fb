"""The ``db`` backend passes the auth backend contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping

import pytest
import pytest_asyncio

from vecron import AuthRequest, Permission
from vecron.runtime import Runtime
from vecron.testing import AuthBackendContract
from vecron_auth_db import DbAuthBackend
from vecron_auth_db.views import RoleCreate, UserUpdate

from .conftest import ADDRESS, PASSWORD, Clock, add_user, api_caller, bearer, start_backend


def tampered(token: str) -> str:
    """``token`` with its payload claiming the admin role, the signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class TestDbAuthBackend(AuthBackendContract):
    @pytest_asyncio.fixture
    async def backend(
        self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
    ) -> AsyncIterator[DbAuthBackend]:
        monkeypatch.setenv("VECRON_ADMIN_PASSWORD", PASSWORD)
        backend = await start_backend(runtime, Clock())
        await backend.roles.create(
            api_caller(),
            RoleCreate(name="deployer", permissions=[Permission.JOB_EXECUTE, Permission.JOB_READ]),
        )
        await add_user(backend, "dora", "viewer", "deployer")
        await add_user(backend, "gone", "viewer")
        await add_user(backend, "off", "viewer")
        self.valid_token = (await backend.login("dora", PASSWORD, ADDRESS)).access_token
        self.gone = await backend.login("gone", PASSWORD, ADDRESS)
        self.off = (await backend.login("off", PASSWORD, ADDRESS)).access_token
        await backend.users.delete(api_caller(), "gone")
        await backend.users.update(api_caller(), "off", UserUpdate(disabled=True))
        yield backend
        await backend.close()

    @pytest.fixture
    def valid_request(self, backend: DbAuthBackend) -> AuthRequest:
        return bearer(self.valid_token)

    @pytest.fixture
    def custom_roles(self) -> Mapping[str, frozenset[Permission]]:
        return {"deployer": frozenset({Permission.JOB_EXECUTE, Permission.JOB_READ})}

    @pytest.fixture
    def invalid_requests(self, backend: DbAuthBackend) -> dict[str, AuthRequest]:
        return {
            "tampered payload": bearer(tampered(self.valid_token)),
            "refresh token as access token": bearer(self.gone.refresh_token),
            "deleted user": bearer(self.gone.access_token),
            "disabled user": bearer(self.off),
        }
