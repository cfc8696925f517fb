"""Keycloak auth backend plugin: the ``keycloak`` auth backend (SPEC S8.1).

Validates bearer JWTs issued by a Keycloak realm: discovery from
``{server}/realms/{realm}/.well-known/openid-configuration``, the realm's keys cached with a
TTL and refetched (rate-limited) on an unknown ``kid``, served from the cache while
Keycloak is unreachable; realm and client roles mapped to vecron roles by configuration.
"""

from __future__ import annotations

from vecron import Registry, hookimpl

from .backend import KeycloakAuth
from .config import KeycloakConfig

__all__ = ["KeycloakAuth", "KeycloakConfig", "vecron_register_auth_backends"]


@hookimpl
def vecron_register_auth_backends(register: Registry) -> None:
    register.add_auth_backend(KeycloakAuth)
