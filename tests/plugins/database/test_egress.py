"""The ``database`` executor under the egress policy: vecron's own database, key and
storage are out of reach of a SQLite DSN, whatever its spelling, and of an ``ATTACH``;
a server is reached at the addresses the policy checked, or not at all."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from sqlalchemy.engine import make_url

from tests.support.dns import FakeDns
from tests.support.engine import apply, run_and_wait, running
from tests.support.state import fresh_state
from vecron.errors import EgressDenied, FinalError
from vecron.models.execution import ExecutionStatus
from vecron.plugin.egress import EgressPolicy
from vecron.runtime import Runtime, egress_policy
from vecron.settings import Settings
from vecron.testing.step_contexts import make_step_context
from vecron_database import DatabaseConfig, DatabaseExecutor

OWN = "denied (vecron's own database, key or storage)"


@pytest.fixture
async def own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """vecron's default state folder in a fresh working directory, and two more names
    of its database: a symlink and a hard link."""
    async with fresh_state(tmp_path, monkeypatch) as runtime:
        os.symlink(tmp_path / ".vecron" / "vecron.db", tmp_path / "link.db")
        os.link(tmp_path / ".vecron" / "vecron.db", tmp_path / "hard.db")
        yield runtime


async def query(executor: DatabaseExecutor, egress: EgressPolicy, dsn: str, sql: str) -> Any:
    return await executor.run(
        make_step_context(egress=egress), DatabaseConfig.model_validate({"dsn": dsn, "sql": sql})
    )


@pytest.mark.parametrize(
    "dsn",
    [
        "sqlite:///.vecron/vecron.db",
        "sqlite:///{root}/.vecron/vecron.db",
        "sqlite:///{root}/.vecron/storage/../vecron.db",
        "sqlite:///link.db",
        "sqlite:///hard.db",
        "sqlite:///file:.vecron/vecron.db?mode=ro&uri=true",
        "sqlite:///file:{root}/.vecron/vecron.db?mode=rw&uri=true",
        "sqlite:///file:%2Evecron/vecron.db?uri=true",
        "sqlite:///file:.vecron/vecron.db?mode=ro",
        "sqlite:///.vecron/vecron.db-wal",
        "sqlite:///.vecron/secret.key",
        "sqlite:///.vecron/storage/executions/new.db",
    ],
)
async def test_a_sqlite_dsn_cannot_open_vecrons_own_state(
    own: Runtime, executor: DatabaseExecutor, tmp_path: Path, dsn: str
) -> None:
    dsn = dsn.format(root=tmp_path)
    with pytest.raises(EgressDenied) as caught:
        await query(executor, own.egress, dsn, "SELECT name FROM jobs")
    assert caught.value.message.endswith(OWN)
    assert caught.value.retryable is False
    # Refused before connecting: SQLite would have created this file.
    assert not (tmp_path / ".vecron" / "storage" / "executions").exists()


async def test_an_attach_cannot_reach_vecrons_own_state(
    own: Runtime, executor: DatabaseExecutor
) -> None:
    for sql in (
        "ATTACH DATABASE '.vecron/vecron.db' AS own",
        "ATTACH DATABASE 'file:hard.db?mode=ro' AS own",
        "ATTACH DATABASE ('.vecron/' || 'vecron.db') AS own",  # a name the check cannot see
        "VACUUM INTO '.vecron/storage/copy.db'",
    ):
        with pytest.raises(FinalError, match=r"\(SQLITE_AUTH\)"):
            await query(executor, own.egress, "sqlite:///other.db", sql)
    # Any other file may be attached.
    await query(executor, own.egress, "sqlite:///other.db", "ATTACH DATABASE 'side.db' AS side")
    assert Path("side.db").exists()


async def test_a_job_reading_vecrons_database_fails_at_once(own: Runtime) -> None:
    await apply(
        own,
        {
            "name": "peek",
            "retry": {"max_attempts": 3, "delay": 0.1},
            "steps": [
                {
                    "id": "read",
                    "type": "database",
                    "dsn": "sqlite:///.vecron/vecron.db",
                    "sql": "SELECT definition FROM jobs",
                }
            ],
        },
    )
    async with running(own):
        detail = await run_and_wait(own, "peek")
    assert detail.status is ExecutionStatus.FAILED
    assert detail.attempt == 1  # final: not tried again
    assert detail.steps[0].error is not None
    assert detail.steps[0].error.endswith(OWN)


async def test_an_operator_rule_keeps_a_step_off_a_server(
    executor: DatabaseExecutor, postgres_dsn: str
) -> None:
    with pytest.raises(EgressDenied, match=r"^egress to 127\.0\.0\.1 denied \(loopback\)$"):
        await query(executor, EgressPolicy(deny=["loopback"]), postgres_dsn, "SELECT 1")
    # The same server through a name that resolves to it.
    url = make_url(postgres_dsn)
    by_name = url.set(host="pg.test").render_as_string(hide_password=False)
    policy = EgressPolicy(deny=["loopback"], resolve=FakeDns.of({"pg.test": "127.0.0.1"}))
    with pytest.raises(EgressDenied, match=r"^egress to pg\.test \(127\.0\.0\.1\) denied"):
        await query(executor, policy, by_name, "SELECT 1")


async def test_a_server_is_reached_at_the_address_checked(
    executor: DatabaseExecutor, postgres_dsn: str
) -> None:
    # pg.test is in no real DNS, and rebinds after the first answer: the pool can only
    # have connected to the address the policy checked.
    dns = FakeDns({"pg.test": [["127.0.0.1"], ["169.254.169.254"]]})
    by_name = make_url(postgres_dsn).set(host="pg.test").render_as_string(hide_password=False)
    result = await query(executor, EgressPolicy(resolve=dns), by_name, "SELECT 41 + 1 AS n")
    assert result["rows"] == [{"n": 42}]
    assert dns.lookups == ["pg.test"]


async def test_a_step_cannot_open_vecrons_own_postgres_database(
    executor: DatabaseExecutor, postgres_dsn: str, tmp_path: Path
) -> None:
    url = make_url(postgres_dsn)
    own = Settings(
        database_url=url.set(drivername="postgresql+asyncpg", host="localhost").render_as_string(
            hide_password=False
        ),
        secret_key_file=tmp_path / "secret.key",
    )
    policy = egress_policy(own)
    with pytest.raises(EgressDenied, match=r"denied \(vecron's own database\)$"):
        await query(executor, policy, postgres_dsn, "SELECT 1")
    # Another database of the same server is only another server's business.
    other = url.set(database="postgres").render_as_string(hide_password=False)
    assert (await query(executor, policy, other, "SELECT 1 AS n"))["rows"] == [{"n": 1}]


@pytest.mark.parametrize("option", ["host=/var/run/postgresql", "port=6543", "hostaddr=10.0.0.1"])
def test_a_query_option_cannot_choose_another_server(postgres_dsn: str, option: str) -> None:
    # Refused when the job is applied (and when a rendered config is validated).
    with pytest.raises(pydantic.ValidationError, match="the server is the URL's host"):
        DatabaseConfig.model_validate({"dsn": f"{postgres_dsn}?{option}", "sql": "SELECT 1"})
