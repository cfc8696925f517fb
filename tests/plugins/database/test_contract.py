"""The ``database`` executor passes the executor contract, on each backend."""

from __future__ import annotations

from typing import Any

import pytest

from vecron.testing import ExecutorContract
from vecron_database import DatabaseExecutor

from .conftest import VERY_SLOW_SQL, Backend


class TestDatabaseExecutorContract(ExecutorContract):
    executor_class = DatabaseExecutor

    def valid_config(self) -> dict[str, Any]:
        return {
            "dsn": "postgresql://app:contract-db-password@db.example.com/sales",
            "password": "contract-password-override",
            "sql": "SELECT * FROM orders WHERE id = :id",
            "params": {"id": 1},
            "statement_timeout": 5,
        }

    @pytest.fixture
    def succeeding_step(self, backend: Backend) -> dict[str, Any]:
        return {
            "dsn": backend.dsn,
            "sql": "SELECT 1 AS one, 'x' AS text, CAST(2.50 AS DECIMAL(5,2)) AS amount",
        }

    @pytest.fixture
    def slow_step(self, backend: Backend) -> dict[str, Any]:
        return {"dsn": backend.dsn, "sql": VERY_SLOW_SQL[backend.name]}
