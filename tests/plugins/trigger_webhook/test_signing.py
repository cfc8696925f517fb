"""Signature checks against the reference ``standardwebhooks`` library, for any delivery:
what it signs verifies, and any change to the body, the id, the time or the secret does
not; and the senders of docs/webhooks.md (Python, and curl with openssl) work as written."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from tests.plugins.trigger_webhook.conftest import Hooked
from vecron import LOCAL_OPERATOR, Unauthenticated
from vecron_trigger_webhook.signing import SignedHeaders, key_of, new_secret

DOCS = Path(__file__).parents[3] / "docs" / "webhooks.md"
IDS = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=200)


def headers_of(secret: str, delivery_id: str, at: int, body: bytes) -> dict[str, str]:
    moment = datetime.fromtimestamp(at, UTC)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(at),
        "webhook-signature": Webhook(secret).sign(delivery_id, moment, body),
    }


@given(body=st.binary(max_size=2000), delivery_id=IDS, at=st.integers(0, 2**33))
def test_what_the_reference_signs_verifies(body: bytes, delivery_id: str, at: int) -> None:
    secret = new_secret()
    signed = SignedHeaders.of(headers_of(secret, delivery_id, at, body))
    signed.check_time(at + 299)
    signed.check_signature(body, [key_of(new_secret()), key_of(secret)])


@given(body=st.binary(max_size=500), delivery_id=IDS, at=st.integers(0, 2**33), data=st.data())
def test_any_change_does_not_verify(
    body: bytes, delivery_id: str, at: int, data: st.DataObject
) -> None:
    secret = new_secret()
    headers = headers_of(secret, delivery_id, at, body)
    change = data.draw(st.sampled_from(["body", "id", "time", "secret"]))
    if change == "body":
        body = data.draw(st.binary(max_size=500).filter(lambda other: other != body))
    elif change == "id":
        headers["webhook-id"] = data.draw(IDS.filter(lambda other: other != delivery_id))
    elif change == "time":
        headers["webhook-timestamp"] = str(at + data.draw(st.integers(1, 10**6)))
    keys = [key_of(new_secret() if change == "secret" else secret)]
    with pytest.raises(Unauthenticated):
        SignedHeaders.of(headers).check_signature(body, keys)


def block(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), re.S)
    assert len(found) == 1, f"docs/webhooks.md has {len(found)} {language} blocks"
    return found[0]


def filled(code: str, url: str, secret: str) -> str:
    code = re.sub(r"http://127\.0\.0\.1:8080/api/v1/hooks/Xq3v\.\.\.", url, code)
    return re.sub(r"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\.\.\.", secret, code)


async def run(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.parametrize("language", ["python", "bash"])
async def test_the_documented_senders_are_accepted(hooked: Hooked, language: str) -> None:
    url = str(hooked.api.client.make_url(hooked.url))
    code = filled(block(language), url, hooked.secret)
    assert url in code and hooked.secret in code
    shown = (
        await run(sys.executable, "-c", code)
        if language == "python"
        else await run("bash", "-euo", "pipefail", "-c", code)
    )
    assert re.search(r"""["']created["']: ?(true|True)""", shown), shown
    page = await hooked.api.runtime.executions.list_executions(LOCAL_OPERATOR, job=hooked.job)
    assert len(page.items) == 1
