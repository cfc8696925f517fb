"""Settings of the database auth backend (``[auth.db]`` in vecron.toml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
from pydantic import Field

from vecron import AuthBackendConfig, ValidationError

if TYPE_CHECKING:
    from vecron import Settings

M = TypeVar("M", bound=pydantic.BaseModel)

#: OWASP Password Storage Cheat Sheet, argon2id minimum: 19 MiB, 2 passes, 1 lane.
OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2
OWASP_MIN_PARALLELISM = 1


class DbAuthConfig(AuthBackendConfig):
    """Users, roles, passwords and tokens kept in vecron's own database.

    Passwords are hashed with argon2id. The default parameters are RFC 9106's second
    recommended profile (64 MiB, 3 passes, 4 lanes; argon2-cffi's default), above the
    OWASP minimum on every axis: a hash costs about 0.1 s on a small server, paid once
    per login (requests carry tokens, not passwords). Lower values are refused below
    the OWASP minimum.
    """

    issuer: str = Field(
        "vecron",
        min_length=1,
        max_length=256,
        description="The `iss` claim of the access tokens this backend issues; tokens of "
        "another issuer are left to the other backends.",
    )
    access_token_seconds: int = Field(
        15 * 60, ge=30, le=24 * 3600, description="Life of an access token, in seconds."
    )
    refresh_token_seconds: int = Field(
        7 * 24 * 3600,
        ge=60,
        le=366 * 24 * 3600,
        description="Life of a refresh token, in seconds (each refresh issues a new one).",
    )
    leeway_seconds: int = Field(
        30, ge=0, le=120, description="Clock skew tolerated on `exp`, `nbf` and `iat`."
    )
    password_min_length: int = Field(
        12, ge=8, le=256, description="Fewest characters a new password may have."
    )
    argon2_memory_kib: int = Field(
        64 * 1024,
        ge=OWASP_MIN_MEMORY_KIB,
        le=4 * 1024 * 1024,
        description="argon2id memory cost in KiB (OWASP minimum 19456).",
    )
    argon2_time_cost: int = Field(
        3, ge=OWASP_MIN_TIME_COST, le=20, description="argon2id passes (OWASP minimum 2)."
    )
    argon2_parallelism: int = Field(
        4, ge=OWASP_MIN_PARALLELISM, le=64, description="argon2id lanes (OWASP minimum 1)."
    )
    login_max_failures: int = Field(
        10,
        ge=1,
        le=1000,
        description="Failed logins, per user name and per client address within "
        "`login_window_seconds`, after which further attempts answer 429 (counted by each "
        "API process in its memory).",
    )
    login_window_seconds: int = Field(
        15 * 60, ge=1, description="The window in which failed logins are counted."
    )
    lockout_seconds: int = Field(
        5 * 60,
        ge=1,
        le=24 * 3600,
        description="How long a user name or address stays locked out (429) after "
        "`login_max_failures`; then it may try again.",
    )
    refresh_per_minute: int = Field(
        60, ge=1, description="Token refreshes one client address may make per minute."
    )
    user_cache_seconds: float = Field(
        5,
        ge=0,
        le=300,
        description="How long an API process keeps what a token's user may do before "
        "reading the user again. A change made through the same process (API) applies to "
        "the next request; one made elsewhere (the CLI, another API process) within this "
        "time. 0 reads the user on every request.",
    )


def validated(model: type[M], data: dict[str, Any], *, prefix: str = "") -> M:
    """``model`` from ``data``.

    :raises ValidationError: naming the first field that is wrong (never its value).
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = prefix + ".".join(str(part) for part in first["loc"])
        raise ValidationError(f"{where}: {first['msg']}", field=where) from None


def config_of(settings: Settings) -> DbAuthConfig:
    """The backend's settings (``[auth.db]``). :raises ValidationError: invalid."""
    return validated(DbAuthConfig, settings.auth.get("db", {}), prefix="auth.db.")
