"""What a verified Keycloak access token says: checks of its claims and its roles.

The signature is PyJWT's business; the times, the audience and the roles are checked
here with the backend's own clock, so a test can move time and the rules stay in one
place. Every refusal is :class:`vecron.Unauthenticated` with a stable ``reason`` and a
message that never quotes the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from vecron import Unauthenticated

from .config import CLIENT_ROLE_PREFIX, KeycloakConfig

#: A key id is only ever a dictionary key, but one with path or query characters
#: (``../``, quotes, spaces) is refused before any lookup (reliability.md E3).
#: Keycloak's kids are base64url SHA-256 thumbprints.
KID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
#: No Keycloak access token's payload comes near this (64 KiB of base64).
MAX_SEGMENT = 64 * 1024


def refuse(message: str, reason: str) -> Unauthenticated:
    return Unauthenticated(message, reason=reason)


def _segment(text: str) -> dict[str, Any] | None:
    if len(text) > MAX_SEGMENT:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The header and payload of a compact JWS, unverified; ``None`` for anything else.

    Read by hand rather than with PyJWT, which refuses some headers outright: a token
    claiming this realm's ``iss`` with a broken header is still recognised as this
    realm's, and refused (401) for that header, instead of being passed on to the next
    backend.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, payload = _segment(parts[0]), _segment(parts[1])
    if header is None or payload is None:
        return None
    return header, payload


def check_header(header: Mapping[str, Any], config: KeycloakConfig) -> str:
    """The header's ``kid`` once ``alg`` and ``kid`` are acceptable.

    :raises Unauthenticated: ``alg`` not configured (``none``, HS256, ...), or ``kid``
        missing or not a plain key id.
    """
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in config.algorithms:
        raise refuse("the token's signature algorithm is not accepted", "token-algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not KID.match(kid):
        raise refuse("the token does not name a valid signing key", "token-key-id")
    return kid


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(f"the token's {name!r} claim is not a number", "token-invalid")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise refuse(f"the token's {name!r} claim is out of range", "token-invalid")
    return number


def check_times(claims: Mapping[str, Any], *, now: float, leeway: float) -> None:
    """``exp`` (required) not passed, ``nbf`` and ``iat`` not in the future, each with
    ``leeway`` seconds of skew.

    :raises Unauthenticated: expired, not yet valid, or ``exp`` missing.
    """
    exp = _number(claims, "exp")
    if exp is None:
        raise refuse("the token has no expiry", "token-invalid")
    if exp <= now - leeway:
        raise refuse("the token has expired", "token-expired")
    for name in ("nbf", "iat"):
        value = _number(claims, name)
        if value is not None and value > now + leeway:
            raise refuse("the token is not valid yet", "token-not-yet-valid")


def check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    """The token is meant for ``client_id``: its ``aud`` holds it or its ``azp`` is it;
    and it is an access token (Keycloak's ``typ`` claim, when present, is ``Bearer``:
    ID and refresh tokens say ``ID`` and ``Refresh``).

    :raises Unauthenticated: meant for another client, or not an access token.
    """
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences and claims.get("azp") != client_id:
        raise refuse("the token is not meant for this service", "token-audience")
    typ = claims.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() != "bearer"):
        raise refuse("the token is not an access token", "token-type")


def _names(value: Any) -> Iterator[str]:
    """The role names in ``{"roles": [...]}``, ignoring anything malformed."""
    roles = value.get("roles") if isinstance(value, dict) else None
    if isinstance(roles, list):
        yield from (role for role in roles if isinstance(role, str))


def keycloak_roles(claims: Mapping[str, Any], client_id: str) -> set[str]:
    """The token's realm roles and, prefixed with ``client:``, its roles of ``client_id``."""
    found = set(_names(claims.get("realm_access")))
    clients = claims.get("resource_access")
    if isinstance(clients, dict):
        found |= {CLIENT_ROLE_PREFIX + role for role in _names(clients.get(client_id))}
    return found


def vecron_roles(claims: Mapping[str, Any], config: KeycloakConfig) -> frozenset[str]:
    """The vecron roles ``config.roles`` maps the token's Keycloak roles to."""
    return frozenset(
        target
        for role in keycloak_roles(claims, config.client_id)
        for target in config.roles.get(role, ())
    )


def subject(claims: Mapping[str, Any]) -> str:
    """Who the token is for: ``preferred_username``, else ``sub``.

    :raises Unauthenticated: neither is a non-empty string.
    """
    for name in ("preferred_username", "sub"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value[:255]
    raise refuse("the token names no user", "token-invalid")
