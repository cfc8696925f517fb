"""Issue 12, acceptance 5: export → import into an empty installation gives jobs equal to
the originals, variables included; the export holds no secret value in any spelling; a
placeholder left without a value fails the import, names it and saves nothing. And the
conflict policies and best effort of an import."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pluggy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.spellings import exposed
from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ConflictError, ValidationError
from vecron.jobs.portable import SECRET_KEY
from vecron.runtime import Runtime
from vecron.settings import Settings
from vecron.templates import maskable

OP = LOCAL_OPERATOR
KNOWN_HOSTS = (
    "sftp.example.com ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
)
#: An sftp step's config but for its login.
SFTP_DOWNLOAD = {
    "type": "sftp",
    "host": "sftp.example.com",
    "username": "partner",
    "known_hosts": KNOWN_HOSTS,
    "action": "download",
    "remote": "inbox/*.csv",
}
#: One Fernet key for both installations would hide a token copied across; each has its own.
KEYS = (
    "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
    "2q3ZzkbHUWZfXB4p4MxDUPFnnOHNd6mfPnVYEw9e3D8=",
)

# Text a secret may be: no braces (a template), no control characters (a header), and one
# character outside ASCII, so that it cannot be in a timestamp or an id by chance.
_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="{}%"
)
secrets = st.builds(
    lambda head, rare, tail: head + rare + tail,
    st.text(_CHARS, max_size=10),
    st.characters(min_codepoint=0xC0, max_codepoint=0x2FFF, categories=("L",)),
    st.text(_CHARS, max_size=10),
).filter(lambda s: maskable(s) and s == s.strip())
plain = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)
header_names = st.from_regex(r"X-[A-Z][a-z]{1,8}", fullmatch=True)


def http_steps(step_id: str) -> st.SearchStrategy[dict[str, Any]]:
    auth = st.one_of(
        st.none(),
        st.builds(lambda u, p: {"type": "basic", "username": u, "password": p}, plain, secrets),
        st.builds(lambda t: {"type": "bearer", "token": t}, secrets),
        st.builds(
            lambda c, s: {
                "type": "oauth2_client_credentials",
                "token_url": "https://auth.example.com/token",
                "client_id": c,
                "client_secret": s,
            },
            plain,
            secrets,
        ),
    )
    return st.builds(
        lambda method, auth, headers, secret_headers: {
            "id": step_id,
            "type": "http",
            "method": method,
            "url": "https://api.example.com/{{ vars.PATH }}",
            "headers": headers,
            "secret_headers": secret_headers,
            **({"auth": auth} if auth else {}),
        },
        st.sampled_from(["GET", "POST"]),
        auth,
        st.dictionaries(header_names, plain, max_size=2),
        st.dictionaries(header_names, secrets, max_size=2),
    )


def database_steps(step_id: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda user, pw, password: {
            "id": step_id,
            "type": "database",
            "dsn": f"postgresql://{user}:{quote(pw, safe='')}@db.example.com/app",
            **({"password": password} if password else {}),
            "sql": "SELECT 1",
        },
        plain,
        secrets,
        st.none() | secrets,
    )


def sftp_steps(step_id: str) -> st.SearchStrategy[dict[str, Any]]:
    login = st.one_of(
        st.builds(lambda p: {"password": p}, secrets),
        st.builds(
            lambda key, phrase: {"private_key": key, **({"passphrase": phrase} if phrase else {})},
            secrets,
            st.none() | secrets,
        ),
    )
    return st.builds(lambda login: {"id": step_id, **SFTP_DOWNLOAD, **login}, login)


def files_steps(step_id: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda rows: {"id": step_id, "type": "files", "rows": rows, "output": {"name": "r.csv"}},
        st.lists(st.fixed_dictionaries({"city": plain}), min_size=1, max_size=3),
    )


STEPS = {"http": http_steps, "database": database_steps, "sftp": sftp_steps, "files": files_steps}
TRIGGERS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "manual": st.just({"type": "manual"}),
    "cron": st.sampled_from(["0 */5 * * * ?", "0 0 9 ? * MON-FRI", "*/10 * * * *"]).map(
        lambda e: {"type": "cron", "expression": e}
    ),
    "fixed_rate": st.integers(1, 86_400).map(lambda s: {"type": "fixed_rate", "period": s}),
    "fixed_delay": st.integers(1, 86_400).map(lambda s: {"type": "fixed_delay", "delay": s}),
    "once": st.integers(1, 10_000).map(
        lambda h: {
            "type": "once",
            "at": (datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=h)).isoformat(),
        }
    ),
    # The signing secret is the installation's, not the job's: an imported job gets an
    # endpoint and secret of its own (docs/webhooks.md); the settings travel.
    "webhook": st.fixed_dictionaries(
        {
            "type": st.just("webhook"),
            "rate": st.floats(0.5, 1000, allow_nan=False),
            "burst": st.integers(1, 1000),
            "grace": st.integers(0, 3600),
        }
    ),
}


@st.composite
def jobs(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=4))
    steps = [draw(STEPS[kind](f"s{index}")) for index, kind in enumerate(kinds)]
    kinds = draw(st.lists(st.sampled_from(sorted(TRIGGERS)), min_size=1, max_size=3, unique=True))
    triggers = [draw(TRIGGERS[kind]) for kind in kinds]
    return {
        "name": name,
        "description": draw(plain),
        "enabled": draw(st.booleans()),
        "timezone": draw(st.sampled_from(["UTC", "Asia/Ho_Chi_Minh", "Europe/Berlin"])),
        "triggers": triggers,
        "steps": steps,
        "retry": {"max_attempts": draw(st.integers(1, 5))},
        "tags": draw(st.lists(plain, max_size=2)),
    }


variables = st.dictionaries(
    st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True),
    st.tuples(st.booleans(), secrets | plain).filter(lambda v: not v[0] or maskable(v[1])),
    max_size=3,
)


World = list[tuple[dict[str, Any], dict[str, tuple[bool, str]]]]


@st.composite
def installations(draw: st.DrawFn) -> World:
    """One to three jobs, each with its own variables."""
    count = draw(st.integers(1, 3))
    return [(draw(jobs(f"job-{index}.x")), draw(variables)) for index in range(count)]


def settings_in(home: Path, key: str) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{home}/vecron.db",
        storage_url=f"file://{home}/storage",
        secret_keys=(key,),
        port=0,
    )


@asynccontextmanager
async def installation(pm: pluggy.PluginManager, key: str) -> AsyncIterator[Runtime]:
    with tempfile.TemporaryDirectory() as home:
        async with Runtime(settings_in(Path(home), key), pm=pm) as rt:
            yield rt


def secret_values(
    world: list[tuple[dict[str, Any], dict[str, tuple[bool, str]]]], export: dict[str, Any]
) -> dict[str, str]:
    """What the user supplies: each placeholder's value, looked up in what was written."""
    by_job = {job["name"]: (job, values) for job, values in world}
    supplied: dict[str, str] = {}
    for name in export["secrets"]:
        job_name, where = name.split("/", 1)
        job, values = by_job[job_name]
        if where.startswith("vars."):
            supplied[name] = values[where.removeprefix("vars.")][1]
            continue
        _, step_id, *path = where.split(".")
        value: Any = next(s for s in job["steps"] if s["id"] == step_id)
        for part in path:
            value = value[part]
        supplied[name] = value
    return supplied


