"""Shard model, dataset layout, Parquet files and the Redis ledger: what a backfill stores.

`storage.read(exchange, symbol, dtype, start, end, interval=None, market=None, data_dir=...)`
reads a time range of the dataset into a DataFrame (see storage/dataset.py);
`storage.open_store(data_dir, s3=S3Options(...))` opens a local folder or an s3:// dataset.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so that importing storage.errors (every CLI call) does not load pandas' reader.
    if name == "read":
        from storage.dataset import read

        return read
    if name in ("open_store", "S3Options"):
        from storage import s3, stores

        return {"open_store": stores.open_store, "S3Options": s3.S3Options}[name]
    raise AttributeError(name)
