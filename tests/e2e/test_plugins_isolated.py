"""Issue 5, acceptance 5: each built-in plugin installs alone beside vecron-core.

``pip install vecron-core vecron-files`` must work with no other plugin present, so every
plugin declares exactly what it imports. Each one goes into a fresh venv with the core
only (versions constrained to the lock file), then its module is imported, its step or
trigger types must be registered, and no other plugin may be there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: plugin folder → (module, the kinds it registers)
PLUGINS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "http": ("vecron_http", {"executor": ["http"]}),
    "trigger_schedule": (
        "vecron_trigger_schedule",
        {"trigger": ["cron", "fixed_delay", "fixed_rate", "once"]},
    ),
    "database": ("vecron_database", {"executor": ["database"]}),
    "files": ("vecron_files", {"executor": ["files"]}),
    "sftp": ("vecron_sftp", {"executor": ["sftp"]}),
    "auth_db": ("vecron_auth_db", {"auth": ["db"]}),
    "auth_keycloak": ("vecron_auth_keycloak", {"auth": ["keycloak"]}),
    "trigger_webhook": ("vecron_trigger_webhook", {"trigger": ["webhook"]}),
    "notifiers": ("vecron_notifiers", {"notifier": ["email", "webhook"]}),
}
#: What a plugin needs beside the core, from this repository (auth_db and trigger_webhook
#: add routes).
NEEDS = {"auth_db": ["api"], "trigger_webhook": ["api"]}

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
from vecron.plugin.manager import build_registry, get_plugin_manager
registry = build_registry(get_plugin_manager())
print(json.dumps({"executor": sorted(registry.executors), "trigger": sorted(registry.triggers),
                  "auth": sorted(registry.auth_backends), "notifier": sorted(registry.notifiers)}))
"""


def uv() -> str:
    found = shutil.which("uv")
    assert found is not None, "uv must be on PATH for the isolated plugin installs"
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def constraints() -> str:
    with tempfile.TemporaryDirectory(prefix="vecron-constraints-") as folder:
        path = Path(folder) / "constraints.txt"
        run(uv(), "export", "--project", str(REPO), "--frozen", "--all-packages",
            "--no-emit-workspace", "--no-hashes", "--no-dev", "-o", str(path))  # fmt: skip
        yield path.read_text()


def test_every_plugin_folder_is_checked() -> None:
    folders = {p.name for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists()}
    assert folders == set(PLUGINS)


@pytest.mark.slow
@pytest.mark.parametrize("folder", sorted(PLUGINS))
def test_a_plugin_installs_and_registers_alone(folder: str, constraints: str) -> None:
    module, kinds = PLUGINS[folder]
    with tempfile.TemporaryDirectory(prefix=f"vecron-alone-{folder}-") as name:
        root = Path(name)
        (root / "constraints.txt").write_text(constraints)
        python = str(root / "venv" / "bin" / "python")
        run(uv(), "venv", "--quiet", "--python", "3.11", str(root / "venv"))
        run(uv(), "pip", "install", "--quiet", "--python", python,
            "-c", str(root / "constraints.txt"),
            str(REPO / "core"), *(str(REPO / need) for need in NEEDS.get(folder, [])),
            str(REPO / "plugins" / folder))  # fmt: skip
        found = json.loads(run(python, "-c", PROBE, module).stdout)
        others = {m for f, (m, _) in PLUGINS.items() if f != folder}
        listed = run(uv(), "pip", "list", "--python", python, "--format", "json").stdout
        installed = {p["name"].replace("-", "_") for p in json.loads(listed)}
        assert not others & installed, f"{folder} pulled in {sorted(others & installed)}"
        # Exactly the plugin's kinds beside the core's built-in `manual` trigger ...
        expected_executors = kinds.get("executor", [])
        assert found["executor"] == sorted(expected_executors)
        assert found["trigger"] == sorted(["manual", *kinds.get("trigger", [])])
        assert found["auth"] == kinds.get("auth", [])
        # ... and the core's built-in `log` notifier.
        assert found["notifier"] == sorted(["log", *kinds.get("notifier", [])])