def written_secrets(world: list[tuple[dict[str, Any], dict[str, tuple[bool, str]]]]) -> set[str]:
    found = {v for _, values in world for secret, v in values.values() if secret}
    for job, _ in world:
        for step in job["steps"]:
            found |= {v for k, v in step.items() if k in SECRET_FIELDS and isinstance(v, str)}
            found |= set(step.get("secret_headers", {}).values())
            auth = step.get("auth") or {}
            found |= {auth[k] for k in ("password", "token", "client_secret") if k in auth}
    return found


SECRET_FIELDS = {"dsn", "password", "private_key", "passphrase"}


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    from vecron.plugin.manager import get_plugin_manager

    return get_plugin_manager()


def test_the_strategies_cover_every_installed_step_type_and_trigger_kind(
    pm: pluggy.PluginManager,
) -> None:
    from vecron.plugin.manager import build_registry

    registry = build_registry(pm)
    assert set(STEPS) == set(registry.executors), "add a strategy for the new step type"
    assert set(TRIGGERS) == set(registry.triggers), "add a strategy for the new trigger kind"


#: Every step type and trigger kind in one job, every secret field set: the example the
#: round trip always runs, whatever hypothesis draws besides.
EVERYTHING: World = [
    (
        {
            "name": "everything",
            "triggers": [
                {"type": "manual"},
                {"type": "cron", "expression": "0 0 6 * * ?"},
                {"type": "fixed_rate", "period": 300},
                {"type": "fixed_delay", "delay": 60},
                {"type": "once", "at": "2031-01-01T09:00:00+07:00"},
            ],
            "steps": [
                {
                    "id": "call",
                    "type": "http",
                    "url": "https://api.example.com/x",
                    "auth": {"type": "basic", "username": "u", "password": "pässwort-1"},
                    "secret_headers": {"X-Api-Key": "kéy-2"},
                },
                {
                    "id": "load",
                    "type": "database",
                    "dsn": "postgresql://app:dsn-pässword@db.example.com/app",
                    "password": "pw-ñ-3",
                    "sql": "SELECT 1",
                },
                {
                    "id": "fetch",
                    **SFTP_DOWNLOAD,
                    "private_key": "këy-4",
                    "passphrase": "phräse-5",
                },
                {"id": "write", "type": "files", "rows": [{"a": 1}], "output": {"name": "r.csv"}},
            ],
        },
        {"TOKEN": (True, "tökén-6"), "REGION": (False, "eu")},
    )
]


