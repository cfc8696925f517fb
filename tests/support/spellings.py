"""A secret in every encoding vecron or a target echoing it produces, and a check that
finds any of them in a text — written apart from core's masking, so a test compares two
independent answers.

Literal spellings are searched as they are; base64 is decoded instead (every run of
base64 characters, from each of its first 4 offsets, in both alphabets), so the check
does not depend on how core finds base64 inside longer data.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import quote, quote_plus

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{4,}")


def quoted(secret: str, depth: int, *, ascii_only: bool) -> str:
    """``secret`` quoted into a JSON string ``depth`` times (without the outer quotes)."""
    for _ in range(depth):
        secret = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
    return secret


def plain_spellings(secret: str) -> dict[str, str]:
    """Every spelling a text search can find, by name."""
    forms = {"raw": secret}
    for depth in (1, 2, 3):
        forms[f"json x{depth}"] = quoted(secret, depth, ascii_only=False)
        forms[f"json x{depth} ascii"] = quoted(secret, depth, ascii_only=True)
    forms["url"] = quote(secret, safe="")
    forms["url path"] = quote(secret)  # Jinja's urlencode keeps "/"
    forms["form"] = quote_plus(secret)
    forms["url x2"] = quote(quote(secret, safe=""), safe="")
    return forms


def base64_sources(secret: str) -> dict[str, bytes]:
    """What may have been base64-encoded: the secret as written, quoted into JSON, or
    form-encoded (OAuth2 client credentials are, before their basic-auth encoding)."""
    return {
        "raw": secret.encode(),
        "json": quoted(secret, 1, ascii_only=False).encode(),
        "json ascii": quoted(secret, 1, ascii_only=True).encode(),
        "url": quote(secret, safe="").encode(),
        "form": quote_plus(secret).encode(),
    }


def base64_spellings(secret: str) -> dict[str, str]:
    """The secret's base64 behind 0, 1 or 2 other bytes, in both alphabets, and as a
    basic-auth header carries it."""
    forms = {"basic auth": base64.b64encode(f"user:{secret}".encode()).decode()}
    for name, raw in base64_sources(secret).items():
        for offset in range(3):
            data = b"\x00" * offset + raw + b"\x00"
            forms[f"base64 {name} +{offset}"] = base64.b64encode(data).decode()
            forms[f"base64url {name} +{offset}"] = base64.urlsafe_b64encode(data).decode()
    return forms


def exposed(text: str, secret: str) -> list[str]:
    """The names of the secret's spellings found in ``text``; empty if none is."""
    found = [name for name, form in plain_spellings(secret).items() if form in text]
    sources = base64_sources(secret)
    for run in _BASE64_RUN.findall(text):
        standard = run.translate(str.maketrans("-_", "+/"))
        for offset in range(4):
            chunk = standard[offset:]
            # Padding is not part of a run: put it back (a lone extra character is no byte).
            chunk = chunk[:-1] if len(chunk) % 4 == 1 else chunk + "=" * (-len(chunk) % 4)
            try:
                decoded = base64.b64decode(chunk)
            except binascii.Error:
                continue
            found += [f"base64 of {n}" for n, raw in sources.items() if raw in decoded]
    return sorted(set(found))
