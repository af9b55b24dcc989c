"""Reading a time range of one symbol's data as a DataFrame, touching only the files it needs."""

from __future__ import annotations

import os
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from storage.dtypes import dtype as data_type
from storage.errors import InputError
from storage.shards import Shard, clean_symbol, periods
from storage.store import Store
from storage.stores import as_store

Moment = datetime | pd.Timestamp | str


def _utc(moment: Moment) -> pd.Timestamp:
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _markets(store: Store, exchange: str, dtype: str, symbol: str, interval: str | None):
    """Markets that hold this symbol's `dtype`, found by pyarrow's own partition discovery."""
    root = f"{store.root}/exchange={exchange}"
    if store.filesystem.get_file_info(root).type != pafs.FileType.Directory:
        return []
    dataset = ds.dataset(
        root,
        filesystem=store.filesystem,
        format="parquet",
        partitioning="hive",
        exclude_invalid_files=False,
    )
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
    data_dir: Store | str | os.PathLike[str],
) -> pd.DataFrame:
    """Rows of `dtype` for `symbol` with time in [start, end) (UTC; naive times are UTC).

    `data_dir` is a local folder, an `s3://bucket/prefix` URL (credentials and endpoint as
    the AWS SDKs find them) or a store from `storage.open_store`. Only the files of the
    periods that overlap the range are opened, and pyarrow skips row groups outside it by
    their statistics. `market` defaults to the one market that holds the data. Candle
    types need `interval`.
    """
    kind = data_type(dtype)
    if kind.interval and interval is None:
        raise InputError(f"{dtype} need an interval, e.g. interval='1m'")
    store = as_store(data_dir)
    symbol = clean_symbol(symbol)
    lo, hi = _utc(start), _utc(end)
    interval = interval if kind.interval else None
    if market is None:
        markets = _markets(store, exchange, dtype, symbol, interval)
        if len(markets) > 1:
            raise InputError(f"{symbol} {dtype} is stored for markets {markets}: pass market=")
        market = markets[0] if markets else None
    paths = []
    if market is not None:
        for period in periods(dtype, lo.to_pydatetime(), hi.to_pydatetime()):
            shard = Shard(exchange, market, dtype, symbol, period, interval)
            if store.exists(shard):
                paths.append(store.path(shard))
    schema = kind.schema
    if not paths:
        return schema.empty_table().to_pandas()
    time = ds.field(kind.time_column)
    unit = schema.field(kind.time_column).type
    bounds = (time >= pa.scalar(lo, unit)) & (time < pa.scalar(hi, unit))
    dataset = ds.dataset(paths, schema=schema, format="parquet", filesystem=store.filesystem)
    return dataset.to_table(filter=bounds).to_pandas()
