"""The realm's keys: rotation without restart, Keycloak down, and a flood of unknown kids.

The backend's clock is a :class:`FakeClock`: "60 s later" is a call, not a wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import jwt
import pytest

from tests.plugins.auth_keycloak.conftest import FakeClock, bearer
from tests.support.oidc import OidcProvider, SigningKey
from vecron import Unauthenticated
from vecron_auth_keycloak import KeycloakAuth

TTL = 60.0
INTERVAL = 30.0


@pytest.fixture
def keyed(make_backend: Callable[..., KeycloakAuth], clock: FakeClock) -> KeycloakAuth:
    return make_backend(clock=clock, jwks_ttl=TTL, jwks_min_refetch_interval=INTERVAL)


async def refused_reason(backend: KeycloakAuth, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await backend.authenticate(bearer(token))
    assert caught.value.status == 401
    return caught.value.problems[0].code


async def test_discovery_and_keys_are_fetched_once_then_cached(
    oidc_provider: OidcProvider, keyed: KeycloakAuth, clock: FakeClock
) -> None:
    token = oidc_provider.token("alice")
    for _ in range(5):
        assert await keyed.authenticate(bearer(token)) is not None
        clock.advance(TTL / 10)
    stats = oidc_provider.stats()
    assert (stats["discovery_requests"], stats["jwks_requests"]) == (1, 1)
    clock.advance(TTL)  # the TTL passed: fetched again, behind the next token's back
    assert await keyed.authenticate(bearer(token)) is not None
    await keyed.keys.settled()
    assert oidc_provider.jwks_requests() == 2


async def test_a_rotated_key_is_picked_up_without_restart(
    oidc_provider: OidcProvider, keyed: KeycloakAuth, clock: FakeClock
) -> None:
    old_token = oidc_provider.token("alice")
    assert await keyed.authenticate(bearer(old_token)) is not None

    new_key = oidc_provider.rotate(keep_old=True)  # Keycloak: new active key, old passive
    new_token = oidc_provider.token("olga")
    assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid
    clock.advance(INTERVAL)
    principal = await keyed.authenticate(bearer(new_token))
    assert principal is not None and principal.subject == "olga"
    assert await keyed.authenticate(bearer(old_token)) is not None  # passive key still verifies
    assert oidc_provider.jwks_requests() == 2


async def test_a_removed_key_stops_verifying_once_the_cache_expires(
    oidc_provider: OidcProvider, keyed: KeycloakAuth, clock: FakeClock
) -> None:
    old_token = oidc_provider.token("alice")
    assert await keyed.authenticate(bearer(old_token)) is not None
    oidc_provider.rotate(keep_old=False)
    # Until the TTL runs out the cached key still verifies (as PyJWKClient's cache would)...
    clock.advance(TTL / 2)
    assert await keyed.authenticate(bearer(old_token)) is not None
    # ... then the key set fetched once it expired lacks it.
    clock.advance(TTL)
    assert await keyed.authenticate(bearer(old_token)) is not None  # the last use
    await keyed.keys.settled()
    assert await refused_reason(keyed, old_token) == "token-unknown-key"
    assert await keyed.authenticate(bearer(oidc_provider.token("alice"))) is not None


async def test_keycloak_down_for_a_minute_cached_keys_still_verify(
    oidc_provider: OidcProvider, keyed: KeycloakAuth, clock: FakeClock
) -> None:
    token = oidc_provider.token("alice")
    assert await keyed.authenticate(bearer(token)) is not None
    oidc_provider.stop()

    unknown = oidc_provider.sign(key=SigningKey.generate())
    for _ in range(4):  # 4 x 15 s = 60 s down; the 60 s TTL runs out on the way
        clock.advance(15)
        principal = await keyed.authenticate(bearer(token))
        assert principal is not None and principal.roles == {"admin"}
        assert await refused_reason(keyed, unknown) == "token-unknown-key"
    clock.advance(TTL)  # long past the TTL: still the cached keys
    assert await keyed.authenticate(bearer(token)) is not None

    # Keycloak comes back (same port) with a new key: picked up at the next allowed fetch.
    new_key = oidc_provider.rotate(keep_old=True)
    oidc_provider.start()
    clock.advance(INTERVAL)
    rotated = oidc_provider.sign(key=new_key)
    assert await keyed.authenticate(bearer(rotated)) is not None
    assert oidc_provider.stats()["jwks_requests"] == 1  # the provider restarted: its count too


async def test_keycloak_down_from_the_start_answers_401_and_recovers(
    oidc_provider: OidcProvider, keyed: KeycloakAuth, clock: FakeClock
) -> None:
    token = oidc_provider.sign()
    oidc_provider.stop()
    assert await refused_reason(keyed, token) == "token-unknown-key"
    oidc_provider.start()
    # Within the interval the failed attempt is not repeated...
    assert await refused_reason(keyed, token) == "token-unknown-key"
    assert oidc_provider.stats()["discovery_requests"] == 0
    # ... after it, discovery and the keys are fetched.
    clock.advance(INTERVAL)
    assert await keyed.authenticate(bearer(token)) is not None


async def test_a_flood_of_unknown_kids_fetches_at_most_once_per_interval(
    oidc_provider: OidcProvider, keyed: KeycloakAuth, clock: FakeClock
) -> None:
    assert await keyed.authenticate(bearer(oidc_provider.token("alice"))) is not None
    assert oidc_provider.jwks_requests() == 1
    strangers = [SigningKey.generate() for _ in range(4)]
    flood = [oidc_provider.sign(key=strangers[n % 4], headers={"kid": f"k{n}"}) for n in range(100)]

    async def attack() -> list[BaseException | object]:
        return await asyncio.gather(
            *(keyed.authenticate(bearer(token)) for token in flood), return_exceptions=True
        )

    for expected_fetches in (1, 1, 2, 2, 3):
        results = await attack()
        assert all(isinstance(result, Unauthenticated) for result in results)
        assert oidc_provider.jwks_requests() == expected_fetches
        clock.advance(INTERVAL / 2)
    # A known key keeps verifying throughout.
    assert await keyed.authenticate(bearer(oidc_provider.token("olga"))) is not None


async def test_an_encryption_key_never_verifies_a_signature(
    oidc_provider: OidcProvider, keyed: KeycloakAuth
) -> None:
    # The realm publishes an RSA-OAEP key (use "enc") beside its signing key, as Keycloak.
    enc = next(key for key in oidc_provider.keys if key.use == "enc")
    assert {"sig": oidc_provider.signing_key.kid, "enc": enc.kid} == {
        key["use"]: key["kid"] for key in oidc_provider.jwks()["keys"]
    }
    token = oidc_provider.sign(key=enc)
    assert await refused_reason(keyed, token) == "token-unknown-key"


async def test_a_hung_keycloak_delays_no_token_whose_key_is_cached(
    oidc_provider: OidcProvider, make_backend: Callable[..., KeycloakAuth], clock: FakeClock
) -> None:
    timeout = 2.0
    keyed = make_backend(clock=clock, jwks_ttl=TTL, jwks_min_refetch_interval=0, timeout=timeout)
    token = oidc_provider.token("alice")
    assert await keyed.authenticate(bearer(token)) is not None
    oidc_provider.pause()  # accepts connections, never answers
    try:
        clock.advance(TTL * 2)
        started = time.monotonic()
        for _ in range(20):
            assert await keyed.authenticate(bearer(token)) is not None
        assert time.monotonic() - started < timeout / 2
        # An unknown kid waits for the one fetch, which times out: 401, not a hang.
        started = time.monotonic()
        unknown = oidc_provider.sign(key=SigningKey.generate())
        assert await refused_reason(keyed, unknown) == "token-unknown-key"
        assert time.monotonic() - started < timeout * 3
    finally:
        oidc_provider.resume()
    await keyed.keys.settled()
    assert await keyed.authenticate(bearer(token)) is not None


@pytest.mark.parametrize(
    ("server", "realm", "discovered"),
    [
        # Discovery answers, but names the realm's issuer as http://127.0.0.1:PORT/...
        ("http://localhost:{port}", "vecron-test", 1),
        # No such realm: discovery answers 404.
        ("http://127.0.0.1:{port}", "other", 0),
    ],
    ids=["discovery names another issuer", "no such realm"],
)
async def test_a_realm_whose_discovery_does_not_match_is_not_trusted(
    oidc_provider: OidcProvider,
    make_backend: Callable[..., KeycloakAuth],
    server: str,
    realm: str,
    discovered: int,
) -> None:
    backend = make_backend(server=server.format(port=oidc_provider.port), realm=realm)
    claims = oidc_provider.claims(iss=backend.config.issuer)  # the realm it was told to trust
    assert await refused_reason(backend, oidc_provider.sign(claims)) == "token-unknown-key"
    stats = oidc_provider.stats()
    assert stats["discovery_requests"] == discovered
    assert stats["jwks_requests"] == 0  # the keys were never fetched
