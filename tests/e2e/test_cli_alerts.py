"""``vecron alerts test``: a test alert through a configured notifier, verified by the
receiver; an unknown notifier or one that refuses is one line and a non-zero exit."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from tests.support.alert_receivers import WebhookReceiver, receiver  # noqa: F401  (a fixture)
from tests.support.cli import run_vecron
from tests.support.private_servers import free_port


def env_with(tmp_path: Path, notifiers: dict[str, dict[str, object]]) -> dict[str, str]:
    return {
        **os.environ,
        "VECRON_CONFIG": str(tmp_path / "none.toml"),
        "VECRON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/vecron.db",
        "VECRON_STORAGE_URL": f"file://{tmp_path}/storage",
        "VECRON_ALERTS": json.dumps({"notifiers": notifiers}),
    }


async def test_a_test_alert_reaches_the_webhook_signed(
    tmp_path: Path,
    receiver: WebhookReceiver,  # noqa: F811
) -> None:
    env = env_with(tmp_path, {"hook": receiver.notifier()})
    # The CLI blocks; the receiver runs on this test's event loop.
    done = await asyncio.to_thread(
        run_vecron, ["alerts", "test", "hook", "--json"], env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["notifier"] == "hook" and view["type"] == "webhook"
    assert receiver.kinds() == ["test"] and receiver.ids == [view["alert_id"]]
    assert receiver.secret not in done.stdout + done.stderr


async def test_an_unknown_or_refusing_notifier_is_one_line_and_fails(tmp_path: Path) -> None:
    env = env_with(
        tmp_path,
        {
            "gone": {
                "type": "webhook",
                "url": f"http://127.0.0.1:{free_port()}/x",
                "secret": "{{ vars.S }}",
            }
        },
    )
    unknown = await asyncio.to_thread(run_vecron, ["alerts", "test", "nope"], env=env, cwd=tmp_path)
    assert unknown.returncode == 66
    assert "no notifier 'nope' in the settings; configured: gone" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    refused = await asyncio.to_thread(run_vecron, ["alerts", "test", "gone"], env=env, cwd=tmp_path)
    assert refused.returncode == 69
    assert "notifier 'gone' did not take the test alert" in refused.stderr
    assert "names variable 'S', which is not set" in refused.stderr
