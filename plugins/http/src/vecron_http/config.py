"""The ``http`` step's configuration: one pydantic model, the single source of truth (S4.5)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from yarl import URL

from vecron import ExecutorConfig

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
Scalar = str | int | float | bool
StatusPattern = int | str

_STATUS_CLASS = re.compile(r"^[1-5]xx$")
MIB = 1024 * 1024


def http_url(value: str) -> str:
    """Accept only absolute ``http``/``https`` URLs with a host."""
    try:
        url = URL(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise ValueError("the URL scheme must be http or https")
    if not url.host:
        raise ValueError("the URL needs a host")
    return value


class _AuthModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasicAuth(_AuthModel):
    """HTTP Basic authentication (RFC 7617)."""

    type: Literal["basic"] = Field(description="`basic`.")
    username: str = Field(description="The user name.")
    password: SecretStr = Field(description="The password (masked everywhere).")


class BearerAuth(_AuthModel):
    """A static bearer token (RFC 6750)."""

    type: Literal["bearer"] = Field(description="`bearer`.")
    token: SecretStr = Field(description="Sent as `Authorization: Bearer <token>` (masked).")


class OAuth2ClientCredentials(_AuthModel):
    """OAuth 2.0 client credentials grant (RFC 6749 S4.4).

    The token is cached in the worker process until shortly before it expires.
    """

    type: Literal["oauth2_client_credentials"] = Field(description="`oauth2_client_credentials`.")
    token_url: str = Field(description="The authorization server's token endpoint (http/https).")
    client_id: str = Field(description="The client's id.")
    client_secret: SecretStr = Field(description="The client's secret (masked everywhere).")
    scope: str | None = Field(None, description="Scopes to request, space-separated.")
    audience: str | None = Field(None, description="The `audience` parameter some servers need.")
    client_auth: Literal["basic", "body"] = Field(
        "basic",
        description="Send the client credentials as HTTP Basic (RFC 6749 default) or in the form.",
    )

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        return http_url(value)


Auth = Annotated[BasicAuth | BearerAuth | OAuth2ClientCredentials, Field(discriminator="type")]


class HttpConfig(ExecutorConfig):
    """Sends one HTTP request and returns its status, headers and body.

    At most one of ``json``, ``form`` and ``body`` is sent. A status outside
    ``expected_status`` fails the step: 5xx, 408, 425 and 429 (and connection failures)
    are retried, the rest are final.
    """

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    method: Method = Field("GET", description="The HTTP method (any case).")
    url: str = Field(description="Absolute http or https URL.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    secret_headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Headers masked in exports and logs (API keys)."
    )
    query: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Query parameters, added to those in the URL."
    )
    # `json` would shadow BaseModel.json, hence the alias.
    json_body: Any = Field(None, alias="json", description="A JSON value sent as the body.")
    form: dict[str, Scalar] | None = Field(None, description="Sent url-encoded.")
    body: str | None = Field(None, description="Raw body text, sent as UTF-8.")
    content_type: str | None = Field(None, description="Content-Type of a raw `body`.")
    auth: Auth | None = Field(
        None, description="How to authenticate: basic, bearer or oauth2_client_credentials."
    )
    expected_status: list[StatusPattern] = Field(
        default_factory=lambda: list[StatusPattern](["2xx"]),
        min_length=1,
        description='Accepted statuses: codes such as 204 or classes such as "2xx".',
    )
    follow_redirects: bool = Field(True, description="Follow 3xx redirects.")
    verify_tls: bool = Field(
        True, description="Check the server's TLS certificate; false only for test servers."
    )
    max_response_bytes: int = Field(10 * MIB, ge=0, description="A larger response fails.")

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("expected_status")
    @classmethod
    def _statuses(cls, value: list[StatusPattern]) -> list[StatusPattern]:
        normal: list[StatusPattern] = []
        for item in value:
            if isinstance(item, str) and item.strip().isdigit():
                item = int(item)
            if isinstance(item, int):
                if not 100 <= item <= 599:
                    raise ValueError(f"{item} is not an HTTP status")
            else:
                item = item.strip().lower()
                if not _STATUS_CLASS.match(item):
                    raise ValueError(f"{item!r} is neither a status code nor a class like '2xx'")
            normal.append(item)
        return normal

    @model_validator(mode="after")
    def _one_body(self) -> HttpConfig:
        given = [name for name in ("json", "form", "body") if self.has_body(name)]
        if len(given) > 1:
            raise ValueError(f"give at most one of json, form and body, not {' and '.join(given)}")
        if self.content_type is not None and self.body is None:
            raise ValueError("content_type applies to a raw `body` only")
        names = [name.lower() for name in (*self.headers, *self.secret_headers)]
        if len(names) != len(set(names)):
            raise ValueError("a header is given twice (names are case-insensitive)")
        if self.content_type is not None and "content-type" in names:
            raise ValueError("give the Content-Type either as content_type or as a header")
        if self.auth is not None and "authorization" in names:
            raise ValueError("give either `auth` or an Authorization header, not both")
        return self

    def has_body(self, name: str) -> bool:
        """Whether the ``json``, ``form`` or ``body`` field is set.

        ``json: null`` means "no body", so a dumped config validates again.
        """
        return getattr(self, "json_body" if name == "json" else name) is not None

    def accepts(self, status: int) -> bool:
        """Whether ``status`` is one of ``expected_status``."""
        for item in self.expected_status:
            if isinstance(item, int):
                if item == status:
                    return True
            elif status // 100 == int(item[0]):
                return True
        return False
