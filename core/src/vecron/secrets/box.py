"""Secret values at rest: Fernet tokens under an ordered list of keys (MultiFernet).

The first key encrypts and every key decrypts, so rotation needs no downtime (S3.2,
S13.9): put a new key first and keep the old one second, run ``vecron secrets
rotate-key`` to re-encrypt every value under the new key, then remove the old one.

The box only holds keys it is given (or a loader for them): where they come from —
settings, or the embedded default's key file — is :mod:`vecron.secretkey`'s business,
so this wing needs nothing of vecron but its errors.

Fernet authenticates its tokens but takes no associated data, so it cannot bind a token
to the variable it belongs to; :class:`vecron.services.variables.VariableService` seals
the variable's scope and name inside the plaintext for that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from vecron.errors import ConfigurationError, SecretKeyError


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
