"""Writing and reading one shard's Parquet file: streamed, validated, atomically renamed."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from storage.errors import DataError
from storage.gaps import CONTIGUOUS_IDS, Gap, edge_gaps, inner_gaps, step, to_metadata
from storage.layout import shard_dir, shard_path, temp_glob
from storage.schemas import SCHEMAS, SORT_KEY, TIME_COLUMN
from storage.shards import Shard

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
    path: Path
    rows: int
    bytes: int


class ShardWriter:
    """Streams record batches of one shard into a temp file and renames it into place on commit.

    Batches must arrive in order: the sort key has to increase strictly across the whole
    file, and every row must fall inside the shard's period. A writer that is not committed
    (an exception, a kill) leaves no file at the final path; `remove_stale_temps` clears
    the temp file a killed writer left behind. The gaps the rows have (candle slots or
    trade ids the exchange did not send) are recorded in the file's `source_gaps` metadata.
    """

    def __init__(self, data_dir: Path, shard: Shard, metadata: dict[str, str]) -> None:
        self.shard = shard
        self.schema = SCHEMAS[shard.dtype].with_metadata(
            {"shard": shard.key, "software_version": software_version(), **metadata}
        )
        self.path = shard_path(data_dir, shard)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.tmp")
        # Plain encoding + zstd: dictionary pages cost 3x the CPU for files a quarter larger
        # on prices, sizes, ids and times (bench/parse.py).
        self._writer = pq.ParquetWriter(
            self.temp, self.schema, compression="zstd", write_statistics=True, use_dictionary=False
        )
        self._rows = 0
        self._last_key: object | None = None
        self._complete = metadata.get("complete", "true") == "true"
        self._step = step(shard, metadata.get("trade_ids", CONTIGUOUS_IDS))
        self._gaps: list[Gap] = []
        self._first: int | None = None
        self._last: int | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Buffer the rows; whole row groups are checked and written once enough arrived.

        A page's rows are checked (order, period) when its row group is written, at the
        latest on commit."""
        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        table = table.select(self.schema.names)
        if not table.schema.equals(self.schema):
            table = table.cast(self.schema)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS + MIN_GROUP_ROWS:
            self._flush(final=False)

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
        keys = pc.cast(table.column(SORT_KEY[self.shard.dtype]), pa.int64()).to_numpy()
        self._gaps += inner_gaps(keys, self._step, self._last)
        if self._first is None:
            self._first = int(keys[0])
        self._last = int(keys[-1])

    def _check(self, table: pa.Table) -> None:
        """Rows strictly increasing by the sort key (across writes too) and inside the period."""
        name = SORT_KEY[self.shard.dtype]
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
        times = pc.cast(table.column(TIME_COLUMN[self.shard.dtype]), pa.int64())
        lo, hi = pc.min(times).as_py(), pc.max(times).as_py()
        if lo < self.shard.start_ms or hi >= self.shard.end_ms:
            raise DataError(f"{self.shard.key}: rows fall outside the shard's period")
        self._last_key = keys[-1]

    def commit(self) -> StoredFile:
        """Close, fsync, rename into place and fsync the directory: after this the file is final."""
        self._flush(final=True)
        gaps = list(self._gaps)
        if self._first is not None and self._last is not None:
            gaps += edge_gaps(self.shard, self._first, self._last, complete=self._complete)
        self._writer.add_key_value_metadata({"source_gaps": to_metadata(sorted(gaps))})
        self._writer.close()
        with open(self.temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.temp, self.path)
        _fsync_dir(self.path.parent)
        return StoredFile(self.path, self._rows, self.path.stat().st_size)

    def abort(self) -> None:
        self._writer.close()
        self.temp.unlink(missing_ok=True)

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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(data_dir: Path, shard: Shard) -> int:
    """Delete temp files a killed writer of `shard` left; call only while holding its lock."""
    directory = shard_dir(data_dir, shard)
    if not directory.is_dir():
        return 0
    stale = list(directory.glob(temp_glob(shard)))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def read_shard(data_dir: Path, shard: Shard) -> pa.Table:
    return pq.read_table(shard_path(data_dir, shard))


def file_metadata(path: Path) -> dict[str, str]:
    """The file's key-value metadata (shard, source, complete, source_gaps, ...) from its footer."""
    return footer_metadata(pq.read_metadata(path))


def footer_metadata(meta: pq.FileMetaData) -> dict[str, str]:
    raw = meta.metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW")}
