"""Manual runs with an Idempotency-Key, on SQLite and PostgreSQL: exactly once by key.

Fifty callers at once with one key create one execution and all get it back (the
store's unique key decides, then each re-reads the winner). The key remembers what was
asked: the same key with other params is refused (422, reason
``idempotency-key-reused``, field ``Idempotency-Key``) and creates nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecron.auth import LOCAL_OPERATOR, AuditOutcome
from vecron.errors import ValidationError
from vecron.models.execution import request_fingerprint
from vecron.runtime import Runtime

AT_ONCE = 50


async def save(rt: Runtime, name: str, **fields: Any) -> None:
    document = {"name": name, "steps": [{"id": "a", "type": "record"}], **fields}
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))


async def test_fifty_calls_with_one_key_create_one_execution(rt: Runtime) -> None:
    await save(rt, "orders", allow_concurrent=True)
    results = await asyncio.gather(
        *(
            rt.triggers.fire(
                LOCAL_OPERATOR,
                "orders",
                params={"order": 7},
                idempotency_key="order-7",
                kind="manual",
            )
            for _ in range(AT_ONCE)
        )
    )
    ids = {fired.execution.id for fired in results}
    assert len(ids) == 1, results
    assert sum(fired.created for fired in results) == 1
    job = await rt.store.get_job("orders")
    stored = await rt.store.list_executions(job_id=job.id, limit=100)
    assert [e.id for e in stored] == list(ids)
    assert stored[0].request_fingerprint == request_fingerprint({"params": {"order": 7}})
    # Audited once: the repeats changed nothing.
    assert len(await rt.store.list_audit(action="job.run")) == 1


async def test_the_same_key_for_another_request_is_refused(rt: Runtime) -> None:
    await save(rt, "orders", allow_concurrent=True)
    fired = await rt.triggers.fire(
        LOCAL_OPERATOR,
        "orders",
        params={"order": 7, "region": "vn"},
        idempotency_key="k",
        kind="manual",
    )
    first, created = fired.execution, fired.created
    assert created
    # Key order does not matter: the fingerprint is of canonical JSON.
    fired = await rt.triggers.fire(
        LOCAL_OPERATOR,
        "orders",
        params={"region": "vn", "order": 7},
        idempotency_key="k",
        kind="manual",
    )
    again, created = fired.execution, fired.created
    assert (again.id, created) == (first.id, False)
    for other in ({"order": 8, "region": "vn"}, {}, None):
        with pytest.raises(ValidationError) as refused:
            await rt.triggers.fire(
                LOCAL_OPERATOR, "orders", params=other, idempotency_key="k", kind="manual"
            )
        error = refused.value
        assert (error.status, error.field, error.problems[0].code) == (
            422,
            "Idempotency-Key",
            "idempotency-key-reused",
        )
        assert "order" not in error.message  # names no parameter value
    job = await rt.store.get_job("orders")
    assert [e.id for e in await rt.store.list_executions(job_id=job.id)] == [first.id]
    failed = [
        e for e in await rt.store.list_audit(action="job.run") if e.outcome is AuditOutcome.FAILED
    ]
    assert len(failed) == 3
    assert failed[0].detail == {"reason": "idempotency-key-reused", "execution": first.id}
    # A key is per job: another job takes the same key for its own run.
    await save(rt, "refunds")
    fired = await rt.triggers.fire(LOCAL_OPERATOR, "refunds", idempotency_key="k", kind="manual")
    other_job, created = fired.execution, fired.created
    assert created and other_job.id != first.id


async def test_keys_that_are_empty_or_too_long_are_refused(rt: Runtime) -> None:
    await save(rt, "orders")
    for key in ("", "k" * 201):
        with pytest.raises(ValidationError) as bad:
            await rt.triggers.fire(LOCAL_OPERATOR, "orders", idempotency_key=key, kind="manual")
        assert bad.value.field == "Idempotency-Key"
    fired = await rt.triggers.fire(
        LOCAL_OPERATOR, "orders", idempotency_key="k" * 200, kind="manual"
    )
    execution, created = fired.execution, fired.created
    assert created and execution.idempotency_key.endswith("k" * 200)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=4), json_values, max_size=5))
def test_a_fingerprint_ignores_key_order_and_nothing_else(params: dict[str, Any]) -> None:
    reordered = dict(reversed(list(params.items())))
    assert request_fingerprint({"params": params}) == request_fingerprint({"params": reordered})
    assert len(request_fingerprint({"params": params})) == 64
    changed = {**params, "\x00extra": 1}
    assert request_fingerprint({"params": params}) != request_fingerprint({"params": changed})
