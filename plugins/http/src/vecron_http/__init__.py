"""HTTP executor plugin: the ``http`` step type (S4.1)."""

from __future__ import annotations

from vecron import Registry, hookimpl

from .config import BasicAuth, BearerAuth, HttpConfig, OAuth2ClientCredentials
from .executor import HttpExecutor

__all__ = [
    "BasicAuth",
    "BearerAuth",
    "HttpConfig",
    "HttpExecutor",
    "OAuth2ClientCredentials",
    "vecron_register_executors",
]


@hookimpl
def vecron_register_executors(register: Registry) -> None:
    register.add_executor(HttpExecutor)
