"""The step's egress policy inside aiohttp: every request, redirects and token requests
included, reaches only addresses the policy checked.

aiohttp resolves host names through the connector's resolver, which here asks the
policy: the name is resolved once, each address checked, and the connection goes to
those addresses. An address literal skips the resolver, so a middleware (run for every
request of a redirect chain) checks it instead.
"""

from __future__ import annotations

import socket
import ssl
from ipaddress import IPv4Address, ip_address

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from vecron import EgressPolicy

#: Connections open at once across all hosts (aiohttp's default is 100).
CONNECTIONS = 256
STEP_TYPE = "http"


class CheckedResolver(AbstractResolver):
    """Resolves a name through the policy: only addresses it allows come back."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """:raises vecron.errors.EgressDenied: the name or one of its addresses is
        refused (aiohttp lets it through unchanged: it is no OSError)."""
        results: list[ResolveResult] = []
        for address in await self.policy.check(STEP_TYPE, host, port):
            found = socket.AF_INET if isinstance(address, IPv4Address) else socket.AF_INET6
            if family in (socket.AF_UNSPEC, found):
                results.append(
                    {
                        "hostname": host,
                        "host": str(address),
                        "port": port,
                        "family": found,
                        "proto": 0,
                        "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                    }
                )
        if not results:
            raise OSError(f"{host} has no address of the family asked for")
        return results

    async def close(self) -> None:
        """Nothing to release: lookups go through the policy."""


def literal_guard(policy: EgressPolicy) -> aiohttp.ClientMiddlewareType:
    """A middleware refusing a request to an address literal the policy denies."""

    async def guard(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        host = request.url.raw_host
        if host is not None and _is_address(host):
            await policy.check(STEP_TYPE, host, request.url.port or 0)
        return await handler(request)

    return guard


def checked_session(policy: EgressPolicy, tls: ssl.SSLContext) -> aiohttp.ClientSession:
    """A session whose every connection ``policy`` allowed.

    Cookies must not travel between jobs sharing it, so none are kept.
    """
    connector = aiohttp.TCPConnector(
        ssl=tls, limit=CONNECTIONS, limit_per_host=0, resolver=CheckedResolver(policy)
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        middlewares=(literal_guard(policy),),
    )


def _is_address(host: str) -> bool:
    try:
        ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
