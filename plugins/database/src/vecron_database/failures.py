"""Driver exceptions turned into step errors: retryable or final, one line, no secrets.

SQLAlchemy's own exception text holds the SQL and the bound parameters, and a server
message may quote a value ("invalid input … 'secret'"), so messages are built from the
driver's error alone, then every bound text value, the password and the execution's
secrets are masked out, in every spelling core's masking knows, before it is cut.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import exc as sa

from vecron import FinalError, RetryableError, StepError, excerpt

from .dialects import Dialect


def secret_texts(password: str | None, values: Iterable[Any]) -> set[str]:
    """The strings no message may show besides the execution's secrets: the password
    and the bound text values (core's masking leaves out those too short to mask)."""
    found = {value for value in values if isinstance(value, str)}
    if password:
        found.add(password)
    return found


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
    secrets = set(secrets)

    def make(cls: type[StepError], detail: str) -> StepError:
        return cls(f"{where}: {excerpt(detail, secrets)}")

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


def timed_out(where: str, timeout: float, detail: str, secrets: Collection[str]) -> StepError:
    """A statement ran past ``statement_timeout``: retryable, the server may be busier
    now than it will be."""
    suffix = f" ({excerpt(detail, secrets)})" if detail else ""
    return RetryableError(f"{where}: statement timed out after {timeout:g} s{suffix}")
