"""Access tokens (JWT, HS256) and refresh tokens (opaque, stored as SHA-256).

Decoding follows RFC 8725: the accepted algorithm list is fixed (``HS256``), never read
from the token; ``kid`` is only a lookup key; ``iss``, ``aud``, ``exp``, ``nbf``,
``iat``, ``sub`` and ``jti`` are required. The time claims are judged by the backend's
clock (injectable in tests) with a small leeway. No error message quotes the token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from vecron import Unauthenticated

from .keys import KID, SigningKeys

AUDIENCE = "vecron-api"
ALGORITHMS = ["HS256"]
ACCESS = "access"
#: Refresh tokens start with this, so one sent as an access token is recognised (and
#: secret scanners can spot a leaked one).
REFRESH_PREFIX = "vrt_"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ", "gen"]


def new_refresh_token() -> str:
    """32 random bytes, URL-safe, with :data:`REFRESH_PREFIX`."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def is_refresh_token(token: str) -> bool:
    return token.startswith(REFRESH_PREFIX)


def refresh_digest(token: str) -> str:
    """What the database keeps of a refresh token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a JWT claims, unverified (to choose the backend that verifies it);
    None when ``token`` is not a JWT or claims no issuer. Only the payload is read, so
    a token of this issuer with a broken header is still recognised, and refused."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:  # bad base64, UTF-8 or JSON
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says: whose it is and under which generation."""

    user_id: str
    generation: int


def _refuse(message: str, reason: str = "invalid-token") -> Unauthenticated:
    return Unauthenticated(message, reason=reason)


class AccessTokens:
    """Issues and verifies this backend's access tokens."""

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        life: timedelta,
        leeway: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.life = life
        self.leeway = leeway
        self._clock = clock

    async def issue(self, *, user_id: str, name: str, roles: Sequence[str], generation: int) -> str:
        key = await self.keys.current()
        now = int(self._clock().timestamp())
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": user_id,
            "name": name,
            "roles": list(roles),
            "iat": now,
            "nbf": now,
            "exp": now + int(self.life.total_seconds()),
            "jti": uuid.uuid4().hex,
            "typ": ACCESS,
            "gen": generation,
        }
        return jwt.encode(claims, key.secret, algorithm=ALGORITHMS[0], headers={"kid": key.kid})

    async def verify(self, token: str) -> AccessClaims:
        """:raises Unauthenticated: anything wrong with ``token``; the message is safe."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refuse("the access token is malformed") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or not KID.fullmatch(kid):
            raise _refuse("the access token names no valid signing key", "unknown-key")
        secret = await self.keys.lookup(kid)
        if secret is None:
            raise _refuse("the access token is signed by an unknown key", "unknown-key")
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=ALGORITHMS,
                audience=AUDIENCE,
                issuer=self.issuer,
                options={
                    "require": REQUIRED_CLAIMS,
                    # Judged below, by this backend's clock.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            raise _refuse("the access token is invalid") from None
        self._check_times(claims)
        if claims.get("typ") != ACCESS:
            raise _refuse("the token is not an access token")
        generation, subject = claims.get("gen"), claims.get("sub")
        if type(generation) is not int or not isinstance(subject, str):
            raise _refuse("the access token is invalid")
        return AccessClaims(user_id=subject, generation=generation)

    def _check_times(self, claims: dict[str, Any]) -> None:
        times: list[float] = []
        for name in ("iat", "nbf", "exp"):
            value = claims.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _refuse("the access token is invalid")  # a string, a bool: no time
            times.append(float(value))
        issued, not_before, expires = times
        now = self._clock().timestamp()
        leeway = self.leeway.total_seconds()
        if expires <= now - leeway:
            raise _refuse("the access token has expired", "token-expired")
        if not_before > now + leeway or issued > now + leeway:
            raise _refuse("the access token is not valid yet", "token-not-yet-valid")
