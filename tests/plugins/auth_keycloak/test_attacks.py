"""JWT attacks (issue 11, acceptance 3; reliability.md E1-E4): each one is refused with
:class:`vecron.Unauthenticated` (401) naming why, never another error, and the message
never quotes the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from tests.plugins.auth_keycloak.conftest import bearer, config_for
from tests.support.oidc import OidcProvider, SigningKey
from vecron import Unauthenticated
from vecron_auth_keycloak import KeycloakAuth

Attack = Callable[[OidcProvider], str]


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


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """One provider for the module: nothing here changes it."""
    started = OidcProvider(tmp_path_factory.mktemp("oidc"))
    started.start()
    yield started
    started.stop()


@pytest.fixture
async def fresh(provider: OidcProvider) -> AsyncIterator[KeycloakAuth]:
    """A backend that has fetched nothing yet."""
    backend = KeycloakAuth(config_for(provider))
    yield backend
    await backend.close()


@pytest.mark.parametrize("name", ATTACKS)
async def test_the_attack_is_refused_with_401(
    provider: OidcProvider, fresh: KeycloakAuth, name: str
) -> None:
    attack, reason = ATTACKS[name]
    token = attack(provider)
    with pytest.raises(Unauthenticated) as caught:
        await fresh.authenticate(bearer(token))
    assert caught.value.status == 401
    assert caught.value.problems[0].code == reason
    assert token not in str(caught.value) and token[-20:] not in caught.value.one_line()


@pytest.mark.parametrize("name", [name for name in ATTACKS if name.startswith(("kid", "alg"))])
async def test_bad_kids_and_algorithms_are_refused_before_any_key_lookup(
    provider: OidcProvider, fresh: KeycloakAuth, name: str
) -> None:
    before = provider.stats()
    with pytest.raises(Unauthenticated):
        await fresh.authenticate(bearer(ATTACKS[name][0](provider)))
    assert provider.stats() == before


async def test_the_same_claims_pass_within_the_leeway(
    provider: OidcProvider, fresh: KeycloakAuth
) -> None:
    now = int(time.time())
    for claims in (
        provider.claims(exp=now - 10),
        provider.claims(nbf=now + 10, iat=now + 10),
    ):
        assert await fresh.authenticate(bearer(provider.sign(claims))) is not None


async def test_a_zero_leeway_is_strict(provider: OidcProvider) -> None:
    backend = KeycloakAuth(config_for(provider, leeway=0))
    try:
        token = provider.sign(provider.claims(exp=int(time.time()) - 2))
        with pytest.raises(Unauthenticated):
            await backend.authenticate(bearer(token))
    finally:
        await backend.close()


PER_EXAMPLE = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.one_of(
            st.sampled_from(["none", "HS256", "RS256", "RS384", "ES256", "PS256"]), st.text()
        ),
        "kid": st.one_of(st.text(), st.integers(), st.none(), st.lists(st.text(), max_size=2)),
        "typ": st.sampled_from(["JWT", "at+jwt", "ID"]),
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=HEADERS, signature=st.binary(max_size=300))
async def test_any_forged_header_and_signature_is_refused_with_401(
    provider: OidcProvider, fresh: KeycloakAuth, header: dict[str, Any], signature: bytes
) -> None:
    token = hand_made(header, provider.claims(), signature)
    with pytest.raises(Unauthenticated):
        await fresh.authenticate(bearer(token))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(max_size=400))
async def test_any_other_bearer_value_is_left_to_other_backends(
    fresh: KeycloakAuth, value: str
) -> None:
    assert await fresh.authenticate(bearer(value)) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
CLAIMS = st.fixed_dictionaries(
    {},
    optional={
        name: JSON
        for name in (
            "exp",
            "nbf",
            "iat",
            "aud",
            "azp",
            "typ",
            "sub",
            "preferred_username",
            "realm_access",
            "resource_access",
        )
    },
)


@PER_EXAMPLE
@given(overrides=CLAIMS)
async def test_any_claims_signed_by_the_realm_give_a_principal_or_401(
    provider: OidcProvider, fresh: KeycloakAuth, overrides: dict[str, Any]
) -> None:
    token = provider.sign({**provider.claims(), **overrides})
    try:
        principal = await fresh.authenticate(bearer(token))
    except Unauthenticated:
        return  # a 401: the only refusal allowed
    assert principal is not None and principal.subject
