"""The ``http`` executor masks the execution's secrets where only it can: before a body
is stored as base64, and before a body quoted in an error is cut (issue 9)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from tests.support.spellings import exposed
from tests.support.web import serve

from vecron.errors import FinalError
from vecron.jobs.masking import MASK
from vecron.testing import make_step_context
from vecron_http import HttpConfig, HttpExecutor

SECRET = 'tök "en\\ 42'
CLIENT_SECRET = "client-secret-in-the-job"


def _app() -> web.Application:
    async def binary(request: web.Request) -> web.Response:
        # NUL makes the body base64; the secret goes in as written, quoted and encoded.
        text = "\x00" + SECRET + json.dumps({"echo": SECRET})
        charset = request.query.get("charset", "utf-8")
        body = text.encode(charset) + (b"\xff" if charset == "utf-8" else b"")
        return web.Response(body=body, headers={"Content-Type": f"text/plain; charset={charset}"})

    async def long(request: web.Request) -> web.Response:
        return web.Response(text="x" * 494 + SECRET + " and then some", status=400)

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        described = f"client secret {form['client_secret']} is wrong"
        return web.json_response(
            {"error": "invalid_client", "error_description": described}, status=401
        )

    app = web.Application()
    app.router.add_get("/binary", binary)
    app.router.add_get("/long", long)
    app.router.add_post("/token", token)
    return app


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async with serve(_app()) as url:
        yield url


async def run(executor: HttpExecutor, **config: Any) -> Any:
    ctx = make_step_context(secrets=frozenset({SECRET}))
    return await executor.run(ctx, HttpConfig.model_validate(config))


@pytest.mark.parametrize("charset", ["utf-8", "latin-1"])
async def test_a_body_stored_as_base64_is_masked_before_it_is_encoded(
    executor: HttpExecutor, base: str, charset: str
) -> None:
    output = await run(executor, url=f"{base}/binary?charset={charset}")
    assert output["body_base64"] is True
    assert exposed(output["body"], SECRET) == []
    decoded = base64.b64decode(output["body"]).decode(charset, "replace")
    assert decoded.count(MASK) == 2
    assert decoded.startswith("\x00" + MASK + '{"echo": "' + MASK + '"}')


async def test_an_error_masks_the_body_before_it_cuts_it(executor: HttpExecutor, base: str) -> None:
    with pytest.raises(FinalError) as caught:
        await run(executor, url=f"{base}/long")
    message = caught.value.message
    # The body's excerpt is cut at 500 characters, in the middle of the secret.
    assert message.endswith(": " + "x" * 494 + "*****…"), message
    assert "tök" not in message


async def test_a_client_secret_echoed_by_the_token_endpoint_is_masked(
    executor: HttpExecutor, base: str
) -> None:
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": f"{base}/token",
        "client_id": "vecron",
        "client_secret": CLIENT_SECRET,
        "client_auth": "body",
    }
    with pytest.raises(FinalError) as caught:
        await run(executor, url=f"{base}/binary", auth=auth)
    # Written into the job, not a variable: the worker does not know to mask it.
    assert caught.value.message.endswith(
        f"answered 401: invalid_client client secret {MASK} is wrong"
    )
