"""Authorization headers, and the OAuth2 client-credentials token cache."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from vecron import FinalError, RetryableError, excerpt

from .config import Auth, BasicAuth, BearerAuth, OAuth2ClientCredentials
from .response import is_retryable_status, read_limited, retry_after

#: Lifetime assumed when a token response has no ``expires_in``.
DEFAULT_TOKEN_TTL = 60.0
#: Refresh this long before expiry at most, so a request never leaves with a dying token.
MAX_REFRESH_MARGIN = 60.0
TOKEN_RESPONSE_LIMIT = 1024 * 1024

TokenKey = tuple[str, str, str | None, str | None, str]


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    refresh_at: float
    #: True when it was fetched for this request rather than taken from the cache.
    fresh: bool


def basic_credentials(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def static_authorization(auth: BasicAuth | BearerAuth) -> str:
    if isinstance(auth, BasicAuth):
        return basic_credentials(auth.username, auth.password.get_secret_value())
    return "Bearer " + auth.token.get_secret_value()


class TokenCache:
    """Client-credentials tokens shared by every step of the executor's process.

    Keyed by token URL, client id, scope, audience and a digest of the secret: a job
    with a wrong secret must not borrow a token another job obtained. One fetch per key
    runs at a time, so concurrent steps ask the token endpoint once.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[TokenKey, Token] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}
        #: How many tokens were requested from token endpoints (observability, tests).
        self.fetches = 0

    @staticmethod
    def key(auth: OAuth2ClientCredentials) -> TokenKey:
        digest = hashlib.sha256(auth.client_secret.get_secret_value().encode()).hexdigest()
        return (auth.token_url, auth.client_id, auth.scope, auth.audience, digest)

    async def get(
        self,
        session: aiohttp.ClientSession,
        auth: OAuth2ClientCredentials,
        client_timeout: aiohttp.ClientTimeout,
    ) -> Token:
        key = self.key(auth)
        cached = self._valid(key)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._valid(key)  # another step may have fetched it meanwhile
            if cached is not None:
                return cached
            value, lifetime = await fetch_token(session, auth, client_timeout)
            self.fetches += 1
            margin = min(MAX_REFRESH_MARGIN, lifetime / 10)
            token = Token(value=value, refresh_at=self._clock() + lifetime - margin, fresh=True)
            self._tokens[key] = Token(value=value, refresh_at=token.refresh_at, fresh=False)
            return token

    def invalidate(self, auth: OAuth2ClientCredentials, value: str) -> None:
        """Forget the cached token if it is still ``value`` (the target refused it)."""
        key = self.key(auth)
        cached = self._tokens.get(key)
        if cached is not None and cached.value == value:
            del self._tokens[key]

    def _valid(self, key: TokenKey) -> Token | None:
        cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached
        return None


async def fetch_token(
    session: aiohttp.ClientSession,
    auth: OAuth2ClientCredentials,
    client_timeout: aiohttp.ClientTimeout,
) -> tuple[str, float]:
    """Run the client-credentials grant: ``(access_token, lifetime in seconds)``.

    :raises RetryableError: the endpoint is unreachable, timed out or answered 5xx/429.
    :raises FinalError: the endpoint refused the client or answered something unusable.
    """
    form: dict[str, str] = {"grant_type": "client_credentials"}
    headers = {"Accept": "application/json"}
    secret = auth.client_secret.get_secret_value()
    if auth.client_auth == "basic":
        # RFC 6749 S2.3.1: form-encode id and secret before the Basic encoding.
        headers["Authorization"] = basic_credentials(
            quote(auth.client_id, safe=""), quote(secret, safe="")
        )
    else:
        form |= {"client_id": auth.client_id, "client_secret": secret}
    if auth.scope is not None:
        form["scope"] = auth.scope
    if auth.audience is not None:
        form["audience"] = auth.audience
    where = f"OAuth2 token endpoint {auth.token_url}"
    try:
        async with session.post(
            auth.token_url,
            data=form,
            headers=headers,
            timeout=client_timeout,
            allow_redirects=False,
        ) as response:
            raw = await read_limited(response, TOKEN_RESPONSE_LIMIT)
            status = response.status
            wait = retry_after(response.headers.get("Retry-After"))
    except TimeoutError as exc:
        raise RetryableError(f"{where} timed out") from exc
    except aiohttp.ClientError as exc:
        raise RetryableError(f"{where} unreachable: {exc}") from exc
    if raw is None:
        raise FinalError(f"{where} sent a response over {TOKEN_RESPONSE_LIMIT} bytes")
    document = _json_object(raw)
    if status != 200:
        described = " ".join(
            str(document[k]) for k in ("error", "error_description") if k in document
        )
        # A client secret written into the job, not a variable, is unknown to the worker.
        detail = excerpt(described or raw.decode("utf-8", "replace"), {secret})
        message = f"{where} answered {status}: {detail}"
        if is_retryable_status(status):
            raise RetryableError(message, retry_after=wait)
        raise FinalError(message)
    value = document.get("access_token")
    if not isinstance(value, str) or not value:
        raise FinalError(f"{where} answered without an access_token")
    return value, _lifetime(document.get("expires_in"))


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _lifetime(expires_in: Any) -> float:
    try:
        lifetime = float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_TTL
    return max(0.0, lifetime)


async def authorization(
    cache: TokenCache,
    session: aiohttp.ClientSession,
    auth: Auth,
    client_timeout: aiohttp.ClientTimeout,
) -> tuple[str, Token | None]:
    """The Authorization header value, and the OAuth2 token it carries if any."""
    if isinstance(auth, OAuth2ClientCredentials):
        token = await cache.get(session, auth, client_timeout)
        return "Bearer " + token.value, token
    return static_authorization(auth), None
