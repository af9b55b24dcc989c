"""One rate budget at any number of workers: shardfetch's shared limiter against Celery's own
`rate_limit`, judged by what the exchange saw. Prints one table.

    python -m bench.ratelimit [--workers 1,2,4,8] [--budget 1200/20] [--months 48]

Starts redis-server and exchange-sim with a spot budget of `--budget` (weight/seconds:
Binance's 6000/60 scaled down so that a run spans a few windows in about a minute) and
Binance's ban rules scaled the same way (first 418 ban 40 s instead of 120 s). Then, for each
worker count N, the same job three ways: BTCUSDT 1m klines for the `--months` months up to
2024-12 over REST, 1000 candles (weight 2) a page.

    shardfetch            N `celery -A workers` processes, one budget in Redis (set to the
                          exchange's own, with --margin-ms of send-to-arrival margin)
    celery rate_limit=B   N workers of bench/naive_app.py, one task per page, each with
                          Celery's rate_limit set to the budget (in pages)
    celery rate_limit=B/N the same, each set to 1/N of it

`util` is the budget's mean fill in steady state: the weight the exchange accepted in the
trailing window over the budget, averaged from one window after the first request to the
last. Over whole windows that is weight used / (budget x elapsed / window), without crediting
the opening burst that a rolling window admits once. `sent` and `accepted` are the most weight
that reached the exchange, and that it accepted, in any window, over the budget.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import redis
from celery import Celery

from bench import naive_app
from bench.cluster import RedisServer, Simulator, Worker, run_producer, sim_env
from storage.shards import Shard
from workers.exchanges.binance import Binance

PAGE_WEIGHT = 2  # spot klines, 1000 a page


@dataclass(frozen=True)
class Run:
    limiter: str
    workers: int
    seconds: float
    requests: int
    status_429: int
    status_418: int
    sent_peak: float
    accepted_peak: float
    util: float
    finished: str


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def months(count: int, last: tuple[int, int] = (2024, 12)) -> list[str]:
    """The `count` months up to and including `last`, oldest first (all closed)."""
    end = last[0] * 12 + last[1] - 1
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(end - count + 1, end + 1)]


def window_sums(t_ms: np.ndarray, weight: np.ndarray, at_ms: np.ndarray, window_ms: int):
    """Weight in (at - window, at] for each `at`, from arrivals sorted by time."""
    total = np.concatenate([[0], np.cumsum(weight)])
    return (
        total[np.searchsorted(t_ms, at_ms, "right")]
        - total[np.searchsorted(t_ms, at_ms - window_ms, "right")]
    )


def measure(sim: Simulator, budget: int, window_s: int) -> tuple[int, float, float, float]:
    """(requests, peak sent / budget, peak accepted / budget, steady utilisation) from the
    simulator's arrival log."""
    log = sim.arrivals()
    window_ms = window_s * 1000
    t_ms = np.array([e["t_ms"] for e in log], dtype=np.int64)
    weight = np.array([e["weight"] or PAGE_WEIGHT for e in log], dtype=np.int64)
    ok = np.array([e["status"] == 200 for e in log], dtype=bool)
    sent = window_sums(t_ms, weight, t_ms, window_ms).max(initial=0) / budget
    accepted = window_sums(t_ms[ok], weight[ok], t_ms[ok], window_ms).max(initial=0) / budget
    steady = np.arange(t_ms.min() + window_ms, t_ms.max(), 50) if len(t_ms) else np.array([])
    fill = window_sums(t_ms[ok], weight[ok], steady, window_ms) / budget
    return len(log), sent, accepted, float(fill.mean()) if len(fill) else float("nan")


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.budget, self.window_s = (int(x) for x in args.budget.split("/"))
        self.redis = RedisServer(work)
        self.client = redis.Redis.from_url(self.redis.url)
        ban_s = max(1, round(120 * self.window_s / 60))
        self.sim = Simulator(
            work, "--spot-weight", args.budget, "--binance-ban-s", str(ban_s), name="sim"
        )
        self.shards = [
            Shard("binance", "spot", "klines", "BTCUSDT", m, "1m") for m in months(args.months)
        ]
        self.env = {
            **os.environ,
            "REDIS_URL": self.redis.url,
            "DATA_DIR": str(work / "data"),
            **sim_env(self.sim.url),
            "BINANCE_SPOT_RATE_LIMIT": args.budget,
            "SHARDFETCH_LIMIT_MARGIN_MS": str(args.margin_ms),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }

    def _fresh(self) -> None:
        self.client.flushall()
        shutil.rmtree(self.work / "data", ignore_errors=True)
        self.sim.reset()

    def _workers(self, n: int, app: str, queue: str, env: dict) -> list[Worker]:
        return [Worker(self.work, env, f"{app}-{i}", queue=queue, app=app) for i in range(n)]

    def shardfetch(self, n: int) -> Run:
        self._fresh()
        workers = self._workers(n, "workers", "binance", self.env)
        start, end = (_day(ms) for ms in (self.shards[0].start_ms, self.shards[-1].end_ms))
        job = ["--source", "rest", "--data", "klines", "--start", start, "--end", end]
        started = time.monotonic()
        result = run_producer(
            self.env, "enqueue", "--symbol", "BTCUSDT", *job, "--wait",
            "--timeout", str(self.args.timeout),
        )  # fmt: skip
        seconds = time.monotonic() - started
        for worker in workers:
            worker.stop()
        finished = "all" if result.returncode == 0 else f"exit {result.returncode}"
        return self._run("shardfetch", n, seconds, finished)

    def naive(self, n: int, share: int, label: str) -> Run:
        self._fresh()
        rate = self.budget / PAGE_WEIGHT / self.window_s / share
        env = {**self.env, "NAIVE_RATE_LIMIT": f"{rate:g}/s"}
        workers = self._workers(n, "bench.naive_app", naive_app.QUEUE, env)
        adapter = Binance({"spot": self.sim.url})
        pages = [r for s in self.shards for r in adapter.requests(s, s.end_ms)]
        app = Celery("naive", broker=self.redis.url)
        started = time.monotonic()
        with app.producer_or_acquire() as producer:
            for page in pages:
                app.send_task(
                    naive_app.TASK, args=[page.url, page.params], queue=naive_app.QUEUE,
                    producer=producer,
                )  # fmt: skip
        deadline = started + self.args.timeout
        while self._pages_done() < len(pages) and time.monotonic() < deadline:
            time.sleep(0.2)
        seconds = time.monotonic() - started
        for worker in workers:
            worker.stop()
        done = self._pages_done()
        finished = "all" if done >= len(pages) else f"{done / len(pages):.0%}"
        return self._run(label, n, seconds, finished)

    def _pages_done(self) -> int:
        return int(self.client.get(naive_app.DONE) or 0)

    def _run(self, label: str, n: int, seconds: float, finished: str) -> Run:
        stats = self.sim.stats()
        requests, sent, accepted, util = measure(self.sim, self.budget, self.window_s)
        return Run(
            label, n, seconds, requests, stats["status_429"], stats["status_418"],
            sent, accepted, util, finished,
        )  # fmt: skip

    def close(self) -> None:
        self.client.close()
        self.sim.stop()
        self.redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2,4,8", help="worker process counts")
    parser.add_argument("--budget", default="1200/20", help="spot weight/seconds at the exchange")
    parser.add_argument("--months", type=int, default=48, help="months of 1m klines in the job")
    parser.add_argument("--margin-ms", type=int, default=250, help="SHARDFETCH_LIMIT_MARGIN_MS")
    parser.add_argument("--timeout", type=float, default=240, help="give up on a run after (s)")
    parser.add_argument("--no-naive", action="store_true", help="only shardfetch's limiter")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shardfetch-bench-ratelimit-"))
    bench = Bench(args, work)
    pages = sum(len(Binance({"spot": ""}).requests(s, s.end_ms)) for s in bench.shards)
    print(
        f"budget {args.budget} (weight/seconds) at the exchange; job: {pages:,} pages of weight "
        f"{PAGE_WEIGHT} ({args.months} months of 1m klines); margin {args.margin_ms} ms"
    )
    header = (
        f"{'limiter':<22} {'workers':>7} {'wall s':>7} {'requests':>8} {'429s':>6} {'418s':>5} "
        f"{'sent':>6} {'accepted':>8} {'util':>6} {'finished':>8}"
    )
    print(header)
    try:
        for n in (int(x) for x in args.workers.split(",")):
            runs = [bench.shardfetch(n)]
            if not args.no_naive:
                runs += [
                    bench.naive(n, 1, "celery rate_limit=B"),
                    bench.naive(n, n, "celery rate_limit=B/N"),
                ]
            for r in runs:
                print(
                    f"{r.limiter:<22} {r.workers:>7} {r.seconds:>7.1f} {r.requests:>8,} "
                    f"{r.status_429:>6,} {r.status_418:>5,} {r.sent_peak:>6.2f} "
                    f"{r.accepted_peak:>8.2f} {r.util:>6.1%} {r.finished:>8}",
                    flush=True,
                )
    finally:
        bench.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
