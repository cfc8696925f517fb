"""The ``[auth.keycloak]`` settings: safe defaults, and mistakes refused at start-up."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from vecron import Permission, Unauthenticated
from vecron_auth_keycloak import KeycloakAuth, KeycloakConfig
from vecron_auth_keycloak.claims import KID, check_times

BASE: dict[str, Any] = {"server": "https://sso.example.com/", "realm": "ops", "client_id": "vecron"}


def config(**overrides: Any) -> KeycloakConfig:
    return KeycloakConfig.model_validate(BASE | overrides)


def test_defaults() -> None:
    found = config()
    assert found.issuer == "https://sso.example.com/realms/ops"
    assert found.discovery_url == (
        "https://sso.example.com/realms/ops/.well-known/openid-configuration"
    )
    assert (found.jwks_ttl, found.jwks_min_refetch_interval, found.leeway) == (300, 30, 30)
    assert found.algorithms == ("RS256",)
    assert found.roles == {}  # deny by default: no Keycloak role grants anything


def test_a_role_maps_to_one_vecron_role_or_several() -> None:
    found = config(
        roles={"ops": "operator", "client:view": ["viewer", "auditor"]},
        custom_roles={"auditor": ["job:read"]},
    )
    assert found.roles == {"ops": ("operator",), "client:view": ("viewer", "auditor")}
    assert found.custom_roles == {"auditor": frozenset({Permission.JOB_READ})}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"algorithms": ["none"]}, "algorithms"),
        ({"algorithms": ["HS256"]}, "algorithms"),
        ({"algorithms": ["RS256", "HS512"]}, "algorithms"),
        ({"algorithms": []}, "algorithms"),
        ({"server": "ftp://sso.example.com"}, "server"),
        ({"server": "sso.example.com"}, "server"),
        ({"server": "https://user:pw@sso.example.com"}, "server"),
        ({"server": "https://sso.example.com/?realm=x"}, "server"),
        ({"realm": "../admin"}, "realm"),
        ({"realm": ""}, "realm"),
        ({"client_id": ""}, "client_id"),
        ({"roles": {"ops": "superuser"}}, None),
        ({"custom_roles": {"admin": ["job:read"]}}, None),
        ({"custom_roles": {"auditor": ["job:fly"]}}, "custom_roles"),
        ({"jwks_ttl": 0}, "jwks_ttl"),
        ({"jwks_min_refetch_interval": -1}, "jwks_min_refetch_interval"),
        ({"leeway": 3600}, "leeway"),
        ({"timeout": 0}, "timeout"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_mistakes_are_refused(overrides: dict[str, Any], field: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**overrides)
    if field is not None:
        assert caught.value.errors()[0]["loc"][0] == field


def test_the_plugin_registers_the_keycloak_backend(vecron_registry: Any) -> None:
    assert vecron_registry.auth_backend("keycloak") is KeycloakAuth
    assert vecron_registry.owners[("auth", "keycloak")] == "auth_keycloak"
    assert KeycloakAuth.Config is KeycloakConfig
    # Every setting is described (the settings reference is generated from them).
    assert all(info.description for info in KeycloakConfig.model_fields.values())


@given(kid=st.text(max_size=200))
def test_a_kid_is_a_plain_base64url_word_or_refused(kid: str) -> None:
    if KID.match(kid):
        assert not set(kid) & set("./\\'\";= \x00%")
        assert 1 <= len(kid) <= 128


SECONDS = st.integers(min_value=0, max_value=2**40)


@given(now=SECONDS, exp=SECONDS, nbf=SECONDS, leeway=st.integers(min_value=0, max_value=300))
def test_times_pass_exactly_inside_the_leeway(now: int, exp: int, nbf: int, leeway: int) -> None:
    inside = exp > now - leeway and nbf <= now + leeway
    try:
        check_times({"exp": exp, "nbf": nbf}, now=now, leeway=leeway)
    except Unauthenticated:
        assert not inside
    else:
        assert inside
