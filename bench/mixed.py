"""One job across all four exchanges, a worker on each exchange's queue: when each finishes.

    python -m bench.mixed [--latency-ms 20] [--slow mexc] [--factor 10]

Runs the same job twice on the simulator: every venue at `--latency-ms`, then `--slow` at
`--factor` times that. Each run starts redis-server, exchange-sim and one celery worker per
queue, enqueues BTCUSDT klines, trades and funding on every exchange at once, and prints
how long each exchange took to finish its shards. A slow exchange that held the others
back would show up as the fast ones finishing later in the second run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from bench.cluster import BIN, RedisServer, Simulator, Worker, sim_env, wait_for
from storage.keys import Keys, namespace_of

EXCHANGES = ("binance", "mexc", "gateio", "bybit")
#: how the simulator's paths tell the venues apart, for request counts
PATH_PREFIXES = {
    "binance": ("/api/v3", "/fapi"),
    "mexc": ("/mexc", "/api/v1/contract"),
    "gateio": ("/api/v4", "/gatedata"),
    "bybit": ("/v5", "/bybit-public"),
}


def job_args(exchange: str, days: int) -> list[str]:
    """klines (1h on Gate, whose 1m reach is a week), trades and funding for the last `days`."""
    start = (datetime.now(UTC) - timedelta(days=days - 1)).date().isoformat()
    interval = "1h" if exchange == "gateio" else "1m"
    return [
        *("enqueue", "--exchange", exchange, "--symbol", "BTCUSDT"),
        *("--data", "klines,aggtrades,funding", "--interval", interval, "--start", start),
    ]


_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): ")


def busy_s(log: str) -> float:
    """Seconds from a worker's first task received to its last task finished (its log)."""
    stamps = [
        datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
        for line in log.splitlines()
        if ("] received" in line or " succeeded in " in line) and (m := _STAMP.match(line))
    ]
    return (max(stamps) - min(stamps)).total_seconds() if stamps else 0.0


@dataclass
class Finish:
    exchange: str
    shards: int
    failed: int
    seconds: float  # from the start of the run (the producers included) to its last shard
    requests: int
    queued_s: float  # when every producer had returned
    busy_s: float  # the exchange's worker: first task received to last task finished


def run_job(workdir: Path, redis_url: str, sim: Simulator, days: int, timeout_s: float):
    """Start a worker per queue, enqueue on every exchange at once, time each to its end."""
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(workdir / "data"),
        "PYTHONUNBUFFERED": "1",
        **sim_env(sim.url),
    }
    keys = Keys(namespace_of(env["DATA_DIR"]))
    workers = [Worker(workdir, env, f"{x}-w", queue=x) for x in EXCHANGES]
    try:
        started = time.monotonic()
        producers = [
            subprocess.Popen(
                [str(BIN / "producer"), *job_args(x, days)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for x in EXCHANGES
        ]
        outputs = [p.communicate(timeout=120)[0] for p in producers]
        queued_s = time.monotonic() - started
        for p, out in zip(producers, outputs, strict=True):
            if p.returncode != 0:
                raise RuntimeError(out)
        planned = {k.decode() for k in client.smembers(keys.planned)}
        pending = {x: {k for k in planned if k.startswith(x + ":")} for x in EXCHANGES}
        finished: dict[str, float] = {}

        def all_finished() -> bool:
            ended = client.smembers(keys.done) | client.smembers(keys.partial)
            ended |= set(client.hkeys(keys.failed))
            ended_keys = {k.decode() for k in ended}
            for x, todo in pending.items():
                if x not in finished and todo <= ended_keys:
                    finished[x] = time.monotonic() - started
            return len(finished) == len(EXCHANGES)

        wait_for(all_finished, timeout_s, "every exchange's shards", poll_s=0.05)
        failed = {k.decode() for k in client.hkeys(keys.failed)}
        stats = sim.stats()["requests"]
        return [
            Finish(
                x,
                len(pending[x]),
                len(pending[x] & failed),
                finished[x],
                sum(n for path, n in stats.items() if path.startswith(PATH_PREFIXES[x])),
                queued_s,
                busy_s(worker.output()),
            )
            for x, worker in zip(EXCHANGES, workers, strict=True)
        ], outputs
    finally:
        for worker in workers:
            worker.stop()
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--slow", default="mexc", choices=EXCHANGES)
    parser.add_argument("--factor", type=float, default=10.0)
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shardfetch-mixed-"))
    server = RedisServer(work)
    slow_ms = args.latency_ms * args.factor
    runs = [
        ("warm-up", []),  # first imports and caches; not printed
        (f"all {args.latency_ms:g} ms", []),
        (f"{args.slow} {slow_ms:g} ms", ["--venue-latency", f"{args.slow}={slow_ms:g}"]),
    ]
    print(f"BTCUSDT klines+trades+funding, last {args.days} days' periods, one worker per queue")
    print(
        f"{'run':<18} {'exchange':<8} {'shards':>6} {'failed':>6} {'requests':>8} "
        f"{'queued s':>8} {'done s':>8} {'busy s':>7}"
    )
    try:
        for label, extra in runs:
            sim = Simulator(work, "--latency-ms", str(args.latency_ms), *extra, name="sim")
            try:
                finishes, _ = run_job(work, server.url, sim, args.days, timeout_s=600)
            finally:
                sim.stop()
            for f in finishes if label != "warm-up" else []:
                print(
                    f"{label:<18} {f.exchange:<8} {f.shards:>6} {f.failed:>6} "
                    f"{f.requests:>8} {f.queued_s:>8.2f} {f.seconds:>8.2f} {f.busy_s:>7.2f}"
                )
            shutil.rmtree(work / "data", ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
