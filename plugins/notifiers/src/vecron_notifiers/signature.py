"""The Standard Webhooks signature: what receivers check with any of its libraries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

#: Secrets are written ``whsec_<base64 of the key>``.
SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret.

    :raises ValueError: not ``whsec_`` and base64 of at least 24 bytes (the message
        never quotes the secret).
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"must be {SECRET_PREFIX} and base64") from None
    if len(key) < 24:
        raise ValueError("must hold a key of at least 24 bytes")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``: the ``webhook-signature``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
