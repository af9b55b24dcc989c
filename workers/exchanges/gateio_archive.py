"""Gate.io's public candle archive: which gzip CSV holds a shard's candles, and how it reads.

Gate documents neither the layout of its download host (download.gatedata.org) nor its
columns. What follows is what public code that downloads from it observes, not checked
against Gate here:

* 1m: one file per UTC day, `{base}/spot/candlesticks_1m/{YYYYMM}/{PAIR}-{YYYYMMDD}.csv.gz`;
  5m, 1h, 4h and 1d: one per month, `{base}/spot/candlesticks_{iv}/{YYYYMM}/{PAIR}-{YYYYMM}.csv.gz`.
  Other intervals are not archived (REST only). A file appears once its period has ended;
  a 404 means it is not there. No checksum is published.
* gzip CSV, no header (one line starting with a letter is tolerated and skipped), six
  columns: `timestamp` (Unix seconds), `volume` (in the quote currency: REST's [1]),
  `close`, `high`, `low`, `open`. Columns past the sixth are ignored.

So archived candles store `quote_volume` and leave the base `volume` null (REST's [6] has no
counterpart here); `close_time` is the next open − 1 ms as for REST rows; trades and taker
volumes are null as for every Gate row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from storage.errors import DataError
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.exchanges import columns as col
from workers.exchanges.base import ArchiveFile, CsvLayout
from workers.sourceplan import Span

GROUP = "archive"
F64 = pa.float64()
COLUMNS = ("timestamp", "quote_volume", "close", "high", "low", "open")


class GateArchive:
    """Pure declarations of the archive at `base_url` (GATEIO_ARCHIVE_URL); `pair` spells a
    symbol Gate's way (BTCUSDT -> BTC_USDT)."""

    def __init__(self, base_url: str, pair: Callable[[str], str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.pair = pair

    def listing_url(self, shard: Shard) -> str | None:
        return None  # file names follow from the shard

    def file(self, shard: Shard, span: Span, listing: str | None = None) -> ArchiveFile | None:
        """`/spot/candlesticks_1m/202401/BTC_USDT-20240115.csv.gz` for a day,
        `/spot/candlesticks_1h/202401/BTC_USDT-202401.csv.gz` for a month."""
        if shard.dtype != "klines" or shard.market != "spot":
            return None
        start = datetime.fromtimestamp(span.start_ms / 1000, UTC)
        stamp = f"{start:%Y%m%d}" if span.cadence == "day" else f"{start:%Y%m}"
        url = (
            f"{self.base_url}/spot/candlesticks_{shard.interval}/{start:%Y%m}/"
            f"{self.pair(shard.symbol)}-{stamp}.csv.gz"
        )
        return ArchiveFile(url, span.start_ms, span.end_ms, GROUP, packing="gzip")

    def layout(self, shard: Shard, first_line: bytes) -> CsvLayout:
        """`1705276800,1067412.50,42283.58,42298.62,42261.02,42270.11` (no header)."""
        line = first_line.lstrip(b"\xef\xbb\xbf \t")
        cells = line.count(b",") + 1
        if cells < len(COLUMNS):
            raise DataError(
                f"{shard.key}: Gate archive rows have {len(COLUMNS)} columns "
                f"({','.join(COLUMNS)}), not {line[:80]!r}"
            )
        extra = tuple(f"ignored_{i}" for i in range(cells - len(COLUMNS)))
        return CsvLayout(COLUMNS + extra, dict.fromkeys(COLUMNS, F64), line[:1].isalpha())

    def to_batch(self, raw: pa.RecordBatch, shard: Shard, first_row: int = 0) -> pa.RecordBatch:
        n = raw.num_rows
        opens = col.epoch_ms_by_magnitude(raw.column("timestamp"))
        batch = pa.RecordBatch.from_arrays(
            [
                opens,
                raw.column("open"),
                raw.column("high"),
                raw.column("low"),
                raw.column("close"),
                pa.nulls(n, F64),  # base volume: not in the archive
                col.close_times(opens, shard.interval),
                raw.column("quote_volume"),
                pa.nulls(n, pa.int64()),
                pa.nulls(n, F64),
                pa.nulls(n, F64),
            ],
            schema=SCHEMAS["klines"],
        )
        return col.sort_batch(batch, "open_time")
