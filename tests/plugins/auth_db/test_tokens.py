"""Access tokens under attack (RFC 8725): every forged, stale or misused token is refused
with ``Unauthenticated`` and a message that does not quote it; tokens of other issuers
and non-JWT credentials are left to the other backends (None)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecron import Unauthenticated
from vecron_auth_db import DbAuthBackend
from vecron_auth_db.views import UserUpdate

from .conftest import ADDRESS, PASSWORD, BackendFactory, Clock, add_user, api_caller, bearer


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def claims_of(backend: DbAuthBackend, name: str = "admin") -> tuple[dict[str, Any], str]:
    """A valid token's claims and header ``kid``, to forge variants from."""
    token = (await backend.login(name, PASSWORD, ADDRESS)).access_token
    return jwt.decode(token, options={"verify_signature": False}), jwt.get_unverified_header(token)[
        "kid"
    ]


def hand_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A JWT made without PyJWT, which refuses to write some of the bad headers."""
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


async def signed(backend: DbAuthBackend, claims: dict[str, Any], **header: Any) -> str:
    """``claims`` signed with the backend's real key (so only the claims are at fault)."""
    key = await backend.started.keys.current()
    return jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid, **header})


async def refused(backend: DbAuthBackend, token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        await backend.authenticate(bearer(token))
    shown = f"{caught.value} {caught.value.problem()}"
    for piece in (token, *token.split(".")):
        assert len(piece) < 8 or piece not in shown, "the error quotes the token"
    return caught.value


async def test_a_valid_token_gives_the_user(backend: DbAuthBackend) -> None:
    pair = await backend.login("admin", PASSWORD, ADDRESS)
    found = await backend.authenticate(bearer(pair.access_token))
    assert found is not None and found.subject == "admin" and found.roles == {"admin"}
    assert pair.token_type == "Bearer" and pair.expires_in == 15 * 60
    assert jwt.get_unverified_header(pair.access_token)["alg"] == "HS256"


async def test_the_claims_are_the_documented_ones(backend: DbAuthBackend) -> None:
    claims, kid = await claims_of(backend)
    assert set(claims) == {
        "iss", "aud", "sub", "name", "roles", "iat", "nbf", "exp", "jti", "typ", "gen"
    }  # fmt: skip
    assert claims["iss"] == "vecron" and claims["aud"] == "vecron-api"
    assert claims["typ"] == "access" and claims["name"] == "admin"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert kid


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_is_refused(backend: DbAuthBackend, alg: str) -> None:
    claims, kid = await claims_of(backend)
    await refused(backend, f"{b64({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{b64(claims)}.")


async def test_hs256_signed_with_another_key_is_refused(backend: DbAuthBackend) -> None:
    claims, kid = await claims_of(backend)
    forged = jwt.encode(claims, b"k" * 32, algorithm="HS256", headers={"kid": kid})
    await refused(backend, forged)


async def test_rs256_is_refused(backend: DbAuthBackend) -> None:
    claims, kid = await claims_of(backend)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    await refused(backend, jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid}))


async def test_expired_is_refused_after_the_leeway(backend: DbAuthBackend, clock: Clock) -> None:
    token = (await backend.login("admin", PASSWORD, ADDRESS)).access_token
    clock.advance(15 * 60 + 29)  # within the 30 s leeway
    assert await backend.authenticate(bearer(token)) is not None
    clock.advance(2)
    assert (await refused(backend, token)).problems[0].code == "token-expired"


async def test_nbf_in_the_future_is_refused(backend: DbAuthBackend, clock: Clock) -> None:
    claims, _ = await claims_of(backend)
    later = int(clock().timestamp()) + 120
    await refused(backend, await signed(backend, {**claims, "nbf": later}))
    await refused(backend, await signed(backend, {**claims, "iat": later}))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("aud", "someone-else"),
        ("typ", "refresh"),
        ("gen", "0"),
        ("exp", "tomorrow"),
        ("exp", True),
        ("sub", "no-such-user"),
    ],
)
async def test_wrong_claims_are_refused(backend: DbAuthBackend, claim: str, value: Any) -> None:
    claims, _ = await claims_of(backend)
    await refused(backend, await signed(backend, {**claims, claim: value}))


@pytest.mark.parametrize("claim", ["exp", "aud", "sub", "jti", "gen", "typ", "nbf", "iat"])
async def test_missing_claims_are_refused(backend: DbAuthBackend, claim: str) -> None:
    claims, _ = await claims_of(backend)
    del claims[claim]
    await refused(backend, await signed(backend, claims))


