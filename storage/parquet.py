"""Writing one shard's Parquet file: streamed, validated, committed whole to its store."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from storage.errors import DataError
from storage.gaps import CONTIGUOUS_IDS, Gap, edge_gaps, inner_gaps, step, to_metadata
from storage.shards import Shard
from storage.store import Store, footer_metadata
from storage.stores import as_store

#: Rows per Parquet row group: readers skip, decompress and scan a file group by group, so
#: groups of this size (not one per REST page) keep reads fast. The last group of a file
#: holds between MIN_GROUP_ROWS and ROW_GROUP_ROWS + MIN_GROUP_ROWS rows; a smaller shard is
#: one group.
ROW_GROUP_ROWS = 128 * 1024
MIN_GROUP_ROWS = 64 * 1024


def software_version() -> str:
    try:
        return version("shardfetch")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@dataclass(frozen=True)
class StoredFile:
    """A committed shard file: where (a local path or an s3:// URL), rows, size, ETag."""

    path: Path | str
    rows: int
    bytes: int
    etag: str | None = None


class ShardWriter:
    """Streams record batches of one shard into its store's sink and commits the file whole.

    Batches must arrive in order: the sort key has to increase strictly across the whole
    file, and every row must fall inside the shard's period. A writer that is not committed
    (an exception, a kill) leaves nothing at the shard's path; the store's
    `remove_leftovers` clears what a killed writer left behind (a temp file, an incomplete
    upload). The gaps the rows have (candle slots, snapshots at `snapshot_ms` or trade ids
    the exchange did not send) are recorded in the file's `source_gaps` metadata.
    """

    def __init__(
        self, store: Store | str | os.PathLike[str], shard: Shard, metadata: dict[str, str]
    ) -> None:
        self.shard = shard
        self.kind = shard.kind
        self.schema = self.kind.schema.with_metadata(
            {"shard": shard.key, "software_version": software_version(), **metadata}
        )
        self._sink = as_store(store).sink(shard)
        # Plain encoding + zstd: dictionary pages cost 3x the CPU for files a quarter larger
        # on prices, sizes, ids and times (bench/parse.py).
        self._writer = pq.ParquetWriter(
            self._sink.stream,
            self.schema,
            compression="zstd",
            write_statistics=True,
            use_dictionary=False,
        )
        self._rows = 0
        self._last_key: object | None = None
        self._complete = metadata.get("complete", "true") == "true"
        snapshot_ms = metadata.get("snapshot_ms")
        self._snapshot_ms = int(snapshot_ms) if snapshot_ms else None
        self._step = step(shard, metadata.get("trade_ids", CONTIGUOUS_IDS), self._snapshot_ms)
        self._gaps: list[Gap] = []
        self._first: int | None = None
        self._last: int | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Buffer the rows; whole row groups are checked and written once enough arrived.

        A row without its sort key or time is refused here, with the page that carries it;
        order and period are checked when the row group is written, at the latest on commit."""
        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        table = table.select(self.schema.names)
        if not table.schema.equals(self.schema):
            table = table.cast(self.schema)
        self._refuse_nulls(table)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS + MIN_GROUP_ROWS:
            self._flush(final=False)

    def _refuse_nulls(self, table: pa.Table) -> None:
        """Order and period checks skip nulls (as Arrow's comparisons do), and a null key would
        be stored as a row no reader can place: refuse it."""
        for name in dict.fromkeys((self.kind.sort_key, self.kind.time_column)):
            nulls = table.column(name).null_count
            if nulls:
                raise DataError(
                    f"{self.shard.key}: {nulls} row(s) without a {name}; every row needs its "
                    f"{name} to be ordered and placed in the shard (the adapter must refuse them)"
                )

    def _flush(self, *, final: bool) -> None:
        """Write the buffered rows as row groups of ROW_GROUP_ROWS, keeping at least
        MIN_GROUP_ROWS back for the last group unless this is the last write."""
        if not self._pending:
            return
        table = pa.concat_tables(self._pending).replace_schema_metadata(self.schema.metadata)
        while table.num_rows >= ROW_GROUP_ROWS + MIN_GROUP_ROWS or (final and table.num_rows):
            rows = table.num_rows if final else ROW_GROUP_ROWS
            group = table.slice(0, rows)
            self._check(group)
            self._track_gaps(group)
            self._writer.write_table(group, row_group_size=rows)
            self._rows += rows
            table = table.slice(rows)
        self._pending = [table] if table.num_rows else []
        self._pending_rows = table.num_rows

    def _track_gaps(self, table: pa.Table) -> None:
        if self._step is None:
            return
        keys = pc.cast(table.column(self.kind.sort_key), pa.int64()).to_numpy()
        self._gaps += inner_gaps(keys, self._step, self._last)
        if self._first is None:
            self._first = int(keys[0])
        self._last = int(keys[-1])

    def _check(self, table: pa.Table) -> None:
        """Rows strictly increasing by the sort key (across writes too) and inside the period."""
        name = self.kind.sort_key
        keys = table.column(name)
        if self._last_key is not None:
            keys = pa.chunked_array([pa.array([self._last_key], keys.type), *keys.chunks])
        if len(keys) > 1:
            increasing = pc.greater(keys[1:], keys[:-1])
            if not pc.all(increasing).as_py():
                at = pc.index(increasing, False).as_py()
                raise DataError(
                    f"{self.shard.key}: rows arrive out of order at {keys[at + 1]} after "
                    f"{keys[at]}; the adapter must sort and de-duplicate each page by {name}"
                )
        times = pc.cast(table.column(self.kind.time_column), pa.int64())
        lo, hi = pc.min(times).as_py(), pc.max(times).as_py()
        if lo < self.shard.start_ms or hi >= self.shard.end_ms:
            raise DataError(f"{self.shard.key}: rows fall outside the shard's period")
        self._last_key = keys[-1]

    def commit(self) -> StoredFile:
        """Close the file and commit it to the store: after this it is final at its path."""
        self._flush(final=True)
        gaps = list(self._gaps)
        if self._first is not None and self._last is not None:
            gaps += edge_gaps(
                self.shard,
                self._first,
                self._last,
                complete=self._complete,
                snapshot_ms=self._snapshot_ms,
            )
        self._writer.add_key_value_metadata({"source_gaps": to_metadata(sorted(gaps))})
        self._writer.close()
        done = self._sink.commit()
        return StoredFile(done.path, self._rows, done.bytes, done.etag)

    def abort(self) -> None:
        with contextlib.suppress(OSError, ValueError, pa.ArrowException):
            self._writer.close()  # the sink is discarded whole below, footer or not
        self._sink.abort()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()


def file_metadata(path: Path) -> dict[str, str]:
    """The file's key-value metadata (shard, source, complete, source_gaps, ...) from its footer."""
    return footer_metadata(pq.read_metadata(path))
