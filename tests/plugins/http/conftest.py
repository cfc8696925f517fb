"""A real aiohttp target server on 127.0.0.1 and a started ``http`` executor."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from vecron_http import HttpExecutor

CLIENT_ID = "client-1"
CLIENT_SECRET = "s3cret:with/odd&chars"
BASIC_USER = "alice"
BASIC_PASSWORD = "wonder-land-pw"


@dataclass
class Recorded:
    method: str
    path: str
    headers: CIMultiDict[str]
    query: list[tuple[str, str]]
    body: bytes


@dataclass
class Target:
    """The server's memory: every request, and the OAuth2 tokens it issued."""

    requests: list[Recorded] = field(default_factory=list)
    token_requests: list[Recorded] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    token_ttl: int | None = 3600
    token_status: int = 200
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path


class FakeClock:
    """A monotonic clock the test moves by hand (token expiry without waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _app(target: Target) -> web.Application:
    async def record(request: web.Request) -> Recorded:
        item = Recorded(
            method=request.method,
            path=request.path,
            headers=CIMultiDict(request.headers),
            query=list(request.query.items()),
            body=await request.read(),
        )
        target.requests.append(item)
        return item

    async def echo(request: web.Request) -> web.Response:
        item = await record(request)
        return web.json_response(
            {
                "method": item.method,
                "headers": dict(item.headers),
                "query": item.query,
                "body": item.body.decode("utf-8"),
            }
        )

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="plain text ✓")

    async def latin1(request: web.Request) -> web.Response:
        return web.Response(
            body="café".encode("latin-1"), content_type="text/plain", charset="iso-8859-1"
        )

    async def binary(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\x00\xff\xfe", content_type="application/octet-stream")

    async def status(request: web.Request) -> web.Response:
        await record(request)
        headers = {}
        if "retry_after" in request.query:
            headers["Retry-After"] = request.query["retry_after"]
        code = int(request.match_info["code"])
        return web.json_response(
            {"error": f"status {code} on purpose"}, status=code, headers=headers
        )

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query["seconds"]))
        return web.Response(text="finally")

    async def big(request: web.Request) -> web.StreamResponse:
        size = int(request.query["size"])
        if request.query.get("chunked") != "1":
            return web.Response(body=b"x" * size, content_type="text/plain")
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        response.content_type = "text/plain"
        await response.prepare(request)
        for start in range(0, size, 1000):
            await response.write(b"x" * min(1000, size - start))
        await response.write_eof()
        return response

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/echo?redirected=yes")

    async def token(request: web.Request) -> web.Response:
        item = await record(request)
        target.token_requests.append(item)
        if target.token_status != 200:
            return web.json_response(
                {"error": "temporarily_unavailable"}, status=target.token_status
            )
        form = await request.post()
        client = (form.get("client_id"), form.get("client_secret"))
        if "Authorization" in request.headers:
            decoded = base64.b64decode(request.headers["Authorization"].removeprefix("Basic "))
            user, _, password = decoded.decode().partition(":")
            client = (unquote(user), unquote(password))
        if client != (CLIENT_ID, CLIENT_SECRET) or form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "invalid_client"}, status=401)
        value = f"tok-{len(target.issued) + 1}"
        target.issued.append(value)
        body: dict[str, Any] = {"access_token": value, "token_type": "Bearer"}
        if target.token_ttl is not None:
            body["expires_in"] = target.token_ttl
        return web.json_response(body)

    async def protected(request: web.Request) -> web.Response:
        item = await record(request)
        value = item.headers.get("Authorization", "").removeprefix("Bearer ")
        if value not in target.issued or value in target.revoked:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response({"token": value})

    async def basic(request: web.Request) -> web.Response:
        item = await record(request)
        expected = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
        if item.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "who are you"}, status=401)
        return web.json_response({"user": BASIC_USER})

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/text", text)
    app.router.add_get("/latin1", latin1)
    app.router.add_get("/binary", binary)
    app.router.add_route("*", "/status/{code}", status)
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", redirect)
    app.router.add_post("/token", token)
    app.router.add_get("/protected", protected)
    app.router.add_get("/basic", basic)
    return app


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    state = Target()
    server = TestServer(_app(state), host="127.0.0.1", port=0)
    await server.start_server()
    state.base = str(server.make_url("")).rstrip("/")
    try:
        yield state
    finally:
        await server.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def executor(clock: FakeClock) -> AsyncIterator[HttpExecutor]:
    instance = HttpExecutor(clock=clock)
    async with AsyncExitStack() as stack:
        await instance.start(stack)
        yield instance
