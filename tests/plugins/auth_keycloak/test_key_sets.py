"""Reading a realm's JWKS: only public signature keys of a configured algorithm count,
and no document, however odd, raises anything but FetchError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm

from tests.plugins.auth_keycloak.forgeries import JSON_VALUES
from tests.support.oidc import SigningKey
from vecron_auth_keycloak.realm_keys import FetchError, parse_jwks


def ec_key() -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(
        ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    )
    return {**jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"}


def test_only_public_signature_keys_of_configured_algorithms_count() -> None:
    sig, enc, leaked = SigningKey.generate(), SigningKey.generate(use="enc"), SigningKey.generate()
    document = {
        "keys": [
            sig.public_jwk(),
            enc.public_jwk(),  # Keycloak's RSA-OAEP key
            leaked.private_jwk(),  # a private key published by mistake
            {**SigningKey.generate().public_jwk(), "kid": None},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "broken", "n": 7, "e": "AQAB"},
            ec_key(),
            "not a key",
        ]
    }
    assert set(parse_jwks(document, ("RS256",))) == {sig.kid}
    assert set(parse_jwks(document, ("RS256", "ES256"))) == {sig.kid, "ec-1"}


@pytest.mark.parametrize("document", [{}, {"keys": "all of them"}, {"keys": None}])
def test_a_document_without_a_key_list_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(FetchError):
        parse_jwks(document, ("RS256",))


ENTRY = st.fixed_dictionaries(
    {"kty": st.sampled_from(["RSA", "EC", "oct", "OKP", "x"]) | JSON_VALUES},
    optional={name: JSON_VALUES for name in ("kid", "alg", "use", "n", "e", "x", "y", "crv", "k")},
)


@given(
    document=st.dictionaries(st.text(max_size=6), JSON_VALUES)
    | st.builds(lambda entries: {"keys": entries}, st.lists(ENTRY | JSON_VALUES, max_size=4))
)
def test_any_document_gives_keys_or_fetch_error(document: dict[str, Any]) -> None:
    try:
        keys = parse_jwks(document, ("RS256", "ES256", "EdDSA"))
    except FetchError:
        return
    assert all(isinstance(kid, str) for kid in keys)
