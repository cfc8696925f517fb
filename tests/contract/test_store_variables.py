"""The store's variable methods, on SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vecron.ids import new_id
from vecron.models.definition import JobDefinition, StepSpec, TriggerSpec
from vecron.store.base import StoredVariable
from vecron.store.sql import SqlStore
from vecron.store.statements import IN_CHUNK

from .conftest import StoreFactory

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


async def make_job(store: SqlStore, name: str) -> str:
    definition = JobDefinition(
        name=name,
        timezone="UTC",
        triggers=[TriggerSpec(type="manual", config={})],
        steps=[StepSpec(id="call", type="http", config={"url": "http://127.0.0.1/a"})],
    )
    saved = await store.save_job(definition, next_fire_at=None, now=T0)
    return saved.job.id


def named(found: list[StoredVariable]) -> list[tuple[str | None, str, str]]:
    return [(v.scope, v.name, v.value) for v in found]


async def test_set_get_replace_and_delete_a_global_variable(store: SqlStore) -> None:
    assert await store.get_variable(None, "A") is None
    created = await store.set_variable(None, "A", "one", secret=False, now=T0)
    assert (created.scope, created.name, created.value, created.secret) == (None, "A", "one", False)
    assert created.created_at == T0 == created.updated_at

    replaced = await store.set_variable(None, "A", "two", secret=True, now=T1)
    assert (replaced.value, replaced.secret) == ("two", True)
    assert replaced.created_at == T0  # a replace keeps when it was created
    assert replaced.updated_at == T1
    assert await store.get_variable(None, "A") == replaced

    assert await store.delete_variable(None, "A") is True
    assert await store.get_variable(None, "A") is None
    assert await store.delete_variable(None, "A") is False


async def test_scopes_are_separate(store: SqlStore) -> None:
    job = await make_job(store, "report")
    await store.set_variable(None, "URL", "global", secret=False, now=T0)
    await store.set_variable(job, "URL", "job", secret=False, now=T0)

    assert (await store.get_variable(None, "URL")).value == "global"  # type: ignore[union-attr]
    own = await store.get_variable(job, "URL")
    assert own is not None
    assert (own.scope, own.value) == (job, "job")
    # Exactly that scope: a job without its own variable does not see the global here.
    assert await store.get_variable(job, "OTHER") is None
    await store.set_variable(None, "OTHER", "g", secret=False, now=T0)
    assert await store.get_variable(job, "OTHER") is None

    assert await store.delete_variable(job, "URL") is True
    assert (await store.get_variable(None, "URL")).value == "global"  # type: ignore[union-attr]


async def test_list_variables_by_scope_and_all_globals_first(store: SqlStore) -> None:
    first, second = await make_job(store, "a"), await make_job(store, "b")
    await store.set_variable(second, "Z", "2", secret=False, now=T0)
    await store.set_variable(first, "B", "1", secret=False, now=T0)
    await store.set_variable(None, "Y", "g", secret=False, now=T0)
    await store.set_variable(None, "A", "g", secret=False, now=T0)

    assert named(await store.list_variables()) == [(None, "A", "g"), (None, "Y", "g")]
    assert named(await store.list_variables(scope=first)) == [(first, "B", "1")]
    everything = named(await store.list_variables(every_scope=True))
    assert everything[:2] == [(None, "A", "g"), (None, "Y", "g")]
    assert sorted(everything[2:]) == sorted([(first, "B", "1"), (second, "Z", "2")])
    assert len(everything) == 4


async def test_variables_for_jobs_puts_a_jobs_own_after_the_globals(store: SqlStore) -> None:
    job, other = await make_job(store, "a"), await make_job(store, "b")
    await store.set_variable(None, "URL", "global-url", secret=False, now=T0)
    await store.set_variable(None, "ONLY_GLOBAL", "g", secret=False, now=T0)
    await store.set_variable(job, "URL", "job-url", secret=False, now=T0)
    await store.set_variable(other, "OTHER", "o", secret=False, now=T0)

    found = await store.variables_for_jobs([job, other, "no-such-job"])
    assert set(found) == {job, other, "no-such-job"}
    # Later wins: a dict built in order gives the job's own value.
    assert {v.name: v.value for v in found[job]} == {"URL": "job-url", "ONLY_GLOBAL": "g"}
    assert {v.name: v.value for v in found[other]} == {
        "URL": "global-url",
        "ONLY_GLOBAL": "g",
        "OTHER": "o",
    }
    assert named(found["no-such-job"]) == [(None, "ONLY_GLOBAL", "g"), (None, "URL", "global-url")]
    assert named(await store.variables_for_job(job)) == named(found[job])
    assert await store.variables_for_jobs([]) == {}


async def test_variables_for_more_jobs_than_one_in_list_holds(store: SqlStore) -> None:
    await store.set_variable(None, "G", "g", secret=False, now=T0)
    ids = [new_id() for _ in range(IN_CHUNK + 5)]
    last = ids[-1]
    await store.set_variable(last, "G", "mine", secret=False, now=T0)
    found = await store.variables_for_jobs(ids)
    assert len(found) == len(ids)
    assert {v.name: v.value for v in found[last]} == {"G": "mine"}
    # Every job of every chunk still gets the globals exactly once.
    assert all(named(found[i]) == [(None, "G", "g")] for i in ids[:-1])


async def test_a_change_is_seen_by_another_store_at_once(store_factory: StoreFactory) -> None:
    writer, reader = await store_factory(), await store_factory()
    job = await make_job(writer, "report")
    assert await reader.variables_for_job(job) == []
    await writer.set_variable(job, "V", "1", secret=False, now=T0)
    assert named(await reader.variables_for_job(job)) == [(job, "V", "1")]
    await writer.set_variable(job, "V", "2", secret=False, now=T1)
    assert named(await reader.variables_for_job(job)) == [(job, "V", "2")]


async def test_deleting_a_job_deletes_its_variables_only(store: SqlStore) -> None:
    job, other = await make_job(store, "a"), await make_job(store, "b")
    await store.set_variable(None, "G", "g", secret=False, now=T0)
    await store.set_variable(job, "MINE", "m", secret=True, now=T0)
    await store.set_variable(other, "THEIRS", "t", secret=False, now=T0)
    await store.delete_job(job)
    assert named(await store.list_variables(every_scope=True)) == [
        (None, "G", "g"),
        (other, "THEIRS", "t"),
    ]


async def test_rotate_replaces_every_secret_token_and_nothing_else(store: SqlStore) -> None:
    job = await make_job(store, "a")
    await store.set_variable(None, "PLAIN", "p", secret=False, now=T0)
    await store.set_variable(None, "S1", "token-1", secret=True, now=T0)
    await store.set_variable(job, "S2", "token-2", secret=True, now=T0)
    seen: list[tuple[str | None, str]] = []

    def rotate(variable: StoredVariable) -> str:
        assert variable.secret
        seen.append((variable.scope, variable.name))
        return variable.value.replace("token", "rotated")

    assert await store.rotate_secret_values(rotate) == 2
    assert sorted(seen, key=lambda s: s[1]) == [(None, "S1"), (job, "S2")]
    assert (await store.get_variable(None, "S1")).value == "rotated-1"  # type: ignore[union-attr]
    assert (await store.get_variable(job, "S2")).value == "rotated-2"  # type: ignore[union-attr]
    assert (await store.get_variable(None, "PLAIN")).value == "p"  # type: ignore[union-attr]
    assert await store.rotate_secret_values(rotate) == 2


async def test_rotate_changes_nothing_when_one_value_fails(store: SqlStore) -> None:
    for index in range(5):
        await store.set_variable(None, f"S{index}", f"token-{index}", secret=True, now=T0)

    def rotate(variable: StoredVariable) -> str:
        if variable.name == "S3":
            raise RuntimeError("cannot decrypt S3")
        return "rotated"

    with pytest.raises(RuntimeError, match="S3"):
        await store.rotate_secret_values(rotate)
    values = {v.name: v.value for v in await store.list_variables()}
    assert values == {f"S{i}": f"token-{i}" for i in range(5)}
    assert await store.rotate_secret_values(lambda v: "x") == 5


async def test_any_text_value_round_trips(store: SqlStore) -> None:
    # Multi-line, unicode, quotes and an empty string come back byte for byte.
    values = [
        "",
        "line 1\nline 2\r\n",
        "emoji ✓ 日本",
        "'\"; DROP TABLE variables; --",
        "x" * 70_000,
    ]
    for index, value in enumerate(values):
        await store.set_variable(None, f"V{index}", value, secret=False, now=T0)
    assert [v.value for v in await store.list_variables()] == values
