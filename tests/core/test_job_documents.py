"""Job documents already read (the API's bodies): validate reports every problem of every
document and saves nothing; apply_documents saves all or none with diffs; create never
replaces a job — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vecron.auth import LOCAL_OPERATOR, AuditOutcome
from vecron.errors import ConflictError, ValidationError
from vecron.runtime import Runtime
from vecron.secrets.redaction import MASK

SECRET = "apply-secret-77"


def document(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "steps": [{"id": "a", "type": "record"}], **fields}


def bad_step(name: str) -> dict[str, Any]:
    return {"name": name, "steps": [{"id": "a", "type": "teleport", "colour": "red"}]}


async def state(rt: Runtime) -> tuple[Any, ...]:
    jobs = [(j.name, j.version) for j in await rt.store.list_jobs()]
    return (await rt.store.revision(), jobs, len(await rt.store.list_audit(limit=10_000)))


async def test_validate_reports_every_problem_of_every_document(rt: Runtime) -> None:
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document("kept")))
    before = await state(rt)
    report = await rt.jobs.validate(
        LOCAL_OPERATOR,
        [
            ("documents[0]", document("good")),
            ("documents[1]", bad_step("bad")),
            ("documents[2]", {**document("zone"), "timezone": "Mars/Base"}),
            ("documents[3]", document("good")),
            ("documents[4]", "not a document"),
            ("file.yaml", [document("listed"), {"steps": []}]),
        ],
    )
    assert not report.valid
    assert [(d.source, d.name, d.valid) for d in report.documents] == [
        ("documents[0]", "good", True),
        ("documents[1]", "bad", False),
        ("documents[2]", "zone", False),
        ("documents[3]", "good", False),
        ("documents[4]", None, False),
        ("file.yaml[0]", "listed", True),
        ("file.yaml[1]", None, False),
    ]
    found = {(p.source, p.field, p.code) for p in report.problems}
    assert ("documents[1]", "steps[0].type") in {(source, field) for source, field, _ in found}
    assert ("documents[2]", "timezone", "unknown-time-zone") in found
    assert ("documents[3]", "name", "duplicate-name") in found
    assert ("documents[4]", None, "not-an-object") in found
    assert {source for source, _, _ in found} == {
        "documents[1]",
        "documents[2]",
        "documents[3]",
        "documents[4]",
        "file.yaml[1]",
    }
    assert all(p.message for p in report.problems)
    assert await state(rt) == before  # nothing saved, nothing audited

    clean = await rt.jobs.validate(LOCAL_OPERATOR, [("doc", document("fine"))])
    assert clean.valid and clean.problems == [] and clean.documents[0].name == "fine"
    with pytest.raises(ValidationError) as empty:
        await rt.jobs.validate(LOCAL_OPERATOR, [])
    assert empty.value.field == "documents"


async def test_apply_documents_saves_all_or_none_with_diffs(rt: Runtime) -> None:
    step = {"id": "call", "type": "http", "url": "http://127.0.0.1:9/a"}
    secret = {**step, "auth": {"type": "bearer", "token": SECRET}}
    first = await rt.jobs.apply_documents(
        LOCAL_OPERATOR,
        [("documents[0]", {"name": "api", "steps": [secret]}), ("documents[1]", document("b"))],
    )
    assert [(a.name, a.source, a.change, a.version) for a in first] == [
        ("api", "documents[0]", "created", 1),
        ("b", "documents[1]", "created", 1),
    ]
    changed = {**secret, "url": "http://127.0.0.1:9/z"}
    second = await rt.jobs.apply_documents(
        LOCAL_OPERATOR,
        [("documents[0]", {"name": "api", "steps": [changed]}), ("documents[1]", document("b"))],
    )
    assert [(a.change, a.version) for a in second] == [("updated", 2), ("unchanged", 1)]
    assert "127.0.0.1:9/z" in second[0].diff and MASK in first[0].diff
    assert SECRET not in first[0].diff + second[0].diff
    # One bad document among good ones: every problem raised, nothing saved.
    before = await state(rt)
    with pytest.raises(ValidationError) as bad:
        await rt.jobs.apply_documents(
            LOCAL_OPERATOR,
            [
                ("documents[0]", document("new-one")),
                ("documents[1]", bad_step("x")),
                ("documents[2]", {**document("y"), "timezone": "Mars/Base"}),
            ],
        )
    sources = {p.source for p in bad.value.problems}
    assert sources == {"documents[1]", "documents[2]"} and len(bad.value.problems) == 2
    assert bad.value.status == 422
    assert await state(rt) == before
    # One problem alone still names its document.
    with pytest.raises(ValidationError) as one:
        await rt.jobs.apply_documents(LOCAL_OPERATOR, [("documents[0]", "nope")])
    assert one.value.source == "documents[0]"
    # A dry run says what would change and saves nothing.
    dry = await rt.jobs.apply_documents(
        LOCAL_OPERATOR, [("d", document("b", description="new words"))], dry_run=True
    )
    assert [(a.change, a.version) for a in dry] == [("updated", 2)]
    assert await state(rt) == before


async def test_create_never_replaces_a_job(rt: Runtime) -> None:
    saved = await rt.jobs.create(LOCAL_OPERATOR, rt.jobs.parse(document("once")))
    assert (saved.change, saved.job.version) == ("created", 1)
    with pytest.raises(ConflictError) as taken:
        await rt.jobs.create(LOCAL_OPERATOR, rt.jobs.parse(document("once", description="other")))
    assert taken.value.problems[0].code == "job-exists" and taken.value.status == 409
    assert (await rt.store.get_job("once")).version == 1
    # Creates at the same instant: exactly one wins.
    results = await asyncio.gather(
        *(
            rt.jobs.create(LOCAL_OPERATOR, rt.jobs.parse(document("race", description=str(n))))
            for n in range(8)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert all(isinstance(r, ConflictError) for r in results if r not in won)
    assert (await rt.store.get_job("race")).version == 1
    created = [
        e
        for e in await rt.store.list_audit(action="job.create")
        if e.outcome is AuditOutcome.OK and e.resource == "job:race"
    ]
    assert len(created) == 1


@pytest.mark.parametrize("steps", [True, False, 1, "a", {"id": "a"}, None])
@pytest.mark.parametrize("triggers", [True, 0, "cron", {"type": "manual"}])
def test_steps_or_triggers_of_the_wrong_type_are_a_problem_not_a_crash(
    rt: Runtime, steps: Any, triggers: Any
) -> None:
    # Found by schemathesis: `steps: true` made the cross-field rules iterate a bool (500).
    with pytest.raises(ValidationError) as raised:
        rt.jobs.parse({"name": "odd", "steps": steps, "triggers": triggers})
    fields = {problem.field for problem in raised.value.problems}
    assert "steps" in fields or steps is False or steps is None
