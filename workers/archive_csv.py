"""Streaming a verified archive zip's CSV member as record batches in the dtype's schema.

pyarrow's streaming CSV reader decodes one block at a time straight from the zip member,
so memory holds a block and its batch, never the whole day.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from storage.errors import DataError
from storage.shards import Shard
from workers.exchanges.base import Archive

BLOCK_BYTES = 2 << 20
TRUE_VALUES = ["true", "True", "TRUE"]
FALSE_VALUES = ["false", "False", "FALSE"]


def _member(archive_zip: zipfile.ZipFile, path: Path) -> str:
    names = [n for n in archive_zip.namelist() if not n.endswith("/")]
    if len(names) != 1:
        raise DataError(f"{path.name}: expected one CSV in the zip, found {names}")
    return names[0]


def read_batches(path: Path, archive: Archive, shard: Shard) -> Iterator[pa.RecordBatch]:
    """The rows of the zip at `path`, batch by batch, converted by the adapter's archive."""
    columns = archive.columns(shard)
    kept = [name for name, kind in columns.items() if kind is not None]
    try:
        with zipfile.ZipFile(path) as archive_zip:
            member = _member(archive_zip, path)
            with archive_zip.open(member) as head:
                first_line = head.readline()
            if not first_line.strip():
                return
            read = pacsv.ReadOptions(
                column_names=list(columns),
                skip_rows=1 if archive.has_header(first_line) else 0,
                block_size=BLOCK_BYTES,
                use_threads=False,
            )
            convert = pacsv.ConvertOptions(
                column_types={n: t for n, t in columns.items() if t is not None},
                include_columns=kept,
                true_values=TRUE_VALUES,
                false_values=FALSE_VALUES,
            )
            with archive_zip.open(member) as body:
                for batch in pacsv.open_csv(body, read_options=read, convert_options=convert):
                    if batch.num_rows:
                        yield archive.to_batch(batch, shard)
    except (pa.ArrowInvalid, zipfile.BadZipFile) as exc:
        raise DataError(
            f"{shard.key}: {path.name} does not read as the archive's CSV: {exc}"
        ) from None
