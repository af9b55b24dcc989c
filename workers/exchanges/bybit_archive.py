"""Bybit's public trade archive (spot and derivatives): which gzip CSV holds a day of trades,
and how it reads.

Bybit documents only that the archive exists (public.bybit.com). What follows is what public
code that downloads from it observes, not checked against Bybit here:

* Derivatives (`linear`): `{base}/trading/{SYMBOL}/` lists `{SYMBOL}{YYYY-MM-DD}.csv.gz` (no
  separator before the date), header `timestamp,symbol,side,size,price,tickDirection,
  trdMatchID,grossValue,homeNotional,foreignNotional` (newer files add `RPI`); `timestamp`
  is seconds with four decimals, `side` the taker's (`Buy`/`Sell`), `size` in base units,
  and a trade has no integer id (`trdMatchID` is a UUID): `agg_id` is the row's number in
  its day's file, from 1, as for spot files.

Spot:
* `{base}/spot/{SYMBOL}/` is an HTML directory page of `<a href>` links; files are daily,
  `{SYMBOL}_{YYYY-MM-DD}.csv.gz`. Some sources describe monthly dumps,
  `{SYMBOL}_{YYYY-MM}.csv.gz`: a day the page lists no daily file for is read from the
  month's dump, keeping that day's rows. The page is read rather than names guessed. No
  checksum is published.
* gzip CSV with a header, `id,timestamp,price,volume,side`, and on newer files `rpi`:
  columns were added over time, so they are read by name and unknown ones ignored.
  `timestamp` is ms (seconds and µs are told apart by magnitude), `side` the taker's, in
  lower case, `id` an integer that restarts every day.

One trade per row: agg_id = first_id = last_id = id, qty = volume, is_buyer_maker = the
taker sold.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from storage.errors import DataError
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.exchanges import columns as col
from workers.exchanges.base import ArchiveFile, CsvLayout
from workers.sourceplan import Span

GROUP = "archive"
#: market -> the archive's folder of its trades
FOLDERS = {"spot": "spot", "linear": "trading"}
#: the derivatives files' columns read, by header name (timestamps as text, read exactly)
LINEAR_TYPES: dict[str, pa.DataType] = {
    "timestamp": pa.string(),
    "side": pa.string(),
    "size": pa.float64(),
    "price": pa.float64(),
}
#: the spot files' columns read, by header name, and what they are read as
TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "timestamp": pa.float64(),  # ms on spot, but tolerant of float seconds
    "price": pa.float64(),
    "volume": pa.float64(),
    "side": pa.string(),
}
_HREF = re.compile(rb"""<a\s[^>]*?href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


def listed_names(page: str) -> set[str]:
    """The file names a directory page links to (`href`s relative, rooted or absolute)."""
    names = set()
    for match in _HREF.finditer(page.encode()):
        target = match.group(1).decode(errors="replace").split("?", 1)[0].split("#", 1)[0]
        name = unquote(target.rstrip("/").rsplit("/", 1)[-1])
        if name and not target.endswith("/"):
            names.add(name)
    return names


class BybitArchive:
    """Pure declarations of the archive at `base_url` (BYBIT_ARCHIVE_URL)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def listing_url(self, shard: Shard) -> str | None:
        if shard.dtype != "aggtrades" or shard.market not in FOLDERS:
            return None
        return f"{self.base_url}/{FOLDERS[shard.market]}/{shard.symbol}/"

    def file(self, shard: Shard, span: Span, listing: str | None = None) -> ArchiveFile | None:
        """The day's `BTCUSDT_2024-03-15.csv.gz`; where the directory page lists none, the
        month's dump `BTCUSDT_2024-03.csv.gz` (its rows outside the day are dropped)."""
        folder = self.listing_url(shard)
        if folder is None:
            return None
        names = None if listing is None else listed_names(listing)
        if shard.market == "linear":
            name = f"{shard.symbol}{shard.period}.csv.gz"
            if names is not None and name not in names:
                return None
            return ArchiveFile(folder + name, span.start_ms, span.end_ms, GROUP, packing="gzip")
        daily = f"{shard.symbol}_{shard.period}.csv.gz"
        monthly = f"{shard.symbol}_{shard.period[:7]}.csv.gz"
        name = daily if names is None or daily in names else monthly
        if names is not None and name not in names:
            return None
        return ArchiveFile(folder + name, span.start_ms, span.end_ms, GROUP, packing="gzip")

    def layout(self, shard: Shard, first_line: bytes) -> CsvLayout:
        """`id,timestamp,price,volume,side,rpi` then `1,1710288000123,71502.34,0.00215,buy,0`."""
        header = [
            cell.strip().strip('"').lower()
            for cell in first_line.decode("utf-8-sig", errors="replace").strip().split(",")
        ]
        types = LINEAR_TYPES if shard.market == "linear" else TYPES
        lacking = [name for name in types if name not in header]
        if lacking:
            raise DataError(
                f"{shard.key}: a Bybit archive file must open with a header naming "
                f"{','.join(types)}; this one lacks {','.join(lacking)}: {first_line[:80]!r}"
            )
        # Unknown (and repeated) columns get names of their own and are skipped.
        names = tuple(
            name if name in types and header.index(name) == i else f"ignored_{i}"
            for i, name in enumerate(header)
        )
        return CsvLayout(names, types, header=True)

    def to_batch(self, raw: pa.RecordBatch, shard: Shard, first_row: int = 0) -> pa.RecordBatch:
        """Spot `1,1710288000123,71502.34,0.00215,buy`; derivatives
        `1767225600.6864,BTCUSDT,Buy,0.004,87512.3,PlusTick,8e1a...,35004920,0.004,350.0492`
        (its rows numbered from `first_row` + 1 as their ids)."""
        if shard.market == "linear":
            n = raw.num_rows
            ids = pa.array(np.arange(first_row + 1, first_row + 1 + n, dtype=np.int64))
            return pa.RecordBatch.from_arrays(
                [
                    ids,
                    raw.column("price"),
                    raw.column("size"),
                    ids,
                    ids,
                    col.epoch_ms_from_seconds_text(raw.column("timestamp")),
                    pc.equal(pc.utf8_lower(raw.column("side")), "sell"),
                ],
                schema=SCHEMAS["aggtrades"],
            )
        ids = raw.column("id")
        return pa.RecordBatch.from_arrays(
            [
                ids,
                raw.column("price"),
                raw.column("volume"),
                ids,
                ids,
                col.epoch_ms_by_magnitude(raw.column("timestamp")),
                pc.equal(pc.utf8_lower(raw.column("side")), "sell"),
            ],
            schema=SCHEMAS["aggtrades"],
        )
