"""Reading a time range of one symbol's data as a DataFrame, touching only the files it needs."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from storage.errors import InputError
from storage.layout import shard_path
from storage.schemas import SCHEMAS, TIME_COLUMN
from storage.shards import DTYPES, Shard, clean_symbol, periods

Moment = datetime | pd.Timestamp | str


def _utc(moment: Moment) -> pd.Timestamp:
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _markets(data_dir: Path, exchange: str, dtype: str, symbol: str, interval: str | None):
    """Markets that hold this symbol's `dtype`, found by pyarrow's own partition discovery."""
    root = Path(data_dir) / f"exchange={exchange}"
    if not root.is_dir():
        return []
    dataset = ds.dataset(root, format="parquet", partitioning="hive", exclude_invalid_files=False)
    where = (ds.field("dtype") == dtype) & (ds.field("symbol") == symbol)
    found = set()
    for fragment in dataset.get_fragments(filter=where):
        keys = ds.get_partition_keys(fragment.partition_expression)
        if interval is None or str(keys.get("interval")) == interval:
            found.add(str(keys["market"]))
    return sorted(found)


def read(
    exchange: str,
    symbol: str,
    dtype: str,
    start: Moment,
    end: Moment,
    interval: str | None = None,
    market: str | None = None,
    *,
    data_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Rows of `dtype` for `symbol` with time in [start, end) (UTC; naive times are UTC).

    Only the files of the periods that overlap the range are opened, and pyarrow skips
    row groups outside it by their statistics. `market` defaults to the one market that
    holds the data; `data_dir` defaults to `DATA_DIR`, then `./data`. Klines need `interval`.
    """
    if dtype not in DTYPES:
        raise InputError(f"unknown data type {dtype!r}: choose from {', '.join(DTYPES)}")
    if dtype == "klines" and interval is None:
        raise InputError("klines need an interval, e.g. interval='1m'")
    root = Path(data_dir or os.environ.get("DATA_DIR", "data"))
    symbol = clean_symbol(symbol)
    lo, hi = _utc(start), _utc(end)
    interval = interval if dtype == "klines" else None
    if market is None:
        markets = _markets(root, exchange, dtype, symbol, interval)
        if len(markets) > 1:
            raise InputError(f"{symbol} {dtype} is stored for markets {markets}: pass market=")
        market = markets[0] if markets else None
    paths = []
    if market is not None:
        for period in periods(dtype, lo.to_pydatetime(), hi.to_pydatetime()):
            path = shard_path(root, Shard(exchange, market, dtype, symbol, period, interval))
            if path.exists():
                paths.append(str(path))
    schema = SCHEMAS[dtype]
    if not paths:
        return schema.empty_table().to_pandas()
    time = ds.field(TIME_COLUMN[dtype])
    bounds = (time >= pa.scalar(lo, schema.field(TIME_COLUMN[dtype]).type)) & (
        time < pa.scalar(hi, schema.field(TIME_COLUMN[dtype]).type)
    )
    dataset = ds.dataset(paths, schema=schema, format="parquet")
    return dataset.to_table(filter=bounds).to_pandas()
