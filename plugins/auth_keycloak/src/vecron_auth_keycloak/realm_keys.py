"""The realm's signing keys: discovery, the JWKS, a TTL cache and a refetch budget.

Keycloak rotates keys by adding a new active key and keeping the old one published as
passive for a while (research/reliability.md §3.2), so a token may name a key (``kid``)
vecron has not seen yet: the key set is fetched again, but at most once per
``jwks_min_refetch_interval``, whatever the reason (TTL expired, unknown ``kid``, Keycloak
down). A flood of tokens with made-up ``kid`` values therefore costs Keycloak one request
per interval, and while Keycloak is unreachable the keys fetched last keep verifying
tokens, expired TTL included.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import jwt
from yarl import URL

from .config import KeycloakConfig

log = logging.getLogger(__name__)

#: A discovery document or key set larger than this is not Keycloak's.
MAX_DOCUMENT = 1024 * 1024


class FetchError(Exception):
    """Keycloak did not answer with a usable document (the message names no secret)."""


class RealmKeys:
    """The verification keys of one realm, by ``kid``.

    :param clock: seconds, monotonic or wall (tests pass a clock they move by hand).
    """

    def __init__(self, config: KeycloakConfig, *, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._jwks_uri: str | None = None
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._background: asyncio.Task[None] | None = None

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid``; ``None`` when the realm has no such key (or cannot be reached
        and the cached keys lack it).

        A cached key is returned at once, even past the TTL: the key set is then fetched
        again in the background, so no request waits on a slow or unreachable Keycloak
        for a key it already has. An unknown ``kid`` waits for a fetch, when the refetch
        budget allows one.
        """
        cached = self._keys.get(kid)
        if cached is not None:
            if not self._fresh():
                self._refresh_in_background()
            return cached
        async with self._lock:  # concurrent misses share one fetch
            if kid not in self._keys and self._may_fetch():
                await self._refresh()
        return self._keys.get(kid)

    async def settled(self) -> None:
        """Return once no background fetch is running (tests wait on this state)."""
        if self._background is not None:
            await asyncio.wait([self._background])

    async def close(self) -> None:
        if self._background is not None:
            self._background.cancel()
            await asyncio.wait([self._background])
            self._background = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _refresh_in_background(self) -> None:
        running = self._background is not None and not self._background.done()
        if not running and not self._lock.locked() and self._may_fetch():
            self._background = asyncio.create_task(self._refresh_stale())

    async def _refresh_stale(self) -> None:
        try:
            async with self._lock:
                if not self._fresh() and self._may_fetch():
                    await self._refresh()
        except Exception:  # a task nobody awaits: say what went wrong, keep serving
            log.exception("keycloak: refreshing the keys of %s failed", self._config.issuer)

    def _fresh(self) -> bool:
        return (
            self._fetched_at is not None
            and self._clock() - self._fetched_at < self._config.jwks_ttl
        )

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None
            or self._clock() - self._attempted_at >= self._config.jwks_min_refetch_interval
        )

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        try:
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover()
            keys = parse_jwks(await self._get_json(self._jwks_uri), self._config.algorithms)
        except FetchError as exc:
            # Keep serving the keys fetched last; discover again next time, in case the
            # realm's endpoints moved.
            self._jwks_uri = None
            log.warning(
                "keycloak: keys of %s not refreshed (%s); using the %d cached",
                self._config.issuer,
                exc,
                len(self._keys),
            )
            return
        self._keys = keys
        self._fetched_at = self._clock()

    async def _discover(self) -> str:
        document = await self._get_json(self._config.discovery_url)
        if document.get("issuer") != self._config.issuer:
            raise FetchError(
                f"discovery names issuer {str(document.get('issuer'))[:200]!r}, "
                f"not {self._config.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _is_http(jwks_uri):
            raise FetchError("discovery has no http(s) jwks_uri")
        return jwks_uri

    async def _get_json(self, url: str) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._config.timeout)
            )
        try:
            async with self._session.get(
                url, allow_redirects=False, headers={"accept": "application/json"}
            ) as response:
                if response.status != 200:
                    raise FetchError(f"{url} answered HTTP {response.status}")
                body = await response.content.read(MAX_DOCUMENT + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FetchError(f"{url} unreachable: {type(exc).__name__}") from exc
        if len(body) > MAX_DOCUMENT:
            raise FetchError(f"{url} answered more than {MAX_DOCUMENT} bytes")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise FetchError(f"{url} answered something other than JSON") from exc
        if not isinstance(document, dict):
            raise FetchError(f"{url} answered JSON that is not an object")
        return document


def _is_http(url: str) -> bool:
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


def parse_jwks(document: Mapping[str, Any], algorithms: tuple[str, ...]) -> dict[str, jwt.PyJWK]:
    """The signature keys of a JWKS by ``kid``: keys for encryption, without a ``kid``,
    for another algorithm or unreadable are left out (Keycloak publishes an RSA-OAEP
    encryption key beside its signing keys).

    :raises FetchError: the document is not a JWKS.
    """
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise FetchError("the key set has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "d" in entry:
            continue  # not a public signature key (a published private key is ignored)
        kid, alg = entry.get("kid"), entry.get("alg")
        if not isinstance(kid, str) or (alg is not None and alg not in algorithms):
            continue
        try:
            key = jwt.PyJWK(entry, algorithm=alg)
        except (jwt.PyJWTError, TypeError, ValueError, KeyError):
            continue
        if key.algorithm_name in algorithms:
            keys[kid] = key
    return keys
