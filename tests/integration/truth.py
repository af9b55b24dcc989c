"""Comparing what shardfetch stored with the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from simulator import market
from storage.schemas import SCHEMAS
from storage.shards import Shard
from storage.store import Store
from storage.stores import as_store


def stored_frame(data_dir: Path | Store, shard: Shard) -> pd.DataFrame:
    """The shard's file as a frame with time columns as int64 ms, checked against the schema."""
    table = as_store(data_dir).read(shard)
    assert table.schema.remove_metadata() == SCHEMAS[shard.dtype], shard.key
    columns = {
        name: (pa.compute.cast(col, pa.int64()) if pa.types.is_timestamp(col.type) else col)
        for name, col in zip(table.column_names, table.columns, strict=True)
    }
    return pa.table(columns).to_pandas()


def truth_frame(shard: Shard, seed: int = 0, **kw: int) -> pd.DataFrame:
    if shard.dtype == "klines":
        return market.klines(
            shard.symbol, shard.market, shard.interval, shard.start_ms, shard.end_ms, seed=seed
        )
    if shard.dtype == "aggtrades":
        return market.aggtrades(
            shard.symbol, shard.market, shard.start_ms, shard.end_ms, seed=seed, **kw
        )
    return market.funding(shard.symbol, shard.start_ms, shard.end_ms, seed=seed)


def assert_matches_truth(data_dir: Path | Store, shard: Shard, **kw: int) -> int:
    """Every stored row equals the ground truth: same rows, same values, no gap, no duplicate."""
    stored = stored_frame(data_dir, shard)
    truth = truth_frame(shard, **kw).reset_index(drop=True)
    assert len(stored) > 0, f"{shard.key}: empty file"
    pd.testing.assert_frame_equal(
        stored, truth[stored.columns], check_dtype=False, check_exact=True, obj=shard.key
    )
    return len(stored)
