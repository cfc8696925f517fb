"""The ``files`` executor passes the executor contract every plugin must pass."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from vecron.plugin.executor import StepContext
from vecron.testing import ExecutorContract
from vecron_files import FilesExecutor

from .support import csv_bytes

#: One execution for every context of a test, so the input written first is found.
EXECUTION = "contract-files-execution"


class TestFilesExecutorContract(ExecutorContract):
    executor_class = FilesExecutor

    def valid_config(self) -> dict[str, Any]:
        return {
            "input": {"file": "sftp/report.xlsx", "sheet": "Đơn hàng"},
            "transform": {
                "columns": {"Mã": "id", "Số tiền": "amount"},
                "types": {"id": "int", "amount": "decimal"},
                "filter": "row.amount > 0",
            },
            "output": {"name": "export/orders.csv"},
        }

    def step_context(self, **overrides: Any) -> StepContext:
        overrides.setdefault("execution_id", EXECUTION)
        return super().step_context(**overrides)

    @pytest_asyncio.fixture
    async def succeeding_step(self, _contract_storage: None) -> dict[str, Any]:
        files = self.step_context().files
        assert files is not None
        table = [["Mã", "Số tiền", "Thành phố"], ["1", "150.50", "Hà Nội"], ["2", "9", "Huế"]]
        await files.write_bytes("in/orders.csv", csv_bytes(table))
        return {
            "input": {"file": "in/orders.csv"},
            "transform": {
                "columns": {"Mã": "id", "Số tiền": "amount"},
                "types": {"id": "int", "amount": "decimal"},
                "filter": "row.amount > 10",
            },
            "output": {"name": "export/orders.xlsx"},
        }

    @pytest_asyncio.fixture
    async def slow_step(self, _contract_storage: None) -> dict[str, Any]:
        # About 15 MB of rows, each converted and filtered: seconds of work to cancel.
        files = self.step_context().files
        assert files is not None
        line = "{n},{n}.5,Nguyễn Văn Ánh,Đà Nẵng\r\n"

        async def chunks() -> Any:
            yield b"id,amount,name,city\r\n"
            for block in range(300):
                start = block * 1000
                yield "".join(line.format(n=n) for n in range(start, start + 1000)).encode()

        await files.write("in/slow.csv", chunks())
        return {
            "input": {"file": "in/slow.csv"},
            "transform": {"types": {"amount": "decimal"}, "filter": "row.amount > 1"},
            "output": {"name": "out/slow.csv"},
        }
