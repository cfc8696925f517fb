"""A minimal HTTP target for benchmarks: ``GET /ping`` answers 200 and counts requests.

Run in its own process so it does not share vecron's event loop:
``python bench/target.py --port 8900``; ``GET /count`` returns how many pings arrived,
and how many distinct Idempotency-Key headers; ``GET /arrivals`` the arrival time
(Unix seconds) of every ping.
"""

from __future__ import annotations

import argparse
import time

from aiohttp import web


def make_app() -> web.Application:
    seen: dict[str, int] = {}
    counter = {"n": 0}
    arrivals: list[float] = []

    async def ping(request: web.Request) -> web.Response:
        arrivals.append(time.time())
        counter["n"] += 1
        key = request.headers.get("Idempotency-Key", "")
        seen[key] = seen.get(key, 0) + 1
        return web.Response(text="ok")

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"requests": counter["n"], "keys": len(seen)})

    async def arrival_times(request: web.Request) -> web.Response:
        return web.json_response(arrivals)

    app = web.Application()
    app.router.add_get("/arrivals", arrival_times)
    app.router.add_get("/ping", ping)
    app.router.add_get("/count", count)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
