"""How fast one worker process stores a shard, by page concurrency: prints one table.

    python -m bench.shard_fetch [--latency-ms 20] [--trades-per-day 1000000]

Starts redis-server and exchange-sim (with `--latency-ms` of simulated distance to the
exchange and budgets high enough that the limiter never binds), then stores one month of
1m klines and one day of aggTrades in this process, as a worker would, at each page
concurrency. Every run starts from an empty ledger and data dir.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import redis

from bench.cluster import RedisServer, Simulator, sim_env
from storage.shards import Shard
from workers.backfill import backfill
from workers.runtime import Runtime
from workers.settings import Budget, Settings

SHARDS = [
    Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m"),
    Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--trades-per-day", type=int, default=1_000_000)
    parser.add_argument("--concurrency", default="1,2,4,8,16")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shardfetch-bench-"))
    server = RedisServer(work)
    sim = Simulator(
        work,
        "--latency-ms",
        str(args.latency_ms),
        "--trades-per-day",
        str(args.trades_per_day),
        "--spot-weight",
        "10000000/60",
    )
    client = redis.Redis.from_url(server.url)
    base = Settings.from_env({"REDIS_URL": server.url, **sim_env(sim.url)})
    budgets = {key: Budget(10_000_000, 60) for key in base.budgets}
    print(
        f"one worker process; simulator latency {args.latency_ms} ms; "
        f"{args.trades_per_day:,} trades/day"
    )
    print(
        f"{'concurrency':>11} {'shard':<40} {'pages':>6} {'rows':>10} {'seconds':>8} {'rows/s':>10}"
    )
    try:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            for shard in SHARDS:
                client.flushall()
                data_dir = work / "data"
                shutil.rmtree(data_dir, ignore_errors=True)
                settings = replace(
                    base, data_dir=data_dir, budgets=budgets, page_concurrency=concurrency
                )
                rt = Runtime(settings)
                sim.reset()
                started = time.perf_counter()
                outcome = backfill(shard, rt, source="rest")
                seconds = time.perf_counter() - started
                rt.close()
                pages = sim.stats()["requests_total"]
                print(
                    f"{concurrency:>11} {shard.key:<40} {pages:>6} {outcome.rows:>10,} "
                    f"{seconds:>8.2f} {outcome.rows / seconds:>10,.0f}"
                )
    finally:
        client.close()
        sim.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
