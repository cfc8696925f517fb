"""The contract test class every auth backend must pass.

Subclass it in your plugin's tests (the class name must start with ``Test``) and give
three fixtures::

    class TestMyBackend(AuthBackendContract):
        @pytest_asyncio.fixture
        async def backend(self) -> AsyncIterator[AuthBackend[Any]]:
            ...  # a started backend; close it after the yield

        @pytest.fixture
        def valid_request(self) -> AuthRequest:
            ...  # credentials the backend accepts (with an ``address``)

        @pytest.fixture
        def invalid_requests(self) -> dict[str, AuthRequest]:
            ...  # the backend's own credentials, each broken one way, by name

Override ``custom_roles`` when the valid request's principal holds roles the backend
defines itself. The tests are ``async`` and marked for pytest-asyncio.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from vecron.auth.principal import Permission, Principal
from vecron.auth.roles import permissions_of
from vecron.errors import Unauthenticated
from vecron.plugin.auth import AuthBackend, AuthBackendConfig, AuthRequest
from vecron.testing.contracts import check_described

#: Requests at once in the concurrency test.
CONCURRENT_REQUESTS = 50
#: Pieces of a token shorter than this may appear in a message by chance ("ey", "Bear").
SHORTEST_PIECE = 8


def _token_of(request: AuthRequest) -> str:
    value = request.headers.get("authorization", "")
    return value.partition(" ")[2].strip() or value


def _pieces(token: str) -> Iterator[str]:
    """The token and each of its dot-separated parts, long enough to mean something."""
    for piece in (token, *token.split(".")):
        if len(piece) >= SHORTEST_PIECE:
            yield piece


class AuthBackendContract:
    """What every :class:`~vecron.plugin.auth.AuthBackend` must do."""

    @pytest.fixture
    def backend(self) -> AuthBackend[Any]:
        """The backend under test, started (override it; close it after a ``yield``)."""
        raise NotImplementedError(f"{type(self).__name__} must define the `backend` fixture")

    @pytest.fixture
    def valid_request(self) -> AuthRequest:
        """A request whose credentials the backend accepts, with an ``address``."""
        raise NotImplementedError(f"{type(self).__name__} must define `valid_request`")

    @pytest.fixture
    def invalid_requests(self) -> Mapping[str, AuthRequest]:
        """The backend's own credentials broken in every way it must refuse, by name."""
        raise NotImplementedError(f"{type(self).__name__} must define `invalid_requests`")

    @pytest.fixture
    def custom_roles(self) -> Mapping[str, frozenset[Permission]]:
        """Roles the backend defines beside the built-in ones, which the valid request's
        principal may hold."""
        return {}

    def test_kind_and_config(self, backend: AuthBackend[Any]) -> None:
        cls = type(backend)
        kind = getattr(cls, "kind", None)
        assert isinstance(kind, str) and re.fullmatch(r"[a-z][a-z0-9_]*", kind), (
            f"set `kind` on {cls.__name__} to a lower-case identifier (settings name it)"
        )
        assert issubclass(cls.Config, AuthBackendConfig), "`Config` must subclass it"
        assert cls.Config.model_config.get("extra") == "forbid", "unknown settings must fail"
        check_described(cls.Config)

    @pytest.mark.asyncio
    async def test_no_credentials_is_not_recognised(self, backend: AuthBackend[Any]) -> None:
        found = await backend.authenticate(AuthRequest(address="127.0.0.1"))
        assert found is None, "a request without credentials must give None (next backend)"

    @pytest.mark.asyncio
    async def test_basic_auth_is_not_recognised(self, backend: AuthBackend[Any]) -> None:
        basic = "Basic " + base64.b64encode(b"admin:not-a-bearer-token").decode()
        found = await backend.authenticate(
            AuthRequest(headers={"authorization": basic}, address="127.0.0.1")
        )
        assert found is None, "a Basic auth header is no bearer token: give None"

    @pytest.mark.asyncio
    async def test_valid_request_gives_its_principal(
        self,
        backend: AuthBackend[Any],
        valid_request: AuthRequest,
        custom_roles: Mapping[str, frozenset[Permission]],
    ) -> None:
        found = await backend.authenticate(valid_request)
        assert isinstance(found, Principal), f"expected a Principal, got {found!r}"
        assert found.source == "api", "principals of API requests have source 'api'"
        assert found.address == valid_request.address, "the principal names the address"
        assert found.subject, "the principal names who it is"
        expected = permissions_of(found.roles, custom_roles)
        assert found.permissions == expected, (
            f"permissions {sorted(found.permissions)} do not match roles "
            f"{sorted(found.roles)} ({sorted(expected)})"
        )

    @pytest.mark.asyncio
    async def test_each_invalid_request_is_unauthenticated(
        self, backend: AuthBackend[Any], invalid_requests: Mapping[str, AuthRequest]
    ) -> None:
        assert invalid_requests, "list at least one invalid request"
        for name, request in invalid_requests.items():
            try:
                found = await backend.authenticate(request)
            except Unauthenticated as exc:
                shown = f"{exc} {exc.one_line()} {exc.problem()}"
                leaked = [piece for piece in _pieces(_token_of(request)) if piece in shown]
                assert not leaked, f"{name}: the error message quotes the token"
                continue
            except Exception as exc:
                raise AssertionError(
                    f"{name}: raised {type(exc).__name__}, not Unauthenticated"
                ) from exc
            raise AssertionError(f"{name}: not refused (returned {found!r})")

    @pytest.mark.asyncio
    async def test_authenticate_is_safe_concurrently(
        self, backend: AuthBackend[Any], valid_request: AuthRequest
    ) -> None:
        first = await backend.authenticate(valid_request)
        assert first is not None
        found = await asyncio.gather(
            *(backend.authenticate(valid_request) for _ in range(CONCURRENT_REQUESTS))
        )
        assert all(p == first for p in found), "concurrent calls must all give the principal"
