"""The ``sftp`` step's configuration: one pydantic model, the single source of truth (S4.5)."""

from __future__ import annotations

import posixpath
from typing import Literal

import asyncssh
from pydantic import Field, SecretStr, field_validator, model_validator

from vecron import MAX_SECONDS, ExecutorConfig, ValidationError, check_key

#: Fields that belong to one action only, so setting them for the other is a mistake.
DOWNLOAD_ONLY = ("remote", "recursive", "into")
UPLOAD_ONLY = ("files", "remote_dir", "overwrite")


class SftpConfig(ExecutorConfig):
    """Download files from an SFTP server into the execution's files, or upload them.

    The server's host key must be listed in ``known_hosts``: there is no way to turn
    host-key checking off.
    """

    host: str = Field(min_length=1, description="Server name or address.")
    port: int = Field(22, ge=1, le=65535, description="SSH port.")
    username: str = Field(min_length=1, description="The user to log in as.")
    password: SecretStr | None = Field(None, description="Password login; or private_key.")
    private_key: SecretStr | None = Field(
        None, description="OpenSSH or PEM private key text; or password."
    )
    passphrase: SecretStr | None = Field(None, description="Decrypts an encrypted private_key.")
    known_hosts: str = Field(
        description="The server's host key as known_hosts lines, e.g. the output of "
        "`ssh-keyscan -p PORT HOST` checked out of band. A port other than 22 is written "
        "`[host]:port`."
    )
    root: str = Field(
        "/",
        description="Absolute remote folder; every remote path is resolved under it and "
        "may not leave it.",
    )
    connect_timeout: float = Field(
        30.0, gt=0, le=MAX_SECONDS, description="Seconds for TCP connect, SSH handshake and login."
    )
    action: Literal["download", "upload"] = Field(
        description="download: server to the execution's files; upload: the other way."
    )
    # download
    remote: str | None = Field(
        None,
        description="download: a file, a glob pattern (`*`, `?`, `[...]`, `**`) or a "
        "folder (with recursive), relative to root.",
    )
    recursive: bool = Field(False, description="download: fetch folders with their contents.")
    into: str = Field("", description="download: prefix of the names in the execution's files.")
    min_files: int = Field(
        1, ge=0, description="Fewer matching files than this fails the step (0: none is fine)."
    )
    # upload
    files: str | None = Field(
        None, description="upload: a file name or fnmatch pattern over the execution's files."
    )
    remote_dir: str | None = Field(
        None, description="upload: remote folder (relative to root), created if missing."
    )
    overwrite: bool = Field(True, description="upload: replace a remote file of the same name.")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(char.isspace() for char in value) or "/" in value or "@" in value:
            raise ValueError("give a bare host name or address (no user, path or spaces)")
        return value

    @field_validator("known_hosts")
    @classmethod
    def _known_hosts(cls, value: str) -> str:
        lines = [line.strip() for line in value.splitlines()]
        if not any(line and not line.startswith("#") for line in lines):
            raise ValueError(
                "list the server's host key (known_hosts format); host keys are always checked"
            )
        try:
            asyncssh.import_known_hosts(value)
        except (ValueError, asyncssh.KeyImportError) as exc:
            raise ValueError(f"not known_hosts lines: {exc}") from None
        return value

    @field_validator("root")
    @classmethod
    def _root(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path such as / or /home/partner")
        # normpath keeps a leading "//" (POSIX allows it), which would defeat prefix checks.
        return "/" + posixpath.normpath(value).lstrip("/")

    @field_validator("into")
    @classmethod
    def _into(cls, value: str) -> str:
        if value.strip("/"):
            try:
                check_key(value.strip("/"), field="into")
            except ValidationError as exc:
                raise ValueError(exc.message) from None
        return value.strip("/")

    @field_validator("remote", "files", "remote_dir")
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _combination(self) -> SftpConfig:
        if (self.password is None) == (self.private_key is None):
            raise ValueError("give exactly one of password and private_key")
        if self.passphrase is not None and self.private_key is None:
            raise ValueError("passphrase applies to private_key only")
        needed: tuple[str, ...]
        if self.action == "download":
            needed, foreign = ("remote",), UPLOAD_ONLY
        else:
            needed, foreign = ("files", "remote_dir"), DOWNLOAD_ONLY
        for name in needed:
            if getattr(self, name) is None:
                raise ValueError(f"{name} is required when action is {self.action}")
        fields = type(self).model_fields
        for name in foreign:
            # Compared with the default, not "was it given", so a dumped config validates.
            if getattr(self, name) != fields[name].default:
                raise ValueError(f"{name} does not apply when action is {self.action}")
        return self
