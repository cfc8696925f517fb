"""The ``sftp`` step's configuration: combinations, host keys, paths; and how a job
document with an ``sftp`` step is checked when it is applied."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from vecron.errors import ValidationError
from vecron.jobs.documents import parse_definition
from vecron.plugin.manager import build_registry, get_plugin_manager
from vecron_sftp import SftpConfig, SftpExecutor

KNOWN_HOSTS = (
    "sftp.example.com ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
)


def config(**fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "host": "sftp.example.com",
        "username": "partner",
        "password": "s3cret-pw",
        "known_hosts": KNOWN_HOSTS,
        "action": "download",
        "remote": "inbox/*.xlsx",
    }
    document.update(fields)
    return {name: value for name, value in document.items() if value is not ...}


def error_of(**fields: Any) -> str:
    with pytest.raises(pydantic.ValidationError) as caught:
        SftpConfig.model_validate(config(**fields))
    return str(caught.value)


def test_defaults() -> None:
    cfg = SftpConfig.model_validate(config())
    assert (cfg.port, cfg.root, cfg.recursive, cfg.into, cfg.min_files) == (22, "/", False, "", 1)
    assert cfg.connect_timeout == 30 and cfg.overwrite is True


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"password": ...}, "give exactly one of password and private_key"),
        ({"private_key": "-----BEGIN..."}, "give exactly one of password and private_key"),
        ({"passphrase": "x"}, "passphrase applies to private_key only"),
        ({"remote": ...}, "remote is required when action is download"),
        ({"action": "upload", "remote": ..., "files": "a.csv"}, "remote_dir is required"),
        ({"action": "upload", "remote": ..., "remote_dir": "out"}, "files is required"),
        ({"remote_dir": "out"}, "remote_dir does not apply when action is download"),
        ({"overwrite": False}, "overwrite does not apply when action is download"),
        (
            {"action": "upload", "remote": ..., "files": "a", "remote_dir": "o", "recursive": True},
            "recursive does not apply when action is upload",
        ),
        ({"action": "sync"}, "action"),
        ({"known_hosts": ...}, "known_hosts"),
        ({"known_hosts": ""}, "host keys are always checked"),
        ({"known_hosts": "# nothing but a comment\n"}, "host keys are always checked"),
        ({"known_hosts": "garbage"}, "not known_hosts lines"),
        ({"root": "relative/dir"}, "must be an absolute path"),
        ({"into": "../up"}, "into"),
        ({"into": ".vecron-tmp-x"}, "reserved"),
        ({"remote": " "}, "must not be empty"),
        ({"host": "user@host"}, "bare host name"),
        ({"port": 0}, "port"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"min_files": -1}, "min_files"),
    ],
)
def test_invalid(fields: dict[str, Any], words: str) -> None:
    assert words in error_of(**fields)


def test_secrets_never_show() -> None:
    cfg = SftpConfig.model_validate(config(password=..., private_key="KEY-TEXT", passphrase="pp"))
    shown = repr(cfg) + cfg.model_dump_json()
    assert "KEY-TEXT" not in shown and 'pp"' not in shown
    assert "s3cret-pw" not in error_of(port=0)


def test_normalises_paths() -> None:
    cfg = SftpConfig.model_validate(config(root="//srv/./partner/../files/", into="/in/"))
    assert cfg.root == "/srv/files" and cfg.into == "in"


def test_a_dumped_config_validates_again() -> None:
    cfg = SftpConfig.model_validate(
        config(action="upload", remote=..., files="out/*.csv", remote_dir="drop", overwrite=False)
    )
    assert SftpConfig.model_validate(cfg.model_dump()) == cfg


def test_target_names_host_and_port_only() -> None:
    executor = SftpExecutor()
    assert executor.target(SftpConfig(**config(port=2222))) == "sftp://sftp.example.com:2222"
    assert executor.target(SftpConfig(**config(host="::1"))) == "sftp://[::1]:22"


def registry_parse(step: dict[str, Any]) -> None:
    document = {"name": "sftp-job", "steps": [{"id": "fetch", "type": "sftp", **step}]}
    parse_definition(document, build_registry(get_plugin_manager()), default_timezone="UTC")


def test_job_with_templates_applies() -> None:
    # Secrets and paths from templates are checked when rendered, at run time.
    registry_parse(
        config(password="{{ vars.SFTP_PASSWORD }}", remote="inbox/{{ trigger.params.file }}")
    )


def test_job_with_a_wrong_combination_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        registry_parse(config(action="upload", remote=..., files="a.csv"))
    assert "remote_dir is required when action is upload" in caught.value.one_line()
    assert "s3cret-pw" not in caught.value.one_line()
    with pytest.raises(ValidationError) as caught:
        registry_parse(config(root="relative"))
    assert "root" in (caught.value.field or "") + caught.value.one_line()
