"""What the API's operations act on: jobs, executions in every state that matters (one
finished with a file, one dead-lettered, one queued) and variables, made through the core
services as the local operator; and fresh objects for each call that changes or uses one
up (a job to delete, an execution to cancel, a dead letter to re-run)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.api.harness import PREFIX, Api
from tests.support.engine import run_and_wait, running
from vecron import LOCAL_OPERATOR, Runtime
from vecron.clock import utcnow
from vecron.models.execution import ExecutionStatus, Outcome

#: The file the world's job writes into its execution's files.
FILE = "report.csv"


def job_document(name: str, **more: Any) -> dict[str, Any]:
    """A job that runs anywhere (no network): a ``files`` step writing :data:`FILE`."""
    return {
        "name": name,
        "description": "written by the API tests",
        "triggers": [{"type": "manual"}],
        "steps": [
            {
                "id": "export",
                "type": "files",
                "rows": [{"city": "Hanoi", "n": 1}, {"city": "Hue", "n": 2}],
                "output": {"name": FILE},
            }
        ],
        "retry": {"max_attempts": 1},
        **more,
    }


@dataclass
class DbUsers:
    """The database backend's users and roles, made by its first admin through the API
    (they have no core service): fresh ones for calls that change or delete one."""

    api: Api
    admin_password: str
    password: str = "example-password-1"
    _names: itertools.count[int] = field(default_factory=itertools.count)

    async def login(self, username: str = "admin", password: str | None = None) -> dict[str, Any]:
        """A token pair (a new refresh token each call)."""
        body = {"username": username, "password": password or self.admin_password}
        answer = await self.api.client.post(f"{PREFIX}/auth/login", json=body)
        assert answer.status == 200, f"login of {username}: {await answer.text()}"
        pair: dict[str, Any] = await answer.json()
        return pair

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        token = (await self.login())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        answer = await self.api.client.post(PREFIX + path, json=body, headers=headers)
        assert answer.status == 201, f"{path}: {await answer.text()}"

    async def new_user(self, *roles: str) -> str:
        name = f"user-{next(self._names)}"
        await self._post("/users", {"name": name, "password": self.password, "roles": roles})
        return name

    async def new_role(self) -> str:
        name = f"role-{next(self._names)}"
        await self._post("/roles", {"name": name, "permissions": ["job:read"]})
        return name


@dataclass
class World:
    """The objects every example request may name; ``new_*`` make fresh ones."""

    rt: Runtime
    job: str = "world-job"
    #: A finished (succeeded) execution of :attr:`job` with the file :data:`FILE`.
    finished: str = ""
    #: A dead-lettered execution of :attr:`job`.
    dead: str = ""
    #: A queued execution of another job (nothing runs it).
    queued: str = ""
    variable: str = "WORLD_VAR"
    secret: str = "WORLD_SECRET"
    #: The database backend's users and roles, where it is enabled.
    db: DbUsers | None = None
    _names: itertools.count[int] = field(default_factory=itertools.count)

    def name(self, prefix: str) -> str:
        """A name no other call of this world used."""
        return f"{prefix}-{next(self._names)}"

    async def new_job(self, prefix: str = "job") -> str:
        name = self.name(prefix)
        await self.rt.jobs.save(LOCAL_OPERATOR, self.rt.jobs.parse(job_document(name)))
        return name

    async def new_queued(self) -> str:
        """A queued execution of a job of its own (no worker runs while calls are made)."""
        execution = (
            await self.rt.triggers.fire(LOCAL_OPERATOR, await self.new_job("queued"), kind="manual")
        ).execution
        return execution.id

    async def new_dead_letter(self) -> str:
        """An execution that used its every attempt, as a worker leaves it."""
        execution_id = await self.new_queued()
        now = utcnow()
        [claimed] = await self.rt.store.claim(
            [execution_id], "api-tests", lease_until=now + timedelta(minutes=5), now=now
        )
        outcome = Outcome.dead_lettered(claimed, ExecutionStatus.FAILED, now, "failed on purpose")
        assert await self.rt.store.record([], [outcome]) == [True]
        return execution_id

    async def new_variable(self) -> str:
        name = self.name("VAR").replace("-", "_")
        await self.rt.variables.set(LOCAL_OPERATOR, name, "some value")
        return name


async def build_world(rt: Runtime) -> World:
    world = World(rt)
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(job_document(world.job)))
    # A second version, so the job's versions are more than one.
    changed = job_document(world.job, description="version two")
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(changed))
    async with running(rt):
        done = await run_and_wait(rt, world.job)
    assert done.status == "succeeded", done
    world.finished = done.id
    world.dead = await world.new_dead_letter()
    world.queued = await world.new_queued()
    await rt.variables.set(LOCAL_OPERATOR, world.variable, "plain value")
    await rt.variables.set(LOCAL_OPERATOR, world.secret, "s3cr3t-value", job=world.job, secret=True)
    return world
