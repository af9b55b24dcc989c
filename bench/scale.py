"""The producer at scale: plan, enqueue, re-run, status and one wait poll for a universe.

    python -m bench.scale [--symbols 10,100,500] [--batch-floor 5000]

For each size, N Binance USDT symbols (listed on spot and USD-M) × two years of daily
aggTrades, monthly 1m klines and monthly funding, against exchange-sim (`--symbols 520`)
on its own redis-server, with NO workers: what is measured is the producer alone.

* probe s: the first-data probes, cold (dry runs of 30 symbols each, so the pre-"universe"
  planner stays under its Redis pool's 100 connections); they fill the first-data cache.
* plan s: `enqueue --dry-run` for all N symbols, cache warm (command start to exit).
* enqueue s: `enqueue` (command start to exit): plan, claim, publish; every message checked
  on the queue. Peak RSS is the enqueue process's (wait4).
* status s: `producer status` with the job queued. poll s: one call of what `--wait` runs
  per poll (producer.dashboard.snapshot over the job's groups).
* re-run s: `enqueue` again after the job is completed (every shard marked stored through
  the ledger's own API, the queue drained as workers would), with the data requests the
  simulator counted during it; it must send nothing.
* floor s: pipelined LPUSH (5,000 a round trip) of as many copies of one of the enqueued
  messages, measured in the same run.

The window ends at the first of this month, so every period is closed and a completed job
has nothing partial to refresh. Figures are wall-clock on a shared machine: noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import redis

from bench.cluster import BIN, RedisServer, Simulator, sim_env
from storage.keys import namespace_of
from storage.ledger import Ledger
from storage.parquet import StoredFile
from workers.settings import Settings

PROBE_CHUNK = 30
FLOOR_BATCH = 5000


@dataclass
class Row:
    symbols: int
    shards: int = 0
    probe_s: float = 0.0
    plan_s: float = 0.0
    enqueue_s: float = 0.0
    rss_mb: float = 0.0
    status_s: float = 0.0
    poll_s: float = 0.0
    rerun_s: float = 0.0
    rerun_requests: int = 0
    rerun_sent: int = 0
    floor_s: float = 0.0


def window() -> list[str]:
    """Two years up to the first of this month: closed periods only."""
    end = datetime.now(UTC).date().replace(day=1)
    start = date(end.year - 2, end.month, 1)
    return ["--start", start.isoformat(), "--end", end.isoformat()]


def run(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, stdout) of one `producer` command; raises if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "producer"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"producer {' '.join(args)[:80]}... exited {proc.returncode}:\n{out}")
    return wall, usage.ru_maxrss / 1024, out


def universe(sim_url: str, n: int) -> list[str]:
    """The first `n` symbols the simulator lists on both spot and USD-M (funding needs it)."""

    def listed(path: str) -> list[str]:
        with urllib.request.urlopen(sim_url + path, timeout=30) as response:
            return [s["symbol"] for s in json.loads(response.read())["symbols"]]

    perp = set(listed("/fapi/v1/exchangeInfo"))
    both = [s for s in listed("/api/v3/exchangeInfo") if s in perp]
    if len(both) < n:
        raise SystemExit(f"the simulator lists only {len(both)} symbols on both markets")
    return both[:n]


def one_poll_s(ledger: Ledger, settings: Settings) -> float:
    """One call of what the `--wait` loop calls per poll (producer/wait.py), over the groups
    of the job's shards (computed once before the loop, as `wait` does)."""
    from producer.dashboard import snapshot
    from storage.states import group_of

    scope = {group_of(s.key) for s in ledger.planned()}
    started = time.perf_counter()
    snapshot(ledger, scope, settings.budgets, settings.limit_key)
    return time.perf_counter() - started


def floor_s(client: redis.Redis, message: bytes, n: int) -> float:
    """Pipelined LPUSH of `n` copies of `message`, one command each, 5,000 a round trip."""
    scratch = "bench:floor"
    started = time.perf_counter()
    for start in range(0, n, FLOOR_BATCH):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(FLOOR_BATCH, n - start)):
            pipe.lpush(scratch, message)
        pipe.execute()
    took = time.perf_counter() - started
    client.delete(scratch)
    return took


