"""Where each shard's file lives: the Hive-partitioned dataset layout of DESIGN.md.

Every store (a local folder, a bucket prefix) puts a shard at the same relative path.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from storage.errors import InputError
from storage.shards import Shard


def relative_dir(shard: Shard) -> str:
    parts = [
        f"exchange={shard.exchange}",
        f"market={shard.market}",
        f"dtype={shard.dtype}",
        f"symbol={shard.symbol}",
    ]
    if shard.interval is not None:
        parts.append(f"interval={shard.interval}")
    return "/".join(parts)


def relative_path(shard: Shard) -> str:
    """`exchange=binance/market=spot/dtype=klines/symbol=BTCUSDT/interval=1m/2024-01.parquet`."""
    return f"{relative_dir(shard)}/{shard.period}.parquet"


def shard_at(relative: str) -> Shard | None:
    """The shard whose file belongs at `relative`, or None if no shard's does.

    Only for leftovers that have no footer to say their shard (an unfinished upload, a temp
    file): stored files are known by the shard key in their own metadata. The answer is
    checked by building the path back, so only exact layout paths match.
    """
    path = PurePosixPath(relative)
    fields = dict(part.partition("=")[::2] for part in path.parts[:-1])
    if not path.name.endswith(".parquet"):
        return None
    try:
        shard = Shard(
            fields.get("exchange", ""),
            fields.get("market", ""),
            fields.get("dtype", ""),
            fields.get("symbol", ""),
            path.name.removesuffix(".parquet"),
            fields.get("interval"),
        )
    except InputError:
        return None
    return shard if relative_path(shard) == relative else None


def shard_dir(data_dir: Path, shard: Shard) -> Path:
    return Path(data_dir) / relative_dir(shard)


def shard_path(data_dir: Path, shard: Shard) -> Path:
    """`DATA_DIR/exchange=binance/market=spot/dtype=klines/symbol=BTCUSDT/interval=1m/2024-01.parquet`."""
    return Path(data_dir) / relative_path(shard)


def temp_glob(shard: Shard) -> str:
    """Pattern of the temp files a writer of `shard` may leave if it is killed mid-write."""
    return f".{shard.period}.parquet.*.tmp"
