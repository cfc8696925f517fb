"""Acceptance 2 (issue 12): after a regeneration the old secret verifies for the
trigger's ``grace`` seconds and then answers 401, while the new one verifies at once —
on a clock the test moves, no sleeps. And the secret is shown only when it is made."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.harness import PREFIX, Api, expect_problem
from tests.plugins.trigger_webhook.conftest import Hooked
from tests.plugins.trigger_webhook.direct import Clock, delivery, service_on, webhook_job_saved
from tests.plugins.trigger_webhook.signed import json_body, signed_headers
from vecron import LOCAL_OPERATOR, Runtime, Unauthenticated

BODY = json_body({"order_id": "R-1"})


@pytest.mark.parametrize("grace", [0, 90])
async def test_the_old_secret_stops_after_the_grace_the_new_one_works_at_once(
    runtime: Runtime, grace: int
) -> None:
    clock = Clock()
    service = service_on(runtime, clock)
    await webhook_job_saved(runtime, "rotating", grace=grace, burst=100)
    first = await service.regenerate(LOCAL_OPERATOR, "rotating")
    assert first.secret is not None and first.previous_valid_until is None
    clock.advance(3600)
    second = await service.regenerate(LOCAL_OPERATOR, "rotating")
    assert second.secret is not None and second.secret != first.secret
    assert second.hook_id == first.hook_id, "the URL stays; only the secret changes"
    hook = first.hook_id
    ids = iter(range(1000))

    async def verifies(secret: str) -> bool:
        made = delivery(hook, secret, BODY, at=clock.now, delivery_id=f"msg_{next(ids)}")
        try:
            await service.deliver(made)
        except Unauthenticated:
            return False
        return True

    assert await verifies(second.secret)
    if grace:
        assert second.previous_valid_until == clock.now + timedelta(seconds=grace)
        clock.advance(grace - 1)
        assert await verifies(first.secret), "the old secret works within the grace"
        assert await verifies(second.secret)
        clock.advance(1)
    assert not await verifies(first.secret), "the old secret stops when the grace ends"
    assert await verifies(second.secret)
    clock.advance(30 * 86_400)
    assert not await verifies(first.secret)
    assert await verifies(second.secret)


async def test_regenerating_twice_drops_the_first_secret_at_once(runtime: Runtime) -> None:
    """Only the secret just replaced has a grace; the one before it stops."""
    clock = Clock()
    service = service_on(runtime, clock)
    await webhook_job_saved(runtime, "twice", grace=600, burst=100)
    first = await service.regenerate(LOCAL_OPERATOR, "twice")
    await service.regenerate(LOCAL_OPERATOR, "twice")
    third = await service.regenerate(LOCAL_OPERATOR, "twice")
    assert first.secret is not None and third.secret is not None
    with pytest.raises(Unauthenticated):
        await service.deliver(delivery(first.hook_id, first.secret, BODY, at=clock.now))
    await service.deliver(delivery(third.hook_id, third.secret, BODY, at=clock.now))


async def test_through_the_api_the_old_secret_is_401_and_the_new_one_202(hooked: Hooked) -> None:
    api = hooked.api
    answer = await api.client.post(
        f"{PREFIX}/jobs/{hooked.job}/webhook:regenerate", headers=api.auth()
    )
    assert answer.status == 200
    assert answer.headers["Cache-Control"] == "no-store"
    made = await answer.json()
    assert made["path"] == hooked.url and made["secret"] != hooked.secret
    old = await api.client.post(hooked.url, data=BODY, headers=signed_headers(hooked.secret, BODY))
    await expect_problem(old, 401, "unauthenticated")
    new = await api.client.post(hooked.url, data=BODY, headers=signed_headers(made["secret"], BODY))
    assert new.status == 202, await new.text()


async def test_the_secret_is_shown_only_when_made(hooked: Hooked) -> None:
    api = hooked.api
    shown = await api.client.get(f"{PREFIX}/jobs/{hooked.job}/webhook", headers=api.auth())
    assert shown.status == 200
    view = await shown.json()
    assert view["secret"] is None and view["path"] == hooked.url
    assert view["url"].endswith(hooked.url) and view["enabled"] is True
    assert hooked.secret not in await shown.text()
    job = await api.client.get(f"{PREFIX}/jobs/{hooked.job}", headers=api.auth())
    assert hooked.secret not in await job.text()


async def test_the_secret_is_stored_sealed(hooked: Hooked) -> None:
    from sqlalchemy import text

    async with hooked.api.runtime.store.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM webhook_endpoints"))).all()
    assert rows and hooked.secret not in repr(rows)
    assert hooked.secret.removeprefix("whsec_") not in repr(rows)


async def test_a_job_without_the_trigger_gets_no_secret(api: Api) -> None:
    from tests.api.world import job_document

    rt = api.runtime
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(job_document("manual-only")))
    answer = await api.client.post(
        f"{PREFIX}/jobs/manual-only/webhook:regenerate", headers=api.auth()
    )
    problem = await expect_problem(answer, 409, "conflict")
    assert problem["errors"][0]["code"] == "no-webhook-trigger"
    shown = await api.client.get(f"{PREFIX}/jobs/manual-only/webhook", headers=api.auth())
    problem = await expect_problem(shown, 404, "not-found")
    assert problem["errors"][0]["code"] == "webhook-not-created"


async def test_a_viewer_sees_the_url_and_may_not_regenerate(hooked: Hooked) -> None:
    api = hooked.api
    viewer = api.auth("static-viewer")
    shown = await api.client.get(f"{PREFIX}/jobs/{hooked.job}/webhook", headers=viewer)
    assert shown.status == 200
    refused = await api.client.post(
        f"{PREFIX}/jobs/{hooked.job}/webhook:regenerate", headers=viewer
    )
    await expect_problem(refused, 403, "forbidden")
    [entry] = await api.runtime.store.list_audit(actor="vera", action="webhook.regenerate")
    assert entry.outcome == "denied"


async def test_the_example_webhook_job_is_valid(runtime: Runtime) -> None:
    from pathlib import Path

    example = Path(__file__).parents[3] / "examples" / "webhook-orders.yaml"
    [(_, definition)] = runtime.jobs.load_path(example)
    assert [t.type for t in definition.triggers] == ["webhook", "manual"]
    await runtime.jobs.save(LOCAL_OPERATOR, definition)
    clock = Clock()
    made = await service_on(runtime, clock).regenerate(LOCAL_OPERATOR, "order-paid")
    assert made.secret is not None and made.enabled
