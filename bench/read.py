"""How fast `storage.read` returns a slice of two years of 1m klines: prints one table.

    python -m bench.read [--repeat 5]

Writes 2022-01 .. 2023-12 of BTCUSDT 1m klines (24 files, ~1.05 M rows) with the real
writer from the simulator's ground truth, then times reads of several ranges.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa

import storage
from simulator import market
from storage.parquet import ShardWriter
from storage.schemas import SCHEMAS
from storage.shards import Shard, periods

START, END = "2022-01-01", "2024-01-01"
CASES = [
    ("one day", "2023-06-15", "2023-06-16"),
    ("one month", "2023-06-01", "2023-07-01"),
    ("one month across files", "2023-06-15", "2023-07-15"),
    ("one year", "2023-01-01", "2024-01-01"),
    ("all two years", START, END),
]


def write_dataset(data_dir: Path) -> int:
    from datetime import UTC, datetime

    rows = 0
    start = datetime.fromisoformat(START).replace(tzinfo=UTC)
    end = datetime.fromisoformat(END).replace(tzinfo=UTC)
    for period in periods("klines", start, end):
        shard = Shard("binance", "spot", "klines", "BTCUSDT", period, "1m")
        frame = market.klines("BTCUSDT", "spot", "1m", shard.start_ms, shard.end_ms)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.cast(
            pa.schema(
                [
                    (f.name, pa.int64() if pa.types.is_timestamp(f.type) else f.type)
                    for f in SCHEMAS["klines"]
                ]
            )
        )
        with ShardWriter(data_dir, shard, {"source": "bench", "complete": "true"}) as writer:
            writer.write(table)
            rows += writer.commit().rows
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shardfetch-bench-read-"))
    try:
        started = time.perf_counter()
        total = write_dataset(work)
        files = len(list(work.rglob("*.parquet")))
        size_mb = sum(p.stat().st_size for p in work.rglob("*.parquet")) / 2**20
        print(
            f"wrote {total:,} rows of BTCUSDT 1m klines {START} .. {END} in {files} files "
            f"({size_mb:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
        print(f"{'range':<24} {'from':<11} {'to':<11} {'rows':>10} {'median s':>9} {'max s':>7}")
        for name, lo, hi in CASES:
            times, rows = [], 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                frame = storage.read(
                    "binance", "BTCUSDT", "klines", lo, hi, interval="1m", data_dir=work
                )
                times.append(time.perf_counter() - t0)
                rows = len(frame)
            print(
                f"{name:<24} {lo:<11} {hi:<11} {rows:>10,} "
                f"{statistics.median(times):>9.3f} {max(times):>7.3f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
