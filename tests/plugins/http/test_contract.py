"""The ``http`` executor passes the executor contract every plugin must pass."""

from __future__ import annotations

from typing import Any

import pytest

from vecron.testing import ExecutorContract
from vecron_http import HttpExecutor

from .conftest import Target


class TestHttpExecutorContract(ExecutorContract):
    executor_class = HttpExecutor

    def valid_config(self) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": "https://api.example.com/hooks",
            "json": {"event": "contract"},
            "secret_headers": {"X-Api-Key": "contract-api-key"},
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": "https://id.example.com/token",
                "client_id": "contract-client",
                "client_secret": "contract-client-secret",
            },
        }

    @pytest.fixture
    def succeeding_step(self, target: Target) -> dict[str, Any]:
        return {"method": "POST", "url": target.url("/echo"), "json": {"event": "contract"}}

    @pytest.fixture
    def slow_step(self, target: Target) -> dict[str, Any]:
        return {"url": target.url("/slow?seconds=60")}
