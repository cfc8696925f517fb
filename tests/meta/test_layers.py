"""Core's layers contract places every top-level module and lets no import through.

import-linter only checks the modules a layers contract names: a new top-level module
that is not placed would be unchecked. This test keeps the list whole, and that the
contract has no way around it (no ignore list, no unlisted wing).
"""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

import vecron

ROOT = Path(__file__).resolve().parents[2]


def _layers_contract() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [found] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return dict(found)


def test_every_top_level_module_of_vecron_has_a_layer() -> None:
    contract = _layers_contract()
    placed = [m for layer in contract["layers"] for m in re.split(r"\s*[|:]\s*", layer)]
    assert len(placed) == len(set(placed)), "a module is placed twice"
    top_level = {f"vecron.{info.name}" for info in pkgutil.iter_modules(vecron.__path__)}
    assert set(placed) == top_level


def test_the_layers_have_no_exceptions() -> None:
    contract = _layers_contract()
    assert "ignore_imports" not in contract
    assert contract["layers"][0] == "vecron.cli"
    assert contract["layers"][-1] == "vecron.errors"


def _documented_layers(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    return [line.split("(")[0].strip() for line in block.strip().splitlines()]


def test_the_layout_pages_show_the_layers_of_the_contract() -> None:
    expected = [layer.replace("vecron.", "") for layer in _layers_contract()["layers"]]
    for page in (ROOT / "docs" / "core-layout.md", ROOT / "docs" / "vi" / "core-layout.md"):
        assert _documented_layers(page) == expected, page
