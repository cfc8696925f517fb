"""asyncssh's exceptions as vecron step errors: final (another attempt fails the same way)
or retryable (the network or the server may recover). Messages never hold a secret."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import asyncssh

from vecron import FinalError, RetryableError, StepError

#: SFTP statuses no other attempt can change: wrong path, rights, names, types.
FINAL_SFTP_ERRORS: tuple[type[asyncssh.SFTPError], ...] = (
    asyncssh.SFTPNoSuchFile,
    asyncssh.SFTPNoSuchPath,
    asyncssh.SFTPPermissionDenied,
    asyncssh.SFTPWriteProtect,
    asyncssh.SFTPFileAlreadyExists,
    asyncssh.SFTPNotADirectory,
    asyncssh.SFTPFileIsADirectory,
    asyncssh.SFTPInvalidFilename,
    asyncssh.SFTPLinkLoop,
    asyncssh.SFTPOpUnsupported,
    asyncssh.SFTPBadMessage,
    asyncssh.SFTPInvalidParameter,
    asyncssh.SFTPOwnerInvalid,
    asyncssh.SFTPGroupInvalid,
)


def connect_failure(exc: BaseException, where: str, user: str, host: str) -> StepError | None:
    """The step error for a failure to connect or log in; None: not a connection error."""
    if isinstance(exc, asyncssh.PermissionDenied):
        return FinalError(f"{where}: authentication failed for {user}@{host}")
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return FinalError(
            f"{where}: the host key of {host} is not trusted: it does not match known_hosts"
        )
    if isinstance(exc, asyncssh.KeyExchangeFailed):
        # Also what a known_hosts entry with a key type the server lacks leads to.
        return FinalError(f"{where}: key exchange with {host} failed: {exc.reason}")
    if isinstance(exc, asyncssh.IllegalUserName):
        return FinalError(f"{where}: the server refuses the user name {user!r}")
    if isinstance(exc, TimeoutError):
        return RetryableError(f"{where}: no SSH login within connect_timeout")
    if isinstance(exc, asyncssh.DisconnectError):
        return RetryableError(f"{where}: connection closed: {exc.reason}")
    if isinstance(exc, asyncssh.ChannelOpenError):
        return RetryableError(f"{where}: cannot start SFTP: {exc.reason}")
    if isinstance(exc, OSError):
        # asyncio words it "Connect call failed (address)"; the errno says why.
        reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
        return RetryableError(f"{where}: cannot connect: {reason}")
    return None


def sftp_failure(exc: asyncssh.SFTPError, where: str, doing: str) -> StepError:
    """The step error for a failed SFTP request; ``doing`` says what and on which path."""
    message = f"{where}: {doing}: {exc.reason or type(exc).__name__}"
    if isinstance(exc, FINAL_SFTP_ERRORS):
        return FinalError(message)
    # Lost connections, full disks, locks, and OpenSSH's catch-all "Failure".
    return RetryableError(message)


@contextmanager
def remote_errors(where: str, doing: str) -> Iterator[None]:
    """Turn SFTP errors raised inside into step errors describing ``doing``."""
    try:
        yield
    except asyncssh.SFTPError as exc:
        raise sftp_failure(exc, where, doing) from exc
