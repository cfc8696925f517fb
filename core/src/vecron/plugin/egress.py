"""Where steps may connect: the policy every network executor asks before it connects.

A rule is a CIDR or an address (``10.0.0.0/8``, ``fe80::/10``), a host pattern
(``*.internal``; ``*`` alone is every host) or a group:

- ``link-local``: 169.254.0.0/16, fe80::/10;
- ``metadata``: cloud instance-metadata addresses and names;
- ``loopback``: 127.0.0.0/8, ::1, and 0.0.0.0/8, :: (which reach this host too);
- ``private``: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7.

``link-local`` and ``metadata`` are always denied; settings add deny rules, allow rules
(exceptions), and both per step type. A destination is refused when a deny rule matches
its name or an address it resolves to, and no allow rule does.

The check comes after DNS resolution and returns the addresses it checked: executors
connect to those and never resolve the name again, so a name that changes its answer
between the check and the connection (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from pydantic import BaseModel, ConfigDict, field_validator

from vecron.errors import EgressDenied
from vecron.statefiles import StateFiles

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
#: ``(host, port) -> addresses``: how names are resolved (tests inject their own).
Resolve = Callable[[str, int], Awaitable[Sequence[str]]]

GROUPS: dict[str, tuple[str, ...]] = {
    "link-local": ("169.254.0.0/16", "fe80::/10"),
    "metadata": (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack, Oracle, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.0.23",  # Tencent Cloud
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "metadata.google.internal",
        "metadata.goog",
        "metadata.tencentyun.com",
    ),
    "loopback": ("127.0.0.0/8", "::1", "0.0.0.0/8", "::"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
}
ALWAYS_DENIED = ("link-local", "metadata")
_NAT64 = ip_network("64:ff9b::/96")
_PATTERN = re.compile(r"[a-z0-9_*-]+(\.[a-z0-9_*-]+)*")
_NUMERIC = re.compile(r"[0-9.]+")


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of a deny or allow list, as the operator wrote it."""

    text: str
    networks: tuple[Network, ...] = ()
    patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Rule:
        """:raises ValueError: neither a group, a CIDR, an address nor a host pattern."""
        value = text.strip().lower()
        group = GROUPS.get(value)
        if group is not None:
            parts = [cls.parse(item) for item in group]
            networks = tuple(n for part in parts for n in part.networks)
            return cls(value, networks, tuple(p for part in parts for p in part.patterns))
        # Anything address-like must be a valid one: "10.0.0.0/33" is a typo, not a name.
        if "/" in value or ":" in value or _NUMERIC.fullmatch(value):
            try:
                return cls(value, networks=(ip_network(value),))
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a valid CIDR or address: {exc}") from None
        if _PATTERN.fullmatch(value.rstrip(".")) is None:
            raise ValueError(
                f"{text!r} is not a CIDR, an address, a host pattern (e.g. *.internal) "
                f"or one of {', '.join(GROUPS)}"
            )
        return cls(value, patterns=(value.rstrip("."),))

    def matches(self, host: str, address: Address | None) -> bool:
        if any(fnmatchcase(host, pattern) for pattern in self.patterns):
            return True
        if address is None:
            return False
        return any(view in network for view in _views(address) for network in self.networks)


@dataclass(frozen=True, slots=True)
class Rules:
    """The deny and allow rules that apply to one step type."""

    deny: tuple[Rule, ...]
    allow: tuple[Rule, ...]

    def refusal(self, host: str, address: Address | None) -> tuple[str, ...]:
        """The deny rules that refuse ``host`` at ``address`` (empty: allowed)."""
        denying = tuple(rule.text for rule in self.deny if rule.matches(host, address))
        if denying and not any(rule.matches(host, address) for rule in self.allow):
            return denying
        return ()

    def refusal_by_name(self, host: str) -> tuple[str, ...]:
        """What refuses ``host`` whatever it resolves to: no DNS lookup is needed."""
        if any(rule.networks or rule.matches(host, None) for rule in self.allow):
            return ()
        return self.refusal(host, None)


class EgressRules(BaseModel):
    """Deny and allow rules of one step type, added to the general ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()

    @field_validator("deny", "allow")
    @classmethod
    def _valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_rules(value)


def check_rules(texts: Iterable[str]) -> tuple[str, ...]:
    """:raises ValueError: one of ``texts`` is no rule; the message names it."""
    texts = tuple(texts)
    for text in texts:
        Rule.parse(text)
    return texts


@dataclass(frozen=True, slots=True)
class DatabaseServer:
    """vecron's own database server, which no step may open."""

    host: str
    port: int
    database: str


