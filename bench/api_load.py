"""The load generator of ``bench/api.py``, in its own process (not the server's).

    python bench/api_load.py < plan.json      # prints one JSON result per line

The plan (JSON on stdin): ``{"base": "http://127.0.0.1:8080", "token": "...",
"runs": [{"name": ..., "paths": [...], "mode": "open"|"closed", "rate": 200,
"connections": 16, "seconds": 10, "warmup": 2}]}``. ``paths`` are requested in turn.

- open: requests are *scheduled* on a clock at ``rate`` per second, sent whether or not
  earlier ones have answered, and each latency runs from its scheduled send time, so a
  server (or client) stall counts for every request it held back (no coordinated
  omission);
- closed: ``connections`` loops each send a request as soon as the previous one
  answered: the rate the server sustains (saturation), latency from the actual send.

Each run is preceded by ``warmup`` seconds of the same load that are not measured.
A latency counts only a whole response read; any status but 200 is an error.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    first_error: str | None = None
    first: float = 0.0
    last: float = 0.0

    def record(self, status: int, body: bytes, latency: float, done: float) -> None:
        if status == 200:
            self.latencies.append(latency)
        else:
            self.errors += 1
            if self.first_error is None:
                self.first_error = f"{status}: {body[:300].decode(errors='replace')}"
        self.last = max(self.last, done)


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank on sorted values."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def fetch(session: aiohttp.ClientSession, path: str) -> tuple[int, bytes]:
    async with session.get(path) as response:
        return response.status, await response.read()


async def open_loop(
    session: aiohttp.ClientSession, paths: list[str], rate: float, seconds: float
) -> Tally:
    loop = asyncio.get_running_loop()
    tally = Tally()
    count = max(1, round(rate * seconds))
    start = loop.time() + 0.05
    tally.first = start

    async def one(path: str, scheduled: float) -> None:
        try:
            status, body = await fetch(session, path)
        except aiohttp.ClientError as exc:
            status, body = 0, repr(exc).encode()
        done = loop.time()
        tally.record(status, body, done - scheduled, done)

    tasks = []
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], scheduled)))
    await asyncio.gather(*tasks)
    return tally


async def closed_loop(
    session: aiohttp.ClientSession, paths: list[str], connections: int, seconds: float
) -> Tally:
    loop = asyncio.get_running_loop()
    tally = Tally(first=loop.time())
    end = tally.first + seconds
    turn = iter(range(1 << 62))

    async def client() -> None:
        while loop.time() < end:
            sent = loop.time()
            try:
                status, body = await fetch(session, paths[next(turn) % len(paths)])
            except aiohttp.ClientError as exc:
                status, body = 0, repr(exc).encode()
            done = loop.time()
            tally.record(status, body, done - sent, done)

    await asyncio.gather(*(client() for _ in range(connections)))
    return tally


async def run(base: str, token: str, spec: dict[str, Any]) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=max(256, spec.get("connections", 1)))
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:

        async def once(seconds: float) -> Tally:
            if spec["mode"] == "open":
                return await open_loop(session, spec["paths"], spec["rate"], seconds)
            return await closed_loop(session, spec["paths"], spec["connections"], seconds)

        warm = await once(spec["warmup"]) if spec.get("warmup") else Tally()
        tally = await once(spec["seconds"])
    ordered = sorted(tally.latencies)
    took = tally.last - tally.first
    return {
        "name": spec["name"],
        "mode": spec["mode"],
        "requests": len(ordered) + tally.errors,
        "warmup_requests": len(warm.latencies) + warm.errors,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "per_second": round((len(ordered) + tally.errors) / took, 1) if took > 0 else None,
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 0.90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
    }


async def main() -> None:
    plan = json.load(sys.stdin)
    for spec in plan["runs"]:
        result = await run(plan["base"], plan["token"], spec)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