@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(world=installations())
@example(world=EVERYTHING)
def test_export_then_import_gives_equal_jobs_and_no_secret_in_the_file(
    pm: pluggy.PluginManager, world: World
) -> None:
    asyncio.run(round_trip(pm, world))


async def round_trip(pm: pluggy.PluginManager, world: World) -> None:
    async with installation(pm, KEYS[0]) as source:
        for job, values in world:
            await source.jobs.save(OP, source.jobs.parse(job))
            for name, (secret, value) in values.items():
                await source.variables.set(OP, name, value, job=job["name"], secret=secret)
        names = [job["name"] for job, _ in world]
        export = (await source.jobs.export(OP, names)).model_dump(mode="json")
        originals = {n: (await source.store.get_job(n)) for n in names}
        original_vars = {n: await source.variables.list(OP, job=n) for n in names}

    for text in (json.dumps(export, ensure_ascii=False), json.dumps(export)):
        for secret in written_secrets(world):
            assert exposed(text, secret) == [], f"{secret!r} is in the export"

    supplied = secret_values(world, export)
    assert set(supplied.values()) == written_secrets(world), "a secret has no placeholder"
    async with installation(pm, KEYS[1]) as target:
        report = await target.jobs.import_(OP, export, secrets=supplied)
        assert (report.saved, report.failed) == (len(world), 0)
        for name, original in originals.items():
            imported = await target.store.get_job(name)
            assert imported.definition == original.definition
            assert (imported.enabled, imported.version) == (original.enabled, 1)
            views = await target.variables.list(OP, job=name)
            assert [(v.name, v.secret) for v in views] == [
                (v.name, v.secret) for v in original_vars[name]
            ]
            for view in views:
                revealed = await target.variables.reveal(OP, view.name, job=name)
                job_values = next(values for job, values in world if job["name"] == name)
                assert revealed.value == job_values[view.name][1]


async def test_a_placeholder_without_a_value_fails_naming_it_and_saves_nothing(
    pm: pluggy.PluginManager,
) -> None:
    ok = {
        "name": "fine",
        "steps": [{"id": "a", "type": "files", "rows": [{"x": 1}], "output": {"name": "r.csv"}}],
    }
    guarded = {
        "name": "guarded",
        "steps": [
            {
                "id": "call",
                "type": "http",
                "url": "https://api.example.com",
                "auth": {"type": "bearer", "token": "t0ken-ünused"},
            }
        ],
    }
    async with installation(pm, KEYS[0]) as source:
        for document in (ok, guarded):
            await source.jobs.save(OP, source.jobs.parse(document))
        await source.variables.set(OP, "TOKEN", "v4lue-ß", job="guarded", secret=True)
        export = (await source.jobs.export(OP, all_jobs=True)).model_dump(mode="json")
    assert export["secrets"] == ["guarded/steps.call.auth.token", "guarded/vars.TOKEN"]
    step = export["jobs"][1]["definition"]["steps"][0]
    assert step["auth"]["token"] == {SECRET_KEY: "guarded/steps.call.auth.token"}

    async with installation(pm, KEYS[1]) as target:
        with pytest.raises(ValidationError) as refused:
            await target.jobs.import_(
                OP, export, secrets={"guarded/steps.call.auth.token": "t0ken-ünused"}
            )
        assert "guarded/vars.TOKEN" in refused.value.one_line()
        [problem] = refused.value.problems
        assert (problem.code, problem.source) == ("secret-missing", "jobs[1]")
        assert problem.params["missing"] == ["guarded/vars.TOKEN"]
        assert await target.store.list_jobs() == []  # "fine" was not saved either
        assert await target.store.list_variables(every_scope=True) == []

        # Best effort saves the job that can be saved and reports the other.
        report = await target.jobs.import_(OP, export, best_effort=True)
        assert [(j.name, j.change) for j in report.jobs] == [
            ("fine", "created"),
            ("guarded", "failed"),
        ]
        assert report.missing_secrets == [
            "guarded/steps.call.auth.token",
            "guarded/vars.TOKEN",
        ]
        assert [j.name for j in await target.store.list_jobs()] == ["fine"]


async def test_a_secret_for_no_placeholder_is_refused(pm: pluggy.PluginManager) -> None:
    async with installation(pm, KEYS[0]) as rt:
        await rt.jobs.save(OP, rt.jobs.parse(FILES_JOB))
        export = (await rt.jobs.export(OP, ["plain"])).model_dump(mode="json")
        with pytest.raises(ValidationError) as refused:
            await rt.jobs.import_(OP, export, secrets={"plain/vars.TYPO": "x"})
        assert refused.value.problems[0].code == "unknown-secret"
        assert "plain/vars.TYPO" in refused.value.message


