"""A real ``vecron up`` serving the API with the ``db`` auth backend, for end-to-end tests
(tests/e2e/test_api_*.py): its settings, waiting until it answers, and logging in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.cluster import Cluster, until
from tests.support.private_servers import free_port

ADMIN_PASSWORD = "e2e-admin-password"
#: OWASP's minimum argon2id cost: allowed, and quick enough for tests that log in often.
DB_CONFIG = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}


def up_env(
    home: Path, *, backends: str = "db", auth: dict[str, Any] | None = None
) -> dict[str, str]:
    """Environment of a ``vecron up`` on SQLite in ``home`` whose API asks ``backends``;
    the db backend's first admin gets :data:`ADMIN_PASSWORD`."""
    return {
        "VECRON_DATABASE_URL": f"sqlite+aiosqlite:///{home}/vecron.db",
        "VECRON_STORAGE_URL": f"file://{home}/storage",
        "VECRON_STATE_DIR": str(home / "state"),
        "VECRON_AUTH_BACKENDS": backends,
        "VECRON_AUTH": json.dumps({"db": DB_CONFIG, **(auth or {})}),
        "VECRON_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VECRON_PORT": str(free_port()),
        "VECRON_LOG_FORMAT": "json",
    }


@dataclass
class Served:
    """The API of a started ``vecron up``."""

    base: str
    cluster: Cluster

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1"

    async def call(
        self, method: str, path: str, *, token: str | None = None, **options: Any
    ) -> tuple[int, dict[str, str], Any]:
        """``method path`` (under /api/v1): status, headers and the body (JSON, text or
        None)."""
        headers = dict(options.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.api + path, headers=headers, **options) as answer,
        ):
            text = await answer.text()
            try:
                body: Any = json.loads(text) if text else None
            except ValueError:
                body = text
            return answer.status, dict(answer.headers), body

    async def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> Any:
        """The token pair of a database user."""
        status, _, pair = await self.call(
            "POST", "/auth/login", json={"username": username, "password": password}
        )
        assert status == 200, f"login of {username}: {status} {pair}"
        return pair


async def start_up(cluster: Cluster, name: str = "up") -> Served:
    """Start ``vecron up`` on the cluster's port; return once ``/readyz`` answers 200."""
    port = cluster.env["VECRON_PORT"]
    proc = cluster.start(name, "up", "--port", port, "--no-example")
    base = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        assert proc.poll() is None, f"vecron up exited:\n{cluster.log(name)[-3000:]}"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{base}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as answer,
            ):
                return answer.status == 200
        except aiohttp.ClientError:
            return False

    await until(ready, timeout=60)
    return Served(base, cluster)
