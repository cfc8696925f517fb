"""Alert rules end to end inside one process: the notifier hook, settings checked at
start, dead-letter and missed alerts, and no state kept for jobs that alert nobody."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pluggy
import pytest
from pydantic import Field, SecretStr
from sqlalchemy import func, select

from tests.support.cluster import TEST_SECRET_KEY, until
from tests.support.engine import apply, run_and_wait, running
from vecron import Alert, AlertKind, FinalError, Notifier, NotifierConfig, hookimpl
from vecron.auth import LOCAL_OPERATOR
from vecron.errors import BackendUnavailable, ConfigurationError, DuplicateKindError
from vecron.models.alerts import AlertSettings
from vecron.plugin.builtin.log_notifier import LogNotifier
from vecron.plugin.manager import build_registry, get_plugin_manager
from vecron.plugin.registry import Registry
from vecron.runtime import Runtime
from vecron.scheduling.scheduler import Scheduler
from vecron.settings import Settings
from vecron.store.schema import alert_states
from vecron_notifiers import EmailNotifier, WebhookNotifier

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Inbox(Notifier[NotifierConfig]):
    """Keeps what it is sent, in this process."""

    kind = "inbox"
    Config = NotifierConfig
    received: ClassVar[list[Alert]] = []

    async def send(self, alert: Alert) -> None:
        Inbox.received.append(alert)


class LeakyConfig(NotifierConfig):
    """Quotes its secrets in its errors."""

    token: SecretStr = Field(description="Set in the settings.")
    password: SecretStr = Field(description="A variable's value.")


class Leaky(Notifier[LeakyConfig]):
    kind = "leaky"
    Config = LeakyConfig

    async def send(self, alert: Alert) -> None:
        token, password = (s.get_secret_value() for s in (self.config.token, self.config.password))
        raise FinalError(f"refused token={token} password={password}")


class InboxPlugin:
    @hookimpl
    def vecron_register_notifiers(self, register: Registry) -> None:
        register.add_notifier(Inbox)
        register.add_notifier(Leaky)


@pytest.fixture
def pm(test_pm: pluggy.PluginManager) -> pluggy.PluginManager:
    Inbox.received.clear()
    test_pm.register(InboxPlugin(), name="inbox")
    return test_pm


def settings(store_url: str, tmp_path: Path, **alerts: Any) -> Settings:
    return Settings(
        database_url=store_url,
        storage_url=f"file://{tmp_path}/storage",
        port=0,
        secret_keys=(TEST_SECRET_KEY,),
        alerts=AlertSettings.model_validate(alerts),
    )


@pytest.fixture
async def rt(store_url: str, tmp_path: Path, pm: pluggy.PluginManager) -> AsyncIterator[Runtime]:
    alerts = {"notifiers": {"box": {"type": "inbox"}}, "notify": ["box"]}
    async with Runtime(settings(store_url, tmp_path, **alerts), pm=pm) as runtime:
        yield runtime


def test_hook_vecron_register_notifiers() -> None:
    registry = build_registry(get_plugin_manager())
    assert registry.notifier("log") is LogNotifier
    assert registry.notifier("webhook") is WebhookNotifier
    assert registry.notifier("email") is EmailNotifier
    assert registry.owners[("notifier", "log")] == "vecron.plugin.builtin.log_notifier"
    assert registry.owners[("notifier", "webhook")] == "notifiers"


def test_a_notifier_kind_registered_twice_names_both_plugins(
    pm: pluggy.PluginManager,
) -> None:
    pm.register(InboxPlugin(), name="inbox-again")
    with pytest.raises(DuplicateKindError) as caught:
        build_registry(pm)
    assert "inbox" in str(caught.value) and "inbox-again" in str(caught.value)


@pytest.mark.parametrize(
    ("notifier", "message"),
    [
        ({"type": "pager"}, "unknown notifier type 'pager'"),
        ({"type": "webhook", "url": "ftp://x", "secret": "{{ vars.S }}"}, "hook.url"),
        ({"type": "webhook", "url": "https://x.example", "secret": "plain"}, "hook.secret"),
        ({"type": "log", "colour": "red"}, "hook.colour"),
    ],
)
async def test_a_bad_notifier_setting_stops_start_up_naming_it(
    sqlite_url: str, tmp_path: Path, notifier: dict[str, Any], message: str
) -> None:
    bad = settings(sqlite_url, tmp_path, notifiers={"hook": notifier})
    with pytest.raises(ConfigurationError) as caught:
        async with Runtime(bad):
            pass
    assert message in caught.value.message
    assert "plain" not in caught.value.message


async def test_a_secret_given_as_a_variable_is_checked_when_sent_not_at_start(
    sqlite_url: str, tmp_path: Path
) -> None:
    fine = settings(
        sqlite_url,
        tmp_path,
        notifiers={
            "hook": {"type": "webhook", "url": "https://x.example", "secret": "{{ vars.S }}"}
        },
    )
    async with Runtime(fine) as runtime:
        assert runtime.alerter.deliveries.names == {"hook"}


async def test_a_dead_letter_is_alerted_when_the_job_asks(rt: Runtime) -> None:
    await apply(
        rt,
        {
            "name": "doomed",
            "triggers": [{"type": "manual"}],
            "retry": {"max_attempts": 1},
            "alerts": {"after_failures": 2, "on_dead_letter": True},
            "steps": [{"id": "a", "type": "record", "final": True}],
        },
    )
    async with running(rt):
        for run in (1, 2):
            assert (await run_and_wait(rt, "doomed")).status == "failed"
            await until(lambda run=run: rt.alerter.counted == run, timeout=10)
        await rt.alerter.deliveries.idle()
    kinds = [alert.kind for alert in Inbox.received]
    assert kinds == [AlertKind.DEAD_LETTER, AlertKind.FAILING, AlertKind.DEAD_LETTER]
    assert Inbox.received[1].streak == 2
    assert Inbox.received[1].error == "x refused"


async def test_fires_the_misfire_policy_drops_are_alerted_once_per_job(rt: Runtime) -> None:
    def stale(name: str, misfire: str) -> dict[str, Any]:
        return {
            "name": name,
            "timezone": "UTC",
            "triggers": [{"type": "cron", "expression": "*/10 * * * * ?"}],
            "steps": [{"id": "a", "type": "record"}],
            "policy": {"misfire": misfire, "misfire_grace": 1},
        }

    for name, misfire in (("lost", "skip"), ("folded", "run_once")):
        await rt.store.save_job(
            rt.jobs.parse(stale(name, misfire)), next_fire_at=T0, now=T0 - timedelta(hours=1)
        )
    now = T0 + timedelta(seconds=65)
    scheduler = Scheduler(
        rt.store,
        rt.queue,
        rt.registry,
        wakeup=rt.wakeup,
        clock=lambda: now,
        alerts=rt.alerter,
    )
    await scheduler.tick()
    await rt.alerter.deliveries.idle()
    # Seven fires of `lost` were missed; `folded` ran its six late fires as one.
    assert [(a.kind, a.job_name, a.missed) for a in Inbox.received] == [
        (AlertKind.MISSED, "lost", 7)
    ]


async def test_a_job_that_alerts_nobody_keeps_no_alert_state(
    store_url: str, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    quiet = settings(store_url, tmp_path, notifiers={"box": {"type": "inbox"}})
    async with Runtime(quiet, pm=pm) as runtime:
        await apply(
            runtime,
            {
                "name": "quiet",
                "triggers": [{"type": "manual"}],
                "retry": {"max_attempts": 1},
                "steps": [{"id": "a", "type": "record", "final": True}],
            },
        )
        async with running(runtime):
            for _ in range(3):
                assert (await run_and_wait(runtime, "quiet")).status == "failed"
        async with runtime.store.connect() as conn:
            rows = (await conn.execute(select(func.count()).select_from(alert_states))).scalar()
    assert rows == 0
    assert runtime.alerter.counted == 0 and Inbox.received == []


async def test_a_notifier_s_secrets_are_masked_in_what_is_logged(
    sqlite_url: str, tmp_path: Path, pm: pluggy.PluginManager, log_lines: io.StringIO
) -> None:
    token, password = "tok-" + "in-the-settings", "pw-" + "in-a-variable"
    leaky = {"type": "leaky", "token": token, "password": "{{ vars.LEAKY_PASSWORD }}"}
    async with Runtime(settings(sqlite_url, tmp_path, notifiers={"leaky": leaky}), pm=pm) as rt:
        await rt.variables.set(LOCAL_OPERATOR, "LEAKY_PASSWORD", password, secret=True)
        with pytest.raises(BackendUnavailable):
            await rt.alerts.test(LOCAL_OPERATOR, "leaky")
    logged = log_lines.getvalue()
    assert "refused token=********** password=**********" in logged
    assert token not in logged and password not in logged
