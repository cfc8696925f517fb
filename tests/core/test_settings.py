"""Layered settings: defaults < vecron.toml < VECRON_* environment < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from vecron.errors import ConfigurationError
from vecron.settings import load_settings


@pytest.fixture
def toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "vecron.toml"
    monkeypatch.setenv("VECRON_CONFIG", str(path))
    for var in ("VECRON_TIMEZONE", "VECRON_PORT", "VECRON_WORKER_CONCURRENCY"):
        monkeypatch.delenv(var, raising=False)
    return path


def test_each_layer_overrides_the_one_before(toml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().timezone == "Asia/Ho_Chi_Minh"  # the default
    toml.write_text('timezone = "Europe/Berlin"\nport = 9000\nworker_concurrency = 7\n')
    from_file = load_settings()
    assert (from_file.timezone, from_file.port, from_file.worker_concurrency) == (
        "Europe/Berlin",
        9000,
        7,
    )
    monkeypatch.setenv("VECRON_PORT", "9100")
    assert load_settings().port == 9100  # environment beats the file
    assert load_settings(port=9200).port == 9200  # a flag beats the environment
    assert load_settings(port=None).port == 9100  # a flag not given changes nothing
    assert load_settings().timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('colour = "red"\n', "setting 'colour': unknown setting"),
        ('timezone = "Mars/Base"\n', "unknown time zone"),
        ("port = 70000\n", "setting 'port'"),
        ('egress_deny = ["10.0.0.0/33"]\n', "setting 'egress_deny': '10.0.0.0/33'"),
        ('egress_allow = ["10.0.0.1/8"]\n', "'10.0.0.1/8' is not a valid CIDR or address"),
        ('egress_deny = ["bad host!"]\n', "is not a CIDR, an address, a host pattern"),
        ('[egress_steps.sftp]\ndeny = ["fe80::/129"]\n', "setting 'egress_steps.sftp.deny'"),
        ('[egress_steps."Not A Step"]\ndeny = ["private"]\n', "is not a step type"),
    ],
)
def test_bad_settings_name_the_setting(toml: Path, text: str, words: str) -> None:
    toml.write_text(text)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert words in info.value.one_line()
    assert str(toml) in info.value.one_line()


def test_egress_rules_come_from_the_file_and_the_environment(
    toml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml.write_text('egress_deny = ["private"]\n[egress_steps.sftp]\ndeny = ["*"]\n')
    from_file = load_settings()
    assert from_file.egress_deny == ("private",)
    assert from_file.egress_steps["sftp"].deny == ("*",)
    monkeypatch.setenv("VECRON_EGRESS_DENY", "loopback, 10.0.0.0/8")
    monkeypatch.setenv("VECRON_EGRESS_ALLOW", "10.1.2.3")
    from_env = load_settings()
    assert (from_env.egress_deny, from_env.egress_allow) == (
        ("loopback", "10.0.0.0/8"),
        ("10.1.2.3",),
    )
