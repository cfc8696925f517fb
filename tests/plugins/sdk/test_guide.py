"""docs/writing-plugins.md stays true to the SDK: every public name, every reserved step
key and every way to read the registry is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import vecron
from vecron.plugin.registry import STEP_KEYS, Registry

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "writing-plugins.md"


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text("utf-8")


def test_every_public_name_is_in_the_guide(guide: str) -> None:
    missing = [name for name in vecron.__all__ if f"`{name}`" not in guide]
    assert not missing, f"docs/writing-plugins.md does not name {missing}"


def test_the_guide_lists_exactly_the_reserved_step_keys(guide: str) -> None:
    bullet = re.search(r"\*\*Reserved names\*\*: (.*?) belong to", guide, re.S)
    assert bullet is not None
    assert set(re.findall(r"`(\w+)`", bullet[1])) == STEP_KEYS


def test_every_way_to_read_the_registry_is_in_the_guide(guide: str) -> None:
    reads = {
        name
        for name in [*Registry.__dataclass_fields__, *vars(Registry)]
        if not name.startswith(("_", "add_")) and name != "plugin"
    }
    assert reads == {
        "executor",
        "trigger",
        "auth_backend",
        "executors",
        "triggers",
        "auth_backends",
        "notifier",
        "notifiers",
        "migrations",
        "owners",
    }
    assert all(f"`registry.{name}" in guide for name in reads)
