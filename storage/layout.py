"""Where each shard's file lives: the Hive-partitioned dataset layout of DESIGN.md."""

from __future__ import annotations

from pathlib import Path

from storage.shards import Shard


def shard_dir(data_dir: Path, shard: Shard) -> Path:
    parts = [
        f"exchange={shard.exchange}",
        f"market={shard.market}",
        f"dtype={shard.dtype}",
        f"symbol={shard.symbol}",
    ]
    if shard.interval is not None:
        parts.append(f"interval={shard.interval}")
    return Path(data_dir).joinpath(*parts)


def shard_path(data_dir: Path, shard: Shard) -> Path:
    """`DATA_DIR/exchange=binance/market=spot/dtype=klines/symbol=BTCUSDT/interval=1m/2024-01.parquet`."""
    return shard_dir(data_dir, shard) / f"{shard.period}.parquet"


def temp_glob(shard: Shard) -> str:
    """Pattern of the temp files a writer of `shard` may leave if it is killed mid-write."""
    return f".{shard.period}.parquet.*.tmp"
