"""What the simulated gzip-CSV archive hosts (Gate's, Bybit's) share: faults by file-name
pattern, files built once in a thread and kept in a byte-bounded LRU cache, gzip CSV text,
and what a host serves below its prefix of the simulator's URL (server.py routes it).

The fault patterns are the Binance archive's own (`--archive-omit`, `--archive-corrupt`,
`POST /_sim/archive`): one set for every archive host, told apart by their file names.
"""

import asyncio
import fnmatch
import gzip
import io
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from simulator.archive_format import fixed_text
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY

CACHE_BYTES = 256 << 20


class NotFound(LookupError):
    """Nothing at this path (yet): the host answers 404."""


class Faults(Protocol):
    omit: list[str]
    corrupt: list[str]


def matches(patterns: list[str], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def flipped(data: bytes) -> bytes:
    """The bytes with the middle one inverted: inside the deflate stream, so it never decodes."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def prices(ticks: np.ndarray) -> pa.Array:
    return fixed_text(ticks, TICKS_PER_UNIT, 2)


def qtys(units: np.ndarray) -> pa.Array:
    return fixed_text(units, UNITS_PER_QTY, 8)


def gzip_csv(columns: list[pa.Array], header: str | None) -> bytes:
    """One CSV, gzipped with a fixed mtime so the same rows are always the same bytes."""
    table = pa.table(columns, names=[f"c{i}" for i in range(len(columns))])
    text = io.BytesIO()
    if header is not None:
        text.write(header.encode() + b"\n")
    pacsv.write_csv(table, text, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return gzip.compress(text.getvalue(), compresslevel=1, mtime=0)


class BuiltFiles:
    """Files by name, each built at most once at a time, in a thread; LRU bounded in bytes."""

    def __init__(self, cache_bytes: int = CACHE_BYTES) -> None:
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._building: dict[str, asyncio.Future] = {}

    async def get(self, name: str, build: Callable[[], bytes]) -> bytes:
        if name in self._cache:
            self._cache.move_to_end(name)
            return self._cache[name]
        if name not in self._building:
            self._building[name] = asyncio.get_running_loop().run_in_executor(None, build)
        try:
            data = await asyncio.shield(self._building[name])
        finally:
            self._building.pop(name, None)
        self._cache[name] = data
        while sum(map(len, self._cache.values())) > self.cache_bytes and len(self._cache) > 1:
            self._cache.popitem(last=False)
        return data


class Host(Protocol):
    """A simulated archive host: its URL prefix, its venue (whose latency it has) and what
    it serves at a path below the prefix, with the content type; NotFound for a 404."""

    prefix: str
    venue: str

    async def body(self, path: str, now_ms: int) -> tuple[bytes, str]: ...
