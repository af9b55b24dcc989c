"""Archive (auto) vs REST-only for two years of 1m klines plus 30 days of aggTrades: one table.

    python -m bench.archive_speed [--trades-per-day 250000] [--latency-ms 20] [--concurrency 4]

Starts redis-server, exchange-sim (the real budgets: spot 6000/60, with `--latency-ms` on
every answer, archive files included) and one `celery worker -c N` with the client's default
budgets (spot 5700/60). Each mode starts from an empty ledger, data dir and simulator
budget, enqueues the window through the `producer` CLI with `--source auto` or `--source
rest`, and waits until every shard is stored. The simulator builds each archive file on its
first request (seconds for a big day), which the real archive, a CDN of static files, does
not: so `auto` runs twice, first against a cold simulator cache (reported, not compared),
then warm; the ratio compares the warm run. REST-only time for aggTrades grows with the
trade density (one weight-4 page per 1000 trades); the last lines extrapolate it to a
realistic BTCUSDT density from the measured weight rate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import redis

from bench.cluster import RedisServer, Simulator, Worker, run_producer, sim_env, wait_for
from storage.keys import namespace_of
from storage.ledger import Ledger

WINDOWS = (
    ["--data", "klines", "--interval", "1m", "--years", "2"],
    ["--data", "aggtrades", "--days", "30"],
)
REALISTIC_TRADES_PER_DAY = 2_000_000  # BTCUSDT spot aggTrades per day, order of magnitude


def run(mode: str, env: dict[str, str], client: redis.Redis, sim: Simulator, timeout_s: float):
    client.flushall()
    shutil.rmtree(env["DATA_DIR"], ignore_errors=True)
    sim.reset()
    started = time.perf_counter()
    for window in WINDOWS:
        result = run_producer(env, "enqueue", "--symbol", "BTCUSDT", *window, "--source", mode)
        if result.returncode != 0:
            raise SystemExit(f"enqueue failed: {result.stdout}{result.stderr}")
    ledger = Ledger(client, namespace_of(env["DATA_DIR"]))
    shards = ledger.planned()

    def finished() -> bool:
        return all(s.state in ("done", "partial", "failed") for s in ledger.states(shards))

    wait_for(finished, timeout_s, f"{mode}: every shard stored", poll_s=0.2)
    seconds = time.perf_counter() - started
    states = ledger.states(shards)
    infos = [json.loads(v) for v in client.hgetall(ledger.keys.files).values()]
    stats = sim.stats()
    return {
        "mode": mode,
        "seconds": seconds,
        "shards": len(shards),
        "failed": sum(s.state == "failed" for s in states),
        "rows": sum(s.rows for s in states),
        "by_source": {
            src: sum(i["source"] == src for i in infos)
            for src in ("archive", "archive+rest", "rest")
        },
        "rest_requests": stats["requests_total"] - stats["requests"].get("/data (archive)", 0),
        "archive_requests": stats["requests"].get("/data (archive)", 0),
        "archive_mb": stats["archive_bytes"] / 1e6,
        "weight": stats["weight"].get("spot", 0),
        "rejected_429": stats["rejected_429"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trades-per-day", type=int, default=250_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes")
    parser.add_argument("--timeout-s", type=float, default=1800)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shardfetch-bench-archive-"))
    server = RedisServer(work)
    sim = Simulator(
        work,
        "--latency-ms",
        str(args.latency_ms),
        "--trades-per-day",
        str(args.trades_per_day),
    )
    env = {
        **os.environ,
        "REDIS_URL": server.url,
        "DATA_DIR": str(work / "data"),
        **sim_env(sim.url),
        "PYTHONUNBUFFERED": "1",
    }
    worker = Worker(work, env, "bench", concurrency=args.concurrency)
    client = redis.Redis.from_url(server.url)
    try:
        results = [run(mode, env, client, sim, args.timeout_s) for mode in ("auto", "auto", "rest")]
        results[0]["mode"] = "auto, cold sim cache"
    finally:
        client.close()
        worker.stop()
        sim.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"BTCUSDT spot: 2 years of 1m klines + 30 days of aggTrades at {args.trades_per_day:,} "
        f"trades/day; simulator 6000/60 spot weight, {args.latency_ms} ms latency; client "
        f"budget 5700/60; one worker, -c {args.concurrency}"
    )
    print(
        f"{'source':<20} {'wall s':>8} {'shards':>6} {'failed':>6} {'rows':>12} "
        f"{'archive/+rest/rest':>18} {'REST req':>8} {'weight':>7} {'zip req':>7} "
        f"{'zip MB':>7} {'429s':>4}"
    )
    for r in results:
        src = r["by_source"]
        split = f"{src['archive']}/{src['archive+rest']}/{src['rest']}"
        print(
            f"{r['mode']:<20} {r['seconds']:>8.1f} {r['shards']:>6} {r['failed']:>6} "
            f"{r['rows']:>12,} {split:>18} {r['rest_requests']:>8,} {r['weight']:>7,} "
            f"{r['archive_requests']:>7,} {r['archive_mb']:>7.1f} {r['rejected_429']:>4}"
        )
    cold, auto, rest = results
    print(
        f"wall-time ratio REST-only / archive (auto): {rest['seconds'] / auto['seconds']:.1f}x "
        f"(cold simulator cache: {rest['seconds'] / cold['seconds']:.1f}x)"
    )
    print(f"request weight: REST-only {rest['weight']:,}, archive (auto) {auto['weight']:,}")
    per_day = 4 * -(-REALISTIC_TRADES_PER_DAY // 1000)
    weight = 30 * per_day
    print(
        f"extrapolated REST-only aggTrades at {REALISTIC_TRADES_PER_DAY:,} trades/day: "
        f"30 x {per_day:,} weight = {weight:,} weight = {weight / 5700:.0f} min at 5700/60 "
        "(weight-bound; pages of 1000 trades, weight 4 each)"
    )


if __name__ == "__main__":
    main()
