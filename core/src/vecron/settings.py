"""Layered configuration: defaults < ``vecron.toml`` < ``VECRON_*`` environment < flags."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vecron.errors import ConfigurationError, problems_from_pydantic
from vecron.jobs.limits import DocumentLimits
from vecron.models.alerts import AlertSettings
from vecron.plugin.egress import EgressRules, check_rules

STEP_TYPE = re.compile(r"[a-z][a-z0-9_.-]*")


class Settings(BaseSettings):
    """Every setting, with the embedded defaults: one machine needs nothing installed."""

    model_config = SettingsConfigDict(env_prefix="VECRON_", extra="forbid", frozen=True)

    database_url: str = "sqlite+aiosqlite:///./.vecron/vecron.db"
    queue_url: str = "memory://"
    lock_url: str = "local://"
    storage_url: str = "file://./.vecron/storage"
    timezone: str = Field("Asia/Ho_Chi_Minh", description="Default time zone of new jobs.")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535, description="Port of /healthz, /readyz (0 = any).")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    worker_concurrency: int = Field(200, ge=1, description="Executions one worker runs at once.")
    scheduler_lookahead: float = Field(
        1.0, ge=0, le=60, description="Seconds ahead the scheduler creates executions."
    )
    lease_seconds: float = Field(60.0, gt=1, description="How long a worker's claim lasts.")
    lock_ttl: float = Field(
        10.0, gt=0.5, description="Scheduler lock TTL: a standby takes over within it."
    )
    reconcile_grace: float = Field(
        60.0,
        gt=0,
        description="Seconds a published execution may wait unclaimed before re-sending.",
    )
    breaker_threshold: int = Field(
        5, ge=1, description="Consecutive failures of a target that open its circuit."
    )
    breaker_open_seconds: float = Field(
        30.0, gt=0, description="Seconds a circuit stays open before one probe."
    )
    shutdown_grace: float = Field(
        30.0, ge=0, description="Seconds a stopping worker lets running executions finish."
    )
    batch_size: int = Field(500, ge=1, le=10_000)
    job_max_bytes: int = Field(
        1024 * 1024, ge=1024, description="Bytes of one job document's text (file or body)."
    )
    job_max_steps: int = Field(200, ge=1, le=100_000, description="Steps in one job.")
    job_max_depth: int = Field(
        32, ge=4, le=500, description="Nesting of objects and lists in one job document."
    )
    job_max_values: int = Field(
        100_000, ge=100, description="Values in one job document once YAML aliases are expanded."
    )
    job_max_yaml_aliases: int = Field(
        100, ge=0, description="YAML aliases (*name) in one job document."
    )
    auto_migrate: bool = Field(True, description="Apply database migrations at start-up.")
    # NoDecode: the environment gives a comma-separated list, not JSON.
    secret_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (),
        description="Fernet keys for secret variables, comma-separated: the first encrypts, "
        "every one decrypts. Production must set it (VECRON_SECRET_KEYS); without it a "
        "key is generated into secret_key_file.",
    )
    secret_key_file: Path | None = Field(
        None,
        description="Where the generated key is kept when secret_keys is empty "
        "(default: secret.key beside the SQLite database file).",
    )
    # NoDecode: the environment gives a comma-separated list, not JSON.
    egress_deny: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Destinations HTTP, database and SFTP steps may not reach, beside the "
        "always-denied link-local and metadata: CIDRs, addresses, host patterns (*.corp) "
        "or the groups loopback, private.",
    )
    egress_allow: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Exceptions to the deny rules (the built-in ones included)."
    )
    egress_steps: dict[str, EgressRules] = Field(
        default_factory=dict,
        description="More deny and allow rules for one step type: {sftp = {deny = [...]}}.",
    )

    # NoDecode: the environment gives a comma-separated list, not JSON.
    auth_backends: Annotated[tuple[str, ...], NoDecode] = Field(
        ("db",),
        description="Auth backends the API asks, in order, comma-separated (db, keycloak).",
    )
    auth: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Each auth backend's own settings, by kind: [auth.keycloak] server = "
        "... (validated by the backend's Config when the API starts).",
    )
    api_max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest API request body, in bytes (413 above)."
    )
    # NoDecode: the environment gives a comma-separated list, not JSON.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Origins browsers may call the API from, comma-separated (none: off)."
    )
    alerts: AlertSettings = Field(
        default_factory=AlertSettings,
        description="Notifiers by name ([alerts.notifiers.<name>] type = ...) and the "
        "default alert rules of every job (after_failures, notify, ...).",
    )
    state_dir: Path = Field(
        Path(".vecron"),
        description="Folder of local state files (the generated admin password).",
    )

    @field_validator(
        "secret_keys", "egress_deny", "egress_allow", "auth_backends", "cors_origins", mode="before"
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("secret_keys")
    @classmethod
    def _fernet_keys(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        from vecron.secrets.box import check_key

        for position, key in enumerate(value, start=1):
            # The message names the position only: a key must never reach a log line.
            check_key(key.get_secret_value(), position)
        return value

    @field_validator("egress_deny", "egress_allow")
    @classmethod
    def _egress_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_rules(value)

    @field_validator("egress_steps")
    @classmethod
    def _step_types(cls, value: dict[str, EgressRules]) -> dict[str, EgressRules]:
        for kind in value:
            if STEP_TYPE.fullmatch(kind) is None:
                raise ValueError(f"{kind!r} is not a step type (e.g. http, database, sftp)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from vecron.errors import ValidationError as BadValue
        from vecron.jobs.documents import check_timezone

        try:
            check_timezone(value, field="timezone")
        except BadValue as exc:
            raise ValueError(exc.message) from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)


def document_limits(settings: Settings) -> DocumentLimits:
    """The ``job_max_*`` settings as the limits job documents are read with."""
    return DocumentLimits(
        max_bytes=settings.job_max_bytes,
        max_steps=settings.job_max_steps,
        max_depth=settings.job_max_depth,
        max_values=settings.job_max_values,
        max_yaml_aliases=settings.job_max_yaml_aliases,
    )


def config_path() -> Path:
    """``$VECRON_CONFIG`` or ``./vecron.toml``."""
    return Path(os.environ.get("VECRON_CONFIG", "vecron.toml"))


def load_settings(**overrides: Any) -> Settings:
    """Settings from every layer; ``overrides`` are CLI flags (None means not given).

    :raises ConfigurationError: one line naming the bad setting.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = problems_from_pydantic(exc.errors(include_url=False))[0]
        message = "unknown setting" if first.code == "unknown-field" else first.message
        raise ConfigurationError(
            f"setting {first.field!r}: {message}",
            field=first.field,
            reason=first.code,
            hint=f"check {config_path()} and VECRON_* variables",
        ) from None
