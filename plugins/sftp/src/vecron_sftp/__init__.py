"""The `sftp` step type: download and upload with host-key checking (S4.4)."""

from __future__ import annotations

from vecron import Registry, hookimpl

from .config import SftpConfig
from .executor import SftpExecutor

__all__ = ["SftpConfig", "SftpExecutor", "vecron_register_executors"]


@hookimpl
def vecron_register_executors(register: Registry) -> None:
    register.add_executor(SftpExecutor)
