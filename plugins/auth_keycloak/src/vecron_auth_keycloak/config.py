"""The ``keycloak`` auth backend's settings (``[auth.keycloak]``): one pydantic model."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator
from yarl import URL

from vecron import BUILTIN_ROLES, AuthBackendConfig, Permission, PositiveSeconds, Seconds

#: The prefix that names a client role of ``client_id`` in :attr:`KeycloakConfig.roles`.
CLIENT_ROLE_PREFIX = "client:"

#: Signature algorithms a realm's public keys verify. HS* is never accepted: a symmetric
#: key would have to be shared, and a token "signed" with the public key must not pass.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

_REALM = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


def _as_tuple(value: Any) -> Any:
    """One vecron role or several: ``"admin"`` means ``["admin"]``."""
    return (value,) if isinstance(value, str) else value


VecronRoles = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]


class KeycloakConfig(AuthBackendConfig):
    """Accept bearer JWTs issued by one Keycloak realm and map its roles to vecron roles.

    Example (``vecron.toml``)::

        auth_backends = ["keycloak", "db"]

        [auth.keycloak]
        server = "https://sso.example.com"
        realm = "ops"
        client_id = "vecron"
        roles = { "scheduler-admins" = "admin", "client:run-jobs" = "operator" }
    """

    server: str = Field(
        description="Keycloak's base URL (http/https), e.g. `https://sso.example.com`; the "
        "realm's issuer is `{server}/realms/{realm}`."
    )
    realm: str = Field(description="The realm whose tokens are accepted.")
    client_id: str = Field(
        min_length=1,
        description="vecron's client in the realm: a token is accepted when its `aud` holds "
        "this id or its `azp` is this id; its client roles are read from "
        "`resource_access.<client_id>.roles`.",
    )
    roles: dict[str, VecronRoles] = Field(
        default_factory=dict,
        description="Keycloak role -> vecron role(s). Keys are realm role names, or "
        "`client:<role>` for a client role of `client_id`; values are `admin`, `operator`, "
        "`viewer` or a name from `custom_roles`. Roles not listed grant nothing.",
    )
    custom_roles: dict[str, frozenset[Permission]] = Field(
        default_factory=dict,
        description="vecron roles of this backend beyond the built-in ones: name -> "
        "permissions (`job:read`, `job:write`, ...).",
    )
    jwks_ttl: PositiveSeconds = Field(
        300, description="Seconds the realm's keys are used before they are fetched again."
    )
    jwks_min_refetch_interval: Seconds = Field(
        30,
        description="At most one fetch of the keys per this many seconds, however many tokens "
        "name an unknown key (`kid`) or however long Keycloak is unreachable.",
    )
    leeway: float = Field(
        30,
        ge=0,
        le=300,
        allow_inf_nan=False,
        description="Seconds of clock skew allowed when checking `exp`, `nbf` and `iat`.",
    )
    algorithms: tuple[str, ...] = Field(
        ("RS256",),
        min_length=1,
        description="Signature algorithms accepted (asymmetric only; never `none` or HS*).",
    )
    timeout: PositiveSeconds = Field(
        10, description="Seconds allowed for each request to Keycloak (discovery, keys)."
    )

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        try:
            url = URL(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not a URL: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http or https URL with a host")
        if url.query_string or url.fragment or url.user or url.password:
            raise ValueError("must have no query, fragment or credentials")
        return value.rstrip("/")

    @field_validator("realm")
    @classmethod
    def _realm(cls, value: str) -> str:
        if not _REALM.match(value):
            raise ValueError("letters, digits, '.', '_' and '-' only")
        return value

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [alg for alg in value if alg not in ASYMMETRIC]
        if refused:
            raise ValueError(
                f"not accepted: {', '.join(refused)}; choose from {', '.join(sorted(ASYMMETRIC))}"
            )
        return value

    @model_validator(mode="after")
    def _known_roles(self) -> KeycloakConfig:
        clashes = sorted(set(self.custom_roles) & set(BUILTIN_ROLES))
        if clashes:
            raise ValueError(f"custom_roles may not redefine a built-in role: {', '.join(clashes)}")
        known = set(BUILTIN_ROLES) | set(self.custom_roles)
        for source, targets in self.roles.items():
            unknown = [name for name in targets if name not in known]
            if unknown:
                raise ValueError(
                    f"roles[{source!r}] names unknown vecron role(s) {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(known))}"
                )
        return self

    @property
    def issuer(self) -> str:
        """The realm's issuer, the ``iss`` of its tokens."""
        return f"{self.server}/realms/{self.realm}"

    @property
    def discovery_url(self) -> str:
        """The realm's OpenID Connect discovery document."""
        return f"{self.issuer}/.well-known/openid-configuration"
