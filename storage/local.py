"""A store in a local folder: temp file, fsync, `os.replace`, fsync the folder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from storage.layout import relative_path, shard_at, shard_dir, temp_glob
from storage.shards import Shard
from storage.store import Committed, Leftover, Store


class TempFile:
    """Writes to `.{name}.{random}.tmp` beside the final path; commit renames it into place."""

    def __init__(self, final: Path) -> None:
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        self.temp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.tmp")
        self.stream = pa.OSFile(str(self.temp), "wb")

    def commit(self) -> Committed:
        """Close, fsync, rename into place and fsync the folder: after this the file is final."""
        self.stream.close()
        with open(self.temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.temp, self.final)
        _fsync_dir(self.final.parent)
        return Committed(self.final, self.final.stat().st_size)

    def abort(self) -> None:
        self.stream.close()
        self.temp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore(Store):
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.url = os.fspath(folder)
        self.folder = Path(folder)
        self.root = self.folder.as_posix().rstrip("/") or "/"
        self._fs = pafs.LocalFileSystem()

    def __repr__(self) -> str:
        return f"LocalStore({self.url!r})"

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self._fs

    def sink(self, shard: Shard) -> TempFile:
        return TempFile(self.folder / relative_path(shard))

    def leftovers(self) -> list[Leftover]:
        out = []
        for temp in sorted(self.folder.rglob(".*.parquet.*.tmp")):
            final = temp.name[1:].removesuffix(".tmp").rsplit(".", 1)[0]
            shard = shard_at((temp.parent / final).relative_to(self.folder).as_posix())
            if shard is not None:
                out.append(Leftover(shard, f"temp file {temp}", str(temp)))
        return out

    def discard(self, leftover: Leftover) -> None:
        Path(leftover.handle).unlink(missing_ok=True)

    def remove_leftovers(self, shard: Shard) -> int:
        directory = shard_dir(self.folder, shard)
        if not directory.is_dir():
            return 0
        stale = list(directory.glob(temp_glob(shard)))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)
