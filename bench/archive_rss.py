"""Peak RSS of a worker process storing one day of aggTrades from the archive: one table.

    python -m bench.archive_rss [--trades-per-day 3000000] [--store local|s3]

Starts redis-server and exchange-sim with `--trades-per-day`, then stores
`binance:spot:aggtrades:BTCUSDT:2024-03-01` in a fresh child process, exactly as a worker
does (Runtime + backfill), and reads the child's peak resident set (ru_maxrss). A second
child that only imports the worker code and opens its Runtime gives the baseline.
`--store s3` writes to a bucket on moto's S3 server on loopback (a multipart upload).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cluster import RedisServer, S3Server, Simulator, sim_env

SHARD = "binance:spot:aggtrades:BTCUSDT:2024-03-01"

CHILD = """
import json, resource, sys, time
from storage.shards import Shard
from workers.backfill import backfill
from workers.runtime import Runtime
from workers.settings import Settings

rt = Runtime(Settings.from_env())
out = {}
if sys.argv[1] == "store":
    started = time.perf_counter()
    outcome = backfill(Shard.parse(sys.argv[2]), rt, "archive")
    out = {"rows": outcome.rows, "bytes": outcome.bytes, "source": outcome.source,
           "seconds": time.perf_counter() - started}
rt.close()
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def child(mode: str, env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, SHARD],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trades-per-day", type=int, default=3_000_000)
    parser.add_argument("--store", choices=["local", "s3"], default="local")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shardfetch-bench-rss-"))
    server = RedisServer(work)
    sim = Simulator(work, "--trades-per-day", str(args.trades_per_day))
    s3 = S3Server(work) if args.store == "s3" else None
    env = {
        **os.environ,
        "REDIS_URL": server.url,
        "DATA_DIR": str(work / "data"),
        **sim_env(sim.url),
        **(s3.env(s3.make_bucket("bench-rss")) if s3 else {}),
    }
    try:
        baseline = child("baseline", env)
        stored = child("store", env)
        zip_mb = sim.stats()["archive_bytes"] / 1e6
    finally:
        if s3:
            s3.stop()
        sim.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"one worker process storing {SHARD} from the archive ({args.trades_per_day:,}/day) "
        f"to {'S3 (moto server on loopback)' if s3 else 'a local folder'}"
    )
    print(
        f"{'process':<22} {'rows':>10} {'zip MB':>7} {'parquet MB':>10} {'seconds':>8} "
        f"{'peak RSS MB':>11}"
    )
    blank = ""
    print(f"{'baseline (no shard)':<22} {blank:>40} {baseline['maxrss_mb']:>11.0f}")
    print(
        f"{'store from archive':<22} {stored['rows']:>10,} {zip_mb:>7.1f} "
        f"{stored['bytes'] / 1e6:>10.1f} {stored['seconds']:>8.1f} {stored['maxrss_mb']:>11.0f}"
    )


if __name__ == "__main__":
    main()
