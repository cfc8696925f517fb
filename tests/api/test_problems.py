"""Every failure is an RFC 9457 problem (``application/problem+json`` with ``type``,
``title``, ``status``, ``code`` and ``errors``), never an HTML page or a 500: malformed
bodies (400), wrong media types (415), bodies over ``api_max_body_bytes`` (413), unknown
routes (404), wrong methods (405) and bad queries (422, every wrong field listed). Every
answer carries the security headers; CORS is off unless an origin is configured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.harness import (
    PREFIX,
    Api,
    api_settings,
    expect_problem,
    fields_of,
    served,
)

ADMIN = {"Authorization": "Bearer static-admin"}
LIMIT = 1024
FIXTURE_OK = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=40
)


async def document(api: Api) -> dict[str, Any]:
    answer = await api.client.get(f"{PREFIX}/openapi.json")
    assert answer.status == 200
    found: dict[str, Any] = await answer.json()
    return found


def concrete(path: str) -> str:
    """``path`` with every ``{param}`` filled in."""
    import re

    return re.sub(r"\{[^}]+\}", "x", path)


#: Operations whose body is read only after the request's signature verifies, and so
#: answer 404 (unknown endpoint) or 401 (unsigned) before any problem of the body; their
#: 400, 413 and 415 after a valid signature are tested beside them, with the reason.
SIGNED_BODY = {
    "deliverWebhook": "Standard Webhooks: verify before parsing (research/reliability.md "
    "2.2); tests/plugins/trigger_webhook/test_deliveries.py",
}


async def body_operations(api: Api) -> list[tuple[str, str, list[str]]]:
    """(method, path, media types) of every operation that takes a request body and
    reads it before anything else (all but :data:`SIGNED_BODY`)."""
    found = []
    for path, item in (await document(api))["paths"].items():
        for method, op in item.items():
            if "requestBody" in op and op["operationId"] not in SIGNED_BODY:
                found.append((method.upper(), concrete(path), list(op["requestBody"]["content"])))
    assert found, "the API documents no operation with a body"
    return found


def not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    except RecursionError:
        return True
    return False


# -- 400: not well-formed -----------------------------------------------------------------


async def test_malformed_json_is_400_on_every_operation_with_a_body(api: Api) -> None:
    for method, path, _ in await body_operations(api):
        headers = {**ADMIN, "Content-Type": "application/json"}
        answer = await api.client.request(method, path, data='{"name": ', headers=headers)
        problem = await expect_problem(answer, 400)
        assert problem["detail"], (method, path)


@FIXTURE_OK
@given(text=st.text(max_size=200).filter(not_json))
async def test_any_text_that_is_not_json_is_400(api: Api, text: str) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    answer = await api.client.post(f"{PREFIX}/variables", data=text, headers=headers)
    await expect_problem(answer, 400)


@FIXTURE_OK
@given(raw=st.binary(min_size=1, max_size=200))
async def test_bytes_that_are_not_utf8_or_json_never_give_500(api: Api, raw: bytes) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    answer = await api.client.post(f"{PREFIX}/variables", data=raw, headers=headers)
    assert answer.status < 500, await answer.text()
    if answer.status >= 400:  # bytes that happen to be a valid variable are taken
        await expect_problem(answer, answer.status)


async def test_a_body_that_is_not_utf8_is_400_on_every_operation_with_a_body(api: Api) -> None:
    for method, path, media_types in await body_operations(api):
        headers = {**ADMIN, "Content-Type": media_types[0]}
        answer = await api.client.request(method, path, data=b"\xff\xfe{\x80}", headers=headers)
        problem = await expect_problem(answer, 400, "malformed-body")
        assert "UTF-8" in problem["detail"], (method, path, problem)


async def test_deeply_nested_json_is_400_and_the_app_lives_on(api: Api) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    headers = {**ADMIN, "Content-Type": "application/json"}
    for path in (f"{PREFIX}/variables", f"{PREFIX}/jobs"):
        answer = await api.client.post(path, data=deep, headers=headers)
        assert answer.status in (400, 422), await answer.text()
        await expect_problem(answer, answer.status)
    assert (await api.client.get(f"{PREFIX}/auth/me", headers=ADMIN)).status == 200


# -- 415: another media type ---------------------------------------------------------------


async def test_a_body_in_another_media_type_is_415_naming_the_accepted_ones(api: Api) -> None:
    for method, path, media_types in await body_operations(api):
        headers = {**ADMIN, "Content-Type": "text/plain"}
        answer = await api.client.request(method, path, data="name=x", headers=headers)
        problem = await expect_problem(answer, 415)
        assert media_types[0] in problem["detail"], (method, path, problem)


# -- 413: too large -------------------------------------------------------------------------


@pytest.fixture
async def small_api(tmp_path: Path) -> AsyncIterator[Api]:
    async with served(api_settings(tmp_path, api_max_body_bytes=LIMIT)) as found:
        yield found


async def test_a_body_over_the_limit_is_413_on_every_operation_with_a_body(
    small_api: Api,
) -> None:
    big = json.dumps({"name": "X", "value": "v" * (LIMIT * 4)})
    for method, path, media_types in await body_operations(small_api):
        headers = {**ADMIN, "Content-Type": media_types[0]}
        answer = await small_api.client.request(method, path, data=big, headers=headers)
        problem = await expect_problem(answer, 413)
        assert "api_max_body_bytes" in problem["detail"]
    # Under the limit the same route answers normally.
    small = {"name": "SMALL", "value": "v" * (LIMIT // 4)}
    answer = await small_api.client.post(f"{PREFIX}/variables", json=small, headers=ADMIN)
    assert answer.status == 201, await answer.text()


# -- 404 and 405: no such route or method ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"{PREFIX}/nope",
        f"{PREFIX}/jobs/a/b/c/d",
        f"{PREFIX}/static/none.js",
        f"{PREFIX}/static/../openapi.json",
        "/nope",
        "/",
        f"{PREFIX}/%2e%2e/%2e%2e/etc/passwd",
    ],
)
async def test_an_unknown_route_is_404_problem(api: Api, path: str) -> None:
    for headers in ({}, ADMIN):
        answer = await api.client.get(path, headers=headers)
        if answer.status == 200:  # a path aiohttp normalises onto a real route
            assert path.endswith("openapi.json")
            continue
        await expect_problem(answer, 404, "route-not-found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", f"{PREFIX}/jobs", {"GET", "POST"}),
        ("DELETE", f"{PREFIX}/jobs", {"GET", "POST"}),
        ("POST", f"{PREFIX}/openapi.json", {"GET"}),
        ("PUT", f"{PREFIX}/auth/me", {"GET"}),
        ("POST", "/healthz", {"GET"}),
    ],
)
async def test_a_wrong_method_is_405_problem_with_allow(
    api: Api, method: str, path: str, allowed: set[str]
) -> None:
    answer = await api.client.request(method, path, headers=ADMIN)
    problem = await expect_problem(answer, 405, "method-not-allowed")
    assert allowed <= set(answer.headers["Allow"].replace(" ", "").split(",")), answer.headers
    assert method in problem["detail"]


# -- 422: every wrong query parameter listed -------------------------------------------------

#: Per listing: wrong values of its query parameters (and one it does not know).
BAD_QUERIES: dict[str, dict[str, str]] = {
    "/executions": {
        "limit": "0",
        "since": "yesterday",
        "until": "2026-13-40",
        "job": "j" * 300,
        "bogus": "1",
    },
    "/jobs": {"limit": "501", "enabled": "perhaps", "search": "s" * 300, "other": "x"},
    "/audit": {"limit": "-1", "since": "soon", "actor": "a" * 300, "unknown": ""},
    "/schedules/explain": {"count": "0", "after": "later", "timezone_x": "UTC"},
}


async def test_a_bad_query_is_422_listing_every_wrong_parameter(api: Api) -> None:
    for path, bad in BAD_QUERIES.items():
        query = dict(bad)
        if path == "/schedules/explain":
            query["expression"] = "* * * * * ?"
        answer = await api.client.get(PREFIX + path, params=query, headers=ADMIN)
        problem = await expect_problem(answer, 422)
        assert fields_of(problem) == set(bad), (path, problem)
        assert all(error["message"] for error in problem["errors"])


@FIXTURE_OK
@given(chosen=st.sets(st.sampled_from(sorted(BAD_QUERIES["/executions"])), min_size=1))
async def test_the_422_lists_exactly_the_wrong_parameters(api: Api, chosen: set[str]) -> None:
    bad = BAD_QUERIES["/executions"]
    query = {name: bad[name] for name in chosen} | {"status": "failed"}
    answer = await api.client.get(f"{PREFIX}/executions", params=query, headers=ADMIN)
    problem = await expect_problem(answer, 422)
    assert fields_of(problem) == chosen


async def test_a_required_parameter_left_out_is_named(api: Api) -> None:
    answer = await api.client.get(f"{PREFIX}/schedules/explain", headers=ADMIN)
    problem = await expect_problem(answer, 422)
    assert fields_of(problem) == {"expression"}


# -- headers on every answer --------------------------------------------------------------


async def answers_of_every_kind(api: Api) -> dict[str, Any]:
    c = api.client
    json_type = {"Content-Type": "application/json"}
    return {
        "200": await c.get(f"{PREFIX}/auth/me", headers=ADMIN),
        "401": await c.get(f"{PREFIX}/jobs"),
        "400": await c.post(f"{PREFIX}/variables", data="{", headers={**ADMIN, **json_type}),
        "404": await c.get(f"{PREFIX}/nope"),
        "405": await c.patch(f"{PREFIX}/jobs", headers=ADMIN),
        "415": await c.post(f"{PREFIX}/variables", data="x", headers=ADMIN),
        "422": await c.get(f"{PREFIX}/jobs?limit=0", headers=ADMIN),
        "openapi": await c.get(f"{PREFIX}/openapi.json"),
        "docs": await c.get(f"{PREFIX}/docs"),
        "static": await c.get(f"{PREFIX}/static/docs.js"),
        "healthz": await c.get("/healthz"),
    }


async def test_every_answer_has_the_security_headers(api: Api) -> None:
    for kind, answer in (await answers_of_every_kind(api)).items():
        headers = answer.headers
        assert headers.get("X-Content-Type-Options") == "nosniff", kind
        assert headers.get("X-Frame-Options") == "DENY", kind
        csp = headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (kind, csp)
        cache = headers.get("Cache-Control", "")
        if kind in ("docs", "static"):  # vendored files: cacheable, never framed
            assert "script-src 'self'" in csp and "http" not in csp, csp
        else:
            assert cache == "no-store", (kind, cache)


async def test_cors_is_off_by_default(api: Api) -> None:
    origin = {"Origin": "https://ui.example.com"}
    preflight = await api.client.options(
        f"{PREFIX}/jobs", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status >= 400
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]
    answer = await api.client.get(f"{PREFIX}/jobs", headers={**ADMIN, **origin})
    assert answer.status == 200, await answer.text()
    assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


@pytest.fixture
async def cors_api(tmp_path: Path) -> AsyncIterator[Api]:
    given = api_settings(tmp_path, cors_origins=("https://ui.example.com",))
    async with served(given) as found:
        yield found


async def test_cors_answers_a_configured_origin_only(cors_api: Api) -> None:
    c = cors_api.client
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = {"Origin": "https://ui.example.com"}
    other = {"Origin": "https://evil.example.com"}

    preflight = await c.options(f"{PREFIX}/jobs", headers={**allowed, **ask})
    assert preflight.status in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://ui.example.com"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Origin" in preflight.headers.get("Vary", "")

    refused = await c.options(f"{PREFIX}/jobs", headers={**other, **ask})
    assert "Access-Control-Allow-Origin" not in refused.headers

    answer = await c.get(f"{PREFIX}/jobs", headers={**ADMIN, **allowed})
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://ui.example.com"
    assert "Access-Control-Allow-Credentials" not in answer.headers
    foreign = await c.get(f"{PREFIX}/jobs", headers={**ADMIN, **other})
    assert foreign.status == 200
    assert "Access-Control-Allow-Origin" not in foreign.headers
    # A refused call from the allowed origin still says so, with the headers a browser reads.
    unauthenticated = await c.get(f"{PREFIX}/jobs", headers=allowed)
    await expect_problem(unauthenticated, 401)
    assert unauthenticated.headers["Access-Control-Allow-Origin"] == "https://ui.example.com"