FILES_JOB = {
    "name": "plain",
    "steps": [{"id": "a", "type": "files", "rows": [{"x": 1}], "output": {"name": "r.csv"}}],
}


async def test_conflict_policies(pm: pluggy.PluginManager) -> None:
    async with installation(pm, KEYS[0]) as rt:
        await rt.jobs.save(OP, rt.jobs.parse(FILES_JOB))
        await rt.variables.set(OP, "COLOUR", "blue", job="plain")
        export = (await rt.jobs.export(OP, ["plain"])).model_dump(mode="json")
        changed = json.loads(json.dumps(export))
        changed["jobs"][0]["definition"]["description"] = "changed"
        changed["jobs"][0]["variables"][0]["value"] = "red"

        with pytest.raises(ConflictError) as taken:
            await rt.jobs.import_(OP, changed)
        assert taken.value.problems[0].code == "job-exists"
        assert (await rt.store.get_job("plain")).version == 1

        renamed = await rt.jobs.import_(OP, changed, on_conflict="rename")
        again = await rt.jobs.import_(OP, changed, on_conflict="rename")
        assert [j.saved_as for j in (*renamed.jobs, *again.jobs)] == ["plain-2", "plain-3"]
        assert (await rt.variables.get(OP, "COLOUR", job="plain-2")).value == "red"

        overwritten = await rt.jobs.import_(OP, changed, on_conflict="overwrite")
        assert [(j.saved_as, j.change, j.version) for j in overwritten.jobs] == [
            ("plain", "updated", 2)
        ]
        assert (await rt.store.get_job("plain")).definition.description == "changed"
        assert (await rt.variables.get(OP, "COLOUR", job="plain")).value == "red"
        actions = [e.action for e in await rt.store.list_audit(limit=100)]
        assert actions.count("job.import") == 3 and actions.count("job.export") == 1


async def test_jobs_and_variables_are_saved_together_or_not_at_all(
    pm: pluggy.PluginManager,
) -> None:
    """A variable that cannot be written (NUL is refused by PostgreSQL and checked first
    here) fails the import before anything is saved; a failure inside the transaction,
    after the jobs were written, undoes them too."""
    async with installation(pm, KEYS[0]) as rt:
        export = {
            "format_version": 1,
            "exported_at": "2026-12-07T00:00:00Z",
            "exported_by": "test",
            "vecron_version": None,
            "jobs": [
                {"definition": FILES_JOB, "variables": [{"name": "OK", "value": "v"}]},
                {
                    "definition": {**FILES_JOB, "name": "other"},
                    "variables": [{"name": "BAD", "value": "nul\x00"}],
                },
            ],
        }
        with pytest.raises(ValidationError) as refused:
            await rt.jobs.import_(OP, export)
        assert refused.value.problems[0].field == "variables[0].value"
        assert await rt.store.list_jobs() == []

        def broken(_: Any) -> Any:
            raise RuntimeError("the disk is full")

        export["jobs"][1]["variables"] = []
        original = rt.store.save_jobs

        async def failing_variables(*args: Any, **kwargs: Any) -> Any:
            return await original(*args, **{**kwargs, "variables": broken})

        rt.store.save_jobs = failing_variables  # type: ignore[method-assign]  # a fault
        with pytest.raises(RuntimeError):
            await rt.jobs.import_(OP, export)
        rt.store.save_jobs = original  # type: ignore[method-assign]
        assert await rt.store.list_jobs() == []
        assert await rt.store.list_variables(every_scope=True) == []


async def test_a_name_taken_while_importing_is_refused_by_the_saving_transaction(
    pm: pluggy.PluginManager,
) -> None:
    """Another job of the name is created between the import's look and its save: the
    store's own check refuses it (best effort: that job's problem)."""
    async with installation(pm, KEYS[0]) as rt:
        await rt.jobs.save(OP, rt.jobs.parse(FILES_JOB))
        export = (await rt.jobs.export(OP, ["plain"])).model_dump(mode="json")
        looked = rt.store.jobs_by_name

        async def before_the_other_create(names: Any) -> dict[str, Any]:
            return {}  # a fault: what the look saw before the concurrent create

        rt.store.jobs_by_name = before_the_other_create  # type: ignore[method-assign]
        try:
            with pytest.raises(ConflictError):
                await rt.jobs.import_(OP, export)
            report = await rt.jobs.import_(OP, export, best_effort=True)
        finally:
            rt.store.jobs_by_name = looked  # type: ignore[method-assign]
        [job] = report.jobs
        assert (job.change, [p.code for p in job.problems]) == ("failed", ["job-exists"])
        assert (await rt.store.get_job("plain")).version == 1
