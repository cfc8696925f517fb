"""DNS answers a test chooses, given to an egress policy as its resolver: names that
lead where the test wants without touching /etc/hosts or a real DNS server."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass
class FakeDns:
    """Each name gives its answers in turn, the last one repeating: a name with two
    answers is a DNS-rebinding server. Unknown names do not resolve."""

    answers: dict[str, list[list[str]]]
    lookups: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, names: dict[str, str | list[str]]) -> FakeDns:
        """One answer per name: an address or a list of them."""
        return cls({name: [[a] if isinstance(a, str) else a] for name, a in names.items()})

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        replies = self.answers.get(host)
        if not replies:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such name")
        return replies.pop(0) if len(replies) > 1 else replies[0]
