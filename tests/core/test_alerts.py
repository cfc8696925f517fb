"""Issue 13, acceptance 5 on the embedded setup (SQLite and PostgreSQL): a job failing
five times in a row is alerted once, after the third failure, and once more when it
recovers — by mail through a real SMTP server (STARTTLS, login) and by a webhook whose
signature the ``standardwebhooks`` library verifies. A notifier that hangs or fails
delays no execution."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from tests.support.alert_receivers import (  # noqa: F401  (mail, receiver: fixtures)
    SMTP_PASSWORD,
    MailServer,
    StatusTarget,
    WebhookReceiver,
    mail,
    receiver,
    status_target,
    webhook_receiver,
    webhook_secret,
)
from tests.support.cluster import TEST_SECRET_KEY, until
from tests.support.engine import apply, run_and_wait, running
from tests.support.private_servers import free_port
from vecron.auth import LOCAL_OPERATOR
from vecron.models.alerts import AlertSettings
from vecron.runtime import Runtime
from vecron.settings import Settings

#: A secret the job sends in its URL; the error text, so the alerts, quote the URL.
TOKEN = "tok-" + "n0t-for-alerts"


@pytest.fixture
async def target() -> AsyncIterator[StatusTarget]:
    async with status_target() as found:
        yield found


def job(target: StatusTarget, name: str = "report") -> dict[str, Any]:
    return {
        "name": name,
        "triggers": [{"type": "manual"}],
        "retry": {"max_attempts": 1},
        "steps": [
            {
                "id": "call",
                "type": "http",
                "url": f"{target.url}/status?token={{{{ vars.TOKEN }}}}",
                "timeout": 5,
            }
        ],
    }


async def open_runtime(
    store_url: str, tmp_path: Path, pm: pluggy.PluginManager, alerts: dict[str, Any]
) -> Runtime:
    settings = Settings(
        database_url=store_url,
        storage_url=f"file://{tmp_path}/storage",
        port=0,
        secret_keys=(TEST_SECRET_KEY,),
        # Five failures in a row would open the target's circuit and hold the sixth run.
        breaker_threshold=100,
        alerts=AlertSettings.model_validate(alerts),
    )
    return Runtime(settings, pm=pm)


async def test_five_failures_then_a_success_are_alerted_once_each(
    store_url: str,
    tmp_path: Path,
    test_pm: pluggy.PluginManager,
    target: StatusTarget,
    mail: MailServer,  # noqa: F811
    receiver: WebhookReceiver,  # noqa: F811
    log_lines: io.StringIO,
) -> None:
    alerts = {
        "notifiers": {
            # Both secrets are variables, read when an alert is sent.
            "mail": mail.notifier(password="{{ vars.SMTP_PASSWORD }}"),
            "hook": receiver.notifier(secret="{{ vars.WHSEC }}"),
        },
        "notify": ["mail", "hook"],
    }
    async with await open_runtime(store_url, tmp_path, test_pm, alerts) as rt:
        for name, value in {
            "SMTP_PASSWORD": SMTP_PASSWORD,
            "WHSEC": receiver.secret,
            "TOKEN": TOKEN,
        }.items():
            await rt.variables.set(LOCAL_OPERATOR, name, value, secret=True)
        await apply(rt, job(target))
        seen: list[tuple[int, list[str], list[str]]] = []
        async with running(rt):
            for run in range(1, 6):
                assert (await run_and_wait(rt, "report")).status == "failed"
                await until(lambda run=run: rt.alerter.counted == run, timeout=10)
                await rt.alerter.deliveries.idle()
                seen.append((run, mail.subjects(), receiver.kinds()))
            target.status = 200
            for run in (6, 7):  # the second success says nothing more
                assert (await run_and_wait(rt, "report")).status == "succeeded"
                await until(lambda run=run: rt.alerter.counted == run, timeout=10)
                await rt.alerter.deliveries.idle()

    failing = "vecron: job report is failing (3 failures in a row)"
    assert seen == [
        (1, [], []),
        (2, [], []),
        (3, [failing], ["failing"]),
        (4, [failing], ["failing"]),
        (5, [failing], ["failing"]),
    ]
    assert mail.subjects() == [failing, "vecron: job report recovered"]
    assert receiver.kinds() == ["failing", "recovered"]
    assert receiver.refused == 0 and len(set(receiver.ids)) == 2
    assert mail.tls == [True, True], "every mail went through STARTTLS"
    body = mail.messages[0].get_payload()
    assert "failures in a row: 3" in body and "last error: " in body
    assert "**********" in body and TOKEN not in body
    assert receiver.verified[0]["streak"] == 3 and receiver.verified[1]["streak"] == 5
    logged = log_lines.getvalue()
    for secret in (SMTP_PASSWORD, receiver.secret, TOKEN):
        assert secret not in logged
    assert all(secret not in json.dumps(receiver.verified) for secret in (TOKEN,))


async def test_a_hanging_or_failing_notifier_delays_no_execution(
    store_url: str,
    tmp_path: Path,
    test_pm: pluggy.PluginManager,
    target: StatusTarget,
    log_lines: io.StringIO,
) -> None:
    async with webhook_receiver(webhook_secret(), mode="hang") as hanging:
        alerts = {
            "notifiers": {
                "stuck": hanging.notifier(),
                # Nobody listens there: every attempt fails at once.
                "gone": {
                    "type": "webhook",
                    "url": f"http://127.0.0.1:{free_port()}/alerts",
                    "secret": webhook_secret(),
                },
            },
            "notify": ["stuck", "gone"],
            "after_failures": 1,
            "delivery_timeout": 1.0,
            "delivery_attempts": 3,
            "delivery_backoff": 0.1,
        }
        async with await open_runtime(store_url, tmp_path, test_pm, alerts) as rt:
            await rt.variables.set(LOCAL_OPERATOR, "TOKEN", TOKEN, secret=True)
            await apply(rt, job(target))
            async with running(rt):
                took = []
                for _ in range(3):
                    started = time.monotonic()
                    assert (await run_and_wait(rt, "report")).status == "failed"
                    took.append(time.monotonic() - started)
                # The first failure raised an alert whose deliveries now hang or fail;
                # the executions after it ran in their normal time all the same.
                assert rt.alerter.deliveries._tasks, "the deliveries are still pending"
                assert max(took) < 0.9, took
                loop = asyncio.get_running_loop()
                waited = loop.time()
                await rt.alerter.deliveries.idle()
                waited = loop.time() - waited
    # Three attempts of at most a second each, plus backoff: then the task gives up.
    assert waited < 3 * 1.0 + 1.0
    failures = [
        json.loads(line)
        for line in log_lines.getvalue().splitlines()
        if '"alert delivery failed"' in line
    ]
    by_notifier = {(f["notifier"], f["attempt"], f["retrying"]) for f in failures}
    assert {("stuck", 1, True), ("stuck", 2, True), ("stuck", 3, False)} <= by_notifier
    assert {("gone", 1, True), ("gone", 3, False)} <= by_notifier
    assert any(f["notifier"] == "stuck" and f["error"] == "timed out" for f in failures)
    assert hanging.hits == 3
