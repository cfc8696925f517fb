"""The ``http`` executor under the egress policy: a refused destination gets no request,
whether named by address, by a name that resolves to it, or by a redirect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from tests.support.dns import FakeDns
from yarl import URL

from vecron.errors import EgressDenied
from vecron.plugin.egress import EgressPolicy, default_egress
from vecron.runtime import egress_policy
from vecron.settings import Settings
from vecron.testing import make_step_context
from vecron_http import HttpConfig, HttpExecutor

from .conftest import Target

METADATA = "egress to 169.254.169.254 denied (link-local, metadata)"


async def run(executor: HttpExecutor, egress: EgressPolicy, url: str) -> Any:
    ctx = make_step_context(egress=egress)
    return await executor.run(ctx, HttpConfig.model_validate({"url": url}))


@pytest.fixture
async def bouncer() -> AsyncIterator[str]:
    """A server on 127.0.0.1 whose ``/?to=URL`` redirects to any URL."""

    async def bounce(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/", bounce)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("/"))
    finally:
        await server.close()


async def test_the_metadata_address_is_refused_as_a_final_error(executor: HttpExecutor) -> None:
    with pytest.raises(EgressDenied) as caught:
        await run(executor, default_egress(), "http://169.254.169.254/latest/meta-data/")
    assert caught.value.message == METADATA
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("url", "rules"),
    [
        ("http://[::ffff:169.254.169.254]/", "link-local, metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://100.100.100.200/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://[fe80::1]:8080/", "link-local"),
        ("http://169.254.10.1/", "link-local"),
    ],
)
async def test_every_spelling_of_link_local_and_metadata_is_refused(
    executor: HttpExecutor, url: str, rules: str
) -> None:
    with pytest.raises(EgressDenied) as caught:
        await run(executor, default_egress(), url)
    assert caught.value.message.endswith(f"denied ({rules})")


async def test_a_name_resolving_to_a_denied_address_is_refused(
    executor: HttpExecutor, target: Target
) -> None:
    port = URL(target.base).port
    dns = FakeDns.of({"innocent.test": "169.254.169.254", "mixed.test": ["127.0.0.1", "fe80::1"]})
    egress = EgressPolicy(resolve=dns)
    with pytest.raises(EgressDenied) as caught:
        await run(executor, egress, f"http://innocent.test:{port}/echo")
    assert caught.value.message == (
        "egress to innocent.test (169.254.169.254) denied (link-local, metadata)"
    )
    # One denied address among allowed ones is enough: the connection could go there.
    with pytest.raises(EgressDenied, match=r"mixed\.test \(fe80::1\) denied \(link-local\)"):
        await run(executor, egress, f"http://mixed.test:{port}/echo")
    assert target.requests == []


async def test_an_operator_can_deny_loopback(executor: HttpExecutor, target: Target) -> None:
    egress = EgressPolicy(deny=["loopback"])
    port = URL(target.base).port
    with pytest.raises(EgressDenied) as by_name:
        await run(executor, egress, f"http://localhost:{port}/echo")
    assert by_name.value.message.startswith("egress to localhost (")
    assert by_name.value.message.endswith(") denied (loopback)")
    with pytest.raises(EgressDenied, match=r"^egress to 127\.0\.0\.1 denied \(loopback\)$"):
        await run(executor, egress, target.url("/echo"))
    assert target.requests == []


async def test_by_default_loopback_and_private_targets_are_reached(
    executor: HttpExecutor, target: Target, tmp_path: Any
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db")
    for egress in (default_egress(), egress_policy(settings)):
        result = await run(executor, egress, target.url("/echo"))
        assert result["status"] == 200
    assert len(target.requests) == 2


async def test_the_connection_goes_to_the_address_checked(
    executor: HttpExecutor, target: Target
) -> None:
    # A rebinding name: allowed at the check, the metadata service right after. The name
    # is in no real DNS either: the request can only have used the checked address.
    dns = FakeDns({"flip.test": [["127.0.0.1"], ["169.254.169.254"]]})
    port = URL(target.base).port
    result = await run(executor, EgressPolicy(resolve=dns), f"http://flip.test:{port}/echo")
    assert result["status"] == 200
    assert dns.lookups == ["flip.test"]
    assert target.requests[0].headers["Host"] == f"flip.test:{port}"


async def test_every_redirect_is_checked(executor: HttpExecutor, bouncer: str) -> None:
    dns = FakeDns.of({"inner.test": "169.254.169.254"})
    egress = EgressPolicy(resolve=dns)
    with pytest.raises(EgressDenied) as to_address:
        await run(executor, egress, f"{bouncer}?to=http://169.254.169.254/latest/")
    assert to_address.value.message == METADATA
    with pytest.raises(EgressDenied, match=r"inner\.test \(169\.254\.169\.254\) denied"):
        await run(executor, egress, f"{bouncer}?to=http://inner.test/")


async def test_an_allow_rule_makes_an_exception(executor: HttpExecutor, target: Target) -> None:
    # Loopback denied but for the one address the operator trusts.
    egress = EgressPolicy(deny=["loopback"], allow=["127.0.0.1"])
    port = URL(target.base).port
    result = await run(executor, egress, target.url("/echo"))
    assert result["status"] == 200
    with pytest.raises(EgressDenied, match=r"^egress to 127\.0\.0\.2 denied \(loopback\)$"):
        await run(executor, egress, f"http://127.0.0.2:{port}/echo")
    assert len(target.requests) == 1


async def test_a_denied_host_pattern_is_refused_before_any_lookup(executor: HttpExecutor) -> None:
    dns = FakeDns.of({"api.blocked.test": "127.0.0.1"})
    egress = EgressPolicy(deny=["*.blocked.test"], resolve=dns)
    with pytest.raises(EgressDenied) as caught:
        await run(executor, egress, "http://api.blocked.test/")
    assert caught.value.message == "egress to api.blocked.test denied (*.blocked.test)"
    assert dns.lookups == []
