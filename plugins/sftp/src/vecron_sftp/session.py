"""Opening an SFTP session: login with a password or a key, host key always checked.

Nothing is taken from the worker's environment: no ``~/.ssh/config``, no default key
files, no ssh-agent, no ``~/.ssh/known_hosts`` or CA bundle. Only what the step's config
says is used, so a job behaves the same on every worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import cache

import asyncssh
from asyncssh.public_key import get_default_certificate_algs, get_default_public_key_algs

from vecron import EgressPolicy, FinalError

from .config import SftpConfig
from .failures import connect_failure

#: Seconds of silence before a keepalive request, and unanswered requests tolerated.
KEEPALIVE_INTERVAL = 15.0
KEEPALIVE_COUNT = 4
STEP_TYPE = "sftp"


@cache
def host_key_algorithms() -> str:
    """The host key algorithms offered: known_hosts' types first, then the usual ones.

    asyncssh offers only the types known_hosts lists for the host. A server without such
    a key then hangs up during key exchange, which looks like a network failure and
    would be retried forever. Offering the usual types after them makes such a server
    show its key, which is then refused as not trusted: a final error. Trust is
    unchanged: the key must still be in known_hosts.
    """
    algorithms = get_default_certificate_algs() + get_default_public_key_algs()
    return "+" + ",".join(algorithm.decode("ascii") for algorithm in algorithms)


def target(cfg: SftpConfig) -> str:
    """``sftp://host:port``: what the circuit breaker guards and messages start with."""
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    return f"sftp://{host}:{cfg.port}"


async def load_key(cfg: SftpConfig) -> asyncssh.SSHKey | None:
    """The private key of ``cfg``, decrypted; None for password login.

    :raises FinalError: not a private key, or it cannot be decrypted.
    """
    if cfg.private_key is None:
        return None
    text = cfg.private_key.get_secret_value()
    passphrase = cfg.passphrase.get_secret_value() if cfg.passphrase else None
    try:
        # Decrypting runs a deliberately slow KDF (bcrypt rounds): keep it off the loop.
        return await asyncio.to_thread(asyncssh.import_private_key, text, passphrase)
    # asyncssh's messages are generic ("Invalid private key", "Incorrect passphrase");
    # they never quote the key or the passphrase.
    except asyncssh.KeyEncryptionError as exc:
        raise FinalError(f"private_key: cannot decrypt it: {exc}") from None
    except asyncssh.KeyImportError as exc:
        raise FinalError(f"private_key: cannot use it: {exc}") from None


@contextmanager
def _classified(cfg: SftpConfig) -> Iterator[None]:
    """Connection and login failures as FinalError or RetryableError."""
    try:
        yield
    except (OSError, asyncssh.Error) as exc:
        failure = connect_failure(exc, target(cfg), cfg.username, cfg.host)
        if failure is None:
            raise
        raise failure from exc


@asynccontextmanager
async def open_sftp(cfg: SftpConfig, egress: EgressPolicy) -> AsyncIterator[asyncssh.SFTPClient]:
    """A logged-in SFTP client, closed (with its connection) on exit.

    :raises EgressDenied: ``egress`` refuses the server.
    :raises FinalError: authentication refused, host key unknown or different, bad key.
    :raises RetryableError: refused, unreachable, timed out, or the connection dropped.
    """
    key = await load_key(cfg)
    with _classified(cfg):
        addresses = await egress.check(STEP_TYPE, cfg.host, cfg.port)
        connection = await _connect(cfg, key, [str(address) for address in addresses])
    async with connection:
        with _classified(cfg):
            client = await connection.start_sftp_client()
        async with client:
            yield client


async def _connect(
    cfg: SftpConfig, key: asyncssh.SSHKey | None, addresses: list[str]
) -> asyncssh.SSHClientConnection:
    """A connection to the first of the checked ``addresses`` that answers."""
    for address in addresses[:-1]:
        try:
            return await _connect_to(cfg, key, address)
        except OSError:  # refused or unreachable there: the next address may answer
            continue
    return await _connect_to(cfg, key, addresses[-1])


async def _connect_to(
    cfg: SftpConfig, key: asyncssh.SSHKey | None, address: str
) -> asyncssh.SSHClientConnection:
    # Host keys: those in the step's known_hosts and nothing else. known_hosts=None
    # would trust any server, so it is never passed.
    return await asyncssh.connect(
        address,
        cfg.port,
        # known_hosts is matched against the name the step gave, not the address.
        host_key_alias=cfg.host,
        username=cfg.username,
        password=cfg.password.get_secret_value() if cfg.password else None,
        client_keys=[key] if key is not None else None,
        known_hosts=asyncssh.import_known_hosts(cfg.known_hosts),
        server_host_key_algs=host_key_algorithms(),
        x509_trusted_certs=None,  # else ~/.ssh/ca-bundle.crt would be trusted too
        agent_path=None,
        config=None,
        gss_host=None,
        connect_timeout=cfg.connect_timeout,
        # A connection that silently died is noticed within a minute (and retried)
        # rather than stalling the step until its timeout.
        keepalive_interval=KEEPALIVE_INTERVAL,
        keepalive_count_max=KEEPALIVE_COUNT,
    )
