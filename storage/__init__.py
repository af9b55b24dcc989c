"""Shard model, dataset layout, Parquet files and the Redis ledger: what a backfill stores.

`storage.read(exchange, symbol, dtype, start, end, interval=None, market=None)` reads a
time range of the dataset into a DataFrame (see storage/dataset.py).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so that importing storage.errors (every CLI call) does not load pandas' reader.
    if name == "read":
        from storage.dataset import read

        return read
    raise AttributeError(name)