class EgressPolicy:
    """Checks a step's destination: an address, a name, vecron's own database or files.

    One instance serves a whole worker process; it holds no per-step state.
    """

    def __init__(
        self,
        *,
        deny: Iterable[str] = (),
        allow: Iterable[str] = (),
        steps: Mapping[str, EgressRules] | None = None,
        state: StateFiles | None = None,
        own_database: DatabaseServer | None = None,
        resolve: Resolve | None = None,
    ) -> None:
        """:raises ValueError: a rule is not valid."""
        self._default = Rules(
            tuple(Rule.parse(text) for text in (*ALWAYS_DENIED, *deny)),
            tuple(Rule.parse(text) for text in allow),
        )
        self._steps = {
            kind: Rules(
                self._default.deny + tuple(Rule.parse(text) for text in rules.deny),
                self._default.allow + tuple(Rule.parse(text) for text in rules.allow),
            )
            for kind, rules in (steps or {}).items()
        }
        self.state = state or StateFiles()
        self.own_database = own_database
        self._resolve = resolve or _getaddrinfo

    def rules(self, step_type: str) -> Rules:
        return self._steps.get(step_type, self._default)

    async def check(
        self, step_type: str, host: str, port: int, *, database: str | None = None
    ) -> list[Address]:
        """The addresses of ``host``, every one of them allowed for ``step_type``;
        connect to these, not to the name. ``database``: the database a SQL step opens
        there, refused if it is vecron's own.

        :raises EgressDenied: a rule refuses the name or one of its addresses.
        :raises OSError: the name does not resolve.
        """
        name = host.strip().strip("[]").rstrip(".").lower()
        rules = self.rules(step_type)
        literal = _literal(name)
        if literal is not None:
            addresses = [literal]
        else:
            refused = rules.refusal_by_name(name)
            if refused:
                raise _denied(name, None, refused)
            addresses = _unique(await self._resolve(name, port))
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, f"{name} has no address")
        for address in addresses:
            refused = rules.refusal(name, address)
            if refused:
                raise _denied(name, address, refused)
        if database is not None and await self._is_own_database(addresses, port, database):
            raise EgressDenied(f"egress to {name}:{port}/{database} denied (vecron's own database)")
        return addresses

    async def _is_own_database(self, addresses: list[Address], port: int, database: str) -> bool:
        own = self.own_database
        if own is None or (port, database) != (own.port, own.database):
            return False
        theirs = _unique(await self._resolve(own.host, own.port))
        return any(_same_host(a, b) for a in addresses for b in theirs)

    def check_path(self, path: str) -> None:
        """:raises EgressDenied: ``path`` is (or is inside) vecron's own state."""
        if self.state.holds(path):
            raise EgressDenied(f"egress to {path} denied (vecron's own database, key or storage)")


@cache
def default_egress() -> EgressPolicy:
    """The policy with only the built-in rules: what a StepContext gets unless told."""
    return EgressPolicy()


def _denied(host: str, address: Address | None, rules: tuple[str, ...]) -> EgressDenied:
    where = host if address is None or str(address) == host else f"{host} ({address})"
    return EgressDenied(f"egress to {where} denied ({', '.join(rules)})")


def _literal(host: str) -> Address | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def _views(address: Address) -> Iterable[Address]:
    """The address, and the IPv4 one it carries (mapped, 6to4, NAT64): ``::ffff:
    169.254.169.254`` is the metadata service too."""
    yield address
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            yield address.ipv4_mapped
        if address.sixtofour is not None:
            yield address.sixtofour
        if address in _NAT64:
            yield IPv4Address(int(address) & 0xFFFFFFFF)


def _same_host(a: Address, b: Address) -> bool:
    # Every loopback (and the unspecified) address reaches a server listening locally.
    def local(x: Address) -> bool:
        return x.is_loopback or x.is_unspecified

    return a == b or (local(a) and local(b))


def _unique(found: Iterable[str]) -> list[Address]:
    addresses: list[Address] = []
    for text in found:
        address = ip_address(text)
        if address not in addresses:
            addresses.append(address)
    return addresses


async def _getaddrinfo(host: str, port: int) -> list[str]:
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]
