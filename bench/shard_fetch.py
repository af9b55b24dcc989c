"""REST fetching speed: the two-year job against the seed design, and pages by concurrency.

    python -m bench.shard_fetch [--latency-ms 20] [--repeat 2] [--no-sweep]

Starts redis-server and exchange-sim with `--latency-ms` of simulated distance to the
exchange, then prints two tables.

1. The two-year BTCUSDT 1m job over REST (24 monthly shards and the current one, ~1,066
   pages): `producer enqueue --source rest` into one `celery worker -c 2` (two worker
   processes, the real budgets), timed from the enqueue to the last shard stored, beside
   the seed design's single asyncio process (bench/seed_fetch.py: a semaphore of 10, a
   fixed delay between requests) fetching the same months from the same simulator, in
   turn, `--repeat` times. Both share the machine's two cores with the simulator.
2. `--sweep` (default on): one month of 1m klines and one day of aggTrades stored in this
   process, as a worker would, at each page concurrency, budgets high enough that the
   limiter never binds.

Every run starts from an empty ledger and data dir. Wall times on a shared machine are
noisy: compare figures of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import redis

from bench.cluster import RedisServer, Simulator, Worker, run_producer, sim_env, wait_for
from bench.seed_fetch import fetch_months
from storage.keys import namespace_of
from storage.ledger import Ledger
from storage.shards import Shard
from workers.backfill import backfill
from workers.runtime import Runtime
from workers.settings import Budget, Settings

SHARDS = [
    Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m"),
    Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01"),
]


def cpu_s(group: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


JOB = ["--symbol", "BTCUSDT", "--data", "klines", "--interval", "1m", "--years", "2"]


def _job_shardfetch(
    env: dict[str, str], client: redis.Redis, sim: Simulator, worker: Worker
) -> dict:
    client.flushall()
    shutil.rmtree(env["DATA_DIR"], ignore_errors=True)
    sim.reset()
    ledger = Ledger(client, namespace_of(env["DATA_DIR"]))
    cpu = cpu_s(worker.proc.pid), cpu_s(sim.proc.pid)
    started = time.perf_counter()
    result = run_producer(env, "enqueue", *JOB, "--source", "rest")
    if result.returncode != 0:
        raise SystemExit(f"enqueue failed: {result.stdout}{result.stderr}")
    enqueued = time.perf_counter() - started
    shards = ledger.planned()

    def finished() -> bool:
        return all(s.state in ("done", "partial", "failed") for s in ledger.states(shards))

    wait_for(finished, 600, "every shard stored", poll_s=0.02)
    seconds = time.perf_counter() - started
    worker_cpu, sim_cpu = cpu_s(worker.proc.pid) - cpu[0], cpu_s(sim.proc.pid) - cpu[1]
    states = ledger.states(shards)
    if any(s.state == "failed" for s in states):
        raise SystemExit(f"shards failed: {[s.reason for s in states if s.state == 'failed']}")
    return {
        "seconds": seconds,
        "enqueue_s": enqueued,
        "shards": shards,
        "rows": sum(s.rows for s in states),
        "pages": sim.stats()["requests_total"],
        "worker_cpu": worker_cpu,
        "sim_cpu": sim_cpu,
    }


def _job_seed(sim: Simulator, shards: list[Shard], out_dir: Path, delay_ms: float) -> dict:
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    sim.reset()
    cpu = time.process_time(), cpu_s(sim.proc.pid)
    open_ms = int(time.time() * 1000) // 60_000 * 60_000  # the candle still open: not stored
    months = [(s.period, s.start_ms, min(s.end_ms, open_ms)) for s in shards]
    started = time.perf_counter()
    rows = asyncio.run(fetch_months(sim.url, "BTCUSDT", months, out_dir, delay_s=delay_ms / 1000))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": rows,
        "pages": sim.stats()["requests_total"],
        "cpu": time.process_time() - cpu[0],
        "sim_cpu": cpu_s(sim.proc.pid) - cpu[1],
    }


def job(work: Path, sim: Simulator, server: RedisServer, args: argparse.Namespace) -> None:
    client = redis.Redis.from_url(server.url)
    concurrencies = [int(c) for c in str(args.page_concurrency).split(",")]
    print(
        f"two-year BTCUSDT 1m REST job; simulator latency {args.latency_ms} ms; shardfetch: "
        f"one worker -c 2 at each page concurrency (one untimed warm-up run each); seed "
        f"design: one asyncio process, semaphore 10, {args.seed_delay_ms:g} ms between requests"
    )
    print(
        f"{'run':>3} {'pages':>6} {'rows':>10} {'page conc.':>10} {'shardfetch s':>12} "
        f"{'(enqueue s)':>11} {'seed s':>7} {'ratio':>6} {'CPU s: workers':>14} {'sim':>5} "
        f"{'seed':>5} {'sim':>5}"
    )
    try:
        for run in range(1, args.repeat + 1):
            ours = {c: _job_with_worker(work, sim, server, client, c) for c in concurrencies}
            first = ours[concurrencies[0]]
            seed = _job_seed(sim, first["shards"], work / "seed-data", args.seed_delay_ms)
            if abs(seed["rows"] - first["rows"]) > 10:  # a few minutes close in between
                raise SystemExit(f"rows differ: shardfetch {first['rows']}, seed {seed['rows']}")
            for c, r in ours.items():
                print(
                    f"{run:>3} {r['pages']:>6} {r['rows']:>10,} {c:>10} {r['seconds']:>12.2f} "
                    f"{r['enqueue_s']:>11.2f} {seed['seconds']:>7.2f} "
                    f"{r['seconds'] / seed['seconds']:>6.3f} {r['worker_cpu']:>14.2f} "
                    f"{r['sim_cpu']:>5.2f} {seed['cpu']:>5.2f} {seed['sim_cpu']:>5.2f}",
                    flush=True,
                )
    finally:
        client.close()


def _job_with_worker(
    work: Path, sim: Simulator, server: RedisServer, client: redis.Redis, concurrency: int
) -> dict:
    """One timed job on a fresh `celery worker -c 2`, after an untimed warm-up run that fills
    the simulator's page cache (every contender then asks a warm simulator) and lets the
    pool processes open their connections."""
    env = {
        **os.environ,
        "REDIS_URL": server.url,
        "DATA_DIR": str(work / "job-data"),
        "SHARDFETCH_PAGE_CONCURRENCY": str(concurrency),
        **sim_env(sim.url),
    }
    worker = Worker(work, env, f"job{concurrency}", concurrency=2)
    try:
        _job_shardfetch(env, client, sim, worker)
        return _job_shardfetch(env, client, sim, worker)
    finally:
        worker.stop()


def sweep(work: Path, sim: Simulator, server: RedisServer, args: argparse.Namespace) -> None:
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
                    f"{seconds:>8.2f} {outcome.rows / seconds:>10,.0f}",
                    flush=True,
                )
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--trades-per-day", type=int, default=1_000_000)
    parser.add_argument("--concurrency", default="1,2,4,8,16,32", help="sweep: page concurrency")
    parser.add_argument("--repeat", type=int, default=2, help="job: runs of each")
    parser.add_argument(
        "--page-concurrency",
        default=str(Settings.page_concurrency),
        help="job: comma-separated, one worker each (e.g. 8,16)",
    )
    parser.add_argument("--seed-delay-ms", type=float, default=30.0)
    parser.add_argument("--no-job", dest="job", action="store_false")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false")
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
    try:
        if args.job:
            job(work, sim, server, args)
        if args.sweep:
            sweep(work, sim, server, args)
    finally:
        sim.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
