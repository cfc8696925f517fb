"""Standard Webhooks signatures: secrets, and checking a delivery's headers and body.

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: one or more space-separated ``v1,<base64>`` entries, each the
HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under a secret ``whsec_<base64 key>``. The
checks run cheapest first (research/reliability.md section 2.2): headers present, the
timestamp within five minutes either way, then the HMAC, compared in constant time
against every secret that is valid now (two while a regenerated one's grace lasts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vecron import Unauthenticated, ValidationError

PREFIX = "whsec_"
#: Random bytes of a new secret (the scheme asks for 24 to 64).
SECRET_BYTES = 32
#: Seconds a timestamp may be away from now, past or future.
TOLERANCE = 300
ID = "webhook-id"
TIMESTAMP = "webhook-timestamp"
SIGNATURE = "webhook-signature"
HEADERS = (ID, TIMESTAMP, SIGNATURE)
#: The longest ``webhook-id`` taken: it becomes the execution's idempotency key.
MAX_ID_LENGTH = 200


def new_secret() -> str:
    """A new signing secret, ``whsec_`` and the base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def key_of(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def new_hook_id() -> str:
    """An unguessable endpoint id (192 random bits), safe in a URL path."""
    return secrets.token_urlsafe(24)


def sign(key: bytes, delivery_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The three headers of a delivery, checked for presence and shape."""

    delivery_id: str
    timestamp: int
    signatures: tuple[bytes, ...]

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> SignedHeaders:
        """:raises Unauthenticated: a header is missing or malformed.
        :raises ValidationError: ``webhook-id`` is longer than 200 characters."""
        missing = [name for name in HEADERS if not headers.get(name, "").strip()]
        if missing:
            raise Unauthenticated(
                f"a signed delivery needs the headers {', '.join(HEADERS)}; missing: "
                f"{', '.join(missing)}",
                reason="missing-signature-headers",
                params={"missing": missing},
            )
        delivery_id = headers[ID].strip()
        if len(delivery_id) > MAX_ID_LENGTH:
            raise ValidationError(
                f"webhook-id is at most {MAX_ID_LENGTH} characters, not {len(delivery_id)}",
                field=ID,
                reason="out-of-range",
                params={"max": MAX_ID_LENGTH},
            )
        raw_time = headers[TIMESTAMP].strip()
        if not raw_time.isascii() or not raw_time.isdigit() or len(raw_time) > 12:
            raise Unauthenticated(
                "webhook-timestamp is not a Unix time in seconds", reason="bad-timestamp"
            )
        return cls(delivery_id, int(raw_time), _signatures(headers[SIGNATURE]))

    def check_time(self, now: float) -> None:
        """:raises Unauthenticated: the timestamp is more than five minutes from ``now``."""
        if abs(now - self.timestamp) > TOLERANCE:
            raise Unauthenticated(
                f"webhook-timestamp is more than {TOLERANCE} seconds from the server's time; "
                "sign with the current time (is the sender's clock right?)",
                reason="stale-timestamp",
            )

    def check_signature(self, body: bytes, keys: Sequence[bytes]) -> None:
        """Any ``v1`` signature made with any of ``keys`` over this delivery will do; every
        comparison is in constant time.

        :raises Unauthenticated: none matches.
        """
        matched = False
        for key in keys:
            expected = sign(key, self.delivery_id, self.timestamp, body)
            for given in self.signatures:
                # No early exit: the time taken does not tell which entry matched.
                matched |= hmac.compare_digest(expected, given)
        if not matched:
            raise Unauthenticated(
                "no webhook-signature matches the body under the endpoint's secret",
                reason="bad-signature",
            )


def _signatures(header: str) -> tuple[bytes, ...]:
    """The decoded ``v1`` entries; others (``v1a``, a later version) are left out, and an
    entry that is not base64 can match nothing."""
    found = []
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return tuple(found)
