"""The API in-process (static tokens, SQLite) with a webhook job whose secret was made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.harness import PREFIX, Api, api_settings, served
from tests.plugins.trigger_webhook.signed import webhook_job
from vecron import LOCAL_OPERATOR

JOB = "orders"


@dataclass
class Hooked:
    api: Api
    job: str
    url: str
    secret: str


async def hook_job(api: Api, name: str, **trigger: object) -> Hooked:
    """Save a webhook job and make its secret through the API."""
    rt = api.runtime
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(webhook_job(name, **trigger)))
    answer = await api.client.post(f"{PREFIX}/jobs/{name}/webhook:regenerate", headers=api.auth())
    assert answer.status == 200, await answer.text()
    made = await answer.json()
    return Hooked(api, name, made["path"], made["secret"])


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with served(api_settings(tmp_path)) as found:
        yield found


@pytest.fixture
async def hooked(api: Api) -> Hooked:
    return await hook_job(api, JOB, burst=50)
