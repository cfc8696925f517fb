"""Secret values at rest: Fernet tokens under an ordered list of keys (MultiFernet).

The first key encrypts and every key decrypts, so rotation needs no downtime (S3.2,
S13.9): put a new key first and keep the old one second, run ``vecron secrets
rotate-key`` to re-encrypt every value under the new key, then remove the old one.

Keys come from ``VECRON_SECRET_KEYS``. Without it, the embedded default (SQLite) keeps
one generated key in a file beside the database (mode 0600) so ``vecron up`` works with
no configuration; production must set ``VECRON_SECRET_KEYS``, and with PostgreSQL a
key is required (a key generated on one machine would be unknown to the others).

Fernet authenticates its tokens but takes no associated data, so it cannot bind a token
to the variable it belongs to; :class:`vecron.services.variables.VariableService` seals
the variable's scope and name inside the plaintext for that.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from vecron.errors import ConfigurationError, SecretKeyError
from vecron.statefiles import make_private_folder

if TYPE_CHECKING:
    from vecron.settings import Settings

#: The file a generated key is kept in, beside the SQLite database file.
KEY_FILE_NAME = "secret.key"

log = structlog.get_logger(__name__)


def generate_key() -> str:
    """A new random Fernet key (32 url-safe base64-encoded bytes)."""
    return Fernet.generate_key().decode("ascii")


def check_key(key: str, position: int = 1) -> None:
    """:raises ValueError: ``key`` is not a Fernet key. The message never contains it."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise ValueError(
            f"secret key #{position} is not a Fernet key (32 url-safe base64-encoded bytes); "
            "`vecron secrets generate-key` makes one"
        ) from None


def _subject(name: str | None) -> str:
    return "a secret value" if name is None else name


class SecretBox:
    """Encrypts and decrypts secret values with the first of ``keys`` / any of them.

    :raises ConfigurationError: no key, or one that is not a Fernet key.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._load: Callable[[bool], Sequence[str]] | None = None
        self._multi: MultiFernet | None = None
        self._build(keys)

    @classmethod
    def lazy(cls, load: Callable[[bool], Sequence[str]]) -> SecretBox:
        """A box whose keys are loaded on first use: ``load(for_encrypting)``.

        Loading only when a secret is used keeps processes that never touch one (and
        tests) from creating key files.
        """
        box = cls.__new__(cls)
        box._load = load
        box._multi = None
        return box

    def _build(self, keys: Sequence[str]) -> MultiFernet:
        if not keys:
            raise ConfigurationError("no secret key is configured", reason="no-secret-key")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                check_key(key, position)
            except ValueError as exc:
                raise ConfigurationError(str(exc), field="secret_keys") from None
            fernets.append(Fernet(key))
        self._multi = MultiFernet(fernets)
        return self._multi

    def _fernet(self, *, encrypting: bool) -> MultiFernet:
        if self._multi is not None:
            return self._multi
        if self._load is None:  # pragma: no cover - __init__ always builds
            raise ConfigurationError("no secret key is configured", reason="no-secret-key")
        return self._build(self._load(encrypting))

    def encrypt(self, plaintext: str) -> str:
        """A Fernet token (url-safe base64 text) of ``plaintext``, under the first key."""
        return self._fernet(encrypting=True).encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, *, name: str | None = None) -> str:
        """The plaintext of ``token``; ``name`` is how an error names it (e.g.
        ``secret variable 'TOKEN'``).

        :raises SecretKeyError: no configured key decrypts it (wrong key, or the token
            was changed); never a fallback value.
        """
        try:
            data = self._fernet(encrypting=False).decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SecretKeyError(
                f"{_subject(name)} cannot be decrypted with the configured secret keys",
                reason="secret-key-mismatch",
            ) from None
        return data.decode("utf-8")

    def rotate(self, token: str, *, name: str | None = None) -> str:
        """``token`` re-encrypted under the first key (MultiFernet.rotate).

        :raises SecretKeyError: no configured key decrypts it.
        """
        multi = self._fernet(encrypting=True)
        try:
            return multi.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise SecretKeyError(
                f"{_subject(name)} cannot be decrypted with any configured secret key, so it "
                "cannot be re-encrypted",
                reason="secret-key-rotation",
            ) from None


def key_file_path(settings: Settings) -> Path | None:
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


def secret_box(settings: Settings) -> SecretBox:
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
