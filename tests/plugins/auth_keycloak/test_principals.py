"""Tokens the provider issues become principals with the mapped vecron roles."""

from __future__ import annotations

import pytest

from tests.plugins.auth_keycloak.conftest import bearer
from tests.support.oidc import OTHER_CLIENT_ID, OidcProvider
from vecron import BUILTIN_ROLES, AuthRequest, Permission, Unauthenticated
from vecron_auth_keycloak import KeycloakAuth


async def test_a_realm_role_maps_to_a_vecron_role(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    principal = await backend.authenticate(bearer(oidc_provider.token("alice")))
    assert principal is not None
    assert principal.subject == "alice"
    assert principal.roles == {"admin"}
    assert principal.permissions == BUILTIN_ROLES["admin"]
    assert principal.source == "api"
    assert principal.address == "192.0.2.7"


async def test_a_client_role_of_vecron_maps_to_a_vecron_role(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    principal = await backend.authenticate(bearer(oidc_provider.token("olga")))
    assert principal is not None
    assert (principal.subject, principal.roles) == ("olga", {"operator"})
    assert principal.permissions == BUILTIN_ROLES["operator"]


async def test_a_client_role_of_another_client_grants_nothing(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    # victor: realm role `auditors` (viewer + the custom `auditor`), and `reader` of
    # other-app, which the config maps as `client:reader` -> admin for vecron's client only.
    principal = await backend.authenticate(bearer(oidc_provider.token("victor")))
    assert principal is not None
    assert principal.roles == {"viewer", "auditor"}
    assert principal.permissions == BUILTIN_ROLES["viewer"]
    assert Permission.USER_ADMIN not in principal.permissions


async def test_a_custom_role_grants_its_permissions(
    oidc_provider: OidcProvider, make_backend
) -> None:
    backend = make_backend(roles={"auditors": "auditor"})
    principal = await backend.authenticate(bearer(oidc_provider.token("victor")))
    assert principal is not None
    assert principal.roles == {"auditor"}
    assert principal.permissions == {Permission.JOB_READ}


async def test_unmapped_roles_authenticate_with_no_permission(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    principal = await backend.authenticate(bearer(oidc_provider.token("nobody")))
    assert principal is not None
    assert principal.subject == "nobody"
    assert principal.roles == frozenset()
    assert principal.permissions == frozenset()


async def test_a_service_account_token_is_a_principal(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    principal = await backend.authenticate(bearer(oidc_provider.client_token()))
    assert principal is not None
    assert principal.subject == "service-account-vecron"
    assert principal.roles == {"operator"}


async def test_a_token_for_another_client_is_refused(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    # Issued by the realm to other-app: azp other-app, aud ["account"].
    token = oidc_provider.client_token(OTHER_CLIENT_ID)
    with pytest.raises(Unauthenticated) as caught:
        await backend.authenticate(bearer(token))
    assert caught.value.problems[0].code == "token-audience"
    assert token not in str(caught.value)


async def test_aud_naming_vecron_is_enough_whoever_asked(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    token = oidc_provider.sign(oidc_provider.claims(azp=OTHER_CLIENT_ID, aud="vecron"))
    principal = await backend.authenticate(bearer(token))
    assert principal is not None and principal.subject == "alice"


async def test_azp_naming_vecron_is_enough_whatever_the_aud(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    token = oidc_provider.sign(oidc_provider.claims(aud="account", azp="vecron"))
    assert await backend.authenticate(bearer(token)) is not None


async def test_sub_names_the_principal_without_preferred_username(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    token = oidc_provider.sign(oidc_provider.claims(preferred_username=None))
    principal = await backend.authenticate(bearer(token))
    assert principal is not None
    assert principal.subject == oidc_provider.claims()["sub"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Basic YWxpY2U6cHc="},
        {"authorization": "Bearer "},
        {"x-api-key": "something"},
    ],
)
async def test_requests_without_a_bearer_token_are_left_to_other_backends(
    backend: KeycloakAuth, headers: dict[str, str]
) -> None:
    assert await backend.authenticate(AuthRequest(headers=headers)) is None


async def test_tokens_of_other_issuers_are_left_to_other_backends(
    oidc_provider: OidcProvider, backend: KeycloakAuth
) -> None:
    before = oidc_provider.stats()
    other_realm = f"{oidc_provider.server}/realms/other"
    for token in (
        oidc_provider.sign(oidc_provider.claims(iss=other_realm)),
        oidc_provider.sign(oidc_provider.claims(iss="vecron")),  # a db backend's token
        oidc_provider.sign(oidc_provider.claims(iss=None)),
        "not-a-jwt",
        "a.b.c",
    ):
        assert await backend.authenticate(bearer(token)) is None
    # Nothing was fetched for them.
    assert oidc_provider.stats() == before
