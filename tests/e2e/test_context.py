"""Issue 4: a three-step job passes data from step to step through the Job Context,
kept in object storage (file:// and s3://), with secrets masked everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from aiohttp import web

from tests.support.engine import running
from tests.support.s3_fixtures import s3_server_fixture, s3_url_fixture  # noqa: F401
from tests.support.web import serve
from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ValidationError
from vecron.jobs.documents import parse_text
from vecron.models.execution import ExecutionStatus, StepStatus
from vecron.runtime import Runtime
from vecron.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "multi-step.yaml"
EXAMPLE_JOB = "multi-step-example"
TOKEN = "tok-9f3a7c51-very-secret"


class Api:
    def __init__(self) -> None:
        self.posted: list[Any] = []
        self.auth: list[str] = []

    def app(self) -> web.Application:
        async def items(request: web.Request) -> web.Response:
            return web.json_response({"items": [{"id": 42}, {"id": 7}]})

        async def orders(request: web.Request) -> web.Response:
            self.posted.append(await request.json())
            self.auth.append(request.headers.get("Authorization", ""))
            # Echo the token back: the step output must still never show it.
            return web.json_response(
                {"order_id": 9, "echo": request.headers["Authorization"]}, status=201
            )

        app = web.Application()
        app.router.add_get("/items", items)
        app.router.add_post("/orders", orders)
        return app


@pytest.fixture
async def api() -> AsyncIterator[tuple[Api, str]]:
    server = Api()
    async with serve(server.app()) as base:
        yield server, base


@pytest.fixture(params=["file", "s3"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return f"file://{tmp_path}/storage"
    url: str = request.getfixturevalue("s3_url")
    return url


async def context_of(rt: Runtime, execution_id: str) -> Any:
    for _ in range(100):
        detail = await rt.executions.get(LOCAL_OPERATOR, execution_id, context=True)
        if detail.context and detail.context["execution"]["status"] != "running":
            return detail
        await asyncio.sleep(0.05)
    raise AssertionError("the context was never written")


async def test_three_step_example(
    tmp_path: Path, storage_url: str, api: tuple[Api, str], test_pm: pluggy.PluginManager
) -> None:
    server, base = api
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db", storage_url=storage_url, port=0
    )
    async with Runtime(settings, pm=test_pm) as rt:
        await rt.variables.set(LOCAL_OPERATOR, "API_BASE", base)
        await rt.variables.set(LOCAL_OPERATOR, "API_TOKEN", TOKEN, secret=True)
        await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(parse_text(EXAMPLE.read_text())))
        async with running(rt):
            fired = await rt.triggers.fire(LOCAL_OPERATOR, EXAMPLE_JOB, kind="manual", by="alice")
            execution = fired.execution
            await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=30)
            detail = await context_of(rt, execution.id)
        job = await rt.jobs.get(LOCAL_OPERATOR, "multi-step-example")
        stored = await rt.storage.get_json(f"jobs/{job.id}/v1.json")
    assert detail.status is ExecutionStatus.SUCCEEDED
    # Step 2 got a number extracted from step 1 — types preserved — and the trigger data.
    assert server.posted == [{"item_id": 42, "count": 2, "requested_by": "alice"}]
    assert server.auth == [f"Bearer {TOKEN}"]  # the target got the real secret
    statuses = {s.step_id: s.status for s in detail.steps}
    assert statuses == {
        "fetch": StepStatus.SUCCEEDED,
        "post": StepStatus.SUCCEEDED,
        "cleanup": StepStatus.SKIPPED,
    }
    context = detail.context
    assert context is not None
    assert context["steps"]["fetch"]["output"]["body"]["items"][0]["id"] == 42
    assert context["steps"]["cleanup"]["status"] == "skipped"
    assert context["trigger"] == {"type": "manual", "by": "alice", "fire_time": None, "params": {}}
    # The secret the target echoed is masked in the stored outputs and context.
    assert TOKEN not in repr(detail.model_dump())
    assert "**********" in context["steps"]["post"]["output"]["body"]["echo"]
    assert stored["name"] == "multi-step-example"
    # Outputs live only in the context: the database file never saw one.
    assert all(b"echo" not in f.read_bytes() for f in tmp_path.glob("v.db*"))
    assert detail.context_path == f"executions/{execution.id}/context.json"


class FlakyStorage:
    """Fault injection: the first ``failures`` context writes fail."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def wrap(self, rt: Runtime) -> None:
        real = rt.storage.put_many

        async def put_many(items: Any) -> None:
            if self.failures and any(
                key.endswith("context.json") or "/steps/" in key for key, _ in items
            ):
                self.failures -= 1
                raise OSError("storage is down")
            await real(items)

        rt.storage.put_many = put_many  # type: ignore[method-assign]


