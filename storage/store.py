"""The storage face: one file per shard under a root, wherever that root is.

Write (`sink`, then commit or abort), read, list, remove and describe are the same for
every target, because they go through a pyarrow FileSystem; a target (storage/local.py,
storage/s3.py) only says how bytes reach their final place atomically and what an
interrupted write leaves behind. `storage.stores.open_store` picks the target by `DATA_DIR`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from storage.layout import relative_path
from storage.shards import Shard


@dataclass(frozen=True)
class Committed:
    """A shard's file in its final place: `path` as the user would name it (a local path or
    an `s3://` URL), its size, and the object's ETag where the target has one."""

    path: Path | str
    bytes: int
    etag: str | None = None


class Sink(Protocol):
    """Where one shard's Parquet bytes go while it is written.

    Nothing appears at the shard's path before `commit`; after `abort`, or a kill at any
    point, the final path holds what it held before (nothing, or the previous file).
    """

    #: a writable file object (pyarrow NativeFile or Python file-like) for pq.ParquetWriter
    stream: Any

    def commit(self) -> Committed: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class Leftover:
    """What an interrupted write of `shard` left: a temp file, an incomplete upload.

    `handle` names exactly that one (the temp file's path, the upload's id)."""

    shard: Shard
    what: str
    handle: str


@dataclass(frozen=True)
class StoredShard:
    """One shard's file as its footer describes it: no row is read to know this."""

    shard: Shard
    path: str
    rows: int
    bytes: int
    complete: bool
    source: str
    metadata: dict[str, str]
    etag: str | None = None


def footer_metadata(meta: pq.FileMetaData) -> dict[str, str]:
    raw = meta.metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW")}


class Store(ABC):
    """A dataset root. Subclasses give the filesystem and the atomic write; the rest is here."""

    #: DATA_DIR as the user wrote it: messages and the ledger's namespace use it
    url: str
    #: the dataset's root inside `filesystem` (no trailing slash)
    root: str

    @property
    @abstractmethod
    def filesystem(self) -> pafs.FileSystem:
        """The pyarrow filesystem that reads this store (pyarrow datasets take it too)."""

    @abstractmethod
    def sink(self, shard: Shard) -> Sink:
        """Start writing `shard`'s file; call only while holding the shard's lock."""

    @abstractmethod
    def leftovers(self) -> list[Leftover]:
        """What interrupted writes left under the root, with the shard each belongs to."""

    @abstractmethod
    def remove_leftovers(self, shard: Shard) -> int:
        """Delete what interrupted writes of `shard` left; only while holding its lock."""

    @abstractmethod
    def discard(self, leftover: Leftover) -> None:
        """Delete exactly this leftover (gone already is fine)."""

    def check(self) -> None:  # noqa: B027 - most targets have nothing to check
        """Raise InputError if the store cannot be used (unreachable, no such bucket)."""

    # -- the same for every target ------------------------------------------------------
    def path(self, shard: Shard) -> str:
        """Where `shard`'s file is inside `filesystem`."""
        return f"{self.root}/{relative_path(shard)}"

    def exists(self, shard: Shard) -> bool:
        return self.filesystem.get_file_info(self.path(shard)).type == pafs.FileType.File

    def remove(self, shard: Shard) -> None:
        """Delete `shard`'s file; a missing file is not an error."""
        if self.exists(shard):
            self.filesystem.delete_file(self.path(shard))

    def read(self, shard: Shard, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.path(shard), columns=columns, filesystem=self.filesystem)

    def files(self) -> list[str]:
        """Every shard file under the root, in path order (leftovers are not listed)."""
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        return sorted(
            info.path
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File
            and info.base_name.endswith(".parquet")
            and not info.base_name.startswith(".")
        )

    def describe(self, path: str) -> StoredShard:
        """Read a file's footer: its shard key, completeness, source, rows and size.

        Raises ValueError (or pyarrow's error) for a file that is not a shard of this dataset.
        """
        with self.filesystem.open_input_file(path) as handle:
            size = handle.size()
            etag = handle.metadata().get("ETag", b"").decode().strip('"') or None
            meta = pq.read_metadata(handle)
        kv = footer_metadata(meta)
        if "shard" not in kv:
            raise ValueError(f"{path}: no shard key in its metadata")
        return StoredShard(
            shard=Shard.parse(kv["shard"]),
            path=path,
            rows=meta.num_rows,
            bytes=size,
            complete=kv.get("complete", "true") == "true",
            source=kv.get("source", ""),
            metadata=kv,
            etag=etag,
        )

    def stored(self) -> Iterator[StoredShard]:
        """Every stored shard, described by its footer."""
        for path in self.files():
            yield self.describe(path)
