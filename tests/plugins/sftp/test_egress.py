"""The ``sftp`` executor under the egress policy: a refused server is never connected
to; an allowed name is connected to at the address checked, its host key still
checked against the name."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.support.dns import FakeDns
from vecron.errors import EgressDenied
from vecron.plugin.egress import EgressPolicy

from .conftest import Sftp


async def run(sftp: Sftp, egress: EgressPolicy, **fields: Any) -> dict[str, Any]:
    ctx = replace(sftp.ctx, egress=egress)
    config = sftp.config(action="download", remote="a.txt", **fields)
    return dict(await sftp.executor.run(ctx, config))


@pytest.fixture(autouse=True)
def a_file(sftp: Sftp) -> None:
    sftp.folder.write("a.txt", b"a")


async def test_an_operator_rule_keeps_a_step_off_the_server(sftp: Sftp) -> None:
    with pytest.raises(EgressDenied) as caught:
        await run(sftp, EgressPolicy(deny=["loopback"]))
    assert caught.value.message == "egress to 127.0.0.1 denied (loopback)"
    assert caught.value.retryable is False
    dns = FakeDns.of({"files.partner.test": "127.0.0.1"})
    with pytest.raises(EgressDenied, match=r"^egress to files\.partner\.test \(127\.0\.0\.1\)"):
        await run(sftp, EgressPolicy(deny=["127.0.0.0/8"], resolve=dns), host="files.partner.test")
    assert await sftp.stored() == []


async def test_by_default_the_server_on_loopback_is_reached(sftp: Sftp) -> None:
    result = await run(sftp, EgressPolicy())
    assert result["count"] == 1
    assert await sftp.stored() == ["a.txt"]


async def test_a_name_is_connected_to_at_the_address_checked(sftp: Sftp) -> None:
    # files.partner.test is in no real DNS, and rebinds after the first answer; the
    # known_hosts line names it, not the address: the host key is checked for the name.
    dns = FakeDns({"files.partner.test": [["127.0.0.1"], ["169.254.169.254"]]})
    known = sftp.server.known_hosts.replace(sftp.server.host, "files.partner.test")
    result = await run(
        sftp, EgressPolicy(resolve=dns), host="files.partner.test", known_hosts=known
    )
    assert result["count"] == 1
    assert dns.lookups == ["files.partner.test"]
