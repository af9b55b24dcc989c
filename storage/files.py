"""The stored dataset as a list of files, each known by its own footer (files are the truth)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from storage.parquet import footer_metadata
from storage.shards import Shard


@dataclass(frozen=True)
class StoredShard:
    """One shard's file as its footer describes it: no row is read to know this."""

    shard: Shard
    path: Path
    rows: int
    bytes: int
    complete: bool
    source: str
    metadata: dict[str, str]


def describe(path: Path) -> StoredShard:
    """Read a file's footer: its shard key, completeness, source and row count.

    Raises ValueError (or pyarrow's error) for a file that is not a shard of this dataset.
    """
    meta = pq.read_metadata(path)
    kv = footer_metadata(meta)
    if "shard" not in kv:
        raise ValueError(f"{path}: no shard key in its metadata")
    return StoredShard(
        shard=Shard.parse(kv["shard"]),
        path=path,
        rows=meta.num_rows,
        bytes=path.stat().st_size,
        complete=kv.get("complete", "true") == "true",
        source=kv.get("source", ""),
        metadata=kv,
    )


def shard_files(data_dir: Path) -> list[Path]:
    """Every shard file under `data_dir`, in path order; temp files of unfinished writes end
    in `.tmp` and are left out."""
    return sorted(Path(data_dir).rglob("*.parquet"))


def stored_shards(data_dir: Path) -> Iterator[StoredShard]:
    for path in shard_files(data_dir):
        yield describe(path)
