"""Reading a response within a byte budget, turning it into step output, classifying it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from vecron import StepContext

#: Statuses worth another attempt besides 5xx (RFC 9110 S15.5.9, RFC 8470, RFC 6585 S4).
RETRYABLE_STATUSES = frozenset({408, 425, 429})
CHUNK_BYTES = 64 * 1024


def is_retryable_status(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUSES


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means "-0000"
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, read in chunks; None as soon as it proves longer than ``limit`` bytes.

    A declared Content-Length over the limit gives None before anything is read.
    """
    declared = response.content_length
    if declared is not None and declared > limit:
        return None
    buffer = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        buffer += chunk
        if len(buffer) > limit:
            return None
    return bytes(buffer)


def decode(raw: bytes, mimetype: str, charset: str | None, ctx: StepContext) -> tuple[Any, bool]:
    """``(body, is_base64)``: parsed JSON for JSON types, else text, else base64."""
    if not raw:
        return None, False
    try:
        text = raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        text = None
    # NUL cannot be stored in PostgreSQL text/jsonb, so such bodies go out as base64 —
    # masked first: once encoded, only the secret's plain base64 can still be found.
    if text is None:
        return base64.b64encode(ctx.mask(raw)).decode("ascii"), True
    if "\x00" in text:
        return base64.b64encode(ctx.mask(text).encode(charset or "utf-8")).decode("ascii"), True
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            return json.loads(text), False
        except ValueError:
            pass  # a server that mislabels its body still gets its text recorded
    return text, False


def output(
    response: aiohttp.ClientResponse, raw: bytes, elapsed: float, ctx: StepContext
) -> dict[str, Any]:
    """The step output: status, lower-cased headers, decoded body, timing, final URL."""
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    body, is_base64 = decode(raw, response.content_type, response.charset, ctx)
    return {
        "status": response.status,
        "reason": response.reason,
        "headers": headers,
        "body": body,
        "body_base64": is_base64,
        "elapsed_ms": round(elapsed * 1000, 3),
        "url": str(response.url),
    }


def excerpt(body: Any, ctx: StepContext) -> str:
    """A short one-line form of a body for error messages, secrets masked."""
    if body is None:
        return "(empty body)"
    return ctx.excerpt(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False))
