"""Issue 5, acceptance 4: the business pipeline in examples/partner-orders.yaml runs end
to end against real servers — OpenSSH's sshd, PostgreSQL and an HTTP API:
SFTP download of an XLSX → XLSX to CSV with a column mapping → SQL insert → HTTP POST.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.engine import running
from tests.support.pg_fixtures import postgresql_url  # noqa: F401
from tests.support.sshd import (  # noqa: F401
    RemoteFolder,
    SshServer,
    remote_folder_fixture,
    ssh_server_fixture,
)
from tests.support.web import serve
from vecron.auth import LOCAL_OPERATOR
from vecron.jobs.documents import parse_text
from vecron.models.execution import ExecutionStatus, StepStatus
from vecron.runtime import Runtime
from vecron.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "partner-orders.yaml"

HEADER = ["Mã đơn", "Khách hàng", "Thành phố", "Số tiền", "Ngày đặt", "Ghi chú"]
SHEET = [
    ["DH-001", "Nguyễn Văn Ánh", "Hà Nội", 1250000, "20/11/2026", "giao sáng"],
    ["DH-002", "Trần Thị Bích", "Đà Nẵng", 99.5, "21/11/2026", ""],
    ["DH-003", "Lê Hoàng", "Huế", 0, "21/11/2026", "huỷ"],  # filtered out: amount 0
    ["DH-004", '=HYPERLINK("x")', "Cần Thơ", 310000, "22/11/2026", None],
]


def workbook() -> bytes:
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Ghi chú"
    cover.append(["Sheet 'Đơn hàng' holds the orders"])
    orders = book.create_sheet("Đơn hàng")
    orders.append(HEADER)
    for row in SHEET:
        orders.append(row)
    # A text cell that starts with "=", as partners' sheets have: text, not a formula.
    orders["B5"].data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class OrdersApi:
    def __init__(self) -> None:
        self.imports: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        async def imports(request: web.Request) -> web.Response:
            self.imports.append(await request.json())
            return web.json_response({"accepted": True}, status=202)

        app = web.Application()
        app.router.add_post("/imports", imports)
        return app


@pytest.fixture
async def api() -> AsyncIterator[tuple[OrdersApi, str]]:
    server = OrdersApi()
    async with serve(server.app()) as base:
        yield server, base


@pytest.mark.slow
async def test_partner_orders_pipeline(
    tmp_path: Path,
    ssh_server: SshServer,
    remote_folder: RemoteFolder,
    postgresql_url: str,  # noqa: F811
    api: tuple[OrdersApi, str],
) -> None:
    orders_api, base = api
    remote_folder.write("outbox/orders-2026-11-22.xlsx", workbook())
    remote_folder.write("outbox/readme.txt", b"not an order sheet")
    warehouse = create_async_engine(postgresql_url)
    async with warehouse.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE partner_orders (order_no text PRIMARY KEY, customer text,"
                " city text, amount numeric(14, 2), ordered_on date)"
            )
        )
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db",
        storage_url=f"file://{tmp_path}/storage",
        port=0,
    )
    try:
        async with Runtime(settings) as rt:
            variables = {
                "PARTNER_SFTP_HOST": ssh_server.host,
                "PARTNER_SFTP_PORT": str(ssh_server.port),
                "PARTNER_SFTP_USER": ssh_server.username,
                "PARTNER_KNOWN_HOSTS": ssh_server.known_hosts,
                "PARTNER_SFTP_ROOT": remote_folder.remote,
                "API_BASE": base,
            }
            for name, value in variables.items():
                await rt.variables.set(LOCAL_OPERATOR, name, value)
            await rt.variables.set(
                LOCAL_OPERATOR, "PARTNER_SFTP_PASSWORD", ssh_server.password, secret=True
            )
            await rt.variables.set(LOCAL_OPERATOR, "WAREHOUSE_DSN", postgresql_url, secret=True)
            await rt.jobs.save(
                LOCAL_OPERATOR, rt.jobs.parse(parse_text(EXAMPLE.read_text("utf-8")))
            )
            async with running(rt):
                execution = (
                    await rt.triggers.fire(
                        LOCAL_OPERATOR,
                        "partner-orders",
                        by="test",
                        kind="manual",
                    )
                ).execution
                detail = await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=60)
            stored_csv = await rt.storage.get_bytes(f"executions/{execution.id}/files/orders.csv")
        async with warehouse.connect() as conn:
            rows = (
                await conn.execute(text("SELECT * FROM partner_orders ORDER BY order_no"))
            ).all()
    finally:
        await warehouse.dispose()

    assert detail.status is ExecutionStatus.SUCCEEDED, [(s.step_id, s.error) for s in detail.steps]
    assert [s.status for s in detail.steps] == [StepStatus.SUCCEEDED] * 4
    outputs = {s.step_id: s.output or {} for s in detail.steps}
    [downloaded] = outputs["download"]["files"]
    assert downloaded["name"] == "inbox/orders-2026-11-22.xlsx"
    assert downloaded["remote_path"].endswith("outbox/orders-2026-11-22.xlsx")
    assert outputs["convert"]["file"]["rows"] == 3
    assert outputs["convert"]["columns"] == ["order_no", "customer", "city", "amount", "ordered_on"]

    # The rows reached the warehouse with their types; the zero-amount order was filtered.
    assert [tuple(r) for r in rows] == [
        (
            "DH-001",
            "Nguyễn Văn Ánh",
            "Hà Nội",
            Decimal("1250000.00"),
            date.fromisoformat("2026-11-20"),
        ),
        ("DH-002", "Trần Thị Bích", "Đà Nẵng", Decimal("99.50"), date.fromisoformat("2026-11-21")),
        # The CSV neutralised the formula for spreadsheets; the database got that text.
        (
            "DH-004",
            '\'=HYPERLINK("x")',
            "Cần Thơ",
            Decimal("310000.00"),
            date.fromisoformat("2026-11-22"),
        ),
    ]
    assert outputs["load"]["row_count"] == 3
    assert "'=HYPERLINK" in stored_csv.decode("utf-8")

    # The summary names the file by its checksum and the row count, types preserved.
    assert orders_api.imports == [
        {
            "source": downloaded["remote_path"],
            "file": "orders.csv",
            "sha256": outputs["convert"]["file"]["sha256"],
            "rows": 3,
            "run": execution.id,
        }
    ]
