"""The ``keycloak`` auth backend: a bearer JWT of one realm becomes a :class:`vecron.Principal`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

import jwt

from vecron import (
    AuthBackend,
    AuthRequest,
    AuthServices,
    Principal,
    Unauthenticated,
    permissions_of,
)

from . import claims as check
from .config import KeycloakConfig
from .realm_keys import RealmKeys

log = logging.getLogger(__name__)

#: Claims a Keycloak access token always has; PyJWT refuses a token without them.
REQUIRED = ["exp", "iat", "iss"]


class KeycloakAuth(AuthBackend[KeycloakConfig]):
    """Validates bearer JWTs issued by a Keycloak realm against the realm's keys (SPEC S8.1).

    A token is this backend's when its (unverified) ``iss`` is the realm's issuer; any
    other request gets ``None``, so the next backend (``db``) can take it. A token of the
    realm must then pass, in order: a configured asymmetric ``alg`` and a plain ``kid``
    (header), a known key (:class:`RealmKeys`), the signature and ``iss`` (PyJWT, with the
    fixed algorithm list), ``exp``/``nbf``/``iat`` with ``leeway``, and ``aud`` holding
    ``client_id`` or ``azp`` being it. Its realm and client roles are mapped through
    ``roles``; the permissions come from :func:`vecron.permissions_of`.

    :param clock: wall-clock seconds (``time.time``); tests pass one they move by hand.
    """

    kind: ClassVar[str] = "keycloak"
    Config: ClassVar[type[KeycloakConfig]] = KeycloakConfig

    def __init__(self, config: KeycloakConfig, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(config)
        self._clock = clock
        self.keys = RealmKeys(config, clock=clock)

    async def start(self, services: AuthServices) -> None:
        """Nothing to open: discovery and the keys are fetched on the first token, so
        vecron starts while Keycloak is down."""

    async def close(self) -> None:
        await self.keys.close()

    async def authenticate(self, request: AuthRequest) -> Principal | None:
        token = request.bearer()
        parsed = None if token is None else check.unverified(token)
        if token is None or parsed is None or parsed[1].get("iss") != self.config.issuer:
            return None  # not a token of this realm: the next backend may know it
        try:
            payload = await self._verify(token, parsed[0])
            subject = check.subject(payload)
        except Unauthenticated as exc:
            log.info("keycloak: token refused (%s) from %s", exc.problems[0].code, request.address)
            raise
        roles = check.vecron_roles(payload, self.config)
        return Principal(
            subject=subject,
            roles=roles,
            permissions=permissions_of(roles, self.config.custom_roles),
            source="api",
            address=request.address,
        )

    async def _verify(self, token: str, header: dict[str, Any]) -> dict[str, Any]:
        kid = check.check_header(header, self.config)
        key = await self.keys.key(kid)
        if key is None:
            raise check.refuse("the token names an unknown signing key", "token-unknown-key")
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.config.algorithms),
                issuer=self.config.issuer,
                # Times and audience are checked below, with this backend's clock.
                options={
                    "require": REQUIRED,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError as exc:
            message = "the token's signature or claims are invalid"
            raise check.refuse(message, "token-invalid") from exc
        check.check_times(payload, now=self._clock(), leeway=self.config.leeway)
        check.check_audience(payload, self.config.client_id)
        return payload
