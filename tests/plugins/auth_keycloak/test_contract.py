"""The ``keycloak`` backend passes the auth backend contract, against a real realm."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest
import pytest_asyncio

from tests.plugins.auth_keycloak.conftest import CUSTOM_ROLES, bearer, config_for
from tests.plugins.auth_keycloak.forgeries import ATTACKS
from tests.support.oidc import OidcProvider
from vecron import AuthRequest, AuthServices, Permission
from vecron.runtime import Runtime
from vecron.testing import AuthBackendContract
from vecron_auth_keycloak import KeycloakAuth


class TestKeycloakAuthBackend(AuthBackendContract):
    @pytest_asyncio.fixture
    async def backend(
        self, oidc_provider: OidcProvider, runtime: Runtime
    ) -> AsyncIterator[KeycloakAuth]:
        backend = KeycloakAuth(config_for(oidc_provider))
        # What the API lends each backend when it starts (vecron_api.authn).
        await backend.start(
            AuthServices(
                database=runtime.store,
                secrets=runtime.secrets,
                state_dir=runtime.settings.state_dir,
                audit=runtime.store.add_audit,
                events=runtime.events,
                settings=runtime.settings,
            )
        )
        yield backend
        await backend.close()

    @pytest.fixture
    def valid_request(self, oidc_provider: OidcProvider) -> AuthRequest:
        # victor's realm role maps to viewer and the custom role auditor.
        return bearer(oidc_provider.token("victor"))

    @pytest.fixture
    def custom_roles(self) -> Mapping[str, frozenset[Permission]]:
        return {name: frozenset(permissions) for name, permissions in CUSTOM_ROLES.items()}

    @pytest.fixture
    def invalid_requests(self, oidc_provider: OidcProvider) -> dict[str, AuthRequest]:
        return {name: bearer(attack(oidc_provider)) for name, (attack, _) in ATTACKS.items()}
