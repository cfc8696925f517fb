"""The API in-process on a real runtime (SQLite in a temp folder) and aiohttp's test
client; credentials from the static-token test backend (tests/support/static_tokens.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from vecron import Runtime
from vecron.plugin.manager import get_plugin_manager
from vecron.settings import Settings
from vecron_api.app import create_app

from tests.support import static_tokens

TOKENS = {
    "static-admin": "ada:admin",
    "static-operator": "otto:operator",
    "static-viewer": "vera:viewer",
    "static-nobody": "nobody:",
}
ROLE_TOKEN = {"admin": "static-admin", "operator": "static-operator", "viewer": "static-viewer"}


def api_settings(tmp_path: Path, **more: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/vecron.db",
        storage_url=f"file://{tmp_path}/storage",
        state_dir=tmp_path / "state",
        auth_backends=(static_tokens.KIND,),
        auth={static_tokens.KIND: {"tokens": TOKENS}},
        **more,
    )


@dataclass
class Api:
    client: TestClient[Any, Any]
    runtime: Runtime

    def auth(self, token: str = "static-admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    pm = get_plugin_manager()
    static_tokens.register(pm)
    async with Runtime(api_settings(tmp_path), pm=pm) as rt:
        server = TestServer(create_app(rt))
        async with TestClient(server) as client:
            yield Api(client, rt)
