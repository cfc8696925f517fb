"""The API in-process: a real runtime (SQLite in a folder, or PostgreSQL) behind aiohttp's
test client, and the checks every answer of the API must pass."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from tests.support import static_tokens
from vecron import Runtime
from vecron.plugin.manager import get_plugin_manager
from vecron.settings import Settings
from vecron_api.app import create_app

PREFIX = "/api/v1"
PROBLEM = "application/problem+json"
#: Static bearer tokens (tests/support/static_tokens.py): token -> subject:roles.
TOKENS = {
    "static-admin": "ada:admin",
    "static-operator": "otto:operator",
    "static-viewer": "vera:viewer",
    "static-nobody": "nobody:",
}
ROLE_TOKEN = {"admin": "static-admin", "operator": "static-operator", "viewer": "static-viewer"}


def api_settings(home: Path, *, database_url: str | None = None, **more: Any) -> Settings:
    """Settings of an API on a database in ``home`` (or ``database_url``) whose callers
    are the static tokens; ``more`` overrides any setting."""
    given: dict[str, Any] = {
        "database_url": database_url or f"sqlite+aiosqlite:///{home}/vecron.db",
        "storage_url": f"file://{home}/storage",
        "state_dir": home / "state",
        "auth_backends": (static_tokens.KIND,),
        "auth": {static_tokens.KIND: {"tokens": TOKENS}},
    }
    given.update(more)
    return Settings(**given)


@dataclass
class Api:
    client: TestClient[Any, Any]
    runtime: Runtime

    def auth(self, token: str = "static-admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def with_static_tokens(pm: pluggy.PluginManager) -> None:
    static_tokens.register(pm)


@asynccontextmanager
async def served(
    settings: Settings, *, plugins: Callable[[pluggy.PluginManager], None] = with_static_tokens
) -> AsyncIterator[Api]:
    """The app of a runtime on ``settings`` behind a test client; ``plugins`` adds test
    plugins (the static-token backend by default) before the registry is built."""
    pm = get_plugin_manager()
    plugins(pm)
    async with Runtime(settings, pm=pm) as rt:
        server = TestServer(create_app(rt))
        async with TestClient(server) as client:
            yield Api(client, rt)


#: Members every problem document has (RFC 9457 and vecron's ``code`` and ``errors``).
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "code", "errors"})


async def expect_problem(
    response: ClientResponse, status: int, code: str | None = None
) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem of ``status`` (and ``code``); its body.

    Never an HTML page, never a stack trace.
    """
    text = await response.text()
    assert response.status == status, f"{response.method} {response.url}: {response.status} {text}"
    assert response.content_type == PROBLEM, (response.content_type, text)
    assert "<html" not in text.lower() and "Traceback" not in text
    body: dict[str, Any] = await response.json(content_type=None)
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert isinstance(body["errors"], list)
    assert body["type"].endswith(body["code"]), body
    if code is not None:
        assert body["code"] == code, body
    return body


def fields_of(problem: Mapping[str, Any]) -> set[str]:
    """The fields a validation problem names, one per listed error."""
    return {error["field"] for error in problem["errors"]}
