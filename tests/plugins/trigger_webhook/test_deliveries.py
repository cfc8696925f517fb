"""Acceptance 1 (issue 12): deliveries signed by the reference ``standardwebhooks``
library against the API in-process. A valid one starts the job (202 and its execution);
a tampered body, a wrong secret, a timestamp six minutes away or a missing header is
401; the same ``webhook-id`` twenty times at once is one execution named by all twenty
answers; and every other refusal answers its documented status as problem JSON."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.harness import PREFIX, expect_problem
from tests.plugins.trigger_webhook.conftest import Hooked, hook_job
from tests.plugins.trigger_webhook.signed import json_body, signed_headers, webhook_job
from tests.support.engine import running
from vecron import LOCAL_OPERATOR
from vecron_trigger_webhook.signing import new_secret

ORDER = {"order_id": "A-1001", "total": 12.5}


async def deliver(hooked: Hooked, body: bytes, headers: dict[str, str], **more: Any) -> Any:
    return await hooked.api.client.post(hooked.url, data=body, headers=headers, **more)


async def executions_of(hooked: Hooked) -> list[Any]:
    page = await hooked.api.runtime.executions.list_executions(
        LOCAL_OPERATOR, job=hooked.job, limit=500
    )
    return list(page.items)


async def test_a_signed_delivery_runs_the_job_with_the_payload_in_its_context(
    api: Any,
) -> None:
    hooked = await hook_job(api, "paid", order="{{ webhook.payload.order_id }}")
    body = json_body(ORDER)
    headers = {**signed_headers(hooked.secret, body), "User-Agent": "shop/2.1"}
    headers["Authorization"] = "Bearer not-for-the-context"
    answer = await deliver(hooked, body, headers, params={"source": "shop", "tag": ["a", "b"]})
    assert answer.status == 202, await answer.text()
    accepted = await answer.json()
    assert accepted["created"] is True
    [execution] = await executions_of(hooked)
    assert execution.id == accepted["execution_id"]
    hook_id = hooked.url.rsplit("/", 1)[1]
    assert (execution.trigger, execution.triggered_by) == ("webhook", f"webhook:{hook_id}")
    rt = hooked.api.runtime
    async with running(rt):
        done = await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=30, context=True)
    assert done.status == "succeeded", done
    # The step's template read the delivery: {{ webhook.payload.order_id }}.
    assert done.steps[0].output["rows"] == [{"order": "A-1001"}]
    context = done.context or {}
    webhook = context["trigger"]  # templates read it as webhook.* too
    assert (webhook["type"], webhook["by"]) == ("webhook", f"webhook:{hook_id}")
    assert webhook["payload"] == ORDER
    assert webhook["query"] == {"source": "shop", "tag": ["a", "b"]}
    assert webhook["headers"]["user-agent"] == "shop/2.1"
    assert not {"webhook-signature", "webhook-id", "webhook-timestamp", "authorization"} & set(
        webhook["headers"]
    )
    assert hooked.secret not in str(context)


def tampered(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body.replace(b"1001", b"1002"), signed_headers(secret, body)


def wrong_secret(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(new_secret(), body)


def six_minutes_old(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(secret, body, at=datetime.now(UTC) - timedelta(minutes=6))


def six_minutes_ahead(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(secret, body, at=datetime.now(UTC) + timedelta(minutes=6))


def without(header: str) -> Any:
    def make(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
        headers = signed_headers(secret, body)
        del headers[header]
        return body, headers

    return make


def unknown_version(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed_headers(secret, body)
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    return body, headers


def not_base64(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed_headers(secret, body)
    headers["webhook-signature"] = "v1,%%%not-base64%%%"
    return body, headers


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (tampered, "bad-signature"),
        (wrong_secret, "bad-signature"),
        (six_minutes_old, "stale-timestamp"),
        (six_minutes_ahead, "stale-timestamp"),
        (without("webhook-id"), "missing-signature-headers"),
        (without("webhook-timestamp"), "missing-signature-headers"),
        (without("webhook-signature"), "missing-signature-headers"),
        (unknown_version, "bad-signature"),
        (not_base64, "bad-signature"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
async def test_a_delivery_that_does_not_verify_is_401(
    hooked: Hooked, make: Any, reason: str
) -> None:
    body, headers = make(hooked.secret, json_body(ORDER))
    problem = await expect_problem(await deliver(hooked, body, headers), 401, "unauthenticated")
    assert [e["code"] for e in problem["errors"]] == [reason]
    assert hooked.secret not in str(problem)
    assert await executions_of(hooked) == []


async def test_one_matching_signature_among_several_is_enough(hooked: Hooked) -> None:
    """Senders rotating secrets sign with both: any one ``v1`` entry that matches will do."""
    body = json_body(ORDER)
    headers = signed_headers(hooked.secret, body)
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    other = signed_headers(new_secret(), body, delivery_id=headers["webhook-id"], at=at)
    headers["webhook-signature"] = f"{other['webhook-signature']} {headers['webhook-signature']}"
    answer = await deliver(hooked, body, headers)
    assert answer.status == 202, await answer.text()


async def test_the_same_webhook_id_twenty_times_at_once_is_one_execution(hooked: Hooked) -> None:
    body = json_body(ORDER)
    headers = signed_headers(hooked.secret, body, delivery_id="msg_same-delivery")
    answers = await asyncio.gather(*(deliver(hooked, body, dict(headers)) for _ in range(20)))
    assert [a.status for a in answers] == [202] * 20
    named = {(await a.json())["execution_id"] for a in answers}
    [execution] = await executions_of(hooked)
    assert named == {execution.id}
    created = [(await a.json())["created"] for a in answers]
    assert created.count(True) == 1
    # Later, too (a sender's retry): the same execution, nothing new.
    retried = signed_headers(hooked.secret, body, delivery_id="msg_same-delivery")
    again = await deliver(hooked, body, retried)
    assert (await again.json()) == {"execution_id": execution.id, "created": False}
    assert len(await executions_of(hooked)) == 1


async def test_the_same_webhook_id_on_another_job_is_another_delivery(hooked: Hooked) -> None:
    other = await hook_job(hooked.api, "other-orders")
    body = json_body(ORDER)
    first = await deliver(hooked, body, signed_headers(hooked.secret, body, delivery_id="msg_1"))
    second = await deliver(other, body, signed_headers(other.secret, body, delivery_id="msg_1"))
    assert (first.status, second.status) == (202, 202)
    assert (await first.json())["execution_id"] != (await second.json())["execution_id"]


async def test_an_unknown_hook_is_404(hooked: Hooked) -> None:
    body = json_body(ORDER)
    answer = await hooked.api.client.post(
        f"{PREFIX}/hooks/no-such-hook", data=body, headers=signed_headers(hooked.secret, body)
    )
    problem = await expect_problem(answer, 404, "not-found")
    assert [e["code"] for e in problem["errors"]] == ["hook-not-found"]


async def test_a_body_over_the_limit_is_413_whether_announced_or_streamed(api: Any) -> None:
    small = await hook_job(api, "small", max_body=100)
    body = json_body({"order_id": "x" * 200})
    answer = await deliver(small, body, signed_headers(small.secret, body))
    await expect_problem(answer, 413, "body-too-large")

    async def chunks() -> Any:  # no Content-Length: the limit holds while reading
        for _ in range(50):
            yield b"x" * 10

    streamed = await deliver(small, chunks(), signed_headers(small.secret, b"x" * 500))  # type: ignore[arg-type]
    await expect_problem(streamed, 413, "body-too-large")


async def test_a_body_of_another_media_type_is_415(hooked: Hooked) -> None:
    body = b"<order id='1'/>"
    headers = signed_headers(hooked.secret, body, content_type="application/xml")
    await expect_problem(await deliver(hooked, body, headers), 415, "unsupported-media-type")


async def test_a_disabled_job_is_403(hooked: Hooked) -> None:
    await hooked.api.runtime.jobs.set_enabled(LOCAL_OPERATOR, hooked.job, False)
    body = json_body(ORDER)
    answer = await deliver_fresh(hooked, body)
    problem = await expect_problem(answer, 403, "trigger-forbidden")
    assert [e["code"] for e in problem["errors"]] == ["job-disabled"]


async def test_a_job_that_no_longer_lists_the_webhook_trigger_is_403(hooked: Hooked) -> None:
    rt = hooked.api.runtime
    manual = {**webhook_job(hooked.job), "triggers": [{"type": "manual"}]}
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(manual))
    answer = await deliver_fresh(hooked, json_body(ORDER))
    problem = await expect_problem(answer, 403, "trigger-forbidden")
    assert [e["code"] for e in problem["errors"]] == ["trigger-not-allowed"]


async def deliver_fresh(hooked: Hooked, body: bytes) -> Any:
    """A delivery after the endpoint's memory of its job lapsed (changes made elsewhere
    reach deliveries within a second)."""
    from vecron_trigger_webhook import service

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service, "KEEP_SECONDS", 0.0)
        return await deliver(hooked, body, signed_headers(hooked.secret, body))


async def test_the_overlap_policy_refuses_a_second_delivery_with_409(api: Any) -> None:
    single = await hook_job(api, "single")
    rt = api.runtime
    document = {**webhook_job("single"), "allow_concurrent": False}
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))
    body = json_body(ORDER)
    first = await deliver_fresh(single, body)
    assert first.status == 202, await first.text()
    second = await deliver(single, body, signed_headers(single.secret, body))
    await expect_problem(second, 409, "conflict")


async def test_over_the_rate_limit_is_429_with_retry_after(api: Any) -> None:
    slow = await hook_job(api, "slow", rate=0.5, burst=2)
    body = json_body(ORDER)
    statuses = [
        (await deliver(slow, body, signed_headers(slow.secret, body))).status for _ in range(2)
    ]
    assert statuses == [202, 202]
    refused = await deliver(slow, body, signed_headers(slow.secret, body))
    problem = await expect_problem(refused, 429, "too-many-requests")
    assert 1 <= int(refused.headers["Retry-After"]) <= 2, refused.headers
    assert problem["errors"][0]["params"]["retry_after"] > 0


async def test_invalid_json_is_400_after_the_signature(hooked: Hooked) -> None:
    body = b'{"order_id": '
    await expect_problem(
        await deliver(hooked, body, signed_headers(hooked.secret, body)), 400, "malformed-body"
    )


async def test_forms_and_text_are_taken(hooked: Hooked) -> None:
    form = b"order_id=A-7&tag=a&tag=b"
    headers = signed_headers(hooked.secret, form, content_type="application/x-www-form-urlencoded")
    assert (await deliver(hooked, form, headers)).status == 202
    text = "đơn hàng A-8".encode()
    headers = signed_headers(hooked.secret, text, content_type="text/plain; charset=utf-8")
    assert (await deliver(hooked, text, headers)).status == 202


async def test_a_signed_body_that_is_not_utf8_is_400(hooked: Hooked) -> None:
    body = b"\xff\xfe{\x80}"
    problem = await expect_problem(
        await deliver(hooked, body, signed_headers(hooked.secret, body)), 400, "malformed-body"
    )
    assert "UTF-8" in problem["detail"]


async def test_the_trigger_limit_governs_not_the_api_limit(tmp_path: Any) -> None:
    """``max_body`` is the webhook's own: a job may take more than other API bodies."""
    from tests.api.harness import api_settings, served

    async with served(api_settings(tmp_path, api_max_body_bytes=1024)) as api:
        big = await hook_job(api, "big", max_body=64 * 1024)
        body = json_body({"order_id": "x" * 4096})
        answer = await deliver(big, body, signed_headers(big.secret, body))
        assert answer.status == 202, await answer.text()
