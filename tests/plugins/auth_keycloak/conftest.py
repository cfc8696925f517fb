"""A real Keycloak-shaped OpenID provider and a ``keycloak`` backend trusting its realm."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support.oidc import (
    ROLE_MAPPING,
    OidcProvider,
    oidc_provider_fixture,  # noqa: F401
)
from vecron import AuthRequest, Permission
from vecron_auth_keycloak import KeycloakAuth, KeycloakConfig

#: The realm's roles as the tests map them to vecron's.
ROLES: dict[str, Any] = {
    **ROLE_MAPPING,
    "auditors": ["viewer", "auditor"],
    # victor holds `reader` of another client only: it must not count as vecron's.
    "client:reader": "admin",
}
CUSTOM_ROLES = {"auditor": [Permission.JOB_READ]}


class FakeClock:
    """Wall-clock seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings_for(provider: OidcProvider, **overrides: Any) -> dict[str, Any]:
    """The tests' ``[auth.keycloak]`` settings: the realm's roles and a custom role."""
    custom = {name: [p.value for p in permissions] for name, permissions in CUSTOM_ROLES.items()}
    return provider.settings(**({"roles": ROLES, "custom_roles": custom} | overrides))


def config_for(provider: OidcProvider, **overrides: Any) -> KeycloakConfig:
    return KeycloakConfig.model_validate(settings_for(provider, **overrides))


def bearer(token: str, address: str = "192.0.2.7") -> AuthRequest:
    return AuthRequest(headers={"authorization": f"Bearer {token}"}, address=address)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_backend(
    oidc_provider: OidcProvider,
) -> AsyncIterator[Callable[..., KeycloakAuth]]:
    """Backends trusting ``oidc_provider``'s realm (settings overridable), closed after."""
    made: list[KeycloakAuth] = []

    def make(*, clock: Callable[[], float] = time.time, **overrides: Any) -> KeycloakAuth:
        backend = KeycloakAuth(config_for(oidc_provider, **overrides), clock=clock)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


@pytest.fixture
def backend(make_backend: Callable[..., KeycloakAuth]) -> KeycloakAuth:
    return make_backend()
