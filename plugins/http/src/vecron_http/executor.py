"""The ``http`` executor: one request per step, its response as the step output (S4.1)."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from multidict import CIMultiDict

from vecron import EgressPolicy, Executor, FinalError, RetryableError, StepContext, StepError

from .auth import Token, TokenCache, authorization
from .config import HttpConfig, OAuth2ClientCredentials, Scalar
from .egress import checked_session
from .response import excerpt, is_retryable_status, output, read_limited, retry_after

#: Request timeout when the step has none, seconds.
DEFAULT_TIMEOUT = 300.0


class HttpExecutor(Executor[HttpConfig]):
    """Sends the configured request and returns status, headers and body.

    Errors: connection failures, timeouts, 5xx, 408, 425 and 429 raise
    :class:`RetryableError` (with ``retry_after`` from a ``Retry-After`` header); any other
    status outside ``expected_status`` raises :class:`FinalError`. Both carry the
    response as ``output``.
    """

    kind = "http"
    Config = HttpConfig

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        # One session for every job in the process, per egress policy (a worker has one):
        # its resolver and DNS cache answer for that policy only.
        self._sessions: dict[EgressPolicy, aiohttp.ClientSession] = {}
        self._tls: ssl.SSLContext | None = None
        self.tokens = TokenCache(clock=clock)

    async def start(self, exit_stack: AsyncExitStack) -> None:
        # Built here, at start-up: built lazily the TLS context would stall the first
        # requests of a burst of due jobs by ~50 ms.
        self._tls = ssl.create_default_context()
        exit_stack.push_async_callback(self.aclose)

    async def aclose(self) -> None:
        """Close the shared sessions (``start`` registers this on its exit stack)."""
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    def _open(self, egress: EgressPolicy) -> aiohttp.ClientSession:
        session = self._sessions.get(egress)
        if session is None or session.closed:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            session = self._sessions[egress] = checked_session(egress, self._tls)
        return session

    def target(self, config: HttpConfig) -> str | None:
        """``scheme://host:port`` of the request: what the circuit breaker guards."""
        parts = urlsplit(str(config.url))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.scheme}://{parts.hostname}:{port}"

    async def run(self, ctx: StepContext, config: HttpConfig) -> Mapping[str, Any]:
        session = self._open(ctx.egress)
        timeout = aiohttp.ClientTimeout(total=ctx.timeout or DEFAULT_TIMEOUT)
        headers, data = _request_parts(config, ctx)
        token: Token | None = None
        if config.auth is not None:
            headers["Authorization"], token = await authorization(
                self.tokens, session, config.auth, timeout
            )
        result = await _send(session, config, headers, data, timeout, ctx)
        if (
            result["status"] == 401
            and token is not None
            and not token.fresh
            and isinstance(config.auth, OAuth2ClientCredentials)
        ):
            # The cached token was revoked or expired early: one more try with a new one.
            self.tokens.invalidate(config.auth, token.value)
            headers["Authorization"], token = await authorization(
                self.tokens, session, config.auth, timeout
            )
            result = await _send(session, config, headers, data, timeout, ctx)
        _check_status(config, result, ctx)
        return result


def _request_parts(cfg: HttpConfig, ctx: StepContext) -> tuple[CIMultiDict[str], bytes | None]:
    headers: CIMultiDict[str] = CIMultiDict(cfg.headers)
    headers.update({k: v.get_secret_value() for k, v in cfg.secret_headers.items()})
    headers.setdefault("Idempotency-Key", ctx.idempotency_key)
    data: bytes | None = None
    if cfg.has_body("json"):
        data = json.dumps(cfg.json_body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    elif cfg.form is not None:
        data = urlencode({k: _text(v) for k, v in cfg.form.items()}).encode("ascii")
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif cfg.body is not None:
        data = cfg.body.encode("utf-8")
        headers.setdefault("Content-Type", cfg.content_type or "text/plain; charset=utf-8")
    return headers, data


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query(cfg: HttpConfig) -> list[tuple[str, str]]:
    pairs = []
    for name, value in cfg.query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, _text(item)))
    return pairs


async def _send(
    session: aiohttp.ClientSession,
    cfg: HttpConfig,
    headers: CIMultiDict[str],
    data: bytes | None,
    client_timeout: aiohttp.ClientTimeout,
    ctx: StepContext,
) -> dict[str, Any]:
    where = f"{cfg.method} {cfg.url}"
    started = time.monotonic()
    try:
        async with session.request(
            cfg.method,
            cfg.url,
            params=_query(cfg),
            headers=headers,
            data=data,
            timeout=client_timeout,
            allow_redirects=cfg.follow_redirects,
            ssl=cfg.verify_tls,  # True: the connector's context, built at start-up
        ) as response:
            raw = await read_limited(response, cfg.max_response_bytes)
            if raw is None:
                raise FinalError(
                    f"{where}: HTTP {response.status} response is larger than "
                    f"max_response_bytes={cfg.max_response_bytes}",
                    output=output(response, b"", time.monotonic() - started, ctx),
                )
            return output(response, raw, time.monotonic() - started, ctx)
    except StepError:
        raise
    except TimeoutError as exc:
        raise RetryableError(f"{where}: timed out after {client_timeout.total} s") from exc
    except (aiohttp.TooManyRedirects, aiohttp.InvalidURL, aiohttp.ClientSSLError) as exc:
        # Another attempt meets the same redirect loop, bad URL or certificate.
        raise FinalError(f"{where}: {type(exc).__name__}: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise RetryableError(f"{where}: {type(exc).__name__}: {exc}") from exc


def _check_status(cfg: HttpConfig, result: dict[str, Any], ctx: StepContext) -> None:
    status: int = result["status"]
    if cfg.accepts(status):
        return
    message = (
        f"{cfg.method} {cfg.url}: HTTP {status} {result['reason'] or ''}".rstrip()
        + f", expected {', '.join(map(str, cfg.expected_status))}: {excerpt(result['body'], ctx)}"
    )
    if is_retryable_status(status):
        raise RetryableError(
            message, retry_after=retry_after(result["headers"].get("retry-after")), output=result
        )
    raise FinalError(message, output=result)
