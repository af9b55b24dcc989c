"""One job on three worker processes, one fault at a time: how the cluster heals.

    python -m bench.chaos [--months 12] [--outage-s 30] [--faults sigkill,sigterm,...]

For each fault a fresh dataset, Redis (with an AOF, as docker-compose.yml runs it), simulator
and three `celery worker` processes run `producer enqueue --wait` on 1m candles; once some
shards are stored and others are being fetched, the fault strikes:

* none: nothing, to see how long the rest of the job takes anyway
* sigkill: SIGKILL to one worker's process group (the machine is gone)
* sigterm: SIGTERM to one worker's process group (a deploy)
* redis: Redis killed, away `--outage-s`, restarted from its AOF on the same port
* 5xx: 10% of the exchange's answers are 503 from then on
* poison: 10% of pages come with a field of the wrong type; the failed shards are retried
  with `producer retry-failed --wait` once the exchange answers normally again
* disk: DATA_DIR (a tmpfs; needs root) fills up; `retry-failed --wait` once space is back

It prints one row per fault: seconds from the fault until the job completed (the person's
`retry-failed` included where one is needed), shards re-sent without a person (orphans and
shards handed back), and what the files hold against the simulator's ground truth: rows
missing, rows duplicated, temp files left over; then how many failed shards the person's
`retry-failed` sent again, and how many answers the simulator faulted (5xx, poison), so a
row shows that its fault struck. Wall times are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import redis

from bench.cluster import BIN, Process, RedisServer, Simulator, Worker, sim_env, wait_for
from simulator import market
from storage.keys import Keys, namespace_of
from storage.shards import Shard

FAULTS = ("none", "sigkill", "sigterm", "redis", "5xx", "poison", "disk")
LATENCY_MS = "150"


@dataclass
class Row:
    fault: str
    seconds: float
    resent: int
    missing: int
    duplicated: int
    leftover: int
    retried: int  # shards that failed and the person's `retry-failed` sent again
    hits: int  # the simulator's faulted answers (5xx, poison)


LABELS = {
    "none": "none (the same moment of the job, for comparison)",
    "sigkill": "SIGKILL to a worker's process group",
    "sigterm": "SIGTERM to a worker's process group",
    "redis": "Redis killed, away {outage:g} s, restarted",
    "5xx": "10% 5xx from the exchange",
    "poison": "10% poisoned pages (+ retry-failed)",
    "disk": "disk full (+ retry-failed)",
}
COLUMNS = ("fault", "s to done", "re-sent", "missing", "duplicated", "left over", "retried", "hits")


class Run:
    """One fresh dataset, simulator and three workers on the shared Redis."""

    def __init__(self, work: Path, server: RedisServer, months: int, data_dir: Path):
        self.work, self.server, self.data_dir = work, server, data_dir
        self.sim = Simulator(work, "--latency-ms", LATENCY_MS, name="sim")
        self.env = {
            **os.environ,
            "REDIS_URL": server.url,
            "DATA_DIR": str(data_dir),
            "SHARDFETCH_LOCK_TTL_S": "5",
            "SHARDFETCH_PAGE_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
            **sim_env(self.sim.url),
        }
        self.keys = Keys(namespace_of(str(data_dir)))
        self.redis = redis.Redis.from_url(server.url)
        self.redis.flushall()
        self.shards = [
            Shard("binance", "spot", "klines", "BTCUSDT", p.strftime("%Y-%m"), "1m")
            for p in pd.period_range("2023-01", periods=months, freq="M")
        ]
        end = (pd.Period(self.shards[-1].period, "M") + 1).strftime("%Y-%m-01")
        self.args = [
            *("--symbol", "BTCUSDT", "--source", "rest", "--data", "klines"),
            *("--interval", "1m", "--start", "2023-01-01", "--end", end),
        ]
        with ThreadPoolExecutor(3) as pool:
            names = [f"w{i}" for i in range(3)]
            self.workers = list(pool.map(lambda n: Worker(work, self.env, n, concurrency=2), names))

    def producer(self, *args: str, name: str) -> Process:
        command = [str(BIN / "producer"), *args, "--wait", "--timeout", "600"]
        return Process(command, self.work / f"{name}.log", self.env)

    def mid_job(self) -> str:
        """Wait until the first shard is stored and others are being fetched; the name of a
        worker fetching one."""
        k = self.keys

        def busy() -> str | None:
            if self.redis.scard(k.done) < 1:
                return None
            held = {s.decode(): h.decode() for s, h in self.redis.hgetall(k.held).items()}
            running = [s.decode() for s in self.redis.smembers(k.running)]
            holders = [held[s] for s in running if s in held]
            return holders[0].split("@")[0] if holders else None

        return wait_for(busy, 300, "the job to be under way", poll_s=0.05)

    def worker(self, name: str) -> Worker:
        return next(w for w in self.workers if w.log.name == f"worker-{name}.log")

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.sim.stop()
        self.redis.close()


def stored(path: Path) -> pd.DataFrame:
    """A shard file as a frame, its time columns as int64 ms like the ground truth's."""
    table = pq.read_table(path)
    return pa.table(
        {
            name: pc.cast(col, pa.int64()) if pa.types.is_timestamp(col.type) else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    ).to_pandas()


def count(run: Run) -> tuple[int, int, int]:
    """Ground-truth rows not stored exactly (missing), rows stored more than once
    (duplicated), and temp files left over."""
    missing = duplicated = 0
    for shard in run.shards:
        truth = market.klines(shard.symbol, shard.market, "1m", shard.start_ms, shard.end_ms)
        files = list(run.data_dir.rglob(f"interval=1m/{shard.period}.parquet"))
        rows = pd.concat([stored(f) for f in files]) if files else truth.iloc[:0]
        kept = truth.merge(rows.drop_duplicates(), how="left", indicator=True)
        missing += int((kept["_merge"] == "left_only").sum())
        duplicated += int(rows["open_time"].duplicated().sum())
    return missing, duplicated, len(list(run.data_dir.rglob("*.tmp")))


def strike(run: Run, fault: str, outage_s: float) -> tuple[float, Callable[[], None] | None]:
    """Inject the fault mid-job; returns when it struck, and what a person does once
    `enqueue --wait` reports failed shards (None where nobody needs to)."""
    victim = run.worker(run.mid_job())
    struck = time.monotonic()
    if fault == "none":
        return struck, None
    if fault in ("sigkill", "sigterm"):
        os.killpg(victim.proc.pid, signal.SIGKILL if fault == "sigkill" else signal.SIGTERM)
        return struck, None
    if fault == "redis":
        run.server.proc.send_signal(signal.SIGKILL)
        run.server.proc.wait(timeout=10)
        time.sleep(outage_s)  # the fault itself: Redis stays away
        run.server.start()
        return struck, None
    if fault == "5xx":
        run.sim.faults(**{"5xx": 0.10})
        return struck, None
    if fault == "poison":
        run.sim.faults(poison=0.10)
        return struck, lambda: run.sim.faults(poison=0.0)
    filler = run.data_dir.parent / "filler"
    # Unbuffered, so closing it writes nothing more once the disk is full (ENOSPC).
    with open(filler, "wb", buffering=0) as out, suppress(OSError):
        while True:
            out.write(b"\0" * (1 << 20))
    return struck, filler.unlink


def one(work: Path, server: RedisServer, fault: str, months: int, outage_s: float) -> Row:
    data_dir = work / fault / "data"
    mounted = False
    if fault == "disk":
        data_dir.parent.mkdir(parents=True)
        mount = ["mount", "-t", "tmpfs", "-o", f"size={8 * months}m", "tmpfs", str(data_dir.parent)]
        mounted = subprocess.run(mount, capture_output=True).returncode == 0
        if not mounted:
            raise SystemExit("the disk fault mounts a tmpfs: run as root, or leave it out")
    data_dir.mkdir(parents=True, exist_ok=True)
    run = Run(work, server, months, data_dir)
    try:
        job = run.producer("enqueue", *run.args, name=f"enqueue-{fault}")
        struck, recover = strike(run, fault, outage_s)
        code = job.proc.wait(timeout=900)
        job.stop()
        retried = 0
        if code != 0:
            if recover is None:
                raise SystemExit(f"{fault}: enqueue --wait failed:\n{job.output()[-3000:]}")
            recover()  # the person fixes the cause and retries what failed
            retry = run.producer("retry-failed", name=f"retry-{fault}")
            if retry.proc.wait(timeout=900) != 0:
                raise SystemExit(f"{fault}: retry-failed failed:\n{retry.output()[-3000:]}")
            retry.stop()
            retried = int(retry.output().split(" failed shards sent again")[0].split()[-1])
        seconds = time.monotonic() - struck
        resent = int(run.redis.get(run.keys.healed) or 0)
        faults = run.sim.stats()["faults"]
        return Row(fault, seconds, resent, *count(run), retried, faults["5xx"] + faults["poison"])
    finally:
        run.stop()
        if mounted:
            subprocess.run(["umount", "-l", str(data_dir.parent)], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=12, help="1m candle months in the job")
    parser.add_argument("--outage-s", type=float, default=30.0, help="how long Redis is away")
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma list, in order")
    args = parser.parse_args()
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise SystemExit(f"unknown faults {sorted(unknown)}: choose from {', '.join(FAULTS)}")
    work = Path(tempfile.mkdtemp(prefix="shardfetch-chaos-"))
    (work / "redis").mkdir()
    server = RedisServer(work / "redis", aof=True)
    print(
        f"BTCUSDT 1m klines, {args.months} monthly shards, 3 workers x 2 processes, "
        f"{LATENCY_MS} ms per page, lock TTL 5 s"
    )
    print("| " + " | ".join(COLUMNS) + " |")
    print("|---" * len(COLUMNS) + "|")
    try:
        for fault in faults:
            r = one(work, server, fault, args.months, args.outage_s)
            label = LABELS[fault].format(outage=args.outage_s)
            cells = (r.resent, r.missing, r.duplicated, r.leftover, r.retried, r.hits)
            print(
                f"| {label} | {r.seconds:.1f} | " + " | ".join(map(str, cells)) + " |", flush=True
            )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
