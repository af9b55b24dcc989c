"""The same archive job written to a local DATA_DIR and to S3 (moto's server on loopback).

    python -m bench.objectstore [--days 30] [--trades-per-day 200000] [--concurrency 2]

Starts redis-server, exchange-sim and moto's S3 server on loopback. A warm-up run first
makes the simulator build its archive files (the real archive serves static files), then
each target gets an empty ledger and its own `celery worker -c N`, and `producer enqueue
--data aggtrades --source archive --wait` stores `--days` days of BTCUSDT trades. Printed per
target: wall seconds, rows/s, Parquet bytes/s, peak RSS of the largest worker process
(VmHWM), the worker processes' CPU seconds, and the requests S3 served (counted in moto's
request log, by method). Wall time is noisy on a shared machine; CPU seconds less so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import redis

from bench.cluster import RedisServer, S3Server, Simulator, Worker, run_producer, sim_env
from storage.keys import Keys, namespace_of

START = date(2024, 3, 1)
TICKS = os.sysconf("SC_CLK_TCK")


def group_usage(pgid: int) -> tuple[float, float]:
    """(largest peak RSS in MB, CPU seconds) over the live processes of a process group."""
    peak_mb, cpu_s = 0.0, 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pgid:
                continue
            cpu_s += (int(stat[11]) + int(stat[12])) / TICKS
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_mb = max(peak_mb, int(line.split()[1]) / 1024)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return peak_mb, cpu_s


def job(env: dict[str, str], days: int) -> None:
    end = START + timedelta(days=days)
    window = ["--start", START.isoformat(), "--end", end.isoformat()]
    args = ["--symbol", "BTCUSDT", "--data", "aggtrades", "--source", "archive", *window]
    result = run_producer(env, "enqueue", *args, "--wait", "--timeout", "1800", timeout_s=1900)
    if result.returncode != 0:
        raise SystemExit(f"enqueue failed:\n{result.stdout}{result.stderr}")


def run(name: str, env: dict, work: Path, client: redis.Redis, args, s3: S3Server) -> dict:
    client.flushall()
    worker = Worker(work, env, f"bench-{name}", concurrency=args.concurrency)
    requests_before = s3.requests()
    started = time.perf_counter()
    try:
        job(env, args.days)
        seconds = time.perf_counter() - started
        peak_mb, cpu_s = group_usage(os.getpgid(worker.proc.pid))
    finally:
        worker.stop()
    files = Keys(namespace_of(env["DATA_DIR"])).files
    infos = [json.loads(v) for v in client.hgetall(files).values()]
    rows, size = sum(i["rows"] for i in infos), sum(i["bytes"] for i in infos)
    return {
        "target": name,
        "shards": len(infos),
        "rows": rows,
        "mb": size / 1e6,
        "seconds": seconds,
        "rows_s": rows / seconds,
        "mb_s": size / 1e6 / seconds,
        "peak_mb": peak_mb,
        "cpu_s": cpu_s,
        "requests": s3.requests() - requests_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--trades-per-day", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shardfetch-bench-objectstore-"))
    servers = [RedisServer(work)]
    try:
        sim = Simulator(work, "--trades-per-day", str(args.trades_per_day))
        servers.append(sim)
        s3 = S3Server(work)
        servers.append(s3)
        client = redis.Redis.from_url(servers[0].url)
        base = {**os.environ, "REDIS_URL": servers[0].url, **sim_env(sim.url)}
        targets = {
            "local": {**base, "DATA_DIR": str(work / "data")},
            "s3": {**base, **s3.env(s3.make_bucket("bench-objectstore"))},
        }
        warm = {**base, "DATA_DIR": str(work / "warm-up")}
        client.flushall()
        worker = Worker(work, warm, "warm-up", concurrency=args.concurrency)
        try:
            job(warm, args.days)
        finally:
            worker.stop()
        results = [run(name, env, work, client, args, s3) for name, env in targets.items()]
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{args.days} days of BTCUSDT aggTrades from the archive ({args.trades_per_day:,}/day), "
        f"one worker -c {args.concurrency}"
    )
    print(
        f"{'target':<7} {'shards':>6} {'rows':>11} {'MB':>7} {'wall s':>7} {'rows/s':>9} "
        f"{'MB/s':>6} {'peak RSS MB':>11} {'worker CPU s':>12}  S3 requests"
    )
    for r in results:
        sent = r["requests"]
        by_method = ", ".join(f"{m} {n}" for m, n in sorted(sent.items()))
        requests = f"{sum(sent.values())} ({by_method})" if sent else "0"
        print(
            f"{r['target']:<7} {r['shards']:>6} {r['rows']:>11,} {r['mb']:>7.1f} "
            f"{r['seconds']:>7.1f} {r['rows_s']:>9,.0f} {r['mb_s']:>6.2f} {r['peak_mb']:>11.0f} "
            f"{r['cpu_s']:>12.1f}  {requests}"
        )


if __name__ == "__main__":
    main()
