"""Query options of storage URLs, read the same way by every backend."""

from __future__ import annotations

from vecron.errors import ConfigurationError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def check_options(options: dict[str, list[str]], allowed: set[str], shown: str, hint: str) -> None:
    unknown = set(options) - allowed
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {', '.join(sorted(unknown))} in storage URL {shown!r}", hint=hint
        )


def bool_option(options: dict[str, list[str]], name: str, default: bool, shown: str) -> bool:
    if name not in options:
        return default
    value = options[name][-1].lower()
    if value not in TRUE + FALSE:
        raise ConfigurationError(f"{name} must be true or false in storage URL {shown!r}")
    return value in TRUE
