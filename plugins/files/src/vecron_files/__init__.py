"""The `files` step type: XLSX and CSV read, transformed and written (S4.3)."""

from __future__ import annotations

from vecron import Registry, hookimpl

from .config import ColumnType, FilesConfig, InputFile, OutputFile, Transform
from .executor import FilesExecutor

__all__ = [
    "ColumnType",
    "FilesConfig",
    "FilesExecutor",
    "InputFile",
    "OutputFile",
    "Transform",
    "vecron_register_executors",
]


@hookimpl
def vecron_register_executors(register: Registry) -> None:
    register.add_executor(FilesExecutor)