def complete(ledger: Ledger, client: redis.Redis, queue: str) -> None:
    """What workers would leave: every planned shard stored, the queue drained."""
    client.delete(queue)
    nothing = StoredFile("", 0, 0)
    for shard in ledger.planned():
        ledger.mark_stored(shard, nothing, complete=True, source="rest")


def measure(n: int, server: RedisServer, sim: Simulator, workdir: Path) -> Row:
    row = Row(n)
    client = redis.Redis.from_url(server.url)
    client.flushall()
    data_dir = workdir / f"data-{n}"
    env = {
        **os.environ,
        **sim_env(sim.url),
        "REDIS_URL": server.url,
        "DATA_DIR": str(data_dir),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    settings = Settings.from_env(env)
    ledger = Ledger(client, namespace_of(str(data_dir)))
    queue = ledger.keys.queue("binance")
    symbols = universe(sim.url, n)
    job = ["enqueue", "--data", "aggtrades,klines,funding", "--interval", "1m", *window()]

    for start in range(0, n, PROBE_CHUNK):
        chunk = ",".join(symbols[start : start + PROBE_CHUNK])
        row.probe_s += run(env, *job, "--symbol", chunk, "--dry-run")[0]
    everything = ["--symbol", ",".join(symbols)]
    row.plan_s = run(env, *job, *everything, "--dry-run")[0]

    row.enqueue_s, row.rss_mb, out = run(env, *job, *everything)
    row.shards = client.scard(ledger.keys.planned)
    queued = client.llen(queue)
    if queued != row.shards:
        raise RuntimeError(f"{queued} messages queued for {row.shards} shards:\n{out}")
    row.floor_s = floor_s(client, client.lindex(queue, 0), row.shards)

    row.status_s = run(env, "status")[0]
    row.poll_s = one_poll_s(ledger, settings)

    complete(ledger, client, queue)
    sim.reset()
    row.rerun_s, _, out = run(env, *job, *everything)
    row.rerun_requests = sim.stats()["requests_total"]
    row.rerun_sent = client.llen(queue)
    client.close()
    return row


def per_100k(seconds: float, shards: int) -> str:
    return f"{seconds * 100_000 / shards:.1f}" if shards else "-"


HEAD = (
    f"{'symbols':>7} {'shards':>8} {'probe s':>8} {'plan s':>7} {'enqueue s':>9} "
    f"{'/100k':>6} {'re-run s':>8} {'/100k':>6} {'req':>4} {'sent':>4} {'status s':>8} "
    f"{'poll s':>7} {'RSS MB':>7} {'floor s':>7} {'/100k':>6}"
)


def line(r: Row) -> str:
    return (
        f"{r.symbols:>7} {r.shards:>8,} {r.probe_s:>8.1f} {r.plan_s:>7.2f} "
        f"{r.enqueue_s:>9.2f} {per_100k(r.enqueue_s, r.shards):>6} {r.rerun_s:>8.2f} "
        f"{per_100k(r.rerun_s, r.shards):>6} {r.rerun_requests:>4} {r.rerun_sent:>4} "
        f"{r.status_s:>8.2f} {r.poll_s:>7.3f} {r.rss_mb:>7.0f} {r.floor_s:>7.2f} "
        f"{per_100k(r.floor_s, r.shards):>6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--symbols", default="10,100,500", help="comma list of universe sizes (default %(default)s)"
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.symbols.split(",")]
    print(f"Binance, {window()[1]}..{window()[3]}: daily aggtrades + monthly 1m klines + funding")
    print("no workers; producer commands timed from start to exit; /100k = per 100k shards")
    print(HEAD)
    print("-" * len(HEAD), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir)
        # A few more than asked: the simulator leaves some symbols off its perpetual list.
        sim = Simulator(workdir, "--symbols", str(max(500, *sizes) + 20))
        try:
            for n in sizes:
                print(line(measure(n, server, sim, workdir)), flush=True)
        finally:
            sim.stop()
            server.stop()


if __name__ == "__main__":
    main()
