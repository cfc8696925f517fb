"""The ``sftp`` executor: download into, or upload from, the execution's files (S4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncssh

from vecron.errors import FinalError, RetryableError
from vecron.plugin.executor import Executor, StepContext

from .config import SftpConfig
from .download import download_all
from .failures import sftp_failure
from .output import summary
from .remote import Remote
from .session import open_sftp, target
from .upload import upload_all


class SftpExecutor(Executor):
    """One SFTP session per step: log in, check the host key, move the files, log out.

    Errors: authentication refused, an unknown or changed host key, a missing file, no
    match, a path leaving ``root`` and refused permissions are final; refused or lost
    connections and timeouts are retryable.
    """

    kind = "sftp"
    Config = SftpConfig

    def target(self, config: Any) -> str | None:
        """``sftp://host:port``: what the circuit breaker guards."""
        cfg = config if isinstance(config, SftpConfig) else SftpConfig.model_validate(config)
        return target(cfg)

    async def run(self, ctx: StepContext, config: Any) -> Mapping[str, Any]:
        cfg = config if isinstance(config, SftpConfig) else SftpConfig.model_validate(config)
        files = ctx.files
        if files is None:
            raise FinalError("the sftp step needs object storage for the execution's files")
        where = target(cfg)
        try:
            async with open_sftp(cfg, ctx.egress) as sftp:
                remote = await Remote.open(sftp, where, cfg.root)
                transfer = download_all if cfg.action == "download" else upload_all
                entries = await transfer(remote, cfg, files)
        except asyncssh.SFTPError as exc:
            raise sftp_failure(exc, where, cfg.action) from exc
        except (asyncssh.DisconnectError, asyncssh.ChannelOpenError) as exc:
            raise RetryableError(f"{where}: connection lost: {exc.reason}") from exc
        return summary(cfg.action, entries)
