"""Throughput of the ``nats://`` queue: publish → fetch → ack.

    uv run python bench/queue_nats.py [--server nats://127.0.0.1:4222] [--messages 10000]
        [--batch 500] [--rounds 3]

Each round uses a fresh stream per measurement (deleted afterwards):

* two processes: this process publishes the messages in batches (each ``publish``
  returns after every PubAck) while a second process fetches batches of the same size and
  acks every message, as a scheduler and a worker do; timed until the last ack;
* one process, pipelined: the same with both sides in one event loop;
* one process, phased: publish everything, then fetch and ack everything, timing each half.

It checks that every message arrived exactly once and that the work-queue stream is
empty afterwards (every ack reached the server), and prints messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import urlencode

import nats

from vecron.queue import QueueMessage
from vecron.queue.nats import NatsQueue


def new_url(server: str) -> str:
    tag = uuid.uuid4().hex[:12]
    params = {
        "stream": f"VECRON_BENCH_{tag}",
        "subject": f"vecron_bench.{tag}.executions",
        "durable": f"vecron-bench-{tag}",
    }
    return f"{server}?{urlencode(params)}"


async def consume(queue: NatsQueue, total: int, batch: int, seen: Counter[str]) -> None:
    received = 0
    while received < total:
        deliveries = await queue.fetch(batch, timeout=1.0)
        for d in deliveries:
            seen[d.message.execution_id] += 1
            await d.ack()
        received += len(deliveries)


async def publish(queue: NatsQueue, messages: list[QueueMessage], batch: int) -> None:
    for start in range(0, len(messages), batch):
        await queue.publish(messages[start : start + batch])


async def leftover(server: str, stream: str) -> int:
    """Messages still in the work-queue stream: unacked, or acks that never arrived."""
    nc = await nats.connect(server)
    try:
        info = await nc.jetstream().stream_info(stream)
        return info.state.messages
    finally:
        await nc.close()


async def delete_stream(server: str, stream: str) -> None:
    nc = await nats.connect(server)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def check(seen: Counter[str], messages: list[QueueMessage]) -> tuple[int, int]:
    lost = sum(1 for m in messages if seen[m.execution_id] == 0)
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    return lost, duplicated


async def consumer_process(url: str, total: int, batch: int) -> None:
    """``--consume URL``: the worker side of the two-process measurement."""
    queue = NatsQueue(url)
    await queue.start()
    seen: Counter[str] = Counter()
    print("ready", flush=True)
    try:
        await consume(queue, total, batch, seen)
    finally:
        await queue.close()  # flushes: every ack is at the server
    print(json.dumps(dict(seen)), flush=True)


async def two_processes(server: str, total: int, batch: int) -> float:
    url = new_url(server)
    queue = NatsQueue(url)
    await queue.start()  # creates the stream and consumer before the worker binds
    messages = [QueueMessage(f"two-{i}", datetime.now(UTC), 0) for i in range(total)]
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--consume",
        url,
        "--messages",
        str(total),
        "--batch",
        str(batch),
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 24,  # the final line lists every id seen
    )
    assert worker.stdout is not None
    try:
        assert (await worker.stdout.readline()).strip() == b"ready"
        started = time.perf_counter()
        await publish(queue, messages, batch)
        line = await worker.stdout.readline()
        elapsed = time.perf_counter() - started
        seen: Counter[str] = Counter(json.loads(line))
        if await worker.wait() != 0:
            raise SystemExit("the consumer process failed")
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        await queue.close()
    await verify("two processes", server, queue, seen, messages)
    return total / elapsed


async def verify(
    mode: str, server: str, queue: NatsQueue, seen: Counter[str], messages: list[QueueMessage]
) -> None:
    lost, duplicated = check(seen, messages)
    left = await leftover(server, queue.settings.stream)
    await delete_stream(server, queue.settings.stream)
    if lost or duplicated or left:
        raise SystemExit(f"{mode}: lost={lost} duplicated={duplicated} left in stream={left}")


async def one_round(server: str, total: int, batch: int) -> dict[str, float]:
    not_before = datetime.now(UTC)
    out: dict[str, float] = {"two_processes_per_s": await two_processes(server, total, batch)}
    for mode in ("pipelined", "phased"):
        queue = NatsQueue(new_url(server))
        await queue.start()
        messages = [QueueMessage(f"{mode}-{i}", not_before, 0) for i in range(total)]
        seen: Counter[str] = Counter()
        try:
            started = time.perf_counter()
            if mode == "pipelined":
                await asyncio.gather(
                    publish(queue, messages, batch), consume(queue, total, batch, seen)
                )
            else:
                await publish(queue, messages, batch)
                published = time.perf_counter()
                out["publish_per_s"] = total / (published - started)
                await consume(queue, total, batch, seen)
                out["consume_per_s"] = total / (time.perf_counter() - published)
            elapsed = time.perf_counter() - started
            out[f"{mode}_per_s"] = total / elapsed
        finally:
            await queue.close()
        await verify(mode, server, queue, seen, messages)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="nats://127.0.0.1:4222")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--consume", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        await consumer_process(args.consume, args.messages, args.batch)
        return
    results = [await one_round(args.server, args.messages, args.batch) for _ in range(args.rounds)]
    print(
        f"nats:// queue, {args.messages} messages in batches of {args.batch}, "
        f"{args.rounds} rounds (median; lost=0, duplicated=0, stream empty after every round)"
    )
    for key, label in (
        ("two_processes_per_s", "publish→fetch→ack, two processes"),
        ("pipelined_per_s", "the same in one process"),
        ("phased_per_s", "one process: publish, then consume"),
        ("publish_per_s", "  publish (PubAck awaited)"),
        ("consume_per_s", "  fetch + ack"),
    ):
        values = [r[key] for r in results]
        print(
            f"{label:34} {statistics.median(values):>9,.0f} msg/s  "
            f"(min {min(values):,.0f}, max {max(values):,.0f})"
        )


if __name__ == "__main__":
    asyncio.run(main())
