"""A test auth backend: fixed bearer tokens, each naming a subject and its roles.

It lets the API's own tests exercise routing, problems and the role matrix without a
database of users; the real backends (db, keycloak) run the same matrix in their tests.
"""

from __future__ import annotations

from typing import ClassVar

import pluggy
from pydantic import Field

from vecron import (
    AuthBackend,
    AuthBackendConfig,
    AuthRequest,
    Principal,
    Registry,
    Unauthenticated,
    hookimpl,
    permissions_of,
)

KIND = "static"


class StaticTokensConfig(AuthBackendConfig):
    """Bearer tokens by value: each gives ``subject:role,role``."""

    tokens: dict[str, str] = Field(default_factory=dict, description="token -> subject:roles")


class StaticTokens(AuthBackend[StaticTokensConfig]):
    kind: ClassVar[str] = KIND
    Config = StaticTokensConfig

    async def authenticate(self, request: AuthRequest) -> Principal | None:
        token = request.bearer()
        if token is None or not token.startswith("static-"):
            return None
        given = self.config.tokens.get(token)
        if given is None:
            raise Unauthenticated("unknown static token")
        subject, _, roles = given.partition(":")
        names = frozenset(r for r in roles.split(",") if r)
        return Principal(
            subject=subject,
            roles=names,
            permissions=permissions_of(names),
            source="api",
            address=request.address,
        )


class _Plugin:
    @hookimpl
    def vecron_register_auth_backends(self, register: Registry) -> None:
        register.add_auth_backend(StaticTokens)


def register(pm: pluggy.PluginManager) -> None:
    """Add the backend to ``pm`` (before the registry is built)."""
    pm.register(_Plugin(), name="tests-static-tokens")
