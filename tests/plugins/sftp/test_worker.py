"""``sftp`` steps run by a real worker: a download lands in the Job Context and the
execution's files; a refused login fails the execution after one attempt, whatever the
retry policy."""

from __future__ import annotations

from typing import Any

from tests.support.engine import apply, running
from tests.support.sshd import RemoteFolder, SshServer
from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime


def job(name: str, server: SshServer, folder: RemoteFolder, **fields: Any) -> dict[str, Any]:
    step = server.step_config(
        password="{{ vars.SFTP_PASSWORD }}",
        root=folder.remote,
        action="download",
        remote="inbox/*.csv",
        **fields,
    )
    return {
        "name": name,
        "retry": {"max_attempts": 5, "delay": 0.01, "factor": 1},
        "steps": [{"id": "fetch", "type": "sftp", **step}],
    }


async def test_download_through_the_worker(
    runtime: Runtime, ssh_server: SshServer, remote_folder: RemoteFolder
) -> None:
    remote_folder.write("inbox/orders.csv", b"id,qty\n1,2\n")
    await runtime.variables.set(LOCAL_OPERATOR, "SFTP_PASSWORD", ssh_server.password, secret=True)
    await apply(runtime, job("sftp-fetch", ssh_server, remote_folder, into="in"))
    async with running(runtime):
        execution = (
            await runtime.triggers.fire(LOCAL_OPERATOR, "sftp-fetch", by="test", kind="manual")
        ).execution
        done = await runtime.executions.wait(LOCAL_OPERATOR, execution.id, timeout=30, context=True)
    assert done.status is ExecutionStatus.SUCCEEDED, done.error
    assert done.context is not None
    output = done.context["steps"]["fetch"]["output"]
    assert output["count"] == 1 and output["files"][0]["name"] == "in/orders.csv"
    key = f"executions/{execution.id}/files/in/orders.csv"
    assert output["files"][0]["key"] == key
    assert await runtime.storage.get_bytes(key) == b"id,qty\n1,2\n"
    assert ssh_server.password not in repr(done.model_dump())


async def test_wrong_password_fails_after_one_attempt(
    runtime: Runtime, ssh_server: SshServer, remote_folder: RemoteFolder
) -> None:
    remote_folder.write("inbox/orders.csv", b"id\n1\n")
    await runtime.variables.set(LOCAL_OPERATOR, "SFTP_PASSWORD", "not-the-password-77", secret=True)
    await apply(runtime, job("sftp-denied", ssh_server, remote_folder))
    async with running(runtime):
        execution = (
            await runtime.triggers.fire(
                LOCAL_OPERATOR,
                "sftp-denied",
                by="test",
                kind="manual",
            )
        ).execution
        done = await runtime.executions.wait(LOCAL_OPERATOR, execution.id, timeout=30, context=True)
    assert done.status is ExecutionStatus.FAILED
    assert done.attempt == 1  # final: the retry policy's 5 attempts are not used
    assert "authentication failed for vecron-sftp@127.0.0.1" in (done.error or "")
    assert "not-the-password-77" not in repr(done.model_dump())
