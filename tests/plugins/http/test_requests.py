"""What the ``http`` executor sends and what it returns, against a real local server."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from vecron.plugin.executor import StepContext
from vecron.testing import make_step_context
from vecron_http import HttpConfig, HttpExecutor

from .conftest import BASIC_PASSWORD, BASIC_USER, Target


async def run(executor: HttpExecutor, ctx: StepContext | None = None, **config: Any) -> Any:
    return await executor.run(ctx or make_step_context(), HttpConfig.model_validate(config))


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method_reaches_the_server(
    executor: HttpExecutor, target: Target, method: str
) -> None:
    out = await run(executor, method=method.lower(), url=target.url("/echo"))
    assert out["status"] == 200
    assert out["body"]["method"] == method
    assert target.requests[-1].method == method


async def test_head_returns_status_and_headers_without_body(
    executor: HttpExecutor, target: Target
) -> None:
    out = await run(executor, method="HEAD", url=target.url("/echo"))
    assert out["status"] == 200
    assert out["body"] is None
    assert out["headers"]["content-type"].startswith("application/json")


async def test_headers_and_secret_headers_are_sent(executor: HttpExecutor, target: Target) -> None:
    await run(
        executor,
        url=target.url("/echo"),
        headers={"X-Trace": "abc", "Accept": "application/json"},
        secret_headers={"X-Api-Key": "k-123"},
    )
    sent = target.requests[-1].headers
    assert sent["X-Trace"] == "abc"
    assert sent["Accept"] == "application/json"
    assert sent["X-Api-Key"] == "k-123"


async def test_query_parameters_are_added_to_the_url_query(
    executor: HttpExecutor, target: Target
) -> None:
    await run(
        executor,
        url=target.url("/echo?fixed=1"),
        query={"q": "a b&c", "page": 2, "flag": True, "tag": ["x", "y"]},
    )
    assert target.requests[-1].query == [
        ("fixed", "1"),
        ("q", "a b&c"),
        ("page", "2"),
        ("flag", "true"),
        ("tag", "x"),
        ("tag", "y"),
    ]


async def test_json_body(executor: HttpExecutor, target: Target) -> None:
    payload = {"name": "Zoë", "items": [1, 2.5, None, True]}
    await run(executor, method="POST", url=target.url("/echo"), json=payload)
    sent = target.requests[-1]
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == payload


async def test_form_body(executor: HttpExecutor, target: Target) -> None:
    await run(
        executor, method="POST", url=target.url("/echo"), form={"a": "1 2", "b": 3, "ok": False}
    )
    sent = target.requests[-1]
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(sent.body.decode()) == [("a", "1 2"), ("b", "3"), ("ok", "false")]


async def test_raw_body_with_content_type(executor: HttpExecutor, target: Target) -> None:
    await run(
        executor, method="PUT", url=target.url("/echo"), body="a;b\n1;2\n", content_type="text/csv"
    )
    sent = target.requests[-1]
    assert sent.headers["Content-Type"] == "text/csv"
    assert sent.body == b"a;b\n1;2\n"


async def test_raw_body_defaults_to_utf8_text(executor: HttpExecutor, target: Target) -> None:
    await run(executor, method="POST", url=target.url("/echo"), body="héllo")
    sent = target.requests[-1]
    assert sent.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert sent.body == "héllo".encode()


async def test_basic_auth(executor: HttpExecutor, target: Target) -> None:
    out = await run(
        executor,
        url=target.url("/basic"),
        auth={"type": "basic", "username": BASIC_USER, "password": BASIC_PASSWORD},
    )
    assert out["body"] == {"user": BASIC_USER}


async def test_bearer_auth(executor: HttpExecutor, target: Target) -> None:
    await run(executor, url=target.url("/echo"), auth={"type": "bearer", "token": "tkn"})
    assert target.requests[-1].headers["Authorization"] == "Bearer tkn"


async def test_idempotency_key_is_stable_across_attempts_of_a_step(
    executor: HttpExecutor, target: Target
) -> None:
    first = make_step_context(step_id="notify", attempt=1)
    second = make_step_context(
        execution_id=first.execution_id, job_id=first.job_id, step_id="notify", attempt=2
    )
    other_step = make_step_context(execution_id=first.execution_id, step_id="other")
    for ctx in (first, second, other_step):
        await run(executor, ctx, method="POST", url=target.url("/echo"), json={})
    keys = [r.headers["Idempotency-Key"] for r in target.requests]
    assert keys[0] == keys[1] == f"{first.execution_id}:notify"
    assert keys[2] == f"{first.execution_id}:other"


async def test_a_user_idempotency_key_wins(executor: HttpExecutor, target: Target) -> None:
    await run(executor, url=target.url("/echo"), headers={"idempotency-key": "mine"})
    assert target.requests[-1].headers["Idempotency-Key"] == "mine"


async def test_output_shape_for_json(executor: HttpExecutor, target: Target) -> None:
    out = await run(executor, url=target.url("/echo"))
    assert set(out) == {"status", "reason", "headers", "body", "body_base64", "elapsed_ms", "url"}
    assert out["status"] == 200
    assert out["reason"] == "OK"
    assert all(name == name.lower() for name in out["headers"])
    assert isinstance(out["body"], dict)
    assert out["body_base64"] is False
    assert out["elapsed_ms"] >= 0
    assert out["url"] == target.url("/echo")
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(
    ("path", "body", "is_base64"),
    [
        ("/text", "plain text ✓", False),
        ("/latin1", "café", False),
        ("/binary", base64.b64encode(b"\x89PNG\x00\xff\xfe").decode(), True),
    ],
)
async def test_text_and_binary_bodies(
    executor: HttpExecutor, target: Target, path: str, body: str, is_base64: bool
) -> None:
    out = await run(executor, url=target.url(path))
    assert out["body"] == body
    assert out["body_base64"] is is_base64


@pytest.mark.parametrize(("statuses", "code"), [(["2xx"], 201), ([404], 404), (["4xx", 200], 410)])
async def test_expected_status_accepts(
    executor: HttpExecutor, target: Target, statuses: list[Any], code: int
) -> None:
    out = await run(executor, url=target.url(f"/status/{code}"), expected_status=statuses)
    assert out["status"] == code
    assert out["body"] == {"error": f"status {code} on purpose"}


async def test_redirects_are_followed_by_default(executor: HttpExecutor, target: Target) -> None:
    out = await run(executor, url=target.url("/redirect"))
    assert out["status"] == 200
    assert out["url"] == target.url("/echo?redirected=yes")


async def test_redirects_can_be_returned(executor: HttpExecutor, target: Target) -> None:
    out = await run(
        executor, url=target.url("/redirect"), follow_redirects=False, expected_status=["3xx"]
    )
    assert out["status"] == 302
    assert out["headers"]["location"] == "/echo?redirected=yes"


async def test_a_response_at_the_size_limit_is_read(executor: HttpExecutor, target: Target) -> None:
    out = await run(executor, url=target.url("/big?size=4096&chunked=1"), max_response_bytes=4096)
    assert out["body"] == "x" * 4096


async def test_run_without_start_opens_a_session_lazily(target: Target) -> None:
    executor = HttpExecutor()
    try:
        out = await run(executor, url=target.url("/text"))
    finally:
        await executor.aclose()
    assert out["body"] == "plain text ✓"


def test_the_plugin_registers_the_http_executor(
    vecron_registry: Any, vecron_pm: Any, step_context_factory: Callable[..., StepContext]
) -> None:
    assert vecron_registry.executor("http") is HttpExecutor
    assert vecron_registry.owners[("executor", "http")] == "http"
    # The bare manager holds only core's built-ins: the entry point is what adds `http`.
    assert "http" not in [name for name, _ in vecron_pm.list_name_plugin()]
    assert step_context_factory(step_id="s1").idempotency_key.endswith(":s1")
