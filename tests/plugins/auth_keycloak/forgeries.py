"""Forged and broken tokens of the test realm, by name, with the reason each is refused
(issue 11, acceptance 3; reliability.md E1-E4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from tests.support.oidc import OidcProvider, SigningKey

Attack = Callable[[OidcProvider], str]

#: Any JSON value, small: claims, headers and key sets made of anything.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


def hand_made(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{segment(header)}.{segment(claims)}.{b64(signature)}"


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    digest = hashlib.new(header["alg"].replace("HS", "sha"))
    mac = hmac.new(secret, signing_input.encode(), digest.name).digest()
    return f"{signing_input}.{b64(mac)}"


def alg_none(variant: str) -> Attack:
    def make(p: OidcProvider) -> str:
        return hand_made({"alg": variant, "typ": "JWT", "kid": p.signing_key.kid}, p.claims())

    return make


def hs_with_public_key(alg: str) -> Attack:
    """Algorithm confusion: HMAC keyed with the realm's public key (PEM, as published)."""

    def make(p: OidcProvider) -> str:
        header = {"alg": alg, "typ": "JWT", "kid": p.signing_key.kid}
        return hmac_signed(header, p.claims(), p.signing_key.public_pem())

    return make


def hs_with_public_jwk(p: OidcProvider) -> str:
    published = json.dumps(p.jwks()["keys"][0]).encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": p.signing_key.kid}
    return hmac_signed(header, p.claims(), published)


def claims_of(**overrides: Any) -> Attack:
    """A properly signed token whose claims are wrong."""

    def make(p: OidcProvider) -> str:
        now = int(time.time())
        resolved = {k: v(now) if callable(v) else v for k, v in overrides.items()}
        return p.sign(p.claims(**resolved))

    return make


def rsa_signed(header: dict[str, Any], claims: dict[str, Any], key: SigningKey) -> str:
    """RS256 by hand, for headers PyJWT would refuse to write."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode(), key.private)
    return f"{signing_input}.{b64(signature)}"


def kid(value: Any) -> Attack:
    def make(p: OidcProvider) -> str:
        return rsa_signed({"alg": "RS256", "typ": "JWT", "kid": value}, p.claims(), p.signing_key)

    return make


def no_kid(p: OidcProvider) -> str:
    return jwt.encode(p.claims(), p.signing_key.private, algorithm="RS256")


def tampered_payload(p: OidcProvider) -> str:
    """A real token of `nobody` whose payload now claims `scheduler-admins`."""
    header, payload, signature = p.token("nobody").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["realm_access"]["roles"].append("scheduler-admins")
    return f"{header}.{segment(claims)}.{signature}"


def other_signature(p: OidcProvider) -> str:
    """A valid header and payload with the signature of another token."""
    header, payload, _ = p.sign(p.claims(preferred_username="mallory")).split(".")
    return f"{header}.{payload}.{p.sign().split('.')[2]}"


def truncated_signature(p: OidcProvider) -> str:
    return p.sign()[:-8]


def stranger_key(p: OidcProvider) -> str:
    return p.sign(key=SigningKey.generate())


def stranger_key_claiming_known_kid(p: OidcProvider) -> str:
    return p.sign(key=SigningKey.generate(), headers={"kid": p.signing_key.kid})


def rs512(p: OidcProvider) -> str:
    key = p.signing_key
    return jwt.encode(p.claims(), key.private, algorithm="RS512", headers={"kid": key.kid})


def refresh_token_hs512(p: OidcProvider) -> str:
    """Keycloak's refresh tokens are HS512 with typ Refresh."""
    header = {"alg": "HS512", "typ": "JWT", "kid": "f1d0c0de-hs512"}
    return hmac_signed(header, p.claims(typ="Refresh"), b"realm-hmac-secret" * 4)


ATTACKS: dict[str, tuple[Attack, str]] = {
    "alg none": (alg_none("none"), "token-algorithm"),
    "alg None": (alg_none("None"), "token-algorithm"),
    "alg NONE": (alg_none("NONE"), "token-algorithm"),
    "alg nOnE": (alg_none("nOnE"), "token-algorithm"),
    "alg empty": (alg_none(""), "token-algorithm"),
    "HS256 keyed with the public PEM": (hs_with_public_key("HS256"), "token-algorithm"),
    "HS512 keyed with the public PEM": (hs_with_public_key("HS512"), "token-algorithm"),
    "HS256 keyed with the public JWK": (hs_with_public_jwk, "token-algorithm"),
    "RS512 not configured": (rs512, "token-algorithm"),
    "refresh token (HS512)": (refresh_token_hs512, "token-algorithm"),
    "expired an hour ago": (claims_of(exp=lambda now: now - 3600), "token-expired"),
    "expired beyond the leeway": (claims_of(exp=lambda now: now - 31), "token-expired"),
    "nbf in an hour": (claims_of(nbf=lambda now: now + 3600), "token-not-yet-valid"),
    "iat in an hour": (claims_of(iat=lambda now: now + 3600), "token-not-yet-valid"),
    "exp missing": (claims_of(exp=None), "token-invalid"),
    "iat missing": (claims_of(iat=None), "token-invalid"),
    "exp not a number": (claims_of(exp="tomorrow"), "token-invalid"),
    "exp beyond any float": (claims_of(exp=10**400), "token-invalid"),
    "exp true": (claims_of(exp=True), "token-invalid"),
    "aud of another client": (
        claims_of(aud=["account", "other-app"], azp="other-app"),
        "token-audience",
    ),
    "no aud, no azp": (claims_of(aud=None, azp=None), "token-audience"),
    "ID token": (claims_of(typ="ID"), "token-type"),
    "refresh token (RS256)": (claims_of(typ="Refresh"), "token-type"),
    "unknown kid": (stranger_key, "token-unknown-key"),
    "kid ../ path": (kid("../../../../dev/null"), "token-key-id"),
    "kid SQL": (kid("' OR 1=1 --"), "token-key-id"),
    "kid SQL 2": (kid("x' UNION SELECT key FROM keys --"), "token-key-id"),
    "kid 4 KB": (kid("k" * 4096), "token-key-id"),
    "kid empty": (kid(""), "token-key-id"),
    "kid a number": (kid(7), "token-key-id"),
    "kid with a NUL": (kid("abc\x00def"), "token-key-id"),
    "kid missing": (no_kid, "token-key-id"),
    "payload tampered": (tampered_payload, "token-invalid"),
    "signature of another token": (other_signature, "token-invalid"),
    "signature truncated": (truncated_signature, "token-invalid"),
    "another key claiming the realm's kid": (stranger_key_claiming_known_kid, "token-invalid"),
}
