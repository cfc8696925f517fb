"""The plugin manager: discovery, built-ins through the same hook, blocking, duplicates."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest

from tests.support import steps
from tests.support.engine import apply, run_and_wait, running
from vecron import hookimpl
from vecron.cli.hints import error_lines
from vecron.errors import DuplicateKindError, PluginError
from vecron.events import Event, EventKind, ExecutionFinished, JobChanged
from vecron.plugin.manager import build_registry, get_plugin_manager, list_plugins
from vecron.runtime import Runtime


def test_hook_vecron_register_executors(test_pm: pluggy.PluginManager) -> None:
    registry = build_registry(test_pm)
    assert registry.executor("record") is steps.RecordExecutor
    assert registry.owners[("executor", "record")] == "vecron-test-steps"
    assert registry.owners[("executor", "http")] == "http"


def test_hook_vecron_register_triggers() -> None:
    pm = get_plugin_manager()
    registry = build_registry(pm)
    assert {"manual", "cron", "fixed_rate", "fixed_delay", "once"} <= set(registry.triggers)
    # The built-in manual trigger comes through the same hook as installed plugins.
    assert registry.owners[("trigger", "manual")] == "vecron.plugin.builtin.manual"
    assert registry.owners[("trigger", "cron")] == "trigger_schedule"


async def test_hook_vecron_execution_event(runtime: Runtime) -> None:
    seen: list[Event] = []

    class Observer:
        @hookimpl
        def vecron_execution_event(self, event: Event) -> None:
            seen.append(event)

    class Broken:
        @hookimpl
        def vecron_execution_event(self, event: Event) -> None:
            raise RuntimeError("observer bug")

    runtime.pm.register(Observer(), name="observer")
    runtime.pm.register(Broken(), name="broken")
    await apply(
        runtime,
        {
            "name": "observed",
            "steps": [{"id": "a", "type": "record"}, {"id": "b", "type": "record"}],
        },
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "observed")
    await runtime.events.flush()
    assert detail.status.value == "succeeded"  # the broken observer failed nothing
    mine = [e for e in seen if getattr(e, "execution_id", None) == detail.id]
    assert [(e.kind, getattr(e, "step_id", None)) for e in mine] == [
        (EventKind.EXECUTION_CREATED, None),
        (EventKind.EXECUTION_STARTED, None),
        (EventKind.STEP_FINISHED, "a"),
        (EventKind.STEP_FINISHED, "b"),
        (EventKind.EXECUTION_FINISHED, None),
    ]
    assert all(isinstance(e, ExecutionFinished) and e.status == "succeeded" for e in mine[-1:])
    assert [e.kind for e in seen if isinstance(e, JobChanged)] == [EventKind.JOB_CHANGED]


def test_registration_goes_through_pluggy(test_pm: pluggy.PluginManager) -> None:
    """A hook wrapper sees each plugin's registration call, so tracing and wrappers work."""
    calls: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def vecron_register_executors(self, register: Any) -> Any:
            calls.append(register.plugin)
            return (yield)

    test_pm.register(Wrapper(), name="wrapper")
    build_registry(test_pm)
    assert "vecron-test-steps" in calls and "http" in calls
    assert "wrapper" not in calls  # a wrapper registers nothing itself


def test_duplicate_kind_names_both_plugins(test_pm: pluggy.PluginManager) -> None:
    class Clash:
        @hookimpl
        def vecron_register_executors(self, register: Any) -> None:
            register.add_executor(steps.RecordExecutor)

    test_pm.register(Clash(), name="clash-plugin")
    with pytest.raises(DuplicateKindError) as info:
        build_registry(test_pm)
    message = info.value.one_line()
    assert "'record'" in message and "vecron-test-steps" in message and "clash-plugin" in message
    # The way out names an environment variable: CLI advice, not the core's.
    assert "VECRON_DISABLE_PLUGINS" not in message
    assert "VECRON_DISABLE_PLUGINS" in error_lines(info.value)[0]


def test_disable_plugins_blocks_by_entry_point_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECRON_DISABLE_PLUGINS", "http")
    registry = build_registry(get_plugin_manager())
    assert "http" not in registry.executors
    assert "cron" in registry.triggers


def test_load_plugins_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECRON_LOAD_PLUGINS", "http")
    registry = build_registry(get_plugin_manager())
    assert "http" in registry.executors
    assert "cron" not in registry.triggers
    assert "manual" in registry.triggers  # built-ins are always there unless blocked


def test_bad_registration_fails_fast() -> None:
    class NoKind:
        @hookimpl
        def vecron_register_executors(self, register: Any) -> None:
            register.add_executor(type("Broken", (), {}))

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(NoKind(), name="no-kind")
    with pytest.raises(PluginError, match="no-kind"):
        build_registry(pm)


def test_unknown_hook_name_fails_fast() -> None:
    class Typo:
        @hookimpl
        def vecron_register_executor(self, register: Any) -> None:  # missing "s"
            pass

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Typo(), name="typo")
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_list_plugins_reports_distributions() -> None:
    pm = get_plugin_manager()
    infos = {i.name: i for i in list_plugins(pm, build_registry(pm))}
    assert infos["http"].distribution == "vecron-http"
    assert infos["http"].executors == ("http",)
    assert infos["vecron.plugin.builtin.manual"].distribution == "vecron-core"
    assert infos["vecron.plugin.builtin.manual"].hooks == ("vecron_register_triggers",)
