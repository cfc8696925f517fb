"""Every state-changing request is audited, refused ones included: a 401 on a write is in
the log as ``anonymous`` from the caller's address, a 403 as the caller; reads refused
for want of credentials are not (they change nothing)."""

from __future__ import annotations

from tests.api.harness import Api, expect_problem
from vecron import LOCAL_OPERATOR


async def test_a_write_without_credentials_is_audited_as_anonymous(api: Api) -> None:
    await expect_problem(
        await api.client.post(
            "/api/v1/variables",
            json={"name": "A", "value": "x"},
            headers={"Authorization": "Bearer static-forged"},
        ),
        401,
    )
    await expect_problem(await api.client.delete("/api/v1/jobs/nightly"), 401)
    await expect_problem(await api.client.get("/api/v1/jobs"), 401)
    page = await api.runtime.audit.list(LOCAL_OPERATOR, actor="anonymous")
    assert [(e.action, e.resource, e.outcome.value) for e in page.items] == [
        ("api.deleteJob", "api:DELETE /api/v1/jobs/nightly", "denied"),
        ("api.createVariable", "api:POST /api/v1/variables", "denied"),
    ]
    assert all(e.address == "127.0.0.1" and e.source == "api" for e in page.items)
    assert "static-forged" not in str([e.model_dump() for e in page.items])


async def test_a_write_without_the_permission_is_audited_as_the_caller(api: Api) -> None:
    await expect_problem(
        await api.client.post(
            "/api/v1/variables",
            json={"name": "A", "value": "x"},
            headers=api.auth("static-viewer"),
        ),
        403,
    )
    page = await api.runtime.audit.list(LOCAL_OPERATOR, actor="vera")
    assert [(e.action, e.outcome.value, e.source) for e in page.items] == [
        ("variable.set", "denied", "api")
    ]
