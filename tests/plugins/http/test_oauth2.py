"""OAuth2 client credentials: one token per client, shared by steps, renewed before expiry."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import pytest

from vecron.errors import FinalError, RetryableError
from vecron.testing import make_step_context
from vecron_http import HttpConfig, HttpExecutor

from .conftest import CLIENT_ID, CLIENT_SECRET, FakeClock, Target


def oauth(target: Target, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "oauth2_client_credentials",
        "token_url": target.url("/token"),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "jobs:write",
        **overrides,
    }


async def call(executor: HttpExecutor, target: Target, **auth: Any) -> Any:
    config = HttpConfig.model_validate(
        {"url": target.url("/protected"), "auth": oauth(target, **auth)}
    )
    return await executor.run(make_step_context(), config)


async def test_the_token_is_requested_once_for_several_runs(
    executor: HttpExecutor, target: Target
) -> None:
    outputs = [await call(executor, target) for _ in range(3)]
    assert [o["body"]["token"] for o in outputs] == ["tok-1"] * 3
    assert len(target.token_requests) == 1
    assert executor.tokens.fetches == 1
    form = parse_qs(target.token_requests[0].body.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": ["jobs:write"]}
    assert target.token_requests[0].headers["Authorization"].startswith("Basic ")


async def test_the_token_is_refreshed_shortly_before_expiry(
    executor: HttpExecutor, target: Target, clock: FakeClock
) -> None:
    target.token_ttl = 600  # refreshed 60 s early
    await call(executor, target)
    clock.advance(539)
    assert (await call(executor, target))["body"]["token"] == "tok-1"
    clock.advance(2)
    assert (await call(executor, target))["body"]["token"] == "tok-2"
    assert len(target.token_requests) == 2


async def test_concurrent_steps_share_one_token_request(
    executor: HttpExecutor, target: Target
) -> None:
    outputs = await asyncio.gather(*(call(executor, target) for _ in range(5)))
    assert {o["body"]["token"] for o in outputs} == {"tok-1"}
    assert len(target.token_requests) == 1


async def test_different_scopes_get_different_tokens(
    executor: HttpExecutor, target: Target
) -> None:
    await call(executor, target, scope="a")
    await call(executor, target, scope="b")
    await call(executor, target, scope="a")
    assert len(target.token_requests) == 2


async def test_client_credentials_in_the_form(executor: HttpExecutor, target: Target) -> None:
    await call(executor, target, client_auth="body", scope=None, audience="https://api")
    request = target.token_requests[0]
    assert "Authorization" not in request.headers
    assert parse_qs(request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "audience": ["https://api"],
    }


async def test_a_revoked_cached_token_is_replaced_once(
    executor: HttpExecutor, target: Target
) -> None:
    await call(executor, target)
    target.revoked.add("tok-1")
    out = await call(executor, target)
    assert out["body"]["token"] == "tok-2"
    assert len(target.token_requests) == 2


async def test_a_wrong_secret_does_not_borrow_a_cached_token(
    executor: HttpExecutor, target: Target
) -> None:
    await call(executor, target)
    with pytest.raises(FinalError, match="invalid_client"):
        await call(executor, target, client_secret="wrong")
    assert len(target.token_requests) == 2


async def test_a_token_endpoint_outage_is_retryable(executor: HttpExecutor, target: Target) -> None:
    target.token_status = 503
    with pytest.raises(RetryableError, match="answered 503"):
        await call(executor, target)


async def test_a_token_without_expires_in_is_cached_for_a_minute(
    executor: HttpExecutor, target: Target, clock: FakeClock
) -> None:
    target.token_ttl = None
    await call(executor, target)
    clock.advance(50)
    await call(executor, target)
    assert len(target.token_requests) == 1
    clock.advance(10)
    await call(executor, target)
    assert len(target.token_requests) == 2
