"""Driver exceptions turned into step errors: retryable or final, one line, no secrets.

SQLAlchemy's own exception text holds the SQL and the bound parameters, and a server
message may quote a value ("invalid input … 'secret'"), so messages are built from the
driver's error alone, then every bound text value and the password are masked out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exc as sa

from vecron.errors import FinalError, RetryableError, StepError

from .dialects import Dialect

MASK = "***"
#: Values shorter than this are not masked: they cannot hide a secret, and masking
#: every "1" or "ab" would garble the message.
MIN_MASKED = 3
MAX_MESSAGE = 500


def secret_texts(password: str | None, values: Iterable[Any]) -> list[str]:
    """The strings no message may show: the password and the bound text values."""
    found = {password} if password else set()
    for value in values:
        if isinstance(value, str) and len(value) >= MIN_MASKED:
            found.add(value)
            found.add(repr(value)[1:-1])
    # Longest first, so a value containing another is masked whole.
    return sorted((s for s in found if s), key=len, reverse=True)


def mask(message: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        message = message.replace(secret, MASK)
    message = " ".join(message.split())
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return message


def step_error(
    exc: Exception,
    dialect: Dialect,
    *,
    where: str,
    timeout: float | None,
    secrets: Iterable[str],
) -> StepError:
    """The step error for ``exc``, raised while running against ``where``."""
    if isinstance(exc, StepError):
        return exc
    secrets = list(secrets)

    def make(cls: type[StepError], detail: str) -> StepError:
        return cls(f"{where}: {mask(detail, secrets)}")

    # A driver error reaches here wrapped by SQLAlchemy, or bare (asyncpg's, raised
    # while a server-side cursor fetches).
    orig: BaseException | None = exc.orig if isinstance(exc, sa.DBAPIError) else exc
    code = dialect.error_code(orig) if orig is not None else None
    if orig is not None and (code is not None or isinstance(exc, sa.DBAPIError)):
        detail = dialect.describe(orig)
        verdict = dialect.verdict(code) if code is not None else None
        if verdict == "timeout":
            if timeout is not None:
                return timed_out(where, timeout, detail, secrets)
            verdict = "retryable"
        if verdict is None:
            transient = isinstance(exc, sa.DBAPIError) and (
                exc.connection_invalidated
                or isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.InternalError)
            )
            verdict = "retryable" if transient else "final"
        return make(RetryableError if verdict == "retryable" else FinalError, detail)
    if isinstance(exc, sa.StatementError):
        # Raised by SQLAlchemy before the driver saw anything: e.g. a missing parameter.
        cause = exc.orig
        detail = str(cause.args[0]) if cause is not None and cause.args else str(exc)
        return make(FinalError, detail)
    if isinstance(exc, sa.TimeoutError):
        return make(RetryableError, "no free connection in the pool (pool timeout)")
    if isinstance(exc, TimeoutError):
        return make(RetryableError, "connecting timed out")
    if isinstance(exc, OSError):
        return make(RetryableError, f"cannot connect: {exc.strerror or exc}")
    if isinstance(exc, sa.ArgumentError | sa.NoSuchModuleError | sa.InvalidRequestError):
        return make(FinalError, str(exc.args[0]) if exc.args else type(exc).__name__)
    return make(RetryableError, f"{type(exc).__name__}: {exc}")


def timed_out(where: str, timeout: float, detail: str, secrets: Iterable[str]) -> StepError:
    """A statement ran past ``statement_timeout``: retryable, the server may be busier
    now than it will be."""
    suffix = f" ({mask(detail, secrets)})" if detail else ""
    return RetryableError(f"{where}: statement timed out after {timeout:g} s{suffix}")