async def test_another_issuer_is_left_to_other_backends(backend: DbAuthBackend) -> None:
    claims, _ = await claims_of(backend)
    token = await signed(backend, {**claims, "iss": "https://keycloak.example/realms/x"})
    assert await backend.authenticate(bearer(token)) is None


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "not a token at all", "e30.e30.e30"])
async def test_what_is_no_jwt_is_left_to_other_backends(
    backend: DbAuthBackend, garbage: str
) -> None:
    assert await backend.authenticate(bearer(garbage)) is None


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../dev/null",
        "' OR 1=1 --",
        "key; DROP TABLE auth_users",
        "k" * 4096,
        "",
        7,
        None,
        "unknown-key-id",
    ],
)
async def test_bad_or_unknown_kid_is_refused(backend: DbAuthBackend, kid: Any) -> None:
    claims, _ = await claims_of(backend)
    key = await backend.started.keys.current()
    token = hand_signed({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, key.secret)
    assert (await refused(backend, token)).problems[0].code in {"unknown-key", "invalid-token"}


async def test_tampered_payload_is_refused(backend: DbAuthBackend) -> None:
    await add_user(backend, "vic", "viewer")
    token = (await backend.login("vic", PASSWORD, ADDRESS)).access_token
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    await refused(backend, f"{header}.{b64({**claims, 'roles': ['admin']})}.{signature}")


async def test_refresh_token_as_access_token_is_refused(backend: DbAuthBackend) -> None:
    pair = await backend.login("admin", PASSWORD, ADDRESS)
    await refused(backend, pair.refresh_token)


async def test_disabled_deleted_or_new_password_kill_tokens_at_once(
    backend: DbAuthBackend,
) -> None:
    for name in ("off", "gone", "moved"):
        await add_user(backend, name, "viewer")
    tokens = {
        n: (await backend.login(n, PASSWORD, ADDRESS)).access_token
        for n in ("off", "gone", "moved")
    }
    await backend.users.update(api_caller(), "off", UserUpdate(disabled=True))
    await backend.users.delete(api_caller(), "gone")
    new_password = UserUpdate.model_validate({"password": "another long password"})
    await backend.users.update(api_caller(), "moved", new_password)
    for token in tokens.values():
        await refused(backend, token)
    # Enabling again does not bring the old token back: disabling raised its generation.
    await backend.users.update(api_caller(), "off", UserUpdate(disabled=False))
    await refused(backend, tokens["off"])
    fresh = (await backend.login("off", PASSWORD, ADDRESS)).access_token
    assert await backend.authenticate(bearer(fresh)) is not None


async def test_role_changes_apply_to_live_tokens(backend: DbAuthBackend) -> None:
    await add_user(backend, "rita", "viewer")
    token = (await backend.login("rita", PASSWORD, ADDRESS)).access_token
    await backend.users.update(api_caller(), "rita", UserUpdate(roles=["operator"]))
    found = await backend.authenticate(bearer(token))
    assert found is not None and found.roles == {"operator"}


async def test_rotated_keys_verify_until_their_tokens_expire(
    make_backend: BackendFactory, clock: Clock
) -> None:
    backend = await make_backend()
    other_process = await make_backend()  # same database, its own view of the keys
    old = (await backend.login("admin", PASSWORD, ADDRESS)).access_token
    new_kid = await backend.rotate_signing_key()
    new = (await backend.login("admin", PASSWORD, ADDRESS)).access_token
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert jwt.get_unverified_header(old)["kid"] != new_kid
    # An unknown kid makes a process re-read the keys, at most once a second.
    assert (await refused(other_process, new)).problems[0].code == "unknown-key"
    clock.advance(1)
    for process in (backend, other_process):
        assert await process.authenticate(bearer(old)) is not None
        assert await process.authenticate(bearer(new)) is not None
    clock.advance(15 * 60 + 31)  # the old key's last token expired: the key is dropped
    await backend.rotate_signing_key()
    assert (await refused(backend, old)).problems[0].code in {"token-expired", "unknown-key"}
    assert not await backend.started.keys.lookup(jwt.get_unverified_header(old)["kid"])


async def test_signing_keys_are_sealed_at_rest(backend: DbAuthBackend) -> None:
    from sqlalchemy import select

    from vecron_auth_db.tables import signing_keys

    key = await backend.started.keys.current()
    async with backend.started.database.connect() as conn:
        sealed = (await conn.execute(select(signing_keys.c.sealed_key))).scalars().all()
    assert sealed and all(base64.urlsafe_b64encode(key.secret).decode() not in s for s in sealed)
    assert len(key.secret) == 32


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.binary(min_size=1, max_size=64))
async def test_any_forged_signature_is_refused(backend: DbAuthBackend, noise: bytes) -> None:
    token = (await backend.login("admin", PASSWORD, ADDRESS)).access_token
    header, payload, _ = token.split(".")
    signature = base64.urlsafe_b64encode(noise).rstrip(b"=").decode()
    await refused(backend, f"{header}.{payload}.{signature}")
