"""Streaming a verified archive file's CSV (a zip's one member, or a gzip) as record batches in
the dtype's schema.

pyarrow's streaming CSV reader decodes one block at a time straight from the decompressor,
so memory holds a block and its batch, never the whole day.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from storage.errors import DataError, ExchangeUnavailable
from storage.shards import Shard
from workers.exchanges.base import Archive, ArchiveFile

BLOCK_BYTES = 2 << 20
TRUE_VALUES = ["true", "True", "TRUE"]
FALSE_VALUES = ["false", "False", "FALSE"]


def _member(archive_zip: zipfile.ZipFile, path: Path) -> str:
    names = [n for n in archive_zip.namelist() if not n.endswith("/")]
    if len(names) != 1:
        raise DataError(f"{path.name}: expected one CSV in the zip, found {names}")
    return names[0]


class _Csv:
    """Opens the CSV text of a downloaded file, as often as asked (first line, then body)."""

    def __init__(self, path: Path, packing: str) -> None:
        self.path = path
        self.packing = packing
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> _Csv:
        if self.packing == "zip":
            self._zip = zipfile.ZipFile(self.path)
            self._name = _member(self._zip, self.path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def open(self) -> AbstractContextManager[IO[bytes]]:
        if self._zip is not None:
            return self._zip.open(self._name)
        return gzip.open(self.path, "rb")


def _within(batch: pa.RecordBatch, column: str, start_ms: int, end_ms: int) -> pa.RecordBatch:
    times = pc.cast(batch.column(column), pa.int64())
    keep = pc.and_(pc.greater_equal(times, start_ms), pc.less(times, end_ms))
    return batch if pc.all(keep).as_py() else batch.filter(keep)


def read_batches(
    path: Path, archive: Archive, shard: Shard, file: ArchiveFile | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of the downloaded `file` at `path` (without it: a zip, every row), batch by
    batch, converted by the adapter's archive and kept within the file's window.

    A CSV that does not parse is a DataError where its bytes were checksummed (the archive
    published it so), and a transient fault, retried with the shard, where they were not.
    """
    packing = "zip" if file is None else file.packing
    try:
        with _Csv(path, packing) as csv:
            with csv.open() as head:
                first_line = head.readline()
            if not first_line.strip():
                return
            layout = archive.layout(shard, first_line)
            read = pacsv.ReadOptions(
                column_names=list(layout.names),
                skip_rows=1 if layout.header else 0,
                block_size=BLOCK_BYTES,
                use_threads=False,
            )
            convert = pacsv.ConvertOptions(
                column_types=dict(layout.types),
                include_columns=list(layout.types),
                true_values=TRUE_VALUES,
                false_values=FALSE_VALUES,
            )
            with csv.open() as body:
                rows = 0
                for raw in pacsv.open_csv(body, read_options=read, convert_options=convert):
                    if raw.num_rows:
                        batch = archive.to_batch(raw, shard, rows)
                        rows += raw.num_rows
                        if file is not None:
                            batch = _within(
                                batch, shard.kind.time_column, file.start_ms, file.end_ms
                            )
                        yield batch
    except (pa.ArrowInvalid, zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        message = f"{shard.key}: {path.name} does not read as the archive's CSV: {exc}"
        if file is not None and file.checksum_url is None:
            raise ExchangeUnavailable(message) from None
        raise DataError(message) from None
