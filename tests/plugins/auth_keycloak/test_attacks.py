"""JWT attacks (issue 11, acceptance 3; reliability.md E1-E4): each one is refused with
:class:`vecron.Unauthenticated` (401) naming why, never another error, and the message
never quotes the token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.plugins.auth_keycloak.conftest import bearer, config_for
from tests.plugins.auth_keycloak.forgeries import ATTACKS, JSON_VALUES, hand_made
from tests.support.oidc import OidcProvider
from vecron import Unauthenticated
from vecron_auth_keycloak import KeycloakAuth


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


@PER_EXAMPLE
@given(header=HEADERS, signature=st.binary(max_size=300))
async def test_any_forged_header_and_signature_is_refused_with_401(
    provider: OidcProvider, fresh: KeycloakAuth, header: dict[str, Any], signature: bytes
) -> None:
    token = hand_made(header, provider.claims(), signature)
    with pytest.raises(Unauthenticated):
        await fresh.authenticate(bearer(token))


@PER_EXAMPLE
@given(value=st.text(max_size=400))
async def test_any_other_bearer_value_is_left_to_other_backends(
    fresh: KeycloakAuth, value: str
) -> None:
    assert await fresh.authenticate(bearer(value)) is None


CLAIMS = st.fixed_dictionaries(
    {},
    optional={
        name: JSON_VALUES
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
