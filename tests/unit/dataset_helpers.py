"""Writing shards from the simulator's ground truth with the real writer, for unit tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator import market
from storage.parquet import ShardWriter, StoredFile
from storage.shards import Shard


def truth(shard: Shard) -> pd.DataFrame:
    if shard.dtype == "klines":
        return market.klines(
            shard.symbol, shard.market, shard.interval, shard.start_ms, shard.end_ms
        )
    if shard.dtype == "aggtrades":
        return market.aggtrades(shard.symbol, shard.market, shard.start_ms, shard.end_ms)
    return market.funding(shard.symbol, shard.start_ms, shard.end_ms)


def write(
    data_dir: Path, shard: Shard, frame: pd.DataFrame | None = None, complete: bool = True
) -> StoredFile:
    """Store `frame` (default: the ground truth) as the writer would for a fetched shard."""
    frame = truth(shard) if frame is None else frame
    meta = {"source": "rest", "complete": str(complete).lower()}
    with ShardWriter(data_dir, shard, meta) as writer:
        writer.write(pa.Table.from_pandas(frame, preserve_index=False))
        return writer.commit()


def tamper(path: Path, edit) -> None:
    """Rewrite a stored file with `edit(frame)` applied, keeping its schema and metadata:
    damage done after the writer checked the rows."""
    table = pq.read_table(path)
    meta = pq.read_metadata(path).metadata
    frame = edit(table.to_pandas())
    out = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
    pq.write_table(out.replace_schema_metadata(meta), path, compression="zstd")
