"""The egress policy on its own: which rule refuses what, after DNS resolution."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from tests.support.dns import FakeDns
from vecron.errors import EgressDenied
from vecron.plugin.egress import DatabaseServer, EgressPolicy, EgressRules

DNS = FakeDns.of(
    {
        "api.partner.test": "203.0.113.7",
        "db.corp.test": "10.1.2.3",
        "twice.test": ["203.0.113.8", "10.9.9.9"],
        "vecron-db.test": "10.5.0.1",
    }
)


async def refusal(policy: EgressPolicy, host: str, step_type: str = "http") -> str | None:
    try:
        await policy.check(step_type, host, 443)
    except EgressDenied as exc:
        return exc.message
    return None


@pytest.mark.parametrize(
    ("host", "rules"),
    [
        ("::ffff:169.254.169.254", "link-local, metadata"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "link-local, metadata"),  # NAT64 of 169.254.169.254
        ("2002:a9fe:a9fe::1", "link-local, metadata"),  # 6to4 of it
        ("[fe80::1%1]", "link-local"),
        ("METADATA.GOOGLE.INTERNAL.", "metadata"),
    ],
)
async def test_addresses_carrying_a_denied_one_are_denied(host: str, rules: str) -> None:
    message = await refusal(EgressPolicy(), host)
    assert message is not None and message.endswith(f"denied ({rules})")


async def test_deny_everything_then_allow_a_few_is_an_allow_list() -> None:
    policy = EgressPolicy(deny=["*"], allow=["api.partner.test", "10.1.0.0/16"], resolve=DNS)
    assert await policy.check("http", "api.partner.test", 443) == [ip_address("203.0.113.7")]
    assert await policy.check("http", "db.corp.test", 5432) == [ip_address("10.1.2.3")]
    assert await refusal(policy, "10.1.200.1") is None
    assert await refusal(policy, "twice.test") == "egress to twice.test (203.0.113.8) denied (*)"
    assert await refusal(policy, "198.51.100.1") == "egress to 198.51.100.1 denied (*)"


async def test_rules_of_a_step_type_add_to_the_general_ones() -> None:
    policy = EgressPolicy(
        deny=["private"],
        steps={"sftp": EgressRules(deny=["*"], allow=["api.partner.test"])},
        resolve=DNS,
    )
    assert await refusal(policy, "api.partner.test", "http") is None
    assert await refusal(policy, "api.partner.test", "sftp") is None
    assert await refusal(policy, "203.0.113.9", "http") is None
    assert await refusal(policy, "203.0.113.9", "sftp") == "egress to 203.0.113.9 denied (*)"
    assert await refusal(policy, "db.corp.test", "http") == (
        "egress to db.corp.test (10.1.2.3) denied (private)"
    )


async def test_vecrons_own_database_is_refused_by_address_port_and_name() -> None:
    policy = EgressPolicy(
        own_database=DatabaseServer("vecron-db.test", 5432, "vecron"), resolve=DNS
    )
    with pytest.raises(EgressDenied, match=r"^egress to 10\.5\.0\.1:5432/vecron denied"):
        await policy.check("database", "10.5.0.1", 5432, database="vecron")
    assert await policy.check("database", "10.5.0.1", 5432, database="sales")
    assert await policy.check("database", "10.5.0.1", 6432, database="vecron")
    # Every loopback address reaches a server that listens on this machine.
    local = EgressPolicy(own_database=DatabaseServer("localhost", 5432, "vecron"))
    with pytest.raises(EgressDenied, match="vecron's own database"):
        await local.check("database", "127.0.0.1", 5432, database="vecron")


def test_a_bad_rule_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="has host bits set"):
        EgressPolicy(deny=["192.168.1.1/16"])
    with pytest.raises(ValueError, match="one of link-local, metadata, loopback, private"):
        EgressPolicy(allow=["api partner"])
