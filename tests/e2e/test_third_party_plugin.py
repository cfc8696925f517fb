"""docs/writing-plugins.md, followed to the letter in a fresh virtual environment.

The plugin's files are read from the guide's code blocks, so the guide and this test
cannot drift apart: a fresh venv gets the workspace's vecron-core and the plugin, then
the plugin's own contract tests and the documented CLI commands run there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "writing-plugins.md"
FILE_BLOCK = re.compile(r'^```\w+ title="(?P<path>[^"]+)"\n(?P<text>.*?)^```$', re.M | re.S)
#: Commands the guide tells the reader to run; this test runs each of them.
DOCUMENTED_COMMANDS = (
    'uv pip install -e ".[test]"',
    "vecron plugins list",
    "vecron job apply -f job.yaml",
    "vecron job run shout-demo --wait",
)


@dataclass(frozen=True)
class Plugin:
    """The guide's plugin, installed in its own venv."""

    folder: Path
    venv: Path
    home: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def env(self) -> dict[str, str]:
        # Nothing of this process's environment may point at the workspace's venv.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("VECRON_", "PYTEST_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")
        }
        env |= {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "VIRTUAL_ENV": str(self.venv),
            "VECRON_DATABASE_URL": f"sqlite+aiosqlite:///{self.home / 'vecron.db'}",
            "VECRON_STORAGE_URL": f"file://{self.home / 'storage'}",
            "VECRON_CONFIG": str(self.home / "vecron.toml"),
        }
        return env

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            args,
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
        return result


def guide_files() -> dict[str, str]:
    return {m["path"]: m["text"] for m in FILE_BLOCK.finditer(GUIDE.read_text("utf-8"))}


def uv() -> str:
    found = shutil.which("uv")
    assert found is not None, "uv must be on PATH for the end-to-end plugin test"
    return found


@pytest.fixture(scope="module")
def plugin() -> Iterator[Plugin]:
    # Not tmp_path_factory: pytest sessions running in parallel rotate its base folder,
    # which could delete the venv and the database under a running vecron.
    with tempfile.TemporaryDirectory(prefix="vecron-third-party-") as name:
        yield _install(Path(name))


def _install(root: Path) -> Plugin:
    folder = root / "vecron-shout"
    for relative, text in guide_files().items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    home = root / "home"
    home.mkdir()
    installed = Plugin(folder=folder, venv=root / "venv", home=home)
    installed.run(uv(), "venv", "--python", "3.11", str(installed.venv))
    installed.run(
        uv(),
        "pip",
        "install",
        "--python",
        installed.bin("python"),
        "-e",
        str(REPO / "core"),
        "-e",
        f"{folder}[test]",
    )
    return installed


def test_the_guide_has_every_file_and_command() -> None:
    files = guide_files()
    assert set(files) == {
        "pyproject.toml",
        "src/vecron_shout/__init__.py",
        "tests/test_shout.py",
        "job.yaml",
    }
    assert '[project.entry-points.vecron]\nshout = "vecron_shout"' in files["pyproject.toml"]
    text = GUIDE.read_text("utf-8")
    for command in DOCUMENTED_COMMANDS:
        assert command in text, f"the guide no longer says {command!r}"


def test_the_plugin_is_in_the_registry(plugin: Plugin) -> None:
    code = (
        "from vecron.plugin.manager import build_registry, get_plugin_manager\n"
        "registry = build_registry(get_plugin_manager())\n"
        "cls = registry.executor('shout')\n"
        "print(cls.__module__, registry.owners[('executor', 'shout')], sorted(registry.executors))"
    )
    out = plugin.run(plugin.bin("python"), "-c", code).stdout.split()
    assert out[:2] == ["vecron_shout", "shout"]
    # The fresh venv holds core and this plugin only, not the workspace's plugins.
    assert "http" not in " ".join(out[2:])


def test_the_plugins_own_contract_tests_pass(plugin: Plugin) -> None:
    result = plugin.run(plugin.bin("pytest"), "-q", "-rA", "-p", "no:cacheprovider", "tests")
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b12 passed\b", summary), result.stdout[-3000:]
    for word in ("skipped", "failed", "error", "xfail"):
        assert word not in summary
    assert "PASSED tests/test_shout.py::TestShoutContract::test_run_honours_cancellation" in (
        result.stdout
    )
    assert "Warning" not in result.stdout + result.stderr


def test_vecron_plugins_list_shows_the_executor(plugin: Plugin) -> None:
    listing: list[dict[str, Any]] = json.loads(
        plugin.run(plugin.bin("vecron"), "plugins", "list", "--json").stdout
    )
    shout = [p for p in listing if "shout" in p["executors"]]
    assert len(shout) == 1, listing
    assert shout[0]["name"] == "shout"
    assert shout[0]["distribution"] == "vecron-shout"
    assert shout[0]["version"] == "0.1.0"
    assert "vecron_register_executors" in shout[0]["hooks"]


def test_a_job_runs_the_plugins_step(plugin: Plugin) -> None:
    plugin.run(plugin.bin("vecron"), "job", "apply", "-f", "job.yaml")
    result = plugin.run(plugin.bin("vecron"), "job", "run", "shout-demo", "--wait", "--json")
    execution = json.loads(result.stdout)
    assert execution["status"] == "succeeded", execution
    outputs = [step["output"] for step in execution["steps"]]
    assert outputs == [{"text": "HELLO, PLUGINS", "step": "greet"}]
