"""What the backend's services take and return: pydantic models, the same for the API's
JSON and the CLI's ``--json``. No view ever holds a password or its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from vecron import Permission

from .passwords import MAX_PASSWORD_LENGTH

USER_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
ROLE_NAME = r"^[a-z][a-z0-9_.-]{0,63}$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(_Input):
    """A user name and password, exchanged for tokens."""

    username: str = Field(min_length=1, max_length=128, description="The user's name.")
    password: SecretStr = Field(
        min_length=1, max_length=MAX_PASSWORD_LENGTH, description="The user's password."
    )


class RefreshRequest(_Input):
    """A refresh token, exchanged for a new pair (the old one stops working)."""

    refresh_token: SecretStr = Field(
        min_length=1, max_length=512, description="The refresh token of the last pair."
    )


class TokenPair(BaseModel):
    """An access token for requests and a refresh token for getting the next pair."""

    access_token: str = Field(description="A JWT to send as `Authorization: Bearer ...`.")
    refresh_token: str = Field(description="Trade it at /auth/refresh for a new pair.")
    token_type: Literal["Bearer"] = Field("Bearer", description="Always `Bearer`.")
    expires_in: int = Field(description="Seconds the access token is valid for.")


class UserCreate(_Input):
    """A new user."""

    name: str = Field(pattern=USER_NAME, description="Unique name (letters, digits, . _ @ -).")
    password: SecretStr = Field(description="The password (write-only).")
    roles: list[str] = Field(
        default_factory=list, description="Built-in (admin, operator, viewer) or custom roles."
    )
    disabled: bool = Field(
        False, strict=True, description="A disabled user can neither log in nor act."
    )


class UserUpdate(_Input):
    """Changes to a user; fields left out stay as they are."""

    roles: list[str] | None = Field(None, description="The user's roles, replacing the old.")
    disabled: bool | None = Field(
        None, strict=True, description="Disable (true) or enable (false)."
    )
    password: SecretStr | None = Field(
        None, description="A new password (write-only); the user's tokens stop working."
    )


class UserView(BaseModel):
    """A user as shown: never the password or its hash."""

    name: str = Field(description="The user's name.")
    roles: list[str] = Field(description="The user's roles.")
    permissions: list[Permission] = Field(description="What the roles allow, together.")
    disabled: bool = Field(description="Whether the user is disabled.")
    created_at: datetime = Field(description="When the user was created.")
    updated_at: datetime = Field(description="When the user was last changed.")


class RoleCreate(_Input):
    """A custom role: a named set of permissions."""

    name: str = Field(pattern=ROLE_NAME, description="Unique lower-case name.")
    permissions: list[Permission] = Field(description="The permissions the role grants.")
    description: str = Field("", max_length=1000, description="What the role is for.")


class RoleUpdate(_Input):
    """Changes to a custom role; fields left out stay as they are."""

    permissions: list[Permission] | None = Field(None, description="The new permissions.")
    description: str | None = Field(None, max_length=1000, description="The new description.")


class RoleView(BaseModel):
    """A role: built in (admin, operator, viewer) or custom."""

    name: str = Field(description="The role's name.")
    permissions: list[Permission] = Field(description="The permissions it grants.")
    description: str = Field(description="What the role is for.")
    builtin: bool = Field(description="Built-in roles cannot be changed or deleted.")
    created_at: datetime | None = Field(None, description="When a custom role was created.")
    updated_at: datetime | None = Field(None, description="When a custom role last changed.")
