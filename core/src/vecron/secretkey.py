"""Where the secret box's keys come from: ``VECRON_SECRET_KEYS``, or a generated key file.

Without ``VECRON_SECRET_KEYS`` the embedded default (SQLite) keeps one generated key in a
file beside the database (mode 0600) so ``vecron up`` works with no configuration;
production must set ``VECRON_SECRET_KEYS``, and with PostgreSQL a key is required (a key
generated on one machine would be unknown to the others).

This lives outside :mod:`vecron.secrets` because it reads settings and files; the wing
itself imports only the standard library, ``cryptography`` and :mod:`vecron.errors`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import structlog
from pydantic import SecretStr

from vecron.errors import ConfigurationError, SecretKeyError
from vecron.secrets.box import SecretBox, check_key, generate_key
from vecron.statefiles import make_private_folder

#: The file a generated key is kept in, beside the SQLite database file.
KEY_FILE_NAME = "secret.key"

log = structlog.get_logger(__name__)


class KeySettings(Protocol):
    """The settings keys come from (:class:`vecron.settings.Settings` has them); a
    protocol, so that reading keys does not depend on everything settings validate."""

    @property
    def secret_keys(self) -> tuple[SecretStr, ...]: ...

    @property
    def secret_key_file(self) -> Path | None: ...

    @property
    def database_url(self) -> str: ...


def key_file_path(settings: KeySettings) -> Path | None:
    """Where the generated key lives: ``secret_key_file``, else beside the SQLite file.

    None for an in-memory SQLite database (its secrets die with it, so may its key).

    :raises ConfigurationError: PostgreSQL without ``secret_key_file``: the key must be
        configured, since every machine needs the same one.
    """
    if settings.secret_key_file is not None:
        return settings.secret_key_file
    from sqlalchemy.engine import make_url

    from vecron.store.engine import is_sqlite, sqlite_file

    url = make_url(settings.database_url)
    if not is_sqlite(url):
        raise ConfigurationError(
            "secret variables need VECRON_SECRET_KEYS when the database is not SQLite",
            field="secret_keys",
            reason="no-secret-key",
        )
    database = sqlite_file(url)
    return None if database is None else database.parent / KEY_FILE_NAME


def read_key_file(path: Path) -> str | None:
    """The key in ``path``, or None when the file does not exist.

    :raises ConfigurationError: the file holds no valid key.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read the secret key file {path}: {exc}", field="secret_key_file"
        ) from None
    try:
        check_key(text)
    except ValueError:
        raise ConfigurationError(
            f"the secret key file {path} holds no valid key", field="secret_key_file"
        ) from None
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("secret key file is readable by others; chmod 600 it", path=str(path))
    return text


def create_key_file(path: Path) -> str:
    """Write a new key to ``path`` (mode 0600), or return the one another process wrote
    first: the file appears complete or not at all."""
    make_private_folder(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    key = generate_key()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # A hard link fails if the file exists: two processes starting together
            # must end up with one key, never overwrite each other's.
            os.link(temporary, path)
        except FileExistsError:
            existing = read_key_file(path)
            if existing is None:  # pragma: no cover - removed in between
                raise ConfigurationError(f"the secret key file {path} vanished") from None
            return existing
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    log.warning(
        "generated a secret key for this embedded database; production must set VECRON_SECRET_KEYS",
        path=str(path),
    )
    return key


def secret_box(settings: KeySettings) -> SecretBox:
    """The box for these settings: ``secret_keys``, else the embedded default's key file
    (created when a secret is first encrypted). Nothing is read or written until a secret
    is used."""
    if settings.secret_keys:
        return SecretBox([key.get_secret_value() for key in settings.secret_keys])
    ephemeral: list[str] = []

    def load(encrypting: bool) -> Sequence[str]:
        path = key_file_path(settings)
        if path is None:
            if not ephemeral:
                ephemeral.append(generate_key())
            return ephemeral
        key = read_key_file(path)
        if key is not None:
            return [key]
        if not encrypting:
            raise SecretKeyError(
                f"no secret key: VECRON_SECRET_KEYS is not set and {path} does not exist",
                reason="secret-key-file-missing",
            )
        return [create_key_file(path)]

    return SecretBox.lazy(load)
