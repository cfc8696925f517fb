"""The ``sftp`` executor: download into, or upload from, the execution's files (S4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncssh

from vecron import Executor, FinalError, RetryableError, StepContext

from .config import SftpConfig
from .download import download_all
from .failures import sftp_failure
from .output import summary
from .remote import Remote
from .session import open_sftp, target
from .upload import upload_all


class SftpExecutor(Executor[SftpConfig]):
    """One SFTP session per step: log in, check the host key, move the files, log out.

    Errors: authentication refused, an unknown or changed host key, a missing file, no
    match, a path leaving ``root`` and refused permissions are final; refused or lost
    connections and timeouts are retryable.
    """

    kind = "sftp"
    Config = SftpConfig

    def target(self, config: SftpConfig) -> str | None:
        """``sftp://host:port``: what the circuit breaker guards."""
        return target(config)

    async def run(self, ctx: StepContext, config: SftpConfig) -> Mapping[str, Any]:
        files = ctx.files
        if files is None:
            raise FinalError("the sftp step needs object storage for the execution's files")
        where = target(config)
        try:
            async with open_sftp(config, ctx.egress) as sftp:
                remote = await Remote.open(sftp, where, config.root)
                transfer = download_all if config.action == "download" else upload_all
                entries = await transfer(remote, config, files)
        except asyncssh.SFTPError as exc:
            raise sftp_failure(exc, where, config.action) from exc
        except (asyncssh.DisconnectError, asyncssh.ChannelOpenError) as exc:
            raise RetryableError(f"{where}: connection lost: {exc.reason}") from exc
        return summary(config.action, entries)
