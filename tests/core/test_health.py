"""/healthz and /readyz: readiness names the backend that does not answer."""

from __future__ import annotations

import aiohttp

from vecron.errors import BackendUnavailable
from vecron.health import serve_health


async def test_readyz_names_the_backend_that_is_down() -> None:
    async def fine() -> None:
        return None

    async def down() -> None:
        raise BackendUnavailable("redis at 127.0.0.1:6379 refused the connection")

    checks = {"store": fine, "queue": fine, "lock": down}
    async with serve_health(checks, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as alive:
            assert alive.status == 200
        async with http.get(f"http://127.0.0.1:{port}/readyz") as ready:
            body = await ready.json()
            assert ready.status == 503
    assert body["status"] == "unavailable"
    assert body["store"] == body["queue"] == "ok"
    assert body["lock"].startswith("unavailable: redis at 127.0.0.1:6379 refused")


async def test_readyz_is_ready_when_all_answer() -> None:
    async def fine() -> None:
        return None

    async with (
        serve_health({"store": fine}, "127.0.0.1", 0) as port,
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/readyz") as ready,
    ):
        assert ready.status == 200
        assert (await ready.json()) == {"status": "ready", "store": "ok"}
