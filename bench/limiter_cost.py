"""What the shared rate limiter costs a page when the budget is not what holds it back.

    python -m bench.limiter_cost [--pages 20000] [--concurrency 1,16]

Starts redis-server on loopback and spends `--pages` requests of weight 2 (a Binance klines
page) through one process's `Limiter`, `--concurrency` at a time, with a budget too large to
ever wait. Once with the local credit off (`margin_ms=0`: every page asks Redis) and once
with it on (the default margin: one ask takes four pages' weight). Prints µs of wall time and
of CPU per page, and the scripts Redis ran per page. Redis is on the same host here: across a
network each round trip saved is also a network round trip saved.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import redis
import redis.asyncio as aioredis

from bench.cluster import RedisServer
from workers.ratelimit import Budget, Limiter
from workers.settings import Settings

GROUP = ("binance", "spot")
NEVER_BINDING = Budget.parse("1000000000/60")


async def spend(url: str, margin_ms: int, pages: int, concurrency: int) -> tuple[float, float]:
    """Wall and CPU seconds to acquire `pages` pages of weight 2, `concurrency` at a time."""
    client = aioredis.Redis.from_url(url)
    limiter = Limiter(client, {GROUP: NEVER_BINDING}, margin_ms=margin_ms)
    gate = asyncio.Semaphore(concurrency)

    async def page() -> None:
        async with gate:
            await limiter.acquire(*GROUP, 2, host="api")

    await limiter.acquire(*GROUP, 2, host="api")  # scripts loaded, connections open
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(page() for _ in range(pages)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.aclose()
    return wall, cpu


def scripts_run(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("evalsha", "eval"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--concurrency", default="1,16")
    args = parser.parse_args()
    margin_ms = Settings.from_env().limit_margin_ms
    with tempfile.TemporaryDirectory() as work:
        server = RedisServer(Path(work))
        client = redis.Redis.from_url(server.url)
        try:
            print(
                f"{args.pages:,} pages of weight 2 per row; budget never binding; Redis on loopback"
            )
            heads = ("wall µs/page", "CPU µs/page", "asks/page")
            print(f"{'credit':<22}{'conc.':>6}{heads[0]:>14}{heads[1]:>13}{heads[2]:>11}")
            print("-" * 66)
            for label, margin in (
                ("off (margin 0)", 0),
                (f"on (margin {margin_ms} ms)", margin_ms),
            ):
                for concurrency in (int(c) for c in args.concurrency.split(",")):
                    client.config_resetstat()
                    wall, cpu = asyncio.run(spend(server.url, margin, args.pages, concurrency))
                    asks = scripts_run(client) / args.pages
                    print(
                        f"{label:<22}{concurrency:>6}{wall / args.pages * 1e6:>14.0f}"
                        f"{cpu / args.pages * 1e6:>13.0f}{asks:>11.2f}"
                    )
        finally:
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
