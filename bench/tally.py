"""Status, one `--wait` poll and one heal pass on a big ledger: what they cost at 300k shards.

    python -m bench.tally [--symbols 411] [--days 731] [--repeat 3]

Starts redis-server, fills a ledger with `symbols x days` daily aggTrades shards claimed
through `Ledger.claim` in batches of 5,000 (as `producer enqueue` does), stores, fails and
locks a few thousand of them, then times: `collect` (what `producer status` reads), the
whole `producer status` command (a fresh process), one poll of `enqueue --wait`, and one heal
pass (`Custody.orphans`) with the exchange's queue busy and idle. Runs on any checkout of
shardfetch (the code before the per-group counters too), so before/after come from the
same script. Timings on a shared machine are noisy: give the range of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import inspect
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from rich.console import Console

from bench.cluster import RedisServer
from producer import dashboard
from producer.status import collect, render
from storage.custody import Custody
from storage.ledger import Ledger
from storage.parquet import StoredFile
from storage.shards import Shard, periods
from workers.ratelimit import Budget

NAMESPACE = "bench-tally"
BATCH = 5000
BUDGETS = {("binance", "spot"): Budget(6000, 60)}


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return min(runs), max(runs)


def fill(ledger: Ledger, symbols: int, days: int) -> tuple[list[Shard], float]:
    from datetime import UTC, datetime, timedelta

    start = datetime(2023, 1, 1, tzinfo=UTC)
    days_ = periods("aggtrades", start, start + timedelta(days=days))
    shards = [
        Shard("binance", "spot", "aggtrades", f"S{i:03d}USDT", day)
        for i in range(symbols)
        for day in days_
    ]
    began = time.perf_counter()
    for i in range(0, len(shards), BATCH):
        ledger.claim(shards[i : i + BATCH], 3_600_000, "auto")
    claim_s = time.perf_counter() - began
    for shard in shards[:5000]:
        ledger.mark_stored(shard, StoredFile(Path("x"), 1000, 20_000), complete=True, source="rest")
    for shard in shards[5000:5200]:
        ledger.mark_failed(shard, "bench: a permanent failure")
    for shard in shards[5200:5300]:
        ledger.lock(shard, "bench", 3_600_000)
    return shards, claim_s


def poll(ledger: Ledger, shards: list[Shard]) -> Callable[[], object]:
    """One poll of `--wait` as this checkout's dashboard does it."""
    if "scope" in inspect.signature(dashboard.snapshot).parameters:
        scope = {s.key.rsplit(":", 1)[0] for s in shards}
        return lambda: dashboard.all_finished(dashboard.snapshot(ledger, scope, BUDGETS))
    return lambda: dashboard.all_finished(dashboard.snapshot(ledger, shards, BUDGETS))


def status_command(url: str) -> None:
    env = {**os.environ, "REDIS_URL": url, "SHARDFETCH_NAMESPACE": NAMESPACE, "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-c", "from producer.cli import main; main()", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=411)
    parser.add_argument("--days", type=int, default=731)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tally-") as tmp:
        server = RedisServer(Path(tmp))
        try:
            client = redis.Redis.from_url(server.url)
            ledger, custody = Ledger(client, NAMESPACE), Custody(client, NAMESPACE)
            shards, claim_s = fill(ledger, args.symbols, args.days)
            r = args.repeat

            def status() -> None:
                render(collect(ledger), Console(file=io.StringIO(), width=200))

            def heal() -> None:
                custody.orphans(lost_after_ms=60_000, grace_ms=60_000)

            rows = [
                ("claim, all batches", (claim_s, claim_s)),
                ("status: collect + render", timed(status, r)),
                ("`producer status` command", timed(lambda: status_command(server.url), r)),
                ("one --wait poll", timed(poll(ledger, shards), r)),
            ]
            client.rpush(ledger.keys.queue("binance"), "a message")
            rows.append(("heal pass, queue busy", timed(heal, r)))
            client.delete(ledger.keys.queue("binance"))
            rows.append(("heal pass, queue idle", timed(heal, r)))
            if hasattr(ledger, "recount"):  # reconcile's last step, O(shards) in one script
                rows.append(("recount of every shard", timed(ledger.recount, r)))
            memory = client.info("memory")["used_memory"] / 2**20
        finally:
            server.stop()
    print(
        f"{len(shards):,} shards ({args.symbols} symbols x {args.days} days), "
        f"Redis {memory:.0f} MiB"
    )
    print(f"{'what':<28} {'min s':>8} {'max s':>8}")
    for name, (low, high) in rows:
        print(f"{name:<28} {low:>8.3f} {high:>8.3f}")


if __name__ == "__main__":
    main()