async def test_a_context_that_cannot_be_saved_retries_the_step(
    tmp_path: Path, api: tuple[Api, str], test_pm: pluggy.PluginManager
) -> None:
    """Outputs are only in the context, so a step whose context write failed is not
    recorded as done: the execution is retried and the output is there in the end."""
    _, base = api
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db",
        storage_url=f"file://{tmp_path}/storage",
        port=0,
    )
    async with Runtime(settings, pm=test_pm) as rt:
        FlakyStorage(1).wrap(rt)
        await rt.variables.set(LOCAL_OPERATOR, "API_BASE", base)
        await rt.variables.set(LOCAL_OPERATOR, "API_TOKEN", TOKEN, secret=True)
        document = parse_text(EXAMPLE.read_text())
        document["retry"] = {"max_attempts": 3, "delay": 0.01}
        await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))
        async with running(rt):
            fired = await rt.triggers.fire(LOCAL_OPERATOR, EXAMPLE_JOB, kind="manual", by="alice")
            execution = fired.execution
            await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=30)
            detail = await context_of(rt, execution.id)
    assert detail.status is ExecutionStatus.SUCCEEDED
    assert detail.attempt == 2
    assert detail.context is not None
    assert detail.context["steps"]["fetch"]["output"]["body"]["items"][0]["id"] == 42
    assert [s.output is not None for s in detail.steps] == [True, True, False]


async def test_undefined_secret_fails_at_run_time_and_is_not_retried(
    tmp_path: Path, test_pm: pluggy.PluginManager
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db",
        storage_url=f"file://{tmp_path}/s",
        port=0,
    )
    async with Runtime(settings, pm=test_pm) as rt:
        await rt.jobs.save(
            LOCAL_OPERATOR,
            rt.jobs.parse(
                {
                    "name": "needs-secret",
                    "retry": {"max_attempts": 5, "delay": 0.01},
                    "steps": [{"id": "a", "type": "record", "label": "{{ vars.MISSING_SECRET }}"}],
                }
            ),
        )
        async with running(rt):
            execution = (
                await rt.triggers.fire(LOCAL_OPERATOR, "needs-secret", kind="manual")
            ).execution
            done = await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=20)
    assert done.status is ExecutionStatus.FAILED
    assert done.attempt == 1  # a template error is final
    assert "vars.MISSING_SECRET" in (done.error or "")
    assert "step 'a'" in (done.error or "")


@pytest.mark.parametrize(
    ("steps", "field", "words"),
    [
        (
            [
                {"id": "a", "type": "record", "label": "{{ steps.b.output.x }}"},
                {"id": "b", "type": "record"},
            ],
            "steps[0].label",
            "runs after",
        ),
        (
            [{"id": "a", "type": "record", "label": "{{ steps.ghost.output }}"}],
            "steps[0].label",
            "no step 'ghost'",
        ),
        (
            [{"id": "a", "type": "record", "when": "steps.zzz.status == 'x'"}],
            "steps[0].when",
            "no step 'zzz'",
        ),
        ([{"id": "a", "type": "record", "label": "{{ ''.__class__ }}"}], "steps[0]", ""),
    ],
)
def test_bad_references_are_rejected_when_applied(
    test_pm: pluggy.PluginManager, steps: list[dict[str, Any]], field: str, words: str
) -> None:
    from vecron.jobs.documents import parse_definition
    from vecron.plugin.manager import build_registry

    with pytest.raises(ValidationError) as info:
        parse_definition(
            {"name": "bad", "steps": steps}, build_registry(test_pm), default_timezone="UTC"
        )
    assert (info.value.field or "").startswith(field)
    assert words in info.value.one_line()


async def test_context_writes_grow_linearly_with_the_number_of_steps(
    tmp_path: Path, test_pm: pluggy.PluginManager
) -> None:
    """Each step writes its own entry and the whole document is written once at the end:
    four times the steps write about four times the bytes (rewriting the document after
    every step wrote sixteen times as much)."""
    written: dict[int, int] = {}
    for count in (20, 80):
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/{count}.db",
            storage_url=f"file://{tmp_path}/storage-{count}",
            port=0,
        )
        async with Runtime(settings, pm=test_pm) as rt:
            real = rt.storage.put_many
            total = 0

            async def put_many(items: Any, real: Any = real) -> None:
                nonlocal total
                total += sum(len(data) for key, data in items if key.startswith("executions/"))
                await real(items)

            rt.storage.put_many = put_many  # type: ignore[method-assign]
            steps = [{"id": f"s{i}", "type": "record", "label": "x" * 200} for i in range(count)]
            await rt.jobs.save(
                LOCAL_OPERATOR,
                rt.jobs.parse({"name": "long", "triggers": [{"type": "manual"}], "steps": steps}),
            )
            async with running(rt):
                execution = (
                    await rt.triggers.fire(LOCAL_OPERATOR, "long", kind="manual")
                ).execution
                detail = await rt.executions.wait(
                    LOCAL_OPERATOR, execution.id, timeout=60, context=True
                )
            assert detail.status is ExecutionStatus.SUCCEEDED
            assert detail.context is not None and len(detail.context["steps"]) == count
            assert all(s.output is not None for s in detail.steps)
            written[count] = total
    assert written[80] < 6 * written[20], written
